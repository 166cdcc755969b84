// `tito convert`: module source (.ts, jupytext percent format) <-> .ipynb, without Python.
// The output is computed in full before anything is written, and written atomically, so bad
// input leaves no partial file and never destroys an existing one.
import { existsSync, readFileSync } from "node:fs";
import { writeFileAtomic, isSourceError, runCommand, UsageError } from "@tinytorch-ts/core";
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
import { spec } from "./convert.args";

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

export function run(args: string[]): Promise<number> {
  return runCommand(spec, args, ({ values, positionals: files }) => {
    if (!values.check && files.length > 1) throw new UsageError("convert one file at a time");
    for (const f of files) {
      if (!kindOfPath(f)) throw new UsageError(`${f}: expected a .ts or .ipynb file`);
      if (!existsSync(f)) {
        console.error(`tito convert: ${f}: no such file`);
        return 1;
      }
    }
    if (values.check) return runCheck(files);
    const written = convertFile(files[0], { to: values.to, out: values.out });
    if (written !== "-") console.error(`wrote ${written}`);
    return 0;
  });
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
