// What a check means, in one place: how a checked value is written down (an encoded value, plain
// JSON), and how a check decides on encoded values. The harness (testing.ts) uses it to judge a
// check in a student's notebook; the grader uses the same functions, in its own process, to
// judge what a grading kernel recorded against what the trusted reference run recorded. So a
// check means the same thing in Jupyter, under `tito test` and in the grader, and a grading
// kernel, which may be fully compromised, only ever supplies data, never a verdict.
//
// Pure: no Node APIs, no global state. Every function here is safe on untrusted input (a record
// parsed from a kernel's output): it never throws on a malformed value, it reports it.
import {
  clip,
  encodedEqual,
  flattenNumbers,
  readNode,
  showEncoded,
  showShape,
  type Encoded,
} from "./encoded";

export {
  encodedEqual,
  encodeValue,
  EncodeError,
  readNode,
  showEncoded,
  typedArrayName,
  type Encoded,
  type TypedArrayName,
} from "./encoded";

/** The kinds of check the harness records. */
export type CheckKind =
  /** assert(condition): passes when the condition is truthy. Decided by the kernel's own value. */
  | "assert"
  /** assertEqual: deep equality (arrays and typed arrays element by element, objects by key). */
  | "equal"
  /** assertClose: numpy.allclose within the tolerance. */
  | "close"
  /** assertShape: a shape equal to the expected one. */
  | "shape"
  /** assertThrows: the call threw, with a message matching the pattern when there is one. */
  | "throws"
  /**
   * assertConsistent: two numbers of the same run (measurements) agree within the tolerance.
   * Both sides come from the run being judged, so a reference run cannot stand in for them.
   */
  | "consistent"
  /**
   * assertPrediction: a number the student predicted (a figure of a fixed setting: Adam's state
   * in bytes, a layer's FLOPs) within the tolerance of the true one. Its answer does not depend
   * on a seed by design, so the audit's seed rule does not apply to it.
   */
  | "prediction";

export interface Tolerance {
  /** Relative tolerance (default 1e-5, suited to float32). */
  rtol?: number;
  /** Absolute tolerance (default 1e-6). */
  atol?: number;
}

/** What an assertThrows call observed: whether it threw, and the error's name and message. */
export interface ThrownRecord {
  threw: boolean;
  name?: string;
  /** Only a primitive string message: a thrown string, or a real Error's own message. */
  message?: string;
}

export type Pattern = { text: string } | { source: string; flags: string };

/** One check as a run saw it. Which fields a grader trusts depends on who ran it. */
export interface CheckRecord {
  kind: CheckKind;
  /** The checked value (for "throws": a ThrownRecord; for "assert": the condition as a boolean). */
  actual: Encoded;
  /** The value the test expected, when the run had one (graded kernels do not get it). */
  expected?: Encoded;
  tolerance?: Tolerance;
  pattern?: Pattern;
  /** The test author's words for the check (`"shape is kept"`), or assert's message. */
  context?: string;
  /** True when the check ran inside a hidden-tests block. */
  hidden?: boolean;
  /** Index of the named part (`check(name, points, fn)`) the check belongs to. */
  part?: number;
}

/** A named part of a test, worth its own points (`check(name, points, fn)`). */
export interface PartRecord {
  name: string;
  points: number;
  /** True when the part began inside a hidden-tests block. */
  hidden?: boolean;
  /** Set when the part's code threw (its later checks did not run). */
  aborted?: { name: string; message: string };
}

/** Everything one test cell recorded. */
export interface TestRecords {
  test: string;
  checks: CheckRecord[];
  /** The test's named parts, in the order they ran (none: the test is all or nothing). */
  parts?: PartRecord[];
  /** Set when the test stopped with an exception (the checks before it still count). */
  aborted?: { name: string; message: string; hidden: boolean };
}

export interface Verdict {
  ok: boolean;
  /** Why it failed, in the harness's words ("expected [2, 3], got [3, 2]"). */
  message?: string;
}

// ---------------------------------------------------------------------------------------------
// Verdicts

function showPattern(p: Pattern): string {
  return "text" in p ? JSON.stringify(p.text) : JSON.stringify(`/${p.source}/${p.flags}`);
}

function withContext(message: string, context: string | undefined): string {
  return context ? `${context}: ${message}` : message;
}

/** Whether a (primitive) error message matches a check's pattern. */
export function patternMatches(message: string, pattern: Pattern): boolean {
  if ("text" in pattern) return message.includes(pattern.text);
  try {
    return new RegExp(pattern.source, pattern.flags.replace(/[gy]/g, "")).test(message);
  } catch {
    return false;
  }
}

