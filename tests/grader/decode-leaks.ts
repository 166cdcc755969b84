// Searches everything a student receives for hidden-test lines, also where an attack encoded
// them: every base64 or hex run is decoded, and every decoded buffer is also inflated (zlib,
// raw deflate, gzip), one level of nesting deep, before the lines are compared the way the
// grader's redaction compares them (normaliseCode).
import { gunzipSync, inflateRawSync, inflateSync } from "node:zlib";
import * as assert from "uvu/assert";
import { normaliseCode } from "../../grader/src/sanitize";

const BASE64_RUN = /[A-Za-z0-9+/]{16,}={0,2}/g;
const HEX_RUN = /\b(?:[0-9a-fA-F]{2}){8,}\b/g;

function inflations(buf: Buffer): Buffer[] {
  const out: Buffer[] = [];
  for (const inflate of [inflateSync, inflateRawSync, gunzipSync]) {
    try {
      out.push(inflate(buf));
    } catch {
      // not that encoding
    }
  }
  return out;
}

function decodings(text: string): Buffer[] {
  const out: Buffer[] = [];
  for (const m of text.match(BASE64_RUN) ?? []) out.push(Buffer.from(m, "base64"));
  for (const m of text.match(HEX_RUN) ?? []) out.push(Buffer.from(m, "hex"));
  return out;
}

/** The text and every text that decoding it (and decoding that once more) yields. */
export function decodedViews(text: string): string[] {
  const views = [text];
  for (const first of decodings(text)) {
    for (const buf of [first, ...inflations(first)]) {
      const decoded = buf.toString("utf8");
      views.push(decoded);
      for (const second of decodings(decoded)) {
        for (const b of [second, ...inflations(second)]) views.push(b.toString("utf8"));
      }
    }
  }
  return views;
}

function strings(value: unknown, out: string[]): string[] {
  if (typeof value === "string") out.push(value);
  else if (Array.isArray(value)) for (const v of value) strings(v, out);
  else if (value && typeof value === "object") for (const v of Object.values(value)) strings(v, out); // prettier-ignore
  return out;
}

/** Fails if any string in `values` holds a hidden line, as is or decoded. */
export function assertNoHiddenLines(values: unknown[], hiddenFragments: string[]): void {
  assert.ok(hiddenFragments.length > 0, "the manifest has hidden lines to look for");
  for (const text of strings(values, [])) {
    for (const view of decodedViews(text)) {
      for (const line of view.split("\n")) {
        const n = normaliseCode(line);
        const hit = n.length > 0 && hiddenFragments.find((f) => n.includes(f));
        assert.not.ok(hit, `hidden line "${hit}" reached the student in: ${line.slice(0, 200)}`);
      }
    }
  }
}
