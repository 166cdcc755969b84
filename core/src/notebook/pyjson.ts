// JSON written the way Python writes it, because the files we produce must match what Jupyter
// (nbformat: `json.dumps(nb, sort_keys=True, indent=1, ensure_ascii=False)`) and jupytext
// (`json.dumps(value)` on marker lines: ", " and ": " separators, non-ASCII escaped) write.
// Keys are sorted by code point, as Python's sorted() does.

export function compareCodePoints(a: string, b: string): number {
  if (a === b) return 0;
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.codePointAt(i) ?? 0;
    const y = b.codePointAt(i) ?? 0;
    if (x !== y) return x < y ? -1 : 1;
    if (x > 0xffff) i++;
  }
  return a.length - b.length;
}

const SURROGATE = /[\ud800-\udfff]/;
const byCodeUnit = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/** Keys in Python's order. UTF-16 order equals code-point order unless a key has a surrogate. */
export function sortKeys(keys: string[]): string[] {
  return keys.sort(keys.some((k) => SURROGATE.test(k)) ? compareCodePoints : byCodeUnit);
}

function sortedKeys(o: Record<string, unknown>): string[] {
  return sortKeys(Object.keys(o));
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** A string literal as Python's json module writes it. */
export function pyString(s: string, ensureAscii: boolean): string {
  // JSON.stringify escapes exactly what Python escapes (", \\, control characters with the
  // same short forms and lowercase \u00XX) except lone surrogates, which Python cannot encode.
  const json = JSON.stringify(s);
  if (!ensureAscii) return json;
  return json.replace(
    /[\u0080-\uffff]/g,
    (ch) => "\\u" + ch.charCodeAt(0).toString(16).padStart(4, "0"),
  );
}

/**
 * A number as Python's json module writes it. Integral values are written as integers (after
 * JSON.parse we cannot tell 2 from 2.0); other floats follow Python's repr, which switches to
 * exponent notation below 1e-4 and from 1e16, with at least two exponent digits (1e-07).
 */
export function pyNumber(n: number): string {
  if (!Number.isFinite(n)) throw new Error(`cannot write ${n} as JSON`);
  if (Number.isInteger(n) && Math.abs(n) < 1e21) return String(n);
  const [mantissa, expText] = n.toExponential().split("e");
  const exp = Number(expText);
  if (exp >= -4 && exp < 16) return String(n);
  return `${mantissa}e${exp < 0 ? "-" : "+"}${String(Math.abs(exp)).padStart(2, "0")}`;
}

/** Python's `json.dumps(value)` with sorted keys (the form used on percent marker lines). */
export function dumpsCompact(value: unknown): string {
  if (value === null || value === undefined) return "null";
  if (typeof value === "boolean") return value ? "true" : "false";
  if (typeof value === "number") return pyNumber(value);
  if (typeof value === "string") return pyString(value, true);
  if (Array.isArray(value)) return "[" + value.map(dumpsCompact).join(", ") + "]";
  if (isPlainObject(value)) {
    const parts = sortedKeys(value)
      .filter((k) => value[k] !== undefined)
      .map((k) => pyString(k, true) + ": " + dumpsCompact(value[k]));
    return "{" + parts.join(", ") + "}";
  }
  throw new Error(`cannot write a ${typeof value} as JSON`);
}

const ARRAY_INDEX = /^(?:0|[1-9]\d*)$/;

/**
 * A copy with sorted keys that JSON.stringify writes exactly as Python would, or undefined when
 * it cannot: integer-like keys (JavaScript orders them first, numerically) or numbers whose
 * Python spelling differs (1e-07). Then the slower hand-written serialiser is used.
 */
export function pythonReady(v: unknown): unknown {
  if (typeof v === "number") return pyNumber(v) === JSON.stringify(v) ? v : undefined;
  if (v === null || typeof v !== "object") return v;
  if (Array.isArray(v)) {
    const out = new Array<unknown>(v.length);
    for (let i = 0; i < v.length; i++) {
      const x = v[i];
      if (x === null || typeof x === "string" || typeof x === "boolean") out[i] = x;
      else if ((out[i] = pythonReady(x)) === undefined && x !== undefined) return undefined;
    }
    return out;
  }
  const o = v as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  for (const k of sortedKeys(o)) {
    const x = o[k];
    if (x === undefined) continue;
    if (ARRAY_INDEX.test(k)) return undefined;
    const y = typeof x === "string" || typeof x === "boolean" || x === null ? x : pythonReady(x);
    if (y === undefined) return undefined;
    out[k] = y;
  }
  return out;
}

/** nbformat's writer: `json.dumps(nb, sort_keys=True, indent=1, ensure_ascii=False)`. */
export function dumpsIndented(value: unknown): string {
  // JSON.stringify with indent 1 has Python's layout and string escapes; use it when it can.
  const ready = pythonReady(value);
  if (ready !== undefined) return JSON.stringify(ready, null, 1);
  return dumpsIndentedSlow(value);
}

function dumpsIndentedSlow(value: unknown): string {
  const out: string[] = [];
  write(value, "");
  return out.join("");

  function write(v: unknown, indent: string): void {
    if (v === null || v === undefined) out.push("null");
    else if (typeof v === "boolean") out.push(v ? "true" : "false");
    else if (typeof v === "number") out.push(pyNumber(v));
    else if (typeof v === "string") out.push(pyString(v, false));
    else if (Array.isArray(v)) {
      if (v.length === 0) {
        out.push("[]");
        return;
      }
      const inner = indent + " ";
      out.push("[\n");
      v.forEach((item, i) => {
        out.push(inner);
        write(item, inner);
        out.push(i + 1 < v.length ? ",\n" : "\n");
      });
      out.push(indent, "]");
    } else if (isPlainObject(v)) {
      const keys = sortedKeys(v).filter((k) => v[k] !== undefined);
      if (keys.length === 0) {
        out.push("{}");
        return;
      }
      const inner = indent + " ";
      out.push("{\n");
      keys.forEach((k, i) => {
        out.push(inner, pyString(k, false), ": ");
        write(v[k], inner);
        out.push(i + 1 < keys.length ? ",\n" : "\n");
      });
      out.push(indent, "}");
    } else throw new Error(`cannot write a ${typeof v} as JSON`);
  }
}

/** A deep copy with every object's keys in sorted order (for stable comparisons). */
export function sortKeysDeep<T>(value: T): T {
  if (Array.isArray(value)) return value.map(sortKeysDeep) as T;
  if (isPlainObject(value)) {
    const o: Record<string, unknown> = {};
    for (const k of sortedKeys(value)) o[k] = sortKeysDeep(value[k]);
    return o as T;
  }
  return value;
}

/** 1-based line of a character offset. */
export function lineOfOffset(text: string, offset: number): number {
  let line = 1;
  const end = Math.min(offset, text.length);
  for (let i = 0; i < end; i++) if (text.charCodeAt(i) === 10) line++;
  return line;
}

/**
 * End offset (exclusive) of the JSON value starting at `start`, found by scanning brackets and
 * strings, or -1 when the text there does not look like one complete value. The caller still
 * parses the slice with JSON.parse; this only decides where a value ends on a marker line.
 */
export function scanJsonValue(s: string, start: number): number {
  const c = s[start];
  if (c === '"') return scanString(s, start);
  if (c === "{" || c === "[") {
    let depth = 0;
    let i = start;
    while (i < s.length) {
      const ch = s[i];
      if (ch === '"') {
        i = scanString(s, i);
        if (i < 0) return -1;
        continue;
      }
      if (ch === "{" || ch === "[") depth++;
      else if (ch === "}" || ch === "]") {
        depth--;
        if (depth === 0) return i + 1;
      }
      i++;
    }
    return -1;
  }
  const m = /^(?:true|false|null|-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?)/.exec(s.slice(start));
  return m ? start + m[0].length : -1;
}

function scanString(s: string, start: number): number {
  let i = start + 1;
  while (i < s.length) {
    if (s[i] === "\\") i += 2;
    else if (s[i] === '"') return i + 1;
    else i++;
  }
  return -1;
}

/**
 * 1-based line where the value at `path` (object keys and array indices) starts in a JSON text
 * that JSON.parse accepted. Used only to put a line number on an error, so it may be slow.
 */
export function lineOfJsonPath(text: string, path: (string | number)[]): number | undefined {
  let pos = skipWs(text, 0);
  for (const step of path) {
    const c = text[pos];
    if (typeof step === "number") {
      if (c !== "[") return undefined;
      pos = skipWs(text, pos + 1);
      for (let k = 0; k < step; k++) {
        pos = skipValue(text, pos);
        if (pos < 0) return undefined;
        pos = skipWs(text, pos);
        if (text[pos] !== ",") return undefined;
        pos = skipWs(text, pos + 1);
      }
    } else {
      if (c !== "{") return undefined;
      pos = skipWs(text, pos + 1);
      let found = false;
      while (text[pos] === '"') {
        const keyEnd = scanString(text, pos);
        if (keyEnd < 0) return undefined;
        const key = JSON.parse(text.slice(pos, keyEnd)) as string;
        pos = skipWs(text, keyEnd);
        if (text[pos] !== ":") return undefined;
        pos = skipWs(text, pos + 1);
        if (key === step) {
          found = true;
          break;
        }
        pos = skipValue(text, pos);
        if (pos < 0) return undefined;
        pos = skipWs(text, pos);
        if (text[pos] === ",") pos = skipWs(text, pos + 1);
      }
      if (!found) return undefined;
    }
  }
  return lineOfOffset(text, pos);
}

function skipWs(s: string, i: number): number {
  while (i < s.length && (s[i] === " " || s[i] === "\n" || s[i] === "\r" || s[i] === "\t")) i++;
  return i;
}

function skipValue(s: string, i: number): number {
  return scanJsonValue(s, i);
}

/** Structural equality of JSON values, ignoring key order (no copies, unlike comparing dumps). */
export function jsonEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== "object" || typeof b !== "object" || a === null || b === null) return false;
  if (Array.isArray(a)) {
    if (!Array.isArray(b) || a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (!jsonEqual(a[i], b[i])) return false;
    return true;
  }
  if (Array.isArray(b)) return false;
  const x = a as Record<string, unknown>;
  const y = b as Record<string, unknown>;
  const kx = Object.keys(x).filter((k) => x[k] !== undefined);
  const ky = Object.keys(y).filter((k) => y[k] !== undefined);
  if (kx.length !== ky.length) return false;
  for (const k of kx) if (!(k in y) || !jsonEqual(x[k], y[k])) return false;
  return true;
}

/** Deepest nesting allowed in metadata and outputs; the writers recurse over these values. */
export const MAX_JSON_DEPTH = 200;

/** Whether a JSON value nests deeper than `limit` (checked without recursion). */
export function jsonTooDeep(value: unknown, limit = MAX_JSON_DEPTH): boolean {
  const stack: [unknown, number][] = [[value, 0]];
  while (stack.length > 0) {
    const [v, depth] = stack.pop()!;
    if (typeof v !== "object" || v === null) continue;
    if (depth >= limit) return true;
    for (const x of Array.isArray(v) ? v : Object.values(v)) {
      if (typeof x === "object" && x !== null) stack.push([x, depth + 1]);
    }
  }
  return false;
}
