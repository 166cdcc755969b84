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
// # Module 01: Tensor
//
// Every number a neural network touches lives in a **tensor**: the input images, the weights, the
// activations between layers, the gradients. A tensor is an n-dimensional grid of numbers, and
// almost all the time a model spends is spent inside a handful of tensor operations:
// element-wise arithmetic, matrix multiplication and reductions.
//
// In this module you build that grid yourself, in TypeScript, on top of `Float32Array`. By the
// end you will have a `Tensor` class that behaves like a small numpy: broadcasting, batched
// matrix multiplication, reductions over an axis, reshaping, transposing, slicing, random
// initialisation from a seed, and readable printing. Every later module (activations, layers,
// losses, the profiler, the benchmarks) is built on what you write here.
//
// ### What you will learn
// - how an n-dimensional array is stored as one flat block of memory, and how **shape** and
//   **strides** turn an index like `[i, j, k]` into a position in that block;
// - numpy's **broadcasting** rules, and how to run them without copying the smaller operand;
// - why the *order* of the three matrix-multiplication loops changes the speed severalfold;
// - what each operation costs: how many floating-point operations (FLOPs), how many bytes read
//   and written, and how much memory a tensor really takes.
//
// ### How this notebook is organised
// A JavaScript class cannot be reopened in a later notebook cell, so we build the machinery
// first and the class last. Part 1 covers storage (strides, nested arrays, reshape); Part 2 the
// **kernels**: plain functions that take flat `Float32Array`s plus shapes and do the work. Part 3
// wraps them in the `Tensor` class, whose methods are thin: they check arguments and call your
// kernels. Real frameworks are organised the same way: PyTorch's Python `Tensor` is a handle,
// and the arithmetic happens in kernels (ATen) that know nothing about Python objects.
//
// Each exercise is followed at once by a test cell. Run them in order.

// %%
//| default_exp core.tensor
//| extended_by core.autograd

// %%
//| export
import * as util from "node:util";

// %% [markdown]
// ## Part 1: Storage
//
// ### Why `Float32Array`?
// A plain JavaScript array of numbers stores each element as a 64-bit double (or a tagged small
// integer) behind a layer of indirection the engine may change at any time. A `Float32Array` is a
// view on an `ArrayBuffer`: a contiguous block of raw memory holding IEEE-754 single-precision
// numbers, 4 bytes each, with no per-element overhead. That gives us three things:
//
// 1. **Predictable memory**: a tensor of `n` elements takes `4n` bytes of data, exactly.
// 2. **Speed**: the JIT compiler can turn a loop over a typed array into tight machine code that
//    reads memory sequentially, which is what caches and prefetchers are built for.
// 3. **The precision deep learning actually uses**: float32 has about 7 significant decimal
//    digits. Training works with that (and often with 16 bits); doubling the memory for float64
//    buys accuracy the model does not need.
//
// The price: every value we store is rounded to float32. `0.1` becomes `0.100000001490116…`,
// so the tests compare with a tolerance (`assertClose`) rather than exact equality.
//
// ### Shape and strides
// A tensor of shape `[2, 3]` holds 6 numbers in one flat array, row after row ("row-major" or
// "C" order):
//
// ```
// logical view          flat storage (data)
// [[a, b, c],           index: 0  1  2  3  4  5
//  [d, e, f]]           value: a  b  c  d  e  f
// ```
//
// To find element `[i, j]` we skip `i` whole rows of 3 elements and then `j` elements:
// `offset = i*3 + j*1`. The numbers `[3, 1]` are the **strides**: how many elements to step
// in the flat array to move by one along each axis. For shape `[d0, d1, ..., dn]` the last
// stride is 1 and each earlier stride is the product of all the dimensions after it:
//
// ```
// shape   [2, 3, 4]
// strides [12, 4, 1]      offset of [i, j, k] = 12i + 4j + k
// ```
//
// numpy counts strides in bytes (`[48, 16, 4]` for float32); we count elements, which keeps the
// arithmetic free of the element size. A tensor with a dimension of size 0 holds no elements;
// numpy still gives it strides as if that dimension had size 1 (the strides are never used to
// read memory), and we do the same.

// %%
//| export
/** Any value the Tensor constructor accepts as nested data: a number or an array of them. */
type NestedArray = number | NestedArray[];

/**
 * The minimal description of a dense tensor that the kernels work on: a flat float32 buffer in
 * row-major order plus its shape. The `Tensor` class satisfies it, and so does a plain object
 * literal, which is how the tests of Part 2 call the kernels before the class exists.
 */
interface RawTensor {
  readonly data: Float32Array;
  readonly shape: readonly number[];
}

/** Number of elements of a shape: the product of its dimensions (1 for the 0-d shape []). */
function shapeSize(shape: readonly number[]): number {
  let size = 1;
  for (const dim of shape) size *= dim;
  return size;
}

/** Formats a shape for error messages: [2, 3]. */
function formatShape(shape: readonly number[]): string {
  return `[${shape.join(", ")}]`;
}

/** Throws unless `shape` is a list of non-negative integers. */
function checkShape(shape: readonly number[], what = "shape"): void {
  for (const dim of shape) {
    if (!Number.isInteger(dim) || dim < 0) {
      throw new Error(`${what} ${formatShape(shape)}: dimensions must be non-negative integers`);
    }
  }
}

/**
 * Turns a possibly negative axis into 0..ndim-1, as numpy does (-1 is the last axis), and
 * rejects axes that do not exist with numpy's wording.
 */
function normalizeAxis(axis: number, ndim: number): number {
  if (!Number.isInteger(axis) || axis < -ndim || axis >= ndim) {
    throw new Error(`axis ${axis} is out of bounds for array of dimension ${ndim}`);
  }
  return axis < 0 ? axis + ndim : axis;
}

// %% [markdown]
// ### Exercise 1: `computeStrides`
//
// **TODO**: Return the row-major strides (in elements) of a shape.
//
// **APPROACH**: derive the strides from the shape, starting at the last axis. Moving one step
// along the last axis moves one element. How many elements does one step along the axis before
// it skip, and how does each stride follow from the one after it? Write that rule as a loop
// over the axes from last to first.
//
// **HINTS**:
// - Check your rule on `[2, 3, 4]`: it must give `[12, 4, 1]`. `computeStrides([])` is `[]` (a
//   0-d tensor has no axes).
// - A dimension of size 0 must not turn the strides before it into 0: numpy computes them as
//   if that dimension had size 1 (`[2, 0, 3]` gives `[3, 3, 1]`).
// - Return a new array; do not modify the argument.

// %% nbgrader={"grade": false, "grade_id": "compute-strides", "locked": false, "schema_version": 3, "solution": true, "task": false}
//| export
/** Row-major strides, counted in elements: computeStrides([2, 3, 4]) is [12, 4, 1]. */
function computeStrides(shape: readonly number[]): number[] {
  // ### BEGIN SOLUTION
  const strides = new Array<number>(shape.length);
  let step = 1;
  for (let axis = shape.length - 1; axis >= 0; axis--) {
    strides[axis] = step;
    step *= Math.max(shape[axis], 1);
  }
  return strides;
  // ### END SOLUTION
}

// %% nbgrader={"grade": false, "grade_id": "test-helpers", "locked": true, "schema_version": 3, "solution": false, "task": false}
// Test helpers for this notebook (not part of the package).
import {
  assert,
  assertClose,
  assertEqual,
  assertPrediction,
  assertShape,
  assertThrows,
  check,
  demo,
  isFloat32Array,
  passed,
  testRandom,
} from "tinytorch-ts/support/testing";

/** A RawTensor from a flat list of values and a shape, for testing kernels directly. */
function raw(values: number[], shape: number[]): RawTensor {
  return { data: Float32Array.from(values), shape };
}

/** The flat values of a RawTensor as a plain array. */
function flat(t: RawTensor): number[] {
  return Array.from(t.data);
}

// %% nbgrader={"grade": true, "grade_id": "test-unit-compute-strides", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
function testUnitComputeStrides(): void {
  assertEqual(computeStrides([2, 3]), [3, 1], "strides of [2, 3]");
  assertEqual(computeStrides([2, 3, 4]), [12, 4, 1], "strides of [2, 3, 4]");
  assertEqual(computeStrides([5]), [1], "strides of a vector");
  // ### BEGIN HIDDEN TESTS
  assertEqual(computeStrides([]), [], "a 0-d tensor has no strides");
  assertEqual(computeStrides([1, 1, 7]), [7, 7, 1], "size-1 dimensions");
  assertEqual(computeStrides([2, 0, 3]), [3, 3, 1], "a zero-size dimension counts as 1");
  assertEqual(computeStrides([4, 3, 2, 5]), [30, 10, 5, 1], "four axes");
  const shape = [2, 3];
  computeStrides(shape);
  assertEqual(shape, [2, 3], "computeStrides must not modify its argument");
  // Seeded: random shapes (ranks 0 to 6, dimensions 0 to 40); the strides are computed here.
  const rs = testRandom("tensor/compute-strides");
  const stridesOracle = (dims: readonly number[]): number[] => {
    const out = new Array<number>(dims.length);
    let step = 1;
    for (let axis = dims.length - 1; axis >= 0; axis--) {
      out[axis] = step;
      step *= dims[axis] === 0 ? 1 : dims[axis];
    }
    return out;
  };
  const strideDim = (): number => (rs.bool(0.1) ? 0 : rs.bool(0.2) ? 1 : rs.int(2, 40));
  for (let c = 0; c < 8; c++) {
    const dims = Array.from({ length: rs.int(c === 0 ? 0 : 1, 6) }, strideDim);
    const unchanged = dims.slice();
    assertEqual(computeStrides(dims), stridesOracle(unchanged), `strides of a random [${dims}]`);
    assertEqual(dims, unchanged, "computeStrides must not modify its argument");
  }
  // ### END HIDDEN TESTS
  passed("testUnitComputeStrides");
}
testUnitComputeStrides();

// %%
//| mutation compute-strides column-major (Fortran order): the first axis gets stride 1
function computeStrides(shape: readonly number[]): number[] {
  const strides = new Array<number>(shape.length);
  let step = 1;
  for (let axis = 0; axis < shape.length; axis++) {
    strides[axis] = step;
    step *= Math.max(shape[axis], 1);
  }
  return strides;
}

// %%
//| mutation compute-strides multiplies in the axis's own dimension before storing its stride
function computeStrides(shape: readonly number[]): number[] {
  const strides = new Array<number>(shape.length);
  let step = 1;
  for (let axis = shape.length - 1; axis >= 0; axis--) {
    step *= Math.max(shape[axis], 1);
    strides[axis] = step;
  }
  return strides;
}

// %%
//| mutation compute-strides lets a zero-size dimension zero every stride before it
function computeStrides(shape: readonly number[]): number[] {
  const strides = new Array<number>(shape.length);
  let step = 1;
  for (let axis = shape.length - 1; axis >= 0; axis--) {
    strides[axis] = step;
    step *= shape[axis];
  }
  return strides;
}

// %% [markdown]
// ### From nested arrays to flat storage
//
// People write tensors as nested arrays: `[[1, 2, 3], [4, 5, 6]]`. The constructor has to find
// the shape (`[2, 3]`) and copy the numbers, in order, into one `Float32Array`. Two details
// matter:
//
// - **The data must be rectangular.** `[[1, 2], [3]]` has no shape; numpy refuses it, and so do
//   we, with an error that says where the rows disagree.
// - **Empty arrays still have a shape.** `[]` has shape `[0]`; `[[], []]` has shape `[2, 0]`.
//
// A plain number is a 0-d tensor (shape `[]`, one element), like `np.array(5.0)`.
//
// ### Exercise 2: `flattenNested`
//
// **TODO**: Return `{ data, shape }` for a number or a (nested) array of numbers.
//
// **APPROACH**:
// 1. Find the shape by following the first element down: the length at each level, until you
//    reach a number. (An empty array ends the walk: its length, 0, is the last dimension.)
// 2. Allocate a `Float32Array` of `shapeSize(shape)` elements.
// 3. Walk the nested arrays recursively, checking at each depth that the array length equals
//    `shape[depth]` and that numbers appear only at the last depth; write the numbers in order.
//
// **HINTS**:
// - `Array.isArray(v)` tells an array from a number; `typeof v === "number"` checks the leaves.
// - Throw an `Error` whose message contains `ragged` when the lengths disagree, and one that
//   contains `number` when a leaf is not a number.
// - Keep a single write position (a counter) shared by the whole walk.

// %% nbgrader={"grade": false, "grade_id": "flatten-nested", "locked": false, "schema_version": 3, "solution": true, "task": false}
//| export
/** The row-major float32 data and the shape of a number or a rectangular nested array. */
function flattenNested(values: NestedArray): { data: Float32Array; shape: number[] } {
  // ### BEGIN SOLUTION
  const shape: number[] = [];
  let probe: NestedArray = values;
  while (Array.isArray(probe)) {
    shape.push(probe.length);
    if (probe.length === 0) break;
    probe = probe[0];
  }
  const data = new Float32Array(shapeSize(shape));
  let write = 0;
  const visit = (node: NestedArray, depth: number, path: string): void => {
    if (depth === shape.length) {
      if (typeof node !== "number") {
        throw new Error(`ragged nested array: expected a number at ${path}, found an array`);
      }
      data[write++] = node;
      return;
    }
    if (!Array.isArray(node)) {
      const found = typeof node === "number" ? "a number" : `a ${typeof node}`;
      throw new Error(
        `ragged nested array: expected an array of length ${shape[depth]} at ${path}, found ${found}`,
      );
    }
    if (node.length !== shape[depth]) {
      throw new Error(
        `ragged nested array: ${path} has length ${node.length}, expected ${shape[depth]}`,
      );
    }
    for (let i = 0; i < node.length; i++) visit(node[i], depth + 1, `${path}[${i}]`);
  };
  if (typeof probe !== "number" && !Array.isArray(probe)) {
    throw new Error(`tensor values must be numbers, found a ${typeof probe}`);
  }
  visit(values, 0, "values");
  return { data, shape };
  // ### END SOLUTION
}

// %% nbgrader={"grade": true, "grade_id": "test-unit-flatten-nested", "locked": true, "points": 3, "schema_version": 3, "solution": false, "task": false}
function testUnitFlattenNested(): void {
  const m = flattenNested([
    [1, 2, 3],
    [4, 5, 6],
  ]);
  assertEqual(m.shape, [2, 3], "shape of a 2x3 matrix");
  assertEqual(Array.from(m.data), [1, 2, 3, 4, 5, 6], "row-major order");
  assert(isFloat32Array(m.data), "data must be a Float32Array");
  const s = flattenNested(7);
  assertEqual(s.shape, [], "a number is a 0-d tensor");
  assertEqual(Array.from(s.data), [7]);
  assertThrows(() => flattenNested([[1, 2], [3]]), "ragged");
  // ### BEGIN HIDDEN TESTS
  assertEqual(flattenNested([]).shape, [0], "empty array");
  assertEqual(flattenNested([[], []]).shape, [2, 0], "two empty rows");
  assertEqual(flattenNested([[[1], [2]], [[3], [4]]]).shape, [2, 2, 1], "3-d");
  assertEqual(Array.from(flattenNested([[[1], [2]], [[3], [4]]]).data), [1, 2, 3, 4]);
  assertClose(Array.from(flattenNested([0.1]).data), [0.1], { rtol: 1e-7 }, "float32 rounding");
  assertEqual(Array.from(flattenNested([0.1]).data), [Math.fround(0.1)], "stored as float32");
  assertThrows(() => flattenNested([1, [2]] as NestedArray), "ragged");
  assertThrows(() => flattenNested([[1], 2] as NestedArray), "ragged");
  assertThrows(() => flattenNested([[1, 2], [3, 4, 5]]), "ragged");
  assertThrows(() => flattenNested([1, "2"] as unknown as NestedArray), "number");
  // Seeded: random rectangular arrays (ranks 1 to 4, sometimes with an empty dimension), random
  // unrounded numbers, a random scalar, and random ragged arrays.
  const rf = testRandom("tensor/flatten-nested");
  const flattenShapeOracle = (dims: readonly number[]): number[] => {
    // A nested array cannot show the dimensions after an empty one: [0, 3] is written [].
    const zero = dims.indexOf(0);
    return zero === -1 ? dims.slice() : dims.slice(0, zero + 1);
  };
  const flattenDataOracle = (v: NestedArray): number[] => {
    const out: number[] = [];
    const walk = (node: NestedArray): void => {
      if (Array.isArray(node)) node.forEach(walk);
      else out.push(Math.fround(node));
    };
    walk(v);
    return out;
  };
  for (let c = 0; c < 6; c++) {
    const dims = rf.shape(rf.int(1, 4), 5, 1);
    if (rf.bool(0.25)) dims[rf.int(0, dims.length - 1)] = 0;
    const values = rf.nested(dims, -100, 100) as NestedArray;
    const got = flattenNested(values);
    assertEqual(got.shape, flattenShapeOracle(dims), `shape of a random [${dims}] array`);
    assertEqual(Array.from(got.data), flattenDataOracle(values), "random values in row-major order");
    assert(isFloat32Array(got.data), "data must be a Float32Array");
  }
  const unrounded = Array.from({ length: rf.int(2, 8) }, () => rf.uniform(-1000, 1000));
  assertEqual(Array.from(flattenNested(unrounded).data), flattenDataOracle(unrounded), "random numbers stored as float32");
  const scalar = rf.uniform(-10, 10);
  assertEqual(flattenNested(scalar).shape, [], "a random number is 0-d");
  assertEqual(Array.from(flattenNested(scalar).data), [Math.fround(scalar)]);
  for (let c = 0; c < 5; c++) {
    // Every dimension is at least 2, so the array changed below always has siblings.
    const dims = rf.shape(rf.int(2, 4), 4, 2);
    const ragged = rf.nested(dims, -10, 10) as NestedArray[];
    const depth = rf.int(1, dims.length - 1);
    let parent = ragged;
    for (let d = 1; d < depth; d++) parent = parent[rf.int(0, parent.length - 1)] as NestedArray[];
    const at = rf.int(0, parent.length - 1);
    const node = parent[at] as NestedArray[];
    const how = rf.int(0, 3);
    if (how === 0) node.push(node[0]); // one element too many
    else if (how === 1) node.pop(); // one too few
    else if (how === 2) parent[at] = rf.uniform(-10, 10); // a number where an array belongs
    else {
      // an array where a number belongs
      let leaves = node;
      while (Array.isArray(leaves[0])) leaves = leaves[rf.int(0, leaves.length - 1)] as NestedArray[];
      const i = rf.int(0, leaves.length - 1);
      leaves[i] = [leaves[i]];
    }
    assertThrows(() => flattenNested(ragged), "ragged", `a random ragged array (${["longer", "shorter", "number", "array"][how]} at depth ${depth})`);
  }
  // ### END HIDDEN TESTS
  passed("testUnitFlattenNested");
}
testUnitFlattenNested();

// %%
//| mutation flatten-nested takes the shape from the first elements and never checks the others (ragged input is accepted)
function flattenNested(values: NestedArray): { data: Float32Array; shape: number[] } {
  const shape: number[] = [];
  let probe: NestedArray = values;
  while (Array.isArray(probe)) {
    shape.push(probe.length);
    if (probe.length === 0) break;
    probe = probe[0];
  }
  const data = new Float32Array(shapeSize(shape));
  let write = 0;
  const visit = (node: NestedArray): void => {
    if (Array.isArray(node)) node.forEach(visit);
    else if (typeof node !== "number") throw new Error(`tensor values must be numbers, found a ${typeof node}`);
    else data[write++] = node;
  };
  visit(values);
  return { data, shape };
}

// %%
//| mutation flatten-nested gives an empty array no shape ([] becomes a 0-d tensor)
function flattenNested(values: NestedArray): { data: Float32Array; shape: number[] } {
  const shape: number[] = [];
  let probe: NestedArray = values;
  while (Array.isArray(probe) && probe.length > 0) {
    shape.push(probe.length);
    probe = probe[0];
  }
  const data = new Float32Array(shapeSize(shape));
  let write = 0;
  const visit = (node: NestedArray, depth: number): void => {
    if (depth === shape.length) {
      if (typeof node !== "number") throw new Error("ragged nested array: expected a number");
      data[write++] = node;
      return;
    }
    if (!Array.isArray(node) || node.length !== shape[depth]) throw new Error("ragged nested array");
    for (const child of node) visit(child, depth + 1);
  };
  if (Array.isArray(values) && values.length === 0) return { data: new Float32Array(0), shape: [] };
  visit(values, 0);
  return { data, shape };
}

// %% [markdown]
// ### Reshape: a new shape for the same numbers
//
// Because the data is one flat row-major block, changing `[2, 3]` into `[3, 2]` or `[6]` needs
// no copying at all: only the shape (and strides) change. That makes `reshape` O(1) in time and
// memory, as long as the number of elements stays the same. (Our tensors are always contiguous,
// so this always holds; numpy sometimes has to copy because its views can be non-contiguous.)
//
// One dimension may be given as `-1`, meaning "whatever makes the sizes match":
// `reshape(-1, 2)` of a 6-element tensor is `[3, 2]`. numpy refuses two `-1`s, a size that does
// not divide, and `-1` when the other dimensions multiply to 0 (then any value would fit).
//
// ### Exercise 3: `resolveShape`
//
// **TODO**: Given the number of elements and a requested shape (maybe with one `-1`), return the
// concrete shape, or throw.
//
// **APPROACH**:
// 1. Count the `-1`s and multiply the other dimensions together; reject other negatives or
//    non-integers.
// 2. With no `-1`: the product must equal `size`.
// 3. With one `-1`: the known product must be non-zero and divide `size`; replace the `-1` by
//    the quotient.
//
// **HINTS**:
// - Error messages should name the size and the requested shape, like numpy's
//   "cannot reshape array of size 6 into shape [4, 2]".
// - Return a new array; do not modify the argument.

// %% nbgrader={"grade": false, "grade_id": "resolve-shape", "locked": false, "schema_version": 3, "solution": true, "task": false}
//| export
/** The concrete shape for reshaping `size` elements into `shape`, where one dim may be -1. */
function resolveShape(size: number, shape: readonly number[]): number[] {
  // ### BEGIN SOLUTION
  let unknownAxis = -1;
  let known = 1;
  for (let axis = 0; axis < shape.length; axis++) {
    const dim = shape[axis];
    if (dim === -1) {
      if (unknownAxis !== -1) throw new Error("can only specify one unknown dimension (-1)");
      unknownAxis = axis;
    } else if (!Number.isInteger(dim) || dim < 0) {
      throw new Error(`invalid dimension ${dim} in shape ${formatShape(shape)}`);
    } else {
      known *= dim;
    }
  }
  const result = shape.slice();
  if (unknownAxis === -1) {
    if (known !== size) {
      throw new Error(`cannot reshape array of size ${size} into shape ${formatShape(shape)}`);
    }
    return result;
  }
  if (known === 0 || size % known !== 0) {
    throw new Error(`cannot reshape array of size ${size} into shape ${formatShape(shape)}`);
  }
  result[unknownAxis] = size / known;
  return result;
  // ### END SOLUTION
}

