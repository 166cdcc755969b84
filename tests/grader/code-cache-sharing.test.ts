// test-tier: kernel
// The V8 code cache of tslab's TypeScript (core/src/kernel/code-cache.ts) goes to a grading
// kernel exactly when the kernel may share files with later kernels (kernelMayShareKit: the
// sandbox user in a mount namespace, so it cannot write the cache). Observed from outside: the
// kernel process's initial environment (its preload deletes the variable before any cell).
import { spawnSync } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { parseStat, processTree, type ProcessSnapshot } from "@tinytorch-ts/core/kernel";
import { prepareKernel } from "../../grader/src/kernel-session";
import { kernelMayShareKit, sandboxCapabilities } from "../../grader/src/sandbox";
import { loadFixtureManifest } from "./helpers";

function snapshots(): ProcessSnapshot[] {
  return readdirSync("/proc").flatMap((name) => {
    try {
      const p = /^\d+$/.test(name) ? parseStat(readFileSync(`/proc/${name}/stat`, "utf8")) : undefined; // prettier-ignore
      return p ? [p] : [];
    } catch {
      return [];
    }
  });
}

/** Whether the tslab kernel under `root` started with TITO_TSLAB_CODE_CACHE in its environment. */
function kernelGotCache(root: number): boolean {
  for (const p of processTree(root, snapshots())) {
    try {
      const argv = readFileSync(`/proc/${p.pid}/cmdline`, "utf8").split("\0");
      if (!argv.some((a) => a.endsWith("tslab")) || !argv.includes("kernel")) continue;
      return readFileSync(`/proc/${p.pid}/environ`, "utf8").split("\0").some((e) => e.startsWith("TITO_TSLAB_CODE_CACHE=")); // prettier-ignore
    } catch {
      continue;
    }
  }
  throw new Error(`no tslab kernel under pid ${root}`);
}

/** In this process's sandbox mode: [the kernel got the cache, the mode lets kernels share]. */
async function probe(): Promise<[boolean, boolean]> {
  const prepared = await prepareKernel(loadFixtureManifest(), {});
  try {
    const pid = prepared.kernel.pid;
    if (pid === undefined) throw new Error("the kernel has no pid");
    return [kernelGotCache(pid), kernelMayShareKit(sandboxCapabilities())];
  } finally {
    await prepared.dispose();
  }
}

if (process.env.TITO_CODE_CACHE_PROBE) {
  void probe().then((r) => console.log(JSON.stringify(r)));
} else {
  test("a kernel gets the code cache exactly when it may share files (this machine's mode)", async () => {
    const [got, shares] = await probe();
    assert.is(got, shares);
  });

  test("a kernel that gets the cache cannot change it, nor put a file beside it", async () => {
    const prepared = await prepareKernel(loadFixtureManifest(), {});
    try {
      // The student's view: the cache's host path from the kernel's own mount table.
      const attack = `
const fs = require("fs");
const line = fs.readFileSync("/proc/self/mountinfo", "utf8").split("\\n").find((l) => l.includes("tslab-typescript"));
const path = line ? line.split(" ")[4] : "";
const tryIt = (f) => { try { f(); return "WROTE"; } catch (e) { return e.code; } };
console.log(JSON.stringify({ path, append: path && tryIt(() => fs.appendFileSync(path, "x")), beside: path && tryIt(() => fs.writeFileSync(path + ".x", "x")), env: process.env.TITO_TSLAB_CODE_CACHE ?? null }));`;
      const run = await prepared.kernel.execute(attack, { timeoutMs: 30_000 });
      assert.is(run.status, "ok", JSON.stringify(run));
      const text = run.outputs.map((o) => ("text" in o ? String(o.text) : "")).join("");
      const seen = JSON.parse(text.trim()) as { path: string; append: string; beside: string; env: string | null }; // prettier-ignore
      assert.is(seen.env, null, "the preload removed the variable before any cell");
      if (!kernelMayShareKit(sandboxCapabilities())) {
        assert.is(seen.path, "", "no cache is mounted");
        return;
      }
      assert.match(seen.path, /tslab-typescript-\w+\.bin$/);
      assert.ok(seen.append !== "WROTE" && seen.beside !== "WROTE", JSON.stringify(seen));
    } finally {
      await prepared.dispose();
    }
  });

  test("a kernel without a mount namespace (no-namespaces mode) never gets it", () => {
    const r = spawnSync(process.execPath, ["--require", "tsx/cjs", __filename], {
      env: { ...process.env, TITO_SANDBOX: "no-namespaces", TITO_CODE_CACHE_PROBE: "1" },
      encoding: "utf8",
      timeout: 120_000,
    });
    assert.is(r.status, 0, r.stderr);
    assert.equal(JSON.parse(r.stdout.trim().split("\n").pop() ?? ""), [false, false]);
  });

  test.run();
}
