// What a check means, in one place: how a checked value is written down (an encoded value, plain
// JSON), and how a check decides on encoded values. The harness (testing.ts) uses it to judge a
// check in a student's notebook; the grader uses the same functions, in its own process, to
// judge what a grading kernel recorded against what the trusted reference run recorded. So a
// check means the same thing in Jupyter, under `tito test` and in the grader, and a grading
// kernel, which may be fully compromised, only ever supplies data, never a verdict.
//
// Pure: no Node APIs, no global state. Every function here is safe on untrusted input (a record
// parsed from a kernel's output): it never throws on a malformed value, it reports it.

/** A value written down as JSON: numbers that JSON cannot hold and non-JSON types are tagged. */
export type Encoded =
  | number
  | string
  | boolean
  | null
  | Encoded[]
  | { $: "NaN" | "Inf" | "-Inf" | "-0" | "undefined" | "function" | "symbol" }
  | { $: "bigint"; v: string }
  | { $t: TypedArrayName; v: Encoded[] }
  | { $o: { [key: string]: Encoded } };

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

const TYPED_ARRAY_NAMES: ReadonlySet<string> = new Set([
  "Int8Array", "Uint8Array", "Uint8ClampedArray", "Int16Array", "Uint16Array", "Int32Array",
  "Uint32Array", "Float32Array", "Float64Array", "BigInt64Array", "BigUint64Array",
]); // prettier-ignore

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
// Encoding

export class EncodeError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "EncodeError";
  }
}

/** Limits that keep one recorded value small enough to travel in a kernel message. */
const MAX_DEPTH = 64;
const MAX_NODES = 2_000_000;
const MAX_STRING = 100_000;

function encodeNumber(x: number): Encoded {
  if (Number.isNaN(x)) return { $: "NaN" };
  if (x === Infinity) return { $: "Inf" };
  if (x === -Infinity) return { $: "-Inf" };
  if (x === 0 && 1 / x < 0) return { $: "-0" };
  return x;
}

/** The name of a typed array's element type, by brand (a Proxy or a fake prototype gives none). */
export function typedArrayName(value: unknown): TypedArrayName | undefined {
  if (typeof value !== "object" || value === null || !ArrayBuffer.isView(value)) return undefined;
  const tag = Object.prototype.toString.call(value).slice(8, -1);
  return TYPED_ARRAY_NAMES.has(tag) ? (tag as TypedArrayName) : undefined;
}

/**
 * Writes a value down as plain JSON. Arrays, typed arrays and the own enumerable string keys of
 * objects are followed (what deep equality compares); a cycle, too deep a value or too many
 * elements is an EncodeError (the check then fails, saying so).
 */
export function encodeValue(value: unknown): Encoded {
  let nodes = 0;
  const path = new Set<object>();
  const walk = (v: unknown, depth: number): Encoded => {
    if (++nodes > MAX_NODES) throw new EncodeError(`the value has more than ${MAX_NODES} elements`); // prettier-ignore
    switch (typeof v) {
      case "number":
        return encodeNumber(v);
      case "string":
        return v.length > MAX_STRING ? `${v.slice(0, MAX_STRING)}…` : v;
      case "boolean":
        return v;
      case "undefined":
        return { $: "undefined" };
      case "bigint":
        return { $: "bigint", v: v.toString() };
      case "function":
        return { $: "function" };
      case "symbol":
        return { $: "symbol" };
    }
    if (v === null) return null;
    if (depth > MAX_DEPTH) throw new EncodeError(`the value is nested more than ${MAX_DEPTH} deep`); // prettier-ignore
    const obj = v as object;
    if (path.has(obj)) throw new EncodeError("the value contains itself (a cycle)");
    path.add(obj);
    try {
      const typed = typedArrayName(obj);
      if (typed) {
        const list = obj as ArrayLike<number | bigint>;
        nodes += list.length;
        if (nodes > MAX_NODES) throw new EncodeError(`the value has more than ${MAX_NODES} elements`); // prettier-ignore
        const out: Encoded[] = new Array<Encoded>(list.length);
        for (let i = 0; i < list.length; i++) {
          const x = list[i];
          out[i] = typeof x === "bigint" ? { $: "bigint", v: x.toString() } : encodeNumber(x);
        }
        return { $t: typed, v: out };
      }
      if (Array.isArray(obj)) {
        const out: Encoded[] = new Array<Encoded>(obj.length);
        for (let i = 0; i < obj.length; i++) out[i] = walk((obj as unknown[])[i], depth + 1);
        return out;
      }
      const fields: { [key: string]: Encoded } = {};
      for (const key of Object.keys(obj)) {
        fields[key] = walk((obj as Record<string, unknown>)[key], depth + 1);
      }
      return { $o: fields };
    } finally {
      path.delete(obj);
    }
  };
  return walk(value, 0);
}

// ---------------------------------------------------------------------------------------------
// Reading encoded values (which may come from an untrusted kernel)

type Node =
  | { k: "num"; v: number }
  | { k: "str"; v: string }
  | { k: "bool"; v: boolean }
  | { k: "null" }
  | { k: "undefined" }
  | { k: "bigint"; v: string }
  | { k: "function" }
  | { k: "symbol" }
  | { k: "list"; typed?: TypedArrayName; items: Encoded[] }
  | { k: "obj"; fields: { [key: string]: Encoded } }
  | { k: "bad" };

function isPlainRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function node(e: unknown): Node {
  switch (typeof e) {
    case "number":
      return Number.isFinite(e) ? { k: "num", v: e } : { k: "bad" };
    case "string":
      return { k: "str", v: e };
    case "boolean":
      return { k: "bool", v: e };
  }
  if (e === null) return { k: "null" };
  if (Array.isArray(e)) return { k: "list", items: e as Encoded[] };
  if (!isPlainRecord(e)) return { k: "bad" };
  if (typeof e.$ === "string") {
    switch (e.$) {
      case "NaN":
        return { k: "num", v: NaN };
      case "Inf":
        return { k: "num", v: Infinity };
      case "-Inf":
        return { k: "num", v: -Infinity };
      case "-0":
        return { k: "num", v: -0 };
      case "undefined":
        return { k: "undefined" };
      case "function":
        return { k: "function" };
      case "symbol":
        return { k: "symbol" };
      case "bigint":
        return typeof e.v === "string" ? { k: "bigint", v: e.v } : { k: "bad" };
    }
    return { k: "bad" };
  }
  if (typeof e.$t === "string" && TYPED_ARRAY_NAMES.has(e.$t) && Array.isArray(e.v)) {
    return { k: "list", typed: e.$t as TypedArrayName, items: e.v as Encoded[] };
  }
  if (isPlainRecord(e.$o)) return { k: "obj", fields: e.$o as { [key: string]: Encoded } };
  return { k: "bad" };
}

/** The same equality assertEqual has always had: 0 equals -0, NaN equals NaN. */
export function encodedEqual(a: Encoded, b: Encoded, depth = 0): boolean {
  if (depth > MAX_DEPTH + 2) return false;
  const x = node(a);
  const y = node(b);
  if (x.k === "bad" || y.k === "bad") return false;
  if (x.k === "list" && y.k === "list") {
    if (x.items.length !== y.items.length) return false;
    for (let i = 0; i < x.items.length; i++) {
      if (!encodedEqual(x.items[i], y.items[i], depth + 1)) return false;
    }
    return true;
  }
  if (x.k === "obj" && y.k === "obj") {
    const kx = Object.keys(x.fields);
    const ky = Object.keys(y.fields);
    if (kx.length !== ky.length) return false;
    for (const key of kx) {
      if (!Object.prototype.hasOwnProperty.call(y.fields, key)) return false;
      if (!encodedEqual(x.fields[key], y.fields[key], depth + 1)) return false;
    }
    return true;
  }
  if (x.k !== y.k) return false;
  switch (x.k) {
    case "num": {
      const yv = (y as { v: number }).v;
      return x.v === yv || (Number.isNaN(x.v) && Number.isNaN(yv));
    }
    case "str":
    case "bool":
    case "bigint":
      return x.v === (y as { v: unknown }).v;
    default:
      return true; // null, undefined, function, symbol
  }
}

/** The numbers of a number or a (nested) list of numbers, or a reason why there are none. */
function flattenNumbers(e: Encoded): { ok: true; values: number[] } | { ok: false } {
  const values: number[] = [];
  let count = 0;
  const walk = (v: Encoded, depth: number): boolean => {
    if (depth > MAX_DEPTH + 2 || ++count > MAX_NODES) return false;
    const n = node(v);
    if (n.k === "num") {
      values.push(n.v);
      return true;
    }
    if (n.k !== "list") return false;
    for (const item of n.items) if (!walk(item, depth + 1)) return false;
    return true;
  };
  return walk(e, 0) ? { ok: true, values } : { ok: false };
}

// ---------------------------------------------------------------------------------------------
// Showing values in failure messages

function clip(text: string, max = 300): string {
  return text.length > max ? `${text.slice(0, max)}…` : text;
}

/** A short, readable text for an encoded value: numbers as numbers (NaN, Infinity, -0 too). */
export function showEncoded(e: Encoded, max = 300): string {
  let out = "";
  let budget = max + 1;
  const emit = (s: string) => {
    if (budget <= 0) return;
    out += s;
    budget -= s.length;
  };
  const walk = (v: Encoded, depth: number): void => {
    if (budget <= 0) return;
    const n = node(v);
    switch (n.k) {
      case "num":
        return emit(Object.is(n.v, -0) ? "-0" : String(n.v));
      case "str":
        return emit(JSON.stringify(n.v));
      case "bool":
        return emit(String(n.v));
      case "null":
        return emit("null");
      case "undefined":
        return emit("undefined");
      case "bigint":
        return emit(`${n.v}n`);
      case "function":
        return emit("(a function)");
      case "symbol":
        return emit("(a symbol)");
      case "bad":
        return emit("(an unreadable value)");
      case "list":
        if (depth > 8) return emit("[…]");
        emit("[");
        n.items.forEach((item, i) => {
          if (i > 0) emit(",");
          walk(item, depth + 1);
        });
        return emit("]");
      case "obj": {
        if (depth > 8) return emit("{…}");
        emit("{");
        Object.keys(n.fields).forEach((key, i) => {
          if (i > 0) emit(",");
          emit(`${JSON.stringify(key)}:`);
          walk(n.fields[key], depth + 1);
        });
        return emit("}");
      }
    }
  };
  walk(e, 0);
  return clip(out, max);
}

/** A shape as "[2, 3]"; anything else as showEncoded shows it. */
function showShape(e: Encoded): string {
  const n = node(e);
  if (n.k !== "list" || n.typed) return showEncoded(e);
  return `[${n.items.map((d) => showEncoded(d)).join(", ")}]`;
}

function showPattern(p: Pattern): string {
  return "text" in p ? JSON.stringify(p.text) : JSON.stringify(`/${p.source}/${p.flags}`);
}

// ---------------------------------------------------------------------------------------------
// Verdicts

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
  const n = node(e);
  if (n.k !== "obj") return undefined;
  const threw = node(n.fields.threw);
  if (threw.k !== "bool") return undefined;
  const message = n.fields.message === undefined ? undefined : node(n.fields.message);
  const name = n.fields.name === undefined ? undefined : node(n.fields.name);
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
      const n = node(actual);
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