// %% nbgrader={"grade": true, "grade_id": "test-unit-resolve-shape", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
function testUnitResolveShape(): void {
  assertEqual(resolveShape(6, [3, 2]), [3, 2]);
  assertEqual(resolveShape(6, [-1, 2]), [3, 2], "-1 is inferred");
  assertEqual(resolveShape(24, [2, -1, 4]), [2, 3, 4], "-1 in the middle");
  assertThrows(() => resolveShape(6, [4, 2]), "6");
  // ### BEGIN HIDDEN TESTS
  assertEqual(resolveShape(6, [-1]), [6], "flatten");
  assertEqual(resolveShape(1, []), [], "to 0-d");
  assertEqual(resolveShape(1, [1, 1, -1]), [1, 1, 1]);
  assertEqual(resolveShape(0, [0, 5]), [0, 5], "zero-size without -1");
  assertEqual(resolveShape(0, [-1]), [0], "zero-size flatten");
  assertThrows(() => resolveShape(0, [0, -1]), undefined, "-1 is ambiguous when the rest is 0");
  assertThrows(() => resolveShape(6, [-1, -1]), undefined, "two unknowns");
  assertThrows(() => resolveShape(7, [-1, 2]), undefined, "does not divide");
  assertThrows(() => resolveShape(6, [-2, -3]), undefined, "other negatives");
  assertThrows(() => resolveShape(6, [1.5, 4]), undefined, "non-integers");
  const requested = [-1, 3];
  resolveShape(6, requested);
  assertEqual(requested, [-1, 3], "must not modify the argument");
  // Seeded: random shapes, -1 at a random place, and random invalid requests.
  const rr = testRandom("tensor/resolve-shape");
  const sizeOf = (dims: readonly number[]): number => dims.reduce((p, d) => p * d, 1);
  for (let c = 0; c < 6; c++) {
    const dims = rr.shape(rr.int(1, 5), 6, 1);
    const size = sizeOf(dims);
    assertEqual(resolveShape(size, dims), dims.slice(), `a random [${dims}] as given`);
    const unknown = rr.int(0, dims.length - 1);
    const withUnknown = dims.map((d, i) => (i === unknown ? -1 : d));
    const untouched = withUnknown.slice();
    assertEqual(resolveShape(size, withUnknown), dims.slice(), `-1 at a random place: [${withUnknown}]`);
    assertEqual(withUnknown, untouched, "must not modify the argument");
    const wrongSize = size + rr.int(1, 5);
    assertThrows(() => resolveShape(wrongSize, dims), String(wrongSize), "a size that does not fit is named");
    const known = size / dims[unknown];
    if (known >= 2) {
      const notDividing = known * rr.int(1, 4) + rr.int(1, known - 1);
      assertThrows(() => resolveShape(notDividing, withUnknown), undefined, "-1 that does not divide");
    }
    if (dims.length >= 2) {
      const other = (unknown + rr.int(1, dims.length - 1)) % dims.length;
      const twoUnknowns = withUnknown.map((d, i) => (i === other ? -1 : d));
      assertThrows(() => resolveShape(size, twoUnknowns), undefined, "two unknowns at random places");
    }
    const negative = dims.map((d, i) => (i === unknown ? -rr.int(2, 9) : d));
    assertThrows(() => resolveShape(size, negative), undefined, "another negative dimension");
    const fractional = dims.map((d, i) => (i === unknown ? d + 0.5 : d));
    assertThrows(() => resolveShape(size, fractional), undefined, "a non-integer dimension");
  }
  const flatSize = rr.int(0, 50);
  assertEqual(resolveShape(flatSize, [-1]), [flatSize], "flatten a random size");
  const zeroDims = rr.shape(rr.int(2, 4), 5, 1);
  const zeroAt = rr.int(0, zeroDims.length - 1);
  zeroDims[zeroAt] = 0;
  assertEqual(resolveShape(0, zeroDims), zeroDims.slice(), "a random zero-size shape");
  const zeroUnknown = zeroDims.map((d, i) => (i === (zeroAt + 1) % zeroDims.length ? -1 : d));
  assertThrows(() => resolveShape(0, zeroUnknown), undefined, "-1 is ambiguous when the rest is 0");
  // ### END HIDDEN TESTS
  passed("testUnitResolveShape");
}
testUnitResolveShape();

// %%
//| mutation resolve-shape rounds -1 down when the size does not divide
function resolveShape(size: number, shape: readonly number[]): number[] {
  let unknownAxis = -1;
  let known = 1;
  for (let axis = 0; axis < shape.length; axis++) {
    const dim = shape[axis];
    if (dim === -1) {
      if (unknownAxis !== -1) throw new Error("can only specify one unknown dimension (-1)");
      unknownAxis = axis;
    } else if (!Number.isInteger(dim) || dim < 0) {
      throw new Error(`invalid dimension ${dim} in shape ${formatShape(shape)}`);
    } else {
      known *= dim;
    }
  }
  const result = shape.slice();
  if (unknownAxis === -1) {
    if (known !== size) throw new Error(`cannot reshape array of size ${size} into shape ${formatShape(shape)}`);
    return result;
  }
  if (known === 0) throw new Error(`cannot reshape array of size ${size} into shape ${formatShape(shape)}`);
  result[unknownAxis] = Math.floor(size / known);
  return result;
}

// %%
//| mutation resolve-shape writes the resolved -1 into the caller's array
function resolveShape(size: number, shape: readonly number[]): number[] {
  let unknownAxis = -1;
  let known = 1;
  for (let axis = 0; axis < shape.length; axis++) {
    const dim = shape[axis];
    if (dim === -1) {
      if (unknownAxis !== -1) throw new Error("can only specify one unknown dimension (-1)");
      unknownAxis = axis;
    } else if (!Number.isInteger(dim) || dim < 0) {
      throw new Error(`invalid dimension ${dim} in shape ${formatShape(shape)}`);
    } else {
      known *= dim;
    }
  }
  const result = shape as number[];
  if (unknownAxis === -1) {
    if (known !== size) throw new Error(`cannot reshape array of size ${size} into shape ${formatShape(shape)}`);
    return result;
  }
  if (known === 0 || size % known !== 0) throw new Error(`cannot reshape array of size ${size} into shape ${formatShape(shape)}`);
  result[unknownAxis] = size / known;
  return result;
}

// %%
//| mutation resolve-shape multiplies the -1 into the known product, so any negative passes and the sizes are negated
function resolveShape(size: number, shape: readonly number[]): number[] {
  const known = shape.reduce((p, d) => p * d, 1);
  const unknownAxis = shape.indexOf(-1);
  const result = shape.slice();
  if (unknownAxis === -1) {
    if (known !== size) throw new Error(`cannot reshape array of size ${size} into shape ${formatShape(shape)}`);
    return result;
  }
  if (known === 0 || size % known !== 0) throw new Error(`cannot reshape array of size ${size} into shape ${formatShape(shape)}`);
  result[unknownAxis] = Math.abs(size / known);
  return result;
}

// %% [markdown]
// ## Part 2: Kernels
//
// ### Broadcasting
// Adding a bias vector of shape `[3]` to a batch of shape `[64, 3]` should add the same bias to
// every row. numpy's **broadcasting** makes this work without writing a loop or copying the bias
// 64 times. The rule compares shapes from the *right*:
//
// 1. Line the shapes up at their last axis; pad the shorter one on the left with 1s.
// 2. For each axis, the two dimensions must be equal, or one of them must be 1.
// 3. The result takes the larger dimension on each axis; an operand with 1 there is reused
//    (conceptually stretched) along that axis.
//
// ```
// [64, 3] + [3]       ->  [64, 3] + [1, 3]  ->  [64, 3]
// [4, 1]  + [3]       ->  [4, 1]  + [1, 3]  ->  [4, 3]     (an outer sum)
// [2, 3]  + [2]       ->  3 vs 2 on the last axis: error
// [5, 0]  + [1]       ->  [5, 0]                           (1 stretches to 0, too)
// ```
//
// The stretching is free: we never build the stretched copy. Instead we give the operand a
// **stride of 0** along each broadcast axis, so stepping along that axis keeps reading the same
// numbers. This is `broadcastStrides` below.
//
// ### Exercise 4: `broadcastShapes`
//
// **TODO**: Return the broadcast shape of two shapes, or throw an error naming both.
//
// **APPROACH**:
// 1. The result has `max(a.length, b.length)` axes.
// 2. For each result axis counted from the right, read each operand's dimension there (1 if the
//    operand has fewer axes).
// 3. Equal: keep it. One of them 1: take the other. Otherwise throw.
//
// **HINTS**:
// - Use numpy's wording, with both shapes as `formatShape` prints them: `operands could not be
//   broadcast together with shapes [2, 3] [2]`.
// - Count positions from the right end of each shape: which index of `a` is the `i`-th axis
//   from the right, and which index of the result?
// - A dimension of 0 is not 1: `[0]` and `[2]` do not broadcast, but `[1]` stretches to `[0]`.

// %% nbgrader={"grade": false, "grade_id": "broadcast-shapes", "locked": false, "schema_version": 3, "solution": true, "task": false}
//| export
/** numpy's broadcast shape of two shapes; throws when they are incompatible. */
function broadcastShapes(a: readonly number[], b: readonly number[]): number[] {
  // ### BEGIN SOLUTION
  const ndim = Math.max(a.length, b.length);
  const out = new Array<number>(ndim);
  for (let i = 0; i < ndim; i++) {
    const da = i < a.length ? a[a.length - 1 - i] : 1;
    const db = i < b.length ? b[b.length - 1 - i] : 1;
    if (da !== db && da !== 1 && db !== 1) {
      throw new Error(
        `operands could not be broadcast together with shapes ${formatShape(a)} ${formatShape(b)}`,
      );
    }
    out[ndim - 1 - i] = da === 1 ? db : da;
  }
  return out;
  // ### END SOLUTION
}

// %% nbgrader={"grade": true, "grade_id": "test-unit-broadcast-shapes", "locked": true, "points": 3, "schema_version": 3, "solution": false, "task": false}
function testUnitBroadcastShapes(): void {
  assertEqual(broadcastShapes([64, 3], [3]), [64, 3], "bias over a batch");
  assertEqual(broadcastShapes([4, 1], [3]), [4, 3], "outer");
  assertEqual(broadcastShapes([2, 3], [2, 3]), [2, 3], "same shape");
  assertThrows(() => broadcastShapes([2, 3], [2]), "[2, 3]");
  // ### BEGIN HIDDEN TESTS
  // Cases from numpy's broadcasting documentation.
  assertEqual(broadcastShapes([256, 256, 3], [3]), [256, 256, 3]);
  assertEqual(broadcastShapes([8, 1, 6, 1], [7, 1, 5]), [8, 7, 6, 5]);
  assertEqual(broadcastShapes([5, 4], [1]), [5, 4]);
  assertEqual(broadcastShapes([15, 3, 5], [15, 1, 5]), [15, 3, 5]);
  assertEqual(broadcastShapes([15, 3, 5], [3, 1]), [15, 3, 5]);
  assertEqual(broadcastShapes([], []), [], "two scalars");
  assertEqual(broadcastShapes([], [2, 3]), [2, 3], "scalar on the left");
  assertEqual(broadcastShapes([2, 3], []), [2, 3], "scalar on the right");
  assertEqual(broadcastShapes([5, 0], [1]), [5, 0], "1 stretches to 0");
  assertEqual(broadcastShapes([0], [0]), [0]);
  assertThrows(() => broadcastShapes([0], [2]), "broadcast", "0 does not stretch");
  assertThrows(() => broadcastShapes([2, 1], [8, 4, 3]), "[8, 4, 3]");
  assertThrows(() => broadcastShapes([3], [4]), "[3] [4]");
  // Seeded: random compatible pairs (each operand a random suffix of a random shape, with random
  // 1s) in both orders, and random incompatible pairs.
  const rb = testRandom("tensor/broadcast-shapes");
  const broadcastOracle = (a: readonly number[], b: readonly number[]): number[] => {
    const n = Math.max(a.length, b.length);
    const out: number[] = [];
    for (let i = 0; i < n; i++) {
      const da = a[a.length - n + i] ?? 1;
      const db = b[b.length - n + i] ?? 1;
      out.push(da === 1 ? db : da);
    }
    return out;
  };
  const operandOf = (full: readonly number[]): number[] =>
    full.slice(full.length - rb.int(0, full.length)).map((d) => (rb.bool(0.4) ? 1 : d));
  const shapeText = (s: readonly number[]): string => `[${s.join(", ")}]`;
  for (let c = 0; c < 10; c++) {
    const full = rb.shape(rb.int(0, 5), 7, 1);
    if (full.length > 0 && rb.bool(0.15)) full[rb.int(0, full.length - 1)] = 0;
    const a = operandOf(full);
    const b = operandOf(full);
    assertEqual(broadcastShapes(a, b), broadcastOracle(a, b), `random ${shapeText(a)} with ${shapeText(b)}`);
    assertEqual(broadcastShapes(b, a), broadcastOracle(b, a), "and in the other order");
  }
  for (let c = 0; c < 4; c++) {
    const full = rb.shape(rb.int(1, 4), 6, 1);
    const a = operandOf(full);
    const b = operandOf(full);
    const back = rb.int(1, full.length);
    while (a.length < back) a.unshift(1);
    while (b.length < back) b.unshift(1);
    const da = rb.int(2, 7);
    const other = rb.int(0, 6);
    a[a.length - back] = da;
    b[b.length - back] = other === da || other === 1 ? da + 1 : other;
    assertThrows(() => broadcastShapes(a, b), `${shapeText(a)} ${shapeText(b)}`, "random incompatible shapes are named");
  }
  // ### END HIDDEN TESTS
  passed("testUnitBroadcastShapes");
}
testUnitBroadcastShapes();

// %%
//| mutation broadcast-shapes aligns the shapes from the left (pads the shorter one on the right)
function broadcastShapes(a: readonly number[], b: readonly number[]): number[] {
  const ndim = Math.max(a.length, b.length);
  const out = new Array<number>(ndim);
  for (let i = 0; i < ndim; i++) {
    const da = i < a.length ? a[i] : 1;
    const db = i < b.length ? b[i] : 1;
    if (da !== db && da !== 1 && db !== 1) {
      throw new Error(`operands could not be broadcast together with shapes ${formatShape(a)} ${formatShape(b)}`);
    }
    out[i] = da === 1 ? db : da;
  }
  return out;
}

// %%
//| mutation broadcast-shapes takes the larger dimension on each axis without checking (3 against 2 gives 3; 1 against 0 gives 1)
function broadcastShapes(a: readonly number[], b: readonly number[]): number[] {
  const ndim = Math.max(a.length, b.length);
  const out = new Array<number>(ndim);
  for (let i = 0; i < ndim; i++) {
    const da = i < a.length ? a[a.length - 1 - i] : 1;
    const db = i < b.length ? b[b.length - 1 - i] : 1;
    out[ndim - 1 - i] = Math.max(da, db);
  }
  return out;
}

// %% [markdown]
// ### Element-wise operations with broadcasting
//
// With the output shape known, an element-wise kernel visits every output position once, reads
// one number from each operand, and writes `op(x, y)`. The cost is easy to state: one
// arithmetic operation per output element, and about 12 bytes of memory traffic per element
// (two 4-byte reads, one 4-byte write) when neither side is broadcast. That ratio of work to
// bytes is tiny, so element-wise kernels are limited by **memory bandwidth**, not by arithmetic:
// the only way to make them faster is to move fewer bytes, for example by fusing several
// operations into one pass (a later module returns to this).
//
// To visit the output we use an **odometer**: a counter per axis, the last one spinning fastest.
// Alongside it we keep one offset into each operand; moving one step along an axis adds that
// operand's (broadcast) stride, and when an axis wraps around we subtract `stride * dim` and
// carry into the next axis, exactly like the digits of a car's odometer. The innermost axis gets
// its own tight loop, because that is where the time goes.
//
// Two cases skip the odometer entirely: when both operands have as many elements as the output
// (no broadcasting happened, so all three are laid out identically) and when one operand is a
// single number.

// %%
//| export
/**
 * Strides (in elements) for reading a tensor of shape `shape` as if it had the broadcast shape
 * `outShape`: 0 on every axis where the tensor is stretched (its dimension is 1, or the axis is
 * missing on the left).
 */
function broadcastStrides(shape: readonly number[], outShape: readonly number[]): number[] {
  const own = computeStrides(shape);
  const offset = outShape.length - shape.length;
  const strides = new Array<number>(outShape.length).fill(0);
  for (let axis = 0; axis < shape.length; axis++) {
    strides[axis + offset] = shape[axis] === 1 ? 0 : own[axis];
  }
  return strides;
}

// %% [markdown]
// ### Exercise 5: `elementwiseKernel`
//
// **TODO**: Compute `op(a, b)` element by element with broadcasting, into a new `RawTensor`.
//
// **APPROACH**:
// 1. `shape = broadcastShapes(a.shape, b.shape)`, `size = shapeSize(shape)`, and a new
//    `Float32Array(size)`. Return at once if `size` is 0.
// 2. Fast paths: if both `a.data` and `b.data` have `size` elements, one flat loop; if one of
//    them has a single element, a flat loop that reuses it.
// 3. General case: `broadcastStrides` for each operand; an odometer over every axis but the last,
//    keeping one offset per operand; a tight inner loop over the last axis, in which each
//    operand advances by its own broadcast stride of that axis (0 when it is stretched).
//
// **HINTS**:
// - Work the odometer out on paper before coding it, for an output of shape `[2, 3, 4]` and an
//   operand of shape `[3, 1]`: what are the operand's broadcast strides, and what are its
//   offsets at the start of each of the six rows of the output? Write down what changes when
//   the counter of axis 1 goes from 2 back to 0.
// - When an axis's counter wraps, its offset contribution must go back to where that axis
//   started. What must you subtract, for each operand?
// - The fast paths must keep the order of the operands: `op(x, y)` is not `op(y, x)` for `-`.

// %% nbgrader={"grade": false, "grade_id": "elementwise-kernel", "locked": false, "schema_version": 3, "solution": true, "task": false}
//| export
/** op(a, b) element by element, with numpy broadcasting, into a new contiguous tensor. */
function elementwiseKernel(
  a: RawTensor,
  b: RawTensor,
  op: (x: number, y: number) => number,
): RawTensor {
  // ### BEGIN SOLUTION
  const shape = broadcastShapes(a.shape, b.shape);
  const size = shapeSize(shape);
  const out = new Float32Array(size);
  if (size === 0) return { data: out, shape };
  const ad = a.data;
  const bd = b.data;
  if (ad.length === size && bd.length === size) {
    for (let i = 0; i < size; i++) out[i] = op(ad[i], bd[i]);
    return { data: out, shape };
  }
  if (bd.length === 1) {
    const y = bd[0];
    for (let i = 0; i < size; i++) out[i] = op(ad[i], y);
    return { data: out, shape };
  }
  if (ad.length === 1) {
    const x = ad[0];
    for (let i = 0; i < size; i++) out[i] = op(x, bd[i]);
    return { data: out, shape };
  }
  const ndim = shape.length;
  const aStrides = broadcastStrides(a.shape, shape);
  const bStrides = broadcastStrides(b.shape, shape);
  const inner = shape[ndim - 1];
  const aInner = aStrides[ndim - 1];
  const bInner = bStrides[ndim - 1];
  const index = new Array<number>(ndim - 1).fill(0);
  let aOffset = 0;
  let bOffset = 0;
  for (let start = 0; start < size; start += inner) {
    for (let j = 0; j < inner; j++) {
      out[start + j] = op(ad[aOffset + j * aInner], bd[bOffset + j * bInner]);
    }
    for (let axis = ndim - 2; axis >= 0; axis--) {
      index[axis]++;
      aOffset += aStrides[axis];
      bOffset += bStrides[axis];
      if (index[axis] < shape[axis]) break;
      index[axis] = 0;
      aOffset -= aStrides[axis] * shape[axis];
      bOffset -= bStrides[axis] * shape[axis];
    }
  }
  return { data: out, shape };
  // ### END SOLUTION
}

// %% nbgrader={"grade": true, "grade_id": "test-unit-elementwise-kernel", "locked": true, "points": 4, "schema_version": 3, "solution": false, "task": false}
function testUnitElementwiseKernel(): void {
  const plus = (x: number, y: number): number => x + y;
  const same = elementwiseKernel(raw([1, 2, 3], [3]), raw([10, 20, 30], [3]), plus);
  assertShape(same.shape, [3]);
  assertEqual(flat(same), [11, 22, 33], "same shape");
  const rows = elementwiseKernel(raw([1, 2, 3, 4, 5, 6], [2, 3]), raw([10, 20, 30], [3]), plus);
  assertShape(rows.shape, [2, 3]);
  assertEqual(flat(rows), [11, 22, 33, 14, 25, 36], "a row added to every row");
  const outer = elementwiseKernel(raw([1, 2], [2, 1]), raw([10, 20, 30], [3]), plus);
  assertShape(outer.shape, [2, 3]);
  assertEqual(flat(outer), [11, 21, 31, 12, 22, 32], "column + row = outer sum");
  // ### BEGIN HIDDEN TESTS
  const minus = (x: number, y: number): number => x - y;
  const scalarLeft = elementwiseKernel(raw([10], []), raw([1, 2, 3, 4], [2, 2]), minus);
  assertShape(scalarLeft.shape, [2, 2]);
  assertEqual(flat(scalarLeft), [9, 8, 7, 6], "0-d on the left, order of operands kept");
  const scalarRight = elementwiseKernel(raw([1, 2, 3, 4], [2, 2]), raw([10], []), minus);
  assertEqual(flat(scalarRight), [-9, -8, -7, -6], "0-d on the right");
  const col = elementwiseKernel(raw([1, 2, 3, 4, 5, 6], [2, 3]), raw([100, 200], [2, 1]), minus);
  assertEqual(flat(col), [-99, -98, -97, -196, -195, -194], "column broadcast");
  // [2, 1, 3] with [4, 1]: result [2, 4, 3], both operands stretched on different axes.
  const a3 = raw([1, 2, 3, 4, 5, 6], [2, 1, 3]);
  const b3 = raw([0, 10, 20, 30], [4, 1]);
  const r3 = elementwiseKernel(a3, b3, plus);
  assertShape(r3.shape, [2, 4, 3]);
  const expected: number[] = [];
  for (let i = 0; i < 2; i++)
    for (let j = 0; j < 4; j++) for (let k = 0; k < 3; k++) expected.push(1 + i * 3 + k + j * 10);
  assertEqual(flat(r3), expected, "3-d broadcast on two axes");
  const empty = elementwiseKernel(raw([], [0, 3]), raw([1, 2, 3], [3]), plus);
  assertShape(empty.shape, [0, 3], "zero-size result");
  assertEqual(empty.data.length, 0);
  const zeroDim = elementwiseKernel(raw([], [5, 0]), raw([7], [1]), plus);
  assertShape(zeroDim.shape, [5, 0]);
  const divide = (x: number, y: number): number => x / y;
  const div = elementwiseKernel(raw([1, -1, 0], [3]), raw([0, 0, 0], [3]), divide);
  assert(div.data[0] === Infinity && div.data[1] === -Infinity, "x/0 is ±Infinity");
  assert(Number.isNaN(div.data[2]), "0/0 is NaN");
  assertThrows(() => elementwiseKernel(raw([1, 2, 3], [3]), raw([1, 2], [2]), plus), "broadcast");
  const input = raw([1, 2], [2]);
  elementwiseKernel(input, raw([5], [1]), plus);
  assertEqual(flat(input), [1, 2], "inputs are not modified");
  assert(isFloat32Array(rows.data), "result is a Float32Array");
  // Seeded: random broadcastable shape pairs (general, equal shapes, one side a single number),
  // random values and a random operation; the result is computed here element by element.
  const re = testRandom("tensor/elementwise-kernel");
  const elementwiseOracle = (
    a: RawTensor,
    b: RawTensor,
    op: (x: number, y: number) => number,
  ): { shape: number[]; data: number[] } => {
    const n = Math.max(a.shape.length, b.shape.length);
    const aDims = [...new Array<number>(n - a.shape.length).fill(1), ...a.shape];
    const bDims = [...new Array<number>(n - b.shape.length).fill(1), ...b.shape];
    const shape = aDims.map((d, i) => (d === 1 ? bDims[i] : d));
    const size = shape.reduce((p, d) => p * d, 1);
    const data: number[] = [];
    for (let o = 0; o < size; o++) {
      let rest = o;
      let ia = 0;
      let ib = 0;
      let sa = 1;
      let sb = 1;
      for (let axis = n - 1; axis >= 0; axis--) {
        const idx = rest % shape[axis];
        rest = Math.floor(rest / shape[axis]);
        if (aDims[axis] !== 1) ia += idx * sa;
        if (bDims[axis] !== 1) ib += idx * sb;
        sa *= aDims[axis];
        sb *= bDims[axis];
      }
      data.push(Math.fround(op(a.data[ia], b.data[ib])));
    }
    return { shape, data };
  };
  const ops: Array<(x: number, y: number) => number> = [plus, minus, (x, y) => x * y, (x, y) => x / y];
  const suffixOf = (full: readonly number[]): number[] =>
    full.slice(full.length - re.int(0, full.length)).map((d) => (re.bool(0.4) ? 1 : d));
  const randomRaw = (dims: number[]): RawTensor =>
    raw(re.numbers(dims.reduce((p, d) => p * d, 1), -4, 4), dims);
  for (let c = 0; c < 9; c++) {
    const full = re.shape(re.int(c % 3 === 1 ? 1 : 0, 4), 4, 1);
    if (c % 3 === 0 && full.length > 0 && re.bool(0.2)) full[re.int(0, full.length - 1)] = 0;
    let a = randomRaw(c % 3 === 1 ? full.slice() : suffixOf(full));
    let b = randomRaw(c % 3 === 1 ? full.slice() : c % 3 === 2 ? re.pick([[], [1]]) : suffixOf(full));
    if (re.bool()) [a, b] = [b, a];
    const op = re.pick(ops);
    const aBefore = flat(a);
    const bBefore = flat(b);
    const got = elementwiseKernel(a, b, op);
    const what = `random [${a.shape}] and [${b.shape}], operation ${ops.indexOf(op)}`;
    assertShape(got.shape, elementwiseOracle(a, b, op).shape, what);
    assertEqual(flat(got), elementwiseOracle(a, b, op).data, what);
    assertEqual([flat(a), flat(b)], [aBefore, bBefore], "inputs are not modified");
  }
  // ### END HIDDEN TESTS
  passed("testUnitElementwiseKernel");
}
testUnitElementwiseKernel();

