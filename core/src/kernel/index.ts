// The tslab kernel client: start a kernel, execute cells with deadlines and output budgets,
// shut it down. See client.ts.
export {
  KernelClient,
  KernelStartError,
  type KernelStartOptions,
  type CellRun,
  type CellStatus,
  type ExecuteOptions,
} from "./client";
export { notRun } from "./execute";
export { tslabCodeCache } from "./code-cache";
export { kernelV8Flags } from "./launch";
// The process tree of a kernel: what a test or a diagnosis reads to see what a kernel started.
export { parseStat, processTree, describeProcessTree, type ProcessSnapshot } from "./process-tree";
export {
  DEFAULT_OUTPUT_LIMIT_BYTES,
  formatBytes,
  type CaptureOptions,
  type Captured,
} from "./outputs";
