// Grading a folder of submissions: find one notebook per student, skip those whose submission and
// manifest are unchanged since the last run, grade the rest with N workers (core's KernelPool
// prepares the next kernels while the current submissions run), and write each student's
// results.json and feedback page and gradebook row as soon as they are done. One bad submission
// never stops the others: whatever happens while grading it (even a fault of the grader) ends in
// a recorded attempt, so an interrupted or failed run simply continues on the next invocation.
//
// Nothing is lost over a term: results and feedback live under their module
// (results/<module>/<student>/results.json, feedback/<module>/<student>.html), and a batch never
// replaces a newer attempt with an older notebook (the newest-attempt rule, `olderThanRecorded`).
// Each attempt records when it was submitted, the student's due date, how late it was and the
// penalty (course-file.ts, late-policy.ts), beside the raw score.
import { lstatSync } from "node:fs";
import { basename, join } from "node:path";
import type { GradingManifest } from "@tinytorch-ts/core";
import { KernelPool, runWorkers } from "@tinytorch-ts/core/run";
import { addCapstoneEvents, capstoneHash, capstoneRules, isCapstone, measureInTurn, notMeasured, readCapstoneModel, type CapstoneModelFile, type CapstoneOptions } from "./capstone"; // prettier-ignore
import { NO_COURSE, timingFor, type AttemptTiming, type CourseSettings } from "./course-file";
import { writeFeedback } from "./feedback-html";
import { manualMarksFor } from "./manual-feedback";
import { failedAttempt, gradeSubmission } from "./grade-submission";
import { Gradebook, type AttemptContext, type AttemptRow } from "./gradebook";
import {
  DEFAULT_LIMITS,
  prepareKernel,
  type PreparedKernel,
  type SessionOptions,
} from "./kernel-session";
import { ReferenceRunner } from "./reference-run";
import { ProgressBar } from "./progress";
import { describeLateness } from "./late-policy";
import { hiddenTestIds, writeResultsJson } from "./results-json";
import { safeName } from "./names";
import { sandboxCapabilities } from "./sandbox";
import { makeScratchRoot, removeQuietly } from "./scratch";
import { sha256Hex } from "./submission";
import { readSubmissionFile, type Submission } from "./submissions-folder";
import type { SubmissionResult } from "./types";

// Discovery and reading moved to submissions-folder.ts; re-exported so callers do not change.
export { findSubmissions, type Submission } from "./submissions-folder";

export interface BatchOptions extends SessionOptions {
  outDir: string;
  jobs?: number;
  /** Grade even unchanged submissions again. */
  force?: boolean;
  /** Grade a notebook even when the recorded attempt was submitted later (see the rule below). */
  regrade?: boolean;
  /** Due dates, late policy, extensions, Gradescope visibility (default: none of them). */
  course?: CourseSettings;
  /** Submission times by student (epoch ms), from `--times`; otherwise the notebook's mtime. */
  submissionTimes?: ReadonlyMap<string, number>;
  /** Prepare each worker's next kernel ahead of time (default true). */
  prefetch?: boolean;
  manifestHash: string;
  progress?: ProgressBar;
  /** Set to true (e.g. on Ctrl-C) to stop starting new submissions. */
  stop?: { requested: boolean };
  onResult?: (r: SubmissionResult) => void;
  /** A capstone module's measurement of the model files (see capstone.ts). */
  capstone?: CapstoneOptions;
}

/** A notebook left ungraded because the student's recorded attempt was submitted later. */
export interface OlderSkip {
  student: string;
  file: string;
  submittedAt: string;
  recordedAttempt: number;
  recordedSubmittedAt: string;
  /** One line for the instructor: what was skipped and why. */
  message: string;
}

export interface BatchSummary {
  graded: number;
  /** Unchanged since the recorded attempt (same notebook, same manifest). */
  skipped: number;
  /** Older than the recorded attempt (`skippedOlder.length`); `--regrade` grades them. */
  skippedOlder: OlderSkip[];
  rejected: number;
  errors: number;
  results: SubmissionResult[];
  /** What went wrong outside the submissions (a write that failed, a leftover directory). */
  problems: string[];
}

export function resultsPath(outDir: string, module: string, student: string): string {
  return join(outDir, "results", safeName(module), safeName(student), "results.json");
}

export function feedbackPath(outDir: string, module: string, student: string): string {
  return join(outDir, "feedback", safeName(module), `${safeName(student)}.html`);
}

/**
 * When the student submitted, epoch ms: the times file's entry, else the notebook's mtime (read
 * with lstat: nothing is followed), else unknown (no notebook to read).
 */
export function submissionTime(
  sub: Submission,
  times?: ReadonlyMap<string, number>,
): number | undefined {
  const given = times?.get(sub.student);
  if (given !== undefined) return given;
  if (sub.file === undefined) return undefined;
  try {
    // Whole milliseconds, as the gradebook stores times: a rerun compares like with like.
    return Math.floor(lstatSync(sub.file).mtimeMs);
  } catch {
    return undefined;
  }
}