// %%
//| mutation elementwise-kernel never rewinds an operand's offset when an axis wraps around
function elementwiseKernel(
  a: RawTensor,
  b: RawTensor,
  op: (x: number, y: number) => number,
): RawTensor {
  const shape = broadcastShapes(a.shape, b.shape);
  const size = shapeSize(shape);
  const out = new Float32Array(size);
  if (size === 0) return { data: out, shape };
  const ad = a.data;
  const bd = b.data;
  if (ad.length === size && bd.length === size) {
    for (let i = 0; i < size; i++) out[i] = op(ad[i], bd[i]);
    return { data: out, shape };
  }
  if (bd.length === 1) {
    const y = bd[0];
    for (let i = 0; i < size; i++) out[i] = op(ad[i], y);
    return { data: out, shape };
  }
  if (ad.length === 1) {
    const x = ad[0];
    for (let i = 0; i < size; i++) out[i] = op(x, bd[i]);
    return { data: out, shape };
  }
  const ndim = shape.length;
  const aStrides = broadcastStrides(a.shape, shape);
  const bStrides = broadcastStrides(b.shape, shape);
  const inner = shape[ndim - 1];
  const aInner = aStrides[ndim - 1];
  const bInner = bStrides[ndim - 1];
  const index = new Array<number>(ndim - 1).fill(0);
  let aOffset = 0;
  let bOffset = 0;
  for (let start = 0; start < size; start += inner) {
    for (let j = 0; j < inner; j++) {
      out[start + j] = op(ad[aOffset + j * aInner], bd[bOffset + j * bInner]);
    }
    for (let axis = ndim - 2; axis >= 0; axis--) {
      index[axis]++;
      aOffset += aStrides[axis];
      bOffset += bStrides[axis];
      if (index[axis] < shape[axis]) break;
      index[axis] = 0;
      // (the offsets are not rewound)
    }
  }
  return { data: out, shape };
}

// %%
//| mutation elementwise-kernel gives operands their strides from the left, as if broadcasting aligned the first axes
function elementwiseKernel(
  a: RawTensor,
  b: RawTensor,
  op: (x: number, y: number) => number,
): RawTensor {
  const shape = broadcastShapes(a.shape, b.shape);
  const size = shapeSize(shape);
  const out = new Float32Array(size);
  if (size === 0) return { data: out, shape };
  const ad = a.data;
  const bd = b.data;
  if (ad.length === size && bd.length === size) {
    for (let i = 0; i < size; i++) out[i] = op(ad[i], bd[i]);
    return { data: out, shape };
  }
  if (bd.length === 1) {
    const y = bd[0];
    for (let i = 0; i < size; i++) out[i] = op(ad[i], y);
    return { data: out, shape };
  }
  if (ad.length === 1) {
    const x = ad[0];
    for (let i = 0; i < size; i++) out[i] = op(x, bd[i]);
    return { data: out, shape };
  }
  const ndim = shape.length;
  // Each operand's own strides, placed on the first axes of the output (left-aligned).
  const leftAligned = (t: RawTensor): number[] => {
    const own = computeStrides(t.shape);
    return Array.from({ length: ndim }, (_, axis) => (axis < t.shape.length && t.shape[axis] !== 1 ? own[axis] : 0));
  };
  const aStrides = leftAligned(a);
  const bStrides = leftAligned(b);
  const inner = shape[ndim - 1];
  const aInner = aStrides[ndim - 1];
  const bInner = bStrides[ndim - 1];
  const index = new Array<number>(ndim - 1).fill(0);
  let aOffset = 0;
  let bOffset = 0;
  for (let start = 0; start < size; start += inner) {
    for (let j = 0; j < inner; j++) {
      out[start + j] = op(ad[aOffset + j * aInner], bd[bOffset + j * bInner]);
    }
    for (let axis = ndim - 2; axis >= 0; axis--) {
      index[axis]++;
      aOffset += aStrides[axis];
      bOffset += bStrides[axis];
      if (index[axis] < shape[axis]) break;
      index[axis] = 0;
      aOffset -= aStrides[axis] * shape[axis];
      bOffset -= bStrides[axis] * shape[axis];
    }
  }
  return { data: out, shape };
}

// %%
//| mutation elementwise-kernel swaps the operands in the one-number fast path (b - a instead of a - b)
function elementwiseKernel(
  a: RawTensor,
  b: RawTensor,
  op: (x: number, y: number) => number,
): RawTensor {
  const shape = broadcastShapes(a.shape, b.shape);
  const size = shapeSize(shape);
  const out = new Float32Array(size);
  if (size === 0) return { data: out, shape };
  const ad = a.data;
  const bd = b.data;
  if (ad.length === size && bd.length === size) {
    for (let i = 0; i < size; i++) out[i] = op(ad[i], bd[i]);
    return { data: out, shape };
  }
  if (bd.length === 1) {
    const y = bd[0];
    for (let i = 0; i < size; i++) out[i] = op(y, ad[i]);
    return { data: out, shape };
  }
  if (ad.length === 1) {
    const x = ad[0];
    for (let i = 0; i < size; i++) out[i] = op(x, bd[i]);
    return { data: out, shape };
  }
  const ndim = shape.length;
  const aStrides = broadcastStrides(a.shape, shape);
  const bStrides = broadcastStrides(b.shape, shape);
  const inner = shape[ndim - 1];
  const aInner = aStrides[ndim - 1];
  const bInner = bStrides[ndim - 1];
  const index = new Array<number>(ndim - 1).fill(0);
  let aOffset = 0;
  let bOffset = 0;
  for (let start = 0; start < size; start += inner) {
    for (let j = 0; j < inner; j++) {
      out[start + j] = op(ad[aOffset + j * aInner], bd[bOffset + j * bInner]);
    }
    for (let axis = ndim - 2; axis >= 0; axis--) {
      index[axis]++;
      aOffset += aStrides[axis];
      bOffset += bStrides[axis];
      if (index[axis] < shape[axis]) break;
      index[axis] = 0;
      aOffset -= aStrides[axis] * shape[axis];
      bOffset -= bStrides[axis] * shape[axis];
    }
  }
  return { data: out, shape };
}

// %% [markdown]
// ### Matrix multiplication
//
// `C = A @ B` for `A` of shape `[m, k]` and `B` of shape `[k, n]` gives `C` of shape `[m, n]`,
// with `C[i][j] = sum over p of A[i][p] * B[p][j]`. Each of the `m*n` outputs needs `k`
// multiplications and `k` additions, so the cost is **`2*m*k*n` FLOPs**, while the data is only
// `4*(m*k + k*n + m*n)` bytes. For square matrices that is `2n³` operations on `12n²` bytes:
// every number is reused about `n/6` times. Unlike element-wise work, matmul can keep the
// arithmetic units busy, *if* the loops reuse data while it is still in the cache.
//
// ### Why the loop order matters
// The textbook loop is `i, j, p` (row of C, column of C, then the sum). Its inner loop walks
// down a **column** of `B`: `B[p][j]` for `p = 0, 1, 2, ...`, which in row-major storage means
// jumping `n` elements (`4n` bytes) at each step. The CPU loads memory in 64-byte cache lines
// (16 floats), so each jump uses 4 bytes of a 64-byte line; for large `n` the line is evicted
// before its neighbours are needed.
//
// Swap the two inner loops to get **`i, p, j`** (usually written i-k-j):
//
// ```
// for i in rows of A:
//   for p in 0..k:
//     a = A[i][p]                      # one number, kept in a register
//     for j in 0..n:                   # walks row p of B and row i of C, both contiguous
//       C[i][j] += a * B[p][j]
// ```
//
// Now the inner loop reads a row of `B` and updates a row of `C`, both sequentially. Every byte
// of every cache line is used, the hardware prefetcher sees a simple stream, and the JIT can
// keep `a` in a register. Same arithmetic, same result up to rounding order.
//
// How much it helps depends on whether `B` fits in the cache. On the machine this course was
// written on, the two orders run at the same speed at 128x128 (all of `B`, 64 KB, sits in the
// L2 cache), i-k-j is about 1.6x faster at 512x512 and 2.2x at 1024x1024. In C the gap is far
// larger, because a compiler turns the contiguous i-k-j inner loop into SIMD instructions and
// cannot do that for the strided one; V8 does not vectorise, so in JavaScript part of the cost
// of every loop is the scalar work and the bounds checks.
//
// ### Four rows of `B` per pass
// Look at what the i-k-j inner loop does per multiply-add: it loads `C[i][j]`, loads
// `B[p][j]`, and stores `C[i][j]` back. Three memory operations for two FLOPs. If we take four
// consecutive values of `p` at once, the inner loop becomes
//
// ```
// C[i][j] += a0*B[p][j] + a1*B[p+1][j] + a2*B[p+2][j] + a3*B[p+3][j]
// ```
//
// which is still i-k-j order (each of the four rows of `B` is read sequentially) but loads and
// stores `C[i][j]` once per **eight** FLOPs. A plain loop handles the last `k % 4` rows. Here
// this is about twice as fast again, and it is the version the reference package ships; the
// `bench:tensor` script compares it with TensorFlow.js's CPU backend.
//
// Going further (tiles that fit in L1, SIMD through WebAssembly, several threads) is what BLAS
// libraries do; a later acceleration module takes that road.
//
// ### Exercise 6: `matmul2dInto`
//
// **TODO**: Accumulate the product of an `[m, k]` matrix and a `[k, n]` matrix into an
// `[m, n]` output, all three stored inside larger flat arrays at the given offsets, in i-k-j
// order.
//
// **APPROACH**:
// 1. Write the three loops in i-k-j order from the pseudocode above. The only new part is the
//    addressing: derive the flat position of `A[i][p]`, `B[p][j]` and `C[i][j]` inside `a`, `b`
//    and `out`, from the offsets and the row lengths `k`, `n` and `n`.
// 2. Once that passes the test, try the four-rows version and time it with the demo below.
//
// **HINTS**:
// - *Accumulate*: add into `out`, do not overwrite it. The caller may have put something there
//   already (the tests do), and module 18 relies on adding partial products.
// - Elements outside the `[m, n]` block of `out` must not change.
// - Compute each row's starting position once, outside the inner loop, and add `j` inside it.
//   (`subarray` row views look tidier, but each one is a new object: on Node 20 the four-rows
//   loop with views ran at about 70% of the speed of plain offsets on `[64, 784] @ [784, 128]`,
//   and at a quarter of it for a narrow `n` such as 10.)
// - The four-rows version must still handle every `k`: what happens to the last `k % 4` rows?

// %% nbgrader={"grade": false, "grade_id": "matmul-2d", "locked": false, "schema_version": 3, "solution": true, "task": false}
//| export
/**
 * out[outOffset..] += A @ B for row-major A = a[aOffset..] of shape [m, k] and
 * B = b[bOffset..] of shape [k, n], in cache-friendly i-k-j loop order.
 */
function matmul2dInto(
  a: Float32Array,
  aOffset: number,
  b: Float32Array,
  bOffset: number,
  out: Float32Array,
  outOffset: number,
  m: number,
  k: number,
  n: number,
): void {
  // ### BEGIN SOLUTION
  for (let i = 0; i < m; i++) {
    const outRow = outOffset + i * n;
    const aRow = aOffset + i * k;
    let p = 0;
    // Four rows of B per pass: one load and store of C[i][j] per eight FLOPs.
    for (; p + 3 < k; p += 4) {
      const a0 = a[aRow + p];
      const a1 = a[aRow + p + 1];
      const a2 = a[aRow + p + 2];
      const a3 = a[aRow + p + 3];
      const b0 = bOffset + p * n;
      const b1 = b0 + n;
      const b2 = b1 + n;
      const b3 = b2 + n;
      for (let j = 0; j < n; j++) {
        out[outRow + j] += a0 * b[b0 + j] + a1 * b[b1 + j] + a2 * b[b2 + j] + a3 * b[b3 + j];
      }
    }
    // The remaining k % 4 rows, one at a time: the plain i-k-j loop.
    for (; p < k; p++) {
      const aip = a[aRow + p];
      const bRow = bOffset + p * n;
      for (let j = 0; j < n; j++) out[outRow + j] += aip * b[bRow + j];
    }
  }
  // ### END SOLUTION
}

// %% nbgrader={"grade": true, "grade_id": "test-unit-matmul-2d", "locked": true, "points": 3, "schema_version": 3, "solution": false, "task": false}
function testUnitMatmul2dInto(): void {
  const a = Float32Array.from([1, 2, 3, 4, 5, 6]); // [2, 3]
  const b = Float32Array.from([7, 8, 9, 10, 11, 12]); // [3, 2]
  const out = new Float32Array(4);
  matmul2dInto(a, 0, b, 0, out, 0, 2, 3, 2);
  assertEqual(Array.from(out), [58, 64, 139, 154], "[2, 3] @ [3, 2]");
  // ### BEGIN HIDDEN TESTS
  // Offsets: the same product stored after some padding in each array.
  const pa = Float32Array.from([-1, -1, 1, 2, 3, 4, 5, 6]);
  const pb = Float32Array.from([-9, 7, 8, 9, 10, 11, 12]);
  const po = Float32Array.from([5, 5, 5, 0, 0, 0, 0, 5]);
  matmul2dInto(pa, 2, pb, 1, po, 3, 2, 3, 2);
  assertEqual(Array.from(po), [5, 5, 5, 58, 64, 139, 154, 5], "offsets, and nothing else touched");
  // It accumulates into out.
  const acc = Float32Array.from([1, 1, 1, 1]);
  matmul2dInto(a, 0, b, 0, acc, 0, 2, 3, 2);
  assertEqual(Array.from(acc), [59, 65, 140, 155], "adds into out");
  // Non-square, compared with a direct triple loop.
  const m = 5;
  const k = 7;
  const n = 3;
  const x = Float32Array.from({ length: m * k }, (_, i) => ((i * 7) % 11) - 5);
  const y = Float32Array.from({ length: k * n }, (_, i) => ((i * 5) % 9) - 4);
  const got = new Float32Array(m * n);
  matmul2dInto(x, 0, y, 0, got, 0, m, k, n);
  const want: number[] = [];
  for (let i = 0; i < m; i++)
    for (let j = 0; j < n; j++) {
      let s = 0;
      for (let p = 0; p < k; p++) s += x[i * k + p] * y[p * n + j];
      want.push(s);
    }
  assertEqual(Array.from(got), want, "[5, 7] @ [7, 3]");
  const none = Float32Array.from([3, 3]);
  matmul2dInto(x, 0, y, 0, none, 0, 1, 0, 2);
  assertEqual(Array.from(none), [3, 3], "k = 0 adds nothing");
  // Seeded: random sizes (k from 0 to 9, so every k % 4 occurs), random offsets and padding,
  // random starting values in out; small integers (exact) and random floats.
  const rm = testRandom("tensor/matmul-2d");
  const matmul2dOracle = (
    a: Float32Array,
    aOffset: number,
    b: Float32Array,
    bOffset: number,
    initial: Float32Array,
    outOffset: number,
    rows: number,
    inner: number,
    cols: number,
  ): number[] => {
    const result = Array.from(initial);
    for (let i = 0; i < rows; i++) {
      for (let j = 0; j < cols; j++) {
        let sum = initial[outOffset + i * cols + j];
        for (let p = 0; p < inner; p++) sum += a[aOffset + i * inner + p] * b[bOffset + p * cols + j];
        result[outOffset + i * cols + j] = Math.fround(sum);
      }
    }
    return result;
  };
  for (let c = 0; c < 6; c++) {
    const integers = c < 3;
    const draw = (count: number): Float32Array =>
      Float32Array.from(integers ? Array.from({ length: count }, () => rm.int(-5, 5)) : rm.numbers(count, -1, 1));
    const [rows, inner, cols] = [rm.int(1, 6), rm.int(0, 9), rm.int(1, 6)];
    const [aOff, bOff, oOff] = [rm.int(0, 4), rm.int(0, 4), rm.int(0, 4)];
    const ma = draw(aOff + rows * inner + rm.int(0, 3));
    const mb = draw(bOff + inner * cols + rm.int(0, 3));
    const mo = draw(oOff + rows * cols + rm.int(0, 3));
    const initial = mo.slice();
    matmul2dInto(ma, aOff, mb, bOff, mo, oOff, rows, inner, cols);
    const what = `random [${rows}, ${inner}] @ [${inner}, ${cols}] at offsets ${aOff}, ${bOff}, ${oOff}`;
    if (integers) {
      assertEqual(Array.from(mo), matmul2dOracle(ma, aOff, mb, bOff, initial, oOff, rows, inner, cols), what);
    } else {
      assertClose(
        Array.from(mo),
        matmul2dOracle(ma, aOff, mb, bOff, initial, oOff, rows, inner, cols),
        { rtol: 1e-5, atol: 1e-5 },
        what,
      );
    }
  }
  // ### END HIDDEN TESTS
  passed("testUnitMatmul2dInto");
}
testUnitMatmul2dInto();

// %%
//| mutation matmul-2d overwrites out instead of accumulating into it
function matmul2dInto(
  a: Float32Array,
  aOffset: number,
  b: Float32Array,
  bOffset: number,
  out: Float32Array,
  outOffset: number,
  m: number,
  k: number,
  n: number,
): void {
  for (let i = 0; i < m; i++) {
    const outRow = out.subarray(outOffset + i * n, outOffset + (i + 1) * n);
    outRow.fill(0);
    for (let p = 0; p < k; p++) {
      const aip = a[aOffset + i * k + p];
      const bRow = b.subarray(bOffset + p * n, bOffset + (p + 1) * n);
      for (let j = 0; j < n; j++) outRow[j] += aip * bRow[j];
    }
  }
}

// %%
//| mutation matmul-2d four rows of B per pass, but the last k % 4 rows are forgotten
function matmul2dInto(
  a: Float32Array,
  aOffset: number,
  b: Float32Array,
  bOffset: number,
  out: Float32Array,
  outOffset: number,
  m: number,
  k: number,
  n: number,
): void {
  for (let i = 0; i < m; i++) {
    const outRow = out.subarray(outOffset + i * n, outOffset + (i + 1) * n);
    const aRow = aOffset + i * k;
    for (let p = 0; p + 3 < k; p += 4) {
      const [a0, a1, a2, a3] = [a[aRow + p], a[aRow + p + 1], a[aRow + p + 2], a[aRow + p + 3]];
      const b0 = b.subarray(bOffset + p * n, bOffset + (p + 1) * n);
      const b1 = b.subarray(bOffset + (p + 1) * n, bOffset + (p + 2) * n);
      const b2 = b.subarray(bOffset + (p + 2) * n, bOffset + (p + 3) * n);
      const b3 = b.subarray(bOffset + (p + 3) * n, bOffset + (p + 4) * n);
      for (let j = 0; j < n; j++) outRow[j] += a0 * b0[j] + a1 * b1[j] + a2 * b2[j] + a3 * b3[j];
    }
  }
}

// %%
//| mutation matmul-2d reads B with A's row length (B[p][j] at p * k + j)
function matmul2dInto(
  a: Float32Array,
  aOffset: number,
  b: Float32Array,
  bOffset: number,
  out: Float32Array,
  outOffset: number,
  m: number,
  k: number,
  n: number,
): void {
  for (let i = 0; i < m; i++) {
    for (let p = 0; p < k; p++) {
      const aip = a[aOffset + i * k + p];
      for (let j = 0; j < n; j++) out[outOffset + i * n + j] += aip * b[bOffset + p * k + j];
    }
  }
}

// %% [markdown]
// ### Predict, then measure
//
// Before running the timing below, write down two numbers:
//
// 1. How many **FLOPs** does the product of a `[256, 512]` matrix and a `[512, 128]` matrix
//    take (a multiply and an add count as two)?
// 2. How many times faster is the plain i-k-j loop than the textbook i-j-k loop on 512x512
//    matrices, on this machine? Not graded: you will compare it with the measurement in
//    Question 1.

// %% nbgrader={"grade": false, "grade_id": "predict-matmul-flops", "locked": false, "schema_version": 3, "solution": true, "task": false}
/** Your prediction: FLOPs of [256, 512] @ [512, 128]. */
function predictedMatmulFlops(): number {
  // ### BEGIN SOLUTION
  return 2 * 256 * 512 * 128;
  // ### END SOLUTION
}

// %%
//| mutation predict-matmul-flops counts multiply-adds, not FLOPs
function predictedMatmulFlops(): number {
  return 256 * 512 * 128;
}

// %%
/** Your guess (not graded): how many times faster i-k-j is than i-j-k at 512x512. Replace the 0. */
const predictedLoopOrderSpeedup = 0;

// %% [markdown]
// ### Seeing the cache at work
// The cell below times three loops on the same 512x512 matrices: the textbook i-j-k order, the
// plain i-k-j order, and your `matmul2dInto`. The numbers depend on the machine and on what
// else it is doing; the ratios are the point. (A demo, not a test: nothing here is graded.)

// %%
await demo("loop order timing", () => {
  const n = 512;
  const a = Float32Array.from({ length: n * n }, (_, i) => (i % 17) / 17);
  const b = Float32Array.from({ length: n * n }, (_, i) => (i % 13) / 13);
  const ijk = (out: Float32Array): void => {
    for (let i = 0; i < n; i++)
      for (let j = 0; j < n; j++) {
        let s = 0;
        for (let p = 0; p < n; p++) s += a[i * n + p] * b[p * n + j];
        out[i * n + j] = s;
      }
  };
  const ikj = (out: Float32Array): void => {
    for (let i = 0; i < n; i++)
      for (let p = 0; p < n; p++) {
        const aip = a[i * n + p];
        for (let j = 0; j < n; j++) out[i * n + j] += aip * b[p * n + j];
      }
  };
  const time = (fn: () => void): number => {
    let best = Infinity;
    for (let r = 0; r < 2; r++) {
      const t0 = performance.now();
      fn();
      best = Math.min(best, performance.now() - t0);
    }
    return best;
  };
  const gflops = (ms: number): string => ((2 * n * n * n) / (ms * 1e6)).toFixed(2);
  // Your kernel first, so an unfinished exercise stops the demo before the slow loops run.
  const rows: [string, () => void][] = [
    ["matmul2dInto", () => matmul2dInto(a, 0, b, 0, new Float32Array(n * n), 0, n, n, n)],
    ["i-k-j (plain)", () => ikj(new Float32Array(n * n))],
    ["i-j-k (textbook)", () => ijk(new Float32Array(n * n))],
  ];
  const ms = new Map<string, number>();
  for (const [name, fn] of rows) {
    ms.set(name, time(fn));
    console.log(`${name.padEnd(18)} ${(ms.get(name) ?? 0).toFixed(0).padStart(5)} ms  ${gflops(ms.get(name) ?? 0)} GFLOP/s`);
  }
  const speedup = (ms.get("i-j-k (textbook)") ?? 0) / (ms.get("i-k-j (plain)") ?? 1);
  console.log(`i-k-j over i-j-k: ${speedup.toFixed(1)}x (you guessed ${predictedLoopOrderSpeedup}); ${2 * 256 * 512 * 128} FLOPs for [256, 512] @ [512, 128] (you predicted ${predictedMatmulFlops()})`);
});

