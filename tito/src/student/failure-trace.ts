// Where a runtime error in `tito test` comes from, in the student's terms: "exercise
// compute-strides, line 8" rather than "evalmachine.<anonymous>:10:26", and a stack of the
// notebook's cells (by exercise or test, with their own lines) and of the student's package,
// without tslab's, Node's or the harness's frames. The kernel names each cell's script
// (cell-frames.cjs, loaded with --require); stack-map.ts traces a frame back to its cell.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Notebook } from "@tinytorch-ts/core/notebook";
import { isGradeCell, isSolutionCell } from "../transforms/cells";
import { declaredNames, describeCell } from "./explain";
import {
  cellLine,
  isNoise,
  parseFrames,
  readCellScripts,
  scriptCells,
  scriptOf,
  showFile,
  type CellScript,
} from "./stack-map";

/** How many frames a trace shows: the failure and the calls that led to it. */
const MAX_FRAMES = 6;

export interface CellTrace {
  /** The notebook cell and line the error comes from ("exercise relu, line 4"), if known. */
  at?: { cell: number; line: number; text: string };
  /** The frames a student can read, innermost first ("at computeStrides (exercise …, line 8)"). */
  frames: string[];
}

/** The kernel flags that name the cells, and the directory their scripts are written to. */
export interface CellNaming {
  nodeFlags: string[];
  dir: string;
  close(): void;
}

export function nameCells(): CellNaming {
  const dir = mkdtempSync(join(tmpdir(), "tito-cells-"));
  const preload = join(dir, "preload.cjs");
  // A tiny preload that hands the directory to cell-frames.cjs (the kernel gets no extra
  // environment variables: it starts with a fixed one).
  const frames = join(__dirname, "cell-frames.cjs");
  writeFileSync(preload, `require(${JSON.stringify(frames)}).install(${JSON.stringify(dir)});\n`);
  return {
    nodeFlags: ["--require", preload],
    dir,
    close: () => rmSync(dir, { recursive: true, force: true }),
  };
}

export class CellTracer {
  private readonly scripts: Map<number, CellScript>;
  private readonly cells: Map<number, number>;

  constructor(
    dir: string,
    private readonly nb: Notebook,
    private readonly workspace: string,
  ) {
    this.scripts = readCellScripts(dir);
    this.cells = scriptCells(
      this.scripts,
      nb.cells.map((c) => (c.cell_type === "code" ? c.source : "")),
    );
  }

  /** A cell by its exercise or test; provided code by the class or function the frame is in. */
  private cellName(index: number, fn: string | undefined): string {
    const cell = this.nb.cells[index];
    const owner = fn?.replace(/^new /, "").split(".")[0];
    if (cell && !isGradeCell(cell) && !isSolutionCell(cell) && owner) {
      if (declaredNames(cell.source).includes(owner)) return `the provided code of \`${owner}\``;
    }
    return describeCell(this.nb, index, true);
  }

  /** The trace of an error printed on a cell's stderr. */
  trace(stderr: string | undefined): CellTrace {
    const out: CellTrace = { frames: [] };
    for (const frame of parseFrames(stderr ?? "")) {
      if (isNoise(frame)) continue;
      const n = scriptOf(frame);
      let where: string;
      if (n === undefined) {
        where = `${showFile(frame.file, this.workspace)}:${frame.line}`;
      } else {
        const script = this.scripts.get(n);
        const cell = this.cells.get(n);
        const line = script && cellLine(script, frame.line, frame.column);
        if (cell === undefined || line === undefined) continue; // tslab's wrapper, or unknown
        const text = `${this.cellName(cell, frame.fn)}, line ${line}`;
        out.at ??= { cell, line, text };
        where = text;
      }
      if (out.frames.length < MAX_FRAMES) {
        out.frames.push(frame.fn ? `at ${frame.fn} (${where})` : `at ${where}`);
      }
    }
    return out;
  }
}
