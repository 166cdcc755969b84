// Runs a notebook top to bottom in a tslab kernel, as `jupyter nbconvert --execute` would, and
// returns what happened to every code cell plus a copy of the notebook with outputs and
// execution counts filled in. Limits: a deadline per cell and per notebook, an output budget
// per cell. When a cell fails the run stops (unless allowErrors); when the kernel dies or is
// killed, every later cell is reported as not run, with the reason, and nothing waits on it.
import { KernelClient, type CellRun, type KernelStartOptions } from "../kernel/client";
import { notRun } from "../kernel/execute";
import { SourceError } from "../errors";
import type { Cell, CodeCell, Notebook } from "../notebook/types";
import { DEFAULT_CELL_TIMEOUT_MS, DEFAULT_OUTPUT_LIMIT, seconds } from "./limits";

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
  const cellTimeout = opts.cellTimeoutMs ?? DEFAULT_CELL_TIMEOUT_MS;
  const ownKernel = opts.kernel === undefined;
  const kernel = opts.kernel ?? (await KernelClient.start(opts.start ?? { cwd: process.cwd() }));
  // The notebook's clock starts when its kernel is ready: start-up is not the notebook's doing.
  const deadline =
    opts.notebookTimeoutMs === undefined ? Infinity : performance.now() + opts.notebookTimeoutMs;
  const cells: NotebookRun["cells"] = [];
  // Once set, every later code cell is reported as not run with this reason.
  let stopReason: string | undefined;

  try {
    for (let index = 0; index < notebook.cells.length; index++) {
      const cell = notebook.cells[index];
      if (cell.cell_type !== "code") continue;
      if (opts.cellFilter && !opts.cellFilter(cell, index)) continue;
      // Like Jupyter, a blank cell is not sent to the kernel.
      if (cell.source.trim() === "") {
        cell.outputs = [];
        cell.execution_count = null;
        continue;
      }
      let run: CellRun;
      const remaining = deadline - performance.now();
      if (stopReason === undefined && remaining <= 0) {
        stopReason = `the notebook's time limit (${seconds(opts.notebookTimeoutMs ?? 0)}) ran out`;
      }
      if (stopReason !== undefined) {
        run = notRun(stopReason);
      } else if (!kernel.alive) {
        stopReason = kernel.deathReason;
        run = notRun(stopReason);
      } else {
        const notebookLimited = remaining < cellTimeout;
        run = await kernel.execute(cell.source, {
          timeoutMs: Math.min(cellTimeout, remaining),
          outputLimitBytes: opts.outputLimitBytes ?? DEFAULT_OUTPUT_LIMIT,
        });
        if (run.status === "timeout" && notebookLimited) {
          run = { ...run, reason: `${run.reason}: the notebook's time limit ran out` };
        }
        stopReason = whyStopAfter(run, index, kernel, opts.allowErrors ?? false);
      }
      fillCell(cell, run);
      cells.push({ ...run, index });
      opts.onCell?.(index, run);
    }
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

/** After a cell, decides whether later cells still run. */
function whyStopAfter(
  run: CellRun,
  index: number,
  kernel: KernelClient,
  allowErrors: boolean,
): string | undefined {
  if (!kernel.alive) return `${kernel.deathReason} in cell ${index}`;
  if (run.status === "ok") return undefined;
  if (allowErrors) return undefined;
  return `cell ${index} failed (${run.status === "timeout" ? run.reason : (run.error?.ename ?? run.status)})`;
}

function fillCell(cell: CodeCell, run: CellRun): void {
  cell.outputs = run.outputs;
  cell.execution_count = run.executionCount;
}