// %% nbgrader={"grade": true, "grade_id": "test-unit-matmul-predictions", "locked": true, "points": 1, "schema_version": 3, "solution": false, "task": false}
function testUnitMatmulPredictions(): void {
  // ### BEGIN HIDDEN TESTS
  check("FLOPs of [256, 512] @ [512, 128]", 1, () => assertPrediction(predictedMatmulFlops(), 2 * 512 * (256 * 128), { rtol: 0.01 }));
  // ### END HIDDEN TESTS
  passed("testUnitMatmulPredictions");
}
testUnitMatmulPredictions();

// %% [markdown] nbgrader={"grade": true, "grade_id": "explain-loop-order", "locked": false, "points": 2, "schema_version": 3, "solution": true, "task": false}
// **Question 1.** Compare your guessed speed-up with the measured one. Both loops do exactly the
// same FLOPs: explain, with cache lines, why i-k-j is faster, why the lesson finds no
// difference at 128x128 but a growing one at 512 and 1024, and why reading four rows of `B` per
// pass helps again although it does not change the order of memory accesses.
//
// ### BEGIN SOLUTION
// The textbook inner loop walks down a column of B: consecutive p are n floats (4n bytes)
// apart, so each 64-byte cache line brought in serves one 4-byte element before it is likely
// evicted; i-k-j walks a row of B and a row of C, so all 16 floats of every line are used and
// the prefetcher streams them. At 128x128, B is 64 KB and stays in L2, so a column walk hits
// the cache anyway and the orders run alike; at 512 (1 MB) and 1024 (4 MB) B no longer fits,
// the column walk misses on almost every access and the gap grows. The four-row version keeps
// the same streaming order but loads and stores C[i][j] once per eight FLOPs instead of once
// per two: fewer memory operations per FLOP, more arithmetic per byte moved. (A guess far from
// the measurement usually comes from expecting C's ratio of 10x or more: V8 does not
// vectorise, so scalar work and bounds checks weigh more than in C.)
// ### END SOLUTION
//
// ### BEGIN RUBRIC
// 2 points: strided column access wastes most of each cache line while i-k-j streams rows;
// the gap depends on whether B fits in cache (size); the four-row version cuts the loads and
// stores of C per FLOP; compares with their guess. 1 point: cache lines explained without the
// size dependence or without the four-row argument.
// ### END RUBRIC

// %% [markdown]
// ### Matmul on more than two dimensions
//
// numpy's `matmul` (the `@` operator) extends the 2-D product in two ways:
//
// - **1-D operands.** A vector on the left is treated as a row `[1, k]`, a vector on the right as
//   a column `[k, 1]`, and the added axis is removed from the result. So `[k] @ [k, n]` is `[n]`,
//   `[m, k] @ [k]` is `[m]`, and `[k] @ [k]` is a 0-d scalar (the dot product).
// - **Batches.** With more than 2 axes, the last two are the matrices and all the others are
//   batch axes, which **broadcast** like element-wise shapes. `[10, 2, 3] @ [3, 4]` multiplies
//   ten `[2, 3]` matrices by the same `[3, 4]` one, giving `[10, 2, 4]`.
//
// A 0-d operand is an error, and so are mismatched inner dimensions. A good error message names
// both shapes, since the bug is almost always a transposed weight.
//
// ### Exercise 7: `matmulKernel`
//
// **TODO**: Implement numpy's matmul semantics on top of `matmul2dInto`.
//
// Every error message starts with `matmul` and names both original shapes as `formatShape`
// prints them, for example `matmul: shapes [2, 3] and [4, 1] ...`. That holds for all three
// errors: a 0-d operand, inner dimensions that differ, and batch axes that do not broadcast.
//
// **APPROACH**:
// 1. Reject 0-d operands. Promote 1-D operands to matrices (which shape for a vector on the
//    left, which on the right?) and remember that you did.
// 2. Read the matrix sizes from the last two axes of each operand, and check the inner ones.
// 3. Broadcast the batch shapes (all axes but the last two) with `broadcastShapes`, and get each
//    operand's batch strides with `broadcastStrides`. Those strides count whole matrices: how
//    many elements is one matrix of each operand?
// 4. For each batch position, work out where each operand's matrix starts and call
//    `matmul2dInto`.
// 5. The result shape is the batch shape plus the matrix shape, minus the axes step 1 added.
//
// **HINTS**:
// - To go from a flat batch number `t` to offsets, write `t` in the mixed radix of the batch
//   shape (its last digit is `t` modulo the last batch dimension), and add each digit times
//   each operand's stride for that axis. Check it on a batch shape `[2, 3]`.
// - `broadcastShapes`'s own message does not mention `matmul` nor the full shapes: catch it and
//   throw the message above instead.

// %% nbgrader={"grade": false, "grade_id": "matmul-kernel", "locked": false, "schema_version": 3, "solution": true, "task": false}
//| export
/** numpy's matmul: 1-D promotion, 2-D product, broadcast batch axes; errors name both shapes. */
function matmulKernel(a: RawTensor, b: RawTensor): RawTensor {
  // ### BEGIN SOLUTION
  const describe = `${formatShape(a.shape)} and ${formatShape(b.shape)}`;
  if (a.shape.length === 0 || b.shape.length === 0) {
    throw new Error(`matmul: operands must have at least 1 dimension, got shapes ${describe}`);
  }
  const aVector = a.shape.length === 1;
  const bVector = b.shape.length === 1;
  const aShape = aVector ? [1, a.shape[0]] : a.shape.slice();
  const bShape = bVector ? [b.shape[0], 1] : b.shape.slice();
  const m = aShape[aShape.length - 2];
  const k = aShape[aShape.length - 1];
  const k2 = bShape[bShape.length - 2];
  const n = bShape[bShape.length - 1];
  if (k !== k2) {
    throw new Error(`matmul: shapes ${describe} are not aligned: ${k} (last axis) != ${k2}`);
  }
  const aBatch = aShape.slice(0, -2);
  const bBatch = bShape.slice(0, -2);
  let batch: number[];
  try {
    batch = broadcastShapes(aBatch, bBatch);
  } catch {
    throw new Error(`matmul: batch dimensions of shapes ${describe} cannot be broadcast`);
  }
  const aStrides = broadcastStrides(aBatch, batch);
  const bStrides = broadcastStrides(bBatch, batch);
  const count = shapeSize(batch);
  const out = new Float32Array(count * m * n);
  for (let t = 0; t < count; t++) {
    let rest = t;
    let aMatrix = 0;
    let bMatrix = 0;
    for (let axis = batch.length - 1; axis >= 0; axis--) {
      const idx = rest % batch[axis];
      rest = (rest - idx) / batch[axis];
      aMatrix += idx * aStrides[axis];
      bMatrix += idx * bStrides[axis];
    }
    matmul2dInto(a.data, aMatrix * m * k, b.data, bMatrix * k * n, out, t * m * n, m, k, n);
  }
  const shape = [...batch];
  if (!aVector) shape.push(m);
  if (!bVector) shape.push(n);
  return { data: out, shape };
  // ### END SOLUTION
}

// %% nbgrader={"grade": true, "grade_id": "test-unit-matmul-kernel", "locked": true, "points": 4, "schema_version": 3, "solution": false, "task": false}
function testUnitMatmulKernel(): void {
  const a = raw([1, 2, 3, 4, 5, 6], [2, 3]);
  const b = raw([7, 8, 9, 10, 11, 12], [3, 2]);
  const c = matmulKernel(a, b);
  assertShape(c.shape, [2, 2]);
  assertEqual(flat(c), [58, 64, 139, 154]);
  const dot = matmulKernel(raw([1, 2, 3], [3]), raw([4, 5, 6], [3]));
  assertShape(dot.shape, [], "vector @ vector is 0-d");
  assertEqual(flat(dot), [32]);
  assertThrows(() => matmulKernel(a, a), "[2, 3]");
  // ### BEGIN HIDDEN TESTS
  assertThrows(() => matmulKernel(raw([1, 2, 3, 4, 5, 6], [2, 3]), raw([1, 2, 3, 4], [4, 1])), "[4, 1]");
  assertThrows(() => matmulKernel(raw([1], []), raw([1, 2], [2])), undefined, "0-d operand");
  const mv = matmulKernel(a, raw([1, 0, -1], [3]));
  assertShape(mv.shape, [2], "matrix @ vector");
  assertEqual(flat(mv), [-2, -2]);
  const vm = matmulKernel(raw([1, -1], [2]), a);
  assertShape(vm.shape, [3], "vector @ matrix");
  assertEqual(flat(vm), [-3, -3, -3]);
  // Batched [2, 2, 3] @ [3, 2]: the second batch is the first times 2.
  const batchA = raw([1, 2, 3, 4, 5, 6, 2, 4, 6, 8, 10, 12], [2, 2, 3]);
  const bb = matmulKernel(batchA, b);
  assertShape(bb.shape, [2, 2, 2], "batch @ matrix");
  assertEqual(flat(bb), [58, 64, 139, 154, 116, 128, 278, 308]);
  // Broadcast batch axes: [2, 1, 1, 2] @ [3, 2, 1] -> [2, 3, 1, 1].
  const left = raw([1, 2, 3, 4], [2, 1, 1, 2]);
  const right = raw([1, 1, 1, -1, 2, 0], [3, 2, 1]);
  const br = matmulKernel(left, right);
  assertShape(br.shape, [2, 3, 1, 1], "broadcast batches");
  assertEqual(flat(br), [3, -1, 2, 7, -1, 6]);
  assertShape(matmulKernel(raw([1, 2, 3, 4, 5, 6], [3, 2]), raw([1, 2], [2])).shape, [3]);
  assertShape(matmulKernel(raw([1, 2], [2]), raw(new Array(12).fill(1), [3, 2, 2])).shape, [3, 2]);
  // Zero-size dimensions: [0, 3] @ [3, 4] -> [0, 4]; [2, 0] @ [0, 3] -> zeros [2, 3].
  assertShape(matmulKernel(raw([], [0, 3]), raw(new Array(12).fill(1), [3, 4])).shape, [0, 4]);
  const inner0 = matmulKernel(raw([], [2, 0]), raw([], [0, 3]));
  assertShape(inner0.shape, [2, 3], "empty inner dimension");
  assertEqual(flat(inner0), [0, 0, 0, 0, 0, 0], "a sum of nothing is 0");
  assertThrows(() => matmulKernel(raw(new Array(12).fill(1), [2, 2, 3]), raw(new Array(18).fill(1), [3, 3, 2])), "matmul");
  // Seeded: random sizes for every form (matrix, vector on either side, dot product, random
  // broadcast batch axes), random values; random misaligned and unbroadcastable shapes.
  const rk = testRandom("tensor/matmul-kernel");
  const matmulOracle = (a: RawTensor, b: RawTensor): { shape: number[]; data: number[] } => {
    const aVector = a.shape.length === 1;
    const bVector = b.shape.length === 1;
    const aDims = aVector ? [1, a.shape[0]] : [...a.shape];
    const bDims = bVector ? [b.shape[0], 1] : [...b.shape];
    const rows = aDims[aDims.length - 2];
    const inner = aDims[aDims.length - 1];
    const cols = bDims[bDims.length - 1];
    const nb = Math.max(aDims.length, bDims.length) - 2;
    const aBatch = [...new Array<number>(nb - (aDims.length - 2)).fill(1), ...aDims.slice(0, -2)];
    const bBatch = [...new Array<number>(nb - (bDims.length - 2)).fill(1), ...bDims.slice(0, -2)];
    const batch = aBatch.map((d, i) => (d === 1 ? bBatch[i] : d));
    const count = batch.reduce((p, d) => p * d, 1);
    const data: number[] = [];
    for (let t = 0; t < count; t++) {
      let rest = t;
      let am = 0;
      let bm = 0;
      let sa = 1;
      let sb = 1;
      for (let axis = nb - 1; axis >= 0; axis--) {
        const idx = rest % batch[axis];
        rest = Math.floor(rest / batch[axis]);
        if (aBatch[axis] !== 1) am += idx * sa;
        if (bBatch[axis] !== 1) bm += idx * sb;
        sa *= aBatch[axis];
        sb *= bBatch[axis];
      }
      for (let i = 0; i < rows; i++) {
        for (let j = 0; j < cols; j++) {
          let sum = 0;
          for (let p = 0; p < inner; p++) {
            sum += a.data[am * rows * inner + i * inner + p] * b.data[bm * inner * cols + p * cols + j];
          }
          data.push(sum);
        }
      }
    }
    return { shape: [...batch, ...(aVector ? [] : [rows]), ...(bVector ? [] : [cols])], data };
  };
  const randomMatrix = (dims: number[]): RawTensor =>
    raw(rk.numbers(dims.reduce((p, d) => p * d, 1), -1, 1), dims);
  const batchOf = (full: readonly number[]): number[] =>
    full.slice(full.length - rk.int(0, full.length)).map((d) => (rk.bool(0.4) ? 1 : d));
  const forms = ["matrix", "vector @ matrix", "matrix @ vector", "dot", "batched"];
  for (let c = 0; c < 10; c++) {
    const form = forms[c % forms.length];
    const [rows, inner, cols] = [rk.int(1, 5), rk.int(1, 6), rk.int(1, 5)];
    const full = rk.shape(rk.int(1, 3), 3, 1);
    const aBatch = form === "batched" ? batchOf(full) : [];
    const bBatch = form === "batched" ? batchOf(full) : [];
    const ma = randomMatrix(form === "vector @ matrix" || form === "dot" ? [inner] : [...aBatch, rows, inner]);
    const mb = randomMatrix(form === "matrix @ vector" || form === "dot" ? [inner] : [...bBatch, inner, cols]);
    const got = matmulKernel(ma, mb);
    const what = `${form}: random [${ma.shape}] @ [${mb.shape}]`;
    assertShape(got.shape, matmulOracle(ma, mb).shape, what);
    assertClose(flat(got), matmulOracle(ma, mb).data, { rtol: 1e-5, atol: 1e-5 }, what);
  }
  for (let c = 0; c < 3; c++) {
    const [rows, inner, cols] = [rk.int(1, 5), rk.int(1, 6), rk.int(1, 5)];
    const batch = rk.bool() ? [rk.int(1, 3)] : [];
    const aShape = [...batch, rows, inner];
    const bShape = [...batch, inner + rk.int(1, 3), cols];
    const left = randomMatrix(aShape);
    const right = randomMatrix(bShape);
    const misaligned = (): RawTensor => matmulKernel(left, right);
    assertThrows(misaligned, `[${aShape.join(", ")}]`, "random misaligned shapes: the error names the first");
    assertThrows(misaligned, `[${bShape.join(", ")}]`, "and the second");
  }
  const leftCount = rk.int(2, 4);
  const rightCount = leftCount + rk.int(1, 2);
  const [bRows, bInner, bCols] = [rk.int(1, 4), rk.int(1, 4), rk.int(1, 4)];
  const batchLeft = randomMatrix([leftCount, bRows, bInner]);
  const batchRight = randomMatrix([rightCount, bInner, bCols]);
  assertThrows(() => matmulKernel(batchLeft, batchRight), undefined, "random batch axes that do not broadcast");
  // ### END HIDDEN TESTS
  passed("testUnitMatmulKernel");
}
testUnitMatmulKernel();

// %%
//| mutation matmul-kernel lets broadcastShapes' message through when the batch axes do not broadcast
function matmulKernel(a: RawTensor, b: RawTensor): RawTensor {
  const describe = `${formatShape(a.shape)} and ${formatShape(b.shape)}`;
  if (a.shape.length === 0 || b.shape.length === 0) {
    throw new Error(`matmul: operands must have at least 1 dimension, got shapes ${describe}`);
  }
  const aVector = a.shape.length === 1;
  const bVector = b.shape.length === 1;
  const aShape = aVector ? [1, a.shape[0]] : a.shape.slice();
  const bShape = bVector ? [b.shape[0], 1] : b.shape.slice();
  const m = aShape[aShape.length - 2];
  const k = aShape[aShape.length - 1];
  const k2 = bShape[bShape.length - 2];
  const n = bShape[bShape.length - 1];
  if (k !== k2) {
    throw new Error(`matmul: shapes ${describe} are not aligned: ${k} (last axis) != ${k2}`);
  }
  const aBatch = aShape.slice(0, -2);
  const bBatch = bShape.slice(0, -2);
  const batch = broadcastShapes(aBatch, bBatch);
  const aStrides = broadcastStrides(aBatch, batch);
  const bStrides = broadcastStrides(bBatch, batch);
  const count = shapeSize(batch);
  const out = new Float32Array(count * m * n);
  for (let t = 0; t < count; t++) {
    let rest = t;
    let aMatrix = 0;
    let bMatrix = 0;
    for (let axis = batch.length - 1; axis >= 0; axis--) {
      const idx = rest % batch[axis];
      rest = (rest - idx) / batch[axis];
      aMatrix += idx * aStrides[axis];
      bMatrix += idx * bStrides[axis];
    }
    matmul2dInto(a.data, aMatrix * m * k, b.data, bMatrix * k * n, out, t * m * n, m, k, n);
  }
  const shape = [...batch];
  if (!aVector) shape.push(m);
  if (!bVector) shape.push(n);
  return { data: out, shape };
}

// %%
//| mutation matmul-kernel uses the batch strides as element offsets, forgetting the size of a matrix
function matmulKernel(a: RawTensor, b: RawTensor): RawTensor {
  const describe = `${formatShape(a.shape)} and ${formatShape(b.shape)}`;
  if (a.shape.length === 0 || b.shape.length === 0) {
    throw new Error(`matmul: operands must have at least 1 dimension, got shapes ${describe}`);
  }
  const aVector = a.shape.length === 1;
  const bVector = b.shape.length === 1;
  const aShape = aVector ? [1, a.shape[0]] : a.shape.slice();
  const bShape = bVector ? [b.shape[0], 1] : b.shape.slice();
  const m = aShape[aShape.length - 2];
  const k = aShape[aShape.length - 1];
  const k2 = bShape[bShape.length - 2];
  const n = bShape[bShape.length - 1];
  if (k !== k2) {
    throw new Error(`matmul: shapes ${describe} are not aligned: ${k} (last axis) != ${k2}`);
  }
  const aBatch = aShape.slice(0, -2);
  const bBatch = bShape.slice(0, -2);
  let batch: number[];
  try {
    batch = broadcastShapes(aBatch, bBatch);
  } catch {
    throw new Error(`matmul: batch dimensions of shapes ${describe} cannot be broadcast`);
  }
  const aStrides = broadcastStrides(aBatch, batch);
  const bStrides = broadcastStrides(bBatch, batch);
  const count = shapeSize(batch);
  const out = new Float32Array(count * m * n);
  for (let t = 0; t < count; t++) {
    let rest = t;
    let aMatrix = 0;
    let bMatrix = 0;
    for (let axis = batch.length - 1; axis >= 0; axis--) {
      const idx = rest % batch[axis];
      rest = (rest - idx) / batch[axis];
      aMatrix += idx * aStrides[axis];
      bMatrix += idx * bStrides[axis];
    }
    matmul2dInto(a.data, aMatrix, b.data, bMatrix, out, t * m * n, m, k, n);
  }
  const shape = [...batch];
  if (!aVector) shape.push(m);
  if (!bVector) shape.push(n);
  return { data: out, shape };
}

// %%
//| mutation matmul-kernel promotes a vector on the right to a row [1, k] instead of a column [k, 1]
function matmulKernel(a: RawTensor, b: RawTensor): RawTensor {
  const describe = `${formatShape(a.shape)} and ${formatShape(b.shape)}`;
  if (a.shape.length === 0 || b.shape.length === 0) {
    throw new Error(`matmul: operands must have at least 1 dimension, got shapes ${describe}`);
  }
  const aVector = a.shape.length === 1;
  const bVector = b.shape.length === 1;
  const aShape = aVector ? [1, a.shape[0]] : a.shape.slice();
  const bShape = bVector ? [1, b.shape[0]] : b.shape.slice();
  const m = aShape[aShape.length - 2];
  const k = aShape[aShape.length - 1];
  const k2 = bShape[bShape.length - 2];
  const n = bShape[bShape.length - 1];
  if (k !== k2) {
    throw new Error(`matmul: shapes ${describe} are not aligned: ${k} (last axis) != ${k2}`);
  }
  const aBatch = aShape.slice(0, -2);
  const bBatch = bShape.slice(0, -2);
  let batch: number[];
  try {
    batch = broadcastShapes(aBatch, bBatch);
  } catch {
    throw new Error(`matmul: batch dimensions of shapes ${describe} cannot be broadcast`);
  }
  const aStrides = broadcastStrides(aBatch, batch);
  const bStrides = broadcastStrides(bBatch, batch);
  const count = shapeSize(batch);
  const out = new Float32Array(count * m * n);
  for (let t = 0; t < count; t++) {
    let rest = t;
    let aMatrix = 0;
    let bMatrix = 0;
    for (let axis = batch.length - 1; axis >= 0; axis--) {
      const idx = rest % batch[axis];
      rest = (rest - idx) / batch[axis];
      aMatrix += idx * aStrides[axis];
      bMatrix += idx * bStrides[axis];
    }
    matmul2dInto(a.data, aMatrix * m * k, b.data, bMatrix * k * n, out, t * m * n, m, k, n);
  }
  const shape = [...batch];
  if (!aVector) shape.push(m);
  if (!bVector) shape.push(n);
  return { data: out, shape };
}

// %%
//| mutation matmul-kernel keeps the axes added for 1-D operands (a dot product comes out as [1, 1])
function matmulKernel(a: RawTensor, b: RawTensor): RawTensor {
  const describe = `${formatShape(a.shape)} and ${formatShape(b.shape)}`;
  if (a.shape.length === 0 || b.shape.length === 0) {
    throw new Error(`matmul: operands must have at least 1 dimension, got shapes ${describe}`);
  }
  const aVector = a.shape.length === 1;
  const bVector = b.shape.length === 1;
  const aShape = aVector ? [1, a.shape[0]] : a.shape.slice();
  const bShape = bVector ? [b.shape[0], 1] : b.shape.slice();
  const m = aShape[aShape.length - 2];
  const k = aShape[aShape.length - 1];
  const k2 = bShape[bShape.length - 2];
  const n = bShape[bShape.length - 1];
  if (k !== k2) {
    throw new Error(`matmul: shapes ${describe} are not aligned: ${k} (last axis) != ${k2}`);
  }
  const aBatch = aShape.slice(0, -2);
  const bBatch = bShape.slice(0, -2);
  let batch: number[];
  try {
    batch = broadcastShapes(aBatch, bBatch);
  } catch {
    throw new Error(`matmul: batch dimensions of shapes ${describe} cannot be broadcast`);
  }
  const aStrides = broadcastStrides(aBatch, batch);
  const bStrides = broadcastStrides(bBatch, batch);
  const count = shapeSize(batch);
  const out = new Float32Array(count * m * n);
  for (let t = 0; t < count; t++) {
    let rest = t;
    let aMatrix = 0;
    let bMatrix = 0;
    for (let axis = batch.length - 1; axis >= 0; axis--) {
      const idx = rest % batch[axis];
      rest = (rest - idx) / batch[axis];
      aMatrix += idx * aStrides[axis];
      bMatrix += idx * bStrides[axis];
    }
    matmul2dInto(a.data, aMatrix * m * k, b.data, bMatrix * k * n, out, t * m * n, m, k, n);
  }
  const shape = [...batch];
  shape.push(m, n);
  return { data: out, shape };
}

