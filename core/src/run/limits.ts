// Default limits for running notebooks. A notebook is untrusted code: every run is bounded in
// time (per cell and per notebook), in output (per cell), and, when the caller asks, in memory.
import { DEFAULT_OUTPUT_LIMIT_BYTES } from "../kernel/outputs";

/** A cell may run this long before it is interrupted (then killed). */
export const DEFAULT_CELL_TIMEOUT_MS = 300_000;
/** Output a cell may keep; the rest is counted and dropped, with a note. */
export const DEFAULT_OUTPUT_LIMIT = DEFAULT_OUTPUT_LIMIT_BYTES;

/** A duration for people: 1500 -> "1.5 s" (the `seconds` of core/src/args.ts parses one). */
export function formatSeconds(ms: number): string {
  return `${+(ms / 1000).toFixed(1)} s`;
}
