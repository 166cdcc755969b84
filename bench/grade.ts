// `npm run bench:grade [-- --module 01_tensor --count 40 --jobs 1,2]`
// Grades N copies of a real module's reference notebook (the student notebook with the
// instructor's solutions from the module source) as a batch, with every isolation layer on,
// once per --jobs value, and prints submissions per minute. Every copy must earn full marks
// (every point but those of the written answers, which are graded by hand),
// or the figure is not reported as valid.
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { cpus, loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import {
  findManifest,
  findSubmissions,
  gradeBatch,
  gradeSubmission,
  prepareKernel,
  readManifest,
  referenceNotebook,
  sandboxCapabilities,
} from "@tinytorch-ts/grader";
import { coursePath, KIT_ROOT } from "@tinytorch-ts/core";

const KIT_MANIFESTS = coursePath(KIT_ROOT, "manifests");

function option(name: string, fallback: string): string {
  const i = process.argv.indexOf(name);
  return i >= 0 && process.argv[i + 1] ? (process.argv[i + 1] as string) : fallback;
}

/** CPU time (user + system, all threads) of a process and its live descendants, from /proc. */
function treeCpuMs(root: number): number {
  const tick = 10; // USER_HZ is 100 on Linux
  const stats = new Map<number, { ppid: number; cpu: number }>();
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const text = readFileSync(`/proc/${entry}/stat`, "utf8");
      const f = text.slice(text.lastIndexOf(")") + 2).split(" ");
      stats.set(Number(entry), { ppid: Number(f[1]), cpu: (Number(f[11]) + Number(f[12])) * tick });
    } catch {
      // The process ended while we looked.
    }
  }
  const inTree = (pid: number): boolean => {
    for (let p: number | undefined = pid; p !== undefined && p > 1; p = stats.get(p)?.ppid) {
      if (p === root) return true;
    }
    return false;
  };
  let total = 0;
  for (const [pid, s] of stats) if (inTree(pid)) total += s.cpu;
  return total;
}

/**
 * Where one submission's CPU goes, measured on the kernel's process tree: starting the kernel
 * and running the preamble, then the cells (tslab type-checks and compiles each one).
 */
async function breakdown(
  manifest: ReturnType<typeof readManifest>["manifest"],
  notebook: string,
): Promise<void> {
  const t0 = performance.now();
  const prepared = await prepareKernel(manifest, {});
  const pid = prepared.kernel.pid;
  if (pid === undefined) throw new Error("the kernel has no pid");
  const startWall = performance.now() - t0;
  const startCpu = treeCpuMs(pid);
  let cellsCpu = 0;
  let cells = 0;
  const t1 = performance.now();
  const result = await gradeSubmission(manifest, notebook, {
    acquireKernel: () => Promise.resolve(prepared),
    // Read after every cell: the grader shuts the kernel down before gradeSubmission returns.
    onCell: () => {
      cells++;
      cellsCpu = treeCpuMs(pid) - startCpu;
    },
  });
  const cellsWall = performance.now() - t1;
  console.log(
    `one submission (${result.score}/${result.maxScore}): kernel start + preamble ${(startCpu / 1000).toFixed(2)} s CPU (${(startWall / 1000).toFixed(2)} s wall); ` +
      `${cells} cells ${(cellsCpu / 1000).toFixed(2)} s CPU (${(cellsWall / 1000).toFixed(2)} s wall, ${(cellsCpu / cells).toFixed(0)} ms CPU per cell)`,
  );
}

async function main(): Promise<void> {
  const module = option("--module", "01_tensor");
  const count = Number(option("--count", "40"));
  const jobsList = option("--jobs", "1,2").split(",").map(Number);
  const { manifest, hash } = readManifest(findManifest(module, KIT_MANIFESTS));
  const notebook = referenceNotebook(manifest);
  const work = mkdtempSync(join(tmpdir(), "tito-bench-grade-"));
  const subs = join(work, "submissions");
  for (let i = 1; i <= count; i++) {
    const dir = join(subs, `student${String(i).padStart(3, "0")}`);
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, `${manifest.module}.ipynb`), notebook);
  }
  const caps = sandboxCapabilities();
  const codeCells = manifest.cells.filter((c) => c.cell_type === "code").length;
  const automatic = manifest.totalPoints - manifest.cells.reduce((n, c) => n + (c.role === "manual" ? (c.points ?? 0) : 0), 0); // prettier-ignore
  console.log(
    `bench:grade  ${count} copies of ${manifest.module}'s reference notebook (${codeCells} code cells, ${automatic} points graded automatically, ${manifest.totalPoints - automatic} by hand)`,
  );
  console.log(
    `machine: ${cpus().length} cores, load average ${loadavg()
      .map((l) => l.toFixed(1))
      .join(
        " ",
      )}; sandbox: ${caps.unshareFlags.join(" ") || "none"}${caps.user ? `, user uid ${caps.user.uid}` : ""}`,
  );
  try {
    await breakdown(manifest, notebook);
    for (const jobs of jobsList) {
      const out = join(work, `out-jobs${jobs}`);
      const started = performance.now();
      const s = await gradeBatch(manifest, findSubmissions(subs, manifest.module), {
        outDir: out,
        manifestHash: hash,
        jobs,
        hide: [subs],
      });
      const secs = (performance.now() - started) / 1000;
      // Written answers are graded by hand: full marks are every other point.
      const full = s.results.filter((r) => r.score === automatic).length;
      const perMin = (s.results.length / secs) * 60;
      const valid = full === count ? "all full marks" : `ONLY ${full}/${count} full marks: not a valid run`; // prettier-ignore
      console.log(
        `--jobs ${jobs}: ${s.results.length} graded in ${secs.toFixed(1)} s = ${perMin.toFixed(1)} submissions/min (${(secs / s.results.length).toFixed(2)} s each; ${valid})`,
      );
    }
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

main().catch((e: unknown) => {
  console.error(e instanceof Error ? (e.stack ?? e.message) : String(e));
  process.exit(1);
});
