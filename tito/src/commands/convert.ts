// `tito convert`: module source (.ts, jupytext percent format) <-> .ipynb, without Python.
// The output is computed in full before anything is written, and written atomically, so bad
// input leaves no partial file and never destroys an existing one.
import { existsSync, readFileSync } from "node:fs";
import { writeFileAtomic, isSourceError } from "@tinytorch-ts/core";
import {
  decodeUtf8,
  parseIpynb,
  writeIpynb,
  parsePercent,
  writePercent,
  checkRoundTrips,
  kindOfPath,
  type SourceKind,
} from "@tinytorch-ts/core/notebook";

export const summary = "convert a module source .ts <-> .ipynb (jupytext percent format)";

const USAGE = `usage: tito convert <file> [--to ipynb|ts] [--out F] [--check]
       tito convert --check <file>...

  <file>        a module source (.ts, percent format) or a notebook (.ipynb)
  --to FORMAT   ipynb or ts (default: the other one); the same format rewrites the file in
                canonical form
  --out F       output path (default: the input path with the new extension); '-' for stdout
  --check       write nothing; verify that .ts -> .ipynb -> .ts is byte-identical and that
                .ipynb -> .ts -> .ipynb keeps every cell's type, source and metadata`;

/** Convert a text from one format to the other (or rewrite it canonically). */
export function convertText(text: string, from: SourceKind, to: SourceKind, file: string): string {
  const nb = from === "ts" ? parsePercent(text, file).notebook : parseIpynb(text, file);
  return to === "ts" ? writePercent(nb, file) : writeIpynb(nb);
}

export function readSource(file: string): string {
  return decodeUtf8(readFileSync(file), file);
}

export interface ConvertOptions {
  to?: SourceKind;
  /** Output path; "-" writes to stdout. */
  out?: string;
}

/** Convert one file; returns the path written (or "-"). Throws SourceError on bad input. */
export function convertFile(input: string, opts: ConvertOptions = {}): string {
  const from = kindOfPath(input);
  if (!from) throw new Error(`${input}: expected a .ts or .ipynb file`);
  const to = opts.to ?? (from === "ts" ? "ipynb" : "ts");
  const result = convertText(readSource(input), from, to, input);
  const out = opts.out ?? input.replace(/\.(ts|ipynb)$/i, to === "ts" ? ".ts" : ".ipynb");
  if (out === "-") process.stdout.write(result);
  else writeFileAtomic(out, result);
  return out;
}

export async function run(args: string[]): Promise<number> {
  const files: string[] = [];
  const opts: ConvertOptions = {};
  let check = false;
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (a === "--help" || a === "-h") {
      console.log(USAGE);
      return 0;
    } else if (a === "--check") check = true;
    else if (a === "--to" || a.startsWith("--to=")) {
      const v = a === "--to" ? args[++i] : a.slice(5);
      if (v !== "ipynb" && v !== "ts") {
        console.error(`tito convert: --to must be ipynb or ts\n\n${USAGE}`);
        return 2;
      }
      opts.to = v;
    } else if (a === "--out" || a === "-o" || a.startsWith("--out=")) {
      opts.out = a.startsWith("--out=") ? a.slice(6) : args[++i];
      if (!opts.out) {
        console.error(`tito convert: --out needs a path\n\n${USAGE}`);
        return 2;
      }
    } else if (a.startsWith("-") && a !== "-") {
      console.error(`tito convert: unknown option ${a}\n\n${USAGE}`);
      return 2;
    } else files.push(a);
  }
  if (files.length === 0 || (!check && files.length > 1)) {
    console.error(USAGE);
    return 2;
  }
  for (const f of files) {
    if (!kindOfPath(f)) {
      console.error(`tito convert: ${f}: expected a .ts or .ipynb file`);
      return 2;
    }
    if (!existsSync(f)) {
      console.error(`tito convert: ${f}: no such file`);
      return 1;
    }
  }
  if (check) return runCheck(files);
  const written = convertFile(files[0], opts);
  if (written !== "-") console.error(`wrote ${written}`);
  return 0;
}

function runCheck(files: string[]): number {
  let failed = 0;
  for (const file of files) {
    try {
      const problems = checkRoundTrips(readSource(file), kindOfPath(file)!, file);
      if (problems.length === 0) console.log(`ok   ${file}`);
      else {
        failed++;
        console.log(`FAIL ${file}`);
        for (const p of problems) console.log(`     ${p}`);
      }
    } catch (e) {
      if (!isSourceError(e)) throw e;
      failed++;
      console.log(`FAIL ${e.message}`);
    }
  }
  return failed > 0 ? 1 : 0;
}
