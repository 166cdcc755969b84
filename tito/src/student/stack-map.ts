// Stack traces in the student's terms. Under `tito test` each cell's script is named
// "tito-cell-<n>.js" and its TypeScript and compiled JavaScript are kept (cell-frames.cjs), so a
// frame can be traced back to its notebook cell and to the line of that cell: the JavaScript
// tslab ran is lined up with a fresh compile of the cell that has a source map (the two differ
// only in how modules and earlier cells' names are reached: `exports.f`, `tensor_1.Tensor`), and
// the source map gives the line of the cell. Frames of tslab, Node and the test harness are left
// out; frames in the student's package are kept, relative to the workspace.
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join, relative } from "node:path";
import { typescript } from "../export/cell-code";

export interface CellScript {
  src: string;
  js: string;
}

export interface Frame {
  /** The function, as V8 names it ("computeStrides", "Tensor.add", "new Linear"). */
  fn?: string;
  file: string;
  line: number;
  column: number;
}

const FRAME = /^\s+at (?:async )?(?:(.+?) \()?(.+?):(\d+):(\d+)\)?$/;
const CELL_FILE = /^tito-cell-(\d+)\.js$/;
/** Frames nobody needs to read: Node's internals, tslab, tito's own preload, the harness. */
const NOISE = /^node:|[\\/]tslab[\\/]|cell-frames\.cjs$|[\\/]support[\\/](testing|checks)\.js$/;

/** The cells' scripts that cell-frames.cjs wrote, by number. */
export function readCellScripts(dir: string): Map<number, CellScript> {
  const out = new Map<number, CellScript>();
  if (!existsSync(dir)) return out;
  for (const name of readdirSync(dir)) {
    const m = /^(\d+)\.json$/.exec(name);
    if (!m) continue;
    try {
      const s = JSON.parse(readFileSync(join(dir, name), "utf8")) as CellScript;
      if (typeof s.src === "string" && typeof s.js === "string") out.set(Number(m[1]), s);
    } catch {
      // a script that was not written whole maps to nothing
    }
  }
  return out;
}

/** Script number -> notebook cell index: scripts run in cell order, each from one cell's source. */
export function scriptCells(
  scripts: Map<number, CellScript>,
  sources: readonly string[],
): Map<number, number> {
  const out = new Map<number, number>();
  let next = 0;
  for (const n of [...scripts.keys()].sort((a, b) => a - b)) {
    const src = scripts.get(n)!.src;
    const at = sources.findIndex((s, i) => i >= next && s === src);
    if (at < 0) continue;
    out.set(n, at);
    next = at + 1;
  }
  return out;
}

/** The `at ...` frames of a printed error, in order (innermost first). */
export function parseFrames(stderr: string): Frame[] {
  const frames: Frame[] = [];
  for (const line of stderr.split("\n")) {
    const m = FRAME.exec(line);
    if (!m) continue;
    frames.push({
      ...(m[1] ? { fn: m[1].replace(/^Proxy\./, "") } : {}),
      file: m[2]!,
      line: Number(m[3]),
      column: Number(m[4]),
    });
  }
  return frames;
}

/** The cell script a frame is in ("tito-cell-4.js" -> 4). */
export function scriptOf(frame: Frame): number | undefined {
  const m = CELL_FILE.exec(frame.file);
  return m ? Number(m[1]) : undefined;
}

export function isNoise(frame: Frame): boolean {
  return NOISE.test(frame.file);
}

/** A workspace file as the student knows it ("tinytorch-ts/dist/core/tensor.js"). */
export function showFile(file: string, workspace: string): string {
  const rel = relative(workspace, file);
  return rel.startsWith("..") ? file : rel;
}

// ---------------------------------------------------------------------------------------------
// Lining up tslab's JavaScript with the cell's TypeScript

