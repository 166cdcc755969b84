// `tito grade <submissions> --module NN` (instructor command)
import { existsSync, realpathSync } from "node:fs";
import { isAbsolute, relative, resolve } from "node:path";
import {
  compiledPackageDir,
  findSubmissions,
  gradeBatch,
  findManifest,
  loadCourseSettings,
  logLine,
  readManifest,
  readSubmissionTimes,
  ProgressBar,
  type CourseSettings,
  type Submission,
} from "@tinytorch-ts/grader";
import { coursePath, KIT_ROOT, resolveCourseRoot, runCommand, SourceError, UsageError, type OptionValues } from "@tinytorch-ts/core"; // prettier-ignore
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
  const submissionsPath = resolve(submissionsArg);
  const root = resolveCourseRoot(p.root);
  // The course decides every grade (its manifests hold the tests) and its package runs in the
  // grader's trusted reference run: one found inside the submissions would be a student's.
  for (const [what, path] of [
    ["course", root],
    ["manifest", p.manifest],
  ] as const) {
    if (path !== undefined && isInside(resolve(path), submissionsPath)) {
      throw new UsageError(`the ${what} ${resolve(path)} is inside the submissions (${submissionsPath}): a student could have written it; run tito grade from your course, or give --root`); // prettier-ignore
    }
  }
  if (root !== KIT_ROOT) console.error(`tito grade: course ${root}`);
  const manifestFile = p.manifest ?? findManifest(p.module ?? "", coursePath(root, "manifests"));
  const { manifest, hash } = readManifest(manifestFile);
  const outDir = resolve(p.out);
  // Everything that decides a grade is read and checked before anything is graded.
  compiledPackageDir(root);
  const course = loadCourseSettings(p.course, root);
  for (const w of course.warnings) console.error(`tito grade: warning: ${w}`);
  const submissions = findSubmissions(submissionsPath, manifest.module, {
    maxBytes: p["max-size"] * 1024 * 1024,
  });
  if (submissions.length === 0) {
    console.error(`tito grade: no submissions found in ${submissionsPath}`);
    return 1;
  }
  const submissionTimes = p.times === undefined ? undefined : timesFor(p.times, submissions);
  describeTiming(course, manifest.module, p.times);
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
      regrade: p.regrade,
      course,
      submissionTimes,
      sandbox: !p["no-sandbox"],
      hide: [submissionsPath],
      courseRoot: root,
      ...(p["max-model-size"] !== undefined ? { capstone: { maxModelBytes: p["max-model-size"] * 1024 * 1024 } } : {}), // prettier-ignore
      progress,
      stop,
    });
    progress.done();
    for (const skip of s.skippedOlder) console.log(logLine(skip.message));
    console.log(
      `${manifest.module}: ${s.graded} graded, ${s.skipped} unchanged, ${s.rejected} rejected, ${s.errors} grader errors, ${s.skippedOlder.length} skipped-older; results in ${outDir}`,
    );
    if (stop.requested) console.log("stopped early: run the same command again to continue");
    return s.errors > 0 ? 1 : 0;
  } finally {
    process.off("SIGINT", onSigint);
  }
}

/** The times file's entries; a student it has no time for is an error too (nothing graded). */
function timesFor(file: string, submissions: Submission[]): Map<string, number> {
  const times = readSubmissionTimes(resolve(file));
  const missing = submissions.filter((s) => !times.has(s.student)).map((s) => s.student);
  if (missing.length > 0) {
    throw new SourceError(file, undefined, `no submission time for ${missing.map((m) => logLine(m)).join(", ")}`); // prettier-ignore
  }
  return times;
}

/** One line on where due dates and submission times come from, so a run says what it applied. */
function describeTiming(course: CourseSettings, module: string, times: string | undefined): void {
  const due = course.due.get(module);
  const source = course.file === undefined ? "no course file" : `course file ${course.file}`;
  const when = times === undefined ? "submission times: the notebooks' modification times" : `submission times: ${times}`; // prettier-ignore
  const policy = course.latePolicy.kind;
  console.error(
    due === undefined
      ? `tito grade: ${source}; no due date for ${module}: nothing is late`
      : `tito grade: ${source}; ${module} due ${new Date(due).toISOString()}, late policy ${policy}; ${when}`,
  );
}

/** True when `path` is `folder` or inside it (links resolved where they exist). */
function isInside(path: string, folder: string): boolean {
  const real = (p: string) => (existsSync(p) ? realpathSync(p) : p);
  const r = relative(real(folder), real(path));
  return r === "" || (!r.startsWith("..") && !isAbsolute(r));
}
