// Random inputs for hidden checks (`testRandom` in testing.ts). A small, fast generator
// (mulberry32) seeded from the grader's per-submission seed and the check's label, so that the
// same seed and label give the same numbers in the student's kernel and in the reference run,
// and different labels never share a stream.

/** The seed used outside the grader (a notebook, `tito test`, the instructor's own run). */
export const NOTEBOOK_SEED = 20240917;

export type NestedNumbers = number | NestedNumbers[];

export interface TestRandom {
  /** A uint32 seed for APIs that take one (`Tensor.randn(shape, seed)`). */
  seed(): number;
  /** Uniform in [lo, hi). */
  uniform(lo?: number, hi?: number): number;
  /** Normal with the given mean and standard deviation (Box–Muller). */
  normal(mean?: number, std?: number): number;
  /** A whole number in [lo, hi], both ends included. */
  int(lo: number, hi: number): number;
  /** True with probability p. */
  bool(p?: number): boolean;
  pick<T>(items: readonly T[]): T;
  /** A new array with the items in a random order. */
  shuffled<T>(items: readonly T[]): T[];
  /** `n` numbers uniform in [lo, hi), rounded to float32 (what a Tensor stores). */
  numbers(n: number, lo?: number, hi?: number): number[];
  /** A shape of `rank` dimensions, each in [minDim, maxDim]. */
  shape(rank: number, maxDim?: number, minDim?: number): number[];
  /** A nested array of the given shape, uniform in [lo, hi), rounded to float32. */
  nested(shape: readonly number[], lo?: number, hi?: number): NestedNumbers;
}

/** FNV-1a of a label, mixed with the seed. */
function mix(seed: number, label: string): number {
  let h = 0x811c9dc5 ^ seed;
  for (let i = 0; i < label.length; i++) {
    h ^= label.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

export function testRandomFor(seed: number | undefined, label: string): TestRandom {
  let state = mix(seed ?? NOTEBOOK_SEED, String(label));
  const next = (): number => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const uniform = (lo = 0, hi = 1) => lo + (hi - lo) * next();
  const int = (lo: number, hi: number) => lo + Math.floor(next() * (hi - lo + 1));
  const random: TestRandom = {
    seed: () => Math.floor(next() * 4294967296) >>> 0,
    uniform,
    normal(mean = 0, std = 1) {
      const u = 1 - next();
      const v = next();
      return mean + std * Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
    },
    int,
    bool: (p = 0.5) => next() < p,
    pick<T>(items: readonly T[]): T {
      if (items.length === 0) throw new Error("testRandom.pick: no items");
      return items[int(0, items.length - 1)];
    },
    shuffled<T>(items: readonly T[]): T[] {
      const out = items.slice();
      for (let i = out.length - 1; i > 0; i--) {
        const j = int(0, i);
        [out[i], out[j]] = [out[j], out[i]];
      }
      return out;
    },
    numbers: (n, lo = -1, hi = 1) => Array.from({ length: n }, () => Math.fround(uniform(lo, hi))),
    shape: (rank, maxDim = 5, minDim = 1) =>
      Array.from({ length: rank }, () => int(minDim, maxDim)),
    nested(shape, lo = -1, hi = 1) {
      const build = (axis: number): NestedNumbers =>
        axis === shape.length
          ? Math.fround(uniform(lo, hi))
          : Array.from({ length: shape[axis] }, () => build(axis + 1));
      return build(0);
    },
  };
  return Object.freeze(random);
}
