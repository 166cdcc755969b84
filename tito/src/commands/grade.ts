// `tito grade <submissions> --module NN` (instructor command)
import { resolve } from "node:path";
import {
  findSubmissions,
  gradeBatch,
  findManifest,
  readManifest,
  ProgressBar,
} from "@tinytorch-ts/grader";
import { runCommand, UsageError, type OptionValues } from "@tinytorch-ts/core";
import { spec } from "./grade.args";

export function run(args: string[]): Promise<number> {
  return runCommand(spec, args, async ({ values: o, positionals }) => {
    if (o.module === undefined && o.manifest === undefined) {
      throw new UsageError("--module is required");
    }
    return grade(o, positionals[0] ?? "");
  });
}

async function grade(
  p: OptionValues<typeof spec.options>,
  submissionsArg: string,
): Promise<number> {
  const limits = {
    jobs: p.jobs,
    cellTimeoutMs: p["cell-timeout"],
    notebookTimeoutMs: p.timeout,
    memoryMb: p.memory,
  };
  const manifestFile = p.manifest ?? findManifest(p.module ?? "");
  const { manifest, hash } = readManifest(manifestFile);
  const submissionsPath = resolve(submissionsArg);
  const outDir = resolve(p.out);
  const submissions = findSubmissions(submissionsPath, manifest.module, {
    maxBytes: p["max-size"] * 1024 * 1024,
  });
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
      force: p.force,
      sandbox: !p["no-sandbox"],
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