// %% [markdown]
// ### Reductions
//
// `sum`, `mean` and `max` collapse an axis. For a tensor of shape `[2, 3, 4]`, reducing axis 1
// gives `[2, 4]` (or `[2, 1, 4]` with `keepdims`, which keeps the axis with size 1 so the result
// still broadcasts against the input: `x.sub(x.mean(-1, true))` centres each row). With no axis,
// everything is reduced to a 0-d tensor.
//
// Any reduction over one axis has the same structure. Viewing the shape as
// `[outer, len, inner]` (the product of the axes before, the reduced axis, the product of the
// axes after), element `[o, r, i]` sits at `(o*len + r)*inner + i`. Looping `o`, then `r`, then
// `i` reads the input strictly in order, and the output row for each `o` is small and stays in
// cache:
//
// ```
// for o in 0..outer:
//   acc[0..inner] = first row (or the identity, e.g. 0 for sum)
//   for r in 1..len:
//     for i in 0..inner:  acc[i] = combine(acc[i], x[(o*len + r)*inner + i])
// ```
//
// Cost: one `combine` per input element, each element read once.
//
// **Precision.** Adding a million float32 numbers one by one into a float32 total loses digits:
// once the total is large, small addends are rounded away. numpy avoids most of that with
// pairwise summation; we take the other classic fix and **accumulate in float64**
// (`Float64Array`), rounding to float32 only when storing the result.
//
// **Empty axes.** The sum of nothing is 0 (the identity of `+`), but `max` has no identity, so
// numpy refuses `max` over an empty axis. `reduceKernel` takes an optional `initial` value:
// given, it starts each accumulator there; absent, it starts from the first element and an empty
// axis is an error.
//
// ### Exercise 8: `reduceKernel`
//
// **TODO**: Reduce over `axis` (or over everything when `axis` is `null`) with `combine`.
//
// **APPROACH**:
// 1. Compute `outer`, `len`, `inner` and the output shape (with or without `keepdims`). What
//    are they when `axis` is `null` (everything reduced)? Otherwise normalise the axis with
//    `normalizeAxis` first.
// 2. An empty reduced axis with no `initial` has no answer: throw an `Error` saying that the
//    reduction has no **identity**, like numpy's `zero-size array to reduction operation
//    maximum which has no identity`. (If the output itself is empty, there is nothing to
//    compute and nothing to refuse.)
// 3. Follow the loop nest above with a float64 accumulator for one block of `inner` outputs,
//    started from `initial` or from the block's first row, and store it into the float32
//    output once the block is done.
//
// **HINTS**:
// - `keepdims` keeps the reduced axis with size 1: `[2, 3, 4]` over axis 1 gives `[2, 1, 4]`.
// - The message for an out-of-range axis comes from `normalizeAxis`.
// - Why float64? Try summing `1e8` and a thousand `1`s in a `Float32Array` accumulator.

// %% nbgrader={"grade": false, "grade_id": "reduce-kernel", "locked": false, "schema_version": 3, "solution": true, "task": false}
//| export
/**
 * Reduces `x` over one axis (or all axes when `axis` is null) with `combine`, accumulating in
 * float64. Without `initial`, the first element seeds the accumulator and empty axes throw.
 */
function reduceKernel(
  x: RawTensor,
  axis: number | null,
  keepdims: boolean,
  combine: (acc: number, value: number) => number,
  initial?: number,
): RawTensor {
  // ### BEGIN SOLUTION
  const shape = x.shape;
  let outer: number;
  let len: number;
  let inner: number;
  let outShape: number[];
  if (axis === null) {
    outer = 1;
    len = shapeSize(shape);
    inner = 1;
    outShape = keepdims ? shape.map(() => 1) : [];
  } else {
    const ax = normalizeAxis(axis, shape.length);
    outer = shapeSize(shape.slice(0, ax));
    len = shape[ax];
    inner = shapeSize(shape.slice(ax + 1));
    outShape = keepdims ? shape.map((d, i) => (i === ax ? 1 : d)) : shape.filter((_, i) => i !== ax);
  }
  const out = new Float32Array(outer * inner);
  if (out.length === 0) return { data: out, shape: outShape };
  if (len === 0 && initial === undefined) {
    throw new Error("zero-size array to reduction operation which has no identity");
  }
  const data = x.data;
  const acc = new Float64Array(inner);
  for (let o = 0; o < outer; o++) {
    const block = o * len * inner;
    let first = 0;
    if (initial === undefined) {
      for (let i = 0; i < inner; i++) acc[i] = data[block + i];
      first = 1;
    } else {
      acc.fill(initial);
    }
    for (let r = first; r < len; r++) {
      const row = block + r * inner;
      for (let i = 0; i < inner; i++) acc[i] = combine(acc[i], data[row + i]);
    }
    out.set(acc, o * inner);
  }
  return { data: out, shape: outShape };
  // ### END SOLUTION
}

// %% nbgrader={"grade": true, "grade_id": "test-unit-reduce-kernel", "locked": true, "points": 4, "schema_version": 3, "solution": false, "task": false}
function testUnitReduceKernel(): void {
  const add = (acc: number, v: number): number => acc + v;
  const m = raw([1, 2, 3, 4, 5, 6], [2, 3]);
  const cols = reduceKernel(m, 0, false, add, 0);
  assertShape(cols.shape, [3]);
  assertEqual(flat(cols), [5, 7, 9], "sum over axis 0");
  const rows = reduceKernel(m, 1, true, add, 0);
  assertShape(rows.shape, [2, 1], "keepdims");
  assertEqual(flat(rows), [6, 15]);
  const all = reduceKernel(m, null, false, add, 0);
  assertShape(all.shape, [], "no axis: 0-d");
  assertEqual(flat(all), [21]);
  // ### BEGIN HIDDEN TESTS
  const max = (acc: number, v: number): number => (v > acc ? v : acc);
  const t = raw([3, 1, 4, 1, 5, 9, 2, 6, 5, 3, 5, 8], [2, 3, 2]);
  const mid = reduceKernel(t, 1, false, max);
  assertShape(mid.shape, [2, 2], "middle axis of a 3-d tensor");
  assertEqual(flat(mid), [5, 9, 5, 8]);
  const neg = reduceKernel(t, -1, false, add, 0);
  assertShape(neg.shape, [2, 3], "negative axis");
  assertEqual(flat(neg), [4, 5, 14, 8, 8, 13]);
  assertShape(reduceKernel(t, -3, true, add, 0).shape, [1, 3, 2], "axis -ndim with keepdims");
  assertShape(reduceKernel(t, null, true, add, 0).shape, [1, 1, 1], "all axes, keepdims");
  assertEqual(flat(reduceKernel(raw([-3, -7, -1], [3]), 0, false, max)), [-1], "max of negatives");
  assertThrows(() => reduceKernel(m, 2, false, add, 0), "out of bounds");
  assertThrows(() => reduceKernel(m, -3, false, add, 0), "out of bounds");
  // Empty: sums are 0, max over an empty axis has no identity.
  assertEqual(flat(reduceKernel(raw([], [0]), null, false, add, 0)), [0], "sum of nothing");
  const emptyRows = reduceKernel(raw([], [2, 0]), 1, false, add, 0);
  assertShape(emptyRows.shape, [2]);
  assertEqual(flat(emptyRows), [0, 0]);
  assertThrows(() => reduceKernel(raw([], [2, 0]), 1, false, max), "identity");
  assertShape(reduceKernel(raw([], [0, 3]), 1, false, max).shape, [0], "empty output is fine");
  assertEqual(flat(reduceKernel(raw([5], []), null, false, add, 0)), [5], "0-d input");
  // float64 accumulation: 1e8 + 1 + 1 + ... would stay 1e8 in float32.
  const big = new Array<number>(1001).fill(1);
  big[0] = 1e8;
  assertEqual(flat(reduceKernel(raw(big, [1001]), 0, false, add, 0)), [Math.fround(1e8 + 1000)]);
  // Seeded: random shapes and values, a random axis (negative too, or null), random keepdims, and
  // a random reduction (sum, sum from a random initial value, max, min); random empty axes and
  // random out-of-range axes. Each output gathers its inputs here by their multi-index.
  const rd = testRandom("tensor/reduce-kernel");
  const min = (acc: number, v: number): number => (v < acc ? v : acc);
  const reduceOracle = (
    x: RawTensor,
    axis: number | null,
    keepdims: boolean,
    kind: string,
    initial?: number,
  ): { shape: number[]; data: number[] } => {
    const nd = x.shape.length;
    const ax = axis === null ? -1 : axis < 0 ? axis + nd : axis;
    const kept = x.shape.map((d, i) => (axis === null || i === ax ? 1 : d));
    const groups: number[][] = Array.from({ length: kept.reduce((p, d) => p * d, 1) }, () => []);
    for (let f = 0; f < x.data.length; f++) {
      let rest = f;
      let target = 0;
      let step = 1;
      for (let i = nd - 1; i >= 0; i--) {
        const idx = rest % x.shape[i];
        rest = Math.floor(rest / x.shape[i]);
        target += (kept[i] === 1 ? 0 : idx) * step;
        step *= kept[i];
      }
      groups[target].push(x.data[f]);
    }
    const data = groups.map((values) => {
      if (kind === "max") return Math.max(...values);
      if (kind === "min") return Math.min(...values);
      let total = initial ?? 0;
      for (const v of values) total += v;
      return Math.fround(total);
    });
    const shape = keepdims ? kept : axis === null ? [] : x.shape.filter((_, i) => i !== ax);
    return { shape, data };
  };
  const kinds = ["sum", "sum from initial", "max", "min"];
  for (let c = 0; c < 10; c++) {
    const dims = rd.shape(rd.int(1, 4), 5, 1);
    const x = raw(rd.numbers(dims.reduce((p, d) => p * d, 1), -3, 3), dims);
    const axis = rd.bool(0.2) ? null : rd.int(-dims.length, dims.length - 1);
    const keepdims = rd.bool();
    const kind = kinds[c % kinds.length];
    const initial = kind === "sum from initial" ? Math.fround(rd.uniform(-5, 5)) : kind === "sum" ? 0 : undefined;
    const combine = kind === "max" ? max : kind === "min" ? min : add;
    const got = reduceKernel(x, axis, keepdims, combine, initial);
    const what = `${kind} of a random [${dims}] over axis ${axis}${keepdims ? ", keepdims" : ""}`;
    assertShape(got.shape, reduceOracle(x, axis, keepdims, kind, initial).shape, what);
    if (kind === "max" || kind === "min") {
      assertEqual(flat(got), reduceOracle(x, axis, keepdims, kind).data, what);
    } else {
      assertClose(flat(got), reduceOracle(x, axis, keepdims, kind, initial).data, { rtol: 1e-6, atol: 1e-6 }, what);
    }
  }
  for (let c = 0; c < 2; c++) {
    // An empty axis at a random place: sums give their initial value, max has no identity.
    const dims = rd.shape(rd.int(2, 4), 4, 1);
    const axis = rd.int(0, dims.length - 1);
    dims[axis] = 0;
    const empty = raw([], dims);
    const start = Math.fround(rd.uniform(-5, 5));
    const sums = reduceKernel(empty, axis, false, add, start);
    assertShape(sums.shape, dims.filter((_, i) => i !== axis), `sum over the empty axis of a random [${dims}]`);
    assertEqual(flat(sums), new Array<number>(dims.reduce((p, d, i) => (i === axis ? p : p * d), 1)).fill(start));
    assertThrows(() => reduceKernel(empty, axis, false, max), "identity", "max over a random empty axis");
  }
  const outOfRange = rd.shape(rd.int(1, 4), 4, 1);
  const badAxis = rd.bool() ? outOfRange.length + rd.int(0, 3) : -outOfRange.length - 1 - rd.int(0, 3);
  assertThrows(() => reduceKernel(raw(new Array<number>(outOfRange.reduce((p, d) => p * d, 1)).fill(1), outOfRange), badAxis, false, add, 0), "out of bounds", "a random axis out of range");
  // ### END HIDDEN TESTS
  passed("testUnitReduceKernel");
}
testUnitReduceKernel();

// %%
//| mutation reduce-kernel accumulates in float32, so small addends vanish next to a large total
function reduceKernel(
  x: RawTensor,
  axis: number | null,
  keepdims: boolean,
  combine: (acc: number, value: number) => number,
  initial?: number,
): RawTensor {
  const shape = x.shape;
  let outer: number;
  let len: number;
  let inner: number;
  let outShape: number[];
  if (axis === null) {
    outer = 1;
    len = shapeSize(shape);
    inner = 1;
    outShape = keepdims ? shape.map(() => 1) : [];
  } else {
    const ax = normalizeAxis(axis, shape.length);
    outer = shapeSize(shape.slice(0, ax));
    len = shape[ax];
    inner = shapeSize(shape.slice(ax + 1));
    outShape = keepdims ? shape.map((d, i) => (i === ax ? 1 : d)) : shape.filter((_, i) => i !== ax);
  }
  const out = new Float32Array(outer * inner);
  if (out.length === 0) return { data: out, shape: outShape };
  if (len === 0 && initial === undefined) {
    throw new Error("zero-size array to reduction operation which has no identity");
  }
  const data = x.data;
  const acc = new Float32Array(inner);
  for (let o = 0; o < outer; o++) {
    const block = o * len * inner;
    let first = 0;
    if (initial === undefined) {
      for (let i = 0; i < inner; i++) acc[i] = data[block + i];
      first = 1;
    } else {
      acc.fill(initial);
    }
    for (let r = first; r < len; r++) {
      const row = block + r * inner;
      for (let i = 0; i < inner; i++) acc[i] = combine(acc[i], data[row + i]);
    }
    out.set(acc, o * inner);
  }
  return { data: out, shape: outShape };
}

// %%
//| mutation reduce-kernel starts every reduction from 0 when no initial is given (max of negatives is 0, and an empty max is 0)
function reduceKernel(
  x: RawTensor,
  axis: number | null,
  keepdims: boolean,
  combine: (acc: number, value: number) => number,
  initial?: number,
): RawTensor {
  const shape = x.shape;
  let outer: number;
  let len: number;
  let inner: number;
  let outShape: number[];
  if (axis === null) {
    outer = 1;
    len = shapeSize(shape);
    inner = 1;
    outShape = keepdims ? shape.map(() => 1) : [];
  } else {
    const ax = normalizeAxis(axis, shape.length);
    outer = shapeSize(shape.slice(0, ax));
    len = shape[ax];
    inner = shapeSize(shape.slice(ax + 1));
    outShape = keepdims ? shape.map((d, i) => (i === ax ? 1 : d)) : shape.filter((_, i) => i !== ax);
  }
  const out = new Float32Array(outer * inner);
  if (out.length === 0) return { data: out, shape: outShape };

  const data = x.data;
  const acc = new Float64Array(inner);
  for (let o = 0; o < outer; o++) {
    const block = o * len * inner;
    let first = 0;
    acc.fill(initial ?? 0);
    for (let r = first; r < len; r++) {
      const row = block + r * inner;
      for (let i = 0; i < inner; i++) acc[i] = combine(acc[i], data[row + i]);
    }
    out.set(acc, o * inner);
  }
  return { data: out, shape: outShape };
}

// %%
//| mutation reduce-kernel ignores keepdims (the reduced axis always disappears)
function reduceKernel(
  x: RawTensor,
  axis: number | null,
  keepdims: boolean,
  combine: (acc: number, value: number) => number,
  initial?: number,
): RawTensor {
  const shape = x.shape;
  let outer: number;
  let len: number;
  let inner: number;
  let outShape: number[];
  if (axis === null) {
    outer = 1;
    len = shapeSize(shape);
    inner = 1;
    outShape = keepdims ? shape.map(() => 1) : [];
  } else {
    const ax = normalizeAxis(axis, shape.length);
    outer = shapeSize(shape.slice(0, ax));
    len = shape[ax];
    inner = shapeSize(shape.slice(ax + 1));
    outShape = shape.filter((_, i) => i !== ax);
  }
  const out = new Float32Array(outer * inner);
  if (out.length === 0) return { data: out, shape: outShape };
  if (len === 0 && initial === undefined) {
    throw new Error("zero-size array to reduction operation which has no identity");
  }
  const data = x.data;
  const acc = new Float64Array(inner);
  for (let o = 0; o < outer; o++) {
    const block = o * len * inner;
    let first = 0;
    if (initial === undefined) {
      for (let i = 0; i < inner; i++) acc[i] = data[block + i];
      first = 1;
    } else {
      acc.fill(initial);
    }
    for (let r = first; r < len; r++) {
      const row = block + r * inner;
      for (let i = 0; i < inner; i++) acc[i] = combine(acc[i], data[row + i]);
    }
    out.set(acc, o * inner);
  }
  return { data: out, shape: outShape };
}

// %% [markdown]
// ### Transpose and permute
//
// `permute(axes)` reorders the axes: output axis `d` is input axis `axes[d]`, so a `[2, 3, 4]`
// tensor permuted by `[2, 0, 1]` has shape `[4, 2, 3]`, and its element `[i, j, k]` is the input's
// `[j, k, i]`. Transposing two axes is the special case that swaps two entries of `[0, 1, ...]`.
//
// numpy does this **without copying**: it returns a view with permuted strides. Our tensors are
// always contiguous (every kernel above assumes it), so we copy into the new order. That costs
// one read and one write per element (`8 * size` bytes of traffic and a new `4 * size`-byte
// buffer) but keeps every other kernel simple. The reads jump around memory, so on large
// tensors a transpose is noticeably slower than a plain copy; it is worth avoiding inside loops.
//
// The copy loop is the odometer again, walking the *output* in order while reading the input
// through permuted strides: output axis `d` moves through the input with stride
// `inputStrides[axes[d]]`.
//
// ### Exercise 9: `permuteKernel`
//
// **TODO**: Return a contiguous copy of `x` with its axes reordered by `axes`.
//
// **APPROACH**:
// 1. Check `axes` is a permutation of `0..ndim-1`. Negative axes count from the end (use
//    `normalizeAxis`, whose message says `out of bounds`); a list of the wrong length throws;
//    an axis that appears twice throws an `Error` whose message contains `repeated`.
// 2. Output axis `d` is input axis `axes[d]`: derive the output shape, and the stride with
//    which a step along output axis `d` moves through the *input*.
// 3. Walk the output in order with the odometer of `elementwiseKernel`, one operand read
//    through those strides.
//
// **HINTS**:
// - Handle `size === 0` and 0-d tensors before the loop (a 0-d tensor has one element and no
//   axes: return a copy).
// - Test your strides on the transpose of `[2, 3]`: reading the output `[3, 2]` in order must
//   visit input offsets `0, 3, 1, 4, 2, 5`.

// %% nbgrader={"grade": false, "grade_id": "permute-kernel", "locked": false, "schema_version": 3, "solution": true, "task": false}
//| export
/** A contiguous copy of `x` whose axis d is axis `axes[d]` of `x`. */
function permuteKernel(x: RawTensor, axes: readonly number[]): RawTensor {
  // ### BEGIN SOLUTION
  const ndim = x.shape.length;
  if (axes.length !== ndim) {
    throw new Error(`axes ${formatShape(axes)} don't match a tensor of shape ${formatShape(x.shape)}`);
  }
  const order = axes.map((axis) => normalizeAxis(axis, ndim));
  if (new Set(order).size !== ndim) throw new Error(`repeated axis in permutation ${formatShape(axes)}`);
  const inStrides = computeStrides(x.shape);
  const shape = order.map((axis) => x.shape[axis]);
  const src = order.map((axis) => inStrides[axis]);
  const size = shapeSize(shape);
  const out = new Float32Array(size);
  if (size === 0) return { data: out, shape };
  if (ndim === 0) {
    out[0] = x.data[0];
    return { data: out, shape };
  }
  const data = x.data;
  const inner = shape[ndim - 1];
  const innerStride = src[ndim - 1];
  const index = new Array<number>(ndim - 1).fill(0);
  let offset = 0;
  for (let start = 0; start < size; start += inner) {
    for (let j = 0; j < inner; j++) out[start + j] = data[offset + j * innerStride];
    for (let axis = ndim - 2; axis >= 0; axis--) {
      index[axis]++;
      offset += src[axis];
      if (index[axis] < shape[axis]) break;
      index[axis] = 0;
      offset -= src[axis] * shape[axis];
    }
  }
  return { data: out, shape };
  // ### END SOLUTION
}

// %% nbgrader={"grade": true, "grade_id": "test-unit-permute-kernel", "locked": true, "points": 3, "schema_version": 3, "solution": false, "task": false}
function testUnitPermuteKernel(): void {
  const m = raw([1, 2, 3, 4, 5, 6], [2, 3]);
  const t = permuteKernel(m, [1, 0]);
  assertShape(t.shape, [3, 2]);
  assertEqual(flat(t), [1, 4, 2, 5, 3, 6], "matrix transpose");
  assertEqual(flat(permuteKernel(m, [0, 1])), [1, 2, 3, 4, 5, 6], "identity permutation");
  // ### BEGIN HIDDEN TESTS
  const values = Array.from({ length: 24 }, (_, i) => i);
  const x = raw(values, [2, 3, 4]);
  const p = permuteKernel(x, [2, 0, 1]);
  assertShape(p.shape, [4, 2, 3]);
  // out[i][j][k] = x[j][k][i] = 12j + 4k + i
  const expected: number[] = [];
  for (let i = 0; i < 4; i++)
    for (let j = 0; j < 2; j++) for (let k = 0; k < 3; k++) expected.push(12 * j + 4 * k + i);
  assertEqual(flat(p), expected, "3-d permutation");
  assertEqual(flat(permuteKernel(x, [-1, -3, -2])), expected, "negative axes");
  assertShape(permuteKernel(raw([], [0, 3]), [1, 0]).shape, [3, 0], "zero-size");
  assertEqual(flat(permuteKernel(raw([4], []), [])), [4], "0-d");
  assertEqual(flat(permuteKernel(raw([1, 2, 3], [1, 3, 1]), [2, 0, 1])), [1, 2, 3], "size-1 axes");
  assertThrows(() => permuteKernel(x, [0, 1]), undefined, "too few axes");
  assertThrows(() => permuteKernel(x, [0, 0, 1]), "repeated", "repeated axis");
  assertThrows(() => permuteKernel(x, [0, 1, 3]), "out of bounds", "axis out of range");
  const copy = permuteKernel(m, [0, 1]);
  assert(copy.data !== m.data, "the result is a new buffer");
  // Seeded: random shapes (ranks 1 to 5) and values, random permutations with random negative
  // axes; random repeated, out-of-range and wrong-length permutations.
  const rp = testRandom("tensor/permute-kernel");
  const permuteOracle = (x: RawTensor, axes: readonly number[]): { shape: number[]; data: number[] } => {
    const nd = x.shape.length;
    const order = axes.map((a) => (a < 0 ? a + nd : a));
    const shape = order.map((a) => x.shape[a]);
    const inStrides = x.shape.map((_, i) => x.shape.slice(i + 1).reduce((p, d) => p * d, 1));
    const size = shape.reduce((p, d) => p * d, 1);
    const data: number[] = [];
    for (let o = 0; o < size; o++) {
      let rest = o;
      let offset = 0;
      for (let d = nd - 1; d >= 0; d--) {
        const idx = rest % shape[d];
        rest = Math.floor(rest / shape[d]);
        offset += idx * inStrides[order[d]];
      }
      data.push(x.data[offset]);
    }
    return { shape, data };
  };
  for (let c = 0; c < 7; c++) {
    const dims = rp.shape(rp.int(1, 5), 4, 1);
    if (rp.bool(0.15)) dims[rp.int(0, dims.length - 1)] = 0;
    const x = raw(rp.numbers(dims.reduce((p, d) => p * d, 1), -10, 10), dims);
    const axes = rp.shuffled(dims.map((_, i) => i)).map((a) => (rp.bool(0.3) ? a - dims.length : a));
    const got = permuteKernel(x, axes);
    const what = `a random [${dims}] permuted by [${axes}]`;
    assertShape(got.shape, permuteOracle(x, axes).shape, what);
    assertEqual(flat(got), permuteOracle(x, axes).data, what);
  }
  const pdims = rp.shape(rp.int(2, 4), 3, 1);
  const px = raw(rp.numbers(pdims.reduce((p, d) => p * d, 1)), pdims);
  const identity = pdims.map((_, i) => i);
  const from = rp.int(0, pdims.length - 1);
  const repeated = identity.map((a, i) => (i === (from + 1) % pdims.length ? identity[from] : a));
  assertThrows(() => permuteKernel(px, repeated), undefined, "a random repeated axis");
  const outside = identity.map((a, i) => (i === from ? pdims.length + rp.int(0, 2) : a));
  assertThrows(() => permuteKernel(px, outside), "out of bounds", "a random axis out of range");
  const shortAxes = rp.shuffled(identity).slice(1);
  assertThrows(() => permuteKernel(px, shortAxes), undefined, "a random permutation with an axis missing");
  // ### END HIDDEN TESTS
  passed("testUnitPermuteKernel");
}
testUnitPermuteKernel();

