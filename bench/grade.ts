// `npm run bench:grade [-- --module 01_tensor --count 40 --jobs 1,2]`
// Grades N copies of a real module's reference notebook (the student notebook with the
// instructor's solutions from the module source) as a batch, with every isolation layer on,
// once per --jobs value, and prints submissions per minute. Every copy must earn full marks,
// or the figure is not reported as valid.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { cpus, loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { findSubmissions, gradeBatch } from "../grader/src/batch";
import { findManifest, readManifest } from "../grader/src/manifest-store";
import { referenceNotebook } from "../grader/src/reference";
import { sandboxCapabilities } from "../grader/src/sandbox";

function option(name: string, fallback: string): string {
  const i = process.argv.indexOf(name);
  return i >= 0 && process.argv[i + 1] ? (process.argv[i + 1] as string) : fallback;
}

async function main(): Promise<void> {
  const module = option("--module", "01_tensor");
  const count = Number(option("--count", "40"));
  const jobsList = option("--jobs", "1,2").split(",").map(Number);
  const { manifest, hash } = readManifest(findManifest(module));
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
  console.log(
    `bench:grade  ${count} copies of ${manifest.module}'s reference notebook (${codeCells} code cells, ${manifest.totalPoints} points)`,
  );
  console.log(
    `machine: ${cpus().length} cores, load average ${loadavg()
      .map((l) => l.toFixed(1))
      .join(
        " ",
      )}; sandbox: ${caps.unshareFlags.join(" ") || "none"}${caps.user ? `, user uid ${caps.user.uid}` : ""}`,
  );
  try {
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
      const full = s.results.filter((r) => r.score === manifest.totalPoints).length;
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
