// Kit support code: the assertions that visible and hidden tests use.
//
// Every assertion writes its check down as a record (checks.ts: the kind of check, the value
// checked, what it was compared with, the tolerance or pattern) and decides it with checks.ts's
// `judge`. In a notebook, a failed check throws a TestFailure with the judge's message. Under the
// grader, the harness is switched to recording (`grading.start`, called by the grader before any
// student code): checks are recorded, not thrown, and each test cell's records are sent to the
// grader, which judges them in its own process against a trusted run of the reference solution.
// Nothing the grading kernel says is a verdict; see docs/grading.md.
import { types as utilTypes } from "node:util";
import {
  encodeValue,
  judge,
  type CheckRecord,
  type Encoded,
  type PartRecord,
  type Pattern,
  type TestRecords,
  type ThrownRecord,
  type Tolerance,
  typedArrayName,
  type TypedArrayName,
} from "./checks";
import { callerName, failureStack, showCallable } from "./display";
import { testRandomFor, type TestRandom } from "./test-random";

export type { Tolerance, TypedArrayName, TestRandom };

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

/**
 * The message of a thrown value, as a primitive string read without running any of its code:
 * a thrown string itself, or the own `message` data property of a real (non-Proxy) Error when
 * it is a string. Anything else (a getter, an object with its own `includes`, a Proxy, a value
 * with Symbol.toPrimitive) has no message a check can match: undefined.
 */
export function errorMessage(thrown: unknown): string | undefined {
  if (typeof thrown === "string") return thrown;
  if (typeof thrown !== "object" || thrown === null) return undefined;
  if (utilTypes.isProxy(thrown) || !utilTypes.isNativeError(thrown)) return undefined;
  const desc = Object.getOwnPropertyDescriptor(thrown, "message");
  if (desc === undefined || !Object.hasOwn(desc, "value")) return undefined;
  return typeof desc.value === "string" ? desc.value : undefined;
}

/** The prototypes of the built-in errors, whose `name` a grading kernel turns into an accessor. */
const NATIVE_ERROR_PROTOTYPES: ReadonlySet<object> = new Set(
  [Error, TypeError, RangeError, ReferenceError, SyntaxError, EvalError, URIError, AggregateError].map((E) => E.prototype), // prettier-ignore
);

/** An error's class name (`RangeError`), read without running the error's own code. */
function errorName(thrown: unknown): string | undefined {
  if (typeof thrown !== "object" || thrown === null || utilTypes.isProxy(thrown)) return undefined;
  if (!utilTypes.isNativeError(thrown)) return undefined;
  for (let o: object | null = thrown, depth = 0; o !== null && depth < 32; depth++) {
    if (utilTypes.isProxy(o)) return undefined;
    const desc = Object.getOwnPropertyDescriptor(o, "name");
    if (desc) {
      if ("value" in desc) return typeof desc.value === "string" ? desc.value : undefined;
      const value: unknown = NATIVE_ERROR_PROTOTYPES.has(o) && desc.get ? Reflect.apply(desc.get, o, []) : undefined; // prettier-ignore
      return typeof value === "string" ? value : undefined;
    }
    o = Object.getPrototypeOf(o) as object | null;
  }
  return undefined;
}

function thrownRecord(threw: boolean, thrown: unknown): ThrownRecord {
  if (!threw) return { threw: false };
  const message = errorMessage(thrown);
  const name = typeof thrown === "string" ? "a thrown string" : errorName(thrown);
  return {
    threw: true,
    ...(name !== undefined ? { name: name.slice(0, 80) } : {}),
    ...(message !== undefined ? { message: message.slice(0, 4000) } : {}),
  };
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

// ---------------------------------------------------------------------------------------------
// Recording, for the grader

/** What a grading kernel sends the grader: a boundary, or one test cell's records. */
export type GradingMessage = { type: "hidden" } | { type: "records"; records: TestRecords };

interface Recorder {
  seed: number;
  emit: (message: GradingMessage) => void;
  current?: TestRecords;
  hidden: boolean;
  /** The part (`check`) now running, as an index into current.parts. */
  part?: number;
}

let recorder: Recorder | undefined;

function isRecordOf(e: Encoded | undefined, tag: string): boolean {
  return typeof e === "object" && e !== null && !Array.isArray(e) && "$" in e && e.$ === tag;
}

/** A value that could not be written down: it matches nothing. */
const UNREADABLE = { $: "unreadable" } as unknown as Encoded;

function encodeOrUnreadable(value: unknown): { value: Encoded; problem?: string } {
  try {
    return { value: encodeValue(value) };
  } catch (e) {
    return { value: UNREADABLE, problem: e instanceof Error ? e.message : String(e) };
  }
}

/**
 * The grader's switch (called in the grading kernel before any student code, and in the trusted
 * reference run). Not for tests or students: a notebook never calls it.
 */
export const grading = Object.freeze({
  /** Records every check from now on; `emit` sends what a test cell recorded. */
  start(options: { seed: number; emit: (message: GradingMessage) => void }): void {
    recorder = { seed: options.seed >>> 0, emit: options.emit, hidden: false };
  },
  /** Back to a notebook's behaviour (checks throw again). */
  stop(): void {
    recorder = undefined;
  },
  /** The seed hidden checks draw their inputs from, or undefined when not grading. */
  seed(): number | undefined {
    return recorder?.seed;
  },
  /** A test cell starts. */
  begin(test: string): void {
    if (!recorder) return;
    recorder.current = { test, checks: [] };
    recorder.hidden = false;
    recorder.part = undefined;
  },
  /** A hidden-tests block starts (true) or ends (false). */
  hidden(on: boolean): void {
    if (!recorder) return;
    recorder.hidden = on;
    if (on) recorder.emit({ type: "hidden" });
  },
  /** The test threw: the checks so far still count, the rest did not run. */
  abort(thrown: unknown): void {
    const current = recorder?.current;
    if (!recorder || !current || current.aborted) return;
    const t = thrownRecord(true, thrown);
    current.aborted = {
      name: t.name ?? "a thrown value",
      message: t.message ?? "",
      hidden: recorder.hidden,
    };
  },
  /** The test cell is over: its records go to the grader. */
  end(): void {
    if (!recorder?.current) return;
    const records = recorder.current;
    recorder.current = undefined;
    recorder.hidden = false;
    recorder.part = undefined;
    recorder.emit({ type: "records", records });
  },
});

/**
 * Records or decides one check. `ownExpected` is the expected value as this run computed it (a
 * graded kernel's test code has its expected values removed; see docs/grading.md).
 */
function recordCheck(record: CheckRecord, problem?: string, describe?: () => string): void {
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
  // prettier-ignore
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
  return testRandomFor(recorder?.seed, label);
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
  if (recorder?.current) return; // under the grader a verdict is the grader's to print
  checksRun = 0;
  console.log(`✅ ${name} passed`);
}