// %%
//| mutation permute-kernel reads the output with the output's own strides: a reshape, not a transpose
function permuteKernel(x: RawTensor, axes: readonly number[]): RawTensor {
  const ndim = x.shape.length;
  if (axes.length !== ndim) {
    throw new Error(`axes ${formatShape(axes)} don't match a tensor of shape ${formatShape(x.shape)}`);
  }
  const order = axes.map((axis) => normalizeAxis(axis, ndim));
  if (new Set(order).size !== ndim) throw new Error(`repeated axis in permutation ${formatShape(axes)}`);
  const inStrides = computeStrides(x.shape);
  const shape = order.map((axis) => x.shape[axis]);
  const src = computeStrides(shape);
  const size = shapeSize(shape);
  const out = new Float32Array(size);
  if (size === 0) return { data: out, shape };
  if (ndim === 0) {
    out[0] = x.data[0];
    return { data: out, shape };
  }
  const data = x.data;
  const inner = shape[ndim - 1];
  const innerStride = src[ndim - 1];
  const index = new Array<number>(ndim - 1).fill(0);
  let offset = 0;
  for (let start = 0; start < size; start += inner) {
    for (let j = 0; j < inner; j++) out[start + j] = data[offset + j * innerStride];
    for (let axis = ndim - 2; axis >= 0; axis--) {
      index[axis]++;
      offset += src[axis];
      if (index[axis] < shape[axis]) break;
      index[axis] = 0;
      offset -= src[axis] * shape[axis];
    }
  }
  return { data: out, shape };
}

// %%
//| mutation permute-kernel uses the inverse permutation for the strides
function permuteKernel(x: RawTensor, axes: readonly number[]): RawTensor {
  const ndim = x.shape.length;
  if (axes.length !== ndim) {
    throw new Error(`axes ${formatShape(axes)} don't match a tensor of shape ${formatShape(x.shape)}`);
  }
  const order = axes.map((axis) => normalizeAxis(axis, ndim));
  if (new Set(order).size !== ndim) throw new Error(`repeated axis in permutation ${formatShape(axes)}`);
  const inStrides = computeStrides(x.shape);
  const shape = order.map((axis) => x.shape[axis]);
  const src = order.map((_, d) => inStrides[order.indexOf(d)]);
  const size = shapeSize(shape);
  const out = new Float32Array(size);
  if (size === 0) return { data: out, shape };
  if (ndim === 0) {
    out[0] = x.data[0];
    return { data: out, shape };
  }
  const data = x.data;
  const inner = shape[ndim - 1];
  const innerStride = src[ndim - 1];
  const index = new Array<number>(ndim - 1).fill(0);
  let offset = 0;
  for (let start = 0; start < size; start += inner) {
    for (let j = 0; j < inner; j++) out[start + j] = data[offset + j * innerStride];
    for (let axis = ndim - 2; axis >= 0; axis--) {
      index[axis]++;
      offset += src[axis];
      if (index[axis] < shape[axis]) break;
      index[axis] = 0;
      offset -= src[axis] * shape[axis];
    }
  }
  return { data: out, shape };
}

// %%
//| mutation permute-kernel accepts a repeated axis
function permuteKernel(x: RawTensor, axes: readonly number[]): RawTensor {
  const ndim = x.shape.length;
  if (axes.length !== ndim) {
    throw new Error(`axes ${formatShape(axes)} don't match a tensor of shape ${formatShape(x.shape)}`);
  }
  const order = axes.map((axis) => normalizeAxis(axis, ndim));

  const inStrides = computeStrides(x.shape);
  const shape = order.map((axis) => x.shape[axis]);
  const src = order.map((axis) => inStrides[axis]);
  const size = shapeSize(shape);
  const out = new Float32Array(size);
  if (size === 0) return { data: out, shape };
  if (ndim === 0) {
    out[0] = x.data[0];
    return { data: out, shape };
  }
  const data = x.data;
  const inner = shape[ndim - 1];
  const innerStride = src[ndim - 1];
  const index = new Array<number>(ndim - 1).fill(0);
  let offset = 0;
  for (let start = 0; start < size; start += inner) {
    for (let j = 0; j < inner; j++) out[start + j] = data[offset + j * innerStride];
    for (let axis = ndim - 2; axis >= 0; axis--) {
      index[axis]++;
      offset += src[axis];
      if (index[axis] < shape[axis]) break;
      index[axis] = 0;
      offset -= src[axis] * shape[axis];
    }
  }
  return { data: out, shape };
}

// %% [markdown]
// ### Slicing
//
// Python's slice `start:stop:step` selects `start, start+step, ...` while staying before `stop`.
// Its rules are worth knowing exactly, because numpy and every framework copy them:
//
// - Negative `start` or `stop` count from the end (`-1` is the last element).
// - Out-of-range values are **clamped**, never an error: `x[2:100]` of a length-5 axis is
//   `[2, 3, 4]`.
// - `step` may be negative to walk backwards; then the defaults are "from the last element" and
//   "through the first one", so `::-1` reverses. `step` 0 is an error.
//
// ```
// dim = 5         start stop step   indices
// [1:4]             1    4    1     1 2 3
// [-2:]            -2    -    1     3 4
// [::2]             -    -    2     0 2 4
// [::-1]            -    -   -1     4 3 2 1 0
// [3:0:-1]          3    0   -1     3 2 1
// [10:-10:-2]      10  -10   -2     4 2 0
// ```
//
// ### Exercise 10: `sliceIndices`
//
// **TODO**: Return the list of indices a slice selects on an axis of length `dim` (`null` means
// "not given").
//
// **APPROACH**:
// 1. `step` defaults to 1; a step of 0 throws an `Error` whose message mentions the `step`.
// 2. For a positive step: `start` defaults to 0 and `stop` to `dim`; add `dim` to negatives;
//    clamp both into `[0, dim]`.
// 3. For a negative step: `start` defaults to `dim - 1` and `stop` to "before 0" (use `-1`,
//    which cannot be confused with a user's -1 because you convert negatives first); add `dim`
//    to negative user values; clamp both into `[-1, dim - 1]`.
// 4. Collect `i = start; i < stop` (or `i > stop` going backwards), `i += step`.
//
// **HINTS**:
// - Convert user negatives *before* applying the default for a missing stop.

// %% nbgrader={"grade": false, "grade_id": "slice-indices", "locked": false, "schema_version": 3, "solution": true, "task": false}
//| export
/** The indices selected by the Python slice start:stop:step on an axis of length `dim`. */
function sliceIndices(
  dim: number,
  start: number | null = null,
  stop: number | null = null,
  step: number | null = null,
): number[] {
  // ### BEGIN SOLUTION
  const s = step ?? 1;
  if (!Number.isInteger(s) || s === 0) throw new Error(`slice step must be a non-zero integer`);
  const clamp = (v: number, lo: number, hi: number): number => Math.min(Math.max(v, lo), hi);
  const fromEnd = (v: number): number => (v < 0 ? v + dim : v);
  let first: number;
  let end: number;
  if (s > 0) {
    first = start === null ? 0 : clamp(fromEnd(start), 0, dim);
    end = stop === null ? dim : clamp(fromEnd(stop), 0, dim);
  } else {
    first = start === null ? dim - 1 : clamp(fromEnd(start), -1, dim - 1);
    end = stop === null ? -1 : clamp(fromEnd(stop), -1, dim - 1);
  }
  const out: number[] = [];
  if (s > 0) for (let i = first; i < end; i += s) out.push(i);
  else for (let i = first; i > end; i += s) out.push(i);
  return out;
  // ### END SOLUTION
}

// %% nbgrader={"grade": true, "grade_id": "test-unit-slice-indices", "locked": true, "points": 3, "schema_version": 3, "solution": false, "task": false}
function testUnitSliceIndices(): void {
  assertEqual(sliceIndices(5, 1, 4), [1, 2, 3], "[1:4]");
  assertEqual(sliceIndices(5, -2), [3, 4], "[-2:]");
  assertEqual(sliceIndices(5, null, null, 2), [0, 2, 4], "[::2]");
  assertEqual(sliceIndices(5, null, null, -1), [4, 3, 2, 1, 0], "[::-1]");
  // ### BEGIN HIDDEN TESTS
  assertEqual(sliceIndices(5), [0, 1, 2, 3, 4], "[:]");
  assertEqual(sliceIndices(5, 3, 0, -1), [3, 2, 1], "[3:0:-1]");
  assertEqual(sliceIndices(5, 10, -10, -2), [4, 2, 0], "[10:-10:-2]");
  assertEqual(sliceIndices(5, 2, 100), [2, 3, 4], "clamped stop");
  assertEqual(sliceIndices(5, -100, 2), [0, 1], "clamped start");
  assertEqual(sliceIndices(5, 4, 1), [], "empty when start >= stop");
  assertEqual(sliceIndices(5, 1, 4, -1), [], "empty backwards");
  assertEqual(sliceIndices(5, null, -1, -1), [], "stop -1 means the last element, not 'before 0'");
  assertEqual(sliceIndices(5, -1, null, -2), [4, 2, 0]);
  assertEqual(sliceIndices(0), [], "empty axis");
  assertEqual(sliceIndices(0, null, null, -1), [], "empty axis backwards");
  assertEqual(sliceIndices(6, 1, null, 3), [1, 4]);
  assertThrows(() => sliceIndices(5, 0, 5, 0), "step");
  // Seeded: random axis lengths and random start, stop, step (each sometimes null, bounds out of
  // range and negative too), computed here with CPython's rules for slice.indices.
  const rsl = testRandom("tensor/slice-indices");
  const sliceOracle = (dim: number, start: number | null, stop: number | null, step: number | null): number[] => {
    const s = step ?? 1;
    const lowest = s > 0 ? 0 : -1;
    const highest = s > 0 ? dim : dim - 1;
    const adjust = (v: number | null, missing: number): number => {
      if (v === null) return missing;
      if (v < 0) return Math.max(v + dim, lowest);
      return Math.min(v, highest);
    };
    const first = adjust(start, s > 0 ? 0 : dim - 1);
    const end = adjust(stop, s > 0 ? dim : -1);
    const out: number[] = [];
    for (let i = first; s > 0 ? i < end : i > end; i += s) out.push(i);
    return out;
  };
  const bound = (): number | null => (rsl.bool(0.25) ? null : rsl.int(-15, 15));
  for (let c = 0; c < 14; c++) {
    const dim = rsl.int(0, 12);
    const start = bound();
    const stop = bound();
    const step = rsl.bool(0.2) ? null : rsl.pick([-4, -3, -2, -1, 1, 2, 3, 4]);
    const what = `[${start ?? ""}:${stop ?? ""}:${step ?? ""}] of a random length ${dim}`;
    assertEqual(sliceIndices(dim, start, stop, step), sliceOracle(dim, start, stop, step), what);
  }
  const zeroStepDim = rsl.int(1, 9);
  const zeroStepStart = bound();
  assertThrows(() => sliceIndices(zeroStepDim, zeroStepStart, null, 0), "step", "step 0 at random bounds");
  // ### END HIDDEN TESTS
  passed("testUnitSliceIndices");
}
testUnitSliceIndices();

// %%
//| mutation slice-indices stops a negative step at 0, so [::-1] never reaches index 0
function sliceIndices(
  dim: number,
  start: number | null = null,
  stop: number | null = null,
  step: number | null = null,
): number[] {
  const s = step ?? 1;
  if (!Number.isInteger(s) || s === 0) throw new Error(`slice step must be a non-zero integer`);
  const clamp = (v: number, lo: number, hi: number): number => Math.min(Math.max(v, lo), hi);
  const fromEnd = (v: number): number => (v < 0 ? v + dim : v);
  let first: number;
  let end: number;
  if (s > 0) {
    first = start === null ? 0 : clamp(fromEnd(start), 0, dim);
    end = stop === null ? dim : clamp(fromEnd(stop), 0, dim);
  } else {
    first = start === null ? dim - 1 : clamp(fromEnd(start), 0, dim - 1);
    end = stop === null ? 0 : clamp(fromEnd(stop), 0, dim - 1);
  }
  const out: number[] = [];
  if (s > 0) for (let i = first; i < end; i += s) out.push(i);
  else for (let i = first; i > end; i += s) out.push(i);
  return out;
}

// %%
//| mutation slice-indices clamps a negative step's bounds into [0, dim] as for a positive step
function sliceIndices(
  dim: number,
  start: number | null = null,
  stop: number | null = null,
  step: number | null = null,
): number[] {
  const s = step ?? 1;
  if (!Number.isInteger(s) || s === 0) throw new Error(`slice step must be a non-zero integer`);
  const clamp = (v: number, lo: number, hi: number): number => Math.min(Math.max(v, lo), hi);
  const fromEnd = (v: number): number => (v < 0 ? v + dim : v);
  let first: number;
  let end: number;
  if (s > 0) {
    first = start === null ? 0 : clamp(fromEnd(start), 0, dim);
    end = stop === null ? dim : clamp(fromEnd(stop), 0, dim);
  } else {
    first = start === null ? dim - 1 : clamp(fromEnd(start), 0, dim);
    end = stop === null ? -1 : clamp(fromEnd(stop), 0, dim);
  }
  const out: number[] = [];
  if (s > 0) for (let i = first; i < end; i += s) out.push(i);
  else for (let i = first; i > end; i += s) out.push(i);
  return out;
}

// %%
//| mutation slice-indices reads a user's stop of -1 as 'before index 0' when stepping backwards
function sliceIndices(
  dim: number,
  start: number | null = null,
  stop: number | null = null,
  step: number | null = null,
): number[] {
  const s = step ?? 1;
  if (!Number.isInteger(s) || s === 0) throw new Error(`slice step must be a non-zero integer`);
  const clamp = (v: number, lo: number, hi: number): number => Math.min(Math.max(v, lo), hi);
  const fromEnd = (v: number): number => (v < 0 ? v + dim : v);
  let first: number;
  let end: number;
  if (s > 0) {
    first = start === null ? 0 : clamp(fromEnd(start), 0, dim);
    end = stop === null ? dim : clamp(fromEnd(stop), 0, dim);
  } else {
    first = start === null ? dim - 1 : clamp(fromEnd(start), -1, dim - 1);
    end = stop === null || stop === -1 ? -1 : clamp(fromEnd(stop), -1, dim - 1);
  }
  const out: number[] = [];
  if (s > 0) for (let i = first; i < end; i += s) out.push(i);
  else for (let i = first; i > end; i += s) out.push(i);
  return out;
}

// %% [markdown]
// ## Part 3: The `Tensor` class
//
// The kernels do the work; the class gives them a convenient, checked interface. Before writing
// it we need three supporting pieces, all provided: a seedable random generator, a gather
// routine for slicing, and a printer.
//
// ### Reproducible randomness
// Weights start random, and experiments must be repeatable: the same seed must give the same
// numbers on every run and every machine. `Math.random()` cannot be seeded, so we carry our own
// generator. `Rng` implements **mulberry32**, a tiny generator with 32 bits of state: each call
// adds a constant to the state and scrambles it with multiplications and shifts. It is fast and
// statistically fine for initialising weights (not for cryptography).
//
// Normal samples come from the **Box-Muller transform**: two independent uniforms `u1, u2` give
// `sqrt(-2 ln u1) * cos(2 pi u2)`, a standard normal. It actually yields two normals per pair
// (the `sin` one too), so we keep the second for the next call.
//
// Every factory takes an optional generator or seed; without one it uses a shared generator
// that `manualSeed(seed)` resets (like `torch.manual_seed`).

// %%
//| export
/** A seedable pseudo-random generator (mulberry32): same seed, same sequence, everywhere. */
class Rng {
  /** The generator used when no generator or seed is passed; reset it with `manualSeed`. */
  static readonly shared = new Rng(0);
  private state = 0;
  private spare: number | null = null;

  constructor(seed = 0) {
    this.seed(seed);
  }

  /** Restarts the sequence from `seed` (any finite number; its integer part is used). */
  seed(seed: number): void {
    if (!Number.isFinite(seed)) throw new Error(`Rng seed must be a finite number, got ${seed}`);
    this.state = Math.trunc(seed) >>> 0;
    this.spare = null;
  }

