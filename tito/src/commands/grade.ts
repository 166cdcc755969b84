// `tito grade <submissions> --module NN` (instructor command)
import { resolve } from "node:path";
import {
  findSubmissions,
  gradeBatch,
  findManifest,
  readManifest,
  ProgressBar,
} from "@tinytorch-ts/grader";
import { numberOption, parseArgs, UsageError } from "@tinytorch-ts/core";

export const summary = "grade student notebooks with hidden tests in sandboxed kernels";

const HELP = `usage: tito grade <submissions> --module <NN|name> [options]

<submissions> is a folder with one notebook per student (<student>.ipynb or
<student>/<module>.ipynb), or a single notebook.

options:
  --module NN          the module to grade (its manifest in grader/manifests/)
  --manifest FILE      grade against this manifest file instead
  --out DIR            where results go (default: grades): gradebook.sqlite,
                       results/<student>/results.json, feedback/<student>.html
  --jobs N             submissions graded at once (default 1)
  --force              grade again even if the submission and manifest are unchanged
  --cell-timeout S     seconds per cell (default 30)
  --timeout S          seconds per notebook (default 300)
  --memory MB          kernel heap cap (default 1024)
  --no-sandbox         run kernels without namespaces or the sandbox user (not for real grading)

environment:
  TITO_SANDBOX=no-namespaces   for containers without CAP_SYS_ADMIN: keeps the sandbox user
                       and the rlimits, runs one kernel at a time (--jobs is ignored), and does
                       NOT protect files the sandbox user can read, the disk (many files of up
                       to 64 MiB), the network, or other processes. See docs/grading.md.
  TITO_SANDBOX=off     no sandbox at all (debugging only)

A rerun skips what is already graded, so an interrupted run continues where it stopped.
Ctrl-C once: finish the running submissions and stop; twice: stop at once.`;

export async function run(args: string[]): Promise<number> {
  let p;
  let limits;
  try {
    p = parseArgs(
      args,
      ["--module", "--manifest", "--out", "--jobs", "--cell-timeout", "--timeout", "--memory"],
      ["--force", "--no-sandbox", "--help", "-h"],
    );
    if (p.flags.has("--help") || p.flags.has("-h")) {
      console.log(HELP);
      return 0;
    }
    if (p.positional.length !== 1) throw new UsageError("give one submissions folder or notebook");
    if (!p.values.has("--module") && !p.values.has("--manifest")) {
      throw new UsageError("--module is required");
    }
    limits = {
      jobs: numberOption(p, "--jobs", 1),
      cellTimeoutMs: numberOption(p, "--cell-timeout", 30) * 1000,
      notebookTimeoutMs: numberOption(p, "--timeout", 300) * 1000,
      memoryMb: numberOption(p, "--memory", 1024),
    };
  } catch (e) {
    if (!(e instanceof UsageError)) throw e;
    console.error(`tito grade: ${e.message}\n\n${HELP}`);
    return 2;
  }
  const manifestFile = p.values.get("--manifest") ?? findManifest(p.values.get("--module") ?? "");
  const { manifest, hash } = readManifest(manifestFile);
  const submissionsPath = resolve(p.positional[0] ?? "");
  const outDir = resolve(p.values.get("--out") ?? "grades");
  const submissions = findSubmissions(submissionsPath, manifest.module);
  if (submissions.length === 0) {
    console.error(`tito grade: no submissions found in ${submissionsPath}`);
    return 1;
  }
  const stop = { requested: false };
  const onSigint = () => {
    if (stop.requested) process.exit(130);
    stop.requested = true;
    console.error("\ntito grade: finishing the running submissions (Ctrl-C again to abort)");
  };
  process.on("SIGINT", onSigint);
  const progress = new ProgressBar(submissions.length);
  try {
    const s = await gradeBatch(manifest, submissions, {
      outDir,
      manifestHash: hash,
      ...limits,
      force: p.flags.has("--force"),
      sandbox: !p.flags.has("--no-sandbox"),
      hide: [submissionsPath],
      progress,
      stop,
    });
    progress.done();
    console.log(
      `${manifest.module}: ${s.graded} graded, ${s.skipped} unchanged, ${s.rejected} rejected, ${s.errors} grader errors; results in ${outDir}`,
    );
    if (stop.requested) console.log("stopped early: run the same command again to continue");
    return s.errors > 0 ? 1 : 0;
  } finally {
    process.off("SIGINT", onSigint);
  }
}