const WRAPPER = /^\((?:async )?function\(exports, require\) \{ /;
/**
 * Text tslab adds: the variable its last expression goes to, `exports.` before earlier cells'
 * names, and CommonJS's import aliases (`tensor_1.`).
 */
const ADDED = [
  /^\s*exports\.tsLastExpr\d* = /g,
  /(?<![\w$.])exports\./g,
  /(?<![\w$.])[\w$]+_\d+\./g,
];

/** A line without what differs between the two compiles, and where each column went. */
function normalize(line: string): { text: string; at: (column: number) => number } {
  const keep = new Array<boolean>(line.length).fill(true);
  for (const re of ADDED) {
    for (const m of line.matchAll(re)) keep.fill(false, m.index ?? 0, (m.index ?? 0) + m[0].length);
  }
  for (const m of line.matchAll(/\(0, [\w$.]+\)/g)) {
    const at = m.index ?? 0;
    keep.fill(false, at, at + 4); // "(0, " ... ")": how CommonJS calls an import
    keep[at + m[0].length - 1] = false;
  }
  let text = "";
  const before: number[] = [];
  for (let i = 0; i < line.length; i++) {
    before.push(text.length);
    if (keep[i] && !/\s/.test(line[i]!)) text += line[i];
  }
  before.push(text.length);
  return { text, at: (c) => before[Math.min(Math.max(c, 0), line.length)]! };
}

/** For each line of `a`, the line of `b` it lines up with (longest common subsequence). */
function alignLines(a: string[], b: string[]): (number | undefined)[] {
  const n = a.length;
  const m = b.length;
  const len = Array.from({ length: n + 1 }, () => new Uint32Array(m + 1));
  for (let i = n - 1; i >= 0; i--) {
    for (let j = m - 1; j >= 0; j--) {
      len[i]![j] = a[i] === b[j] ? len[i + 1]![j + 1]! + 1 : Math.max(len[i + 1]![j]!, len[i]![j + 1]!); // prettier-ignore
    }
  }
  const out: (number | undefined)[] = new Array<number | undefined>(n).fill(undefined);
  for (let i = 0, j = 0; i < n && j < m;) {
    if (a[i] === b[j]) out[i++] = j++;
    else if (len[i + 1]![j]! >= len[i]![j + 1]!) i++;
    else j++;
  }
  return out;
}

const VLQ = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/** A source map's mappings: per generated line, [column, source line, source column] (0-based). */
function decodeMappings(mappings: string): [number, number, number][][] {
  const lines: [number, number, number][][] = [];
  let srcLine = 0;
  let srcCol = 0;
  let srcIdx = 0;
  for (const lineText of mappings.split(";")) {
    const segs: [number, number, number][] = [];
    let col = 0;
    for (const seg of lineText.split(",")) {
      if (seg === "") continue;
      const values: number[] = [];
      let value = 0;
      let shift = 0;
      for (const ch of seg) {
        const digit = VLQ.indexOf(ch);
        value += (digit & 31) << shift;
        if (digit & 32) shift += 5;
        else {
          values.push(value & 1 ? -(value >> 1) : value >> 1);
          value = 0;
          shift = 0;
        }
      }
      col += values[0] ?? 0;
      if (values.length < 4) continue;
      srcIdx += values[1]!;
      srcLine += values[2]!;
      srcCol += values[3]!;
      segs.push([col, srcLine, srcCol]);
    }
    lines.push(segs);
  }
  void srcIdx;
  return lines;
}

/** Where each line of tslab's JavaScript goes: the fresh compile's line, and its source map. */
interface Alignment {
  ran: ReturnType<typeof normalize>[];
  fresh: ReturnType<typeof normalize>[];
  freshLines: string[];
  /** Fresh line for each ran line (matched, or between two matched lines the same distance apart). */
  toFresh: (number | undefined)[];
  segments: [number, number, number][][];
  /** Columns tslab's wrapper adds to the first line. */
  shift: number;
}

const alignments = new WeakMap<CellScript, Alignment>();

function align(script: CellScript): Alignment {
  const known = alignments.get(script);
  if (known) return known;
  const ts = typescript();
  const out = ts.transpileModule(script.src, {
    fileName: "cell.ts",
    compilerOptions: {
      module: ts.ModuleKind.ESNext,
      target: ts.ScriptTarget.ES2022, // tslab's target on Node 18 and later
      esModuleInterop: true,
      experimentalDecorators: true,
      jsx: ts.JsxEmit.React,
      noImplicitUseStrict: true,
      newLine: ts.NewLineKind.LineFeed,
      sourceMap: true,
    },
  });
  const ranLines = script.js.split("\n");
  const first = ranLines[0] ?? "";
  ranLines[0] = first.replace(WRAPPER, "");
  const freshLines = out.outputText.split("\n");
  const ran = ranLines.map(normalize);
  const fresh = freshLines.map(normalize);
  const matched = alignLines(
    ran.map((r) => (r.text === "" ? "\u0000" : r.text)), // blank lines line up with nothing
    fresh.map((f) => f.text),
  );
  const toFresh = matched.map((j, i) => {
    if (j !== undefined || ran[i]!.text === "") return j;
    let p = i - 1;
    while (p >= 0 && matched[p] === undefined) p--;
    let q = i + 1;
    while (q < matched.length && matched[q] === undefined) q++;
    const jp = p >= 0 ? matched[p]! : -1;
    const jq = q < matched.length ? matched[q] : undefined;
    return jq !== undefined && q - p === jq - jp ? jp + (i - p) : undefined;
  });
  const map = JSON.parse(out.sourceMapText ?? "{}") as { mappings?: string };
  const alignment: Alignment = {
    ran,
    fresh,
    freshLines,
    toFresh,
    segments: decodeMappings(map.mappings ?? ""),
    shift: first.length - ranLines[0].length,
  };
  alignments.set(script, alignment);
  return alignment;
}

/**
 * The line (1-based) of the cell's TypeScript that line `line`, column `column` of the JavaScript
 * tslab ran comes from; undefined for tslab's own wrapper lines or when the two do not line up.
 */
export function cellLine(script: CellScript, line: number, column: number): number | undefined {
  const a = align(script);
  const i = line - 1;
  const j = a.toFresh[i];
  if (j === undefined) return undefined;
  const col = a.ran[i]!.at(column - 1 - (i === 0 ? a.shift : 0));
  // The column of the fresh line at the same place in the normalised text, then its mapping.
  const freshLine = a.freshLines[j]!;
  let freshCol = 0;
  while (freshCol < freshLine.length && a.fresh[j]!.at(freshCol + 1) <= col) freshCol++;
  const segs = a.segments[j] ?? [];
  const seg = [...segs].reverse().find((s) => s[0] <= freshCol) ?? segs[0];
  return seg ? seg[1] + 1 : undefined;
}
