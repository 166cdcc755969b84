// Gradescope's autograder results format (results.json): the total, the run time, one entry per
// test with its own score and output, and a top-level message with anything that concerns the
// whole submission (why it was rejected, cells that were edited and restored). A test's reason
// comes first, as the grader wrote it (score.ts); what the cell printed follows under a
// header that says the student's code may have printed it, so printed text that imitates the
// grader ("KernelDied: ... ask for a regrade") reads as what it is.
//
// Visibility follows what a test checks: a test whose checks are all visible is "visible"; one
// with hidden checks gets the course's setting (course.json `gradescope.hiddenTests`, default
// "after_due_date"). A test with named parts becomes one Gradescope entry per part, each with
// its own points and its own visibility, so a visible part is never hidden with its test.
import { writeFileAtomic, type GradingManifest } from "@tinytorch-ts/core";
import { findRegions } from "@tinytorch-ts/core/notebook";
import { describeLateness, type Lateness } from "./late-policy";
import type { PartResult, SubmissionResult, TestResult } from "./types";

export type GradescopeVisibility = "visible" | "hidden" | "after_due_date" | "after_published";

export interface GradescopeTest {
  name: string;
  score: number;
  max_score: number;
  status: "passed" | "failed";
  output: string;
  visibility: GradescopeVisibility;
}

/** What results.json needs beyond the result itself. */
export interface ResultsOptions {
  /** grade_ids of the tests with hidden checks (`hiddenTestIds(manifest)`). */
  hiddenTests?: ReadonlySet<string>;
  /** Visibility of a test or part with hidden checks (default "after_due_date"). */
  hiddenVisibility?: GradescopeVisibility;
  /** How late the submission was, when the course has a due date for it. */
  late?: Lateness;
}

/** The grade cells of a manifest whose tests have a hidden region. */
export function hiddenTestIds(manifest: GradingManifest): Set<string> {
  const ids = new Set<string>();
  for (const c of manifest.cells) {
    if (c.role !== "grade" || c.grade_id === undefined) continue;
    let hidden: boolean;
    try {
      hidden = findRegions(c.gradingSource, "hidden").length > 0;
    } catch {
      // A manifest that loaded has well-formed markers; if not, err on the hidden side.
      hidden = true;
    }
    if (hidden) ids.add(c.grade_id);
  }
  return ids;
}

export interface GradescopeResults {
  score: number;
  execution_time: number;
  output: string;
  visibility: "visible";
  stdout_visibility: "hidden";
  tests: GradescopeTest[];
}

/** The header above a test's printed output, in results.json and on the feedback page. */
export const PRINTED_HEADER = "Printed by the cell (this includes anything your code printed):";

/**
 * "Submitted 1 day 3 h late: −20% …", the same sentence in results.json and on the feedback
 * page; undefined when on time.
 */
export function lateLine(late: Lateness | undefined): string | undefined {
  const text = late === undefined ? undefined : describeLateness(late);
  if (late === undefined || text === undefined) return undefined;
  const sentence = text.charAt(0).toUpperCase() + text.slice(1);
  if (late.penalty === 0) return `${sentence}.`;
  return `${sentence} of the module's total (automatic and hand-graded points); the score above is before the penalty.`; // prettier-ignore
}

/** The message shown above the tests: status, reason, lateness and tamper notes. */
export function summaryText(r: SubmissionResult, late?: Lateness): string {
  const lines: string[] = [];
  if (r.status === "rejected") lines.push(`Your notebook could not be graded: ${r.reason}.`);
  if (r.status === "error") lines.push(`${r.reason}. Please contact your instructor.`);
  const manual = r.manualMaxScore ?? 0;
  lines.push(
    manual > 0
      ? `Score: ${r.score} / ${r.maxScore - manual} points graded automatically (module ${r.module}); ${manual} more point(s) are graded by hand.` // prettier-ignore
      : `Score: ${r.score} / ${r.maxScore} (module ${r.module}).`,
  );
  const lateText = lateLine(late);
  if (lateText) lines.push(lateText);
  if (r.tampering.length > 0) {
    lines.push("", "Notes about your notebook:");
    for (const t of r.tampering) lines.push(`- ${t.message}`);
  }
  return lines.join("\n");
}

function partLine(p: PartResult): string {
  return `${p.passed ? "✔" : "✘"} ${p.name} (${p.hidden ? "hidden" : "visible"}): ${p.score}/${p.maxScore}${p.message ? ` — ${p.message}` : ""}`; // prettier-ignore
}

function printed(t: TestResult): string[] {
  return t.output.trim() === "" ? [] : [`${PRINTED_HEADER}\n${t.output.trimEnd()}`];
}

/** One entry per test, or per part for a test with parts. */
function entries(t: TestResult, opts: ResultsOptions): GradescopeTest[] {
  const hiddenVisibility = opts.hiddenVisibility ?? "after_due_date";
  const parts = t.parts ?? [];
  if (parts.length === 0) {
    return [
      {
        name: t.name,
        score: t.score,
        max_score: t.maxScore,
        status: t.status === "passed" ? "passed" : "failed",
        output: [...(t.message ? [t.message] : []), ...printed(t)].join("\n\n"),
        visibility: opts.hiddenTests?.has(t.gradeId) ? hiddenVisibility : "visible",
      },
    ];
  }
  // What concerns the whole test goes with its first visible part (or its first part), so it
  // is shown exactly once: what the cell printed, and why a test that did not finish stopped
  // (a failed test's own message only repeats its failed part's).
  const home = Math.max(
    0,
    parts.findIndex((p) => !p.hidden),
  );
  const whole = [
    ...(t.message && t.status !== "failed" && t.status !== "passed" ? [t.message] : []),
    ...printed(t),
  ];
  return parts.map((p, k) => ({
    name: `${t.name}: ${p.name}`,
    score: p.score,
    max_score: p.maxScore,
    status: p.passed ? "passed" : "failed",
    output: [partLine(p), ...(k === home ? whole : [])].join("\n\n"),
    visibility: p.hidden ? hiddenVisibility : "visible",
  }));
}

export function toGradescope(r: SubmissionResult, opts: ResultsOptions = {}): GradescopeResults {
  return {
    score: r.score,
    execution_time: Math.round(r.executionTimeMs / 100) / 10,
    output: summaryText(r, opts.late),
    visibility: "visible",
    stdout_visibility: "hidden",
    // Answers graded by hand are scored in Gradescope's own grading (or with `tito manual`).
    tests: r.tests.filter((t) => t.status !== "manual").flatMap((t) => entries(t, opts)),
  };
}

export function writeResultsJson(
  path: string,
  r: SubmissionResult,
  opts: ResultsOptions = {},
): void {
  writeFileAtomic(path, JSON.stringify(toGradescope(r, opts), null, 2) + "\n");
}