/**
 * The newest-attempt rule. Attempts are ordered by submission time, then by attempt number (a
 * later-graded attempt wins a tie). A notebook submitted strictly earlier than the student's
 * latest recorded attempt would put an older submission in front of a newer one, so it is not
 * graded (unless `--regrade`); a tie or a later time is graded. When either time is unknown
 * (an attempt recorded before times were kept, a submission without a notebook), there is
 * nothing to compare and the notebook is graded.
 */
export function olderThanRecorded(
  submittedMs: number | undefined,
  last: AttemptRow | undefined,
): boolean {
  if (submittedMs === undefined || !last?.submitted_at) return false;
  const recorded = Date.parse(last.submitted_at);
  return Number.isFinite(recorded) && submittedMs < recorded;
}

function iso(ms: number | undefined): string | undefined {
  return ms === undefined || !Number.isFinite(ms) ? undefined : new Date(ms).toISOString();
}

/** What the gradebook keeps about an attempt's time (the raw score is kept apart from it). */
export function attemptContext(t: AttemptTiming): AttemptContext {
  return {
    submittedAt: iso(t.submittedMs),
    dueAt: iso(t.dueMs),
    lateSeconds: t.lateSeconds,
    penalty: t.penalty,
  };
}

export async function gradeBatch(
  manifest: GradingManifest,
  submissions: Submission[],
  opts: BatchOptions,
): Promise<BatchSummary> {
  const book = await Gradebook.open(join(opts.outDir, "gradebook.sqlite"));
  const summary: BatchSummary = { graded: 0, skipped: 0, skippedOlder: [], rejected: 0, errors: 0, results: [], problems: [] }; // prettier-ignore
  const course = opts.course ?? NO_COURSE;
  const module = manifest.module;
  const hiddenTests = hiddenTestIds(manifest);
  // A capstone's attempt is its notebook and its model file; the model is measured after the
  // notebook is graded, by the reference package in a process of the grader's (capstone.ts).
  const capstone = isCapstone(manifest) ? await capstoneRules() : undefined;
  let taken = 0;
  const scratchRoot = opts.scratchRoot ?? makeScratchRoot();
  // Students' submissions and every output are out of the kernels' sight.
  const session: SessionOptions = { ...opts, scratchRoot, hide: [...(opts.hide ?? []), opts.outDir] }; // prettier-ignore
  // Without namespaces kernels share /proc, the disk and one uid: one at a time, none ahead.
  const unconfined =
    session.sandbox !== false &&
    process.env.TITO_SANDBOX !== "off" &&
    sandboxCapabilities().unshareFlags.length === 0;
  const prefetch = opts.prefetch !== false && !unconfined;
  const jobs = unconfined ? 1 : Math.max(1, Math.floor(opts.jobs ?? 1));
  // Fresh prepared kernels, one per submission: with prefetch, up to one per worker is prepared
  // ahead while the current submissions run, never more than the submissions left. Nothing is
  // prepared before a submission needs grading (a rerun where nothing changed starts none).
  const kernels = new KernelPool<PreparedKernel>({
    factory: {
      start: () => prepareKernel(manifest, session),
      stop: (k) => k.dispose(),
      usable: async (k) => k.kernel.alive && (await k.kernel.ping(5000)),
    },
    size: () =>
      prefetch && !opts.stop?.requested ? Math.min(jobs, submissions.length - taken) : 0,
    lazy: true,
  });
  // One trusted reference runner for the whole batch (its program is compiled once), opened
  // when the first submission needs grading.
  let reference: Promise<ReferenceRunner> | undefined;
  const openReference = () =>
    (reference ??= ReferenceRunner.open(manifest, {
      ...session,
      scratchRoot,
      timeoutMs: session.notebookTimeoutMs ?? DEFAULT_LIMITS.notebookTimeoutMs,
    }));
  const problem = (what: string) => {
    summary.problems.push(what);
    process.stderr.write(`grading: ${what}\n`);
  };

  /** Writes one attempt everywhere it goes; a write that fails is reported, never thrown. */
  const record = (sub: Submission, r: SubmissionResult, timing: AttemptTiming) => {
    const late = timing.dueMs === undefined ? undefined : timing;
    const shown = { late, hiddenTests, hiddenVisibility: course.hiddenTests };
    const writes: Array<[string, () => void]> = [
      ["results.json", () => writeResultsJson(resultsPath(opts.outDir, module, sub.student), r, shown)], // prettier-ignore
      // A regraded student keeps the scores given by hand so far (the totals count them too).
      ["feedback page", () => writeFeedback(feedbackPath(opts.outDir, module, sub.student), r, { ...shown, manualMarks: manualMarksFor(book, module, sub.student) })], // prettier-ignore
      ["gradebook row", () => void book.record(r, attemptContext(timing))],
    ];
    for (const [what, write] of writes) {
      try {
        write();
      } catch (e) {
        problem(`${sub.student}: could not write the ${what}: ${(e as Error).message}`);
      }
    }
    summary.results.push(r);
    const kind = r.status === "graded" ? "graded" : r.status === "rejected" ? "rejected" : "errors"; // prettier-ignore
    summary[kind]++;
    const lateText = describeLateness(timing);
    opts.progress?.tick(kind, `${sub.student}: ${r.score}/${r.maxScore}${r.reason ? ` (${r.reason})` : ""}${lateText ? ` [${lateText}]` : ""}`); // prettier-ignore
    opts.onResult?.(r);
  };

  const grade = async (sub: Submission): Promise<void> => {
    taken++;
    let text = "";
    try {
      if (!sub.file) throw new Error(sub.problem ?? "no notebook");
      const read = readSubmissionFile(sub.file, sub.maxBytes, sub.identity);
      if (read.ok) text = read.text;
      else sub.problem = read.reason;
    } catch (e) {
      sub.problem = sub.problem ?? `cannot read the submission (${(e as Error).message})`;
    }
    let r: SubmissionResult;
    // A notebook that could not be read has no file time to trust (it may be a link's).
    const submittedMs = sub.problem ? opts.submissionTimes?.get(sub.student) : submissionTime(sub, opts.submissionTimes); // prettier-ignore
    const timing = timingFor(course, module, sub.student, submittedMs);
    let model: CapstoneModelFile | undefined;
    try {
      if (capstone) model = readCapstoneModel(sub, capstone.CAPSTONE_MODEL_FILE, opts.capstone?.maxModelBytes ?? capstone.CAPSTONE_MAX_MODEL_BYTES); // prettier-ignore
      const hash = model ? capstoneHash(text, model) : sha256Hex(text);
      if (!opts.force && book.isUpToDate(sub.student, module, hash, opts.manifestHash)) {
        summary.skipped++;
        opts.progress?.tick("skipped", sub.student);
        return;
      }
      const last = book.latest(sub.student, module);
      if (!opts.regrade && last && olderThanRecorded(submittedMs, last)) {
        const skip: OlderSkip = {
          student: sub.student,
          file: sub.file ?? "",
          submittedAt: iso(submittedMs) ?? "",
          recordedAttempt: last.attempt,
          recordedSubmittedAt: last.submitted_at ?? "",
          message: `${sub.student}: skipped-older: ${basename(sub.file ?? "")} was submitted ${iso(submittedMs)}, before attempt #${last.attempt} (submitted ${last.submitted_at}); --regrade grades it anyway`, // prettier-ignore
        };
        summary.skippedOlder.push(skip);
        opts.progress?.tick("skipped", skip.message);
        return;
      }
      r = await gradeSubmission(manifest, sub.problem ? "" : text, {
        ...session,
        student: sub.student,
        manifestHash: opts.manifestHash,
        acquireKernel: () => kernels.acquire(),
        reference: openReference,
      });
      if (sub.problem) {
        r.status = "rejected";
        r.reason = sub.problem;
        for (const t of r.tests) t.message = `not graded: ${sub.problem}`;
      }
      if (model) {
        r.submissionHash = hash;
        const record = r.status === "graded" ? await measureInTurn(model, opts.capstone ?? {}) : await notMeasured(model, `not measured: the notebook was not graded (${r.reason ?? r.status})`); // prettier-ignore
        addCapstoneEvents(r, record);
      }
    } catch (e) {
      // A fault of the grader, not of the student: still an attempt on record.
      const why = e instanceof Error ? e.message.split("\n")[0] : String(e);
      r = failedAttempt(manifest, text, `the grader failed on this submission: ${why}`, {
        student: sub.student,
        manifestHash: opts.manifestHash,
      });
    }
    // An attempt the grader failed on still carries the events, at 0, so its maximum is the same.
    if (model && !r.capstone) addCapstoneEvents(r, await notMeasured(model, `not measured: ${r.reason ?? r.status}`)); // prettier-ignore
    record(sub, r, timing);
  };

  try {
    // grade() records every outcome itself, so runWorkers has nothing to collect.
    await runWorkers(submissions, jobs, grade, { stop: opts.stop ?? { requested: false } });
  } finally {
    // The kernels prepared for submissions that will not come (stopped, or crashed). Each
    // acquired one was disposed by gradeSubmission.
    await kernels.close();
    if (reference)
      await reference.then(
        (r) => r.close(),
        () => undefined,
      );
    try {
      book.close();
    } catch (e) {
      problem(`could not save the gradebook: ${(e as Error).message}`);
    }
    if (opts.scratchRoot === undefined) {
      await removeQuietly(scratchRoot, problem);
    }
  }
  return summary;
}
