// Kit support code: the assertions that visible and hidden tests use.
//
// Every assertion writes its check down as a record (checks.ts: the kind of check, the value
// checked, what it was compared with, the tolerance or pattern) and decides it with checks.ts's
// `judge`. In a notebook, a failed check throws a TestFailure with the judge's message. Under the
// grader, the harness is switched to recording (`grading.start`, called by the grader before any
// student code): checks are recorded, not thrown, and each test cell's records are sent to the
// grader, which judges them in its own process against a trusted run of the reference solution.
// Nothing the grading kernel says is a verdict; see docs/grading.md.
import {
  encodeValue,
  judge,
  type CheckRecord,
  type PartRecord,
  type Pattern,
  type Tolerance,
  typedArrayName,
  type TypedArrayName,
} from "./checks";
import { callerName, failureStack, showCallable } from "./display";
import { activeRecorder, encodeOrUnreadable, isRecordOf } from "./recording";
import { errorMessage, thrownRecord } from "./thrown";
import { testRandomFor, type TestRandom } from "./test-random";

export type { Tolerance, TypedArrayName, TestRandom };
export { grading, type GradingMessage } from "./recording";
export { errorMessage } from "./thrown";

/**
 * True when `value` really is a typed array (of the given element type, when `name` is given).
 * A brand check: `Symbol.hasInstance`, a changed prototype, `Symbol.toStringTag` or a Proxy do
 * not make a plain array pass, as they would `value instanceof Float32Array`.
 */
export function isTypedArray(value: unknown, name?: TypedArrayName): boolean {
  const tag = typedArrayName(value);
  return tag !== undefined && (name === undefined || tag === name);
}

/** True when `value` is a Float32Array by brand (see isTypedArray). */
export function isFloat32Array(value: unknown): value is Float32Array {
  return isTypedArray(value, "Float32Array");
}

const ordinaryHasInstance = Function.prototype[Symbol.hasInstance];

/**
 * `value instanceof Ctor` as the language defines it for ordinary classes (Ctor.prototype on
 * value's prototype chain), ignoring any `Symbol.hasInstance` defined on Ctor since. For the
 * kit's own classes; built-in types are checked by brand (isTypedArray).
 */
export function isInstance(
  value: unknown,
  Ctor: abstract new (...args: never[]) => unknown,
): boolean {
  return Reflect.apply(ordinaryHasInstance, Ctor, [value]) as boolean;
}

export class TestFailure extends Error {
  constructor(message: string) {
    super(message);
    this.name = "TestFailure";
    // tslab prints a failure's stack: only the notebook's frames, and without the excerpt of the
    // harness's own `throw` that Node would put above it (the setter drops that decoration).
    const stack = failureStack(`${this.name}: ${message}`, this.stack);
    Object.defineProperty(this, "stack", { configurable: true, get: () => stack, set: () => undefined }); // prettier-ignore
  }
}

/** Checks made since the last test ended (its success line or a failure): where a failure is. */
let checksRun = 0;

/** "testModule, check 5: <the judge's message>": the test (its function) and the check's place. */
function failure(message: string): TestFailure {
  const position = checksRun;
  checksRun = 0;
  const holder: { stack?: string } = {};
  Error.captureStackTrace(holder, failure);
  const caller = callerName(holder.stack);
  return new TestFailure(`${caller ? `${caller}, ` : ""}check ${position}: ${message}`);
}

/**
 * Records or decides one check. `ownExpected` is the expected value as this run computed it (a
 * graded kernel's test code has its expected values removed; see docs/grading.md).
 */
