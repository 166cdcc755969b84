// Kit support code: the assertions that visible and hidden tests use.
//
// Student code runs in the same JavaScript realm as the tests, so a submission could patch
// Math.abs, Array.prototype.every or JSON.stringify to make a failing comparison pass, or hand a
// check a value built to answer it: an error whose `message` is an object with
// `includes: () => true`, a getter or a Proxy; an array made to pass `instanceof Float32Array`
// (a `Symbol.hasInstance` on the constructor, or a changed prototype). So this module
// - captures every built-in it relies on when it is first loaded (the grader loads it before any
//   student cell runs) and calls them through Reflect.apply, never through the value checked;
// - reads what it compares as primitives it got without running student code: an error's
//   message is its own data property, and only when it is a string on a real Error, never a
//   Proxy;
// - decides what a built-in value is by its brand (the internal slot the engine checks), not by
//   `instanceof`: see isTypedArray;
// - freezes its exports, so later patches cannot change how a test decides.
// A failed check always throws a TestFailure; the grader scores a cell from the kernel's reply
// status, never from anything printed.
import { types as utilTypes } from "node:util";

const abs = Math.abs;
const isArray = Array.isArray;
const isNaNNumber = Number.isNaN;
const isFiniteNumber = Number.isFinite;
const objectIs = Object.is;
const objectKeys = Object.keys;
const freeze = Object.freeze;
const getOwnPropertyDescriptor = Object.getOwnPropertyDescriptor;
const getPrototypeOf = Object.getPrototypeOf;
const hasOwn = Object.hasOwn;
const stringify = JSON.stringify;
const ErrorCtor = Error;
const StringCtor = String;
const apply = Reflect.apply;
const arrayFrom = Array.from;
const arrayJoin = Array.prototype.join;
const arrayPush = Array.prototype.push;
const stringIncludes = String.prototype.includes;
const stringSlice = String.prototype.slice;
const stringStartsWith = String.prototype.startsWith;
const regExpExec = RegExp.prototype.exec;
const ordinaryHasInstance = Function.prototype[Symbol.hasInstance];
const isProxy = utilTypes.isProxy;
const isNativeError = utilTypes.isNativeError;
/** %TypedArray%.prototype[Symbol.toStringTag]: the element type's name, or undefined for anything that is not a typed array (a Proxy of one included). */
const typedArrayTag = (getOwnPropertyDescriptor(
  getPrototypeOf(Int8Array.prototype) as object,
  Symbol.toStringTag,
)?.get ?? (() => undefined)) as (this: unknown) => string | undefined;
/** %TypedArray%.prototype.length, read from the brand's own slot rather than the object. */
const typedArrayLength = getOwnPropertyDescriptor(
  getPrototypeOf(Int8Array.prototype) as object,
  "length",
)?.get as (this: unknown) => number;

export type TypedArrayName =
  | "Int8Array"
  | "Uint8Array"
  | "Uint8ClampedArray"
  | "Int16Array"
  | "Uint16Array"
  | "Int32Array"
  | "Uint32Array"
  | "Float32Array"
  | "Float64Array"
  | "BigInt64Array"
  | "BigUint64Array";

/**
 * True when `value` really is a typed array (of the given element type, when `name` is given).
 * A brand check: `Symbol.hasInstance`, a changed prototype, `Symbol.toStringTag` or a Proxy do
 * not make a plain array pass, as they would `value instanceof Float32Array`.
 */
export function isTypedArray(value: unknown, name?: TypedArrayName): boolean {
  if (typeof value !== "object" || value === null) return false;
  const tag = apply(typedArrayTag, value, []);
  return tag !== undefined && (name === undefined || tag === name);
}

/** True when `value` is a Float32Array by brand (see isTypedArray). */
export function isFloat32Array(value: unknown): value is Float32Array {
  return isTypedArray(value, "Float32Array");
}

/**
 * `value instanceof Ctor` as the language defines it for ordinary classes (Ctor.prototype on
 * value's prototype chain), ignoring any `Symbol.hasInstance` defined on Ctor since. For the
 * kit's own classes; built-in types are checked by brand (isTypedArray).
 */
export function isInstance(
  value: unknown,
  Ctor: abstract new (...args: never[]) => unknown,
): boolean {
  return apply(ordinaryHasInstance, Ctor, [value]) as boolean;
}

/** Array.isArray (which sees through a Proxy) or a typed array, by brand. */
function isList(value: unknown): boolean {
  return isArray(value) || isTypedArray(value);
}

function listLength(value: unknown): number {
  return isTypedArray(value)
    ? apply(typedArrayLength, value, [])
    : (value as ArrayLike<unknown>).length;
}

/**
 * The message of a thrown value, as a primitive string read without running any of its code:
 * a thrown string itself, or the own `message` data property of a real (non-Proxy) Error when
 * it is a string. Anything else (a getter, an object with its own `includes`, a Proxy, a value
 * with Symbol.toPrimitive) has no message a check can trust: undefined.
 */
export function errorMessage(thrown: unknown): string | undefined {
  if (typeof thrown === "string") return thrown;
  if (typeof thrown !== "object" || thrown === null) return undefined;
  if (isProxy(thrown) || !isNativeError(thrown)) return undefined;
  const desc = getOwnPropertyDescriptor(thrown, "message");
  if (desc === undefined || !hasOwn(desc, "value")) return undefined;
  const message: unknown = desc.value;
  return typeof message === "string" ? message : undefined;
}

function matches(message: string, pattern: RegExp | string): boolean {
  if (typeof pattern === "string") return apply(stringIncludes, message, [pattern]) as boolean;
  return apply(regExpExec, pattern, [message]) !== null;
}

