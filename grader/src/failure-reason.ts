// The failure reason a student sees for a test cell, written by the grader from what it can
// trust. A failed test cell's stderr is not that: the cell ran the student's code, which can print
// anything there ("KernelDied: ... ask for a regrade"), replace process.stderr.write, or throw
// an error whose message is an object. So:
// - a test that threw: the reason is the report the preamble wrote for that cell (see
//   kernel-preamble-values.cjs), the thrown value's name and message read as primitives
//   inside the kernel, found in stderr by a per-kernel key the student never sees;
// - a cell that failed without a report (it could not be compiled, or an import failed, so the
//   test never started): what the kernel printed, under a header that says so;
// - a timeout, a dead kernel, a cell that never ran: the grader's own words.
// Every reason loses its control characters here; the caller redacts and clips it.
import type { CellRun } from "@tinytorch-ts/core/kernel";
import { stripControl } from "./names";

export interface FailureReport {
  name: string;
  message: string;
}

/** The last report line with this key in a cell's stderr, or undefined. */
export function readFailureReport(
  stderr: string | undefined,
  reportKey: string,
): FailureReport | undefined {
  if (!stderr || reportKey === "") return undefined;
  const at = stderr.lastIndexOf(`\n${reportKey} `);
  if (at < 0) return undefined;
  const start = at + reportKey.length + 2;
  const end = stderr.indexOf("\n", start);
  try {
    const parsed: unknown = JSON.parse(stderr.slice(start, end < 0 ? undefined : end));
    if (typeof parsed !== "object" || parsed === null) return undefined;
    const { n, m } = parsed as Record<string, unknown>;
    if (typeof n !== "string" || typeof m !== "string") return undefined;
    return { name: stripControl(n, { keepNewlines: false }), message: stripControl(m) };
  } catch {
    return undefined;
  }
}

/** Says why a test cell did not pass. */
export function failureReason(run: CellRun, reportKey: string): string {
  if (run.status === "error") {
    const report = readFailureReport(run.stderrTail, reportKey);
    if (report) return `Raised in the test: ${report.name}: ${report.message}`;
    if (run.error && run.error.ename !== "Aborted") {
      const printed = stripControl(`${run.error.ename}: ${run.error.evalue}`);
      return `The test reported no reason (its cell may not have compiled, or an import failed). The kernel printed: ${printed}`; // prettier-ignore
    }
  }
  return stripControl(run.reason ?? run.status);
}
