// What the training benchmarks (bench:train, bench:conv) feed both libraries alike: the same
// example order every epoch, and batches copied out in that order, so the two sides of a
// comparison do the same work on the same data.
import { Rng } from "tinytorch-ts/core/tensor";

/** The example order of every epoch: seeded Fisher-Yates shuffles, shared by both libraries. */
export function epochOrders(n: number, epochs: number, seed: number): Uint32Array[] {
  const rng = new Rng(seed);
  return Array.from({ length: epochs }, () => {
    const order = Uint32Array.from({ length: n }, (_, i) => i);
    for (let i = n - 1; i > 0; i--) {
      const j = rng.int(i + 1);
      [order[i], order[j]] = [order[j], order[i]];
    }
    return order;
  });
}

/** Copies the rows `order[start..end)` of a row-major [n, width] array. */
export function gatherRows(
  data: Float32Array,
  width: number,
  order: Uint32Array,
  start: number,
  end: number,
): Float32Array {
  const out = new Float32Array((end - start) * width);
  for (let r = start; r < end; r++)
    out.set(data.subarray(order[r] * width, (order[r] + 1) * width), (r - start) * width);
  return out;
}
