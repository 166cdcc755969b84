// test-tier: kernel
// The V8 code cache of tslab's TypeScript (core/src/kernel/code-cache.ts) goes to a grading
// kernel exactly when the kernel may share files with later kernels (kernelMayShareKit: the
// sandbox user in a mount namespace, so it cannot write the cache). Observed from outside: the
// kernel process's initial environment (its preload deletes the variable before any cell).
import { spawnSync } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { parseStat, processTree, type ProcessSnapshot } from "../../core/src/kernel/process-tree";
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
