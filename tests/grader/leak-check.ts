// Finds hidden-test text in a grading result even when a student's code printed it encoded:
// every string in the result is searched as it is, and after decoding each run of base64
// (standard or URL-safe) or hex in it, and after inflating (zlib, raw deflate, gzip) whatever
// decodes, two levels deep (zlib inside base64 inside hex, say). Both adversarial suites use it.
import { gunzipSync, inflateRawSync, inflateSync } from "node:zlib";
import * as assert from "uvu/assert";
import { normaliseCode } from "../../grader/src/sanitize";

function strings(value: unknown, out: string[] = []): string[] {
  if (typeof value === "string") out.push(value);
  else if (Array.isArray(value)) for (const v of value) strings(v, out);
  else if (value && typeof value === "object") {
    for (const [k, v] of Object.entries(value)) {
      out.push(k);
      strings(v, out);
    }
  }
  return out;
}

function inflations(buf: Buffer): Buffer[] {
  const out: Buffer[] = [];
  for (const inflate of [inflateSync, inflateRawSync, gunzipSync]) {
    try {
      out.push(inflate(buf));
    } catch {
      // Not that format.
    }
  }
  return out;
}

/** Every decoding of `text` worth searching (including `text`). */
export function decodings(text: string, depth = 2): string[] {
  const found = [text];
  if (depth === 0) return found;
  const buffers: Buffer[] = [];
  for (const m of text.matchAll(/[A-Za-z0-9+/_-]{16,}={0,2}/g)) {
    const b64 = m[0].replace(/-/g, "+").replace(/_/g, "/");
    buffers.push(Buffer.from(b64, "base64"));
  }
  for (const m of text.matchAll(/(?:[0-9a-fA-F]{2}){8,}/g)) buffers.push(Buffer.from(m[0], "hex"));
  for (const buf of buffers) {
    for (const b of [buf, ...inflations(buf)]) {
      found.push(...decodings(b.toString("latin1"), depth - 1));
    }
  }
  return found;
}

/** The hidden snippets found anywhere in `result`, decoded or not. */
export function leakedSnippets(result: unknown, snippets: string[]): string[] {
  const leaked = new Set<string>();
  for (const s of strings(result)) {
    for (const d of decodings(s)) {
      for (const snippet of snippets) if (d.includes(snippet)) leaked.add(snippet);
    }
  }
  return [...leaked];
}

/**
 * Fails if any string in `values` holds a hidden line, as is or decoded; lines are compared the
 * way the grader's redaction compares them (normaliseCode), so reformatting does not hide one.
 */
export function assertNoHiddenLines(values: unknown[], hiddenFragments: string[]): void {
  assert.ok(hiddenFragments.length > 0, "the manifest has hidden lines to look for");
  for (const text of strings(values)) {
    for (const view of decodings(text)) {
      for (const line of view.split("\n")) {
        const n = normaliseCode(line);
        const hit = n.length > 0 && hiddenFragments.find((f) => n.includes(f));
        assert.not.ok(hit, `hidden line "${hit}" reached the student in: ${line.slice(0, 200)}`);
      }
    }
  }
}
