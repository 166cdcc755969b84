// The verdict on one test cell, decided here, in the grader's process, from two records: what
// the student's kernel says its code produced, and what the reference solution produced in the
// trusted run on the same inputs. The kernel's record is data and nothing else: its reply
// status, its claimed verdicts, its claimed expected values and the tolerance or pattern it
// claims are all ignored. Each check is decided by the harness's own `judge`, with the kind,
// tolerance, pattern and hidden flag of the trusted record.
import type { CellRun } from "@tinytorch-ts/core/kernel";
import {
  judge,
  type CheckRecord,
  type Encoded,
  type TestRecords,
} from "tinytorch-ts/support/checks";
import type { GradingMessage } from "tinytorch-ts/support/testing";
import { stripControl } from "./names";

export interface TestVerdict {
  passed: boolean;
  /** The grader's words for a failure. */
  reason?: string;
  /** How many of the reference's checks the student's code passed. */
  checksPassed: number;
  checksTotal: number;
}

/** Standard error names are shown for hidden checks; any other name could carry data. */
const STANDARD_ERRORS = new Set([
  "Error", "TypeError", "RangeError", "ReferenceError", "SyntaxError", "EvalError", "URIError",
  "AggregateError", "TestFailure",
]); // prettier-ignore

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

const KINDS = new Set(["assert", "equal", "close", "shape", "throws", "consistent"]);

/** A record set as sent by a kernel, checked for shape; anything else is undefined. */
export function readRecords(data: unknown): TestRecords | undefined {
  if (!isRecord(data) || typeof data.test !== "string" || !Array.isArray(data.checks)) return undefined; // prettier-ignore
  const checks: CheckRecord[] = [];
  for (const c of data.checks) {
    if (!isRecord(c) || typeof c.kind !== "string" || !KINDS.has(c.kind) || !("actual" in c)) return undefined; // prettier-ignore
    checks.push({
      kind: c.kind as CheckRecord["kind"],
      actual: c.actual as Encoded,
      ...("expected" in c ? { expected: c.expected as Encoded } : {}),
    });
  }
  const out: TestRecords = { test: data.test, checks };
  if (isRecord(data.aborted)) {
    const a = data.aborted;
    out.aborted = {
      name: typeof a.name === "string" ? a.name : "an error",
      message: typeof a.message === "string" ? a.message : "",
      hidden: a.hidden === true,
    };
  }
  return out;
}

/** What a test cell's kernel run sent on the grading channel. */
export function gradingMessages(run: CellRun): Array<{ at: number; message: GradingMessage }> {
  const out: Array<{ at: number; message: GradingMessage }> = [];
  for (const c of run.captured ?? []) {
    if (isRecord(c.data) && (c.data.type === "hidden" || c.data.type === "records")) {
      out.push({ at: c.at, message: c.data as unknown as GradingMessage });
    }
  }
  return out;
}

function describeThrown(name: string, message: string, hidden: boolean): string {
  const clean = stripControl(name, { keepNewlines: false }).slice(0, 60);
  if (hidden) {
    const shown = STANDARD_ERRORS.has(clean) ? clean : "an error";
    const note = message.startsWith("Not implemented") ? " (an exercise is not implemented yet)" : ""; // prettier-ignore
    return `your code threw ${shown} during a hidden check${note}`;
  }
  return `your code threw ${clean}: ${stripControl(message).slice(0, 400)}`;
}

/** Why one check failed, in words that show values only for visible checks. */
function checkFailure(ref: CheckRecord, message: string | undefined, position: number): string {
  const label = ref.context ? ` "${stripControl(ref.context, { keepNewlines: false }).slice(0, 120)}"` : ""; // prettier-ignore
  if (!ref.hidden) return `check ${position}${label} failed: ${stripControl(message ?? "failed")}`;
  const what: Record<CheckRecord["kind"], string> = {
    assert: "a condition did not hold",
    equal: "a value differs from the reference solution's",
    close: "numbers differ from the reference solution's beyond the tolerance",
    shape: "a shape differs from the reference solution's",
    throws: "an error was expected (or its message did not match)",
    consistent: "two figures of your run do not agree",
  };
  return `hidden check ${position}${label} failed: ${what[ref.kind]} (hidden checks do not show their values)`; // prettier-ignore
}

/**
 * Judges a test cell: every check of the reference must be matched, in order, by a check of
 * the same kind that passes against the reference's value; the student's test must not stop
 * early or run checks the reference did not.
 */
export function judgeTest(student: TestRecords | undefined, reference: TestRecords): TestVerdict {
  const total = reference.checks.length;
  const fail = (reason: string, passedSoFar: number): TestVerdict => ({
    passed: false,
    reason,
    checksPassed: passedSoFar,
    checksTotal: total,
  });
  if (!student) return fail("the test recorded nothing", 0);
  let passed = 0;
  let firstFailure: string | undefined;
  for (let i = 0; i < total; i++) {
    const ref = reference.checks[i];
    const got = student.checks[i];
    if (!got) {
      if (firstFailure === undefined) {
        const hidden = ref.hidden === true || reference.checks[i - 1]?.hidden === true;
        firstFailure = student.aborted
          ? `the test stopped before check ${i + 1}: ${describeThrown(student.aborted.name, student.aborted.message, hidden)}`
          : `the test stopped before check ${i + 1} of ${total}`; // prettier-ignore
      }
      break;
    }
    if (got.kind !== ref.kind) {
      firstFailure ??= `check ${i + 1} is not the check the test makes (the test code did not run as written)`; // prettier-ignore
      break;
    }
    const own = ref.kind === "consistent" ? got.expected : undefined;
    const verdict = judge(ref, got.actual, ref.actual, own);
    if (verdict.ok) passed++;
    else firstFailure ??= checkFailure(ref, verdict.message, i + 1);
  }
  if (firstFailure === undefined && student.checks.length > total) {
    firstFailure = `the test made ${student.checks.length} checks, the reference ${total}`;
  }
  if (firstFailure === undefined && student.aborted) {
    const hidden = student.aborted.hidden || reference.checks[total - 1]?.hidden === true;
    firstFailure = `the test stopped after its last check: ${describeThrown(student.aborted.name, student.aborted.message, hidden)}`; // prettier-ignore
  }
  return firstFailure === undefined
    ? { passed: true, checksPassed: passed, checksTotal: total }
    : fail(firstFailure, passed);
}

/**
 * Checks the reference decides for itself (a condition, an expected error, two figures that
 * must agree) that it failed: the reference is broken for this seed, and no verdict on the
 * test can be trusted. Checks against a value are the reference's own answers by definition.
 */
export function referenceFailures(reference: TestRecords): string[] {
  const out: string[] = [];
  if (reference.aborted) out.push(`it threw ${reference.aborted.name}: ${reference.aborted.message}`); // prettier-ignore
  reference.checks.forEach((c, i) => {
    if (c.kind !== "assert" && c.kind !== "throws" && c.kind !== "consistent") return;
    const v = judge(c, c.actual, undefined, c.expected);
    if (!v.ok) out.push(`check ${i + 1}: ${v.message ?? "failed"}`);
  });
  return out;
}
