// The one loop that runs cells in a kernel, shared by the notebook runner (`tito run`, `tito
// test`) and the grader, so both bound a notebook the same way: a deadline per notebook counted
// from when the loop starts (the kernel is ready by then), each cell's timeout cut to what is left
// of it, and once the kernel is dead every later cell is reported as not run, with the reason,
// without waiting on anything. What differs is only whether a failing cell stops the rest.
import type { CellRun, ExecuteOptions } from "../kernel/client";
import { notRun } from "../kernel/execute";
import { DEFAULT_CELL_TIMEOUT_MS, DEFAULT_OUTPUT_LIMIT, formatSeconds } from "./limits";

/** What the loop needs of a kernel: `KernelClient` has it (unit tests give a fake). */
export interface CellKernel {
  readonly alive: boolean;
  /** Why the kernel is not alive (for reports). */
  readonly deathReason: string;
  execute(code: string, opts?: ExecuteOptions): Promise<CellRun>;
}

export interface LoopCell {
  /** The code sent to the kernel. */
  source: string;
  /** Names the cell in the reasons given for later cells: `cell 3`, `cell "add"`. */
  describe: string;
}

/**
 * "first-failure": a cell that does not succeed stops the run, like `jupyter nbconvert --execute`.
 * "keep-going": every cell runs whatever the earlier ones did (nbconvert's --allow-errors; the
 * grader, where each test earns its points on its own). With either, a dead kernel or the
 * notebook's time limit stops the run.
 */
export type StopPolicy = "first-failure" | "keep-going";

export interface CellLoopOptions<C extends LoopCell> {
  policy: StopPolicy;
  cellTimeoutMs?: number;
  /** Time for all the cells together, counted from the call (default: none). */
  notebookTimeoutMs?: number;
  outputLimitBytes?: number;
  /** A side channel to hand back in each run's `captured` (see ExecuteOptions). */
  capture?: ExecuteOptions["capture"];
  /** Called after each cell, run or not, in order. */
  onCell?: (cell: C, run: CellRun, position: number) => void;
}

/** Runs `cells` in order in `kernel`; returns one run per cell, in the same order. */
export async function runCells<C extends LoopCell>(
  kernel: CellKernel,
  cells: readonly C[],
  opts: CellLoopOptions<C>,
): Promise<CellRun[]> {
  const cellTimeout = opts.cellTimeoutMs ?? DEFAULT_CELL_TIMEOUT_MS;
  const limit = opts.notebookTimeoutMs;
  const deadline = limit === undefined ? Infinity : performance.now() + limit;
  const runs: CellRun[] = [];
  // Once set, every later cell is reported as not run with this reason.
  let stopReason: string | undefined;
  for (const [position, cell] of cells.entries()) {
    const remaining = deadline - performance.now();
    if (stopReason === undefined && remaining <= 0) {
      stopReason = `the notebook's time limit (${formatSeconds(limit ?? 0)}) ran out`;
    }
    // Dead between cells (killed from outside, OOM-killed while idle).
    if (stopReason === undefined && !kernel.alive) {
      stopReason = `the kernel had stopped: ${kernel.deathReason}`;
    }
    let run: CellRun;
    if (stopReason !== undefined) {
      run = notRun(stopReason);
    } else {
      const notebookLimited = remaining < cellTimeout;
      run = await kernel.execute(cell.source, {
        timeoutMs: Math.min(cellTimeout, remaining),
        outputLimitBytes: opts.outputLimitBytes ?? DEFAULT_OUTPUT_LIMIT,
        ...(opts.capture ? { capture: opts.capture } : {}),
      });
      if (run.status === "timeout" && notebookLimited) {
        run = { ...run, reason: `${run.reason}: the notebook's time limit ran out` };
      }
      stopReason = whyStopAfter(run, cell, kernel, opts.policy);
    }
    runs.push(run);
    opts.onCell?.(cell, run, position);
  }
  return runs;
}

/** After a cell, decides whether later cells still run. */
function whyStopAfter(
  run: CellRun,
  cell: LoopCell,
  kernel: CellKernel,
  policy: StopPolicy,
): string | undefined {
  if (!kernel.alive) return `the kernel had stopped during ${cell.describe}: ${kernel.deathReason}`;
  if (run.status === "ok" || policy === "keep-going") return undefined;
  const why = run.status === "timeout" ? run.reason : (run.error?.ename ?? run.status);
  return `${cell.describe} failed (${why})`;
}