  /** A uniform float in [0, 1). */
  next(): number {
    this.state = (this.state + 0x6d2b79f5) | 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** A standard normal sample (mean 0, standard deviation 1), by Box-Muller. */
  normal(): number {
    if (this.spare !== null) {
      const value = this.spare;
      this.spare = null;
      return value;
    }
    const u1 = 1 - this.next(); // in (0, 1], so the logarithm is finite
    const u2 = this.next();
    const radius = Math.sqrt(-2 * Math.log(u1));
    this.spare = radius * Math.sin(2 * Math.PI * u2);
    return radius * Math.cos(2 * Math.PI * u2);
  }

  /** A uniform integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }
}

/** Resets the shared generator that factories use when given no generator or seed. */
function manualSeed(seed: number): void {
  Rng.shared.seed(seed);
}

// %% [markdown]
// ### Gathering a slice
// Given one list of indices per axis (from `sliceIndices`, or a single index), the selected
// elements form a smaller grid. `gatherKernel` copies them out in row-major order, with the same
// odometer you have written twice. Slices copy here; numpy returns views for basic slicing, but
// our tensors are always contiguous.

// %%
//| export
/** Copies the elements at the cross product of per-axis index lists into a new tensor. */
function gatherKernel(x: RawTensor, indices: readonly (readonly number[])[]): RawTensor {
  const strides = computeStrides(x.shape);
  const shape = indices.map((list) => list.length);
  const size = shapeSize(shape);
  const out = new Float32Array(size);
  if (size === 0) return { data: out, shape };
  const ndim = shape.length;
  const index = new Array<number>(ndim).fill(0);
  let offset = 0;
  for (let axis = 0; axis < ndim; axis++) offset += indices[axis][0] * strides[axis];
  for (let o = 0; o < size; o++) {
    out[o] = x.data[offset];
    for (let axis = ndim - 1; axis >= 0; axis--) {
      const list = indices[axis];
      offset -= list[index[axis]] * strides[axis];
      index[axis]++;
      if (index[axis] < list.length) {
        offset += list[index[axis]] * strides[axis];
        break;
      }
      index[axis] = 0;
      offset += list[0] * strides[axis];
    }
  }
  return { data: out, shape };
}

// %% [markdown]
// ### Printing like numpy
// A notebook shows a value by calling Node's `util.inspect`, which looks for a method under the
// symbol `util.inspect.custom`. Our printer follows numpy's layout: nested brackets aligned
// under each other, all numbers in one column width, float32 values shown with the fewest digits
// that identify them (so `0.1` prints as `0.1`, not `0.10000000149011612`), scientific notation
// when magnitudes differ by more than 1000x, and only the first and last 3 entries of each axis
// once a tensor has more than 1000 elements.

// %%
//| export
/** Shortest decimal (fixed or exponential) that reads back as the same float32, up to 8 digits. */
function shortestDigits(value: number, exponential: boolean): number {
  for (let digits = 0; digits < 8; digits++) {
    const text = exponential ? value.toExponential(digits) : value.toFixed(digits);
    if (Math.fround(Number(text)) === value) return digits;
  }
  return 8;
}

/** A function formatting each number of `values` the way numpy would in one array. */
function numberFormatter(values: readonly number[]): (value: number) => string {
  let maxAbs = 0;
  let minAbs = Infinity;
  for (const v of values) {
    if (!Number.isFinite(v) || v === 0) continue;
    maxAbs = Math.max(maxAbs, Math.abs(v));
    minAbs = Math.min(minAbs, Math.abs(v));
  }
  const exponential = maxAbs >= 1e8 || (maxAbs > 0 && (minAbs < 1e-4 || maxAbs / minAbs > 1e3));
  let digits = 0;
  for (const v of values) if (Number.isFinite(v)) digits = Math.max(digits, shortestDigits(v, exponential));
  const one = (v: number): string => {
    if (Number.isNaN(v)) return "nan";
    if (!Number.isFinite(v)) return v > 0 ? "inf" : "-inf";
    if (exponential) {
      const text = v.toExponential(digits).replace(/e([+-])(\d)$/, "e$10$2");
      return digits === 0 ? text.replace("e", ".e") : text;
    }
    const own = shortestDigits(v, false);
    const text = v.toFixed(own);
    return own === 0 ? `${text}.${" ".repeat(digits)}` : text + " ".repeat(digits - own);
  };
  let width = 0;
  for (const v of values) width = Math.max(width, one(v).length);
  return (v) => one(v).padStart(width);
}

/** numpy-style text for a tensor: `Tensor([[1., 2.], [3., 4.]])` laid out over lines. */
function formatTensor(x: RawTensor, name = "Tensor"): string {
  const prefix = `${name}(`;
  const shape = x.shape;
  if (x.data.length === 0) {
    return shape.length === 1 ? `${prefix}[])` : `${prefix}[], shape=${formatShape(shape)})`;
  }
  const edge = 3;
  const summarize = x.data.length > 1000;
  const shown = shape.map((dim) => {
    const all = Array.from({ length: dim }, (_, i) => i);
    if (!summarize || dim <= 2 * edge) return all;
    return [...all.slice(0, edge), -1, ...all.slice(dim - edge)];
  });
  const strides = computeStrides(shape);
  const values: number[] = [];
  const collect = (axis: number, offset: number): void => {
    if (axis === shape.length) {
      values.push(x.data[offset]);
      return;
    }
    for (const i of shown[axis]) if (i >= 0) collect(axis + 1, offset + i * strides[axis]);
  };
  collect(0, 0);
  const format = numberFormatter(values);
  const lineWidth = 75;
  const render = (axis: number, offset: number, indent: string): string => {
    if (axis === shape.length) return format(x.data[offset]);
    const items = shown[axis].map((i) =>
      i < 0 ? "..." : render(axis + 1, offset + i * strides[axis], indent + " "),
    );
    if (axis < shape.length - 1) {
      const gap = "\n".repeat(shape.length - axis - 2);
      return `[${items.join(`,\n${gap}${indent} `)}]`;
    }
    const lines: string[] = [];
    let line = "[";
    items.forEach((item, i) => {
      const piece = i < items.length - 1 ? `${item}, ` : `${item}]`;
      if (line.trim().length > 1 && indent.length + line.length + piece.trimEnd().length > lineWidth) {
        lines.push(line.trimEnd());
        line = `${indent} `;
      }
      line += piece;
    });
    lines.push(line);
    return lines.join(`\n`);
  };
  return `${prefix}${render(0, 0, " ".repeat(prefix.length))})`;
}

// %% [markdown]
// ### A switch for other matmul kernels
// `Tensor.matmul` (and so every `Linear` layer) calls your `matmulKernel`, unless another
// implementation of the same contract has been installed with `setMatmulBackend`. Module 18
// installs its cache-blocked and WebAssembly SIMD kernels this way; `setMatmulBackend(null)`
// puts yours back. Module 18 can also put a WebAssembly kernel in `elementwiseBackendSlot` for
// the four arithmetic operations and `exp` on large tensors; wherever it declines (and always
// until then), your `elementwiseKernel` runs.

// %% nbgrader={"grade": false, "grade_id": "matmul-backend", "locked": true, "schema_version": 3, "solution": false, "task": false}
//| export
/** numpy's matmul on raw tensors: the contract of matmulKernel, for alternative kernels. */
type MatmulBackend = (a: RawTensor, b: RawTensor) => RawTensor;

/** The installed backend, null for matmulKernel. An object, so that setting it never assigns an export. */
const matmulBackendSlot: { current: MatmulBackend | null } = { current: null };

/** Makes Tensor.matmul use `backend` (null: matmulKernel again); returns the previous backend. */
function setMatmulBackend(backend: MatmulBackend | null): MatmulBackend | null {
  const previous = matmulBackendSlot.current;
  matmulBackendSlot.current = backend;
  return previous;
}

/**
 * Another kernel for `op` ("add", "sub", "mul", "div" of `a` and `b`, or "exp" of `a` with `b`
 * null), with elementwiseKernel's broadcasting; it returns null for what it does not handle.
 */
type ElementwiseBackend = (op: string, a: RawTensor, b: RawTensor | null) => RawTensor | null;

/** The installed element-wise backend, null for none (module 18's switch sets it). */
const elementwiseBackendSlot: { current: ElementwiseBackend | null } = { current: null };

// %% [markdown]
// ### The class
//
// Read this cell rather than skim it: every method is a few lines that validate arguments and
// call a kernel you wrote. Some design decisions to notice:
//
// - **Ownership.** The constructor *adopts* a `Float32Array` without copying it (a nested array
//   is copied by `flattenNested`). `reshape` returns a tensor that **shares** the same buffer,
//   like a numpy view: it costs no memory, and writing through one is visible through the other.
//   Every other operation returns a fresh buffer.
// - **Numbers on either side.** TypeScript has no operator overloading, so `x.add(2)` is the
//   method and `add(2, x)` / `sub(1, x)` the free functions for a number on the left. Division
//   by zero follows IEEE-754 like numpy: `1/0` is `Infinity`, `0/0` is `NaN`, no exception.
// - **0-d tensors.** Reducing everything returns a tensor of shape `[]`; `.item()` turns it into
//   a number.
// - **Errors come from the kernels and helpers.** A shape with a negative dimension is refused by
//   `checkShape` (`dimensions must be non-negative integers`), a reshape by your `resolveShape`
//   (`cannot reshape array of size 6 ...`), `max` of an empty tensor by your `reduceKernel` (the
//   reduction has no identity), a matmul by your `matmulKernel` (both shapes, `[2, 3] and
//   [2, 3]`).
// - **Memory.** `nbytes` is the data alone (`4 * size`). `memoryFootprint()` adds an estimate of
//   what the JavaScript objects around the data cost in V8: the `Tensor` object itself (about
//   72 bytes, 24 of them for the three gradient fields below), the `Float32Array` view and its
//   `ArrayBuffer` (about 160 bytes together), and the two small `shape` and `strides` arrays
//   (about 32 bytes each plus 8 per axis). For a
//   1000x1000 tensor the overhead is noise (4 MB of data); for a scalar it is 98% of the total,
//   which is why frameworks avoid creating millions of tiny tensors.
// - **Allocation hooks.** `onTensorAllocated(callback)` calls `callback` with every tensor
//   constructed while subscribed. The profiling module uses it to measure the memory a forward
//   pass really allocates.
// - **Room for gradients (used from module 06).** Training needs the gradient of a loss with
//   respect to every weight. Module 06 computes it by *reverse-mode automatic differentiation*:
//   while the forward pass runs, each operation leaves a note on its result saying what it did;
//   `backward()` later walks the notes from the loss back to the weights. Autograd patched onto
//   a tensor that had not planned for it is how frameworks end up with two slightly different
//   APIs, so this class carries the fields from the start and takes the notes itself:
//   - `requiresGrad`: whether `backward()` should compute this tensor's gradient (weights set
//     it with `setRequiresGrad()`; data does not);
//   - `grad`: where `backward()` leaves that gradient; `null` until then;
//   - `gradFn`: the note, a `GradNode`: the operation's name (`"mul"`, `"matmul"`, ...), its
//     input tensors, and the few arguments its gradient rule needs (an axis, a permutation).
//     `null` for tensors you made yourself.
//
//   An operation takes a note (`Tensor.record`) only when gradients are enabled and one of its
//   inputs requires a gradient, so plain computations allocate nothing extra. `map(fn)` takes
//   none: an arbitrary function has no known derivative. `detach()` returns the same data
//   without a note. The gradient rules and `backward()` itself arrive in module 06, which
//   registers them in `Tensor.backwardRules` and `Tensor.backwardPass`; until then `backward()`
//   says that module 06 is missing.
// - **`gather(axis, index)`** picks one element per line along `axis` (PyTorch's `gather`): with
//   scores of shape `[N, C]` and an index `[N, 1]` of labels, it returns each example's score for
//   its own label. Losses need exactly that, and unlike a loop over `data` it can be
//   differentiated (module 06).

// %% nbgrader={"grade": false, "grade_id": "tensor-class", "locked": true, "schema_version": 3, "solution": false, "task": false}
//| export
/** One selection per axis in `Tensor.slice`: an index, `null` (all), or [start, stop, step]. */
type SliceSpec = number | null | readonly [(number | null)?, (number | null)?, (number | null)?];

/** What a gradient rule needs besides the operation's inputs (see module 06). */
interface OpArgs {
  /** The reduced axis (null: all axes) of sum, max, min; the indexed axis of gather. */
  axis?: number | null;
  keepdims?: boolean;
  /** The permutation of permute. */
  axes?: readonly number[];
  /** One list of indices per axis: what slice selected. */
  indices?: readonly (readonly number[])[];
  /** Tensors the rule reads but sends no gradient to (an index, a mask, labels). */
  saved?: readonly Tensor[];
}

/** The note an operation leaves on its result, for the backward pass of module 06. */
interface GradNode {
  /** The operation's name, the key of its rule in `Tensor.backwardRules`. */
  readonly op: string;
  readonly inputs: readonly Tensor[];
  readonly args: OpArgs;
}

/** Given dLoss/dOutput, dLoss/dInput for each input of the node (null: no gradient). */
type BackwardRule = (grad: Tensor, node: GradNode, output: Tensor) => (Tensor | null)[];

/** An n-dimensional float32 array with numpy semantics. */
class Tensor implements RawTensor {
  /** Estimated bytes of the Tensor object, its Float32Array view and ArrayBuffer (V8, 64-bit). */
  static readonly OBJECT_OVERHEAD_BYTES = 296;
  /** Estimated extra bytes per axis (one entry each in the shape and strides arrays). */
  static readonly PER_AXIS_OVERHEAD_BYTES = 16;
  private static readonly allocationListeners = new Set<(tensor: Tensor) => void>();
  /** False inside module 06's `noGrad`: operations then take no notes. */
  static gradEnabled = true;
  /** The gradient rule of each operation name; module 06 fills it. */
  static readonly backwardRules = new Map<string, BackwardRule>();
  /** The backward pass; module 06 installs it. */
  static backwardPass: ((root: Tensor, gradient?: Tensor) => void) | null = null;

  /** The elements in row-major order. */
  readonly data: Float32Array;
  /** Length of each axis; [] for a 0-d tensor. */
  readonly shape: number[];
  /** Elements to skip to move by one along each axis. */
  readonly strides: number[];
  /** Whether backward() computes this tensor's gradient (used from module 06). */
  requiresGrad = false;
  /** The gradient backward() accumulated here, or null (used from module 06). */
  grad: Tensor | null = null;
  /** The operation that produced this tensor while gradients were recorded, or null. */
  gradFn: GradNode | null = null;

  /**
   * A tensor from nested arrays, a flat number array, a single number, or a Float32Array (adopted
   * without copying). `shape`, when given, must have as many elements as the values.
   */
  constructor(values: NestedArray | Float32Array | number[] | number, shape?: readonly number[]) {
    let data: Float32Array;
    let inferred: number[];
    if (values instanceof Float32Array) {
      data = values;
      inferred = [values.length];
    } else {
      const flat = flattenNested(values);
      data = flat.data;
      inferred = flat.shape;
    }
    if (shape !== undefined) {
      checkShape(shape);
      if (shapeSize(shape) !== data.length) {
        throw new Error(`cannot reshape array of size ${data.length} into shape ${formatShape(shape)}`);
      }
      inferred = shape.slice();
    }
    this.data = data;
    this.shape = inferred;
    this.strides = computeStrides(inferred);
    if (Tensor.allocationListeners.size > 0) {
      for (const listener of [...Tensor.allocationListeners]) listener(this);
    }
  }

  /** Calls `listener` with every tensor constructed from now on; returns the unsubscribe function. */
  static onAllocated(listener: (tensor: Tensor) => void): () => void {
    Tensor.allocationListeners.add(listener);
    return () => {
      Tensor.allocationListeners.delete(listener);
    };
  }

  // ---- size and memory ----
  /** Number of elements. */
  get size(): number {
    return this.data.length;
  }
  /** Number of axes. */
  get ndim(): number {
    return this.shape.length;
  }
  /** Bytes of element data: 4 per element. */
  get nbytes(): number {
    return this.data.byteLength;
  }
  /** Data bytes plus an estimate of the JavaScript objects around them (see the lesson). */
  memoryFootprint(): number {
    return this.nbytes + Tensor.OBJECT_OVERHEAD_BYTES + Tensor.PER_AXIS_OVERHEAD_BYTES * this.ndim;
  }

  // ---- gradients: the fields and the note-taking; module 06 brings the rest ----
  /** Sets `requiresGrad` (true by default) and returns this tensor, for chaining. */
  setRequiresGrad(requiresGrad = true): this {
    this.requiresGrad = requiresGrad;
    return this;
  }
  /** The same data (shared, not copied) without a note: no gradient flows through it. */
  detach(): Tensor {
    return new Tensor(this.data, this.shape);
  }
  /** Forgets the accumulated gradient. */
  zeroGrad(): void {
    this.grad = null;
  }
  /** Accumulates d(this)/d(leaf) into `leaf.grad` for every leaf that requires it (module 06). */
  backward(gradient?: Tensor): void {
    if (Tensor.backwardPass === null) {
      throw new Error(
        "backward() needs module 06 (tinytorch-ts/core/autograd), which brings the gradient rules",
      );
    }
    Tensor.backwardPass(this, gradient);
  }
  /**
   * Leaves the note `op(inputs)` on `out` when gradients are enabled and an input requires one;
   * returns `out`. Operations outside this class (activations, losses) call it too.
   */
  static record(out: Tensor, op: string, inputs: readonly Tensor[], args: OpArgs = {}): Tensor {
    if (!Tensor.gradEnabled) return out;
    for (const input of inputs) {
      if (input.requiresGrad) {
        out.requiresGrad = true;
        out.gradFn = { op, inputs, args };
        break;
      }
    }
    return out;
  }

  // ---- element-wise arithmetic, with broadcasting ----
  private static raw(value: Tensor | number): RawTensor {
    return typeof value === "number" ? { data: Float32Array.of(value), shape: [] } : value;
  }
  private static wrap(result: RawTensor): Tensor {
    return new Tensor(result.data, result.shape);
  }
  private binary(name: string, other: Tensor | number, op: (x: number, y: number) => number): Tensor {
    const raw = Tensor.raw(other);
    const out = Tensor.wrap(elementwiseBackendSlot.current?.(name, this, raw) ?? elementwiseKernel(this, raw, op));
    const tracked = this.requiresGrad || (typeof other !== "number" && other.requiresGrad);
    if (!tracked) return out;
    return Tensor.record(out, name, [this, typeof other === "number" ? new Tensor(other) : other]);
  }
  add(other: Tensor | number): Tensor {
    return this.binary("add", other, (x, y) => x + y);
  }
  sub(other: Tensor | number): Tensor {
    return this.binary("sub", other, (x, y) => x - y);
  }
  mul(other: Tensor | number): Tensor {
    return this.binary("mul", other, (x, y) => x * y);
  }
  /** Division; x/0 is ±Infinity and 0/0 is NaN, as in numpy. */
  div(other: Tensor | number): Tensor {
    return this.binary("div", other, (x, y) => x / y);
  }
  pow(exponent: Tensor | number): Tensor {
    return this.binary("pow", exponent, (x, y) => Math.pow(x, y));
  }
  /** Element-wise maximum of two broadcast operands. */
  maximum(other: Tensor | number): Tensor {
    return this.binary("maximum", other, (x, y) => (x > y || Number.isNaN(x) ? x : y));
  }
  /** Applies `fn` to every element, into a new tensor of the same shape (takes no note). */
  map(fn: (value: number) => number): Tensor {
    const out = new Float32Array(this.size);
    const data = this.data;
    for (let i = 0; i < out.length; i++) out[i] = fn(data[i]);
    return new Tensor(out, this.shape);
  }
  neg(): Tensor {
    return Tensor.record(this.map((x) => -x), "neg", [this]);
  }
  exp(): Tensor {
    const fast = elementwiseBackendSlot.current?.("exp", this, null);
    return Tensor.record(fast ? Tensor.wrap(fast) : this.map(Math.exp), "exp", [this]);
  }
  log(): Tensor {
    return Tensor.record(this.map(Math.log), "log", [this]);
  }
  sqrt(): Tensor {
    return Tensor.record(this.map(Math.sqrt), "sqrt", [this]);
  }
  abs(): Tensor {
    return Tensor.record(this.map(Math.abs), "abs", [this]);
  }

  // ---- matrix multiplication ----
  /** numpy's matmul (the @ operator): 1-D, 2-D and broadcast batched N-D. */
  matmul(other: Tensor): Tensor {
    return Tensor.record(
      Tensor.wrap((matmulBackendSlot.current ?? matmulKernel)(this, other)),
      "matmul",
      [this, other],
    );
  }

  // ---- reductions ----
  /** Sum over `axis` (all axes when omitted or null), keeping it with size 1 if `keepdims`. */
  sum(axis: number | null = null, keepdims = false): Tensor {
    const out = Tensor.wrap(reduceKernel(this, axis, keepdims, (acc, v) => acc + v, 0));
    return Tensor.record(out, "sum", [this], { axis, keepdims });
  }
  /** Mean over `axis` (all axes when omitted); NaN for an empty axis, as numpy. */
  mean(axis: number | null = null, keepdims = false): Tensor {
    const count = axis === null ? this.size : this.shape[normalizeAxis(axis, this.ndim)];
    return this.sum(axis, keepdims).div(count);
  }
  /** Maximum over `axis` (all axes when omitted); throws on an empty axis. */
  max(axis: number | null = null, keepdims = false): Tensor {
    const out = Tensor.wrap(
      reduceKernel(this, axis, keepdims, (acc, v) => (v > acc || Number.isNaN(v) ? v : acc)),
    );
    return Tensor.record(out, "max", [this], { axis, keepdims });
  }
  /** Minimum over `axis` (all axes when omitted); throws on an empty axis. */
  min(axis: number | null = null, keepdims = false): Tensor {
    const out = Tensor.wrap(
      reduceKernel(this, axis, keepdims, (acc, v) => (v < acc || Number.isNaN(v) ? v : acc)),
    );
    return Tensor.record(out, "min", [this], { axis, keepdims });
  }
  /** Index of the first maximum along `axis` (of the flattened tensor when omitted). */
  argmax(axis: number | null = null): Tensor {
    const source = axis === null ? this.reshape(-1) : this;
    const ax = normalizeAxis(axis ?? 0, source.ndim);
    const len = source.shape[ax];
    const inner = shapeSize(source.shape.slice(ax + 1));
    const outer = shapeSize(source.shape.slice(0, ax));
    const shape = source.shape.filter((_, i) => i !== ax);
    if (len === 0) throw new Error("attempt to get argmax of an empty sequence");
    const out = new Float32Array(outer * inner);
    for (let o = 0; o < outer; o++) {
      for (let i = 0; i < inner; i++) {
        let best = 0;
        let bestValue = source.data[o * len * inner + i];
        for (let r = 1; r < len; r++) {
          const v = source.data[(o * len + r) * inner + i];
          if (v > bestValue || (Number.isNaN(v) && !Number.isNaN(bestValue))) {
            best = r;
            bestValue = v;
          }
        }
        out[o * inner + i] = best;
      }
    }
    return new Tensor(out, shape);
  }

  // ---- shape changes ----
  /** Same data, new shape (one -1 allowed): shares the buffer, like a numpy view. */
  reshape(...shape: number[] | [readonly number[]]): Tensor {
    const requested = (Array.isArray(shape[0]) ? shape[0] : shape) as readonly number[];
    return Tensor.record(new Tensor(this.data, resolveShape(this.size, requested)), "reshape", [this]);
  }
  /** Swaps two axes (the last two by default), as a contiguous copy. */
  transpose(axisA?: number, axisB?: number): Tensor {
    if (axisA === undefined && axisB === undefined && this.ndim < 2) return this.clone();
    if ((axisA === undefined) !== (axisB === undefined)) {
      throw new Error("transpose takes two axes, or none for the last two");
    }
    const a = normalizeAxis(axisA ?? -2, this.ndim);
    const b = normalizeAxis(axisB ?? -1, this.ndim);
    const axes = this.shape.map((_, i) => i);
    axes[a] = b;
    axes[b] = a;
    return this.permute(axes);
  }
  /** Reorders all axes: axis d of the result is axis axes[d] of this tensor (a copy). */
  permute(axes: readonly number[]): Tensor {
    const order = axes.map((axis) => normalizeAxis(axis, this.ndim));
    return Tensor.record(Tensor.wrap(permuteKernel(this, axes)), "permute", [this], { axes: order });
  }

  // ---- indexing and slicing ----
  /**
   * numpy basic indexing: one spec per leading axis. A number picks one index (negative counts
   * from the end) and removes the axis; null keeps the whole axis; [start, stop, step] slices.
   * Axes without a spec are kept whole. Returns a copy.
   */
  slice(...specs: SliceSpec[]): Tensor {
    if (specs.length > this.ndim) {
      throw new Error(
        `too many indices for tensor: tensor is ${this.ndim}-dimensional, but ${specs.length} were indexed`,
      );
    }
    const lists: number[][] = [];
    const keptShape: number[] = [];
    this.shape.forEach((dim, axis) => {
      const spec = axis < specs.length ? specs[axis] : null;
      if (typeof spec === "number") {
        if (!Number.isInteger(spec) || spec < -dim || spec >= dim) {
          throw new Error(`index ${spec} is out of bounds for axis ${axis} with size ${dim}`);
        }
        lists.push([spec < 0 ? spec + dim : spec]);
        return;
      }
      const list = spec === null ? sliceIndices(dim) : sliceIndices(dim, spec[0], spec[1], spec[2]);
      lists.push(list);
      keptShape.push(list.length);
    });
    const out = new Tensor(gatherKernel(this, lists).data, keptShape);
    return Tensor.record(out, "slice", [this], { indices: lists });
  }
  /** Indexes the leading axes with integers: t.get(1) is row 1, t.get(1, 2) a 0-d tensor. */
  get(...indices: number[]): Tensor {
    return this.slice(...indices);
  }
  /** The single element of a tensor of size 1, as a number. */
  item(): number {
    if (this.size !== 1) {
      throw new Error(`item() needs a tensor with one element, got shape ${formatShape(this.shape)}`);
    }
    return this.data[0];
  }
  /** The elements as nested arrays (a number for a 0-d tensor). */
  toArray(): NestedArray {
    const build = (axis: number, offset: number): NestedArray => {
      if (axis === this.ndim) return this.data[offset];
      const out: NestedArray[] = [];
      for (let i = 0; i < this.shape[axis]; i++) out.push(build(axis + 1, offset + i * this.strides[axis]));
      return out;
    };
    return build(0, 0);
  }
  /**
   * Along `axis`, picks element `index[..., i, ...]` of each line: out has the shape of `index`,
   * whose other axes must match this tensor's (PyTorch's gather). Picks a label's score per row.
   */
  gather(axis: number, index: Tensor): Tensor {
    const ax = normalizeAxis(axis, this.ndim);
    const same = index.ndim === this.ndim && index.shape.every((d, i) => i === ax || d === this.shape[i]);
    if (!same) {
      throw new Error(
        `gather: index of shape ${formatShape(index.shape)} must match ${formatShape(this.shape)} except on axis ${ax}`,
      );
    }
    const len = this.shape[ax];
    const inner = shapeSize(this.shape.slice(ax + 1));
    const picks = index.shape[ax];
    const out = new Float32Array(index.size);
    for (let o = 0; o < out.length; o++) {
      const i = o % inner;
      const outer = Math.floor(o / (inner * picks));
      const k = index.data[o];
      if (!Number.isInteger(k) || k < 0 || k >= len) {
        throw new Error(`gather: index ${k} is out of bounds for axis ${ax} with size ${len}`);
      }
      out[o] = this.data[(outer * len + k) * inner + i];
    }
    return Tensor.record(new Tensor(out, index.shape), "gather", [this], { axis: ax, saved: [index] });
  }
  /** A copy with its own buffer. */
  clone(): Tensor {
    return Tensor.record(new Tensor(this.data.slice(), this.shape), "clone", [this]);
  }

  // ---- factories ----
  /** A Tensor as is, or a new tensor from a number or nested array. */
  static from(value: Tensor | NestedArray): Tensor {
    return value instanceof Tensor ? value : new Tensor(value);
  }
  static zeros(shape: readonly number[]): Tensor {
    checkShape(shape);
    return new Tensor(new Float32Array(shapeSize(shape)), shape);
  }
  static ones(shape: readonly number[]): Tensor {
    return Tensor.full(shape, 1);
  }
  static full(shape: readonly number[], value: number): Tensor {
    checkShape(shape);
    return new Tensor(new Float32Array(shapeSize(shape)).fill(value), shape);
  }
  /** Standard normal samples from `rng` (a generator or a seed; the shared generator if omitted). */
  static randn(shape: readonly number[], rng: Rng | number = Rng.shared): Tensor {
    checkShape(shape);
    const source = typeof rng === "number" ? new Rng(rng) : rng;
    const data = new Float32Array(shapeSize(shape));
    for (let i = 0; i < data.length; i++) data[i] = source.normal();
    return new Tensor(data, shape);
  }
  /** Uniform samples in [0, 1) from `rng` (a generator or a seed; the shared one if omitted). */
  static rand(shape: readonly number[], rng: Rng | number = Rng.shared): Tensor {
    checkShape(shape);
    const source = typeof rng === "number" ? new Rng(rng) : rng;
    const data = new Float32Array(shapeSize(shape));
    for (let i = 0; i < data.length; i++) data[i] = source.next();
    return new Tensor(data, shape);
  }
  /** start, start+step, ... below stop, like numpy.arange; arange(n) is 0..n-1. */
  static arange(start: number, stop?: number, step = 1): Tensor {
    const [from, to] = stop === undefined ? [0, start] : [start, stop];
    if (step === 0) throw new Error("arange step must be non-zero");
    const count = Math.max(0, Math.ceil((to - from) / step));
    return new Tensor(Float32Array.from({ length: count }, (_, i) => from + i * step));
  }

  // ---- printing ----
  toString(): string {
    return formatTensor(this);
  }
  [util.inspect.custom](): string {
    return formatTensor(this);
  }
}

// %% [markdown]
// Free functions complete the interface: factories without the `Tensor.` prefix, arithmetic
// with a number on either side, and the allocation hook.

// %%
//| export
function zeros(shape: readonly number[]): Tensor {
  return Tensor.zeros(shape);
}
function ones(shape: readonly number[]): Tensor {
  return Tensor.ones(shape);
}
function randn(shape: readonly number[], rng?: Rng | number): Tensor {
  return Tensor.randn(shape, rng);
}
function rand(shape: readonly number[], rng?: Rng | number): Tensor {
  return Tensor.rand(shape, rng);
}
/** a + b with broadcasting; either side may be a number. */
function add(a: Tensor | number, b: Tensor | number): Tensor {
  return Tensor.from(a).add(b);
}
/** a - b with broadcasting; either side may be a number. */
function sub(a: Tensor | number, b: Tensor | number): Tensor {
  return Tensor.from(a).sub(b);
}
/** a * b with broadcasting; either side may be a number. */
function mul(a: Tensor | number, b: Tensor | number): Tensor {
  return Tensor.from(a).mul(b);
}
/** a / b with broadcasting; either side may be a number. */
function div(a: Tensor | number, b: Tensor | number): Tensor {
  return Tensor.from(a).div(b);
}
/** numpy's matmul of two tensors. */
function matmul(a: Tensor, b: Tensor): Tensor {
  return a.matmul(b);
}
/**
 * Calls `callback` with every tensor constructed while subscribed; returns the unsubscribe
 * function. Tensors from `reshape` share their buffer with the original (compare `data.buffer`
 * to count memory once).
 */
function onTensorAllocated(callback: (tensor: Tensor) => void): () => void {
  return Tensor.onAllocated(callback);
}

// %% [markdown]
// ### Try it
// With all exercises done, the cell below prints a few tensors. Change it and re-run: this is
// the quickest way to build intuition for broadcasting and axes.

// %%
await demo("printing tensors", () => {
  const x = new Tensor([
    [1, 2, 3],
    [4, 5, 6],
  ]);
  console.log(x);
  console.log(x.add(new Tensor([0.5, 0.25, 0.125])));
  console.log(x.sum(0), x.mean(-1, true));
  console.log(x.transpose());
  console.log(Tensor.randn([2, 3], 42));
  console.log(x.div(0));
  console.log(Tensor.randn([40, 50], 0)); // more than 1000 elements: summarised
});

// %% [markdown]
// ## Module test
// The final test exercises the class end to end, which means every kernel you wrote, through
// the interface the rest of the course will use.

// %% nbgrader={"grade": true, "grade_id": "test-module-tensor", "locked": true, "points": 6, "schema_version": 3, "solution": false, "task": false}
function testModule(): void {
  const x = new Tensor([
    [1, 2, 3],
    [4, 5, 6],
  ]);
  assertShape(x.shape, [2, 3]);
  assertEqual(x.strides, [3, 1]);
  assertEqual([x.size, x.ndim, x.nbytes], [6, 2, 24], "size, ndim, nbytes");
  assert(x.memoryFootprint() > x.nbytes, "the footprint includes object overhead");
  assertEqual(x.add(10).toArray(), [
    [11, 12, 13],
    [14, 15, 16],
  ]);
  assertEqual(sub(10, x).toArray(), [
    [9, 8, 7],
    [6, 5, 4],
  ], "a number on the left");
  assertEqual(x.mul(new Tensor([[2], [3]])).toArray(), [
    [2, 4, 6],
    [12, 15, 18],
  ]);
  assertEqual(x.matmul(x.transpose()).toArray(), [
    [14, 32],
    [32, 77],
  ]);
  assertEqual(x.sum().item(), 21);
  assertEqual(x.sum(-1).toArray(), [6, 15]);
  assertClose(x.mean(0, true).toArray(), [[2.5, 3.5, 4.5]]);
  assertEqual(x.max(1).toArray(), [3, 6]);
  assertEqual(x.reshape(-1, 2).shape, [3, 2]);
  assertEqual(x.get(1).toArray(), [4, 5, 6]);
  assertEqual(x.slice(null, [1, null]).toArray(), [
    [2, 3],
    [5, 6],
  ]);
  assertEqual(Array.from(Tensor.randn([5], 7).data), Array.from(Tensor.randn([5], 7).data), "seeded");
  assertEqual(new Tensor([1, -1]).div(0).toArray(), [Infinity, -Infinity], "division by zero");
  // ### BEGIN HIDDEN TESTS
  // Factories and generators.
  assertEqual(zeros([2, 2]).toArray(), [
    [0, 0],
    [0, 0],
  ]);
  assertEqual(ones([3]).toArray(), [1, 1, 1]);
  const r1 = new Rng(123);
  const r2 = new Rng(123);
  for (let i = 0; i < 5; i++) assertEqual(r1.next(), r2.next(), "same seed, same numbers");
  assert(new Rng(1).next() !== new Rng(2).next(), "different seeds differ");
  const u = rand([1000], 3);
  assert(u.max().item() < 1 && u.min().item() >= 0, "rand in [0, 1)");
  const g = randn([20000], 11);
  assertClose(g.mean().item(), 0, { atol: 0.03 }, "randn mean");
  assertClose(g.pow(2).mean().item(), 1, { atol: 0.05 }, "randn variance");
  manualSeed(5);
  const s1 = randn([4]);
  manualSeed(5);
  assertEqual(Array.from(randn([4]).data), Array.from(s1.data), "manualSeed resets the shared generator");
  // Reshape shares storage; other operations copy.
  const flatView = x.reshape(6);
  assert(flatView.data === x.data, "reshape shares the buffer");
  assert(x.transpose().data !== x.data, "transpose copies");
  assertThrows(() => x.reshape(4, 2), "size 6");
  assertEqual(x.reshape([3, 2]).shape, [3, 2], "reshape takes an array too");
  // Transpose and permute on 3-d.
  const t3 = Tensor.arange(24).reshape(2, 3, 4);
  assertShape(t3.transpose().shape, [2, 4, 3], "default swaps the last two axes");
  assertShape(t3.transpose(0, 2).shape, [4, 3, 2]);
  assertShape(t3.permute([1, 2, 0]).shape, [3, 4, 2]);
  assertEqual(t3.permute([1, 2, 0]).get(2, 3, 1).item(), 23);
  // Indexing and slicing.
  assertEqual(t3.get(-1, -1).toArray(), [20, 21, 22, 23], "negative indices");
  assertEqual(t3.get(1, 2, 3).shape, [], "full index gives 0-d");
  assertEqual(t3.slice(0, [null, null, -1], [1, 3]).toArray(), [
    [9, 10],
    [5, 6],
    [1, 2],
  ]);
  assertThrows(() => t3.get(2), "out of bounds");
  assertThrows(() => t3.get(0, 0, 0, 0), "too many indices");
  // Matmul through the class, with the error naming both shapes.
  assertThrows(() => x.matmul(x), "[2, 3] and [2, 3]");
  assertShape(Tensor.ones([4, 2, 3]).matmul(Tensor.ones([3, 5])).shape, [4, 2, 5]);
  assertEqual(new Tensor([1, 2, 3]).matmul(new Tensor([1, 1, 1])).item(), 6);
  // Reductions: empty tensors and errors.
  assertEqual(zeros([0, 3]).sum(0).toArray(), [0, 0, 0]);
  assert(Number.isNaN(zeros([0]).mean().item()), "mean of nothing is NaN");
  assertThrows(() => zeros([0]).max(), "identity");
  assertThrows(() => x.sum(2), "out of bounds");
  assertEqual(x.argmax(1).toArray(), [2, 2]);
  // Numbers on either side, 0-d results, and IEEE division.
  assertEqual(add(1, 2).item(), 3);
  assertEqual(div(1, new Tensor([0, 2])).toArray(), [Infinity, 0.5]);
  assert(Number.isNaN(new Tensor(0).div(0).item()), "0/0 is NaN");
  // Construction checks.
  assertThrows(() => new Tensor([1, 2, 3], [2, 2]), "size 3");
  assertThrows(() => Tensor.zeros([-1]), "non-negative");
  const adopted = new Float32Array([1, 2, 3, 4]);
  assert(new Tensor(adopted, [2, 2]).data === adopted, "a Float32Array is adopted");
  // Printing.
  assertEqual(util.inspect(x), "Tensor([[1., 2., 3.],\n        [4., 5., 6.]])", "printing");
  assertEqual(new Tensor([0.1, 2.5]).toString(), "Tensor([0.1, 2.5])");
  assertEqual(new Tensor([1, -2.25]).toString(), "Tensor([ 1.  , -2.25])");
  assertEqual(new Tensor(3).toString(), "Tensor(3.)");
  assertEqual(zeros([0, 3]).toString(), "Tensor([], shape=[0, 3])");
  assertEqual(new Tensor([1e-5, 1]).toString(), "Tensor([1.e-05, 1.e+00])");
  assertEqual(new Tensor([NaN, Infinity, 1]).toString(), "Tensor([nan, inf,  1.])");
  const big = Tensor.arange(2000).toString();
  assert(big.includes("...") && big.includes("1.999e+03"), "large tensors are summarised");
  // Allocation hook.
  const seen: number[][] = [];
  const stop = onTensorAllocated((t) => seen.push(t.shape));
  x.add(1).sum(0);
  stop();
  x.add(1);
  assertEqual(seen, [[2, 3], [3]], "one callback per tensor, none after unsubscribing");
  // Room for gradients: notes only when an input requires a gradient.
  assert(!x.requiresGrad && x.grad === null && x.gradFn === null, "plain tensors take no notes");
  assertEqual(x.mul(2).gradFn, null, "no note without requiresGrad");
  const w = new Tensor([1, 2, 3]).setRequiresGrad();
  const noted = x.matmul(w).add(1);
  assert(noted.requiresGrad && noted.gradFn?.op === "add", "a note names the operation");
  assert(noted.gradFn?.inputs[0].gradFn?.op === "matmul", "notes chain back to the inputs");
  assertEqual(x.matmul(w).sum(0, true).gradFn?.args, { axis: 0, keepdims: true }, "and keep arguments");
  assertEqual(w.detach().gradFn, null, "detach: no note");
  assert(w.detach().data === w.data, "detach shares the data");
  Tensor.gradEnabled = false;
  const off = w.mul(2);
  Tensor.gradEnabled = true;
  assert(!off.requiresGrad && off.gradFn === null, "no notes while gradients are disabled");
  assertEqual(w.map((v) => v * 2).gradFn, null, "map takes no note");
  // gather: one element per line along an axis.
  const scores = new Tensor([
    [0.1, 0.7, 0.2],
    [0.5, 0.3, 0.2],
  ]);
  assertClose(scores.gather(1, new Tensor([[1], [0]])).toArray(), [[0.7], [0.5]]);
  assertClose(scores.gather(0, new Tensor([[1, 0, 1]])).toArray(), [[0.5, 0.7, 0.2]]);
  assertThrows(() => scores.gather(1, new Tensor([[3], [0]])), "out of bounds");
  assertThrows(() => scores.gather(1, new Tensor([1, 0])), "must match");
  // Seeded, end to end through the class: tensors from Tensor.randn with random seeds and random
  // shapes; a linear layer, broadcasting, a number on the left, reductions over a random axis,
  // a random permutation, reshape with -1 at a random place, random indexing and slicing. The
  // expected values are computed here from the random data.
  const rt = testRandom("tensor/module");
  const nestOracle = (data: ArrayLike<number>, dims: readonly number[]): NestedArray => {
    let at = 0;
    const build = (axis: number): NestedArray =>
      axis === dims.length ? data[at++] : Array.from({ length: dims[axis] }, () => build(axis + 1));
    return build(0);
  };
  const stridesOf = (dims: readonly number[]): number[] =>
    dims.map((_, i) => dims.slice(i + 1).reduce((p, d) => p * d, 1));
  const linearOracle = (a: Float32Array, w: Float32Array, b: Float32Array, m: number, k: number, n: number): NestedArray => {
    const out: number[] = [];
    for (let i = 0; i < m; i++) {
      for (let j = 0; j < n; j++) {
        let sum = b[j];
        for (let p = 0; p < k; p++) sum += a[i * k + p] * w[p * n + j];
        out.push(sum);
      }
    }
    return nestOracle(out, [m, n]);
  };
  const [rows, inner, cols] = [rt.int(1, 6), rt.int(1, 6), rt.int(1, 6)];
  const input = Tensor.randn([rows, inner], rt.seed());
  const weight = Tensor.randn([inner, cols], rt.seed());
  const bias = Tensor.randn([cols], rt.seed());
  const layer = input.matmul(weight).add(bias);
  assertShape(layer.shape, [rows, cols], "a random linear layer");
  assertClose(layer.toArray(), linearOracle(input.data, weight.data, bias.data, rows, inner, cols), { rtol: 1e-5, atol: 1e-5 }, "x @ W + b on random data");
  const column = Tensor.randn([rows, 1], rt.seed());
  assertEqual(
    input.mul(column).toArray(),
    nestOracle(Array.from(input.data, (v, i) => Math.fround(v * column.data[Math.floor(i / inner)])), [rows, inner]),
    "a random column broadcast over a random matrix",
  );
  const left = rt.uniform(-10, 10);
  assertEqual(sub(left, input).toArray(), nestOracle(Array.from(input.data, (v) => Math.fround(Math.fround(left) - v)), [rows, inner]), "a random number on the left");
  const dims3 = rt.shape(3, 5, 1);
  const t = Tensor.randn(dims3, rt.seed());
  const size3 = dims3[0] * dims3[1] * dims3[2];
  const axisOracle = (axis: number, kind: string, keepdims: boolean): NestedArray => {
    const ax = axis < 0 ? axis + 3 : axis;
    const strides = stridesOf(dims3);
    const outDims = dims3.map((d, i) => (i === ax ? 1 : d));
    const out: number[] = [];
    for (let o = 0; o < size3 / dims3[ax]; o++) {
      const idx = [Math.floor(o / (outDims[1] * outDims[2])), Math.floor(o / outDims[2]) % outDims[1], o % outDims[2]];
      const values: number[] = [];
      for (let r = 0; r < dims3[ax]; r++) {
        idx[ax] = r;
        values.push(t.data[idx[0] * strides[0] + idx[1] * strides[1] + idx[2] * strides[2]]);
      }
      out.push(kind === "max" ? Math.max(...values) : Math.fround(values.reduce((p, v) => p + v, 0)));
    }
    return nestOracle(out, keepdims ? outDims : dims3.filter((_, i) => i !== ax));
  };
  const sumAxis = rt.int(-3, 2);
  assertClose(t.sum(sumAxis).toArray(), axisOracle(sumAxis, "sum", false), { rtol: 1e-6, atol: 1e-6 }, `sum of a random [${dims3}] over axis ${sumAxis}`);
  const maxAxis = rt.int(-3, 2);
  assertEqual(t.max(maxAxis, true).toArray(), axisOracle(maxAxis, "max", true), `max over random axis ${maxAxis}, keepdims`);
  const meanOracle = (): number => {
    let total = 0;
    for (const v of t.data) total += v;
    return total / size3;
  };
  assertClose(t.mean().item(), meanOracle(), { rtol: 1e-5, atol: 1e-6 }, "mean of random data");
  const order = rt.shuffled([0, 1, 2]);
  const permuteModuleOracle = (): NestedArray => {
    const strides = stridesOf(dims3);
    const outDims = order.map((a) => dims3[a]);
    const out: number[] = [];
    for (let o = 0; o < size3; o++) {
      const idx = [Math.floor(o / (outDims[1] * outDims[2])), Math.floor(o / outDims[2]) % outDims[1], o % outDims[2]];
      out.push(t.data[idx[0] * strides[order[0]] + idx[1] * strides[order[1]] + idx[2] * strides[order[2]]]);
    }
    return nestOracle(out, outDims);
  };
  assertEqual(t.permute(order).toArray(), permuteModuleOracle(), `a random permutation [${order}]`);
  const newDims = rt.shuffled(dims3);
  const unknownAt = rt.int(0, 2);
  const reshaped = t.reshape(newDims.map((d, i) => (i === unknownAt ? -1 : d)));
  assertEqual(reshaped.shape, newDims.slice(), "reshape with -1 at a random place");
  assert(reshaped.data === t.data, "reshape shares the buffer");
  const row = -rt.int(1, dims3[0]);
  assertEqual(t.get(row).toArray(), nestOracle(t.data.slice((dims3[0] + row) * dims3[1] * dims3[2], (dims3[0] + row + 1) * dims3[1] * dims3[2]), [dims3[1], dims3[2]]), `get(${row}) of a random tensor`);
  const sliceModuleOracle = (i0: number, start: number | null, stop: number | null, step: number): NestedArray => {
    const d = dims3[1];
    const adjust = (v: number | null, missing: number): number => {
      if (v === null) return missing;
      if (v < 0) return Math.max(v + d, step > 0 ? 0 : -1);
      return Math.min(v, step > 0 ? d : d - 1);
    };
    const first = adjust(start, step > 0 ? 0 : d - 1);
    const end = adjust(stop, step > 0 ? d : -1);
    const picked: number[] = [];
    for (let j = first; step > 0 ? j < end : j > end; j += step) picked.push(j);
    const row0 = i0 < 0 ? i0 + dims3[0] : i0;
    const out: number[] = [];
    for (const j of picked) for (let k = 0; k < dims3[2]; k++) out.push(t.data[(row0 * dims3[1] + j) * dims3[2] + k]);
    return nestOracle(out, [picked.length, dims3[2]]);
  };
  for (let c = 0; c < 3; c++) {
    const i0 = rt.int(-dims3[0], dims3[0] - 1);
    const start = rt.bool(0.2) ? null : rt.int(-7, 7);
    const stop = rt.bool(0.2) ? null : rt.int(-7, 7);
    const step = rt.pick([-3, -2, -1, 1, 2, 3]);
    assertEqual(t.slice(i0, [start, stop, step]).toArray(), sliceModuleOracle(i0, start, stop, step), `slice(${i0}, [${start}, ${stop}, ${step}]) of a random tensor`);
  }
  // ### END HIDDEN TESTS
  passed("testModule (tensor)");
}
testModule();

// %% [markdown]
// ## Reflect: predict, then measure
//
// A batch of 64 colour images of 32x32 pixels is a tensor of shape `[64, 3, 32, 32]` (images,
// channels, rows, columns). Before running the next demo, work out:
//
// 1. how many **bytes** of data it holds (float32);
// 2. its **strides**, in elements.

// %% nbgrader={"grade": false, "grade_id": "predict-batch-bytes", "locked": false, "schema_version": 3, "solution": true, "task": false}
/** Your prediction: bytes of data of a float32 tensor of shape [64, 3, 32, 32]. */
function predictedBatchBytes(): number {
  // ### BEGIN SOLUTION
  return 64 * 3 * 32 * 32 * 4;
  // ### END SOLUTION
}

// %%
//| mutation predict-batch-bytes counts elements, not bytes
function predictedBatchBytes(): number {
  return 64 * 3 * 32 * 32;
}

// %% nbgrader={"grade": false, "grade_id": "predict-batch-strides", "locked": false, "schema_version": 3, "solution": true, "task": false}
/** Your prediction: the strides (in elements) of a tensor of shape [64, 3, 32, 32]. */
function predictedBatchStrides(): number[] {
  // ### BEGIN SOLUTION
  return [3 * 32 * 32, 32 * 32, 32, 1];
  // ### END SOLUTION
}

// %%
//| mutation predict-batch-strides column-major strides
function predictedBatchStrides(): number[] {
  return [1, 64, 64 * 3, 64 * 3 * 32];
}

// %% [markdown]
// ### What a tensor really costs
// The table compares the bytes of data with the estimated footprint for a few sizes. Small
// tensors are mostly overhead; large ones are all data. The last line checks your predictions.

// %%
await demo("memory footprint", () => {
  for (const shape of [[], [10], [100, 100], [1000, 1000]]) {
    const t = Tensor.zeros(shape);
    const share = ((100 * t.nbytes) / t.memoryFootprint()).toFixed(1);
    console.log(
      `${formatShape(shape).padEnd(12)} nbytes ${String(t.nbytes).padStart(8)}  ` +
        `footprint ${String(t.memoryFootprint()).padStart(8)}  data share ${share}%`,
    );
  }
  const batch = Tensor.zeros([64, 3, 32, 32]);
  console.log(`[64, 3, 32, 32]: ${batch.nbytes} bytes, strides ${formatShape(batch.strides)} (you predicted ${predictedBatchBytes()} bytes, strides ${formatShape(predictedBatchStrides())})`);
});

// %% nbgrader={"grade": true, "grade_id": "test-unit-tensor-predictions", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
function testUnitTensorPredictions(): void {
  // ### BEGIN HIDDEN TESTS
  const dims = [64, 3, 32, 32];
  check("bytes of a [64, 3, 32, 32] float32 tensor", 1, () => assertPrediction(predictedBatchBytes(), dims.reduce((p, d) => p * d, Float32Array.BYTES_PER_ELEMENT), { rtol: 0.01 }));
  check("strides of [64, 3, 32, 32]", 1, () => assertPrediction(predictedBatchStrides(), dims.map((_, i) => dims.slice(i + 1).reduce((p, d) => p * d, 1)), { rtol: 0 }));
  // ### END HIDDEN TESTS
  passed("testUnitTensorPredictions");
}
testUnitTensorPredictions();

// %% [markdown] nbgrader={"grade": true, "grade_id": "explain-views", "locked": false, "points": 2, "schema_version": 3, "solution": true, "task": false}
// **Question 2.** numpy's `transpose` and basic slicing return **views**: no data is copied,
// only the shape, strides and offset change. Ours copy into a new contiguous buffer. What does
// each choice cost, in memory and in time, and for whom? Give one situation where views are
// clearly better and one where our copies are.
//
// ### BEGIN SOLUTION
// A view costs O(1) time and no data memory, so transposing or slicing a large tensor is free;
// but every kernel must then handle arbitrary strides and offsets (no flat fast paths,
// strided and so slower inner loops), a view keeps its whole base buffer alive (a small slice
// of a huge tensor pins all of it), and writes through one view show up in the other. Our copy
// costs one read and one write per element and a new buffer, but every tensor is contiguous,
// so all kernels stay simple and fast, and nothing aliases. Views win when a large tensor is
// transposed or sliced only to be read once (x.T inside a matmul, reversing an axis, taking
// one channel of a big batch). Copies win when the result is used by many later operations
// (they then all read contiguous memory) or kept while the original is freed.
// ### END SOLUTION
//
// ### BEGIN RUBRIC
// 2 points: views are O(1) and share memory, at the cost of strided kernels, aliasing and
// keeping the base alive; copies cost traffic and memory but keep kernels contiguous and
// simple; one good situation for each. 1 point: the trade-off stated without situations, or
// situations without the costs.
// ### END RUBRIC

// %% [markdown] nbgrader={"grade": true, "grade_id": "explain-broadcast-traffic", "locked": false, "points": 2, "schema_version": 3, "solution": true, "task": false}
// **Question 3.** Adding a bias of shape `[4096]` to activations of shape `[256, 4096]`: count
// the bytes read and written by your `elementwiseKernel`, and by a version that first
// materialises the bias as a `[256, 4096]` tensor (as `np.tile` would) and then adds two
// same-shape tensors. Why does the difference matter more than the number of additions, and
// what would a framework do to avoid even the remaining traffic?
//
// ### BEGIN SOLUTION
// With stride 0 the kernel reads the activations (4 MB), the bias (16 KB, which stays in
// cache) and writes the result (4 MB): about 8 MB. Materialising first writes a 4 MB copy of
// the bias, then the addition reads 4 + 4 MB and writes 4 MB: about 16 MB, twice the traffic
// and 4 MB of extra memory. The additions are the same 1M in both, and an addition costs far
// less than moving its 12 bytes: element-wise work is memory-bound, so time follows bytes, not
// FLOPs. To avoid the remaining traffic, frameworks fuse the bias add into the kernel that
// produced the activations (the matmul of a Linear layer adds the bias while the result is
// still in registers), so the activations are written once and never re-read.
// ### END SOLUTION
//
// ### BEGIN RUBRIC
// 2 points: about 8 MB with stride 0 against about 16 MB (plus 4 MB of memory) when
// materialised; element-wise kernels are bound by memory traffic, not arithmetic; fusion into
// the producing kernel. 1 point: correct byte counts without the memory-bound argument, or
// the argument without counts.
// ### END RUBRIC

// %% [markdown]
// ## Summary
//
// You built a tensor library from a flat `Float32Array`:
//
// - **Storage**: shape plus row-major strides map an n-dimensional index to one offset;
//   reshape changes only the shape, so it is free.
// - **Broadcasting** lines shapes up from the right and stretches size-1 axes with stride 0,
//   never copying the smaller operand. Element-wise kernels cost one operation and ~12 bytes of
//   traffic per element: they are bound by memory bandwidth.
// - **Matmul** costs `2mkn` FLOPs on `4(mk + kn + mn)` bytes; the i-k-j loop order streams rows
//   of `B` and `C` through the cache instead of striding down columns, which is worth several
//   times in speed at no cost in clarity.
// - **Reductions** view the tensor as `[outer, len, inner]`, read each element once, and
//   accumulate in float64 to keep float32 sums accurate; `max` of an empty axis is an error
//   because it has no identity.
// - **Permute and slice** copy into contiguous buffers here (numpy returns views), trading
//   memory traffic for simpler kernels.
// - **Memory**: `nbytes` is 4 bytes per element; object overhead of a few hundred bytes per
//   tensor dominates small tensors.
// - **Planned for gradients**: `requiresGrad`, `grad` and the `gradFn` note each operation
//   leaves on its result are part of the class now; module 06 turns the notes into gradients.
//
// Next, module 02 builds activation functions on top of `Tensor`, where numerical stability
// (no `NaN` at ±1000) becomes the main concern.
