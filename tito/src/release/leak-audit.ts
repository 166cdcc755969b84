// The leak audit: every file of a student bundle is read line by line and every line compared,
// normalised, with the secret lines of the sources (see secret-lines.ts for the rule). JSON files
// (notebooks, source maps, caches) are also read as data: each string value is split into lines,
// so a solution inside a notebook cell or a source map's sourcesContent is found even though
// its text in the file is escaped. Symbolic links are not followed, and node_modules (installed by
// the student, never part of the bundle) is skipped.
import { lstatSync, readdirSync, readFileSync } from "node:fs";
import { join, relative } from "node:path";
import { normalizeLine, type SecretOrigin } from "./secret-lines";

export interface Leak {
  /** Bundle-relative file. */
  file: string;
  /** 1-based line in that file (for JSON strings: the line of the file where the string is). */
  line: number;
  text: string;
  origin: SecretOrigin;
}

function walk(dir: string, out: string[]): void {
  for (const entry of readdirSync(dir).sort()) {
    if (entry === "node_modules") continue;
    const path = join(dir, entry);
    const st = lstatSync(path);
    if (st.isSymbolicLink()) continue;
    if (st.isDirectory()) walk(path, out);
    else if (st.isFile()) out.push(path);
  }
}

function isBinary(buf: Buffer): boolean {
  return buf.subarray(0, 8000).includes(0);
}

/** Every string inside a JSON value, depth first. */
function jsonStrings(value: unknown, out: string[]): void {
  if (typeof value === "string") out.push(value);
  else if (Array.isArray(value)) for (const v of value) jsonStrings(v, out);
  else if (value && typeof value === "object")
    for (const v of Object.values(value)) jsonStrings(v, out);
}

function lineOfString(text: string, needle: string): number {
  const escaped = JSON.stringify(needle).slice(1, -1);
  const at = text.indexOf(escaped.slice(0, 60));
  return at < 0 ? 1 : text.slice(0, at).split("\n").length;
}

export function auditFile(
  path: string,
  display: string,
  secrets: Map<string, SecretOrigin>,
): Leak[] {
  const buf = readFileSync(path);
  if (isBinary(buf)) return [];
  const text = buf.toString("utf8");
  const leaks: Leak[] = [];
  const seen = new Set<string>();
  const report = (raw: string, line: number) => {
    const origin = secrets.get(normalizeLine(raw));
    if (!origin) return;
    const key = `${line}\0${normalizeLine(raw)}`;
    if (seen.has(key)) return;
    seen.add(key);
    leaks.push({ file: display, line, text: raw.trim(), origin });
  };
  text.split("\n").forEach((raw, i) => report(raw, i + 1));
  if (/\.(json|ipynb|map)$/.test(path)) {
    let data: unknown;
    try {
      data = JSON.parse(text);
    } catch {
      data = undefined; // not JSON after all: the plain-text pass above still covered it
    }
    const strings: string[] = [];
    jsonStrings(data, strings);
    for (const s of strings) {
      for (const piece of s.split("\n")) {
        if (secrets.has(normalizeLine(piece))) report(piece, lineOfString(text, piece));
      }
    }
  }
  return leaks;
}

/** All leaks in a bundle directory, in file order. */
export function auditBundle(dir: string, secrets: Map<string, SecretOrigin>): Leak[] {
  const files: string[] = [];
  walk(dir, files);
  return files.flatMap((f) => auditFile(f, relative(dir, f), secrets));
}

export function formatLeak(l: Leak): string {
  return `${l.file}:${l.line}: leaks a ${l.origin.kind} line from ${l.origin.sourceFile}:${l.origin.line}: ${l.text}`;
}
