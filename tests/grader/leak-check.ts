// Finds hidden-test text in a grading result even when a student's code printed it encoded:
// every string in the result is searched as it is, and after decoding each run of base64
// (standard or URL-safe) or hex in it, and after inflating (zlib, raw deflate, gzip) whatever
// decodes, two levels deep (zlib inside base64 inside hex, say).
import { gunzipSync, inflateRawSync, inflateSync } from "node:zlib";

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