function recordCheck(record: CheckRecord, problem?: string, describe?: () => string): void {
  const recorder = activeRecorder();
  if (recorder?.current) {
    // A graded test's expected values were removed before it ran (they arrive as undefined):
    // nothing to send. The audit's run of the reference keeps them, to check the reference.
    const { expected, ...rest } = record;
    const absent = isRecordOf(expected, "undefined");
    recorder.current.checks.push({
      ...rest,
      ...(expected !== undefined && !absent ? { expected } : {}),
      ...(recorder.hidden ? { hidden: true } : {}),
      ...(recorder.part !== undefined ? { part: recorder.part } : {}),
    });
    return;
  }
  checksRun++;
  const context = record.context;
  if (problem !== undefined) {
    throw failure(`${context ? `${context}: ` : ""}the value cannot be checked: ${problem}`);
  }
  const verdict = judge(record, record.actual, record.expected, record.expected);
  if (verdict.ok) return;
  // Only a notebook's message names the call: a record keeps the test author's own words.
  const named = context === undefined && describe ? judge({ ...record, context: describe() }, record.actual, record.expected) : verdict; // prettier-ignore
  throw failure(named.message ?? "check failed");
}

function compared(
  kind: "equal" | "shape" | "close" | "consistent" | "prediction",
  actual: unknown,
  expected: unknown,
  context: string | undefined,
  tolerance?: Tolerance,
): void {
  const a = encodeOrUnreadable(actual);
  const e = encodeOrUnreadable(expected);
  const record: CheckRecord = { kind, actual: a.value, expected: e.value };
  if (tolerance !== undefined) record.tolerance = { ...tolerance };
  if (context !== undefined) record.context = String(context);
  recordCheck(record, a.problem ?? e.problem);
}

// ---------------------------------------------------------------------------------------------
// Assertions

/** Fails unless `condition` is true (truthy). */
export function assert(condition: unknown, message?: string): asserts condition {
  const record: CheckRecord = { kind: "assert", actual: condition ? true : false };
  if (message !== undefined) record.context = String(message);
  recordCheck(record);
}

/** Fails unless `actual` and `expected` are equal (deeply, for arrays, typed arrays and objects). */
export function assertEqual(actual: unknown, expected: unknown, context?: string): void {
  compared("equal", actual, expected, context);
}

/**
 * Fails unless every element of `actual` is within atol + rtol·|expected| of `expected`, as
 * numpy.allclose decides. NaN matches NaN; infinities must match exactly. Nested arrays and
 * typed arrays are compared element by element after checking they have the same length.
 */
export function assertClose(
  actual: unknown,
  expected: unknown,
  tolerance: Tolerance = {},
  context?: string,
): void {
  compared("close", actual, expected, context, tolerance);
}

/**
 * Like assertClose, for two figures of the same run that must agree with each other (a report's
 * mean and the mean of its own samples, a measured time and the sum of its parts). Measurements
 * differ from run to run, so the grader compares these two with each other, never with a
 * reference run. Use assertClose whenever the expected value does not depend on a measurement.
 */
export function assertConsistent(
  actual: unknown,
  expected: unknown,
  tolerance: Tolerance = {},
  context?: string,
): void {
  compared("consistent", actual, expected, context, tolerance);
}

/**
 * A prediction the student made before measuring: `predicted` must be within `tolerance` of the
 * true figure (default: within 10%). Use it for numbers of a fixed setting that the lesson asks
 * the student to work out (bytes of optimizer state, FLOPs of a layer, a roofline's GFLOP/s);
 * put it in a hidden check so that a wrong guess's feedback does not give the answer away.
 */
export function assertPrediction(
  predicted: unknown,
  truth: unknown,
  tolerance: Tolerance = { rtol: 0.1, atol: 0 },
  context?: string,
): void {
  compared("prediction", predicted, truth, context, tolerance);
}

/** Fails unless `shape` equals `expected`. */
export function assertShape(
  shape: readonly number[],
  expected: readonly number[],
  context?: string,
): void {
  compared("shape", shape, expected, context);
}

function toPattern(pattern: RegExp | string): Pattern {
  return typeof pattern === "string"
    ? { text: pattern }
    : { source: pattern.source, flags: pattern.flags };
}

/**
 * Fails unless `fn` throws; when `pattern` is given, the error's message must match it. The
 * message is read as errorMessage reads it: a thrown value whose message is not a plain string
 * (an object, a getter, a Proxy) matches no pattern.
 */
