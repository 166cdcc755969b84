// Gradescope's autograder results format (results.json): the total, the run time, one entry per
// test with its own score and output, and a top-level message with anything that concerns the
// whole submission (why it was rejected, cells that were edited and restored). A test's reason
// comes first, as the grader wrote it (score.ts); what the cell printed follows under a
// header that says the student's code may have printed it, so printed text that imitates the
// grader ("KernelDied: ... ask for a regrade") reads as what it is.
import { writeFileAtomic } from "@tinytorch-ts/core";
import type { SubmissionResult } from "./types";

export interface GradescopeTest {
  name: string;
  score: number;
  max_score: number;
  status: "passed" | "failed";
  output: string;
  visibility: "visible" | "hidden" | "after_due_date" | "after_published";
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

/** The message shown above the tests: status, reason and tamper notes. */
export function summaryText(r: SubmissionResult): string {
  const lines: string[] = [];
  if (r.status === "rejected") lines.push(`Your notebook could not be graded: ${r.reason}.`);
  if (r.status === "error") lines.push(`${r.reason}. Please contact your instructor.`);
  const manual = r.manualMaxScore ?? 0;
  lines.push(
    manual > 0
      ? `Score: ${r.score} / ${r.maxScore - manual} points graded automatically (module ${r.module}); ${manual} more point(s) are graded by hand.` // prettier-ignore
      : `Score: ${r.score} / ${r.maxScore} (module ${r.module}).`,
  );
  if (r.tampering.length > 0) {
    lines.push("", "Notes about your notebook:");
    for (const t of r.tampering) lines.push(`- ${t.message}`);
  }
  return lines.join("\n");
}

export function toGradescope(r: SubmissionResult): GradescopeResults {
  return {
    score: r.score,
    execution_time: Math.round(r.executionTimeMs / 100) / 10,
    output: summaryText(r),
    visibility: "visible",
    stdout_visibility: "hidden",
    // Answers graded by hand are scored in Gradescope's own grading (or with `tito manual`).
    tests: r.tests
      .filter((t) => t.status !== "manual")
      .map((t) => {
        const parts: string[] = [];
        for (const part of t.parts ?? []) {
          const mark = part.passed ? "✔" : "✘";
          parts.push(`${mark} ${part.name} (${part.hidden ? "hidden" : "visible"}): ${part.score}/${part.maxScore}${part.message ? ` — ${part.message}` : ""}`); // prettier-ignore
        }
        if (t.message) parts.push(t.message);
        if (t.output.trim() !== "") parts.push(`${PRINTED_HEADER}\n${t.output.trimEnd()}`);
        return {
          name: t.name,
          score: t.score,
          max_score: t.maxScore,
          status: t.status === "passed" ? "passed" : "failed",
          output: parts.join("\n\n"),
          visibility: "visible",
        };
      }),
  };
}

export function writeResultsJson(path: string, r: SubmissionResult): void {
  writeFileAtomic(path, JSON.stringify(toGradescope(r), null, 2) + "\n");
}
