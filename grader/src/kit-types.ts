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
//
// The copy is made once per machine and package version, in .tito-cache/types, and kits copy
// its files: blanking 2.25 MB in every grading process (the first version did) cost about as
// much CPU as the kernels saved.
import { createHash, randomBytes } from "node:crypto";
import {
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { dirname, join, relative } from "node:path";
import { KIT_ROOT } from "@tinytorch-ts/core";
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

/** A declaration package as kits hold it: a doc-free copy, made once and kept on disk. */
export interface TypesCopy {
  /** The package's name under node_modules: "@types/node". */
  name: string;
  /** The copy's directory (in the grader's cache). */
  dir: string;
  /** Every file's path inside the package, sorted. */
  files: string[];
  /** Names the source package's version and files: it changes when they do. */
  key: string;
}

/** The packages kits hold as doc-free copies instead of links. */
export const DOC_FREE_TYPES = ["@types/node"];
/** Where the copies are kept: the grader's own files, beside the kits. */
export const DOC_FREE_TYPES_DIR = join(KIT_ROOT, ".tito-cache", "types");
/** Bumped when the blanking changes, so that no older copy is used. */
const COPY_FORMAT = 1;

const copies = new Map<string, TypesCopy | undefined>();

/** The package's files as [path inside it, size], sorted by path. */
function listFiles(dir: string): Array<[string, number]> {
  const out: Array<[string, number]> = [];
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.isFile()) out.push([relative(dir, p), statSync(p).size]);
    }
  };
  walk(dir);
  return out.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
}

/**
 * The doc-free copy of `name` under `nodeModulesDir`, made on first use (in a temporary
 * directory, then renamed, so a copy is whole or absent); undefined when it cannot be made (a
 * read-only cache): kits then link the original, which only costs time. Per process, the cost
 * is one directory walk; the blanking runs once per machine and package version.
 */
export function docFreeTypes(
  nodeModulesDir: string,
  name: string,
  cacheDir = DOC_FREE_TYPES_DIR,
): TypesCopy | undefined {
  const source = join(nodeModulesDir, name);
  const memo = `${source}\n${cacheDir}`;
  if (copies.has(memo)) return copies.get(memo);
  let copy: TypesCopy | undefined;
  try {
    const listed = listFiles(source);
    const hash = createHash("sha256").update(`${COPY_FORMAT}\n${name}\n`);
    hash.update(readFileSync(join(source, "package.json")));
    for (const [path, size] of listed) hash.update(`\n${path}\n${size}`);
    const key = hash.digest("hex").slice(0, 24);
    const dir = join(cacheDir, `${name.replace(/\//g, "+")}-${key}`);
    if (!existsSync(dir)) {
      const building = `${dir}.${randomBytes(6).toString("hex")}`;
      try {
        for (const [path] of listed) {
          const text = readFileSync(join(source, path), "utf8");
          mkdirSync(dirname(join(building, path)), { recursive: true });
          writeFileSync(join(building, path), path.endsWith(".d.ts") ? blankDocComments(text) : text); // prettier-ignore
        }
        renameSync(building, dir);
      } catch (e) {
        rmSync(building, { recursive: true, force: true });
        // Another grader renamed its copy first: use that one.
        if (!existsSync(dir)) throw e;
      }
    }
    copy = { name, dir, files: listed.map(([path]) => path), key };
  } catch {
    copy = undefined;
  }
  copies.set(memo, copy);
  return copy;
}
