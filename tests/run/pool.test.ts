// test-tier: kernel
// The kernel pool and batch runner: fresh kernels for every notebook, failures isolated.
import { readdirSync, readFileSync } from "node:fs";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { KernelClient } from "../../core/src/kernel/client";
import { BatchError, KernelPool, kernelFactory, runNotebooks } from "../../core/src/run/pool";
import { KIT_ROOT as ROOT } from "../../core/src/course-root";

function processExists(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

test("a pool hands out fresh kernels and never reuses one", async () => {
  const pool = new KernelPool({ size: 2, factory: kernelFactory({ cwd: ROOT }) });
  try {
    const a = await pool.acquire();
    assert.ok(a.alive);
    assert.is((await a.execute("(globalThis as any).leak = 'secret'; 1")).status, "ok");
    pool.release(a);
    const b = await pool.acquire();
    assert.ok(b.alive);
    assert.is.not(b.pid, a.pid);
    const probe = await b.execute("String((globalThis as any).leak)");
    const out = probe.outputs.map((o) => (o.output_type === "stream" ? o.text : "")).join("");
    assert.is(out, "undefined\n", "state of an earlier notebook must not be visible");
    pool.release(b);
  } finally {
    await pool.close();
  }
});

/** Our live tslab kernels (kernels are children of this process; tsx may have others). */
function childPids(): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      // Fields after the command name (which is in parentheses): state, ppid, ...
      const [state, ppid] = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      if (Number(ppid) !== process.pid || state === "Z") continue;
      if (readFileSync(`/proc/${entry}/cmdline`, "utf8").includes("tslab"))
        pids.push(Number(entry));
    } catch {
      // The process ended while we looked.
    }
  }
  return pids;
}

test("closing a pool shuts down the kernels it started ahead", async () => {
  const pool = new KernelPool({ size: 2, factory: kernelFactory({ cwd: ROOT }) });
  const k = await pool.acquire(); // replacements are now starting in the background
  assert.ok(childPids().length >= 2);
  await pool.close();
  await k.shutdown();
  assert.equal(childPids(), []);
  let rejected = false;
  await pool.acquire().catch(() => (rejected = true));
  assert.ok(rejected, "a closed pool hands out nothing");
});

test("runNotebooks runs every item in its own kernel, and shuts each down", async () => {
  const seen: Array<{ item: number; pid: number }> = [];
  const kernels: KernelClient[] = [];
  await runNotebooks(
    [1, 2, 3],
    async (item, kernel) => {
      const run = await kernel.execute(`${item} * 10`);
      assert.is(run.status, "ok");
      seen.push({ item, pid: kernel.pid! });
      kernels.push(kernel);
    },
    { jobs: 2, start: { cwd: ROOT } },
  );
  assert.equal(seen.map((s) => s.item).sort(), [1, 2, 3]);
  assert.is(new Set(seen.map((s) => s.pid)).size, 3);
  for (const s of seen) assert.is(processExists(s.pid), false);
  for (const k of kernels) assert.is(k.alive, false);
});

test("a kernel that cannot start fails its item only; the error comes at the end", async () => {
  const done: string[] = [];
  const err = await runNotebooks(
    ["good-1", "broken", "good-2"],
    async (item, kernel) => {
      await kernel.execute("1");
      done.push(item);
    },
    {
      jobs: 2,
      start: (item) =>
        item === "broken" ? { cwd: ROOT, tslabBin: "/nonexistent/tslab" } : { cwd: ROOT },
    },
  ).then(
    () => undefined,
    (e: unknown) => e,
  );
  assert.equal(done.sort(), ["good-1", "good-2"]);
  assert.ok(err instanceof BatchError);
  assert.is((err as BatchError).errors.length, 1);
  assert.match(String((err as BatchError).errors[0]), /tslab is missing/);
});

test.run();
