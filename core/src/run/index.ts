// Running notebooks: the loop over cells that the runner and the grader share (cells.ts), one
// notebook in a fresh kernel (runner.ts), many through a pool of kernels (pool.ts) and a fixed
// number of workers (workers.ts).
export {
  runCells,
  type CellKernel,
  type CellLoopOptions,
  type LoopCell,
  type StopPolicy,
} from "./cells";
export { runNotebook, checkRunnable, type RunOptions, type NotebookRun } from "./runner";
export {
  KernelPool,
  BatchError,
  kernelFactory,
  runNotebooks,
  type BatchOptions,
  type PoolFactory,
  type PoolOptions,
} from "./pool";
export { runWorkers, WorkErrors, type WorkersOptions } from "./workers";
export { DEFAULT_CELL_TIMEOUT_MS, DEFAULT_OUTPUT_LIMIT, formatSeconds } from "./limits";
