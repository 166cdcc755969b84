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
  /** Set for a test with named parts: each part's verdict (the test's score is their sum). */
  parts?: PartVerdict[];
}

/** Standard error names are shown for hidden checks; any other name could carry data. */
const STANDARD_ERRORS = new Set([
  "Error", "TypeError", "RangeError", "ReferenceError", "SyntaxError", "EvalError", "URIError",
  "AggregateError", "TestFailure",
]); // prettier-ignore

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

const KINDS = new Set(["assert", "equal", "close", "shape", "throws", "consistent", "prediction"]); // prettier-ignore

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
      ...(Number.isInteger(c.part) ? { part: c.part as number } : {}),
    });
  }
  const out: TestRecords = { test: data.test, checks };
  if (Array.isArray(data.parts)) {
    out.parts = data.parts.map((p: unknown) => {
      const part = isRecord(p) ? p : {};
      const aborted = isRecord(part.aborted) ? part.aborted : undefined;
      return {
        name: typeof part.name === "string" ? part.name : "",
        points: 0,
        ...(aborted ? { aborted: { name: typeof aborted.name === "string" ? aborted.name : "an error", message: typeof aborted.message === "string" ? aborted.message : "" } } : {}), // prettier-ignore
      };
    });
  }
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
    prediction: "a prediction is off by more than the tolerance",
  };
  return `hidden check ${position}${label} failed: ${what[ref.kind]} (hidden checks do not show their values)`; // prettier-ignore
}

interface Sequence {
  /** The student's checks, in order (of the test, or of one part). */
  got: CheckRecord[];
  /** The reference's checks for the same test or part. */
  want: CheckRecord[];
  /** The student's exception that stopped this sequence, if any. */
  stopped?: { name: string; message: string; hidden?: boolean };
  /** How the checks are numbered in reasons (their position in the whole test). */
  numbers: number[];
}

/** Judges one sequence of checks: all must match, none missing, none extra, no exception. */
function judgeSequence(seq: Sequence): { passed: boolean; checksPassed: number; reason?: string } {
  const { got, want, stopped, numbers } = seq;
  let passed = 0;
  let reason: string | undefined;
  for (let i = 0; i < want.length; i++) {
    const ref = want[i];
    const g = got[i];
    if (!g) {
      const hidden = ref.hidden === true || want[i - 1]?.hidden === true || stopped?.hidden === true; // prettier-ignore
      reason ??= stopped
        ? `stopped before check ${numbers[i]}: ${describeThrown(stopped.name, stopped.message, hidden)}`
        : `stopped before check ${numbers[i]}`;
      break;
    }
    if (g.kind !== ref.kind) {
      reason ??= `check ${numbers[i]} is not the check the test makes (the test code did not run as written)`; // prettier-ignore
      break;
    }
    const own = ref.kind === "consistent" ? g.expected : undefined;
    const verdict = judge(ref, g.actual, ref.actual, own);
    if (verdict.ok) passed++;
    else reason ??= checkFailure(ref, verdict.message, numbers[i]);
  }
  if (reason === undefined && got.length > want.length) {
    reason = `${got.length} checks were made where the reference made ${want.length}`;
  }
  if (reason === undefined && stopped) {
    const hidden = stopped.hidden === true || want[want.length - 1]?.hidden === true;
    reason = `stopped after its last check: ${describeThrown(stopped.name, stopped.message, hidden)}`; // prettier-ignore
  }
  return reason === undefined ? { passed: true, checksPassed: passed } : { passed: false, checksPassed: passed, reason }; // prettier-ignore
}

export interface PartVerdict {
  name: string;
  points: number;
  hidden: boolean;
  passed: boolean;
  reason?: string;
  checksPassed: number;
  checksTotal: number;
}

/**
 * Judges a test cell: every check of the reference must be matched, in order, by a check of
 * the same kind that passes against the reference's value; the student's test must not stop
 * early or run checks the reference did not. A test with named parts is judged part by part
 * (`parts`), each earning its points alone.
 */
export function judgeTest(student: TestRecords | undefined, reference: TestRecords): TestVerdict {
  const total = reference.checks.length;
  if (!student) return { passed: false, reason: "the test recorded nothing", checksPassed: 0, checksTotal: total }; // prettier-ignore
  const refParts = reference.parts ?? [];
  if (refParts.length === 0) {
    const v = judgeSequence({
      got: student.checks,
      want: reference.checks,
      ...(student.aborted ? { stopped: student.aborted } : {}),
      numbers: reference.checks.map((_, i) => i + 1),
    });
    return { ...v, ...(v.reason ? { reason: `the test ${v.reason}` } : {}), checksTotal: total };
  }
  const parts: PartVerdict[] = refParts.map((p, k) => {
    const numbers: number[] = [];
    const want = reference.checks.filter((c, i) => c.part === k && numbers.push(i + 1));
    const mine = student.parts?.[k];
    const got = student.checks.filter((c) => c.part === k);
    const base = { name: p.name, points: p.points, hidden: p.hidden === true, checksTotal: want.length }; // prettier-ignore
    if (!mine || mine.name !== p.name) {
      const why = student.aborted
        ? `it did not run: ${describeThrown(student.aborted.name, student.aborted.message, base.hidden)}`
        : "it did not run"; // prettier-ignore
      return { ...base, passed: false, checksPassed: 0, reason: why };
    }
    const stopped = mine.aborted ? { ...mine.aborted, hidden: base.hidden } : undefined;
    const v = judgeSequence({ got, want, numbers, ...(stopped ? { stopped } : {}) });
    return { ...base, ...v, ...(v.reason ? { reason: `it ${v.reason}` } : {}) };
  });
  const checksPassed = parts.reduce((n, p) => n + p.checksPassed, 0);
  const failedPart = parts.find((p) => !p.passed);
  const outside = student.checks.filter((c) => c.part === undefined).length;
  const reason = failedPart
    ? `part "${stripControl(failedPart.name, { keepNewlines: false })}" failed: ${failedPart.reason ?? ""}`
    : outside > 0 ? `${outside} checks were made outside the test's parts` : undefined; // prettier-ignore
  return {
    passed: reason === undefined,
    ...(reason ? { reason } : {}),
    checksPassed,
    checksTotal: total,
    parts,
  };
}

/**
 * Checks the reference decides for itself (a condition, an expected error, two figures that
 * must agree) that it failed: the reference is broken for this seed, and no verdict on the
 * test can be trusted. Checks against a value are the reference's own answers by definition.
 */
export function referenceFailures(reference: TestRecords): string[] {
  const out: string[] = [];
  if (reference.aborted) out.push(`it threw ${reference.aborted.name}: ${reference.aborted.message}`); // prettier-ignore
  for (const p of reference.parts ?? []) {
    if (p.aborted) out.push(`its part "${p.name}" threw ${p.aborted.name}: ${p.aborted.message}`);
  }
  reference.checks.forEach((c, i) => {
    if (c.kind !== "assert" && c.kind !== "throws" && c.kind !== "consistent") return;
    const v = judge(c, c.actual, undefined, c.expected);
    if (!v.ok) out.push(`check ${i + 1}: ${v.message ?? "failed"}`);
  });
  return out;
}
