// The limits a submission is graded under. They are part of the contract between the CLI (whose
// help shows them and whose options override them) and the grader (which applies them), so they
// are written here, once.
export interface GradingLimits {
  /** Per-cell time limit. */
  cellTimeoutMs: number;
  /** Whole-notebook time limit. */
  notebookTimeoutMs: number;
  /** Output kept per cell. */
  outputLimitBytes: number;
  /** V8 heap cap in MiB; the data and address-space rlimits follow from it. */
  memoryMb: number;
  /** RLIMIT_NPROC for the sandbox user (only with a sandbox user). */
  maxProcesses: number;
}

export const DEFAULT_GRADING_LIMITS: Readonly<GradingLimits> = {
  cellTimeoutMs: 30_000,
  notebookTimeoutMs: 300_000,
  outputLimitBytes: 1024 * 1024,
  memoryMb: 1024,
  maxProcesses: 256,
};
