// V8's heap growing factor for processes that train (the milestone runner, the benchmarks).
//
// Training allocates its activations as ArrayBuffers, hundreds of MB a second, almost none of it
// on V8's own heap. After a pause of a few seconds (a benchmark's other library taking its turn,
// a milestone evaluating) V8 computes a growing factor near its floor and from then on starts a
// full collection after less than 1 MB of allocation, every ~40 ms, for as long as training
// lasts: milestone 04 took 24.8 s of CPU for 18.2 s of wall time on 2026-12-08. Letting the old
// generation grow to 4x its live size first, the same run took 18.0 s of CPU and 17.5 s of wall
// time, at the same peak resident size (338 MB against 344). docs/convolutions.md has the
// measurements. Notebook kernels do not set it: there the TypeScript compiler's heap is live too.
import { setFlagsFromString } from "node:v8";

/** The V8 flag, also for child processes that train (`execArgv`). */
export const TRAINING_HEAP_FLAG = "--heap-growing-percent=300";

/** Sets V8's heap growing factor of this process for training (read at every collection). */
export function tuneHeapForTraining(): void {
  setFlagsFromString(TRAINING_HEAP_FLAG);
}