export class TestFailure extends ErrorCtor {
  constructor(message: string) {
    super(message);
    this.name = "TestFailure";
  }
}
freeze(TestFailure.prototype);

function clip(text: string): string {
  return text.length > 300 ? (apply(stringSlice, text, [0, 300]) as string) + "…" : text;
}

/** A short text for a failure message. Never throws, whatever the value does when read. */
function describe(value: unknown): string {
  try {
    const text = stringify(value, (_k, v: unknown) =>
      isTypedArray(v) ? apply(arrayFrom, undefined, [v]) : v,
    );
    if (typeof text === "string") return clip(text);
  } catch {
    // fall through: a cycle, a BigInt, or a getter that throws
  }
  if (typeof value !== "object" && typeof value !== "function") return clip(StringCtor(value));
  return "(a value that cannot be shown)";
}

function fail(message: string, context?: string): never {
  throw new TestFailure(context ? `${context}: ${message}` : message);
}

/** Fails unless `condition` is true. */
export function assert(condition: unknown, message = "assertion failed"): asserts condition {
  if (condition !== true && !condition) fail(message);
}

function deepEqual(a: unknown, b: unknown): boolean {
  if (objectIs(a, b)) return true;
  if (typeof a === "number" && typeof b === "number") return a === b;
  const aList = isList(a);
  const bList = isList(b);
  if (aList && bList) {
    const x = a as ArrayLike<unknown>;
    const y = b as ArrayLike<unknown>;
    const n = listLength(x);
    if (n !== listLength(y)) return false;
    for (let i = 0; i < n; i++) if (!deepEqual(x[i], y[i])) return false;
    return true;
  }
  if (a && b && typeof a === "object" && typeof b === "object" && !aList && !bList) {
    const ka = objectKeys(a);
    const kb = objectKeys(b);
    if (ka.length !== kb.length) return false;
    for (let i = 0; i < ka.length; i++) {
      const k = ka[i];
      if (!deepEqual((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k]))
        return false;
    }
    return true;
  }
  return false;
}

/** Fails unless `actual` and `expected` are equal (deeply, for arrays, typed arrays and objects). */
export function assertEqual(actual: unknown, expected: unknown, context?: string): void {
  if (!deepEqual(actual, expected)) {
    fail(`expected ${describe(expected)}, got ${describe(actual)}`, context);
  }
}

export interface Tolerance {
  /** Relative tolerance (default 1e-5, suited to float32). */
  rtol?: number;
  /** Absolute tolerance (default 1e-6). */
  atol?: number;
}

function flatten(value: unknown, out: number[]): void {
  if (typeof value === "number") {
    apply(arrayPush, out, [value]);
  } else if (isList(value)) {
    const list = value as ArrayLike<unknown>;
    const n = listLength(list);
    for (let i = 0; i < n; i++) flatten(list[i], out);
  } else {
    fail(`expected a number or an array of numbers, got ${describe(value)}`);
  }
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
  const rtol = tolerance.rtol ?? 1e-5;
  const atol = tolerance.atol ?? 1e-6;
  const a: number[] = [];
  const e: number[] = [];
  flatten(actual, a);
  flatten(expected, e);
  if (a.length !== e.length) {
    fail(`expected ${e.length} values, got ${a.length}: ${describe(actual)}`, context);
  }
  for (let i = 0; i < a.length; i++) {
    const x = a[i];
    const y = e[i];
    if (isNaNNumber(y) && isNaNNumber(x)) continue;
    if (!isFiniteNumber(y) || !isFiniteNumber(x)) {
      if (x === y) continue;
      fail(`element ${i}: expected ${StringCtor(y)}, got ${StringCtor(x)}`, context);
    }
    if (!(abs(x - y) <= atol + rtol * abs(y))) {
      fail(`element ${i}: expected ${y}, got ${x} (|diff| = ${abs(x - y)})`, context);
    }
  }
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
  if (!threw) fail("expected an error, but none was thrown", context);
  if (pattern === undefined) return;
  const message = errorMessage(thrown);
  if (message === undefined) {
    fail(`the error thrown has no message that is a plain string (expected one matching ${describe(typeof pattern === "string" ? pattern : StringCtor(pattern))})`, context); // prettier-ignore
  }
  if (!matches(message, pattern)) {
    fail(`error message ${describe(message)} does not match ${describe(typeof pattern === "string" ? pattern : StringCtor(pattern))}`, context); // prettier-ignore
  }
}

/** A shape as "[2, 3]"; anything else as describe shows it. */
function shapeText(shape: unknown): string {
  if (!isArray(shape)) return describe(shape);
  const parts: string[] = [];
  const n = listLength(shape);
  for (let i = 0; i < n; i++) {
    const d: unknown = (shape as unknown[])[i];
    apply(arrayPush, parts, [typeof d === "number" ? StringCtor(d) : describe(d)]);
  }
  return `[${apply(arrayJoin, parts, [", "]) as string}]`;
}

/** Fails unless `shape` equals `expected`. */
export function assertShape(
  shape: readonly number[],
  expected: readonly number[],
  context?: string,
): void {
  if (!deepEqual(shape, expected)) {
    fail(`expected shape ${shapeText(expected)}, got ${shapeText(shape)}`, context);
  }
}

/** True when `e` is the error an exercise stub throws before the student has written it. */
export function isNotImplemented(e: unknown): boolean {
  const message = errorMessage(e);
  return (
    typeof e === "object" &&
    message !== undefined &&
    (apply(stringStartsWith, message, ["Not implemented"]) as boolean)
  );
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
      console.log(`(${name}: finish the exercise above to see this demo)`);
      return;
    }
    throw e;
  }
}

/** Prints a test's success line; tests call it last, so it only appears when every check held. */
export function passed(name: string): void {
  console.log(`✅ ${name} passed`);
}

freeze(module.exports);
