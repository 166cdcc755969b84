// Runs a notebook top to bottom in a tslab kernel, as `jupyter nbconvert --execute` would, and
// returns what happened to every code cell plus a copy of the notebook with outputs and
// execution counts filled in. Limits: a deadline per cell and per notebook, an output budget
// per cell. When a cell fails the run stops (unless allowErrors); when the kernel dies or is
// killed, every later cell is reported as not run, with the reason, and nothing waits on it.
// The loop over the cells is cells.ts, which the grader runs too.
import { KernelClient, type CellRun, type KernelStartOptions } from "../kernel/client";
import { SourceError } from "../errors";
import type { Cell, CodeCell, Notebook } from "../notebook/types";
import { runCells } from "./cells";

export interface RunOptions {
  cellTimeoutMs?: number;
  /** Time for all cells together, counted from when the kernel is ready. */
  notebookTimeoutMs?: number;
  outputLimitBytes?: number;
  /** Go on past failing cells (like nbconvert's --allow-errors). */
  allowErrors?: boolean;
  /** A running kernel to use (the caller shuts it down); otherwise one is started. */
  kernel?: KernelClient;
  /** How to start a kernel when none is given (default: cwd = process.cwd()). */
  start?: KernelStartOptions;
  onCell?: (index: number, run: CellRun) => void;
  /** Only cells for which this returns true are executed; others are left as they are. */
  cellFilter?: (cell: Cell, index: number) => boolean;
  /** Names the notebook in error messages. */
  file?: string;
}

export interface NotebookRun {
  cells: Array<CellRun & { index: number }>;
  /** A copy of the input with outputs and execution counts of the executed cells. */
  notebook: Notebook;
  /** True when every executed cell succeeded. */
  ok: boolean;
  durationMs: number;
}

const TSLAB_KERNEL_NAMES = new Set(["tslab"]);

/**
 * Rejects what cannot be run before any kernel starts: no cells, no code, another kernel.
 * Throws SourceError naming `file`.
 */
export function checkRunnable(nb: Notebook, file = "<notebook>"): void {
  if (!nb || typeof nb !== "object" || !Array.isArray(nb.cells)) {
    throw new SourceError(file, undefined, "not a notebook: it has no cells list");
  }
  if (nb.cells.length === 0) throw new SourceError(file, undefined, "the notebook has no cells");
  const kernel = nb.metadata?.kernelspec?.name;
  if (kernel !== undefined && !TSLAB_KERNEL_NAMES.has(kernel)) {
    throw new SourceError(
      file,
      undefined,
      `the notebook names kernel '${kernel}'; tito runs TypeScript notebooks in tslab only`,
    );
  }
}

export async function runNotebook(nb: Notebook, opts: RunOptions = {}): Promise<NotebookRun> {
  const started = performance.now();
  checkRunnable(nb, opts.file);
  const notebook: Notebook = structuredClone(nb);
  const toRun: Array<{ source: string; describe: string; cell: CodeCell; index: number }> = [];
  notebook.cells.forEach((cell, index) => {
    if (cell.cell_type !== "code") return;
    if (opts.cellFilter && !opts.cellFilter(cell, index)) return;
    // Like Jupyter, a blank cell is not sent to the kernel.
    if (cell.source.trim() === "") {
      cell.outputs = [];
      cell.execution_count = null;
      return;
    }
    // "cell N" by index: `tito test` turns it into the exercise's name for students.
    toRun.push({ source: cell.source, describe: `cell ${index}`, cell, index });
  });
  const ownKernel = opts.kernel === undefined;
  const kernel = opts.kernel ?? (await KernelClient.start(opts.start ?? { cwd: process.cwd() }));
  const cells: NotebookRun["cells"] = [];
  try {
    // The notebook's clock starts when its kernel is ready: start-up is not the notebook's doing.
    await runCells(kernel, toRun, {
      policy: opts.allowErrors ? "keep-going" : "first-failure",
      cellTimeoutMs: opts.cellTimeoutMs,
      notebookTimeoutMs: opts.notebookTimeoutMs,
      outputLimitBytes: opts.outputLimitBytes,
      onCell: ({ cell, index }, run) => {
        cell.outputs = run.outputs;
        cell.execution_count = run.executionCount;
        cells.push({ ...run, index });
        opts.onCell?.(index, run);
      },
    });
  } finally {
    if (ownKernel) await kernel.shutdown();
  }
  return {
    cells,
    notebook,
    ok: cells.every((c) => c.status === "ok"),
    durationMs: performance.now() - started,
  };
}
