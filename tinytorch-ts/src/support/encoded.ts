// How a checked value is written down: plain JSON, with what JSON cannot hold (NaN, Infinity,
// -0, undefined, typed arrays, bigints) tagged, so a value travels from a kernel to the grader
// intact; and how such a value is read back, compared and shown. Safe on untrusted input: a
// value parsed from a kernel's output is never trusted to be well formed.
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

export type Node =
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

export function readNode(e: unknown): Node {
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
  const x = readNode(a);
  const y = readNode(b);
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
export function flattenNumbers(e: Encoded): { ok: true; values: number[] } | { ok: false } {
  const values: number[] = [];
  let count = 0;
  const walk = (v: Encoded, depth: number): boolean => {
    if (depth > MAX_DEPTH + 2 || ++count > MAX_NODES) return false;
    const n = readNode(v);
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

export function clip(text: string, max = 300): string {
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
    const n = readNode(v);
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
export function showShape(e: Encoded): string {
  const n = readNode(e);
  if (n.k !== "list" || n.typed) return showEncoded(e);
  return `[${n.items.map((d) => showEncoded(d)).join(", ")}]`;
}
