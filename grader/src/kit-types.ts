// @types/node for kits, without its doc comments. When a kernel starts, tslab's TypeScript (a
// fork of 5.0) parses every declaration file it loads, JSDoc comments included: @types/node is
// 2.25 MB of the 2.78 MB it reads, much of it documentation that a grading kernel never shows.
// Blanking those comments saves about 0.3 s of CPU per kernel start, and per reference compile
// (measured on this 2-core machine: converter creation 1.75–1.99 s → 1.39–1.75 s under load).
// TypeScript 5.3 has an option for this (jsDocParsingMode); tslab's 5.0 has not.
//
// The comments are blanked, not removed: every other character keeps its offset, line and column,
// so an error a student's code gets inside @types/node reads the same as in their own Jupyter. A
// JSDoc comment in a .ts declaration file types nothing (TypeScript reads JSDoc types only in
// JavaScript files); `/// <reference>` lines and other comments are kept as they are.
import { createHash } from "node:crypto";
import { readdirSync, readFileSync } from "node:fs";
import { join, relative } from "node:path";
import ts from "typescript";

/** `text` with every `/** … *\/` comment's characters, except line breaks, turned into spaces. */
export function blankDocComments(text: string): string {
  const scanner = ts.createScanner(ts.ScriptTarget.Latest, false, ts.LanguageVariant.Standard, text); // prettier-ignore
  let out = "";
  let last = 0;
  for (let kind = scanner.scan(); kind !== ts.SyntaxKind.EndOfFileToken; kind = scanner.scan()) {
    if (kind !== ts.SyntaxKind.MultiLineCommentTrivia) continue;
    const start = scanner.getTokenPos();
    const end = scanner.getTextPos();
    if (!text.startsWith("/**", start) || text.startsWith("/**/", start)) continue;
    out += text.slice(last, start) + text.slice(start, end).replace(/[^\r\n]/g, " ");
    last = end;
  }
  return out + text.slice(last);
}

/** A declaration package as a kit holds it: its files (doc comments blanked) and their hash. */
export interface TypesCopy {
  /** The package's name under node_modules: "@types/node". */
  name: string;
  /** [path inside the package, content] for every file, sorted by path. */
  files: Array<readonly [string, string]>;
  /** A hash of all of it, for the kit's name. */
  hash: string;
}

/** The packages kits hold as doc-free copies instead of links. */
export const DOC_FREE_TYPES = ["@types/node"];

const copies = new Map<string, TypesCopy>();

/** `name` under `nodeModulesDir`, doc comments blanked in its .d.ts files; made once per process. */
export function docFreeTypes(nodeModulesDir: string, name: string): TypesCopy {
  const dir = join(nodeModulesDir, name);
  const cached = copies.get(dir);
  if (cached) return cached;
  const files: Array<readonly [string, string]> = [];
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true }).sort((a, b) =>
      a.name < b.name ? -1 : 1,
    )) {
      // prettier-ignore
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.isFile()) {
        const text = readFileSync(p, "utf8");
        files.push([relative(dir, p), e.name.endsWith(".d.ts") ? blankDocComments(text) : text]);
      }
    }
  };
  walk(dir);
  const hash = createHash("sha256");
  for (const [path, text] of files) hash.update(`${path}\n${text.length}\n`).update(text);
  const copy = { name, files, hash: hash.digest("hex") };
  copies.set(dir, copy);
  return copy;
}
