// Kit support code: the assertions that visible and hidden tests use.
//
// Student code runs in the same JavaScript realm as the tests, so a submission could patch
// Math.abs, Array.prototype.every or JSON.stringify to make a failing comparison pass. This
// module captures every built-in it relies on when it is first loaded (the grader loads it
// before any student cell runs) and freezes its exports, so later patches cannot change how a
// test decides. A failed check always throws a TestFailure; the grader scores a cell from the
// kernel's reply status, never from anything printed.

const abs = Math.abs;
const isArray = Array.isArray;
const isNaNNumber = Number.isNaN;
const isFiniteNumber = Number.isFinite;
const objectIs = Object.is;
const freeze = Object.freeze;
const stringify = JSON.stringify;
const ErrorCtor = Error;
const StringCtor = String;
const apply = Reflect.apply;
const arrayJoin = Array.prototype.join;
const arrayPush = Array.prototype.push;

export class TestFailure extends ErrorCtor {
  constructor(message: string) {
    super(message);
    this.name = "TestFailure";
  }
}
freeze(TestFailure.prototype);

function describe(value: unknown): string {
  try {
    const text = stringify(value, (_k, v: unknown) =>
      ArrayBuffer.isView(v) ? apply(Array.from, Array, [v]) : v,
    );
    return text === undefined
      ? StringCtor(value)
      : text.length > 300
        ? text.slice(0, 300) + "…"
        : text;
  } catch {
    return StringCtor(value);
  }
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
  const aList = isArray(a) || ArrayBuffer.isView(a);
  const bList = isArray(b) || ArrayBuffer.isView(b);
  if (aList && bList) {
    const x = a as ArrayLike<unknown>;
    const y = b as ArrayLike<unknown>;
    if (x.length !== y.length) return false;
    for (let i = 0; i < x.length; i++) if (!deepEqual(x[i], y[i])) return false;
    return true;
  }
  if (a && b && typeof a === "object" && typeof b === "object" && !aList && !bList) {
    const ka = Object.keys(a as object);
    const kb = Object.keys(b as object);
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
  } else if (isArray(value) || ArrayBuffer.isView(value)) {
    const list = value as ArrayLike<unknown>;
    for (let i = 0; i < list.length; i++) flatten(list[i], out);
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

/** Fails unless `fn` throws; when `pattern` is given, the error message must match it. */
export function assertThrows(fn: () => unknown, pattern?: RegExp | string, context?: string): void {
  let threw = false;
  let message = "";
  try {
    fn();
  } catch (e) {
    threw = true;
    message = e instanceof ErrorCtor ? e.message : StringCtor(e);
  }
  if (!threw) fail("expected an error, but none was thrown", context);
  if (pattern !== undefined) {
    const ok = typeof pattern === "string" ? message.includes(pattern) : pattern.test(message);
    if (!ok)
      fail(`error message ${describe(message)} does not match ${StringCtor(pattern)}`, context);
  }
}

/** Fails unless `shape` equals `expected`. */
export function assertShape(
  shape: readonly number[],
  expected: readonly number[],
  context?: string,
): void {
  if (!deepEqual(shape, expected)) {
    fail(
      `expected shape [${apply(arrayJoin, expected, [", "])}], got [${apply(arrayJoin, shape, [", "])}]`,
      context,
    );
  }
}

/** True when `e` is the error an exercise stub throws before the student has written it. */
export function isNotImplemented(e: unknown): boolean {
  return e instanceof ErrorCtor && e.message.startsWith("Not implemented");
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