function readThrown(e: Encoded): ThrownRecord | undefined {
  const n = readNode(e);
  if (n.k !== "obj") return undefined;
  const threw = readNode(n.fields.threw);
  if (threw.k !== "bool") return undefined;
  const message = n.fields.message === undefined ? undefined : readNode(n.fields.message);
  const name = n.fields.name === undefined ? undefined : readNode(n.fields.name);
  return {
    threw: threw.v,
    ...(message?.k === "str" ? { message: message.v } : {}),
    ...(name?.k === "str" ? { name: name.v } : {}),
  };
}

export function closeVerdict(
  actual: Encoded,
  expected: Encoded,
  tolerance: Tolerance = {},
): Verdict {
  const rtol = tolerance.rtol ?? 1e-5;
  const atol = tolerance.atol ?? 1e-6;
  const a = flattenNumbers(actual);
  const e = flattenNumbers(expected);
  if (!e.ok) return { ok: false, message: `expected a number or an array of numbers to compare with, got ${showEncoded(expected)}` }; // prettier-ignore
  if (!a.ok) return { ok: false, message: `expected a number or an array of numbers, got ${showEncoded(actual)}` }; // prettier-ignore
  if (a.values.length !== e.values.length) {
    return { ok: false, message: `expected ${e.values.length} values, got ${a.values.length}: ${showEncoded(actual)}` }; // prettier-ignore
  }
  for (let i = 0; i < a.values.length; i++) {
    const x = a.values[i];
    const y = e.values[i];
    if (Number.isNaN(x) && Number.isNaN(y)) continue;
    if (!Number.isFinite(x) || !Number.isFinite(y)) {
      if (x === y) continue;
      return { ok: false, message: `element ${i}: expected ${String(y)}, got ${String(x)}` };
    }
    if (!(Math.abs(x - y) <= atol + rtol * Math.abs(y))) {
      return { ok: false, message: `element ${i}: expected ${y}, got ${x} (|diff| = ${Math.abs(x - y)})` }; // prettier-ignore
    }
  }
  return { ok: true };
}

/**
 * Decides one check. `expected` is what the check compares with: the test's own expected value
 * when a notebook runs the test, the reference run's recorded value when the grader judges a
 * submission. For "throws" the pattern, and for "close" the tolerance, are given by `spec` (the
 * trusted record); for "consistent" the run's own two values are compared.
 */
export function judge(
  spec: Pick<CheckRecord, "kind" | "tolerance" | "pattern" | "context">,
  actual: Encoded,
  expected: Encoded | undefined,
  ownExpected?: Encoded,
): Verdict {
  const context = spec.context;
  const fail = (message: string): Verdict => ({ ok: false, message: withContext(message, context) }); // prettier-ignore
  switch (spec.kind) {
    case "assert": {
      const n = readNode(actual);
      return n.k === "bool" && n.v
        ? { ok: true }
        : { ok: false, message: context ?? "assertion failed" };
    }
    case "equal":
      if (expected === undefined) return fail("nothing to compare with");
      return encodedEqual(actual, expected)
        ? { ok: true }
        : fail(`expected ${showEncoded(expected)}, got ${showEncoded(actual)}`);
    case "shape":
      if (expected === undefined) return fail("nothing to compare with");
      return encodedEqual(actual, expected)
        ? { ok: true }
        : fail(`expected shape ${showShape(expected)}, got ${showShape(actual)}`);
    case "close":
    case "prediction": {
      if (expected === undefined) return fail("nothing to compare with");
      const v = closeVerdict(actual, expected, spec.tolerance);
      return v.ok ? v : fail(v.message ?? "not close");
    }
    case "consistent": {
      if (ownExpected === undefined) return fail("nothing to compare with");
      const v = closeVerdict(actual, ownExpected, spec.tolerance);
      return v.ok ? v : fail(v.message ?? "not consistent");
    }
    case "throws": {
      const t = readThrown(actual);
      if (!t) return fail("the check recorded nothing readable");
      if (!t.threw) return fail("expected an error, but none was thrown");
      const pattern = spec.pattern;
      if (pattern === undefined) return { ok: true };
      if (t.message === undefined) {
        return fail(`the error thrown has no message that is a plain string (expected one matching ${showPattern(pattern)})`); // prettier-ignore
      }
      return patternMatches(t.message, pattern)
        ? { ok: true }
        : fail(`error message ${JSON.stringify(clip(t.message))} does not match ${showPattern(pattern)}`); // prettier-ignore
    }
  }
  return fail("an unknown kind of check");
}
