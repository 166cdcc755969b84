// test-tier: kernel
// The kernel client against real tslab kernels: outputs, errors, limits and dead kernels.
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { KernelClient, KernelStartError } from "../../core/src/kernel/client";
import { resolveTslabBin } from "../../core/src/kernel/launch";
import type { Output } from "../../core/src/notebook/types";
import { KIT_ROOT as ROOT } from "../../core/src/course-root";

let kernel: KernelClient;
const scratch = mkdtempSync(join(tmpdir(), "tito-client-test-"));

function text(outputs: Output[], name: "stdout" | "stderr"): string {
  return outputs.map((o) => (o.output_type === "stream" && o.name === name ? o.text : "")).join("");
}

function processExists(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

test.before(async () => {
  kernel = await KernelClient.start({ cwd: ROOT });
});

test.after(async () => {
  await kernel.shutdown();
  rmSync(scratch, { recursive: true, force: true });
});

test("a passing cell: printed lines, the last expression's value, execution counts", async () => {
  const first = await kernel.execute('console.log("hello"); 6 * 7');
  assert.is(first.status, "ok");
  assert.is(text(first.outputs, "stdout"), "hello\n42\n");
  assert.is(first.error, undefined);
  const second = await kernel.execute("const greeting: string = 'hi'; greeting.length");
  assert.is(second.status, "ok");
  assert.is(second.executionCount, (first.executionCount ?? 0) + 1);
  // State carries over between cells of one kernel.
  const third = await kernel.execute("greeting + '!'");
  assert.is(text(third.outputs, "stdout"), "hi!\n");
});

test("the connection file (with the signing key) is gone once the kernel runs", async () => {
  const run = await kernel.execute(
    'const cfg = process.argv[process.argv.indexOf("--config-path") + 1]; require("fs").existsSync(cfg)',
  );
  assert.is(text(run.outputs, "stdout"), "false\n");
});

test("rich output arrives as display_data with every mime type", async () => {
  const run = await kernel.execute(
    'require("tslab/dist/jupyter").lastWriteDisplayData({ data: { "image/svg+xml": "<svg></svg>", "text/plain": "chart" }, metadata: {}, transient: {} }); undefined',
  );
  assert.is(run.status, "ok");
  const display = run.outputs.find((o) => o.output_type === "display_data");
  assert.ok(display && display.output_type === "display_data");
  assert.is(display.data["image/svg+xml"], "<svg></svg>");
  assert.is(display.data["text/plain"], "chart");
});

test("a type error: status error, ename TSError, the message, and an nbformat error output", async () => {
  const run = await kernel.execute('let n: number = "seven";');
  assert.is(run.status, "error");
  assert.is(run.error?.ename, "TSError");
  assert.match(run.error?.evalue ?? "", /not assignable to type 'number'/);
  assert.ok(run.outputs.some((o) => o.output_type === "error" && o.ename === "TSError"));
});

test("a thrown exception, and the next cell runs normally right after it", async () => {
  const run = await kernel.execute('throw new RangeError("out of range: 3")');
  assert.is(run.status, "error");
  assert.equal(run.error, { ename: "RangeError", evalue: "out of range: 3" });
  // tslab refuses requests for 200 ms after an error; the client must not report that.
  const next = await kernel.execute('"still here"');
  assert.is(next.status, "ok");
  assert.is(text(next.outputs, "stdout"), "still here\n");
});

test("while (true) {} times out, is interrupted, and the kernel keeps working", async () => {
  const run = await kernel.execute("let spins = 0; while (true) { spins++; }", { timeoutMs: 1500 });
  assert.is(run.status, "timeout");
  assert.match(run.reason ?? "", /timed out after 1.5 s/);
  assert.is(run.error?.ename, "Timeout");
  assert.ok(kernel.alive);
  const next = await kernel.execute("1 + 1", { timeoutMs: 10_000 });
  assert.is(next.status, "ok");
  assert.is(text(next.outputs, "stdout"), "2\n");
});

test("an async wait past the deadline is interrupted too", async () => {
  const run = await kernel.execute("await new Promise((r) => setTimeout(r, 60_000))", {
    timeoutMs: 1000,
  });
  assert.is(run.status, "timeout");
  assert.ok(kernel.alive);
});

test("a print loop is cut at the output limit, with a note; nothing printed is lost below it", async () => {
  const run = await kernel.execute('for (let i = 0; i < 20000; i++) console.log("line " + i)', {
    outputLimitBytes: 10_000,
    timeoutMs: 60_000,
  });
  assert.is(run.status, "ok");
  assert.ok(run.truncated);
  assert.match(run.reason ?? "", /output cut at 9.8 KB/);
  const out = text(run.outputs, "stdout");
  assert.is(Buffer.byteLength(out), 10_000);
  assert.ok(out.startsWith("line 0\nline 1\nline 2\n"));
  assert.match(text(run.outputs, "stderr"), /more not shown/);
  // Below the limit every line arrives (tslab's IOPub would otherwise drop most of them).
  const all = await kernel.execute('for (let i = 0; i < 3000; i++) console.log("row " + i)');
  assert.is(text(all.outputs, "stdout").split("\n").length - 1, 3000);
  assert.is(all.truncated, false);
});

test("the memory cap stops an allocation loop; the kernel is reported dead, not hung", async () => {
  const small = await KernelClient.start({ cwd: ROOT, memoryMb: 200 });
  try {
    const run = await small.execute(
      "const keep: number[][] = []; while (true) keep.push(new Array(1e6).fill(1.5));",
      { timeoutMs: 60_000 },
    );
    assert.is(run.status, "died");
    assert.match(run.reason ?? "", /out of memory/);
    assert.is(small.alive, false);
    const after = await small.execute("1");
    assert.is(after.status, "not-run");
    assert.match(after.reason ?? "", /out of memory/);
  } finally {
    await small.shutdown();
  }
});

test("the memory cap also bounds memory outside the JS heap (Buffers)", async () => {
  const small = await KernelClient.start({ cwd: ROOT, memoryMb: 200 });
  try {
    const run = await small.execute(
      "const bufs: Buffer[] = []; while (true) bufs.push(Buffer.alloc(1e7, 1));",
      { timeoutMs: 60_000 },
    );
    assert.ok(run.status === "error" || run.status === "died", run.status);
    if (run.status === "error") assert.match(run.error?.evalue ?? "", /allocation failed/i);
  } finally {
    await small.shutdown();
  }
});

test("a kernel killed mid-cell: the cell is 'died', later cells are not run, restart recovers", async () => {
  const k = await KernelClient.start({ cwd: ROOT, transport: "ipc" });
  try {
    await k.execute("const before = 1;");
    const pending = k.execute("await new Promise((r) => setTimeout(r, 30_000))", {
      timeoutMs: 60_000,
    });
    setTimeout(() => process.kill(k.pid!, "SIGKILL"), 300);
    const run = await pending;
    assert.is(run.status, "died");
    assert.match(run.reason ?? "", /SIGKILL/);
    assert.is((await k.execute("1")).status, "not-run");
    await k.restart();
    assert.ok(k.alive);
    // A restarted kernel has fresh state.
    const fresh = await k.execute("typeof before");
    assert.is(fresh.status, "error");
    assert.is((await k.execute('"back"')).status, "ok");
  } finally {
    await k.shutdown();
  }
});

test("heartbeat answers while idle; shutdown ends the kernel process", async () => {
  const k = await KernelClient.start({ cwd: ROOT });
  const pid = k.pid!;
  assert.ok(processExists(pid));
  assert.is(await k.ping(5000), true);
  await k.shutdown();
  assert.is(await k.ping(500), false);
  assert.is(k.alive, false);
  assert.is(processExists(pid), false);
  assert.is((await k.execute("1")).status, "not-run");
});

test("a missing tslab fails at once with a clear error", async () => {
  const err = await KernelClient.start({ cwd: ROOT, tslabBin: "/nonexistent/tslab" }).then(
    () => undefined,
    (e: unknown) => e,
  );
  assert.ok(err instanceof KernelStartError);
  assert.match((err as Error).message, /tslab is missing: \/nonexistent\/tslab/);
});

test("a kernel that crashes at start reports what it printed", async () => {
  const bin = join(scratch, "crashing-tslab.js");
  writeFileSync(bin, 'console.error("Error: zeromq failed to load"); process.exit(3);\n');
  const err = await KernelClient.start({ cwd: ROOT, tslabBin: bin }).then(
    () => undefined,
    (e: unknown) => e,
  );
  assert.ok(err instanceof KernelStartError);
  assert.match((err as Error).message, /exited during start-up.*exit code 3/);
  assert.match((err as Error).message, /zeromq failed to load/);
});

test("a start that hangs once is retried, and the second kernel works", async () => {
  const bin = join(scratch, "hangs-once-tslab.js");
  const starts = join(scratch, "hangs-once-starts.txt");
  writeFileSync(
    bin,
    `const fs = require("fs");
const first = !fs.existsSync(${JSON.stringify(starts)});
fs.appendFileSync(${JSON.stringify(starts)}, "start\\n");
if (first) setInterval(() => {}, 1000);
else require(${JSON.stringify(resolveTslabBin())});
`,
  );
  const k = await KernelClient.start({ cwd: ROOT, tslabBin: bin, startTimeoutMs: 12_000 });
  try {
    assert.is(readFileSync(starts, "utf8"), "start\nstart\n");
    const run = await k.execute("6 * 7");
    assert.is(run.status, "ok");
  } finally {
    await k.shutdown();
  }
});

test("a kernel that never answers is started once more, then given up", async () => {
  const bin = join(scratch, "silent-tslab.js");
  const starts = join(scratch, "silent-starts.txt");
  writeFileSync(bin, `require("fs").appendFileSync(${JSON.stringify(starts)}, "start\\n"); setInterval(() => {}, 1000);\n`); // prettier-ignore
  chmodSync(bin, 0o644);
  const err = await KernelClient.start({ cwd: ROOT, tslabBin: bin, startTimeoutMs: 1500 }).then(
    () => undefined,
    (e: unknown) => e,
  );
  assert.ok(err instanceof KernelStartError);
  assert.ok((err as KernelStartError).timedOut);
  assert.is(readFileSync(starts, "utf8"), "start\nstart\n", "two starts, no more");
  assert.match((err as Error).message, /did not answer within 1.5 s, twice \(the second start: /);
  // And says how far it got: our requests, and what the kernel's process was doing.
  assert.match((err as Error).message, /: \d+ requests, \d+ taken by ZeroMQ, no reply, no status on IOPub;/); // prettier-ignore
  assert.match((err as Error).message, /processes: node \d+ [RS].*\d+ threads/);
});

test.run();