export function assertThrows(fn: () => unknown, pattern?: RegExp | string, context?: string): void {
  let threw = false;
  let thrown: unknown;
  try {
    fn();
  } catch (e) {
    threw = true;
    thrown = e;
  }
  const record: CheckRecord = {
    kind: "throws",
    actual: encodeValue(thrownRecord(threw, thrown)),
  };
  if (pattern !== undefined) record.pattern = toPattern(pattern);
  if (context !== undefined) record.context = String(context);
  recordCheck(record, undefined, () => `assertThrows(${showCallable(fn)})`);
}

/**
 * A named part of a test, worth `points` of the test's points: partial credit. A test that uses
 * parts puts every check inside one, and its parts' points add up to the test's (`tito audit`
 * checks both). In a notebook a failing part stops the test like any failed check; under the
 * grader each part is judged on its own, so a half-right submission earns the parts it gets
 * right. Return the promise of an async part (`await check("fit", 2, async () => …)`).
 */
export function check(name: string, points: number, fn: () => void): void;
export function check(name: string, points: number, fn: () => Promise<void>): Promise<void>;
export function check(
  name: string,
  points: number,
  fn: () => void | Promise<void>,
): void | Promise<void> {
  const recorder = activeRecorder();
  const current = recorder?.current;
  if (!recorder || !current) {
    try {
      const out = fn();
      return out instanceof Promise ? out.catch((e: unknown) => { throw named(name, e); }) : undefined; // prettier-ignore
    } catch (e) {
      throw named(name, e);
    }
  }
  if (recorder.part !== undefined) throw new Error(`check("${name}") inside another check`);
  const parts = (current.parts ??= []);
  const part: PartRecord = { name: String(name), points: Number(points) };
  if (recorder.hidden) part.hidden = true;
  const index = parts.push(part) - 1;
  const rec = recorder;
  rec.part = index;
  const stopped = (e: unknown) => {
    const t = thrownRecord(true, e);
    part.aborted = { name: t.name ?? "a thrown value", message: t.message ?? "" };
  };
  const done = () => {
    if (rec.part === index) rec.part = undefined;
  };
  try {
    const out = fn();
    if (out instanceof Promise) return out.then(done, (e: unknown) => { stopped(e); done(); }); // prettier-ignore
  } catch (e) {
    stopped(e);
  }
  done();
}

/** A part's failure in a notebook: its name first, so the student knows which part. */
function named(part: string, e: unknown): unknown {
  return e instanceof TestFailure ? new TestFailure(`${part}: ${e.message}`) : e;
}

/** True when `e` is the error an exercise stub throws before the student has written it. */
export function isNotImplemented(e: unknown): boolean {
  const message = errorMessage(e);
  return typeof e === "object" && message !== undefined && message.startsWith("Not implemented");
}

/**
 * Random inputs for a hidden check. Under the grader they come from a seed drawn for each
 * submission (and never shown), so an answer that was hard-coded from an earlier feedback
 * cannot match; in a notebook they come from a fixed seed. Each label is its own stream: what
 * one test draws does not depend on what an earlier test drew.
 */
export function testRandom(label: string): TestRandom {
  return testRandomFor(activeRecorder()?.seed, label);
}

/**
 * Runs a demonstration that uses exercise code. In a student notebook whose exercise is not done
 * yet, it prints a short note instead of failing, so that only the test cells report errors.
 */
export async function demo(name: string, fn: () => unknown): Promise<void> {
  try {
    await fn();
  } catch (e) {
    if (isNotImplemented(e)) {
      // The stub's grade id, and where a stub of the student's package says the exercise is.
      const message = errorMessage(e) ?? "";
      const id = /^Not implemented: ([\w-]+)/.exec(message)?.[1] ?? "the exercise above";
      const from = /It is an exercise of (\S+): finish it there, then run (`[^`]+`)/.exec(message);
      const where = from ? ` in ${from[1]} and run ${from[2]}` : "";
      console.log(`(${name}: finish exercise ${id}${where} to see this demo)`);
      return;
    }
    throw e;
  }
}

/** Prints a test's success line; tests call it last, so it only appears when every check held. */
export function passed(name: string): void {
  if (activeRecorder()?.current) return; // under the grader a verdict is the grader's to print
  checksRun = 0;
  console.log(`✅ ${name} passed`);
}
