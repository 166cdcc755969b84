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
// # Module 18: Acceleration — from the lesson's loop to WebAssembly SIMD
//
// Every training step of every model in this course spends most of its time in one function:
// the matrix multiplication you wrote in module 01. Here is how it compares with two
// TensorFlow.js backends, measured side by side on the machine the course was written on
// (float32, 512×512):
//
// | implementation | GFLOP/s |
// |---|---|
// | module 01's i-k-j loop | 1.8 |
// | `@tensorflow/tfjs-backend-cpu` (plain JavaScript) | 0.7 |
// | `@tensorflow/tfjs-backend-wasm` (XNNPACK, WebAssembly SIMD, one thread) | 24.6 |
//
// A factor of 14 separates our `Tensor` from a library a student could pick instead. None of it
// is magic: it comes from a handful of ideas that every fast matmul (BLAS, XNNPACK, cuBLAS) is
// built from. In this module you take them one at a time and measure each one:
//
// 1. **Analysis**: what the i-k-j loop moves through the memory hierarchy, in numbers
//    (arithmetic intensity at each level, cache lines, the roofline of module 14), and which
//    roof is the right one to compare it with.
// 2. **Cache blocking**: work on tiles small enough to stay in the fastest cache, and model the
//    bytes that saves.
// 3. **Register blocking**: a 4×4 micro-kernel whose 16 running sums are local variables (and
//    what V8 does when they do not all fit in registers), fed by *packed panels* of A and B.
// 4. **SIMD in WebAssembly**: the same micro-kernel, four lanes per instruction (`f32x4`),
//    over panels packed into WebAssembly memory by your TypeScript.
// 5. **Two threads** over `SharedArrayBuffer`: a demonstration, with its limits.
// 6. **Putting it to work**: one switch makes `Tensor.matmul`, and so every `Linear` layer, use
//    the fast kernel; where WebAssembly SIMD is missing it falls back to your TypeScript kernel
//    and says so once. With the products fast, the rest of a training step shows in the
//    profile, and the switch also moves the convolution's window copies and the transformer's
//    row operations (GELU, layer norm, the loss's exponentials) into WebAssembly.
//
// You write the TypeScript: the traffic models of the i-k-j and blocked loops, the blocked
// kernel, the packing, the micro-kernel and the unpacking of results. The SIMD micro-kernel is given in WebAssembly text; you read it,
// run it, and are invited to change it (it is assembled inside the notebook by `wabt`). Why the
// split is drawn there is explained in `docs/acceleration.md`: the graded exercises must not
// depend on WebAssembly being available where the notebook is graded.
//
// Everything exported lands in `tinytorch-ts/accel/matmul`.

// %%
//| default_exp accel.matmul

// %%
//| export
import wabtInit from "wabt";
import {
  broadcastShapes,
  computeStrides,
  elementwiseBackendSlot,
  formatShape,
  setMatmulBackend,
  shapeSize,
  Tensor,
  type BackwardRule,
  type RawTensor,
} from "tinytorch-ts/core/tensor";
import { matmulBackward, registerRules } from "tinytorch-ts/core/autograd";
import { checkShapeIs, col2im, im2col, maxPool2dKernel, windowKernelSlot, type ConvGeometry } from "tinytorch-ts/core/conv";
import type { MachinePeaks } from "tinytorch-ts/perf/profiling";
import { recordLoss } from "tinytorch-ts/core/losses";
import { linearKernelSlot, maskedSoftmaxBackward } from "tinytorch-ts/nn/attention";
import { fusedGeluBackward, layerNormBackward, transformerKernelSlot } from "tinytorch-ts/nn/transformer";

// %%
import { Linear } from "tinytorch-ts/core/layers";
import { CrossEntropyLoss } from "tinytorch-ts/core/losses";
import { elementwiseKernel } from "tinytorch-ts/core/tensor";
import { LayerNorm, fusedGelu, layerNorm } from "tinytorch-ts/nn/transformer";
import { Conv2d, convGeometry } from "tinytorch-ts/core/conv";
import { measureMachinePeaks, rooflinePlacement, rooflineChartSpec } from "tinytorch-ts/perf/profiling";
import { assert, assertEqual, assertClose, assertPrediction, assertThrows, assertShape, check, passed, demo, testRandom } from "tinytorch-ts/support/testing";
import { showChart } from "tinytorch-ts/support/chart";

// %% [markdown]
// ## Matrices as views
//
// Module 01's kernels take flat arrays plus offsets and assume rows are contiguous. Fast kernels
// copy their operands into a layout of their own anyway (you will see why), and that copy can
// read *any* layout for free. So the kernels of this module take a **view**: a buffer, an offset,
// and a stride for each of the two axes. Element `[i, j]` is
// `data[offset + i*rowStride + j*colStride]`.
//
// A transposed matrix is then the same buffer with the two strides (and the two sizes) swapped:
// no copy. That is what numpy and PyTorch do, and it is why a kernel must not assume
// `colStride === 1`. Every kernel here has one signature, `MatmulKernel2d`: it **adds** `A @ B`
// into a contiguous row-major `out` at `outOffset` (like `matmul2dInto`).
//
// `matmulWithKernel` turns any such 2-D kernel into numpy's full `matmul` (1-D operands, batch
// axes that broadcast), reading strides from the operands when they have them. It is how the
// tests check every kernel on batched and transposed inputs, and how the switch at the end
// plugs a kernel into `Tensor.matmul`.

// %% nbgrader={"grade": false, "grade_id": "matrix-views", "locked": true, "schema_version": 3, "solution": false, "task": false}
//| export
/** A 2-D matrix inside a flat buffer: element [i, j] is data[offset + i*rowStride + j*colStride]. */
interface MatrixView {
  readonly data: Float32Array;
  readonly offset: number;
  readonly rows: number;
  readonly cols: number;
  readonly rowStride: number;
  readonly colStride: number;
}

/** A 2-D kernel: out[outOffset + i*n + j] += (A @ B)[i, j] for A [m, k] and B [k, n]. */
type MatmulKernel2d = (a: MatrixView, b: MatrixView, out: Float32Array, outOffset: number) => void;

/**
 * A kernel with a second entry for a block of out known to hold zeros (a new matrix), which may
 * write the product instead of adding it (module 18's SIMD kernel skips copying the zeros in).
 */
interface MatmulKernelPair {
  readonly add: MatmulKernel2d;
  readonly write: MatmulKernel2d;
}

/** A tensor that may carry its own strides and offset (a view); RawTensor is row-major from 0. */
interface StridedTensor extends RawTensor {
  readonly strides?: readonly number[];
  readonly offset?: number;
}

/** A row-major [rows, cols] view of `data`, starting at `offset`. */
function matrixView(data: Float32Array, rows: number, cols: number, offset = 0): MatrixView {
  if (offset + rows * cols > data.length) {
    throw new Error(`matrixView: [${rows}, ${cols}] at offset ${offset} needs more than ${data.length} elements`);
  }
  return { data, offset, rows, cols, rowStride: cols, colStride: 1 };
}

/** The transpose of a view: the same numbers, sizes and strides swapped, nothing copied. */
function transposeView(v: MatrixView): MatrixView {
  return { data: v.data, offset: v.offset, rows: v.cols, cols: v.rows, rowStride: v.colStride, colStride: v.rowStride };
}

/**
 * numpy's matmul (1-D promotion, broadcast batch axes) with `kernel` doing each 2-D product.
 * `summedTo` (a batch shape the broadcast batch reduces to: axes missing from it, or 1 in it,
 * are summed) adds every product into its target's matrix instead of a matrix of its own: the
 * kernel's `+=` does the sum, with no [batch, m, n] intermediate (the backward pass uses it).
 * Given a pair, products that are not summed go to its `write` entry.
 */
function matmulWithKernel(a: StridedTensor, b: StridedTensor, kernel: MatmulKernel2d | MatmulKernelPair, summedTo?: readonly number[]): RawTensor {
  const describe = `${formatShape(a.shape)} and ${formatShape(b.shape)}`;
  if (a.shape.length === 0 || b.shape.length === 0) {
    throw new Error(`matmul: operands must have at least 1 dimension, got shapes ${describe}`);
  }
  const aStrides0 = a.strides ?? computeStrides(a.shape);
  const bStrides0 = b.strides ?? computeStrides(b.shape);
  // A vector on the left is a row [1, k]; on the right, a column [k, 1].
  const aVector = a.shape.length === 1;
  const bVector = b.shape.length === 1;
  const aShape = aVector ? [1, a.shape[0]] : [...a.shape];
  const aStrides = aVector ? [0, aStrides0[0]] : [...aStrides0];
  const bShape = bVector ? [b.shape[0], 1] : [...b.shape];
  const bStrides = bVector ? [bStrides0[0], 0] : [...bStrides0];
  const m = aShape[aShape.length - 2];
  const k = aShape[aShape.length - 1];
  const n = bShape[bShape.length - 1];
  if (k !== bShape[bShape.length - 2]) {
    throw new Error(`matmul: shapes ${describe} are not aligned: ${k} (last axis) != ${bShape[bShape.length - 2]}`);
  }
  const aBatch = aShape.slice(0, -2);
  const bBatch = bShape.slice(0, -2);
  let batch: number[];
  try {
    batch = broadcastShapes(aBatch, bBatch);
  } catch {
    throw new Error(`matmul: batch dimensions of shapes ${describe} cannot be broadcast`);
  }
  const target = summedTo ?? batch;
  const lead = batch.length - target.length;
  if (lead < 0 || target.some((d, i) => d !== 1 && d !== batch[lead + i])) {
    throw new Error(`matmul: the batch ${formatShape(batch)} of shapes ${describe} does not sum to ${formatShape(target)}`);
  }
  const targetStrides = computeStrides(target);
  const out = new Float32Array(shapeSize(target) * m * n);
  const count = shapeSize(batch);
  // Unless products are summed, each one is the only writer of its block of the new `out`.
  const product = typeof kernel === "function" ? kernel : shapeSize(target) === count ? kernel.write : kernel.add;
  for (let t = 0; t < count; t++) {
    let rest = t;
    let aOffset = a.offset ?? 0;
    let bOffset = b.offset ?? 0;
    let outMatrix = 0;
    for (let axis = batch.length - 1; axis >= 0; axis--) {
      const index = rest % batch[axis];
      rest = (rest - index) / batch[axis];
      // Batch axes line up from the right; an axis of size 1 (or a missing one) broadcasts.
      const aAxis = axis - (batch.length - aBatch.length);
      const bAxis = axis - (batch.length - bBatch.length);
      if (aAxis >= 0 && aBatch[aAxis] !== 1) aOffset += index * aStrides[aAxis];
      if (bAxis >= 0 && bBatch[bAxis] !== 1) bOffset += index * bStrides[bAxis];
      if (axis >= lead && target[axis - lead] !== 1) outMatrix += index * targetStrides[axis - lead];
    }
    const aView = { data: a.data, offset: aOffset, rows: m, cols: k, rowStride: aStrides[aStrides.length - 2], colStride: aStrides[aStrides.length - 1] };
    const bView = { data: b.data, offset: bOffset, rows: k, cols: n, rowStride: bStrides[bStrides.length - 2], colStride: bStrides[bStrides.length - 1] };
    product(aView, bView, out, outMatrix * m * n);
  }
  const shape = [...target];
  if (!aVector) shape.push(m);
  if (!bVector) shape.push(n);
  return { data: out, shape };
}

/** The lesson's loop over views: i-k-j order, one multiply-add per innermost step. */
function matmulIkj(a: MatrixView, b: MatrixView, out: Float32Array, outOffset: number): void {
  const m = a.rows;
  const k = a.cols;
  const n = b.cols;
  for (let i = 0; i < m; i++) {
    const outRow = outOffset + i * n;
    for (let p = 0; p < k; p++) {
      const aip = a.data[a.offset + i * a.rowStride + p * a.colStride];
      const bRow = b.offset + p * b.rowStride;
      for (let j = 0; j < n; j++) out[outRow + j] += aip * b.data[bRow + j * b.colStride];
    }
  }
}

// %% [markdown]
// The tests compare every kernel with a product computed in **float64** from the same inputs,
// on shapes chosen to break kernels: sizes that are not multiples of any tile, a single row or
// column, batches, and transposed views. A float32 kernel may differ from it by rounding, so
// the comparison allows `1e-4` relative and absolute error.

// %% nbgrader={"grade": false, "grade_id": "test-helpers", "locked": true, "schema_version": 3, "solution": false, "task": false}
/** A [rows, cols] matrix of seeded values in [-1, 1), as a view. */
function randomView(rows: number, cols: number, seed: number): MatrixView {
  const t = Tensor.rand([rows, cols], seed);
  return matrixView(t.data.map((x) => 2 * x - 1), rows, cols);
}

/** A @ B in float64, straight from the definition, row-major. */
function expected64(a: MatrixView, b: MatrixView): number[] {
  const out: number[] = [];
  for (let i = 0; i < a.rows; i++) {
    for (let j = 0; j < b.cols; j++) {
      let sum = 0;
      for (let p = 0; p < a.cols; p++) {
        sum += a.data[a.offset + i * a.rowStride + p * a.colStride] * b.data[b.offset + p * b.rowStride + j * b.colStride];
      }
      out.push(sum);
    }
  }
  return out;
}

/** Runs `kernel` on A [m, k] @ B [k, n] (optionally given transposed) and compares with float64. */
function checkKernel(kernel: MatmulKernel2d, m: number, k: number, n: number, transposed = false): void {
  const a = transposed ? transposeView(randomView(k, m, m * 7 + k)) : randomView(m, k, m * 7 + k);
  const b = transposed ? transposeView(randomView(n, k, n * 5 + k)) : randomView(k, n, n * 5 + k);
  const out = new Float32Array(m * n);
  kernel(a, b, out, 0);
  assertClose(out, expected64(a, b), { rtol: 1e-4, atol: 1e-4 }, `[${m}, ${k}] @ [${k}, ${n}]${transposed ? " (transposed views)" : ""}`);
}

/** Checks a kernel through matmulWithKernel on a broadcast batch of transposed operands. */
function checkBatched(kernel: MatmulKernel2d): void {
  // A: [2, 3, 5, 7] stored as [2, 3, 7, 5] with the last two axes swapped (a transposed view).
  const stored = Tensor.rand([2, 3, 7, 5], 11).data.map((x) => 2 * x - 1);
  const a: StridedTensor = { data: stored, shape: [2, 3, 5, 7], strides: [105, 35, 1, 5] };
  const b = Tensor.rand([3, 7, 9], 12);
  const got = matmulWithKernel(a, b, kernel);
  assertShape(got.shape, [2, 3, 5, 9], "batched shape");
  const want: number[] = [];
  for (let s = 0; s < 2; s++) {
    for (let t = 0; t < 3; t++) {
      const av = { data: stored, offset: s * 105 + t * 35, rows: 5, cols: 7, rowStride: 1, colStride: 5 };
      want.push(...expected64(av, matrixView(b.data, 7, 9, t * 63)));
    }
  }
  assertClose(got.data, want, { rtol: 1e-4, atol: 1e-4 }, "broadcast batch of transposed views");
}

// %% [markdown]
// ## Part 1: Why the i-k-j loop is limited by memory
//
// A product of `[m, k]` by `[k, n]` does `2mkn` FLOPs. The numbers it needs are only
// `4(mk + kn + mn)` bytes: at 512×512, 268 million FLOPs on 3 MB. Each element of A takes part
// in `n` multiply-adds (one per column of B) and each element of B in `m`: at 512, every number
// is used 512 times. If each were moved from memory only once, the product would do
// `2n³ / 12n² = n/6 ≈ 85` FLOPs per byte moved. Whether a loop actually reuses a number depends
// on what is still in the cache when the number is needed again.
//
// **Cache lines.** Memory moves between RAM and the caches in lines of 64 bytes (16 floats).
// A loop that uses every float of each line it touches pays one transfer per 16 floats; a loop
// that jumps around pays one per float.
//
// **The i-k-j loop.** For each row `i` of A and each `p`, the inner loop walks row `p` of B and
// row `i` of C: contiguous, every byte of every line used. But it walks **all of B** for each row
// of A. If B fits in the cache, it is read into it once; if not, B is streamed in again for
// every one of the `m` rows. A 512×512 B is 1 MB: far more than a core's L1 data cache (32 KB
// here), so at the L1 level B is re-read 512 times. Those re-reads do not come from main memory,
// though: 1 MB sits in the next levels (here a 1 MB L2 per core and a 32 MB L3), so the roof
// that bounds them is the bandwidth *of the level where B lives*, not of DRAM.
//
// **Per access.** Look closer still: the innermost step `out[j] += a * b[j]` loads `out[j]`,
// loads `b[j]` and stores `out[j]`: 12 bytes moved between registers and cache for 2 FLOPs. That
// is the shape of the STREAM *triad* module 14 used to measure bandwidth (`a[i] = b[i] + s*c[i]`,
// also 2 FLOPs per 12 bytes).
//
// **Arithmetic intensity** is FLOPs per byte moved. The roofline of module 14 says a kernel of
// intensity `I` cannot run faster than `min(peak, I × bandwidth)`, where peak and bandwidth are
// the machine's. There is one intensity per level of the memory hierarchy: per access (between
// registers and L1), beyond L1 (between L1 and the level below), and so on; the lowest roof
// binds. Blocking for the cache raises the intensity beyond L1; blocking for the registers
// raises it per access.
//
// ### Exercise 1: `matmulTraffic`
//
// **TODO**: Model the memory traffic of the i-k-j loop for a product `[m, k] @ [k, n]` and a
// cache of `cacheBytes`.
//
// The contract (the model, not a simulation of a real cache):
// - `flops`: the product's FLOPs; `minimumBytes`: every matrix moved exactly once (float32);
// - `memoryBytes`: what crosses from the next level into the cache: A read once, C written once,
//   and B read once if it fits in the cache (`4kn <= cacheBytes`), otherwise once per row of A;
// - `cacheLines`: `memoryBytes` in lines of 64 bytes, a partial line counting as a whole one;
// - `memoryIntensity` = flops / memoryBytes, `bestIntensity` = flops / minimumBytes, and
//   `accessIntensity` = the innermost step's FLOPs per byte it loads and stores; every
//   intensity is 0 when there are no FLOPs;
// - an `Error` naming the bad value unless `m`, `k`, `n` are non-negative integers and
//   `cacheBytes` is positive.
//
// **APPROACH**:
// 1. Count by hand for `[2, 3] @ [3, 4]`: FLOPs, the bytes of each matrix, and, with a cache
//    too small for B, how many times the loop walks B.
// 2. Write the innermost step of the i-k-j loop and list its loads and stores with their sizes:
//    that gives `accessIntensity`.
// 3. Predict `memoryIntensity` at 512 with a 32 KB cache and with a 2 MB one before the test
//    cell tells you.
//
// **HINTS**: B "fits" when its bytes are at most the cache's: decide what happens exactly at
// the boundary and keep to it.

// %% nbgrader={"grade": false, "grade_id": "matmul-traffic", "locked": false, "schema_version": 3, "solution": true, "task": false}
//| export
/** The i-k-j loop's traffic for [m, k] @ [k, n] with a cache of `cacheBytes` (see the lesson). */
interface MatmulTraffic {
  flops: number;
  minimumBytes: number;
  memoryBytes: number;
  cacheLines: number;
  accessIntensity: number;
  memoryIntensity: number;
  bestIntensity: number;
}

function matmulTraffic(m: number, k: number, n: number, cacheBytes: number): MatmulTraffic {
  // ### BEGIN SOLUTION
  for (const [name, value] of [["m", m], ["k", k], ["n", n]] as const) {
    if (!Number.isInteger(value) || value < 0) {
      throw new Error(`matmulTraffic: ${name} must be a non-negative integer, got ${value}`);
    }
  }
  if (!(cacheBytes > 0)) throw new Error(`matmulTraffic: cacheBytes must be positive, got ${cacheBytes}`);
  const flops = 2 * m * k * n;
  const minimumBytes = 4 * (m * k + k * n + m * n);
  const bFits = 4 * k * n <= cacheBytes;
  const memoryBytes = 4 * m * k + 4 * m * n + (bFits ? 4 * k * n : 4 * m * k * n);
  const ratio = (bytes: number): number => (flops === 0 ? 0 : flops / bytes);
  return {
    flops,
    minimumBytes,
    memoryBytes,
    cacheLines: Math.ceil(memoryBytes / 64),
    accessIntensity: flops === 0 ? 0 : 2 / 12,
    memoryIntensity: ratio(memoryBytes),
    bestIntensity: ratio(minimumBytes),
  };
  // ### END SOLUTION
}

// %% nbgrader={"grade": true, "grade_id": "test-unit-matmul-traffic", "locked": true, "points": 3, "schema_version": 3, "solution": false, "task": false}
function testUnitMatmulTraffic(): void {
  const small = matmulTraffic(2, 3, 4, 1024);
  assertEqual(small.flops, 48);
  assertEqual(small.minimumBytes, 4 * (6 + 12 + 8));
  assertEqual(small.memoryBytes, small.minimumBytes, "B fits: every matrix moves once");
  const big = matmulTraffic(512, 512, 512, 32 * 1024);
  assertEqual(big.memoryBytes, 4 * 512 * 512 * (2 + 512), "B streamed once per row of A");
  assertClose(big.memoryIntensity, 1024 / 2056);
  assertClose(big.accessIntensity, 1 / 6);
  // ### BEGIN HIDDEN TESTS
  assertEqual(big.cacheLines, (4 * 512 * 512 * 514) / 64);
  assertClose(big.bestIntensity, 512 / 6);
  const fits = matmulTraffic(512, 512, 512, 2 * 1024 * 1024);
  assertClose(fits.memoryIntensity, 512 / 6, {}, "a 2 MB cache holds B");
  const exact = matmulTraffic(3, 4, 5, 80);
  assertEqual(exact.memoryBytes, 4 * 12 + 4 * 15 + 4 * 20, "B of exactly cacheBytes fits");
  const over = matmulTraffic(3, 4, 5, 79);
  assertEqual(over.memoryBytes, 4 * 12 + 4 * 15 + 4 * 60);
  assertEqual(over.cacheLines, Math.ceil((48 + 60 + 240) / 64), "partial lines round up");
  const empty = matmulTraffic(0, 5, 5, 1024);
  assertEqual([empty.flops, empty.memoryIntensity, empty.accessIntensity, empty.bestIntensity], [0, 0, 0, 0]);
  assertThrows(() => matmulTraffic(-1, 2, 2, 64), "m");
  assertThrows(() => matmulTraffic(2, 2.5, 2, 64), "k");
  assertThrows(() => matmulTraffic(2, 2, 2, 0), "cacheBytes");
  // Random products and caches (B sometimes just fitting, sometimes just not): every figure of
  // the traffic model from its formulas, evaluated here.
  const rt = testRandom("18/matmul-traffic");
  for (let trial = 0; trial < 6; trial++) {
    const [m, k, n] = [rt.int(0, 700), rt.int(1, 700), rt.int(1, 700)];
    const cache = rt.pick([4 * k * n, 4 * k * n - 1, 4 * k * n + rt.int(1, 4096), Math.max(1, 4 * k * n - rt.int(1, 4096)), rt.pick([32, 256, 2048]) * 1024]);
    const t = matmulTraffic(m, k, n, cache);
    assertEqual(
      [t.flops, t.minimumBytes, t.memoryBytes, t.cacheLines],
      [
        2 * m * k * n,
        4 * (m * k + k * n + m * n),
        4 * m * k + 4 * m * n + (4 * k * n <= cache ? 4 * k * n : 4 * m * k * n),
        Math.ceil((4 * m * k + 4 * m * n + (4 * k * n <= cache ? 4 * k * n : 4 * m * k * n)) / 64),
      ],
      "a random product and cache: FLOPs, bytes, cache lines",
    );
    assertClose(
      [t.accessIntensity, t.memoryIntensity, t.bestIntensity],
      m === 0
        ? [0, 0, 0]
        : [1 / 6, (2 * m * k * n) / (4 * m * k + 4 * m * n + (4 * k * n <= cache ? 4 * k * n : 4 * m * k * n)), (2 * m * k * n) / (4 * (m * k + k * n + m * n))],
      { rtol: 1e-12 },
      "a random product and cache: intensities",
    );
  }
  assertThrows(() => matmulTraffic(rt.int(1, 9), -rt.int(1, 9), 3, 64), "k", "a random negative size");
  // ### END HIDDEN TESTS
  passed("testUnitMatmulTraffic");
}
testUnitMatmulTraffic();

// %%
//| mutation matmul-traffic B streamed once per row of A even when it fits in the cache
/** The i-k-j loop's traffic for [m, k] @ [k, n] with a cache of `cacheBytes` (see the lesson). */
interface MatmulTraffic {
  flops: number;
  minimumBytes: number;
  memoryBytes: number;
  cacheLines: number;
  accessIntensity: number;
  memoryIntensity: number;
  bestIntensity: number;
}

function matmulTraffic(m: number, k: number, n: number, cacheBytes: number): MatmulTraffic {
  for (const [name, value] of [["m", m], ["k", k], ["n", n]] as const) {
    if (!Number.isInteger(value) || value < 0) {
      throw new Error(`matmulTraffic: ${name} must be a non-negative integer, got ${value}`);
    }
  }
  if (!(cacheBytes > 0)) throw new Error(`matmulTraffic: cacheBytes must be positive, got ${cacheBytes}`);
  const flops = 2 * m * k * n;
  const minimumBytes = 4 * (m * k + k * n + m * n);
  const bFits = 4 * k * n <= cacheBytes;
  const memoryBytes = 4 * m * k + 4 * m * n + 4 * m * k * n;
  const ratio = (bytes: number): number => (flops === 0 ? 0 : flops / bytes);
  return {
    flops,
    minimumBytes,
    memoryBytes,
    cacheLines: Math.ceil(memoryBytes / 64),
    accessIntensity: flops === 0 ? 0 : 2 / 12,
    memoryIntensity: ratio(memoryBytes),
    bestIntensity: ratio(minimumBytes),
  };
}

// %%
//| mutation matmul-traffic access intensity 2 FLOPs per 8 bytes: forgets the store of out[j]
/** The i-k-j loop's traffic for [m, k] @ [k, n] with a cache of `cacheBytes` (see the lesson). */
interface MatmulTraffic {
  flops: number;
  minimumBytes: number;
  memoryBytes: number;
  cacheLines: number;
  accessIntensity: number;
  memoryIntensity: number;
  bestIntensity: number;
}

function matmulTraffic(m: number, k: number, n: number, cacheBytes: number): MatmulTraffic {
  for (const [name, value] of [["m", m], ["k", k], ["n", n]] as const) {
    if (!Number.isInteger(value) || value < 0) {
      throw new Error(`matmulTraffic: ${name} must be a non-negative integer, got ${value}`);
    }
  }
  if (!(cacheBytes > 0)) throw new Error(`matmulTraffic: cacheBytes must be positive, got ${cacheBytes}`);
  const flops = 2 * m * k * n;
  const minimumBytes = 4 * (m * k + k * n + m * n);
  const bFits = 4 * k * n <= cacheBytes;
  const memoryBytes = 4 * m * k + 4 * m * n + (bFits ? 4 * k * n : 4 * m * k * n);
  const ratio = (bytes: number): number => (flops === 0 ? 0 : flops / bytes);
  return {
    flops,
    minimumBytes,
    memoryBytes,
    cacheLines: Math.ceil(memoryBytes / 64),
    accessIntensity: flops === 0 ? 0 : 2 / 8,
    memoryIntensity: ratio(memoryBytes),
    bestIntensity: ratio(minimumBytes),
  };
}

// %% [markdown]
// Where does that put the loop on this machine's roofline? Module 14 measured the bandwidth with
// a triad over arrays far larger than the caches: main memory. That is the wrong roof for both of
// the i-k-j loop's intensities:
//
// - **per access**, the loop works on a row of B and a row of C that sit in L1;
// - **beyond L1**, it re-reads a 1 MB B that sits in L2/L3, not in DRAM.
//
// So the cell below measures the triad where the data is: `l1TriadBandwidth(elements)` runs it
// on three arrays of `elements` floats (2048 by default: 24 KB, in L1; 87,380 for a 1 MB working
// set, B's size at 512), best of several timings of many passes.
//
// **Read the per-access figure with care.** This triad is itself a scalar JavaScript loop, with
// exactly the shape of the i-k-j inner loop (two loads, one store, two FLOPs). If the i-k-j
// loop runs at "the triad's bandwidth × 1/6", that is not a prediction from the hardware: it is
// the same loop timed twice. It tells you that i-k-j runs as fast as V8 runs *loops of this
// shape*, and nothing about whether L1 is the limit. The hardware's own L1 bandwidth, measured
// in Part 4 with WebAssembly SIMD loads and stores, turns out to be many times higher: the scalar
// loop is limited by the instructions it executes per element (a float32 load widened to a
// double, a multiply, an add, a narrowing store, bounds checks, the loop counter), not by the
// cache.

// %% nbgrader={"grade": false, "grade_id": "cache-triad", "locked": true, "schema_version": 3, "solution": false, "task": false}
//| export
/** Best bytes/s of `triad(passes)` over three arrays of `elements` floats (12 bytes per element). */
function bestTriadBandwidth(triad: (passes: number) => void, elements: number, passes: number, repeats: number): number {
  let best = 0;
  triad(passes); // warm-up: compiled, and the arrays in the cache
  for (let r = 0; r < repeats; r++) {
    const t0 = performance.now();
    triad(passes);
    const seconds = (performance.now() - t0) / 1e3;
    if (seconds > 0) best = Math.max(best, (12 * elements * passes) / seconds);
  }
  return best;
}

/** Bytes/s of a scalar JavaScript triad on three arrays of `elements` floats (in L1 by default). */
function l1TriadBandwidth(elements = 2048, passes = 2000, repeats = 5): number {
  const a = new Float32Array(elements);
  const b = new Float32Array(elements).fill(1);
  const c = new Float32Array(elements).fill(2);
  const triad = (count: number): void => {
    for (let pass = 0; pass < count; pass++) for (let i = 0; i < elements; i++) a[i] = b[i] + 0.5 * c[i];
  };
  return bestTriadBandwidth(triad, elements, passes, repeats);
}

// %%
await demo("the i-k-j loop on the roofline", () => {
  const memoryPeaks = measureMachinePeaks();
  const n = 512;
  const inL1 = { ...memoryPeaks, bandwidthBytesPerSecond: l1TriadBandwidth() };
  // Three arrays that together are as large as B at 512 (1 MB): the level where B lives.
  const atB = { ...memoryPeaks, bandwidthBytesPerSecond: l1TriadBandwidth(87_380, 50, 3) };
  const a = randomView(n, n, 1);
  const b = randomView(n, n, 2);
  let best = Infinity;
  for (let r = 0; r < 2; r++) {
    const t0 = performance.now();
    matmulIkj(a, b, new Float32Array(n * n), 0);
    best = Math.min(best, performance.now() - t0);
  }
  const traffic = matmulTraffic(n, n, n, 32 * 1024);
  const gflops = traffic.flops / (best * 1e6);
  const gb = (x: number): string => (x / 1e9).toFixed(2);
  console.log(`scalar peak ${gb(memoryPeaks.peakFlopsPerSecond)} GFLOP/s; scalar triad ${gb(inL1.bandwidthBytesPerSecond)} GB/s in L1, ${gb(atB.bandwidthBytesPerSecond)} GB/s on 1 MB, ${gb(memoryPeaks.bandwidthBytesPerSecond)} GB/s from memory`);
  console.log(`i-k-j at ${n}: ${gflops.toFixed(2)} GFLOP/s`);
  const rows: [string, number, typeof memoryPeaks][] = [
    ["per access, L1 triad", traffic.accessIntensity, inL1],
    ["beyond L1, 1 MB triad", traffic.memoryIntensity, atB],
  ];
  for (const [what, intensity, peaks] of rows) {
    const place = rooflinePlacement(intensity, peaks);
    console.log(`  ${what.padEnd(24)} I = ${intensity.toFixed(3)} FLOP/B, ridge ${place.ridgeIntensity.toFixed(2)}: ${place.bound}, roof ${gb(place.attainableFlopsPerSecond)} GFLOP/s`);
  }
  console.log(`B re-read for every row: ${(traffic.memoryBytes / 1e6).toFixed(0)} MB cross into L1 for ${(traffic.minimumBytes / 1e6).toFixed(1)} MB of data`);
  console.log("(the scalar triads are loops of the i-k-j loop's own shape: a ceiling for this kind of code, not the hardware's)");
});

// %% [markdown]
// ## Part 2: Cache blocking
//
// If B does not fit in the cache, cut it into **tiles** that do. Take a `T×T` tile of B (rows
// `p0..p0+T`, columns `j0..j0+T`) and use it for *every* row of A before moving on: each element
// of the tile is then brought into L1 once and used `m` times from it. With `T = 64`,
// a tile is 16 KB, which fits in L1 with room for the rows of A and C it meets.
//
// ```
// for p0 in steps of T:                 # a band of A's columns / B's rows
//   for j0 in steps of T:               # a tile of B: copy it into a small contiguous buffer
//     for i in 0..m:                    # every row of A reuses the tile from the cache
//       for p in p0..p0+T:  a = A[i][p]
//         for j in j0..j0+T:  C[i][j] += a * tile[p-p0][j-j0]
// ```
//
// Copying the tile first has a second benefit: the tile is contiguous whatever B's strides were,
// so a transposed B costs nothing extra in the inner loop. The last tile in each direction is
// smaller when `T` does not divide the size: use `Math.min(T, k - p0)` and `Math.min(T, n - j0)`.
//
// ### Exercise 2: `matmulBlocked`
//
// **TODO**: Implement the tiled loop above as a `MatmulKernel2d` with tile size `tile`
// (default 64): it adds `A @ B` into `out` starting at `outOffset` (row-major, `n` columns).
//
// The contract:
// - `tile` must be a positive integer, or the function throws an error naming `tile`;
// - the tiles of B are copied into a **workspace** of at least `tile * tile` floats: the
//   optional last argument, or one the kernel allocates when none is given (a caller that
//   multiplies many matrices passes its own, so no call allocates). A workspace that is too
//   small throws an error naming `workspace`;
// - each `pt × jt` tile (`pt = min(tile, k − p0)`, `jt = min(tile, n − j0)`) is copied to the
//   first `pt · jt` floats of the workspace, row-major with `jt` columns, before the rows of A
//   use it; `p0` and `j0` both ascend. So after the call the workspace starts with the last
//   tile: B's last band of rows and last block of columns;
// - `out` outside the `m × n` block at `outOffset` is not touched, and the block is added to.
//
// **APPROACH**:
// 1. Write the loop nest of the pseudocode with the sizes of the partial tiles at the right and
//    bottom edges; check on paper which tiles a `[5, 7] @ [7, 3]` product with `tile = 4` cuts.
// 2. Which index expression reads `B[p0 + p][j0 + j]` through B's strides, and which writes it
//    to the tile in the workspace? Only the copy should see strides.
// 3. In the innermost loop, what changes from one `j` to the next? Arrange the indices so that
//    nothing but `+ j` is computed there.
//
// **HINTS**: The given `matmulIkj` already multiplies any views, but it does not block: the
// test checks the workspace, so the tiles have to go through it.

// %% nbgrader={"grade": false, "grade_id": "matmul-blocked", "locked": false, "schema_version": 3, "solution": true, "task": false}
//| export
/** Cache-blocked i-k-j: out += A @ B, on tile × tile blocks of B copied into a contiguous workspace. */
function matmulBlocked(a: MatrixView, b: MatrixView, out: Float32Array, outOffset: number, tile = 64, workspace?: Float32Array): void {
  // ### BEGIN SOLUTION
  if (!Number.isInteger(tile) || tile < 1) throw new Error(`matmulBlocked: tile must be a positive integer, got ${tile}`);
  const m = a.rows;
  const k = a.cols;
  const n = b.cols;
  const buffer = workspace ?? new Float32Array(tile * tile);
  if (buffer.length < tile * tile) throw new Error(`matmulBlocked: the workspace holds ${buffer.length} floats, a ${tile}×${tile} tile needs ${tile * tile}`);
  const aData = a.data;
  const bData = b.data;
  for (let p0 = 0; p0 < k; p0 += tile) {
    const pt = Math.min(tile, k - p0);
    for (let j0 = 0; j0 < n; j0 += tile) {
      const jt = Math.min(tile, n - j0);
      for (let p = 0; p < pt; p++) {
        const src = b.offset + (p0 + p) * b.rowStride + j0 * b.colStride;
        for (let j = 0; j < jt; j++) buffer[p * jt + j] = bData[src + j * b.colStride];
      }
      for (let i = 0; i < m; i++) {
        const outRow = outOffset + i * n + j0;
        const aRow = a.offset + i * a.rowStride + p0 * a.colStride;
        for (let p = 0; p < pt; p++) {
          const aip = aData[aRow + p * a.colStride];
          const tileRow = p * jt;
          for (let j = 0; j < jt; j++) out[outRow + j] += aip * buffer[tileRow + j];
        }
      }
    }
  }
  // ### END SOLUTION
}

// %% nbgrader={"grade": true, "grade_id": "test-unit-matmul-blocked", "locked": true, "points": 4, "schema_version": 3, "solution": false, "task": false}
function testUnitMatmulBlocked(): void {
  const a = matrixView(Float32Array.from([1, 2, 3, 4, 5, 6]), 2, 3);
  const b = matrixView(Float32Array.from([7, 8, 9, 10, 11, 12]), 3, 2);
  const out = new Float32Array(4);
  matmulBlocked(a, b, out, 0);
  assertEqual(Array.from(out), [58, 64, 139, 154]);
  checkKernel(matmulBlocked, 10, 10, 10);
  checkKernel((x, y, o, off) => matmulBlocked(x, y, o, off, 4), 10, 9, 7);
  const workspace = new Float32Array(4);
  matmulBlocked(a, b, new Float32Array(4), 0, 2, workspace);
  assertEqual(Array.from(workspace.subarray(0, 2)), [11, 12], "the workspace ends with B's last tile (row 2, columns 0..1)");
  // ### BEGIN HIDDEN TESTS
  const tile3: MatmulKernel2d = (x, y, o, off) => matmulBlocked(x, y, o, off, 3);
  for (const [m, k, n] of [[13, 17, 11], [1, 20, 9], [9, 20, 1], [7, 1, 5], [70, 65, 67]]) {
    checkKernel(tile3, m, k, n);
  }
  checkKernel(matmulBlocked, 70, 65, 67);
  checkKernel(tile3, 13, 17, 11, true);
  checkKernel(matmulBlocked, 66, 5, 70, true);
  checkBatched(tile3);
  const acc = Float32Array.from([1, 1, 1, 1, 9]);
  matmulBlocked(a, b, acc, 0, 2);
  assertEqual(Array.from(acc), [59, 65, 140, 155, 9], "adds into out, touches nothing else");
  const shifted = new Float32Array(6);
  matmulBlocked(a, b, shifted, 2, 1);
  assertEqual(Array.from(shifted), [0, 0, 58, 64, 139, 154], "outOffset");
  const none = Float32Array.from([3, 3, 3, 3]);
  matmulBlocked(matrixView(new Float32Array(0), 2, 0), matrixView(new Float32Array(0), 0, 2), none, 0);
  assertEqual(Array.from(none), [3, 3, 3, 3], "k = 0 adds nothing");
  assertThrows(() => matmulBlocked(a, b, out, 0, 0), "tile");
  // Random shapes (sizes that are not multiples of the tile or of 4 or 8), random tiles, values,
  // transposed views and output offsets, accumulating into random contents: against a float64
  // product computed here.
  const rb = testRandom("18/matmul-blocked");
  const randomMatrix = (rows: number, cols: number, transposed: boolean): MatrixView => {
    const stored = matrixView(Float32Array.from(rb.numbers(rows * cols)), transposed ? cols : rows, transposed ? rows : cols);
    return transposed ? transposeView(stored) : stored;
  };
  const accumulated64 = (a: MatrixView, b: MatrixView, before: Float32Array, at: number): number[] => {
    const want = Array.from(before);
    for (let i = 0; i < a.rows; i++) {
      for (let j = 0; j < b.cols; j++) {
        let sum = 0;
        for (let p = 0; p < a.cols; p++) {
          sum += a.data[a.offset + i * a.rowStride + p * a.colStride] * b.data[b.offset + p * b.rowStride + j * b.colStride];
        }
        want[at + i * b.cols + j] += sum;
      }
    }
    return want;
  };
  for (let trial = 0; trial < 6; trial++) {
    const [m, k, n] = [rb.int(1, 45), rb.int(1, 45), rb.int(1, 45)];
    const a = randomMatrix(m, k, rb.bool(0.3));
    const b = randomMatrix(k, n, rb.bool(0.3));
    const at = rb.int(0, 5);
    const out = Float32Array.from(rb.numbers(at + m * n + rb.int(0, 5)));
    const before = Float32Array.from(out);
    const tile = rb.bool(0.25) ? undefined : rb.int(1, 20);
    matmulBlocked(a, b, out, at, tile);
    assertClose(out, accumulated64(a, b, before, at), { rtol: 1e-4, atol: 1e-4 }, "a random product, tile and offset, accumulated");
  }
  // Random products through a caller's workspace: every tile of B passes through it, so it ends
  // with the last one (the last band of rows, the last block of columns), row-major.
  for (let trial = 0; trial < 4; trial++) {
    const [m, k, n] = [rb.int(1, 30), rb.int(1, 30), rb.int(1, 30)];
    const tile = rb.int(1, 12);
    const a = randomMatrix(m, k, rb.bool(0.3));
    const b = randomMatrix(k, n, rb.bool(0.3));
    const workspace = Float32Array.from(rb.numbers(tile * tile + rb.int(0, 5), 50, 60));
    const out = new Float32Array(m * n);
    matmulBlocked(a, b, out, 0, tile, workspace);
    const [p0, j0] = [Math.floor((k - 1) / tile) * tile, Math.floor((n - 1) / tile) * tile];
    const lastTile: number[] = [];
    for (let p = p0; p < k; p++) for (let j = j0; j < n; j++) lastTile.push(b.data[b.offset + p * b.rowStride + j * b.colStride]);
    assertEqual(Array.from(workspace.subarray(0, lastTile.length)), lastTile, "a random product: the workspace holds B's last tile");
    assertClose(out, accumulated64(a, b, new Float32Array(m * n), 0), { rtol: 1e-4, atol: 1e-4 }, "a random product through a workspace");
  }
  assertThrows(() => matmulBlocked(a, b, new Float32Array(4), 0, rb.int(3, 6), new Float32Array(8)), "workspace", "a workspace smaller than a tile");
  // ### END HIDDEN TESTS
  passed("testUnitMatmulBlocked");
}
testUnitMatmulBlocked();

// %%
//| mutation matmul-blocked checks the tile and then calls the given matmulIkj: right values, no blocking
function matmulBlocked(a: MatrixView, b: MatrixView, out: Float32Array, outOffset: number, tile = 64, workspace?: Float32Array): void {
  if (!Number.isInteger(tile) || tile < 1) throw new Error(`matmulBlocked: tile must be a positive integer, got ${tile}`);
  if (workspace !== undefined && workspace.length < tile * tile) throw new Error(`matmulBlocked: the workspace holds ${workspace.length} floats, a ${tile}×${tile} tile needs ${tile * tile}`);
  matmulIkj(a, b, out, outOffset);
}

// %%
//| mutation matmul-blocked full tiles only: forgets that the last tile in each direction is smaller
/** Cache-blocked i-k-j: out += A @ B, on tile × tile blocks of B copied into a contiguous workspace. */
function matmulBlocked(a: MatrixView, b: MatrixView, out: Float32Array, outOffset: number, tile = 64, workspace?: Float32Array): void {
  if (!Number.isInteger(tile) || tile < 1) throw new Error(`matmulBlocked: tile must be a positive integer, got ${tile}`);
  const m = a.rows;
  const k = a.cols;
  const n = b.cols;
  const buffer = workspace ?? new Float32Array(tile * tile);
  if (buffer.length < tile * tile) throw new Error(`matmulBlocked: the workspace holds ${buffer.length} floats, a ${tile}×${tile} tile needs ${tile * tile}`);
  const aData = a.data;
  const bData = b.data;
  for (let p0 = 0; p0 < k; p0 += tile) {
    const pt = tile;
    for (let j0 = 0; j0 < n; j0 += tile) {
      const jt = tile;
      for (let p = 0; p < pt; p++) {
        const src = b.offset + (p0 + p) * b.rowStride + j0 * b.colStride;
        for (let j = 0; j < jt; j++) buffer[p * jt + j] = bData[src + j * b.colStride];
      }
      for (let i = 0; i < m; i++) {
        const outRow = outOffset + i * n + j0;
        const aRow = a.offset + i * a.rowStride + p0 * a.colStride;
        for (let p = 0; p < pt; p++) {
          const aip = aData[aRow + p * a.colStride];
          const tileRow = p * jt;
          for (let j = 0; j < jt; j++) out[outRow + j] += aip * buffer[tileRow + j];
        }
      }
    }
  }
}

// %%
//| mutation matmul-blocked copies each tile column-major into the workspace
/** Cache-blocked i-k-j: out += A @ B, on tile × tile blocks of B copied into a contiguous workspace. */
function matmulBlocked(a: MatrixView, b: MatrixView, out: Float32Array, outOffset: number, tile = 64, workspace?: Float32Array): void {
  if (!Number.isInteger(tile) || tile < 1) throw new Error(`matmulBlocked: tile must be a positive integer, got ${tile}`);
  const m = a.rows;
  const k = a.cols;
  const n = b.cols;
  const buffer = workspace ?? new Float32Array(tile * tile);
  if (buffer.length < tile * tile) throw new Error(`matmulBlocked: the workspace holds ${buffer.length} floats, a ${tile}×${tile} tile needs ${tile * tile}`);
  const aData = a.data;
  const bData = b.data;
  for (let p0 = 0; p0 < k; p0 += tile) {
    const pt = Math.min(tile, k - p0);
    for (let j0 = 0; j0 < n; j0 += tile) {
      const jt = Math.min(tile, n - j0);
      for (let p = 0; p < pt; p++) {
        const src = b.offset + (p0 + p) * b.rowStride + j0 * b.colStride;
        for (let j = 0; j < jt; j++) buffer[j * pt + p] = bData[src + j * b.colStride];
      }
      for (let i = 0; i < m; i++) {
        const outRow = outOffset + i * n + j0;
        const aRow = a.offset + i * a.rowStride + p0 * a.colStride;
        for (let p = 0; p < pt; p++) {
          const aip = aData[aRow + p * a.colStride];
          const tileRow = p * jt;
          for (let j = 0; j < jt; j++) out[outRow + j] += aip * buffer[j * pt + p];
        }
      }
    }
  }
}

// %% [markdown]
// ### Exercise 3: `blockedTraffic`, what blocking buys in bytes
//
// The point of the tiles is the traffic across the L1 boundary, so model it the way
// `matmulTraffic` models the i-k-j loop: count a piece of a matrix each time the loop nest brings
// it into the cache, and compare.
//
// **TODO**: Return the `MatmulTraffic` of the cache-blocked loop for `[m, k] @ [k, n]` with
// tiles of `tile` and a cache of `cacheBytes`.
//
// The contract (the same conventions and checks as `matmulTraffic`; an error naming `tile` unless
// it is a positive integer):
// - B: every tile is copied once, so B counts once in all, provided a tile *stays* in the cache
//   while all `m` rows of A use it: the largest tile, `min(tile, k) × min(tile, n)` floats, fits
//   in `cacheBytes`. If it does not, every row of A walks it again: B counts `m` times;
// - A: row `i`'s piece of the current band, `A[i, p0 .. p0 + pt)`, counts each time row `i`
//   meets a tile;
// - C: row `i`'s piece of the current block, `C[i, j0 .. j0 + jt)`, counts once each time row
//   `i` meets a tile;
// - `flops`, `minimumBytes`, `cacheLines`, `bestIntensity`, `memoryIntensity` as in
//   `matmulTraffic`; `accessIntensity` is that of the blocked loop's innermost step.
//
// **APPROACH**:
// 1. For `[5, 7] @ [7, 3]` with `tile = 4`: how many bands and column blocks are there, how
//    many times does each row of A meet a tile, and how many bytes of A, B and C cross in all?
// 2. Generalise: how many times is each element of A brought in, and each element of C? (Count
//    the tiles a given element's row piece meets.)
// 3. Check your formula at the extremes: a tile as large as B must give back `matmulTraffic`'s
//    figures, and `tile = 1` must be terrible. Why?
// 4. Predict the memory intensity at 512 with `tile = 64` and a 32 KB cache, and compare it with
//    the i-k-j loop's 0.5.
//
// **HINTS**: Has the innermost step of the loop changed? Then neither has `accessIntensity`.

// %% nbgrader={"grade": false, "grade_id": "blocked-traffic", "locked": false, "schema_version": 3, "solution": true, "task": false}
//| export
/** The cache-blocked loop's traffic for [m, k] @ [k, n], tiles of `tile`, a cache of `cacheBytes`. */
function blockedTraffic(m: number, k: number, n: number, tile: number, cacheBytes: number): MatmulTraffic {
  // ### BEGIN SOLUTION
  for (const [name, value] of [["m", m], ["k", k], ["n", n]] as const) {
    if (!Number.isInteger(value) || value < 0) {
      throw new Error(`blockedTraffic: ${name} must be a non-negative integer, got ${value}`);
    }
  }
  if (!Number.isInteger(tile) || tile < 1) throw new Error(`blockedTraffic: tile must be a positive integer, got ${tile}`);
  if (!(cacheBytes > 0)) throw new Error(`blockedTraffic: cacheBytes must be positive, got ${cacheBytes}`);
  const flops = 2 * m * k * n;
  const bands = Math.ceil(k / tile);
  const blocks = Math.ceil(n / tile);
  // A's row piece comes in once per tile of its band (one per column block), C's once per tile
  // of its block (one per band), B once if a tile stays in the cache for all m rows.
  const tileStays = 4 * Math.min(tile, k) * Math.min(tile, n) <= cacheBytes;
  const memoryBytes = 4 * m * k * blocks + 4 * m * n * bands + (tileStays ? 4 * k * n : 4 * m * k * n);
  const minimumBytes = 4 * (m * k + k * n + m * n);
  const ratio = (bytes: number): number => (flops === 0 ? 0 : flops / bytes);
  return {
    flops,
    minimumBytes,
    memoryBytes,
    cacheLines: Math.ceil(memoryBytes / 64),
    accessIntensity: flops === 0 ? 0 : 2 / 12,
    memoryIntensity: ratio(memoryBytes),
    bestIntensity: ratio(minimumBytes),
  };
  // ### END SOLUTION
}

// %% nbgrader={"grade": true, "grade_id": "test-unit-blocked-traffic", "locked": true, "points": 3, "schema_version": 3, "solution": false, "task": false}
function testUnitBlockedTraffic(): void {
  const at512 = blockedTraffic(512, 512, 512, 64, 32 * 1024);
  assertEqual(at512.memoryBytes, 4 * 512 * 512 * (8 + 8 + 1), "A once per column block, C once per band, B once");
  assertClose(at512.memoryIntensity, 1024 / 68, {}, "about 15 FLOP/B beyond L1, against i-k-j's 0.5");
  assertClose(at512.accessIntensity, 1 / 6, {}, "the innermost step is unchanged");
  // ### BEGIN HIDDEN TESTS
  const small = blockedTraffic(5, 7, 3, 4, 1024);
  assertEqual(small.memoryBytes, 4 * 5 * 7 * 1 + 4 * 5 * 3 * 2 + 4 * 7 * 3, "[5, 7] @ [7, 3] in tiles of 4: two bands, one block");
  assertEqual(small.cacheLines, Math.ceil(344 / 64), "partial lines round up");
  const tooBig = blockedTraffic(5, 7, 3, 4, 47);
  assertEqual(tooBig.memoryBytes, 4 * 5 * 7 + 4 * 5 * 3 * 2 + 4 * 5 * 7 * 3, "a 48-byte tile in a 47-byte cache: B once per row of A");
  assertEqual(blockedTraffic(5, 7, 3, 4, 48).memoryBytes, 344, "a tile of exactly cacheBytes stays");
  const empty = blockedTraffic(0, 5, 5, 2, 1024);
  assertEqual([empty.flops, empty.memoryIntensity, empty.accessIntensity, empty.bestIntensity], [0, 0, 0, 0]);
  assertThrows(() => blockedTraffic(4, 4, 4, 0, 1024), "tile");
  assertThrows(() => blockedTraffic(4, 4, 4, 2.5, 1024), "tile");
  assertThrows(() => blockedTraffic(4, 4, 4, 2, 0), "cacheBytes");
  assertThrows(() => blockedTraffic(4, -1, 4, 2, 64), "k");
  // Random products, tiles and caches (tiles that just stay and just do not): every figure from
  // the counts, evaluated here; and a tile at least as large as B gives matmulTraffic's figures.
  const rt = testRandom("18/blocked-traffic");
  for (let trial = 0; trial < 6; trial++) {
    const [m, k, n] = [rt.int(0, 600), rt.int(1, 600), rt.int(1, 600)];
    const tile = rt.int(1, 96);
    const tileBytes = 4 * Math.min(tile, k) * Math.min(tile, n);
    const cache = rt.pick([tileBytes, tileBytes - 1, tileBytes + rt.int(1, 4096), rt.pick([32, 256]) * 1024]);
    const bytes = 4 * m * k * Math.ceil(n / tile) + 4 * m * n * Math.ceil(k / tile) + (tileBytes <= cache ? 4 * k * n : 4 * m * k * n);
    const t = blockedTraffic(m, k, n, tile, cache);
    assertEqual(
      [t.flops, t.minimumBytes, t.memoryBytes, t.cacheLines],
      [2 * m * k * n, 4 * (m * k + k * n + m * n), bytes, Math.ceil(bytes / 64)],
      "a random product, tile and cache: FLOPs, bytes, cache lines",
    );
    assertClose(
      [t.accessIntensity, t.memoryIntensity, t.bestIntensity],
      m === 0 ? [0, 0, 0] : [1 / 6, (2 * m * k * n) / bytes, (2 * m * k * n) / (4 * (m * k + k * n + m * n))],
      { rtol: 1e-12 },
      "a random product, tile and cache: intensities",
    );
    const whole = blockedTraffic(m, k, n, Math.max(k, n) + rt.int(0, 9), cache);
    const ikj = matmulTraffic(m, k, n, cache);
    assertEqual([whole.memoryBytes, whole.cacheLines], [ikj.memoryBytes, ikj.cacheLines], "a tile as large as B is the i-k-j loop");
  }
  // ### END HIDDEN TESTS
  passed("testUnitBlockedTraffic");
}
testUnitBlockedTraffic();

// %%
//| mutation blocked-traffic counts B once per row of A, as in i-k-j, although the tile stays in the cache
function blockedTraffic(m: number, k: number, n: number, tile: number, cacheBytes: number): MatmulTraffic {
  for (const [name, value] of [["m", m], ["k", k], ["n", n]] as const) {
    if (!Number.isInteger(value) || value < 0) throw new Error(`blockedTraffic: ${name} must be a non-negative integer, got ${value}`);
  }
  if (!Number.isInteger(tile) || tile < 1) throw new Error(`blockedTraffic: tile must be a positive integer, got ${tile}`);
  if (!(cacheBytes > 0)) throw new Error(`blockedTraffic: cacheBytes must be positive, got ${cacheBytes}`);
  const flops = 2 * m * k * n;
  const memoryBytes = 4 * m * k * Math.ceil(n / tile) + 4 * m * n * Math.ceil(k / tile) + 4 * m * k * n;
  const minimumBytes = 4 * (m * k + k * n + m * n);
  const ratio = (bytes: number): number => (flops === 0 ? 0 : flops / bytes);
  return { flops, minimumBytes, memoryBytes, cacheLines: Math.ceil(memoryBytes / 64), accessIntensity: flops === 0 ? 0 : 2 / 12, memoryIntensity: ratio(memoryBytes), bestIntensity: ratio(minimumBytes) };
}

// %%
//| mutation blocked-traffic A and C counted once, as if the tiles cost nothing
function blockedTraffic(m: number, k: number, n: number, tile: number, cacheBytes: number): MatmulTraffic {
  for (const [name, value] of [["m", m], ["k", k], ["n", n]] as const) {
    if (!Number.isInteger(value) || value < 0) throw new Error(`blockedTraffic: ${name} must be a non-negative integer, got ${value}`);
  }
  if (!Number.isInteger(tile) || tile < 1) throw new Error(`blockedTraffic: tile must be a positive integer, got ${tile}`);
  if (!(cacheBytes > 0)) throw new Error(`blockedTraffic: cacheBytes must be positive, got ${cacheBytes}`);
  const flops = 2 * m * k * n;
  const tileStays = 4 * Math.min(tile, k) * Math.min(tile, n) <= cacheBytes;
  const memoryBytes = 4 * m * k + 4 * m * n + (tileStays ? 4 * k * n : 4 * m * k * n);
  const minimumBytes = 4 * (m * k + k * n + m * n);
  const ratio = (bytes: number): number => (flops === 0 ? 0 : flops / bytes);
  return { flops, minimumBytes, memoryBytes, cacheLines: Math.ceil(memoryBytes / 64), accessIntensity: flops === 0 ? 0 : 2 / 12, memoryIntensity: ratio(memoryBytes), bestIntensity: ratio(minimumBytes) };
}

// %%
//| mutation blocked-traffic C counted once per column block and A once per band (the two counts swapped)
function blockedTraffic(m: number, k: number, n: number, tile: number, cacheBytes: number): MatmulTraffic {
  for (const [name, value] of [["m", m], ["k", k], ["n", n]] as const) {
    if (!Number.isInteger(value) || value < 0) throw new Error(`blockedTraffic: ${name} must be a non-negative integer, got ${value}`);
  }
  if (!Number.isInteger(tile) || tile < 1) throw new Error(`blockedTraffic: tile must be a positive integer, got ${tile}`);
  if (!(cacheBytes > 0)) throw new Error(`blockedTraffic: cacheBytes must be positive, got ${cacheBytes}`);
  const flops = 2 * m * k * n;
  const tileStays = 4 * Math.min(tile, k) * Math.min(tile, n) <= cacheBytes;
  const memoryBytes = 4 * m * k * Math.ceil(k / tile) + 4 * m * n * Math.ceil(n / tile) + (tileStays ? 4 * k * n : 4 * m * k * n);
  const minimumBytes = 4 * (m * k + k * n + m * n);
  const ratio = (bytes: number): number => (flops === 0 ? 0 : flops / bytes);
  return { flops, minimumBytes, memoryBytes, cacheLines: Math.ceil(memoryBytes / 64), accessIntensity: flops === 0 ? 0 : 2 / 12, memoryIntensity: ratio(memoryBytes), bestIntensity: ratio(minimumBytes) };
}

// %% [markdown]
// ## Part 3: Register blocking and packed panels
//
// Blocking for the cache leaves the innermost step as it was: load `out[j]`, load `b[j]`, store
// `out[j]`, for 2 FLOPs. The next level of the memory hierarchy is the **registers**, and the way
// to use them is to compute a small block of C at once, keeping its running sums in local
// variables, which the compiler may keep in registers for the whole loop over `p`:
//
// ```
// c00..c33 = 0                          # 16 sums for a 4×4 block of C, in locals
// for p in 0..k:
//   a0..a3 = A[i0..i0+4][p]             # 4 loads
//   b0..b3 = B[p][j0..j0+4]             # 4 loads
//   c00 += a0*b0; c01 += a0*b1; ...     # 16 multiply-adds = 32 FLOPs
// C[i0..i0+4][j0..j0+4] += c00..c33     # once, at the end
// ```
//
// Eight loads from the arrays (32 bytes) for 32 FLOPs: the intensity per access goes from 1/6 to
// 1 FLOP per byte of the operands.
//
// **Do 16 sums fit in the registers?** Not all of them, and it is worth knowing what happens
// instead. JavaScript numbers are doubles, and on x86-64 V8 computes with them in the 16 XMM
// registers (SSE2/AVX, without AVX-512's 32). One step of the loop needs the 16 sums *and* its
// 8 operands (each float32 widened to a double): 24 values for 16 registers. V8's optimizing
// compiler keeps as many as fit and **spills** the rest to slots in the function's stack frame,
// reloading and storing them every step. Counted in the code Node 20 generates for the solution
// below on this machine (`node --print-opt-code`): per step of `p`, 16 multiplies, 16 adds, 8
// float32-to-double conversions, and about 36 loads and stores of stack slots. So the sums do
// not all "live in registers". The kernel is still several times faster than i-k-j, because
// what it saves is not cache bandwidth but instructions: a stack slot is a plain load or store,
// always in L1, with no bounds check and no float32 conversion, and the loop does 8 array loads,
// 8 conversions and no array stores for 32 FLOPs, where i-k-j does 2 array loads, 2 conversions,
// 1 narrowing store and the bounds checks for 2 FLOPs. (The SIMD kernel of Part 4 is shaped to
// fit: 8 `v128` sums, 2 B vectors and one splatted A value are 11 registers.)
//
// **Packing.** For the 8 loads to be cheap, the four values of A for one `p` should sit next to
// each other, and so should the four of B. Neither is true in row-major storage (A's column walks
// with stride `k`). So the kernel first copies its operands into **panels**:
//
// - a panel of A holds 4 rows; for each `p` it stores `A[i0][p], A[i0+1][p], A[i0+2][p], A[i0+3][p]`;
// - a panel of B holds 4 columns, stored the same way: it is a panel of **Bᵀ** (transposeView).
//
// One function packs both: `packPanels(view, width, dest, destOffset)` cuts the view's rows into
// groups of `width` and writes each group depth-major. The last panel is padded with zeros when
// `width` does not divide the number of rows, so the micro-kernel never needs an edge case
// inside its loop. Packing costs one pass over each operand (`O(n²)`) for a product that costs
// `O(n³)`; it also makes any strides, transposed included, contiguous.
//
// ```
// view rows 0..5, width 4, depth 3          dest (two panels, 4 floats per step)
// r0: a b c                                 panel 0: a d g j | b e h k | c f i l
// r1: d e f                                 panel 1: m p 0 0 | n q 0 0 | o r 0 0
// r2: g h i     r4: m n o
// r3: j k l     r5: p q r
// ```
//
// ### Exercise 4: `packPanels`
//
// **TODO**: Write the panels of `src` into `dest` from `destOffset`, and return the number of
// floats written.
//
// The contract: panels of `width` rows (the last one padded with zeros), one after the other
// from `destOffset`; inside a panel, the `width` values of step `p` are consecutive (`depth`-major,
// as in the picture); the return value is the number of floats written; floats of `dest`
// outside them are untouched; an error naming `width` unless it is a positive integer, and one
// naming `dest` when `dest` has no room from `destOffset`.
//
// **APPROACH**:
// 1. From the picture, write the position in `dest` of the value from row `r` of panel `q` at
//    step `p`. Check it on `j` and on `q` (row 5, step 1).
// 2. How many floats does a view of `rows × depth` need in panels of `width`? That is both the
//    room to check and the value to return.
// 3. Which loop order writes `dest` strictly in order? Which one reads a transposed view
//    (Bᵀ, whose rows are B's columns) in order?
//
// **HINTS**: The padding must be written, not assumed: `dest` may hold anything, a previous
// product's panels included.

// %% nbgrader={"grade": false, "grade_id": "pack-panels", "locked": false, "schema_version": 3, "solution": true, "task": false}
//| export
/** Packs the rows of `src` into zero-padded panels of `width` rows, depth-major; returns floats written. */
function packPanels(src: MatrixView, width: number, dest: Float32Array, destOffset: number): number {
  // ### BEGIN SOLUTION
  if (!Number.isInteger(width) || width < 1) throw new Error(`packPanels: width must be a positive integer, got ${width}`);
  const depth = src.cols;
  const panels = Math.ceil(src.rows / width);
  const size = panels * depth * width;
  if (destOffset < 0 || destOffset + size > dest.length) {
    throw new Error(`packPanels: dest needs ${size} floats from offset ${destOffset}, has ${dest.length}`);
  }
  // Strides in locals and running indices: this loop runs once per element of both operands.
  const { data, rowStride, colStride } = src;
  for (let q = 0; q < panels; q++) {
    const first = q * width;
    const valid = Math.min(width, src.rows - first);
    let to = destOffset + q * depth * width;
    let from = src.offset + first * rowStride;
    for (let p = 0; p < depth; p++, to += width, from += colStride) {
      let at = from;
      for (let r = 0; r < valid; r++, at += rowStride) dest[to + r] = data[at];
      for (let r = valid; r < width; r++) dest[to + r] = 0;
    }
  }
  return size;
  // ### END SOLUTION
}

// %% nbgrader={"grade": true, "grade_id": "test-unit-pack-panels", "locked": true, "points": 3, "schema_version": 3, "solution": false, "task": false}
function testUnitPackPanels(): void {
  const letters = matrixView(Float32Array.from({ length: 18 }, (_, i) => i + 1), 6, 3);
  const dest = new Float32Array(24);
  assertEqual(packPanels(letters, 4, dest, 0), 24);
  assertEqual(Array.from(dest), [1, 4, 7, 10, 2, 5, 8, 11, 3, 6, 9, 12, 13, 16, 0, 0, 14, 17, 0, 0, 15, 18, 0, 0]);
  // ### BEGIN HIDDEN TESTS
  const bt = new Float32Array(24);
  packPanels(transposeView(matrixView(Float32Array.from({ length: 18 }, (_, i) => i + 1), 3, 6)), 4, bt, 0);
  assertEqual(Array.from(bt), [1, 2, 3, 4, 7, 8, 9, 10, 13, 14, 15, 16, 5, 6, 0, 0, 11, 12, 0, 0, 17, 18, 0, 0], "a transposed view packs B's columns");
  const padded = Float32Array.from({ length: 12 }, () => -1);
  assertEqual(packPanels(matrixView(Float32Array.from([1, 2, 3, 4]), 2, 2), 3, padded, 2), 6);
  assertEqual(Array.from(padded), [-1, -1, 1, 3, 0, 2, 4, 0, -1, -1, -1, -1], "offset, zero padding, nothing else touched");
  const inner = { data: Float32Array.from({ length: 20 }, (_, i) => i), offset: 6, rows: 2, cols: 3, rowStride: 5, colStride: 2 };
  const strided = new Float32Array(6);
  packPanels(inner, 2, strided, 0);
  assertEqual(Array.from(strided), [6, 11, 8, 13, 10, 15], "any strides and offset");
  assertEqual(packPanels(matrixView(new Float32Array(0), 0, 5), 4, new Float32Array(0), 0), 0, "no rows, no panels");
  assertEqual(packPanels(matrixView(new Float32Array(0), 3, 0), 4, new Float32Array(0), 0), 0, "depth 0");
  assertThrows(() => packPanels(letters, 0, dest, 0), "width");
  assertThrows(() => packPanels(letters, 4, new Float32Array(23), 0), "dest");
  assertThrows(() => packPanels(letters, 4, dest, 1), "dest");
  // Random views (any offset and strides, row- or column-major), widths and destination offsets:
  // the panels, their zero padding and the untouched rest of dest, computed here.
  const rp = testRandom("18/pack-panels");
  for (let trial = 0; trial < 6; trial++) {
    const rows = rp.int(0, 13);
    const cols = rp.int(0, 9);
    const columnMajor = rp.bool();
    const offset = rp.int(0, 6);
    const rowStride = columnMajor ? rp.int(1, 3) : Math.max(1, cols * 2) + rp.int(0, 3);
    const colStride = columnMajor ? Math.max(1, rows * rowStride) + rp.int(0, 3) : rp.int(1, 2);
    const data = Float32Array.from(rp.numbers(offset + rows * rowStride + cols * colStride + 4, -9, 9));
    const view: MatrixView = { data, offset, rows, cols, rowStride, colStride };
    const width = rp.int(1, 9);
    const at = rp.int(0, 7);
    const dest = Float32Array.from(rp.numbers(at + Math.ceil(rows / width) * width * cols + rp.int(0, 6), 10, 20));
    const before = Float32Array.from(dest);
    const written = packPanels(view, width, dest, at);
    assertEqual(written, Math.ceil(rows / width) * cols * width, "a random view: floats written");
    assertEqual(
      Array.from(dest),
      Array.from(before, (old, e) => {
        const rel = e - at;
        if (rel < 0 || rel >= Math.ceil(rows / width) * cols * width) return old;
        const q = Math.floor(rel / (cols * width));
        const p = Math.floor((rel % (cols * width)) / width);
        const row = q * width + (rel % width);
        return row < rows ? data[offset + row * rowStride + p * colStride] : 0;
      }),
      "a random view: panels, padding, nothing else touched",
    );
  }
  // ### END HIDDEN TESTS
  passed("testUnitPackPanels");
}
testUnitPackPanels();

// %%
//| mutation pack-panels no zero padding: the last panel keeps whatever dest held
/** Packs the rows of `src` into zero-padded panels of `width` rows, depth-major; returns floats written. */
function packPanels(src: MatrixView, width: number, dest: Float32Array, destOffset: number): number {
  if (!Number.isInteger(width) || width < 1) throw new Error(`packPanels: width must be a positive integer, got ${width}`);
  const depth = src.cols;
  const panels = Math.ceil(src.rows / width);
  const size = panels * depth * width;
  if (destOffset < 0 || destOffset + size > dest.length) {
    throw new Error(`packPanels: dest needs ${size} floats from offset ${destOffset}, has ${dest.length}`);
  }
  // Strides in locals and running indices: this loop runs once per element of both operands.
  const { data, rowStride, colStride } = src;
  for (let q = 0; q < panels; q++) {
    const first = q * width;
    const valid = Math.min(width, src.rows - first);
    let to = destOffset + q * depth * width;
    let from = src.offset + first * rowStride;
    for (let p = 0; p < depth; p++, to += width, from += colStride) {
      let at = from;
      for (let r = 0; r < valid; r++, at += rowStride) dest[to + r] = data[at];
    }
  }
  return size;
}

// %%
//| mutation pack-panels row-major panels: each row's depth values together instead of each step's width values
/** Packs the rows of `src` into zero-padded panels of `width` rows, depth-major; returns floats written. */
function packPanels(src: MatrixView, width: number, dest: Float32Array, destOffset: number): number {
  if (!Number.isInteger(width) || width < 1) throw new Error(`packPanels: width must be a positive integer, got ${width}`);
  const depth = src.cols;
  const panels = Math.ceil(src.rows / width);
  const size = panels * depth * width;
  if (destOffset < 0 || destOffset + size > dest.length) {
    throw new Error(`packPanels: dest needs ${size} floats from offset ${destOffset}, has ${dest.length}`);
  }
  // Strides in locals and running indices: this loop runs once per element of both operands.
  const { data, rowStride, colStride } = src;
  for (let q = 0; q < panels; q++) {
    const first = q * width;
    const valid = Math.min(width, src.rows - first);
    let to = destOffset + q * depth * width;
    let from = src.offset + first * rowStride;
    for (let p = 0; p < depth; p++, to += width, from += colStride) {
      let at = from;
      for (let r = 0; r < valid; r++, at += rowStride) dest[destOffset + q * depth * width + r * depth + p] = data[at];
      for (let r = valid; r < width; r++) dest[destOffset + q * depth * width + r * depth + p] = 0;
    }
  }
  return size;
}

// %% [markdown]
// ### Exercise 5: `microKernel4x4`
//
// **TODO**: Add the product of one packed A panel (4 rows) and one packed B panel (4 columns),
// over `kc` steps, into a 4×4 block of `c`.
//
// The contract: element `[R, C]` of the block is `c[cOffset + R·ldc + C]` (`ldc` is the distance
// between rows of `c`); nothing else of `c` changes. Each of the 16 sums is accumulated over
// all `kc` steps as a JavaScript number (a double), in the order of `p`, starting from 0, and
// added into its element of `c` **once**, after the loop: each element of `c` is rounded to
// float32 exactly once. The test checks the result bit for bit against exactly that.
//
// **APPROACH**:
// 1. From the packing picture, where are `A[i0 + R][p]` and `B[p][j0 + C]` in the panels? Write
//    the four A reads and the four B reads of one step.
// 2. Write out the 16 multiply-adds of one step on paper, as the pseudocode above does for the
//    first row, and check that each pairs the right A value with the right B value.
// 3. Decide where the sums live while the loop runs. Keeping them in a `Float32Array` would round
//    every partial sum to float32 (and the test would see it); adding into `c` at every step
//    would too, and would load and store `c` `kc` times. Plain local variables do neither.
//
// **HINTS**:
// - A `number[]` of 16 sums would give the same bits as locals, but every `+=` becomes a load and
//   a store through an array: the demo after the next test measures what that costs.
// - An index that advances by 4 each step saves recomputing `4*p`.

// %% nbgrader={"grade": false, "grade_id": "micro-kernel", "locked": false, "schema_version": 3, "solution": true, "task": false}
//| export
/** c[4×4 block at cOffset, row stride ldc] += packed A panel × packed B panel over kc steps. */
function microKernel4x4(
  pa: Float32Array,
  aOffset: number,
  pb: Float32Array,
  bOffset: number,
  kc: number,
  c: Float32Array,
  cOffset: number,
  ldc: number,
): void {
  // ### BEGIN SOLUTION
  let c00 = 0, c01 = 0, c02 = 0, c03 = 0;
  let c10 = 0, c11 = 0, c12 = 0, c13 = 0;
  let c20 = 0, c21 = 0, c22 = 0, c23 = 0;
  let c30 = 0, c31 = 0, c32 = 0, c33 = 0;
  let ia = aOffset;
  let ib = bOffset;
  for (let p = 0; p < kc; p++, ia += 4, ib += 4) {
    const a0 = pa[ia], a1 = pa[ia + 1], a2 = pa[ia + 2], a3 = pa[ia + 3];
    const b0 = pb[ib], b1 = pb[ib + 1], b2 = pb[ib + 2], b3 = pb[ib + 3];
    c00 += a0 * b0; c01 += a0 * b1; c02 += a0 * b2; c03 += a0 * b3;
    c10 += a1 * b0; c11 += a1 * b1; c12 += a1 * b2; c13 += a1 * b3;
    c20 += a2 * b0; c21 += a2 * b1; c22 += a2 * b2; c23 += a2 * b3;
    c30 += a3 * b0; c31 += a3 * b1; c32 += a3 * b2; c33 += a3 * b3;
  }
  let row = cOffset;
  c[row] += c00; c[row + 1] += c01; c[row + 2] += c02; c[row + 3] += c03;
  row += ldc;
  c[row] += c10; c[row + 1] += c11; c[row + 2] += c12; c[row + 3] += c13;
  row += ldc;
  c[row] += c20; c[row + 1] += c21; c[row + 2] += c22; c[row + 3] += c23;
  row += ldc;
  c[row] += c30; c[row + 1] += c31; c[row + 2] += c32; c[row + 3] += c33;
  // ### END SOLUTION
}

// %% nbgrader={"grade": true, "grade_id": "test-unit-micro-kernel", "locked": true, "points": 3, "schema_version": 3, "solution": false, "task": false}
function testUnitMicroKernel(): void {
  // kc = 1: an outer product of a = [1, 2, 3, 4] and b = [1, 10, 100, 1000].
  const c = new Float32Array(16);
  microKernel4x4(Float32Array.from([1, 2, 3, 4]), 0, Float32Array.from([1, 10, 100, 1000]), 0, 1, c, 0, 4);
  assertEqual(Array.from(c), [1, 10, 100, 1000, 2, 20, 200, 2000, 3, 30, 300, 3000, 4, 40, 400, 4000]);
  // ### BEGIN HIDDEN TESTS
  // Against float64, from packed random operands, into a wider C at an offset (ldc = 6).
  const kc = 9;
  const a = randomView(4, kc, 3);
  const b = randomView(kc, 4, 4);
  const pa = new Float32Array(2 + 4 * kc);
  const pb = new Float32Array(1 + 4 * kc);
  packPanels(a, 4, pa, 2);
  packPanels(transposeView(b), 4, pb, 1);
  const wide = Float32Array.from({ length: 6 * 5 }, () => 0.5);
  microKernel4x4(pa, 2, pb, 1, kc, wide, 7, 6);
  const want = expected64(a, b);
  for (let r = 0; r < 6 * 5; r++) {
    const row = Math.floor(r / 6) - 1;
    const col = (r % 6) - 1;
    const inside = row >= 0 && row < 4 && col >= 0 && col < 4;
    assertClose(wide[r], inside ? 0.5 + want[row * 4 + col] : 0.5, { rtol: 1e-5, atol: 1e-5 }, `c element ${r}`);
  }
  const untouched = Float32Array.from({ length: 16 }, (_, i) => i);
  microKernel4x4(pa, 2, pb, 1, 0, untouched, 0, 4);
  assertEqual(Array.from(untouched), Array.from({ length: 16 }, (_, i) => i), "kc = 0 adds nothing");
  // Random packed panels at random offsets, random depth, a random C with a random row stride:
  // the 4×4 block accumulated in float64 here, everything else unchanged.
  const rk = testRandom("18/micro-kernel");
  for (let trial = 0; trial < 4; trial++) {
    const depth = rk.int(0, 40);
    const aAt = rk.int(0, 5);
    const bAt = rk.int(0, 5);
    const panelA = Float32Array.from(rk.numbers(aAt + 4 * depth + rk.int(0, 3)));
    const panelB = Float32Array.from(rk.numbers(bAt + 4 * depth + rk.int(0, 3)));
    const ldc = rk.int(4, 9);
    const cAt = rk.int(0, 6);
    const block = Float32Array.from(rk.numbers(cAt + 3 * ldc + 4 + rk.int(0, 6)));
    const before = Float32Array.from(block);
    microKernel4x4(panelA, aAt, panelB, bAt, depth, block, cAt, ldc);
    assertClose(
      block,
      Array.from(before, (old, e) => {
        const rel = e - cAt;
        const row = Math.floor(rel / ldc);
        const col = rel - row * ldc;
        if (rel < 0 || row > 3 || col > 3) return old;
        let sum = 0;
        for (let p = 0; p < depth; p++) sum += panelA[aAt + 4 * p + row] * panelB[bAt + 4 * p + col];
        return old + sum;
      }),
      { rtol: 1e-5, atol: 1e-5 },
      "a random depth, panels and C",
    );
  }
  // Bit for bit: each sum a double over all the steps, in order, and C rounded to float32 once.
  // (A sum kept in float32, in a Float32Array or in C itself, is rounded at every step.)
  for (let trial = 0; trial < 3; trial++) {
    const depth = rk.int(24, 64);
    const panelA = Float32Array.from(rk.numbers(4 * depth));
    const panelB = Float32Array.from(rk.numbers(4 * depth));
    const block = Float32Array.from(rk.numbers(16));
    const before = Float32Array.from(block);
    microKernel4x4(panelA, 0, panelB, 0, depth, block, 0, 4);
    assertEqual(
      Array.from(block),
      Array.from(before, (old, e) => {
        let sum = 0;
        for (let p = 0; p < depth; p++) sum += panelA[4 * p + (e >> 2)] * panelB[4 * p + (e & 3)];
        return Math.fround(old + sum);
      }),
      "a random depth: sums in doubles, each element of C rounded once",
    );
  }
  // ### END HIDDEN TESTS
  passed("testUnitMicroKernel");
}
testUnitMicroKernel();

// %%
//| mutation micro-kernel keeps its 16 sums in a Float32Array, the module's usual array
function microKernel4x4(pa: Float32Array, aOffset: number, pb: Float32Array, bOffset: number, kc: number, c: Float32Array, cOffset: number, ldc: number): void {
  const sums = new Float32Array(16);
  for (let p = 0, ia = aOffset, ib = bOffset; p < kc; p++, ia += 4, ib += 4) {
    for (let r = 0; r < 4; r++) for (let q = 0; q < 4; q++) sums[r * 4 + q] += pa[ia + r] * pb[ib + q];
  }
  for (let r = 0; r < 4; r++) for (let q = 0; q < 4; q++) c[cOffset + r * ldc + q] += sums[r * 4 + q];
}

// %%
//| mutation micro-kernel accumulates straight into c at every step
function microKernel4x4(pa: Float32Array, aOffset: number, pb: Float32Array, bOffset: number, kc: number, c: Float32Array, cOffset: number, ldc: number): void {
  for (let p = 0, ia = aOffset, ib = bOffset; p < kc; p++, ia += 4, ib += 4) {
    for (let r = 0; r < 4; r++) for (let q = 0; q < 4; q++) c[cOffset + r * ldc + q] += pa[ia + r] * pb[ib + q];
  }
}

// %%
//| mutation micro-kernel writes the block with the row stride 4 instead of ldc
/** c[4×4 block at cOffset, row stride ldc] += packed A panel × packed B panel over kc steps. */
function microKernel4x4(
  pa: Float32Array,
  aOffset: number,
  pb: Float32Array,
  bOffset: number,
  kc: number,
  c: Float32Array,
  cOffset: number,
  ldc: number,
): void {
  let c00 = 0, c01 = 0, c02 = 0, c03 = 0;
  let c10 = 0, c11 = 0, c12 = 0, c13 = 0;
  let c20 = 0, c21 = 0, c22 = 0, c23 = 0;
  let c30 = 0, c31 = 0, c32 = 0, c33 = 0;
  let ia = aOffset;
  let ib = bOffset;
  for (let p = 0; p < kc; p++, ia += 4, ib += 4) {
    const a0 = pa[ia], a1 = pa[ia + 1], a2 = pa[ia + 2], a3 = pa[ia + 3];
    const b0 = pb[ib], b1 = pb[ib + 1], b2 = pb[ib + 2], b3 = pb[ib + 3];
    c00 += a0 * b0; c01 += a0 * b1; c02 += a0 * b2; c03 += a0 * b3;
    c10 += a1 * b0; c11 += a1 * b1; c12 += a1 * b2; c13 += a1 * b3;
    c20 += a2 * b0; c21 += a2 * b1; c22 += a2 * b2; c23 += a2 * b3;
    c30 += a3 * b0; c31 += a3 * b1; c32 += a3 * b2; c33 += a3 * b3;
  }
  let row = cOffset;
  c[row] += c00; c[row + 1] += c01; c[row + 2] += c02; c[row + 3] += c03;
  row += 4;
  c[row] += c10; c[row + 1] += c11; c[row + 2] += c12; c[row + 3] += c13;
  row += 4;
  c[row] += c20; c[row + 1] += c21; c[row + 2] += c22; c[row + 3] += c23;
  row += 4;
  c[row] += c30; c[row + 1] += c31; c[row + 2] += c32; c[row + 3] += c33;
}

// %% [markdown]
// With packing and the micro-kernel, the register-blocked matmul is a short driver, given below.
// It packs A into 4-row panels and Bᵀ into 4-column panels, then calls your micro-kernel once
// per 4×4 block of C: straight into `out` for a full block, through a small scratch block at the
// right and bottom edges, where only part of the block exists.

// %% nbgrader={"grade": false, "grade_id": "register-blocked", "locked": true, "schema_version": 3, "solution": false, "task": false}
//| export
/** Register-blocked matmul: packed 4-row panels of A and 4-column panels of B, 4×4 micro-kernel. */
function matmulRegisterBlocked(a: MatrixView, b: MatrixView, out: Float32Array, outOffset: number): void {
  const m = a.rows;
  const k = a.cols;
  const n = b.cols;
  if (m === 0 || n === 0 || k === 0) return;
  const pa = new Float32Array(Math.ceil(m / 4) * 4 * k);
  const pb = new Float32Array(Math.ceil(n / 4) * 4 * k);
  packPanels(a, 4, pa, 0);
  packPanels(transposeView(b), 4, pb, 0);
  const edge = new Float32Array(16);
  // One B panel (4 columns × k) stays in L1 while every A panel passes it.
  for (let j0 = 0; j0 < n; j0 += 4) {
    const bOffset = j0 * k;
    for (let i0 = 0; i0 < m; i0 += 4) {
      const aOffset = i0 * k;
      if (i0 + 4 <= m && j0 + 4 <= n) {
        microKernel4x4(pa, aOffset, pb, bOffset, k, out, outOffset + i0 * n + j0, n);
        continue;
      }
      edge.fill(0);
      microKernel4x4(pa, aOffset, pb, bOffset, k, edge, 0, 4);
      for (let r = 0; r < 4 && i0 + r < m; r++) {
        for (let col = 0; col < 4 && j0 + col < n; col++) out[outOffset + (i0 + r) * n + j0 + col] += edge[r * 4 + col];
      }
    }
  }
}

// %% nbgrader={"grade": true, "grade_id": "test-unit-register-blocked", "locked": true, "points": 3, "schema_version": 3, "solution": false, "task": false}
function testUnitRegisterBlocked(): void {
  checkKernel(matmulRegisterBlocked, 8, 8, 8);
  checkKernel(matmulRegisterBlocked, 5, 6, 7);
  // ### BEGIN HIDDEN TESTS
  for (const [m, k, n] of [[13, 17, 11], [1, 33, 9], [9, 33, 1], [1, 1, 1], [3, 2, 3], [67, 70, 65]]) {
    checkKernel(matmulRegisterBlocked, m, k, n);
  }
  checkKernel(matmulRegisterBlocked, 13, 17, 11, true);
  checkKernel(matmulRegisterBlocked, 1, 7, 9, true);
  checkBatched(matmulRegisterBlocked);
  const acc = Float32Array.from([1, 1, 1, 1, 7]);
  matmulRegisterBlocked(matrixView(Float32Array.from([1, 2, 3, 4, 5, 6]), 2, 3), matrixView(Float32Array.from([7, 8, 9, 10, 11, 12]), 3, 2), acc, 0);
  assertEqual(Array.from(acc), [59, 65, 140, 155, 7], "adds into out, touches nothing else");
  // Random shapes (edges of every kind against the 4×4 blocks), random values, transposed
  // views, and a random broadcast batch through matmulWithKernel: against float64 here.
  const rr = testRandom("18/register-blocked");
  const someMatrix = (rows: number, cols: number, transposed: boolean): MatrixView => {
    const stored = matrixView(Float32Array.from(rr.numbers(rows * cols)), transposed ? cols : rows, transposed ? rows : cols);
    return transposed ? transposeView(stored) : stored;
  };
  const product64 = (a: MatrixView, b: MatrixView, before: ArrayLike<number>, at: number): number[] => {
    const want = Array.from(before);
    for (let i = 0; i < a.rows; i++) {
      for (let j = 0; j < b.cols; j++) {
        let sum = 0;
        for (let p = 0; p < a.cols; p++) sum += a.data[a.offset + i * a.rowStride + p * a.colStride] * b.data[b.offset + p * b.rowStride + j * b.colStride];
        want[at + i * b.cols + j] += sum;
      }
    }
    return want;
  };
  for (let trial = 0; trial < 6; trial++) {
    const [m, k, n] = [rr.int(1, 40), rr.int(1, 40), rr.int(1, 40)];
    const a = someMatrix(m, k, rr.bool(0.3));
    const b = someMatrix(k, n, rr.bool(0.3));
    const at = rr.int(0, 5);
    const out = Float32Array.from(rr.numbers(at + m * n + rr.int(0, 5)));
    const before = Float32Array.from(out);
    matmulRegisterBlocked(a, b, out, at);
    assertClose(out, product64(a, b, before, at), { rtol: 1e-4, atol: 1e-4 }, "a random product, accumulated at an offset");
  }
  const [batch, bm, bk, bn] = [rr.int(1, 4), rr.int(1, 11), rr.int(1, 11), rr.int(1, 11)];
  const stacked = Float32Array.from(rr.numbers(batch * bm * bk));
  const shared = Float32Array.from(rr.numbers(bk * bn));
  const viaBatch = matmulWithKernel({ data: stacked, shape: [batch, bm, bk] }, { data: shared, shape: [bk, bn] }, matmulRegisterBlocked);
  assertShape(viaBatch.shape, [batch, bm, bn], "a random batch: shape");
  assertClose(
    viaBatch.data,
    Array.from({ length: batch }, (_, s) => product64(matrixView(stacked, bm, bk, s * bm * bk), matrixView(shared, bk, bn), new Array<number>(bm * bn).fill(0), 0)).flat(),
    { rtol: 1e-4, atol: 1e-4 },
    "a random batch against one shared matrix",
  );
  // ### END HIDDEN TESTS
  passed("testUnitRegisterBlocked");
}
testUnitRegisterBlocked();

// %% [markdown]
// How far has each step moved the loop? Timed at 512 (a demo; the figures depend on the machine
// and on what else runs on it). One more kernel is timed for comparison: the same driver with a
// micro-kernel that keeps its 16 sums in a `number[]` array, written with loops. It computes the
// same bits as yours (the sums are doubles either way); only where they live differs.

// %%
await demo("TypeScript kernels at 512", () => {
  const n = 512;
  const a = randomView(n, n, 1);
  const b = randomView(n, n, 2);
  const arraySums = (pa: Float32Array, aOffset: number, pb: Float32Array, bOffset: number, kc: number, c: Float32Array, cOffset: number, ldc: number): void => {
    const sums = new Array<number>(16).fill(0);
    for (let p = 0, ia = aOffset, ib = bOffset; p < kc; p++, ia += 4, ib += 4) {
      for (let r = 0; r < 4; r++) for (let q = 0; q < 4; q++) sums[r * 4 + q] += pa[ia + r] * pb[ib + q];
    }
    for (let r = 0; r < 4; r++) for (let q = 0; q < 4; q++) c[cOffset + r * ldc + q] += sums[r * 4 + q];
  };
  // The given driver's loops, for sizes that are multiples of 4 (no edge blocks).
  const withArraySums: MatmulKernel2d = (x, y, out, offset) => {
    const pa = new Float32Array(x.rows * x.cols);
    const pb = new Float32Array(y.cols * y.rows);
    packPanels(x, 4, pa, 0);
    packPanels(transposeView(y), 4, pb, 0);
    for (let j0 = 0; j0 < y.cols; j0 += 4) {
      for (let i0 = 0; i0 < x.rows; i0 += 4) arraySums(pa, i0 * x.cols, pb, j0 * x.cols, x.cols, out, offset + i0 * y.cols + j0, y.cols);
    }
  };
  const kernels: [string, MatmulKernel2d][] = [
    ["register-blocked 4x4", matmulRegisterBlocked],
    ["4x4, sums in an array", withArraySums],
    ["cache-blocked", matmulBlocked],
    ["i-k-j", matmulIkj],
  ];
  for (const [name, kernel] of kernels) {
    let best = Infinity;
    for (let r = 0; r < 3; r++) {
      const t0 = performance.now();
      kernel(a, b, new Float32Array(n * n), 0);
      best = Math.min(best, performance.now() - t0);
    }
    console.log(`${name.padEnd(22)} ${((2 * n ** 3) / (best * 1e6)).toFixed(2)} GFLOP/s`);
  }
  const ikj = matmulTraffic(n, n, n, 32 * 1024);
  const tiled = blockedTraffic(n, n, n, 64, 32 * 1024);
  console.log(`beyond a 32 KB L1: i-k-j moves ${(ikj.memoryBytes / 1e6).toFixed(0)} MB (${ikj.memoryIntensity.toFixed(2)} FLOP/B), tiles of 64 move ${(tiled.memoryBytes / 1e6).toFixed(1)} MB (${tiled.memoryIntensity.toFixed(1)} FLOP/B)`);
});

// %% [markdown]
// ## Part 4: WebAssembly SIMD
//
// V8 compiles JavaScript arithmetic to scalar instructions: one multiply, one add, one number at
// a time. The processor can do four float32 operations in one 128-bit instruction, and
// WebAssembly exposes exactly that: the `v128` type and instructions such as `f32x4.mul` and
// `f32x4.add` that work on four lanes at once. WebAssembly is also compiled ahead of time, with
// its types fixed: no checks of what a variable holds, and nothing to deoptimise. (Memory accesses
// are still checked; V8 normally does it with guard pages around the memory rather than with a
// comparison per access.)
//
// The kernel below is the micro-kernel of Part 3, widened: a block of **4 rows × 8 columns** of C
// lives in eight `v128` locals (two vectors per row). Each step loads 8 floats of the B panel as
// two vectors, and for each of the 4 rows loads one float of the A panel *splatted* into all four
// lanes (`v128.load32_splat`), then multiplies and adds: 64 FLOPs for 48 bytes of loads. The
// driver `gemm` walks the panels in the order BLAS libraries use: a band of 256 steps of depth at
// a time (so a B panel's band, 8 KB, stays in L1), 64 rows of A at a time (so their band, 64 KB,
// stays in L2), then every B panel against every A panel of the group.
//
// There is no fused multiply-add in 128-bit WebAssembly SIMD (it is in the *relaxed SIMD*
// proposal), so each lane does a multiply and an add: 2 instructions per 2 FLOPs per lane.
//
// The module is written in WebAssembly's text format and assembled in this kernel by `wabt`
// (the WebAssembly Binary Toolkit, compiled to JavaScript). C is kept **tile-major** in
// WebAssembly memory: each 4×8 block is 32 consecutive floats, so the micro-kernel reads and
// writes it with eight aligned vector instructions and no row stride.

// %% nbgrader={"grade": false, "grade_id": "simd-gemm-wat", "locked": true, "schema_version": 3, "solution": false, "task": false}
//| export
/** Rows of A per SIMD micro-kernel tile, columns of B per tile, and depth per band (see the WAT). */
const SIMD_TILE = { rows: 4, cols: 8, depthBand: 256 } as const;

/** The SIMD matmul kernel in WebAssembly text: micro-kernel, blocked driver, compute ceiling. */
const SIMD_GEMM_WAT = `
(module
  (memory (export "memory") 1)

  ;; C tile (4 rows x 8 columns, row-major, 128 bytes at $c) += A panel x B panel over $kc steps
  ;; (with $first set, C tile = the product: the tile's old contents are not read).
  ;; A panel: 4 floats per step (one per row); B panel: 8 floats per step (one per column).
  (func $micro (param $a i32) (param $b i32) (param $c i32) (param $kc i32) (param $first i32)
    (local $c00 v128) (local $c01 v128) (local $c10 v128) (local $c11 v128)
    (local $c20 v128) (local $c21 v128) (local $c30 v128) (local $c31 v128)
    (local $b0 v128) (local $b1 v128) (local $av v128) (local $end i32)
    ;; locals start at zero, which is the first band's starting point
    (if (i32.eqz (local.get $first)) (then
      (local.set $c00 (v128.load offset=0 (local.get $c)))
      (local.set $c01 (v128.load offset=16 (local.get $c)))
      (local.set $c10 (v128.load offset=32 (local.get $c)))
      (local.set $c11 (v128.load offset=48 (local.get $c)))
      (local.set $c20 (v128.load offset=64 (local.get $c)))
      (local.set $c21 (v128.load offset=80 (local.get $c)))
      (local.set $c30 (v128.load offset=96 (local.get $c)))
      (local.set $c31 (v128.load offset=112 (local.get $c)))))
    (local.set $end (i32.add (local.get $a) (i32.shl (local.get $kc) (i32.const 4))))
    (block $done
      (br_if $done (i32.ge_u (local.get $a) (local.get $end)))
      (loop $step
        ;; one row of the B panel: 8 floats in two vectors
        (local.set $b0 (v128.load offset=0 (local.get $b)))
        (local.set $b1 (v128.load offset=16 (local.get $b)))
        ;; each of the 4 A values, broadcast to 4 lanes, times both B vectors
        (local.set $av (v128.load32_splat offset=0 (local.get $a)))
        (local.set $c00 (f32x4.add (local.get $c00) (f32x4.mul (local.get $av) (local.get $b0))))
        (local.set $c01 (f32x4.add (local.get $c01) (f32x4.mul (local.get $av) (local.get $b1))))
        (local.set $av (v128.load32_splat offset=4 (local.get $a)))
        (local.set $c10 (f32x4.add (local.get $c10) (f32x4.mul (local.get $av) (local.get $b0))))
        (local.set $c11 (f32x4.add (local.get $c11) (f32x4.mul (local.get $av) (local.get $b1))))
        (local.set $av (v128.load32_splat offset=8 (local.get $a)))
        (local.set $c20 (f32x4.add (local.get $c20) (f32x4.mul (local.get $av) (local.get $b0))))
        (local.set $c21 (f32x4.add (local.get $c21) (f32x4.mul (local.get $av) (local.get $b1))))
        (local.set $av (v128.load32_splat offset=12 (local.get $a)))
        (local.set $c30 (f32x4.add (local.get $c30) (f32x4.mul (local.get $av) (local.get $b0))))
        (local.set $c31 (f32x4.add (local.get $c31) (f32x4.mul (local.get $av) (local.get $b1))))
        (local.set $a (i32.add (local.get $a) (i32.const 16)))
        (local.set $b (i32.add (local.get $b) (i32.const 32)))
        (br_if $step (i32.lt_u (local.get $a) (local.get $end)))))
    (v128.store offset=0 (local.get $c) (local.get $c00))
    (v128.store offset=16 (local.get $c) (local.get $c01))
    (v128.store offset=32 (local.get $c) (local.get $c10))
    (v128.store offset=48 (local.get $c) (local.get $c11))
    (v128.store offset=64 (local.get $c) (local.get $c20))
    (v128.store offset=80 (local.get $c) (local.get $c21))
    (v128.store offset=96 (local.get $c) (local.get $c30))
    (v128.store offset=112 (local.get $c) (local.get $c31)))

  ;; All of C (tile-major at $c) += packed A (at $a, $mPanels panels of 4 rows) x packed B (at $b,
  ;; $nPanels panels of 8 columns), depth $k. Loops, outermost first: $kc steps of depth at a
  ;; time; 16 A panels (64 rows) at a time; each B panel; each A panel of the group.
  (func (export "gemm") (param $a i32) (param $b i32) (param $c i32)
        (param $mPanels i32) (param $nPanels i32) (param $k i32) (param $kc i32)
    (local $pc i32) (local $kcur i32) (local $ic i32) (local $icEnd i32) (local $jr i32) (local $ir i32)
    (block $pcDone (loop $pcLoop
      (br_if $pcDone (i32.ge_u (local.get $pc) (local.get $k)))
      (local.set $kcur (i32.sub (local.get $k) (local.get $pc)))
      (if (i32.gt_u (local.get $kcur) (local.get $kc)) (then (local.set $kcur (local.get $kc))))
      (local.set $ic (i32.const 0))
      (block $icDone (loop $icLoop
        (br_if $icDone (i32.ge_u (local.get $ic) (local.get $mPanels)))
        (local.set $icEnd (i32.add (local.get $ic) (i32.const 16)))
        (if (i32.gt_u (local.get $icEnd) (local.get $mPanels)) (then (local.set $icEnd (local.get $mPanels))))
        (local.set $jr (i32.const 0))
        (block $jrDone (loop $jrLoop
          (br_if $jrDone (i32.ge_u (local.get $jr) (local.get $nPanels)))
          (local.set $ir (local.get $ic))
          (block $irDone (loop $irLoop
            (br_if $irDone (i32.ge_u (local.get $ir) (local.get $icEnd)))
            (call $micro
              (i32.add (local.get $a)
                (i32.shl (i32.add (i32.mul (local.get $ir) (local.get $k)) (local.get $pc)) (i32.const 4)))
              (i32.add (local.get $b)
                (i32.shl (i32.add (i32.mul (local.get $jr) (local.get $k)) (local.get $pc)) (i32.const 5)))
              (i32.add (local.get $c)
                (i32.shl (i32.add (i32.mul (local.get $ir) (local.get $nPanels)) (local.get $jr)) (i32.const 7)))
              (local.get $kcur)
              (i32.eqz (local.get $pc)))
            (local.set $ir (i32.add (local.get $ir) (i32.const 1)))
            (br $irLoop)))
          (local.set $jr (i32.add (local.get $jr) (i32.const 1)))
          (br $jrLoop)))
        (local.set $ic (local.get $icEnd))
        (br $icLoop)))
      (local.set $pc (i32.add (local.get $pc) (local.get $kc)))
      (br $pcLoop))))

  ;; Packing inside WebAssembly, for operands whose rows are already contiguous: the matrix is
  ;; first copied in row-major (one memcpy per row from TypeScript), then cut into panels here.
  ;; A panels: $mPanels panels of 4 rows; panel i, step p holds A[4i..4i+3, p] (16 bytes).
  ;; Reads whole panels, so the copy must have 4 * $mPanels rows (padding rows are discarded).
  (func (export "packA") (param $src i32) (param $dst i32) (param $k i32) (param $lda i32) (param $mPanels i32)
    (local $ir i32) (local $p i32) (local $row i32) (local $ldaBytes i32)
    (local.set $ldaBytes (i32.shl (local.get $lda) (i32.const 2)))
    (block $panelsDone (loop $panelLoop
      (br_if $panelsDone (i32.ge_u (local.get $ir) (local.get $mPanels)))
      (local.set $row (i32.add (local.get $src) (i32.mul (local.get $ir) (i32.shl (local.get $ldaBytes) (i32.const 2)))))
      (local.set $p (i32.const 0))
      (block $stepsDone (loop $stepLoop
        (br_if $stepsDone (i32.ge_u (local.get $p) (local.get $k)))
        (f32.store offset=0 (local.get $dst) (f32.load (local.get $row)))
        (f32.store offset=4 (local.get $dst) (f32.load (i32.add (local.get $row) (local.get $ldaBytes))))
        (f32.store offset=8 (local.get $dst)
          (f32.load (i32.add (local.get $row) (i32.shl (local.get $ldaBytes) (i32.const 1)))))
        (f32.store offset=12 (local.get $dst)
          (f32.load (i32.add (local.get $row) (i32.mul (local.get $ldaBytes) (i32.const 3)))))
        (local.set $dst (i32.add (local.get $dst) (i32.const 16)))
        (local.set $row (i32.add (local.get $row) (i32.const 4)))
        (local.set $p (i32.add (local.get $p) (i32.const 1)))
        (br $stepLoop)))
      (local.set $ir (i32.add (local.get $ir) (i32.const 1)))
      (br $panelLoop))))

  ;; B panels: $nPanels panels of 8 columns; panel j, step p holds B[p, 8j..8j+7] (32 bytes):
  ;; two vector copies per step. $ldb (floats per row of the copy) is 8 * $nPanels or more.
  (func (export "packB") (param $src i32) (param $dst i32) (param $k i32) (param $ldb i32) (param $nPanels i32)
    (local $jr i32) (local $p i32) (local $from i32) (local $ldbBytes i32)
    (local.set $ldbBytes (i32.shl (local.get $ldb) (i32.const 2)))
    (block $panelsDone (loop $panelLoop
      (br_if $panelsDone (i32.ge_u (local.get $jr) (local.get $nPanels)))
      (local.set $from (i32.add (local.get $src) (i32.shl (local.get $jr) (i32.const 5))))
      (local.set $p (i32.const 0))
      (block $stepsDone (loop $stepLoop
        (br_if $stepsDone (i32.ge_u (local.get $p) (local.get $k)))
        (v128.store offset=0 (local.get $dst) (v128.load offset=0 (local.get $from)))
        (v128.store offset=16 (local.get $dst) (v128.load offset=16 (local.get $from)))
        (local.set $dst (i32.add (local.get $dst) (i32.const 32)))
        (local.set $from (i32.add (local.get $from) (local.get $ldbBytes)))
        (local.set $p (i32.add (local.get $p) (i32.const 1)))
        (br $stepLoop)))
      (local.set $jr (i32.add (local.get $jr) (i32.const 1)))
      (br $panelLoop))))

  ;; The same panels cut from an operand that arrives transposed (a backward pass's Aᵀ or Bᵀ
  ;; view), copied in as the row-major matrix it is a view of. packAT: the copy holds Aᵀ, $k rows
  ;; of $lda >= 4 * $mPanels floats, so panel i, step p is Aᵀ[p, 4i..4i+3]: one vector per step.
  (func (export "packAT") (param $src i32) (param $dst i32) (param $k i32) (param $lda i32) (param $mPanels i32)
    (local $ir i32) (local $p i32) (local $from i32) (local $ldaBytes i32)
    (local.set $ldaBytes (i32.shl (local.get $lda) (i32.const 2)))
    (block $panelsDone (loop $panelLoop
      (br_if $panelsDone (i32.ge_u (local.get $ir) (local.get $mPanels)))
      (local.set $from (i32.add (local.get $src) (i32.shl (local.get $ir) (i32.const 4))))
      (local.set $p (i32.const 0))
      (block $stepsDone (loop $stepLoop
        (br_if $stepsDone (i32.ge_u (local.get $p) (local.get $k)))
        (v128.store (local.get $dst) (v128.load (local.get $from)))
        (local.set $dst (i32.add (local.get $dst) (i32.const 16)))
        (local.set $from (i32.add (local.get $from) (local.get $ldaBytes)))
        (local.set $p (i32.add (local.get $p) (i32.const 1)))
        (br $stepLoop)))
      (local.set $ir (i32.add (local.get $ir) (i32.const 1)))
      (br $panelLoop))))

  ;; packBT: the copy holds Bᵀ, 8 * $nPanels rows of $ldb >= $k floats, so panel j, step p
  ;; gathers Bᵀ[8j..8j+7, p]: one float from each of 8 rows, walking the 8 rows side by side.
  (func (export "packBT") (param $src i32) (param $dst i32) (param $k i32) (param $ldb i32) (param $nPanels i32)
    (local $jr i32) (local $p i32) (local $row i32) (local $at i32) (local $ldbBytes i32)
    (local.set $ldbBytes (i32.shl (local.get $ldb) (i32.const 2)))
    (block $panelsDone (loop $panelLoop
      (br_if $panelsDone (i32.ge_u (local.get $jr) (local.get $nPanels)))
      (local.set $row (i32.add (local.get $src) (i32.mul (local.get $jr) (i32.shl (local.get $ldbBytes) (i32.const 3)))))
      (local.set $p (i32.const 0))
      (block $stepsDone (loop $stepLoop
        (br_if $stepsDone (i32.ge_u (local.get $p) (local.get $k)))
        (local.set $at (local.get $row))
        (f32.store offset=0 (local.get $dst) (f32.load (local.get $at)))
        (local.set $at (i32.add (local.get $at) (local.get $ldbBytes)))
        (f32.store offset=4 (local.get $dst) (f32.load (local.get $at)))
        (local.set $at (i32.add (local.get $at) (local.get $ldbBytes)))
        (f32.store offset=8 (local.get $dst) (f32.load (local.get $at)))
        (local.set $at (i32.add (local.get $at) (local.get $ldbBytes)))
        (f32.store offset=12 (local.get $dst) (f32.load (local.get $at)))
        (local.set $at (i32.add (local.get $at) (local.get $ldbBytes)))
        (f32.store offset=16 (local.get $dst) (f32.load (local.get $at)))
        (local.set $at (i32.add (local.get $at) (local.get $ldbBytes)))
        (f32.store offset=20 (local.get $dst) (f32.load (local.get $at)))
        (local.set $at (i32.add (local.get $at) (local.get $ldbBytes)))
        (f32.store offset=24 (local.get $dst) (f32.load (local.get $at)))
        (local.set $at (i32.add (local.get $at) (local.get $ldbBytes)))
        (f32.store offset=28 (local.get $dst) (f32.load (local.get $at)))
        (local.set $dst (i32.add (local.get $dst) (i32.const 32)))
        (local.set $row (i32.add (local.get $row) (i32.const 4)))
        (local.set $p (i32.add (local.get $p) (i32.const 1)))
        (br $stepLoop)))
      (local.set $jr (i32.add (local.get $jr) (i32.const 1)))
      (br $panelLoop))))

  ;; out (row-major, $m x $n at $dst, $n floats per row) += the valid part of the 4x8 C tiles at
  ;; $tiles: the WebAssembly twin of your addTiles, two vector adds per tile row. With
  ;; $overwrite set, out's old contents count as zeros (a new matrix need not be copied in).
  (func (export "addTiles") (param $tiles i32) (param $dst i32) (param $m i32) (param $n i32) (param $overwrite i32)
    (local $i i32) (local $from i32) (local $full i32) (local $rowEnd i32) (local $end i32)
    (local $tileRowBytes i32) (local $keep v128) (local $keepOne i32)
    ;; all ones (keep out's values) or all zeros (ignore them), ANDed with what is read
    (local.set $keepOne (i32.eqz (local.get $overwrite)))
    (local.set $keep (i32x4.splat (i32.sub (i32.const 0) (local.get $keepOne))))
    ;; bytes of one row of tiles: (tiles per row) x 128
    (local.set $tileRowBytes (i32.shl (i32.shr_u (i32.add (local.get $n) (i32.const 7)) (i32.const 3)) (i32.const 7)))
    (block $rowsDone (loop $rowLoop
      (br_if $rowsDone (i32.ge_u (local.get $i) (local.get $m)))
      (local.set $from (i32.add (local.get $tiles)
        (i32.add (i32.mul (i32.shr_u (local.get $i) (i32.const 2)) (local.get $tileRowBytes))
                 (i32.shl (i32.and (local.get $i) (i32.const 3)) (i32.const 5)))))
      (local.set $rowEnd (i32.add (local.get $dst) (i32.shl (local.get $n) (i32.const 2))))
      (local.set $full (i32.add (local.get $dst) (i32.shl (i32.and (local.get $n) (i32.const -8)) (i32.const 2))))
      (block $fullDone (loop $fullLoop
        (br_if $fullDone (i32.ge_u (local.get $dst) (local.get $full)))
        (v128.store offset=0 (local.get $dst)
          (f32x4.add (v128.and (v128.load offset=0 (local.get $dst)) (local.get $keep)) (v128.load offset=0 (local.get $from))))
        (v128.store offset=16 (local.get $dst)
          (f32x4.add (v128.and (v128.load offset=16 (local.get $dst)) (local.get $keep)) (v128.load offset=16 (local.get $from))))
        (local.set $dst (i32.add (local.get $dst) (i32.const 32)))
        (local.set $from (i32.add (local.get $from) (i32.const 128)))
        (br $fullLoop)))
      (block $restDone (loop $restLoop
        (br_if $restDone (i32.ge_u (local.get $dst) (local.get $rowEnd)))
        (f32.store (local.get $dst)
          (f32.add (select (f32.load (local.get $dst)) (f32.const 0) (local.get $keepOne)) (f32.load (local.get $from))))
        (local.set $dst (i32.add (local.get $dst) (i32.const 4)))
        (local.set $from (i32.add (local.get $from) (i32.const 4)))
        (br $restLoop)))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br $rowLoop))))

  ;; Module 09's im2col (when $scatter is 0) and col2im (1) over $planes = N·C image planes:
  ;; the same walk, cols[row, i·Wo + j] = x[...] or x[...] += cols[...]. Rows are visited in
  ;; order (plane, p, q), so the cols address just advances; padding cells are skipped (the
  ;; caller zeroes cols when there is padding, and x for col2im). With stride 1, four cells
  ;; per vector instruction.
  (func $firstInside (param $pad i32) (param $offset i32) (param $stride i32) (result i32)
    ;; the first output index o whose input index o·s + offset − pad is >= 0
    (if (result i32) (i32.gt_s (local.get $pad) (local.get $offset))
      (then (i32.div_s (i32.add (i32.sub (local.get $pad) (local.get $offset)) (i32.sub (local.get $stride) (i32.const 1)))
                       (local.get $stride)))
      (else (i32.const 0))))
  (func $endInside (param $size i32) (param $pad i32) (param $offset i32) (param $stride i32) (param $outSize i32) (result i32)
    ;; one past the last output index whose input index is < size, at most outSize
    (local $num i32) (local $end i32)
    (local.set $num (i32.sub (i32.add (local.get $size) (local.get $pad)) (i32.add (local.get $offset) (i32.const 1))))
    (if (i32.lt_s (local.get $num) (i32.const 0)) (then (return (i32.const 0))))
    (local.set $end (i32.add (i32.div_s (local.get $num) (local.get $stride)) (i32.const 1)))
    (if (result i32) (i32.lt_s (local.get $end) (local.get $outSize)) (then (local.get $end)) (else (local.get $outSize))))
  (func (export "windows") (param $x i32) (param $cols i32) (param $planes i32) (param $height i32) (param $width i32)
        (param $kernel i32) (param $stride i32) (param $padding i32) (param $outHeight i32) (param $outWidth i32) (param $scatter i32)
    (local $pl i32) (local $p i32) (local $q i32) (local $i i32) (local $j i32) (local $plane i32) (local $row i32)
    (local $iFirst i32) (local $iEnd i32) (local $jFirst i32) (local $jEnd i32) (local $vecEnd i32)
    (local $from i32) (local $to i32) (local $rowBytes i32) (local $stepBytes i32)
    (local.set $row (local.get $cols))
    (local.set $plane (local.get $x))
    (local.set $rowBytes (i32.shl (i32.mul (local.get $outHeight) (local.get $outWidth)) (i32.const 2)))
    (local.set $stepBytes (i32.shl (local.get $stride) (i32.const 2)))
    (block $planesDone (loop $planeLoop
      (br_if $planesDone (i32.ge_u (local.get $pl) (local.get $planes)))
      (local.set $p (i32.const 0))
      (block $pDone (loop $pLoop
        (br_if $pDone (i32.ge_u (local.get $p) (local.get $kernel)))
        (local.set $iFirst (call $firstInside (local.get $padding) (local.get $p) (local.get $stride)))
        (local.set $iEnd (call $endInside (local.get $height) (local.get $padding) (local.get $p) (local.get $stride) (local.get $outHeight)))
        (local.set $q (i32.const 0))
        (block $qDone (loop $qLoop
          (br_if $qDone (i32.ge_u (local.get $q) (local.get $kernel)))
          (local.set $jFirst (call $firstInside (local.get $padding) (local.get $q) (local.get $stride)))
          (local.set $jEnd (call $endInside (local.get $width) (local.get $padding) (local.get $q) (local.get $stride) (local.get $outWidth)))
          ;; vectors only with stride 1, while four whole cells remain
          (local.set $vecEnd (if (result i32) (i32.eq (local.get $stride) (i32.const 1))
            (then (i32.sub (local.get $jEnd) (i32.const 3))) (else (local.get $jFirst))))
          (local.set $i (local.get $iFirst))
          (block $iDone (loop $iLoop
            (br_if $iDone (i32.ge_s (local.get $i) (local.get $iEnd)))
            ;; x at (row i·s + p − pad, column jFirst·s + q − pad); cols at (i, jFirst)
            (local.set $from (i32.add (local.get $plane) (i32.shl
              (i32.add
                (i32.mul (i32.sub (i32.add (i32.mul (local.get $i) (local.get $stride)) (local.get $p)) (local.get $padding)) (local.get $width))
                (i32.sub (i32.add (i32.mul (local.get $jFirst) (local.get $stride)) (local.get $q)) (local.get $padding)))
              (i32.const 2))))
            (local.set $to (i32.add (local.get $row)
              (i32.shl (i32.add (i32.mul (local.get $i) (local.get $outWidth)) (local.get $jFirst)) (i32.const 2))))
            (local.set $j (local.get $jFirst))
            (if (local.get $scatter)
              (then
                (block $scatterVecDone (loop $scatterVec
                  (br_if $scatterVecDone (i32.ge_s (local.get $j) (local.get $vecEnd)))
                  (v128.store (local.get $from) (f32x4.add (v128.load (local.get $from)) (v128.load (local.get $to))))
                  (local.set $from (i32.add (local.get $from) (i32.const 16)))
                  (local.set $to (i32.add (local.get $to) (i32.const 16)))
                  (local.set $j (i32.add (local.get $j) (i32.const 4)))
                  (br $scatterVec)))
                (block $scatterDone (loop $scatterLoop
                  (br_if $scatterDone (i32.ge_s (local.get $j) (local.get $jEnd)))
                  (f32.store (local.get $from) (f32.add (f32.load (local.get $from)) (f32.load (local.get $to))))
                  (local.set $from (i32.add (local.get $from) (local.get $stepBytes)))
                  (local.set $to (i32.add (local.get $to) (i32.const 4)))
                  (local.set $j (i32.add (local.get $j) (i32.const 1)))
                  (br $scatterLoop))))
              (else
                (block $gatherVecDone (loop $gatherVec
                  (br_if $gatherVecDone (i32.ge_s (local.get $j) (local.get $vecEnd)))
                  (v128.store (local.get $to) (v128.load (local.get $from)))
                  (local.set $from (i32.add (local.get $from) (i32.const 16)))
                  (local.set $to (i32.add (local.get $to) (i32.const 16)))
                  (local.set $j (i32.add (local.get $j) (i32.const 4)))
                  (br $gatherVec)))
                (block $gatherDone (loop $gatherLoop
                  (br_if $gatherDone (i32.ge_s (local.get $j) (local.get $jEnd)))
                  (f32.store (local.get $to) (f32.load (local.get $from)))
                  (local.set $from (i32.add (local.get $from) (local.get $stepBytes)))
                  (local.set $to (i32.add (local.get $to) (i32.const 4)))
                  (local.set $j (i32.add (local.get $j) (i32.const 1)))
                  (br $gatherLoop)))))
            (local.set $i (i32.add (local.get $i) (i32.const 1)))
            (br $iLoop)))
          (local.set $row (i32.add (local.get $row) (local.get $rowBytes)))
          (local.set $q (i32.add (local.get $q) (i32.const 1)))
          (br $qLoop)))
        (local.set $p (i32.add (local.get $p) (i32.const 1)))
        (br $pLoop)))
      (local.set $plane (i32.add (local.get $plane) (i32.shl (i32.mul (local.get $height) (local.get $width)) (i32.const 2))))
      (local.set $pl (i32.add (local.get $pl) (i32.const 1)))
      (br $planeLoop))))

  ;; Module 09's max pooling over $planes planes (no padding): out[o] = the largest of window o,
  ;; argmax[o] = the index into x of the first cell holding it (i32). The comparisons choose
  ;; with select, not a branch: on real activations "is this one larger?" is a coin toss the
  ;; branch predictor loses half the time, which cost the TypeScript loop more than the loads.
  ;; The best value is kept as its i32 bits: V8 turns an i32 select into a conditional move,
  ;; but an f32 select back into a branch (measured: 2.7 times slower on random data).
  (func (export "maxPool") (param $x i32) (param $out i32) (param $argmax i32) (param $planes i32)
        (param $height i32) (param $width i32) (param $kernel i32) (param $stride i32) (param $outHeight i32) (param $outWidth i32)
    (local $pl i32) (local $i i32) (local $j i32) (local $p i32) (local $q i32) (local $base i32)
    (local $corner i32) (local $cell i32) (local $best i32) (local $bestBits i32) (local $value f32) (local $larger i32)
    (block $planesDone (loop $planeLoop
      (br_if $planesDone (i32.ge_u (local.get $pl) (local.get $planes)))
      (local.set $base (i32.mul (local.get $pl) (i32.mul (local.get $height) (local.get $width))))
      (local.set $i (i32.const 0))
      (block $iDone (loop $iLoop
        (br_if $iDone (i32.ge_u (local.get $i) (local.get $outHeight)))
        (local.set $j (i32.const 0))
        (block $jDone (loop $jLoop
          (br_if $jDone (i32.ge_u (local.get $j) (local.get $outWidth)))
          ;; cells are element indices into x; addresses are x + 4 * cell
          (local.set $corner (i32.add (local.get $base)
            (i32.mul (local.get $stride) (i32.add (i32.mul (local.get $i) (local.get $width)) (local.get $j)))))
          (local.set $best (local.get $corner))
          (local.set $bestBits (i32.load (i32.add (local.get $x) (i32.shl (local.get $corner) (i32.const 2)))))
          (local.set $p (i32.const 0))
          (block $pDone (loop $pLoop
            (br_if $pDone (i32.ge_u (local.get $p) (local.get $kernel)))
            (local.set $q (i32.const 0))
            (block $qDone (loop $qLoop
              (br_if $qDone (i32.ge_u (local.get $q) (local.get $kernel)))
              (local.set $cell (i32.add (local.get $corner) (i32.add (i32.mul (local.get $p) (local.get $width)) (local.get $q))))
              (local.set $value (f32.load (i32.add (local.get $x) (i32.shl (local.get $cell) (i32.const 2)))))
              (local.set $larger (f32.gt (local.get $value) (f32.reinterpret_i32 (local.get $bestBits))))
              (local.set $best (select (local.get $cell) (local.get $best) (local.get $larger)))
              (local.set $bestBits (select (i32.reinterpret_f32 (local.get $value)) (local.get $bestBits) (local.get $larger)))
              (local.set $q (i32.add (local.get $q) (i32.const 1)))
              (br $qLoop)))
            (local.set $p (i32.add (local.get $p) (i32.const 1)))
            (br $pLoop)))
          (i32.store (local.get $out) (local.get $bestBits))
          (i32.store (local.get $argmax) (local.get $best))
          (local.set $out (i32.add (local.get $out) (i32.const 4)))
          (local.set $argmax (i32.add (local.get $argmax) (i32.const 4)))
          (local.set $j (i32.add (local.get $j) (i32.const 1)))
          (br $jLoop)))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $iLoop)))
      (local.set $pl (i32.add (local.get $pl) (i32.const 1)))
      (br $planeLoop))))

  ;; e^x of four floats, after Cephes's expf: e^x = 2^n e^r with n = round(x log2 e), |r| <= ln2/2,
  ;; e^r by a degree-6 polynomial (about 1 ulp). 2^n is built in the exponent bits as 2^h 2^(n-h),
  ;; h = n/2, so each factor stays a normal float down to the subnormal results. Exactly 0 below
  ;; -104, +inf above 88.72 (the largest float's logarithm), NaN stays NaN.
  (func $exp (param $x v128) (result v128)
    (local $c v128) (local $nf v128) (local $r v128) (local $y v128) (local $n v128) (local $h v128)
    (local.set $c (f32x4.min (f32x4.max (local.get $x) (f32x4.splat (f32.const -104))) (f32x4.splat (f32.const 88.72283))))
    (local.set $nf (f32x4.nearest (f32x4.mul (local.get $c) (f32x4.splat (f32.const 1.44269504088896341)))))
    ;; r = c - n ln2, with ln2 in two parts (0.693359375 is exact in 10 bits) to keep r accurate
    (local.set $r (f32x4.sub (f32x4.sub (local.get $c) (f32x4.mul (local.get $nf) (f32x4.splat (f32.const 0.693359375))))
                             (f32x4.mul (local.get $nf) (f32x4.splat (f32.const -2.12194440e-4)))))
    (local.set $y (f32x4.splat (f32.const 1.9875691500e-4)))
    (local.set $y (f32x4.add (f32x4.mul (local.get $y) (local.get $r)) (f32x4.splat (f32.const 1.3981999507e-3))))
    (local.set $y (f32x4.add (f32x4.mul (local.get $y) (local.get $r)) (f32x4.splat (f32.const 8.3334519073e-3))))
    (local.set $y (f32x4.add (f32x4.mul (local.get $y) (local.get $r)) (f32x4.splat (f32.const 4.1665795894e-2))))
    (local.set $y (f32x4.add (f32x4.mul (local.get $y) (local.get $r)) (f32x4.splat (f32.const 1.6666665459e-1))))
    (local.set $y (f32x4.add (f32x4.mul (local.get $y) (local.get $r)) (f32x4.splat (f32.const 5.0000001201e-1))))
    ;; e^r = y r^2 + r + 1
    (local.set $y (f32x4.add (f32x4.add (f32x4.mul (local.get $y) (f32x4.mul (local.get $r) (local.get $r))) (local.get $r))
                             (f32x4.splat (f32.const 1))))
    (local.set $n (i32x4.trunc_sat_f32x4_s (local.get $nf)))
    (local.set $h (i32x4.shr_s (local.get $n) (i32.const 1)))
    (local.set $y (f32x4.mul (local.get $y) (i32x4.shl (i32x4.add (local.get $h) (i32x4.splat (i32.const 127))) (i32.const 23))))
    (local.set $y (f32x4.mul (local.get $y)
      (i32x4.shl (i32x4.add (i32x4.sub (local.get $n) (local.get $h)) (i32x4.splat (i32.const 127))) (i32.const 23))))
    (local.set $y (v128.andnot (local.get $y) (f32x4.lt (local.get $x) (f32x4.splat (f32.const -104)))))
    (v128.bitselect (f32x4.splat (f32.const inf)) (local.get $y) (f32x4.gt (local.get $x) (f32x4.splat (f32.const 88.72283)))))

  ;; dst[i] = e^src[i] for $n floats, rounded up to a multiple of 4 (the caller leaves room).
  (func (export "expArray") (param $src i32) (param $dst i32) (param $n i32)
    (local $end i32)
    (local.set $end (i32.add (local.get $src) (i32.shl (local.get $n) (i32.const 2))))
    (block $done (loop $step
      (br_if $done (i32.ge_u (local.get $src) (local.get $end)))
      (v128.store (local.get $dst) (call $exp (v128.load (local.get $src))))
      (local.set $src (i32.add (local.get $src) (i32.const 16)))
      (local.set $dst (i32.add (local.get $dst) (i32.const 16)))
      (br $step))))

  ;; Module 13's fusedGelu, four at a time: out = x Phi(x) and slope = Phi(x) + x phi(x), with
  ;; erf by the same Abramowitz-Stegun 7.1.26 formula (its exp(-x^2/2) is also phi's), $n floats
  ;; rounded up to a multiple of 4. The sign of erf is copied from x's sign bit: no branch.
  (func (export "gelu") (param $x i32) (param $out i32) (param $slope i32) (param $n i32)
    (local $end i32) (local $v v128) (local $gauss v128) (local $t v128) (local $p v128) (local $cdf v128)
    (local.set $end (i32.add (local.get $x) (i32.shl (local.get $n) (i32.const 2))))
    (block $done (loop $step
      (br_if $done (i32.ge_u (local.get $x) (local.get $end)))
      (local.set $v (v128.load (local.get $x)))
      (local.set $gauss (call $exp (f32x4.mul (f32x4.splat (f32.const -0.5)) (f32x4.mul (local.get $v) (local.get $v)))))
      (local.set $t (f32x4.div (f32x4.splat (f32.const 1))
        (f32x4.add (f32x4.splat (f32.const 1)) (f32x4.mul (f32x4.abs (local.get $v)) (f32x4.splat (f32.const 0.231641900)))))) ;; 0.3275911 / sqrt 2
      (local.set $p (f32x4.splat (f32.const 1.061405429)))
      (local.set $p (f32x4.add (f32x4.mul (local.get $p) (local.get $t)) (f32x4.splat (f32.const -1.453152027))))
      (local.set $p (f32x4.add (f32x4.mul (local.get $p) (local.get $t)) (f32x4.splat (f32.const 1.421413741))))
      (local.set $p (f32x4.add (f32x4.mul (local.get $p) (local.get $t)) (f32x4.splat (f32.const -0.284496736))))
      (local.set $p (f32x4.add (f32x4.mul (local.get $p) (local.get $t)) (f32x4.splat (f32.const 0.254829592))))
      ;; erf(|x|/sqrt 2) = 1 - t p(t) e^(-x^2/2), then x's sign, then Phi = (1 + erf) / 2
      (local.set $cdf (v128.bitselect (local.get $v)
        (f32x4.sub (f32x4.splat (f32.const 1)) (f32x4.mul (f32x4.mul (local.get $t) (local.get $p)) (local.get $gauss)))
        (v128.const i32x4 0x80000000 0x80000000 0x80000000 0x80000000)))
      (local.set $cdf (f32x4.mul (f32x4.add (f32x4.splat (f32.const 1)) (local.get $cdf)) (f32x4.splat (f32.const 0.5))))
      (v128.store (local.get $out) (f32x4.mul (local.get $v) (local.get $cdf)))
      (v128.store (local.get $slope) (f32x4.add (local.get $cdf)
        (f32x4.mul (f32x4.mul (local.get $v) (local.get $gauss)) (f32x4.splat (f32.const 0.3989422804014327)))))
      (local.set $x (i32.add (local.get $x) (i32.const 16)))
      (local.set $out (i32.add (local.get $out) (i32.const 16)))
      (local.set $slope (i32.add (local.get $slope) (i32.const 16)))
      (br $step))))

  (func $sum4 (param $v v128) (result f32)
    (f32.add (f32.add (f32x4.extract_lane 0 (local.get $v)) (f32x4.extract_lane 1 (local.get $v)))
             (f32.add (f32x4.extract_lane 2 (local.get $v)) (f32x4.extract_lane 3 (local.get $v)))))

  ;; Module 13's layerNorm over $rows rows of $c floats ($c a multiple of 4): out = x^ w + b with
  ;; x^ = (x - mean) rstd, rstd = 1 / sqrt(var + eps), the biased variance in a second pass.
  ;; x^ and rstd are saved for the backward pass, as module 13's are.
  (func (export "layerNorm") (param $x i32) (param $w i32) (param $b i32) (param $out i32) (param $xhat i32)
        (param $rstd i32) (param $rows i32) (param $c i32) (param $eps f32)
    (local $r i32) (local $j i32) (local $rowBytes i32) (local $acc v128) (local $d v128) (local $h v128)
    (local $mean v128) (local $rs v128) (local $meanS f32) (local $rsS f32)
    (local.set $rowBytes (i32.shl (local.get $c) (i32.const 2)))
    (block $rowsDone (loop $rowLoop
      (br_if $rowsDone (i32.ge_u (local.get $r) (local.get $rows)))
      (local.set $acc (v128.const i32x4 0 0 0 0))
      (local.set $j (i32.const 0))
      (block $d1 (loop $l1
        (br_if $d1 (i32.ge_u (local.get $j) (local.get $rowBytes)))
        (local.set $acc (f32x4.add (local.get $acc) (v128.load (i32.add (local.get $x) (local.get $j)))))
        (local.set $j (i32.add (local.get $j) (i32.const 16)))
        (br $l1)))
      (local.set $meanS (f32.div (call $sum4 (local.get $acc)) (f32.convert_i32_u (local.get $c))))
      (local.set $mean (f32x4.splat (local.get $meanS)))
      (local.set $acc (v128.const i32x4 0 0 0 0))
      (local.set $j (i32.const 0))
      (block $d2 (loop $l2
        (br_if $d2 (i32.ge_u (local.get $j) (local.get $rowBytes)))
        (local.set $d (f32x4.sub (v128.load (i32.add (local.get $x) (local.get $j))) (local.get $mean)))
        (local.set $acc (f32x4.add (local.get $acc) (f32x4.mul (local.get $d) (local.get $d))))
        (local.set $j (i32.add (local.get $j) (i32.const 16)))
        (br $l2)))
      (local.set $rsS (f32.div (f32.const 1) (f32.sqrt (f32.add
        (f32.div (call $sum4 (local.get $acc)) (f32.convert_i32_u (local.get $c))) (local.get $eps)))))
      (f32.store (i32.add (local.get $rstd) (i32.shl (local.get $r) (i32.const 2))) (local.get $rsS))
      (local.set $rs (f32x4.splat (local.get $rsS)))
      (local.set $j (i32.const 0))
      (block $d3 (loop $l3
        (br_if $d3 (i32.ge_u (local.get $j) (local.get $rowBytes)))
        (local.set $h (f32x4.mul (f32x4.sub (v128.load (i32.add (local.get $x) (local.get $j))) (local.get $mean)) (local.get $rs)))
        (v128.store (i32.add (local.get $xhat) (local.get $j)) (local.get $h))
        (v128.store (i32.add (local.get $out) (local.get $j))
          (f32x4.add (f32x4.mul (local.get $h) (v128.load (i32.add (local.get $w) (local.get $j)))) (v128.load (i32.add (local.get $b) (local.get $j)))))
        (local.set $j (i32.add (local.get $j) (i32.const 16)))
        (br $l3)))
      (local.set $x (i32.add (local.get $x) (local.get $rowBytes)))
      (local.set $xhat (i32.add (local.get $xhat) (local.get $rowBytes)))
      (local.set $out (i32.add (local.get $out) (local.get $rowBytes)))
      (local.set $r (i32.add (local.get $r) (i32.const 1)))
      (br $rowLoop))))

  ;; Module 13's layerNormBackward, rows of $c floats ($c a multiple of 4): per row, with gw = g w,
  ;; dx = rstd (gw - mean(gw) - x^ mean(gw x^)); over all rows, dw += g x^ and db += g (the
  ;; caller zeroes dw and db).
  (func (export "layerNormBackward") (param $g i32) (param $w i32) (param $xhat i32) (param $rstd i32)
        (param $dx i32) (param $dw i32) (param $db i32) (param $rows i32) (param $c i32)
    (local $r i32) (local $j i32) (local $rowBytes i32) (local $sg v128) (local $sgx v128)
    (local $gv v128) (local $hv v128) (local $gw v128) (local $meanG v128) (local $meanGX v128) (local $rs v128)
    (local $inv f32)
    (local.set $rowBytes (i32.shl (local.get $c) (i32.const 2)))
    (local.set $inv (f32.div (f32.const 1) (f32.convert_i32_u (local.get $c))))
    (block $rowsDone (loop $rowLoop
      (br_if $rowsDone (i32.ge_u (local.get $r) (local.get $rows)))
      (local.set $sg (v128.const i32x4 0 0 0 0))
      (local.set $sgx (v128.const i32x4 0 0 0 0))
      (local.set $j (i32.const 0))
      (block $d1 (loop $l1
        (br_if $d1 (i32.ge_u (local.get $j) (local.get $rowBytes)))
        (local.set $gv (v128.load (i32.add (local.get $g) (local.get $j))))
        (local.set $hv (v128.load (i32.add (local.get $xhat) (local.get $j))))
        (local.set $gw (f32x4.mul (local.get $gv) (v128.load (i32.add (local.get $w) (local.get $j)))))
        (local.set $sg (f32x4.add (local.get $sg) (local.get $gw)))
        (local.set $sgx (f32x4.add (local.get $sgx) (f32x4.mul (local.get $gw) (local.get $hv))))
        (v128.store (i32.add (local.get $dw) (local.get $j))
          (f32x4.add (v128.load (i32.add (local.get $dw) (local.get $j))) (f32x4.mul (local.get $gv) (local.get $hv))))
        (v128.store (i32.add (local.get $db) (local.get $j))
          (f32x4.add (v128.load (i32.add (local.get $db) (local.get $j))) (local.get $gv)))
        (local.set $j (i32.add (local.get $j) (i32.const 16)))
        (br $l1)))
      (local.set $meanG (f32x4.splat (f32.mul (call $sum4 (local.get $sg)) (local.get $inv))))
      (local.set $meanGX (f32x4.splat (f32.mul (call $sum4 (local.get $sgx)) (local.get $inv))))
      (local.set $rs (v128.load32_splat (i32.add (local.get $rstd) (i32.shl (local.get $r) (i32.const 2)))))
      (local.set $j (i32.const 0))
      (block $d2 (loop $l2
        (br_if $d2 (i32.ge_u (local.get $j) (local.get $rowBytes)))
        (v128.store (i32.add (local.get $dx) (local.get $j))
          (f32x4.mul (local.get $rs)
            (f32x4.sub
              (f32x4.sub (f32x4.mul (v128.load (i32.add (local.get $g) (local.get $j))) (v128.load (i32.add (local.get $w) (local.get $j))))
                         (local.get $meanG))
              (f32x4.mul (v128.load (i32.add (local.get $xhat) (local.get $j))) (local.get $meanGX)))))
        (local.set $j (i32.add (local.get $j) (i32.const 16)))
        (br $l2)))
      (local.set $g (i32.add (local.get $g) (local.get $rowBytes)))
      (local.set $xhat (i32.add (local.get $xhat) (local.get $rowBytes)))
      (local.set $dx (i32.add (local.get $dx) (local.get $rowBytes)))
      (local.set $r (i32.add (local.get $r) (i32.const 1)))
      (br $rowLoop))))

  ;; out (row-major, $rows x $n) += bias in every row: linear's bias (module 12).
  (func (export "addRows") (param $out i32) (param $bias i32) (param $rows i32) (param $n i32)
    (local $r i32) (local $j i32) (local $vecBytes i32) (local $rowBytes i32)
    (local.set $rowBytes (i32.shl (local.get $n) (i32.const 2)))
    (local.set $vecBytes (i32.shl (i32.and (local.get $n) (i32.const -4)) (i32.const 2)))
    (block $rowsDone (loop $rowLoop
      (br_if $rowsDone (i32.ge_u (local.get $r) (local.get $rows)))
      (local.set $j (i32.const 0))
      (block $vecDone (loop $vecLoop
        (br_if $vecDone (i32.ge_u (local.get $j) (local.get $vecBytes)))
        (v128.store (i32.add (local.get $out) (local.get $j))
          (f32x4.add (v128.load (i32.add (local.get $out) (local.get $j))) (v128.load (i32.add (local.get $bias) (local.get $j)))))
        (local.set $j (i32.add (local.get $j) (i32.const 16)))
        (br $vecLoop)))
      (block $restDone (loop $restLoop
        (br_if $restDone (i32.ge_u (local.get $j) (local.get $rowBytes)))
        (f32.store (i32.add (local.get $out) (local.get $j))
          (f32.add (f32.load (i32.add (local.get $out) (local.get $j))) (f32.load (i32.add (local.get $bias) (local.get $j)))))
        (local.set $j (i32.add (local.get $j) (i32.const 4)))
        (br $restLoop)))
      (local.set $out (i32.add (local.get $out) (local.get $rowBytes)))
      (local.set $r (i32.add (local.get $r) (i32.const 1)))
      (br $rowLoop))))

  ;; sums[j] (float64, the caller zeroes them) += g[r, j] over the $rows rows of $n floats:
  ;; linear's bias gradient, two columns per f64x2 instruction.
  (func (export "sumRows") (param $g i32) (param $sums i32) (param $rows i32) (param $n i32)
    (local $r i32) (local $j i32) (local $pairs i32) (local $at i32)
    (local.set $pairs (i32.and (local.get $n) (i32.const -2)))
    (block $rowsDone (loop $rowLoop
      (br_if $rowsDone (i32.ge_u (local.get $r) (local.get $rows)))
      (local.set $j (i32.const 0))
      (block $pairsDone (loop $pairLoop
        (br_if $pairsDone (i32.ge_u (local.get $j) (local.get $pairs)))
        (local.set $at (i32.add (local.get $sums) (i32.shl (local.get $j) (i32.const 3))))
        (v128.store (local.get $at) (f64x2.add (v128.load (local.get $at))
          (f64x2.promote_low_f32x4 (v128.load64_zero (i32.add (local.get $g) (i32.shl (local.get $j) (i32.const 2)))))))
        (local.set $j (i32.add (local.get $j) (i32.const 2)))
        (br $pairLoop)))
      (if (i32.lt_u (local.get $j) (local.get $n)) (then
        (local.set $at (i32.add (local.get $sums) (i32.shl (local.get $j) (i32.const 3))))
        (f64.store (local.get $at) (f64.add (f64.load (local.get $at))
          (f64.promote_f32 (f32.load (i32.add (local.get $g) (i32.shl (local.get $j) (i32.const 2)))))))))
      (local.set $g (i32.add (local.get $g) (i32.shl (local.get $n) (i32.const 2))))
      (local.set $r (i32.add (local.get $r) (i32.const 1)))
      (br $rowLoop))))

  ;; out[i] = a[i] b[i] for $n floats rounded up to a multiple of 4: GELU's rule (g times the slope).
  (func (export "mulArrays") (param $a i32) (param $b i32) (param $out i32) (param $n i32)
    (local $end i32)
    (local.set $end (i32.add (local.get $a) (i32.shl (local.get $n) (i32.const 2))))
    (block $done (loop $step
      (br_if $done (i32.ge_u (local.get $a) (local.get $end)))
      (v128.store (local.get $out) (f32x4.mul (v128.load (local.get $a)) (v128.load (local.get $b))))
      (local.set $a (i32.add (local.get $a) (i32.const 16)))
      (local.set $b (i32.add (local.get $b) (i32.const 16)))
      (local.set $out (i32.add (local.get $out) (i32.const 16)))
      (br $step))))

  ;; Module 12's masked-softmax rule over rows of $c floats ($c a multiple of 4):
  ;; dx = y (g - sum(g y)), row by row.
  (func (export "softmaxBackward") (param $y i32) (param $g i32) (param $dx i32) (param $rows i32) (param $c i32)
    (local $r i32) (local $j i32) (local $rowBytes i32) (local $acc v128) (local $dot v128)
    (local.set $rowBytes (i32.shl (local.get $c) (i32.const 2)))
    (block $rowsDone (loop $rowLoop
      (br_if $rowsDone (i32.ge_u (local.get $r) (local.get $rows)))
      (local.set $acc (v128.const i32x4 0 0 0 0))
      (local.set $j (i32.const 0))
      (block $d1 (loop $l1
        (br_if $d1 (i32.ge_u (local.get $j) (local.get $rowBytes)))
        (local.set $acc (f32x4.add (local.get $acc)
          (f32x4.mul (v128.load (i32.add (local.get $g) (local.get $j))) (v128.load (i32.add (local.get $y) (local.get $j))))))
        (local.set $j (i32.add (local.get $j) (i32.const 16)))
        (br $l1)))
      (local.set $dot (f32x4.splat (call $sum4 (local.get $acc))))
      (local.set $j (i32.const 0))
      (block $d2 (loop $l2
        (br_if $d2 (i32.ge_u (local.get $j) (local.get $rowBytes)))
        (v128.store (i32.add (local.get $dx) (local.get $j))
          (f32x4.mul (v128.load (i32.add (local.get $y) (local.get $j)))
                     (f32x4.sub (v128.load (i32.add (local.get $g) (local.get $j))) (local.get $dot))))
        (local.set $j (i32.add (local.get $j) (i32.const 16)))
        (br $l2)))
      (local.set $y (i32.add (local.get $y) (local.get $rowBytes)))
      (local.set $g (i32.add (local.get $g) (local.get $rowBytes)))
      (local.set $dx (i32.add (local.get $dx) (local.get $rowBytes)))
      (local.set $r (i32.add (local.get $r) (i32.const 1)))
      (br $rowLoop))))

  ;; out = a (op) b for module 01's add (op 0), sub (1), mul (2) and div (3), $n floats of a
  ;; (rounded up to a multiple of 4), b repeating every $period floats: 1 (a scalar, broadcast to
  ;; every lane), or a multiple of 4 (b's shape a suffix of a's), or $n (the same shape).
  (func $arith (param $op i32) (param $x v128) (param $y v128) (result v128)
    (if (result v128) (i32.eqz (local.get $op)) (then (f32x4.add (local.get $x) (local.get $y)))
      (else (if (result v128) (i32.eq (local.get $op) (i32.const 1)) (then (f32x4.sub (local.get $x) (local.get $y)))
        (else (if (result v128) (i32.eq (local.get $op) (i32.const 2)) (then (f32x4.mul (local.get $x) (local.get $y)))
          (else (f32x4.div (local.get $x) (local.get $y)))))))))
  (func (export "binaryOp") (param $a i32) (param $b i32) (param $out i32) (param $n i32) (param $period i32) (param $op i32)
    (local $end i32) (local $bv v128) (local $j i32) (local $rowBytes i32)
    (local.set $end (i32.add (local.get $a) (i32.shl (local.get $n) (i32.const 2))))
    (if (i32.eq (local.get $period) (i32.const 1)) (then
      (local.set $bv (v128.load32_splat (local.get $b)))
      (block $done (loop $step
        (br_if $done (i32.ge_u (local.get $a) (local.get $end)))
        (v128.store (local.get $out) (call $arith (local.get $op) (v128.load (local.get $a)) (local.get $bv)))
        (local.set $a (i32.add (local.get $a) (i32.const 16)))
        (local.set $out (i32.add (local.get $out) (i32.const 16)))
        (br $step)))
      (return)))
    (local.set $rowBytes (i32.shl (local.get $period) (i32.const 2)))
    (block $done (loop $row
      (br_if $done (i32.ge_u (local.get $a) (local.get $end)))
      (local.set $j (i32.const 0))
      (block $rowDone (loop $step
        (br_if $rowDone (i32.ge_u (local.get $j) (local.get $rowBytes)))
        (v128.store (i32.add (local.get $out) (local.get $j))
          (call $arith (local.get $op) (v128.load (i32.add (local.get $a) (local.get $j))) (v128.load (i32.add (local.get $b) (local.get $j)))))
        (local.set $j (i32.add (local.get $j) (i32.const 16)))
        (br $step)))
      (local.set $a (i32.add (local.get $a) (local.get $rowBytes)))
      (local.set $out (i32.add (local.get $out) (local.get $rowBytes)))
      (br $row))))

  ;; The SIMD bandwidth ceiling: the triad a[i] = b[i] + s*c[i] over $n floats (a multiple of 4),
  ;; four lanes per instruction, repeated $passes times (small arrays: the L1 cache's bandwidth).
  (func (export "triad") (param $a i32) (param $b i32) (param $c i32) (param $n i32) (param $s f32) (param $passes i32)
    (local $sv v128) (local $i i32) (local $end i32) (local $pass i32)
    (local.set $sv (f32x4.splat (local.get $s)))
    (local.set $end (i32.shl (local.get $n) (i32.const 2)))
    (block $passesDone (loop $passLoop
      (br_if $passesDone (i32.ge_s (local.get $pass) (local.get $passes)))
      (local.set $i (i32.const 0))
      (block $done (loop $step
        (br_if $done (i32.ge_u (local.get $i) (local.get $end)))
        (v128.store (i32.add (local.get $a) (local.get $i))
          (f32x4.add (v128.load (i32.add (local.get $b) (local.get $i)))
                     (f32x4.mul (local.get $sv) (v128.load (i32.add (local.get $c) (local.get $i))))))
        (local.set $i (i32.add (local.get $i) (i32.const 16)))
        (br $step)))
      (local.set $pass (i32.add (local.get $pass) (i32.const 1)))
      (br $passLoop))))

  ;; The SIMD compute ceiling: 8 independent f32x4 multiply-add chains in registers,
  ;; 64 FLOPs per step (module 14's registerFmaKernel, four lanes wide).
  (func (export "peak") (param $steps i32) (result f32)
    (local $a0 v128) (local $a1 v128) (local $a2 v128) (local $a3 v128)
    (local $a4 v128) (local $a5 v128) (local $a6 v128) (local $a7 v128)
    (local $m v128) (local $c v128) (local $i i32)
    (local.set $m (f32x4.splat (f32.const 0.999999)))
    (local.set $c (f32x4.splat (f32.const 1e-7)))
    (local.set $a0 (f32x4.splat (f32.const 1.0)))
    (local.set $a1 (f32x4.splat (f32.const 1.1)))
    (local.set $a2 (f32x4.splat (f32.const 1.2)))
    (local.set $a3 (f32x4.splat (f32.const 1.3)))
    (local.set $a4 (f32x4.splat (f32.const 1.4)))
    (local.set $a5 (f32x4.splat (f32.const 1.5)))
    (local.set $a6 (f32x4.splat (f32.const 1.6)))
    (local.set $a7 (f32x4.splat (f32.const 1.7)))
    (block $done
      (br_if $done (i32.le_s (local.get $steps) (i32.const 0)))
      (loop $step
        (local.set $a0 (f32x4.add (f32x4.mul (local.get $a0) (local.get $m)) (local.get $c)))
        (local.set $a1 (f32x4.add (f32x4.mul (local.get $a1) (local.get $m)) (local.get $c)))
        (local.set $a2 (f32x4.add (f32x4.mul (local.get $a2) (local.get $m)) (local.get $c)))
        (local.set $a3 (f32x4.add (f32x4.mul (local.get $a3) (local.get $m)) (local.get $c)))
        (local.set $a4 (f32x4.add (f32x4.mul (local.get $a4) (local.get $m)) (local.get $c)))
        (local.set $a5 (f32x4.add (f32x4.mul (local.get $a5) (local.get $m)) (local.get $c)))
        (local.set $a6 (f32x4.add (f32x4.mul (local.get $a6) (local.get $m)) (local.get $c)))
        (local.set $a7 (f32x4.add (f32x4.mul (local.get $a7) (local.get $m)) (local.get $c)))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br_if $step (i32.lt_s (local.get $i) (local.get $steps)))))
    (f32x4.extract_lane 0
      (f32x4.add
        (f32x4.add (f32x4.add (local.get $a0) (local.get $a1)) (f32x4.add (local.get $a2) (local.get $a3)))
        (f32x4.add (f32x4.add (local.get $a4) (local.get $a5)) (f32x4.add (local.get $a6) (local.get $a7))))))
)
`;

// %% [markdown]
// Your part of the WebAssembly kernel is in TypeScript: packing the operands into WebAssembly
// memory (your `packPanels`, with widths 4 and 8), and taking the result out. (Both first, as
// the specification; after this exercise you will see why the package then moves the common
// cases of both into WebAssembly.) The result sits in tile-major order, padded to whole tiles:
//
// ```
// C is 5×10, tiles 4×8 -> 2×2 tiles of 32 floats:   tile (0,0) | tile (0,1) | tile (1,0) | tile (1,1)
// element [i, j] is in tile (i div 4, j div 8), at row i mod 4, column j mod 8 of that tile
// ```
//
// ### Exercise 6: `addTiles`
//
// **TODO**: Add the valid part of tile-major `tiles` into the row-major `m × n` matrix `out` at
// `outOffset`, skipping the padding.
//
// The contract: `tiles` holds `⌈m / tileRows⌉ × ⌈n / tileCols⌉` tiles of `tileRows × tileCols`
// floats, one row of tiles after another, each tile row-major, padded with whatever the kernel
// left there; element `[i, j]` of the result is in tile `(⌊i / tileRows⌋, ⌊j / tileCols⌋)`,
// at row `i mod tileRows` and column `j mod tileCols` of that tile; it is **added** to
// `out[outOffset + i·n + j]`, and nothing else of `out` changes. When `tiles` is too short for
// that layout, throw an `Error` whose message starts with `addTiles:` and says how many floats
// were needed.
//
// **APPROACH**:
// 1. Derive the index in `tiles` of element `[i, j]`, and check it on the picture: where is
//    `[4, 9]` of the 5×10 example?
// 2. How many floats must `tiles` hold for `m`, `n` and the tile shape? That is the check.
// 3. Plan the loops so that both `out` and `tiles` are read in runs of consecutive floats:
//    how long is the run you can copy from one tile into one row of `out`?
//
// **HINTS**: The last tile of a row may be only partly valid: which `j` are real there?

// %% nbgrader={"grade": false, "grade_id": "add-tiles", "locked": false, "schema_version": 3, "solution": true, "task": false}
//| export
/** out[m×n, row-major at outOffset] += the valid part of tile-major, zero-padded `tiles`. */
function addTiles(
  tiles: Float32Array,
  tileRows: number,
  tileCols: number,
  m: number,
  n: number,
  out: Float32Array,
  outOffset: number,
): void {
  // ### BEGIN SOLUTION
  const tilesPerRow = Math.ceil(n / tileCols);
  const tileSize = tileRows * tileCols;
  const needed = Math.ceil(m / tileRows) * tilesPerRow * tileSize;
  if (tiles.length < needed) throw new Error(`addTiles: ${m}×${n} in ${tileRows}×${tileCols} tiles needs ${needed} floats, got ${tiles.length}`);
  for (let i = 0; i < m; i++) {
    const rowTiles = Math.floor(i / tileRows) * tilesPerRow * tileSize + (i % tileRows) * tileCols;
    const outRow = outOffset + i * n;
    for (let tj = 0; tj < tilesPerRow; tj++) {
      const from = rowTiles + tj * tileSize;
      const j0 = tj * tileCols;
      const width = Math.min(tileCols, n - j0);
      for (let c = 0; c < width; c++) out[outRow + j0 + c] += tiles[from + c];
    }
  }
  // ### END SOLUTION
}

// %% nbgrader={"grade": true, "grade_id": "test-unit-add-tiles", "locked": true, "points": 3, "schema_version": 3, "solution": false, "task": false}
function testUnitAddTiles(): void {
  // A 3×3 matrix in 2×2 tiles: four tiles of 4 floats, padding marked 99.
  const tiles = Float32Array.from([1, 2, 4, 5, 3, 99, 6, 99, 7, 8, 99, 99, 9, 99, 99, 99]);
  const out = new Float32Array(9);
  addTiles(tiles, 2, 2, 3, 3, out, 0);
  assertEqual(Array.from(out), [1, 2, 3, 4, 5, 6, 7, 8, 9]);
  // ### BEGIN HIDDEN TESTS
  const acc = Float32Array.from([5, 5, 10, 10, 10, 10, 10, 10, 10, 10, 10, 5]);
  addTiles(tiles, 2, 2, 3, 3, acc, 2);
  assertEqual(Array.from(acc), [5, 5, 11, 12, 13, 14, 15, 16, 17, 18, 19, 5], "adds at an offset, nothing else touched");
  // 5×10 in 4×8 tiles, each value encoding its own position.
  const m = 5;
  const n = 10;
  const big = new Float32Array(2 * 2 * 32).fill(-1000);
  for (let i = 0; i < m; i++) for (let j = 0; j < n; j++) big[(Math.floor(i / 4) * 2 + Math.floor(j / 8)) * 32 + (i % 4) * 8 + (j % 8)] = i * 100 + j;
  const got = new Float32Array(m * n);
  addTiles(big, 4, 8, m, n, got, 0);
  assertEqual(Array.from(got), Array.from({ length: m * n }, (_, e) => Math.floor(e / n) * 100 + (e % n)), "5×10 in 4×8 tiles");
  const row = new Float32Array(3);
  addTiles(Float32Array.from([1, 2, 3, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]), 4, 4, 1, 3, row, 0);
  assertEqual(Array.from(row), [1, 2, 3], "a single row");
  const column = new Float32Array(2);
  addTiles(Float32Array.from([4, 0, 0, 0, 5, 0, 0, 0]), 2, 4, 2, 1, column, 0);
  assertEqual(Array.from(column), [4, 5], "a single column");
  addTiles(new Float32Array(0), 4, 8, 0, 7, new Float32Array(0), 0);
  assertThrows(() => addTiles(new Float32Array(15), 2, 2, 3, 3, out, 0), "addTiles");
  // Random tile shapes and matrix sizes (ragged edges), random tile contents with random
  // padding, accumulated into random contents at a random offset: computed here.
  const ra = testRandom("18/add-tiles");
  for (let trial = 0; trial < 6; trial++) {
    const tileRows = ra.int(1, 8);
    const tileCols = ra.int(1, 9);
    const m = ra.int(0, 21);
    const n = ra.int(1, 21);
    const perRow = Math.ceil(n / tileCols);
    const tileData = Float32Array.from(ra.numbers(Math.ceil(m / tileRows) * perRow * tileRows * tileCols + ra.int(0, 5), -50, 50));
    const at = ra.int(0, 6);
    const target = Float32Array.from(ra.numbers(at + m * n + ra.int(0, 4), -50, 50));
    const before = Float32Array.from(target);
    addTiles(tileData, tileRows, tileCols, m, n, target, at);
    assertClose(
      target,
      Array.from(before, (old, e) => {
        const rel = e - at;
        if (rel < 0 || rel >= m * n) return old;
        const i = Math.floor(rel / n);
        const j = rel % n;
        const tile = Math.floor(i / tileRows) * perRow + Math.floor(j / tileCols);
        return old + tileData[tile * tileRows * tileCols + (i % tileRows) * tileCols + (j % tileCols)];
      }),
      { rtol: 1e-6, atol: 1e-5 },
      "random tiles, sizes and offset",
    );
    if (m > 0) {
      assertThrows(
        () => addTiles(new Float32Array(Math.ceil(m / tileRows) * perRow * tileRows * tileCols - 1), tileRows, tileCols, m, n, new Float32Array(at + m * n), at),
        "addTiles",
        "random sizes: tiles one float short",
      );
    }
  }
  // ### END HIDDEN TESTS
  passed("testUnitAddTiles");
}
testUnitAddTiles();

// %%
//| mutation add-tiles counts whole tiles per row with floor(n / tileCols), dropping the ragged last tile
/** out[m×n, row-major at outOffset] += the valid part of tile-major, zero-padded `tiles`. */
function addTiles(
  tiles: Float32Array,
  tileRows: number,
  tileCols: number,
  m: number,
  n: number,
  out: Float32Array,
  outOffset: number,
): void {
  const tilesPerRow = Math.floor(n / tileCols);
  const tileSize = tileRows * tileCols;
  const needed = Math.ceil(m / tileRows) * tilesPerRow * tileSize;
  if (tiles.length < needed) throw new Error(`addTiles: ${m}×${n} in ${tileRows}×${tileCols} tiles needs ${needed} floats, got ${tiles.length}`);
  for (let i = 0; i < m; i++) {
    const rowTiles = Math.floor(i / tileRows) * tilesPerRow * tileSize + (i % tileRows) * tileCols;
    const outRow = outOffset + i * n;
    for (let tj = 0; tj < tilesPerRow; tj++) {
      const from = rowTiles + tj * tileSize;
      const j0 = tj * tileCols;
      const width = Math.min(tileCols, n - j0);
      for (let c = 0; c < width; c++) out[outRow + j0 + c] += tiles[from + c];
    }
  }
}

// %%
//| mutation add-tiles reads each tile column-major
/** out[m×n, row-major at outOffset] += the valid part of tile-major, zero-padded `tiles`. */
function addTiles(
  tiles: Float32Array,
  tileRows: number,
  tileCols: number,
  m: number,
  n: number,
  out: Float32Array,
  outOffset: number,
): void {
  const tilesPerRow = Math.ceil(n / tileCols);
  const tileSize = tileRows * tileCols;
  const needed = Math.ceil(m / tileRows) * tilesPerRow * tileSize;
  if (tiles.length < needed) throw new Error(`addTiles: ${m}×${n} in ${tileRows}×${tileCols} tiles needs ${needed} floats, got ${tiles.length}`);
  for (let i = 0; i < m; i++) {
    const rowTiles = Math.floor(i / tileRows) * tilesPerRow * tileSize + (i % tileRows) * tileCols;
    const outRow = outOffset + i * n;
    for (let tj = 0; tj < tilesPerRow; tj++) {
      const from = rowTiles + tj * tileSize;
      const j0 = tj * tileCols;
      const width = Math.min(tileCols, n - j0);
      for (let c = 0; c < width; c++) out[outRow + j0 + c] += tiles[from - (i % tileRows) * tileCols + c * tileRows + (i % tileRows)];
    }
  }
}

// %% [markdown]
// The rest is plumbing, given below. `loadSimdKernel` assembles the text with `wabt`, checks that
// this runtime's WebAssembly has SIMD (`WebAssembly.validate` refuses the module otherwise), and
// instantiates it. It never throws: when anything is missing it returns the reason, so the
// package can fall back to your TypeScript kernel. `matmulSimd` lays out WebAssembly memory as
// `[packed A | packed B | C tiles | a row-major copy]`, growing it when needed, packs, runs
// `gemm`, and adds the tiles into `out`.
//
// Packing is where the first version of this kernel lost its race. Packed with `packPanels`
// element by element, a 512×512 product spent about a third of its time packing: the
// arithmetic had become so fast that moving 2 × 262,144 floats with scalar JavaScript (with a
// strided read for the transposed B) cost nearly as much. So when an operand's rows are already
// contiguous (`colStride` 1, the usual case), `matmulSimd` copies each row into WebAssembly
// memory with one `Float32Array.set` (a memcpy), and the WAT's `packA` and `packB` cut the copy
// into panels inside WebAssembly (`packB` moves two vectors per step). A transposed operand
// (the backward pass multiplies by `Bᵀ` and `Aᵀ`, see Part 6) is a view whose *columns* are
// contiguous: the matrix it views is copied in the same way, and `packAT` / `packBT` cut it
// into the same panels. Any other view still goes through your `packPanels`, which handles any
// strides.
//
// The same happened to the result. Your `addTiles` runs at about 4 ns per element (each float32
// is widened to a double, added, narrowed back, with a bounds check on both arrays): about 1 ms
// of a 10 ms product at 512, more than a tenth. So the WAT also has an `addTiles`, the twin of
// yours with two vector adds per tile row, and `matmulSimd` copies `out` in, lets it add, and
// copies `out` back (one memcpy each way). The demo below checks the twins against each other
// and times them. The lesson generalises: once the inner loop is fast, the time moves to the data
// movement around it, and only a profile of the whole call shows it. Two later cuts came from the
// same profile, on the transformer of milestone 05: the micro-kernel's first depth band starts
// its sums at zero instead of loading the tiles (so nothing zeroes C), and a product written
// into a new matrix (`matmulWithKernel` knows which: those it does not sum) skips copying the
// zeros in: `addTiles`'s fifth argument, `overwrite`, treats out's old contents as zeros.

// %% nbgrader={"grade": false, "grade_id": "simd-plumbing", "locked": true, "schema_version": 3, "solution": false, "task": false}
//| export
/** The parts of the WebAssembly API the kernel uses (the kit's TypeScript lib has no DOM types). */
interface WebAssemblyApi {
  validate(bytes: Uint8Array): boolean;
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: object) => { readonly exports: Record<string, unknown> };
}

/** An instantiated SIMD kernel: its memory, the blocked driver, the packers, and the ceilings. */
interface SimdKernel {
  readonly memory: { readonly buffer: ArrayBuffer; grow(pages: number): number };
  gemm(a: number, b: number, c: number, mPanels: number, nPanels: number, k: number, kc: number): void;
  packA(src: number, dest: number, k: number, lda: number, mPanels: number): void;
  packB(src: number, dest: number, k: number, ldb: number, nPanels: number): void;
  packAT(src: number, dest: number, k: number, lda: number, mPanels: number): void;
  packBT(src: number, dest: number, k: number, ldb: number, nPanels: number): void;
  addTiles(tiles: number, dest: number, m: number, n: number, overwrite?: number): void;
  peak(steps: number): number;
  triad(a: number, b: number, c: number, n: number, s: number, passes: number): void;
  windows(x: number, cols: number, planes: number, height: number, width: number, kernel: number, stride: number, padding: number, outHeight: number, outWidth: number, scatter: number): void;
  maxPool(x: number, out: number, argmax: number, planes: number, height: number, width: number, kernel: number, stride: number, outHeight: number, outWidth: number): void;
  expArray(src: number, dst: number, n: number): void;
  gelu(x: number, out: number, slope: number, n: number): void;
  layerNorm(x: number, w: number, b: number, out: number, xhat: number, rstd: number, rows: number, c: number, eps: number): void;
  layerNormBackward(g: number, w: number, xhat: number, rstd: number, dx: number, dw: number, db: number, rows: number, c: number): void;
  addRows(out: number, bias: number, rows: number, n: number): void;
  sumRows(g: number, sums: number, rows: number, n: number): void;
  mulArrays(a: number, b: number, out: number, n: number): void;
  softmaxBackward(y: number, g: number, dx: number, rows: number, c: number): void;
  binaryOp(a: number, b: number, out: number, n: number, period: number, op: number): void;
}

type SimdLoad = { kernel: SimdKernel; reason?: undefined } | { kernel: null; reason: string };

function errorText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/** Assembles and instantiates the SIMD kernel (`api` null: no WebAssembly); never throws, says why instead. */
async function loadSimdKernel(
  api: WebAssemblyApi | null = (globalThis as { WebAssembly?: WebAssemblyApi }).WebAssembly ?? null,
): Promise<SimdLoad> {
  if (!api) return { kernel: null, reason: "this runtime has no WebAssembly" };
  let bytes: Uint8Array;
  try {
    const wabt = await wabtInit();
    const module = wabt.parseWat("simd-gemm.wat", SIMD_GEMM_WAT, { simd: true });
    try {
      bytes = module.toBinary({}).buffer;
    } finally {
      module.destroy();
    }
  } catch (e) {
    return { kernel: null, reason: `wabt could not assemble the SIMD kernel (${errorText(e)})` };
  }
  if (!api.validate(bytes)) return { kernel: null, reason: "this runtime's WebAssembly has no 128-bit SIMD" };
  try {
    const { exports } = new api.Instance(new api.Module(bytes), {});
    return { kernel: exports as unknown as SimdKernel };
  } catch (e) {
    return { kernel: null, reason: `WebAssembly could not instantiate the SIMD kernel (${errorText(e)})` };
  }
}

/** Past this, the packed operands would not fit a 32-bit WebAssembly memory comfortably. */
const SIMD_MAX_BYTES = 1 << 30;

/**
 * Copies `src` row by row into `dest` at `destOffset`, `ld` floats per row (ld >= src.cols):
 * one `set` (a memcpy) per row. Only for rows that are contiguous (colStride 1).
 */
function copyRows(src: MatrixView, dest: Float32Array, destOffset: number, ld: number): void {
  if (src.rowStride === src.cols && ld === src.cols) {
    dest.set(src.data.subarray(src.offset, src.offset + src.rows * src.cols), destOffset);
    return;
  }
  for (let i = 0; i < src.rows; i++) {
    const from = src.offset + i * src.rowStride;
    dest.set(src.data.subarray(from, from + src.cols), destOffset + i * ld);
  }
}

/** The first `floats` of the kernel's memory, grown to hold them. */
function simdMemory(kernel: SimdKernel, floats: number): Float32Array {
  const have = kernel.memory.buffer.byteLength;
  if (have < 4 * floats) kernel.memory.grow(Math.ceil((4 * floats - have) / 65536));
  // A fresh view every call: growing the memory detaches the previous ArrayBuffer.
  return new Float32Array(kernel.memory.buffer, 0, floats);
}

/** The WebAssembly SIMD matmul (a MatmulKernel2d once `kernel` is bound); TypeScript beyond 1 GiB. */
function matmulSimd(kernel: SimdKernel, a: MatrixView, b: MatrixView, out: Float32Array, outOffset: number, fresh = false): void {
  const m = a.rows;
  const k = a.cols;
  const n = b.cols;
  if (m === 0 || n === 0 || k === 0) return;
  const { rows, cols, depthBand } = SIMD_TILE;
  const mPanels = Math.ceil(m / rows);
  const nPanels = Math.ceil(n / cols);
  const aFloats = mPanels * rows * k;
  const bFloats = nPanels * cols * k;
  const cFloats = mPanels * nPanels * rows * cols;
  // Room for a row-major copy of A, then of B (packed inside WebAssembly), then of out.
  const rawFloats = Math.max(aFloats, bFloats, m * n);
  const total = aFloats + bFloats + cFloats + rawFloats;
  if (4 * total > SIMD_MAX_BYTES) {
    matmulRegisterBlocked(a, b, out, outOffset);
    return;
  }
  const memory = simdMemory(kernel, total);
  const raw = aFloats + bFloats + cFloats;
  // Rows already contiguous (the usual case): memcpy in, pack in WebAssembly. Packing element
  // by element in TypeScript cost about a third of the time at 512. Other views (a transposed
  // operand): your packPanels.
  if (a.colStride === 1) {
    copyRows(a, memory, raw, k);
    memory.fill(0, raw + m * k, raw + aFloats); // the padding rows of the last panel
    kernel.packA(4 * raw, 0, k, k, mPanels);
  } else if (a.rowStride === 1) {
    // A transposed view (a backward pass's Aᵀ): copy the matrix it views, rows padded to the
    // panels' width, and cut it with packAT.
    const lda = mPanels * rows;
    if (lda !== m) memory.fill(0, raw, raw + aFloats);
    copyRows(transposeView(a), memory, raw, lda);
    kernel.packAT(4 * raw, 0, k, lda, mPanels);
  } else {
    packPanels(a, rows, memory, 0);
  }
  if (b.colStride === 1) {
    const ldb = nPanels * cols;
    if (ldb !== n) memory.fill(0, raw, raw + bFloats); // the padding columns of the last panel
    copyRows(b, memory, raw, ldb);
    kernel.packB(4 * raw, 4 * aFloats, k, ldb, nPanels);
  } else if (b.rowStride === 1) {
    // B transposed (the backward pass's Bᵀ): the rows of the matrix it views, then packBT.
    copyRows(transposeView(b), memory, raw, k);
    memory.fill(0, raw + n * k, raw + bFloats); // the padding rows of the last panel
    kernel.packBT(4 * raw, 4 * aFloats, k, k, nPanels);
  } else {
    packPanels(transposeView(b), cols, memory, aFloats);
  }
  // No zeroing of C: the first depth band writes the tiles, the later ones add to them.
  kernel.gemm(0, 4 * aFloats, 4 * (aFloats + bFloats), mPanels, nPanels, k, depthBand);
  // out += the tiles, in WebAssembly: out's m×n block is contiguous, so it goes in and comes
  // back with one memcpy each (your addTiles does the same in TypeScript, ten times slower).
  // A fresh block is all zeros: it need not go in, the tiles are written over whatever is there.
  if (!fresh) memory.set(out.subarray(outOffset, outOffset + m * n), raw);
  kernel.addTiles(4 * (aFloats + bFloats), 4 * raw, m, n, fresh ? 1 : 0);
  out.set(memory.subarray(raw, raw + m * n), outOffset);
}

/** The SIMD compute ceiling in FLOP/s: best of `repeats` runs of 8 f32x4 multiply-add chains. */
function measureSimdPeak(kernel: SimdKernel, steps = 2_000_000, repeats = 5): number {
  let best = 0;
  for (let r = 0; r < repeats; r++) {
    const t0 = performance.now();
    kernel.peak(steps);
    const seconds = (performance.now() - t0) / 1e3;
    if (seconds > 0) best = Math.max(best, (64 * steps) / seconds);
  }
  return best;
}

/**
 * Roofs for kernels that work out of the L1 cache: a compute peak (module 14's, for scalar
 * JavaScript) with the triad's bandwidth on arrays that fit in L1 (3 × 2048 floats, 24 KB);
 * given the SIMD kernel, the same two for WebAssembly SIMD.
 */
function measureCacheRoofs(
  scalarPeakFlopsPerSecond: number,
  simd: SimdKernel | null,
  options: { elements?: number; passes?: number; repeats?: number } = {},
): { scalar: MachinePeaks; simd: MachinePeaks | null } {
  const elements = options.elements ?? 2048;
  const passes = options.passes ?? 2000;
  const repeats = options.repeats ?? 5;
  const scalar = { peakFlopsPerSecond: scalarPeakFlopsPerSecond, bandwidthBytesPerSecond: l1TriadBandwidth(elements, passes, repeats) };
  if (!simd) return { scalar, simd: null };
  const n = elements - (elements % 4);
  const have = simd.memory.buffer.byteLength;
  if (have < 12 * n) simd.memory.grow(Math.ceil((12 * n - have) / 65536));
  new Float32Array(simd.memory.buffer, 4 * n, 2 * n).fill(1);
  const simdTriad = (count: number): void => simd.triad(0, 4 * n, 8 * n, n, 0.5, count);
  return {
    scalar,
    simd: {
      peakFlopsPerSecond: measureSimdPeak(simd),
      bandwidthBytesPerSecond: bestTriadBandwidth(simdTriad, n, passes, repeats),
    },
  };
}

// %% [markdown]
// Now assemble it, check it against float64 on the awkward shapes, and time it at 512 next to
// your TypeScript kernel. (If this kernel has no WebAssembly SIMD, the cell says why.)

// %%
await demo("the SIMD kernel", async () => {
  const load = await loadSimdKernel();
  if (!load.kernel) {
    console.log(`SIMD kernel unavailable: ${load.reason}`);
    return;
  }
  const simd = load.kernel;
  const kernel: MatmulKernel2d = (a, b, out, offset) => matmulSimd(simd, a, b, out, offset);
  for (const [m, k, n] of [[13, 17, 11], [1, 300, 9], [9, 300, 1], [67, 513, 70]]) checkKernel(kernel, m, k, n);
  checkKernel(kernel, 13, 17, 11, true);
  checkBatched(kernel);
  console.log("agrees with float64 on odd, 1×n, n×1, transposed and batched shapes");
  const n = 512;
  const a = randomView(n, n, 1);
  const b = randomView(n, n, 2);
  for (const [name, fn] of [["wasm-simd 4x8", kernel], ["register-blocked 4x4", matmulRegisterBlocked]] as const) {
    let best = Infinity;
    for (let r = 0; r < 5; r++) {
      const t0 = performance.now();
      fn(a, b, new Float32Array(n * n), 0);
      best = Math.min(best, performance.now() - t0);
    }
    console.log(`${name.padEnd(22)} ${((2 * n ** 3) / (best * 1e6)).toFixed(2)} GFLOP/s at ${n}`);
  }
  console.log(`SIMD compute ceiling: ${(measureSimdPeak(simd) / 1e9).toFixed(1)} GFLOP/s`);
  // Your addTiles against the WAT's twin on a 512×512 result: the same sums, and their times.
  const tiles = Float32Array.from({ length: n * n }, (_, i) => (i % 97) / 8);
  const need = 8 * n * n - simd.memory.buffer.byteLength;
  if (need > 0) simd.memory.grow(Math.ceil(need / 65536));
  const memory = new Float32Array(simd.memory.buffer, 0, 2 * n * n);
  const yours = new Float32Array(n * n);
  let tsMs = Infinity;
  let wasmMs = Infinity;
  for (let r = 0; r < 5; r++) {
    yours.fill(0);
    memory.set(tiles, 0);
    memory.fill(0, n * n);
    let t0 = performance.now();
    addTiles(tiles, 4, 8, n, n, yours, 0);
    tsMs = Math.min(tsMs, performance.now() - t0);
    t0 = performance.now();
    simd.addTiles(0, 4 * n * n, n, n);
    wasmMs = Math.min(wasmMs, performance.now() - t0);
  }
  // Both add the same float32 values into zeros: bit-identical sums, or one of them is wrong.
  if (!memory.subarray(n * n).every((x, i) => x === yours[i])) throw new Error("addTiles: your sums and WebAssembly's differ");
  console.log(`addTiles at ${n}: yours ${tsMs.toFixed(2)} ms, WebAssembly ${wasmMs.toFixed(2)} ms (same sums)`);
});

// %% [markdown]
// ### Every kernel on the roofline
//
// Now the hardware's own roofs can be measured, with instructions that are not the kernels'
// own: `measureCacheRoofs` times WebAssembly's `peak` (eight `f32x4` multiply-add chains) and its
// `triad` (vector loads and stores, 16 bytes each), on arrays in L1 (24 KB) or as large as B
// (1 MB, in L2). Next to them, the scalar JavaScript ceilings: module 14's compute peak and the
// scalar triad, a loop of the i-k-j loop's own shape.
//
// Two charts, one per level, because each kernel has an intensity per level:
//
// 1. **Beyond L1** (bytes crossing between L1 and L2, your two traffic models): i-k-j at about
//    0.5 FLOP/B, cache-blocked at about 15. *This* is what blocking buys: it moves the kernel
//    30 times to the right. Both points sit far below the roof, at the same height, and the
//    cell says why: the L2 slope is not what limits them here.
// 2. **Per access** (loads and stores between registers and L1): i-k-j and cache-blocked at 1/6
//    (their innermost step is the same), the 4×4 micro-kernel at 1 (counting its array loads,
//    not its spilled sums), the SIMD micro-kernel at 4/3 (64 FLOPs per two 16-byte vector loads
//    and four 4-byte splats), under the SIMD roofs in L1. Moving up to the higher roof is what
//    SIMD buys.
//
// The scalar kernels sit under the scalar ceilings printed beside the charts, and far below the
// hardware roofs: what limits them is the number of instructions V8 runs per FLOP, which the
// roofline does not model. That is the honest reading of Parts 1 to 3: a roofline built from
// the hardware bounds a kernel from above; it explains a kernel's speed only when the kernel is
// near one of its roofs, as the SIMD kernel is.

// %%
await demo("roofline of the kernels", async () => {
  const load = await loadSimdKernel();
  const scalarPeak = measureMachinePeaks().peakFlopsPerSecond;
  const inL1 = measureCacheRoofs(scalarPeak, load.kernel);
  const atB = measureCacheRoofs(scalarPeak, load.kernel, { elements: 87_380, passes: 50, repeats: 3 });
  const n = 512;
  const a = randomView(n, n, 1);
  const b = randomView(n, n, 2);
  const simd = load.kernel;
  const time = (kernel: MatmulKernel2d): number => {
    let best = Infinity;
    for (let r = 0; r < 3; r++) {
      const t0 = performance.now();
      kernel(a, b, new Float32Array(n * n), 0);
      best = Math.min(best, performance.now() - t0);
    }
    return (2 * n ** 3) / (best * 1e6);
  };
  const gb = (x: number): string => (x / 1e9).toFixed(1);
  console.log(`scalar JavaScript: peak ${gb(scalarPeak)} GFLOP/s; scalar triad ${gb(inL1.scalar.bandwidthBytesPerSecond)} GB/s in L1, ${gb(atB.scalar.bandwidthBytesPerSecond)} GB/s on 1 MB`);
  if (inL1.simd && atB.simd) console.log(`WebAssembly SIMD:  peak ${gb(inL1.simd.peakFlopsPerSecond)} GFLOP/s; vector triad ${gb(inL1.simd.bandwidthBytesPerSecond)} GB/s in L1, ${gb(atB.simd.bandwidthBytesPerSecond)} GB/s on 1 MB`);
  // The hardware's roofs where SIMD could be measured; else the scalar ceilings, labelled so.
  const hardware = inL1.simd !== null && atB.simd !== null;
  const l1Roof = inL1.simd ?? inL1.scalar;
  const l2Roof = { peakFlopsPerSecond: scalarPeak, bandwidthBytesPerSecond: (atB.simd ?? atB.scalar).bandwidthBytesPerSecond };
  const ikj = time(matmulIkj);
  const blocked = time(matmulBlocked);
  const beyond = [
    { name: "i-k-j", intensity: matmulTraffic(n, n, n, 32 * 1024).memoryIntensity, gflopsPerSecond: ikj },
    { name: "cache-blocked", intensity: blockedTraffic(n, n, n, 64, 32 * 1024).memoryIntensity, gflopsPerSecond: blocked },
  ];
  for (const k of beyond) {
    const roof = rooflinePlacement(k.intensity, l2Roof);
    console.log(`beyond L1: ${k.name.padEnd(14)} I = ${k.intensity.toFixed(2).padStart(5)} FLOP/B, ${k.gflopsPerSecond.toFixed(2)} GFLOP/s, ${roof.bound}, roof ${gb(roof.attainableFlopsPerSecond)} GFLOP/s`);
  }
  await showChart(rooflineChartSpec(l2Roof, beyond, `Beyond L1, at 512: roof = scalar peak, ${hardware ? "L2 bandwidth (vector triad on 1 MB)" : "scalar triad on 1 MB"}`));
  const perAccess = [
    { name: "i-k-j", intensity: 2 / 12, gflopsPerSecond: ikj },
    { name: "cache-blocked", intensity: 2 / 12, gflopsPerSecond: blocked },
    { name: "register-blocked 4x4", intensity: 32 / 32, gflopsPerSecond: time(matmulRegisterBlocked) },
  ];
  if (simd) perAccess.push({ name: "wasm-simd 4x8", intensity: 64 / 48, gflopsPerSecond: time((x, y, o, off) => matmulSimd(simd, x, y, o, off)) });
  for (const k of perAccess) {
    const roof = rooflinePlacement(k.intensity, l1Roof);
    const scalarCeiling = rooflinePlacement(k.intensity, inL1.scalar).attainableFlopsPerSecond;
    console.log(`per access: ${k.name.padEnd(20)} I = ${k.intensity.toFixed(2)} FLOP/B, ${k.gflopsPerSecond.toFixed(2).padStart(6)} GFLOP/s; roof ${gb(roof.attainableFlopsPerSecond)} GFLOP/s (${((100 * k.gflopsPerSecond * 1e9) / roof.attainableFlopsPerSecond).toFixed(0)}%), scalar ceiling ${gb(scalarCeiling)}`);
  }
  await showChart(rooflineChartSpec(l1Roof, perAccess, `Per access, at 512: roof = ${hardware ? "SIMD peak and vector triad in L1" : "scalar peak and scalar triad in L1"}`));
});

// %% [markdown]
// ## Part 5: Two threads (a demonstration)
//
// This machine has more than one core. JavaScript gives each thread its own heap; the way to
// share numbers without copying them is a `SharedArrayBuffer`, which several `Worker`s can view
// as `Float32Array`s at once. A matmul splits cleanly: each worker computes a band of the rows
// of C, reading all of A's band and all of B, and writing only its own rows, so no locks are
// needed.
//
// The limits show up at once. Every worker packs all of B for itself (duplicated work); the
// workers share the memory bandwidth and the last-level cache; starting a worker and compiling
// WebAssembly in it costs milliseconds, so the workers are started once and reused; and on a
// shared machine the second core may simply be busy. The cell measures one worker against two
// on the same rows. It is not graded: the grading sandbox refuses to start threads at all.

// %%
await demo("two workers over SharedArrayBuffer", async () => {
  const { Worker } = await import("node:worker_threads");
  const n = 1024;
  const shared = (count: number): Float32Array => new Float32Array(new SharedArrayBuffer(4 * count));
  const a = shared(n * n);
  const b = shared(n * n);
  const c = shared(n * n);
  a.set(randomView(n, n, 1).data);
  b.set(randomView(n, n, 2).data);
  // Plain JavaScript run by each worker: it loads the package's SIMD kernel and computes the
  // rows it is sent, writing them straight into the shared C.
  const source = `
    const { parentPort, workerData } = require("node:worker_threads");
    const accel = require("tinytorch-ts/accel/matmul");
    const { a, b, c, n } = workerData;
    const A = new Float32Array(a), B = new Float32Array(b), C = new Float32Array(c);
    accel.loadSimdKernel().then((load) => {
      if (!load.kernel) return parentPort.postMessage({ error: load.reason });
      parentPort.on("message", ({ r0, r1 }) => {
        C.fill(0, r0 * n, r1 * n);
        const rows = { data: A, offset: r0 * n, rows: r1 - r0, cols: n, rowStride: n, colStride: 1 };
        accel.matmulSimd(load.kernel, rows, accel.matrixView(B, n, n), C, r0 * n);
        parentPort.postMessage({ done: true });
      });
      parentPort.postMessage({ ready: true });
    });`;
  const workers = [0, 1].map(() => new Worker(source, { eval: true, workerData: { a: a.buffer, b: b.buffer, c: c.buffer, n } }));
  const reply = (w: InstanceType<typeof Worker>): Promise<void> =>
    new Promise((resolve, reject) => {
      const onError = (e: Error): void => {
        w.off("message", onMessage);
        reject(e);
      };
      const onMessage = (msg: { error?: string }): void => {
        w.off("error", onError);
        if (msg.error) reject(new Error(msg.error));
        else resolve();
      };
      w.once("message", onMessage);
      w.once("error", onError);
    });
  try {
    await Promise.all(workers.map(reply));
    const run = async (bands: [number, number][]): Promise<number> => {
      const t0 = performance.now();
      await Promise.all(bands.map((band, i) => {
        const done = reply(workers[i]);
        workers[i].postMessage({ r0: band[0], r1: band[1] });
        return done;
      }));
      return performance.now() - t0;
    };
    const median = async (bands: [number, number][]): Promise<number> => {
      const times: number[] = [];
      for (let r = 0; r < 5; r++) times.push(await run(bands));
      return times.sort((x, y) => x - y)[2];
    };
    const one = await median([[0, n]]);
    const two = await median([[0, n / 2], [n / 2, n]]);
    const want = expected64(matrixView(a, 1, n, 5 * n), matrixView(b, n, n));
    assertClose(c.subarray(5 * n, 6 * n), want, { rtol: 1e-4, atol: 1e-3 }, "row 5 of C");
    const gflops = (ms: number): string => ((2 * n ** 3) / (ms * 1e6)).toFixed(1);
    console.log(`n=${n}: one worker ${one.toFixed(0)} ms (${gflops(one)} GFLOP/s), two workers ${two.toFixed(0)} ms (${gflops(two)} GFLOP/s): speed-up ${(one / two).toFixed(2)}x`);
  } finally {
    await Promise.all(workers.map((w) => w.terminate()));
  }
});

// %% [markdown]
// ## Part 6: Putting it to work
//
// Module 01's `Tensor.matmul` consults a **backend slot**: `setMatmulBackend(fn)` installs any
// function with `matmulKernel`'s contract (numpy semantics on raw tensors), `null` restores
// `matmulKernel`. `Linear.forward` calls `x.matmul(weight)`, so switching the backend switches
// every layer.
//
// `enableAcceleration()` installs the fastest kernel this runtime supports: the WebAssembly SIMD
// kernel, or, where that cannot load, your register-blocked TypeScript kernel, printing the
// reason once. It returns which one it chose. `disableAcceleration()` puts module 01's kernel
// back. The check for SIMD support is made on a 29-byte module (one function returning a `v128`,
// shown in the comment) before `wabt` is even loaded, so a runtime without SIMD costs nothing.

// %% [markdown]
// ### The backward pass, without copies
//
// Module 06's matmul rule is `dA = dC @ Bᵀ` and `dB = Aᵀ @ dC`, written with `Tensor.transpose`,
// which copies; and when one operand was broadcast over a batch (a layer's weight against a batch
// of inputs), `sumToShape` then adds up one gradient matrix per batch entry. Both are pure data
// movement. A kernel that takes views needs neither: `Bᵀ` is `B` with its two strides swapped
// (the `StridedTensor` below), and since every kernel *adds* into `out`, giving all the batch
// entries the same output matrix makes the kernel do the sum (`matmulWithKernel`'s `summedTo`).
// `matmulBackwardWith(kernel)` is module 06's rule rebuilt that way; the switch installs it
// beside the backend, and `disableAcceleration` puts module 06's rule back.
//
// On milestone 04's CNN this removed, per epoch, a copy of every im2col matrix (the `colsᵀ` of
// the weight's gradient), 64 weight-gradient matrices per layer and batch, and the sum over them.

// %% nbgrader={"grade": false, "grade_id": "matmul-backward-views", "locked": true, "schema_version": 3, "solution": false, "task": false}
//| export
/** t with its last two axes swapped: the same buffer, strides exchanged, nothing copied. */
function transposedLastTwo(t: StridedTensor): StridedTensor {
  const rank = t.shape.length;
  const shape = [...t.shape];
  const strides = [...(t.strides ?? computeStrides(t.shape))];
  [shape[rank - 2], shape[rank - 1]] = [shape[rank - 1], shape[rank - 2]];
  [strides[rank - 2], strides[rank - 1]] = [strides[rank - 1], strides[rank - 2]];
  return { data: t.data, shape, strides, offset: t.offset };
}

/** Module 06's matmul rule on `kernel`: transposes as views, broadcast operands summed by the kernel. */
function matmulBackwardWith(kernel: MatmulKernel2d | MatmulKernelPair): BackwardRule {
  return (grad, node) => {
    const [a, b] = node.inputs;
    const k = a.shape[a.ndim - 1];
    // 1-D operands as a row [1, k] and a column [k, 1], as in the forward pass.
    const a2: RawTensor = { data: a.data, shape: a.ndim === 1 ? [1, k] : a.shape };
    const b2: RawTensor = { data: b.data, shape: b.ndim === 1 ? [k, 1] : b.shape };
    const m = a2.shape[a2.shape.length - 2];
    const n = b2.shape[b2.shape.length - 1];
    const dropped = (a.ndim === 1 ? 0 : 1) + (b.ndim === 1 ? 0 : 1);
    const g: RawTensor = { data: grad.data, shape: [...grad.shape.slice(0, grad.ndim - dropped), m, n] };
    const da = a.requiresGrad ? matmulWithKernel(g, transposedLastTwo(b2), kernel, a2.shape.slice(0, -2)) : null;
    const db = b.requiresGrad ? matmulWithKernel(transposedLastTwo(a2), g, kernel, b2.shape.slice(0, -2)) : null;
    return [da && new Tensor(da.data, a.shape), db && new Tensor(db.data, b.shape)];
  };
}

// %% [markdown]
// ### im2col, col2im and max pooling, in WebAssembly
//
// With the products fast, a convolution's time moves to module 09's `im2col` and `col2im`: they
// only move numbers, but a JavaScript loop moves a float32 in about 2 ns (each is widened to a
// double and narrowed back, with bounds checks), and milestone 04 moves about 320 million of
// them per epoch (im2col of both layers, col2im of the second). The WAT's `windows` function is
// the same walk in WebAssembly, four cells per vector instruction when the stride is 1; the
// switch puts it in module 09's `windowKernelSlot` beside the matmul backend. The input goes in
// with one memcpy, the columns come out with one.
//
// Max pooling came next in the profile, for a different reason: which cell of a window holds
// the maximum is, on real activations, unpredictable, and each wrong guess of the branch
// predictor costs more than the loads. The WAT's `maxPool` chooses with `select`, which has no
// branch to guess.

// %% nbgrader={"grade": false, "grade_id": "window-kernels", "locked": true, "schema_version": 3, "solution": false, "task": false}
//| export
/** Module 09's im2col on the kernel's `windows` (module 09's own past SIMD_MAX_BYTES). */
function im2colSimd(kernel: SimdKernel, x: RawTensor, g: ConvGeometry): RawTensor {
  checkShapeIs(x, [g.batch, g.channels, g.height, g.width], "im2col");
  const rows = g.channels * g.kernel * g.kernel;
  const positions = g.outHeight * g.outWidth;
  const inFloats = x.data.length;
  const colFloats = g.batch * rows * positions;
  if (4 * (inFloats + colFloats) > SIMD_MAX_BYTES) return im2col(x, g);
  const memory = simdMemory(kernel, inFloats + colFloats);
  memory.set(x.data, 0);
  // Without padding every cell of cols is written; with it, the padding cells must read 0.
  if (g.padding > 0) memory.fill(0, inFloats, inFloats + colFloats);
  kernel.windows(0, 4 * inFloats, g.batch * g.channels, g.height, g.width, g.kernel, g.stride, g.padding, g.outHeight, g.outWidth, 0);
  return { data: memory.slice(inFloats, inFloats + colFloats), shape: [g.batch, rows, positions] };
}

/** Module 09's col2im on the kernel's `windows` (module 09's own past SIMD_MAX_BYTES). */
function col2imSimd(kernel: SimdKernel, cols: RawTensor, g: ConvGeometry): RawTensor {
  checkShapeIs(cols, [g.batch, g.channels * g.kernel * g.kernel, g.outHeight * g.outWidth], "col2im");
  const colFloats = cols.data.length;
  const xFloats = g.batch * g.channels * g.height * g.width;
  if (4 * (colFloats + xFloats) > SIMD_MAX_BYTES) return col2im(cols, g);
  const memory = simdMemory(kernel, colFloats + xFloats);
  memory.set(cols.data, 0);
  memory.fill(0, colFloats, colFloats + xFloats);
  kernel.windows(4 * colFloats, 0, g.batch * g.channels, g.height, g.width, g.kernel, g.stride, g.padding, g.outHeight, g.outWidth, 1);
  return { data: memory.slice(colFloats, colFloats + xFloats), shape: [g.batch, g.channels, g.height, g.width] };
}

/** Module 09's max-pooling kernel on the kernel's `maxPool` (module 09's own with padding or past SIMD_MAX_BYTES). */
function maxPool2dSimd(kernel: SimdKernel, x: RawTensor, g: ConvGeometry): { out: RawTensor; argmax: Int32Array } {
  checkShapeIs(x, [g.batch, g.channels, g.height, g.width], "maxPool2d");
  const inFloats = x.data.length;
  const outFloats = g.batch * g.channels * g.outHeight * g.outWidth;
  if (g.padding !== 0 || 4 * (inFloats + 2 * outFloats) > SIMD_MAX_BYTES) return maxPool2dKernel(x, g);
  const memory = simdMemory(kernel, inFloats + 2 * outFloats);
  memory.set(x.data, 0);
  kernel.maxPool(0, 4 * inFloats, 4 * (inFloats + outFloats), g.batch * g.channels, g.height, g.width, g.kernel, g.stride, g.outHeight, g.outWidth);
  const out = memory.slice(inFloats, inFloats + outFloats);
  const argmax = new Int32Array(memory.buffer, 4 * (inFloats + outFloats), outFloats).slice();
  return { out: { data: out, shape: [g.batch, g.channels, g.outHeight, g.outWidth] }, argmax };
}

// %% [markdown]
// The twins against your loops, on milestone 04's first layer (64 digits, 5×5 windows, then
// 2×2 pooling of its output):

// %%
await demo("im2col, col2im and max pooling in WebAssembly", async () => {
  const load = await loadSimdKernel();
  if (!load.kernel) {
    console.log(`SIMD kernel unavailable: ${load.reason}`);
    return;
  }
  const simd = load.kernel;
  const x = Tensor.randn([64, 1, 28, 28], 1);
  const g = convGeometry(x.shape, 5);
  const best = (fn: () => unknown): number => {
    let fastest = Infinity;
    for (let r = 0; r < 7; r++) {
      const t0 = performance.now();
      fn();
      fastest = Math.min(fastest, performance.now() - t0);
    }
    return fastest;
  };
  const cols = im2col(x, g);
  assert(im2colSimd(simd, x, g).data.every((v, i) => v === cols.data[i]), "the same columns");
  assertClose(col2imSimd(simd, cols, g).data, col2im(cols, g).data, { rtol: 1e-6, atol: 1e-6 }, "the same sums");
  const ms = (t: number): string => `${t.toFixed(2)} ms`;
  console.log(`im2col, ${cols.data.length} floats: ${ms(best(() => im2col(x, g)))} in TypeScript, ${ms(best(() => im2colSimd(simd, x, g)))} in WebAssembly`);
  console.log(`col2im, the same floats back: ${ms(best(() => col2im(cols, g)))} in TypeScript, ${ms(best(() => col2imSimd(simd, cols, g)))} in WebAssembly`);
  const maps = Tensor.randn([64, 8, 24, 24], 2);
  const pool = convGeometry(maps.shape, 2, 2);
  const mine = maxPool2dKernel(maps, pool);
  const twin = maxPool2dSimd(simd, maps, pool);
  assert(twin.argmax.every((v, i) => v === mine.argmax[i]) && twin.out.data.every((v, i) => v === mine.out.data[i]), "the same maxima, from the same cells");
  console.log(`max pooling 2×2, ${mine.out.data.length} windows: ${ms(best(() => maxPool2dKernel(maps, pool)))} in TypeScript, ${ms(best(() => maxPool2dSimd(simd, maps, pool)))} in WebAssembly`);
});

// %% [markdown]
// ### The rest of a training step, in WebAssembly
//
// With the products on this kernel, milestone 05's GPT still took about 410 ms per training step
// on the course's machine, and a profile showed where the rest went (milliseconds per step):
// GELU 62 (both passes), module 01's element-wise operations 30 (a callback per element), layer
// norm 36 (both passes), the cross-entropy's forward pass 31, `linear`'s bias about 16 (timed
// alone), the masked softmax's rule 5. Much of
// it is `Math.exp`: V8 computes it by calling a C function, about 15 ns a call here, and a step
// needs over a million of them. WebAssembly has no `exp` instruction, so the WAT has its own,
// `$exp`: Cephes's recipe, `eˣ = 2ⁿ · eʳ` with `n = round(x·log₂e)`, `eʳ` by a polynomial of
// degree 6 on `|r| ≤ ln2/2`, and `2ⁿ` written straight into a float's exponent bits; four at a
// time, within 2 units in the last place (tested down to the subnormal results).
//
// The switch fills the slots those modules left for it, and puts back their own code when it is
// switched off:
//
// - module 01's `elementwiseBackendSlot`: `add`, `sub`, `mul`, `div` (with a single number, a
//   tensor of the same shape, or one whose shape ends the other's: a bias row, a positional
//   table) and `exp`, from 1024 elements on. The arithmetic gives the same bits as your
//   `elementwiseKernel` (a float32 operation rounded once, either way);
// - module 12's `linearKernelSlot`: the bias added to every row, and its gradient summed over
//   the rows in float64 (two columns per `f64x2` instruction), as module 12's loop does;
// - module 13's `transformerKernelSlot`: `gelu` (module 13's `fusedGelu`, the same formula),
//   `layerNorm`, and `crossEntropy` (module 04's loss: row maxima and sums in TypeScript, the
//   exponentials in `expArray`);
// - the backward rules of layer norm, fused GELU and the masked softmax.
//
// Each records what the module's own function records (the same op, the same saved tensors), so
// either rule can follow either forward, and each returns null for an input it does not handle
// (a row length that is not a multiple of 4 for layer norm, a broadcast along a middle axis),
// and then the module's own code runs. What stays yours: the masked softmax's forward pass,
// `splitHeads` and `mergeHeads`, Adam's update. Your attention calls them by name, and a switch
// cannot reach inside your functions; after these kernels, your softmax's `Math.exp` calls are
// the largest share of a step outside the products.

// %% nbgrader={"grade": false, "grade_id": "transformer-kernels", "locked": true, "schema_version": 3, "solution": false, "task": false}
//| export
/** n rounded up to whole f32x4 vectors: the kernels read and write 4 floats at a time. */
function vectorFloats(n: number): number {
  return 4 * Math.ceil(n / 4);
}

/** Module 13's fusedGelu on the kernel's `gelu`: the same output and the same saved slope. */
function geluSimd(kernel: SimdKernel, x: Tensor): Tensor | null {
  const n = vectorFloats(x.size);
  if (4 * 3 * n > SIMD_MAX_BYTES) return null;
  const memory = simdMemory(kernel, 3 * n);
  memory.set(x.data, 0);
  kernel.gelu(0, 4 * n, 8 * n, x.size);
  const out = new Tensor(memory.slice(n, n + x.size), x.shape);
  return Tensor.record(out, "fusedGelu", [x], { saved: [new Tensor(memory.slice(2 * n, 2 * n + x.size), x.shape)] });
}

/** Module 13's layerNorm on the kernel's `layerNorm`, saving x̂ and rstd as module 13's does. */
function layerNormSimd(kernel: SimdKernel, x: Tensor, weight: Tensor, bias: Tensor, eps: number): Tensor | null {
  const c = x.ndim === 0 ? 0 : x.shape[x.ndim - 1];
  if (c === 0 || c % 4 !== 0 || weight.size !== c || bias.size !== c) return null;
  const size = x.size;
  const rows = size / c;
  // weight, bias, x, out, x̂, rstd
  const [w, b, xAt, outAt, xhatAt, rstdAt] = [0, c, 2 * c, 2 * c + size, 2 * c + 2 * size, 2 * c + 3 * size];
  if (4 * (rstdAt + rows) > SIMD_MAX_BYTES) return null;
  const memory = simdMemory(kernel, rstdAt + rows);
  memory.set(weight.data, w);
  memory.set(bias.data, b);
  memory.set(x.data, xAt);
  kernel.layerNorm(4 * xAt, 4 * w, 4 * b, 4 * outAt, 4 * xhatAt, 4 * rstdAt, rows, c, eps);
  const saved = [new Tensor(memory.slice(xhatAt, xhatAt + size), x.shape), new Tensor(memory.slice(rstdAt, rstdAt + rows), [rows])];
  return Tensor.record(new Tensor(memory.slice(outAt, outAt + size), x.shape), "layerNorm", [x, weight, bias], { saved });
}

/** Module 13's layer-norm rule on the kernel's `layerNormBackward` (module 13's own rule where that does not apply). */
function layerNormBackwardSimd(kernel: SimdKernel): BackwardRule {
  return (grad, node) => {
    const [x, weight] = node.inputs;
    const [xhat, rstd] = node.args.saved ?? [];
    const c = x.shape[x.ndim - 1];
    const size = x.size;
    // weight, dweight, dbias, g, x̂, dx, rstd
    const [w, dw, db, g, xhatAt, dx, rstdAt] = [0, c, 2 * c, 3 * c, 3 * c + size, 3 * c + 2 * size, 3 * c + 3 * size];
    if (c % 4 !== 0 || xhat === undefined || rstd === undefined || 4 * (rstdAt + rstd.size) > SIMD_MAX_BYTES) return layerNormBackward(grad, node);
    const memory = simdMemory(kernel, rstdAt + rstd.size);
    memory.set(weight.data, w);
    memory.fill(0, dw, g);
    memory.set(grad.data, g);
    memory.set(xhat.data, xhatAt);
    memory.set(rstd.data, rstdAt);
    kernel.layerNormBackward(4 * g, 4 * w, 4 * xhatAt, 4 * rstdAt, 4 * dx, 4 * dw, 4 * db, rstd.size, c);
    return [new Tensor(memory.slice(dx, dx + size), x.shape), new Tensor(memory.slice(dw, dw + c), weight.shape), new Tensor(memory.slice(db, db + c), weight.shape)];
  };
}

/** Module 01's element-wise operations the kernel's `binaryOp` does, by their codes there. */
const BINARY_OPS: Readonly<Record<string, number>> = { add: 0, sub: 1, mul: 2, div: 3 };

/** Below this many elements, module 01's loop costs about what the copies in and out would. */
const ELEMENTWISE_MIN = 1024;

/**
 * Module 01's add, sub, mul, div (on the kernel's `binaryOp`) and exp (`expArray`) of a large
 * `a`, with `b` a single number, a's shape, or a suffix of it (a bias row, a positional table); null
 * for anything else, and module 01's elementwiseKernel runs. The four operations give the same
 * bits as module 01's (a float32 result rounded once, either way); exp is within 2 ulps.
 */
function elementwiseSimd(kernel: SimdKernel, op: string, a: RawTensor, b: RawTensor | null): RawTensor | null {
  const n = a.data.length;
  if (n < ELEMENTWISE_MIN || n !== shapeSize(a.shape)) return null;
  const room = vectorFloats(n);
  if (op === "exp") {
    if (b !== null || 4 * 2 * room > SIMD_MAX_BYTES) return null;
    const memory = simdMemory(kernel, 2 * room);
    memory.set(a.data, 0);
    kernel.expArray(0, 4 * room, n);
    return { data: memory.slice(room, room + n), shape: [...a.shape] };
  }
  const code = BINARY_OPS[op];
  if (code === undefined || b === null || b.data.length !== shapeSize(b.shape)) return null;
  // b repeats every `period` floats; the kernel walks it in whole vectors unless it is all of a
  const period = b.data.length;
  const lead = a.shape.length - b.shape.length;
  if (lead < 0 || (period !== 1 && b.shape.some((d, i) => d !== a.shape[lead + i]))) return null;
  if (period !== 1 && period !== n && period % 4 !== 0) return null;
  const bRoom = vectorFloats(period);
  if (4 * (2 * room + bRoom) > SIMD_MAX_BYTES) return null;
  const memory = simdMemory(kernel, 2 * room + bRoom);
  memory.set(a.data, 0);
  memory.set(b.data, room);
  kernel.binaryOp(0, 4 * room, 4 * (room + bRoom), n, period, code);
  return { data: memory.slice(room + bRoom, room + bRoom + n), shape: [...a.shape] };
}

/** fusedGelu's rule (module 13) on the kernel's `mulArrays`: g times the saved slope. */
function fusedGeluBackwardSimd(kernel: SimdKernel): BackwardRule {
  return (g, node) => {
    const slope = (node.args.saved ?? [])[0];
    const n = vectorFloats(g.size);
    if (slope === undefined || slope.size !== g.size || 4 * 3 * n > SIMD_MAX_BYTES) return fusedGeluBackward(g, node);
    const memory = simdMemory(kernel, 3 * n);
    memory.set(g.data, 0);
    memory.set(slope.data, n);
    kernel.mulArrays(0, 4 * n, 8 * n, g.size);
    return [new Tensor(memory.slice(2 * n, 2 * n + g.size), g.shape)];
  };
}

/** Module 12's masked-softmax rule on the kernel's `softmaxBackward` (module 12's where the rows are not a multiple of 4 long). */
function maskedSoftmaxBackwardSimd(kernel: SimdKernel): BackwardRule {
  return (grad, node, output) => {
    const c = output.ndim === 0 ? 0 : output.shape[output.ndim - 1];
    const size = output.size;
    if (c === 0 || c % 4 !== 0 || 4 * 3 * size > SIMD_MAX_BYTES) return maskedSoftmaxBackward(grad, node, output);
    const memory = simdMemory(kernel, 3 * size);
    memory.set(output.data, 0);
    memory.set(grad.data, size);
    kernel.softmaxBackward(0, 4 * size, 8 * size, size / c, c);
    return [new Tensor(memory.slice(2 * size, 3 * size), output.shape)];
  };
}

/** Module 12's linear's bias added to every row, on the kernel's `addRows`, in place. */
function addBiasSimd(kernel: SimdKernel, rows: Float32Array, bias: Float32Array): boolean {
  const n = bias.length;
  if (n === 0 || rows.length % n !== 0 || 4 * (rows.length + n) > SIMD_MAX_BYTES) return false;
  const memory = simdMemory(kernel, rows.length + n);
  memory.set(bias, 0);
  memory.set(rows, n);
  kernel.addRows(4 * n, 0, rows.length / n, n);
  rows.set(memory.subarray(n, n + rows.length));
  return true;
}

/** Column sums of g's rows of n (linear's bias gradient) on the kernel's `sumRows`, in float64 as module 12's loop. */
function sumBiasSimd(kernel: SimdKernel, g: Float32Array, n: number): Float32Array | null {
  // g, then n float64 sums, 8-byte aligned
  const sumsAt = 2 * Math.ceil(g.length / 2);
  if (n === 0 || g.length % n !== 0 || 4 * (sumsAt + 2 * n) > SIMD_MAX_BYTES) return null;
  const memory = simdMemory(kernel, sumsAt + 2 * n);
  memory.set(g, 0);
  memory.fill(0, sumsAt, sumsAt + 2 * n);
  kernel.sumRows(0, 4 * sumsAt, g.length / n, n);
  return Float32Array.from(new Float64Array(memory.buffer, 4 * sumsAt, n));
}

/**
 * Module 04's CrossEntropyLoss of logits [N, C] and integer labels [N], its exponentials on the
 * kernel's `expArray`; recorded as module 04 records it (labels and log-probabilities saved).
 * Null (module 04's loss runs, with its messages) for labels or logits it would reject or for
 * non-finite logits.
 */
function crossEntropySimd(kernel: SimdKernel, logits: Tensor, labels: Tensor): Tensor | null {
  if (logits.ndim !== 2 || labels.size !== logits.shape[0]) return null;
  const [n, c] = logits.shape;
  const ys = labels.data;
  for (let i = 0; i < n; i++) if (!(Number.isInteger(ys[i]) && ys[i] >= 0 && ys[i] < c)) return null;
  const size = n * c;
  const room = vectorFloats(size);
  if (c === 0 || 4 * 2 * room > SIMD_MAX_BYTES) return null;
  const memory = simdMemory(kernel, 2 * room);
  const x = logits.data;
  // Each row shifted by its maximum (so every exponential is at most 1), into the kernel.
  for (let r = 0; r < n; r++) {
    let max = -Infinity;
    for (let j = r * c; j < (r + 1) * c; j++) if (x[j] > max) max = x[j];
    if (!Number.isFinite(max)) return null;
    for (let j = r * c; j < (r + 1) * c; j++) memory[j] = x[j] - max;
  }
  kernel.expArray(0, 4 * room, size);
  const logp = new Float32Array(size);
  let total = 0;
  for (let r = 0; r < n; r++) {
    let sum = 0;
    for (let j = room + r * c; j < room + (r + 1) * c; j++) sum += memory[j];
    const logSum = Math.log(sum);
    for (let j = r * c; j < (r + 1) * c; j++) logp[j] = memory[j] - logSum;
    total -= logp[r * c + ys[r]];
  }
  return recordLoss(new Tensor(total / n), "crossEntropy", logits, () => [labels, new Tensor(logp, [n, c])]);
}

// %% [markdown]
// The kernels against the modules' own code, on milestone 05's shapes (batch 32 × context 64
// = 2048 positions, width 128, MLP width 512, 81 characters):

// %%
await demo("a transformer step's row operations in WebAssembly", async () => {
  const load = await loadSimdKernel();
  if (!load.kernel) {
    console.log(`SIMD kernel unavailable: ${load.reason}`);
    return;
  }
  const simd = load.kernel;
  const best = (fn: () => unknown): string => {
    let fastest = Infinity;
    for (let r = 0; r < 7; r++) {
      const t0 = performance.now();
      fn();
      fastest = Math.min(fastest, performance.now() - t0);
    }
    return `${fastest.toFixed(2)} ms`;
  };
  const hidden = Tensor.randn([2048, 512], 1);
  const rows = Tensor.randn([2048, 128], 2);
  const logits = Tensor.randn([2048, 81], 3);
  const labels = new Tensor(Float32Array.from({ length: 2048 }, (_, i) => (i * 7) % 81));
  const norm = new LayerNorm(128);
  assertClose(geluSimd(simd, hidden)?.data ?? [], fusedGelu(hidden).data, { rtol: 1e-5, atol: 1e-6 }, "the same GELU");
  assertClose(crossEntropySimd(simd, logits, labels)?.item() ?? NaN, new CrossEntropyLoss().forward(logits, labels).item(), { rtol: 1e-6 }, "the same loss");
  console.log(`GELU of [2048, 512]: ${best(() => fusedGelu(hidden))} in TypeScript, ${best(() => geluSimd(simd, hidden))} in WebAssembly`);
  console.log(`layer norm of [2048, 128]: ${best(() => layerNorm(rows, norm.weight, norm.bias))} in TypeScript, ${best(() => layerNormSimd(simd, rows, norm.weight, norm.bias, 1e-5))} in WebAssembly`);
  console.log(`cross-entropy of [2048, 81]: ${best(() => new CrossEntropyLoss().forward(logits, labels))} in TypeScript, ${best(() => crossEntropySimd(simd, logits, labels))} in WebAssembly`);
  console.log(`a residual add of two [2048, 128]: ${best(() => elementwiseKernel(rows, rows, (p, q) => p + q))} in TypeScript, ${best(() => elementwiseSimd(simd, "add", rows, rows))} in WebAssembly`);
});

// %% nbgrader={"grade": false, "grade_id": "acceleration-switch", "locked": true, "schema_version": 3, "solution": false, "task": false}
//| export
/** Which kernel enableAcceleration installed, and why not the SIMD one if it did not. */
interface AccelerationStatus {
  backend: "wasm-simd" | "typescript";
  reason?: string;
}

/** `(module (func (result v128) (i32x4.splat (i32.const 0))))`, assembled: valid only with SIMD. */
const SIMD_PROBE = Uint8Array.from([0, 97, 115, 109, 1, 0, 0, 0, 1, 5, 1, 96, 0, 1, 123, 3, 2, 1, 0, 10, 8, 1, 6, 0, 65, 0, 253, 17, 11]);

/** The process-wide SIMD kernel (assembled once) and the fallback reasons already printed. */
const accelerationState: { simd: Promise<SimdLoad> | null; announced: Set<string> } = { simd: null, announced: new Set() };

/**
 * Makes Tensor.matmul (and Linear) use the WebAssembly SIMD kernel, or the register-blocked
 * TypeScript kernel where SIMD cannot load (printing the reason once). `webAssembly` replaces the
 * runtime's WebAssembly object (null: none), to exercise the fallback.
 */
async function enableAcceleration(
  options: { webAssembly?: WebAssemblyApi | null; log?: (message: string) => void } = {},
): Promise<AccelerationStatus> {
  const api = options.webAssembly === undefined ? (globalThis as { WebAssembly?: WebAssemblyApi }).WebAssembly : (options.webAssembly ?? undefined);
  let load: SimdLoad;
  if (!api) load = { kernel: null, reason: "this runtime has no WebAssembly" };
  else if (!api.validate(SIMD_PROBE)) load = { kernel: null, reason: "this runtime's WebAssembly has no 128-bit SIMD" };
  else if (options.webAssembly !== undefined) load = await loadSimdKernel(api);
  else load = await (accelerationState.simd ??= loadSimdKernel(api));
  const simd = load.kernel;
  const kernel: MatmulKernel2d | MatmulKernelPair = simd
    ? { add: (x, y, out, offset) => matmulSimd(simd, x, y, out, offset), write: (x, y, out, offset) => matmulSimd(simd, x, y, out, offset, true) }
    : matmulRegisterBlocked;
  setMatmulBackend((a, b) => matmulWithKernel(a, b, kernel));
  registerRules({ matmul: matmulBackwardWith(kernel) });
  windowKernelSlot.im2col = simd ? (x, g) => im2colSimd(simd, x, g) : null;
  windowKernelSlot.col2im = simd ? (cols, g) => col2imSimd(simd, cols, g) : null;
  windowKernelSlot.maxPool2d = simd ? (x, g) => maxPool2dSimd(simd, x, g) : null;
  transformerKernelSlot.gelu = simd ? (x) => geluSimd(simd, x) : null;
  transformerKernelSlot.layerNorm = simd ? (x, w, b, eps) => layerNormSimd(simd, x, w, b, eps) : null;
  transformerKernelSlot.crossEntropy = simd ? (logits, labels) => crossEntropySimd(simd, logits, labels) : null;
  elementwiseBackendSlot.current = simd ? (op, a, b) => elementwiseSimd(simd, op, a, b) : null;
  linearKernelSlot.addBias = simd ? (rows, bias) => addBiasSimd(simd, rows, bias) : null;
  linearKernelSlot.sumBias = simd ? (g, n) => sumBiasSimd(simd, g, n) : null;
  registerRules({
    layerNorm: simd ? layerNormBackwardSimd(simd) : layerNormBackward,
    fusedGelu: simd ? fusedGeluBackwardSimd(simd) : fusedGeluBackward,
    maskedSoftmax: simd ? maskedSoftmaxBackwardSimd(simd) : maskedSoftmaxBackward,
  });
  if (simd) return { backend: "wasm-simd" };
  if (!accelerationState.announced.has(load.reason)) {
    accelerationState.announced.add(load.reason);
    (options.log ?? console.warn)(`tinytorch-ts: ${load.reason}; matmul uses the register-blocked TypeScript kernel instead`);
  }
  return { backend: "typescript", reason: load.reason };
}

/** Puts back module 01's kernels behind Tensor.matmul and the element-wise operations, module 06's matmul rule, module 09's window kernels, and modules 12 and 13's row kernels and rules. */
function disableAcceleration(): void {
  setMatmulBackend(null);
  registerRules({ matmul: matmulBackward });
  windowKernelSlot.im2col = null;
  windowKernelSlot.col2im = null;
  windowKernelSlot.maxPool2d = null;
  transformerKernelSlot.gelu = null;
  transformerKernelSlot.layerNorm = null;
  transformerKernelSlot.crossEntropy = null;
  elementwiseBackendSlot.current = null;
  linearKernelSlot.addBias = null;
  linearKernelSlot.sumBias = null;
  registerRules({ layerNorm: layerNormBackward, fusedGelu: fusedGeluBackward, maskedSoftmax: maskedSoftmaxBackward });
}

// %% [markdown]
// The switch at work on an MLP-sized layer: the same `Linear`, the same input, module 01's kernel
// against the accelerated one.

// %%
await demo("a Linear layer, accelerated", async () => {
  const layer = new Linear(784, 128, { seed: 0 });
  const x = Tensor.randn([256, 784], 1);
  const time = (): number => {
    let best = Infinity;
    for (let r = 0; r < 5; r++) {
      const t0 = performance.now();
      layer.forward(x);
      best = Math.min(best, performance.now() - t0);
    }
    return best;
  };
  disableAcceleration();
  const before = layer.forward(x);
  const plain = time();
  const status = await enableAcceleration();
  const after = layer.forward(x);
  const fast = time();
  disableAcceleration();
  assertClose(after.data, before.data, { rtol: 1e-4, atol: 1e-4 }, "same outputs");
  console.log(`Linear(784→128) on a batch of 256: ${plain.toFixed(2)} ms with module 01's kernel, ${fast.toFixed(2)} ms with ${status.backend} (${(plain / fast).toFixed(1)}x)`);
});

// %% [markdown]
// And the whole training step: milestone 03's digits MLP (784-128-10, Adam, batches of 64), one
// epoch on the 8,000 training digits with module 01's kernel and one with the switch on. The
// backward pass goes through the switch's matmul rule (`g @ Wᵀ`, `xᵀ @ g` on views), so it speeds
// up as well; what remains is element-wise work, the graph, and the optimizer. Same seed, same batches:
// the losses agree up to the order of float32 sums.

// %%
await demo("the digits MLP, accelerated", async () => {
  const { loadDigits, DataLoader } = await import("tinytorch-ts/data");
  const { Adam } = await import("tinytorch-ts/optim");
  const { trainEpoch } = await import("tinytorch-ts/training");
  const { Sequential } = await import("tinytorch-ts/core/layers");
  const { ReLU } = await import("tinytorch-ts/core/activations");
  const { train } = loadDigits();
  try {
    for (const accelerated of [false, true]) {
      const backend = accelerated ? (await enableAcceleration()).backend : "module 01";
      const model = new Sequential([new Linear(784, 128, { seed: 0 }), new ReLU(), new Linear(128, 10, { seed: 1 })]);
      const optimizer = new Adam(model.parameters(), { lr: 1e-3 });
      const loader = new DataLoader(train, { batchSize: 64, shuffle: true, seed: 0 });
      const t0 = performance.now();
      const stats = trainEpoch(model, loader, new CrossEntropyLoss(), optimizer);
      const seconds = (performance.now() - t0) / 1e3;
      console.log(`${backend.padEnd(10)} one epoch in ${seconds.toFixed(2)} s: loss ${stats.loss.toFixed(4)}, train accuracy ${(100 * stats.accuracy).toFixed(1)}%`);
    }
  } finally {
    disableAcceleration();
  }
});

// %% [markdown]
// ### Convolutions ride on the switch
//
// Module 09's `Conv2d` is `im2col` followed by one `Tensor.matmul` (`W2d @ cols`), and its
// backward pass is the matmul rule (`g @ colsᵀ` for the weight, summed over the batch, and
// `W2dᵀ @ g` for the columns). So the switch accelerates a convolution's forward and backward
// passes with no change to module 09. The test runs random convolutions (stride, padding, odd
// sizes, batches) on the TypeScript path, checks that the forward product goes through the
// installed backend and the backward one through the switch's rule, and checks the output and
// all three gradients against module 01's kernel and module 06's rule, and against float64.

// %% nbgrader={"grade": true, "grade_id": "test-unit-accelerated-conv", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
async function testUnitAcceleratedConv(): Promise<void> {
  const noSimd: WebAssemblyApi = {
    validate: () => false,
    Module: class {} as unknown as WebAssemblyApi["Module"],
    Instance: class {} as unknown as WebAssemblyApi["Instance"],
  };
  const conv = new Conv2d(2, 3, 3, { padding: 1, seed: 4 });
  const x = Tensor.randn([2, 2, 5, 5], 5);
  disableAcceleration();
  const plain = conv.forward(x);
  // The fallback's reason is announced once per process: forget it again afterwards, so that
  // the module test still sees its first announcement.
  const announcedBefore = new Set(accelerationState.announced);
  await enableAcceleration({ webAssembly: noSimd, log: () => undefined });
  try {
    const installed = setMatmulBackend(null);
    if (installed === null) throw new Error("enableAcceleration installed no backend");
    let products = 0;
    setMatmulBackend((a, b) => {
      products++;
      return installed(a, b);
    });
    const fast = conv.forward(x);
    assertClose(fast.data, plain.data, { rtol: 1e-4, atol: 1e-5 }, "Conv2d forward, accelerated and plain");
    assertEqual(products, 1, "the forward pass is one product through the switch");
    // ### BEGIN HIDDEN TESTS
    /** Oracle: a convolution's output and its gradients for the output gradient g, in float64. */
    function conv64(xs: ArrayLike<number>, [n, c, h, w]: number[], wt: ArrayLike<number>, o: number, k: number, b: ArrayLike<number>, s: number, p: number, g: ArrayLike<number>): number[][] {
      const ho = Math.floor((h + 2 * p - k) / s) + 1;
      const wo = Math.floor((w + 2 * p - k) / s) + 1;
      const y = new Array<number>(n * o * ho * wo).fill(0);
      const dx = new Array<number>(n * c * h * w).fill(0);
      const dw = new Array<number>(o * c * k * k).fill(0);
      const db = new Array<number>(o).fill(0);
      for (let a = 0; a < n; a++)
        for (let f = 0; f < o; f++)
          for (let i = 0; i < ho; i++)
            for (let j = 0; j < wo; j++) {
              const at = ((a * o + f) * ho + i) * wo + j;
              y[at] = b[f];
              db[f] += g[at];
              for (let ch = 0; ch < c; ch++)
                for (let u = 0; u < k; u++)
                  for (let v = 0; v < k; v++) {
                    const row = i * s + u - p;
                    const col = j * s + v - p;
                    if (row < 0 || row >= h || col < 0 || col >= w) continue;
                    const xi = ((a * c + ch) * h + row) * w + col;
                    const wi = ((f * c + ch) * k + u) * k + v;
                    y[at] += wt[wi] * xs[xi];
                    dx[xi] += wt[wi] * g[at];
                    dw[wi] += xs[xi] * g[at];
                  }
            }
      return [y, dx, dw, db];
    }
    const rc = testRandom("18/accelerated-conv");
    for (let trial = 0; trial < 3; trial++) {
      const [inC, outC, k] = [rc.int(1, 3), rc.int(1, 6), rc.int(1, 4)];
      const stride = rc.int(1, 2);
      const padding = rc.int(0, Math.min(2, k));
      const shape = [rc.int(2, 3), inC, rc.int(k, 9), rc.int(k, 9)];
      const layer = new Conv2d(inC, outC, k, { stride, padding, seed: rc.seed() });
      (layer.bias as Tensor).data.set(rc.numbers(outC));
      const input = new Tensor(Float32Array.from(rc.numbers(shape[0] * inC * shape[2] * shape[3])), shape);
      const label = `${layer.describe()} on [${shape}]`;
      const runs: number[][][] = [];
      for (const accelerated of [true, false]) {
        products = 0;
        if (!accelerated) disableAcceleration();
        const xg = input.clone().setRequiresGrad();
        layer.weight.grad = null;
        (layer.bias as Tensor).grad = null;
        const out = layer.forward(xg);
        const gradient = new Tensor(Float32Array.from(rc.numbers(out.size)), out.shape);
        out.backward(gradient);
        if (accelerated) assertEqual(products, 1, `${label}: the forward product through the backend`);
        assert((Tensor.backwardRules.get("matmul") === matmulBackward) === !accelerated, `${label}: ${accelerated ? "the switch's" : "module 06's"} matmul rule installed`);
        runs.push([Array.from(out.data), Array.from((xg.grad as Tensor).data), Array.from(layer.weight.grad?.data ?? []), Array.from((layer.bias as Tensor).grad?.data ?? []), Array.from(gradient.data)]);
      }
      const [fastRun, plainRun] = runs;
      assertClose(fastRun.slice(0, 4), conv64(input.data, shape, layer.weight.data, outC, k, (layer.bias as Tensor).data, stride, padding, fastRun[4]), { rtol: 1e-4, atol: 1e-4 }, `${label}: accelerated output, dL/dx, dL/dw, dL/db against float64`);
      assertClose(plainRun.slice(0, 4), conv64(input.data, shape, layer.weight.data, outC, k, (layer.bias as Tensor).data, stride, padding, plainRun[4]), { rtol: 1e-4, atol: 1e-4 }, `${label}: plain output and gradients against float64`);
      await enableAcceleration({ webAssembly: noSimd, log: () => undefined });
      const again = setMatmulBackend(null);
      setMatmulBackend((a, b) => {
        products++;
        return (again ?? installed)(a, b);
      });
    }
    // ### END HIDDEN TESTS
  } finally {
    disableAcceleration();
    for (const reason of [...accelerationState.announced]) if (!announcedBefore.has(reason)) accelerationState.announced.delete(reason);
  }
  passed("testUnitAcceleratedConv");
}
await testUnitAcceleratedConv();

// %% [markdown]
// ## Reflection
//
// ### Predict, then measure
//
// Write each number in its cell **before** you run the measurement below them.
//
// 1. **What blocking saves.** At 512×512×512 with a 32 KB L1, by how many times do tiles of 64
//    cut the bytes that cross into L1, compared with the i-k-j loop (your two traffic models)?
// 2. **A roof.** A core's SIMD compute peak is 32 GFLOP/s and its L1 delivers 60 GB/s to vector
//    loads and stores. At most how many GFLOP/s can a loop with the i-k-j loop's per-access
//    intensity reach under these two roofs?
// 3. **Estimates** (not graded: you will compare them with the measurement in Question 1). How
//    many times faster than `matmulIkj` do you expect `matmulBlocked` to be at 512, and
//    `matmulRegisterBlocked`?

// %% nbgrader={"grade": false, "grade_id": "predict-blocking-cut", "locked": false, "schema_version": 3, "solution": true, "task": false}
/** Your prediction: i-k-j's bytes into a 32 KB L1 at 512, divided by those of 64×64 tiles. */
function predictedBlockingCut(): number {
  // ### BEGIN SOLUTION
  // i-k-j: A once, C once, B once per row: 4n²(2 + n). Tiles: A once per column block (8), C
  // once per band (8), B once: 4n²(8 + 8 + 1). The ratio: 514 / 17.
  return 514 / 17;
  // ### END SOLUTION
}

// %% nbgrader={"grade": false, "grade_id": "predict-ikj-roof", "locked": false, "schema_version": 3, "solution": true, "task": false}
/** Your prediction: GFLOP/s attainable at i-k-j's per-access intensity, 32 GFLOP/s peak, 60 GB/s. */
function predictedIkjRoofGflops(): number {
  // ### BEGIN SOLUTION
  // 2 FLOPs per 12 bytes: I = 1/6, and min(32, 60 / 6) = 10: the slope, not the peak, binds.
  return Math.min(32, 60 / 6);
  // ### END SOLUTION
}

// %%
/** Your estimates (not graded): replace the zeros before running the next cell. */
const predictedBlockedSpeedup = 0; // matmulBlocked / matmulIkj at 512
const predictedRegisterSpeedup = 0; // matmulRegisterBlocked / matmulIkj at 512

// %%
await demo("measure the predictions", () => {
  const n = 512;
  const ikjBytes = matmulTraffic(n, n, n, 32 * 1024).memoryBytes;
  const tiledBytes = blockedTraffic(n, n, n, 64, 32 * 1024).memoryBytes;
  console.log(`bytes into L1: i-k-j ${(ikjBytes / 1e6).toFixed(0)} MB, tiles ${(tiledBytes / 1e6).toFixed(1)} MB: ${(ikjBytes / tiledBytes).toFixed(1)}x less (you predicted ${predictedBlockingCut().toFixed(1)}x)`);
  const roof = rooflinePlacement(2 / 12, { peakFlopsPerSecond: 32e9, bandwidthBytesPerSecond: 60e9 });
  console.log(`roof at I = 1/6 under 32 GFLOP/s and 60 GB/s: ${(roof.attainableFlopsPerSecond / 1e9).toFixed(1)} GFLOP/s, ${roof.bound} (you predicted ${predictedIkjRoofGflops()})`);
  const a = randomView(n, n, 1);
  const b = randomView(n, n, 2);
  const time = (kernel: MatmulKernel2d): number => {
    let best = Infinity;
    for (let r = 0; r < 3; r++) {
      const t0 = performance.now();
      kernel(a, b, new Float32Array(n * n), 0);
      best = Math.min(best, performance.now() - t0);
    }
    return best;
  };
  const ikj = time(matmulIkj);
  console.log(`matmulBlocked: ${(ikj / time(matmulBlocked)).toFixed(2)}x faster than i-k-j (you estimated ${predictedBlockedSpeedup}x)`);
  console.log(`matmulRegisterBlocked: ${(ikj / time(matmulRegisterBlocked)).toFixed(2)}x faster than i-k-j (you estimated ${predictedRegisterSpeedup}x)`);
});

// %% nbgrader={"grade": true, "grade_id": "test-unit-acceleration-predictions", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
function testUnitAccelerationPredictions(): void {
  // ### BEGIN HIDDEN TESTS
  check("what blocking saves", 1, () => {
    const n = 512;
    const ikj = 4 * n * n + 4 * n * n + 4 * n * n * n;
    const tiled = 4 * n * n * (n / 64) + 4 * n * n * (n / 64) + 4 * n * n;
    assertPrediction(predictedBlockingCut(), ikj / tiled, { rtol: 0.05 }, "bytes into L1, i-k-j over tiles of 64");
  });
  check("the i-k-j loop's roof", 1, () => {
    assertPrediction(predictedIkjRoofGflops(), Math.min(32, (2 / 12) * 60), { rtol: 0.05 }, "GFLOP/s at 1/6 FLOP/B under 32 GFLOP/s and 60 GB/s");
  });
  // ### END HIDDEN TESTS
  passed("testUnitAccelerationPredictions");
}
testUnitAccelerationPredictions();

// %%
//| mutation predict-blocking-cut compares the tiles with the minimum bytes instead of the i-k-j traffic
function predictedBlockingCut(): number {
  return (4 * 3 * 512 * 512) / (4 * 512 * 512 * 17);
}

// %%
//| mutation predict-blocking-cut counts only B's saving, as if A and C still came in once
function predictedBlockingCut(): number {
  return 514 / 3;
}

// %%
//| mutation predict-ikj-roof takes the larger of the two roofs instead of the smaller
function predictedIkjRoofGflops(): number {
  return Math.max(32, 60 / 6);
}

// %%
//| mutation predict-ikj-roof divides the bandwidth by the 12 bytes of a step, forgetting that a step is 2 FLOPs
function predictedIkjRoofGflops(): number {
  return Math.min(32, 60 / 12);
}

// %% [markdown] nbgrader={"grade": true, "grade_id": "explain-blocking-gain", "locked": false, "points": 2, "schema_version": 3, "solution": true, "task": false}
// **Question 1.** Tiles of 64 cut the bytes crossing into L1 about 30 times, yet `matmulBlocked`
// is hardly faster than `matmulIkj` (compare your estimate with the measurement). Explain why,
// using the roofs and the figures of the demo "roofline of the kernels". When would the same
// blocking pay off?
//
// ### BEGIN SOLUTION
// Beyond L1, i-k-j's intensity is about 0.5 FLOP/B. B (1 MB) is re-read from L2, whose
// bandwidth, measured with vector loads, is tens of GB/s: the slope allows 0.5 × that, tens of
// GFLOP/s, well above the scalar JavaScript peak of a few GFLOP/s. So i-k-j was already to the
// right of the ridge at this level: L2 traffic was never its limit, and moving it further right
// (to about 15 FLOP/B) cannot lift a roof it was not under. Both kernels run at well under one
// GFLOP/s, far below every roof, because they run the same innermost step: per 2 FLOPs a float32
// load and conversion of B, a load and conversion of C, a multiply, an add, a narrowing store,
// bounds checks and the loop counter. Their speed is set by the instructions per FLOP, which
// blocking does not change; the copy into the workspace even adds a little. Blocking pays when
// the memory slope binds: for a kernel whose compute roof is higher (the SIMD kernel, about ten
// times the scalar peak, has its ridge near 0.5 FLOP/B at L2 and at several FLOP/B from DRAM, so
// its driver blocks in depth bands and row groups), or when B no longer fits in L2/L3 (sizes of
// several thousand), where i-k-j would stream B from DRAM at about 10 GB/s for every row.
// ### END SOLUTION
//
// ### BEGIN RUBRIC
// 2 points: i-k-j is already right of the ridge beyond L1 (the L2 roof at 0.5 FLOP/B exceeds the
// scalar peak), so moving right changes no roof; both kernels are limited by the same innermost
// step's instructions (per-access level / instruction count), with the measured figures; and a
// case where blocking pays (higher compute roof such as SIMD, or B out of cache at large n).
// 1 point: the instruction/innermost-loop argument without the roofline one, or the reverse.
// ### END RUBRIC

// %% [markdown] nbgrader={"grade": true, "grade_id": "explain-circular-roof", "locked": false, "points": 2, "schema_version": 3, "solution": true, "task": false}
// **Question 2.** In Part 1 the i-k-j loop ran at about the speed of the scalar triad in L1 times
// 1/6. Why is that agreement no evidence that the loop is limited by L1's bandwidth? What
// measurement is evidence of a bandwidth limit, and what did the roofline demo show?
//
// ### BEGIN SOLUTION
// The scalar triad is a loop of the same shape, compiled by the same compiler to the same
// instructions: two float32 loads widened to doubles, a multiply, an add, a narrowing store,
// bounds checks. Timing it and timing the i-k-j inner loop measure the same thing twice, so
// their agreement only says that V8 runs both at the same speed per element; it would agree
// just as well if L1 were ten times faster. A roof has to be measured independently of the
// kernel, with the instructions that get the most out of the hardware: the vector triad in
// WebAssembly moves 16 bytes per load and store, and in L1 it reached many times the scalar
// triad's bandwidth. So L1 can deliver far more than the scalar loop asks for: the loop is
// limited by its instructions, not by the cache. Evidence of a bandwidth limit is a kernel that
// reaches a roof measured that way, or whose speed follows the bandwidth of the level its data
// sits in when the working set moves from L1 to L2 to DRAM (or hardware counters showing the
// cache's bandwidth used up). The SIMD kernel is the one that comes close to its roofs.
// ### END SOLUTION
//
// ### BEGIN RUBRIC
// 2 points: the scalar triad has the i-k-j loop's own instruction mix, so the comparison is
// circular (it measures V8's speed on that loop shape); an independent roof (the vector triad)
// is many times higher, so the scalar loop is instruction-bound; and a valid test of a
// bandwidth limit (reaching an independently measured roof, speed tracking the level of the
// working set, or counters). 1 point: the circularity without the independent measurement.
// ### END RUBRIC

// %% [markdown] nbgrader={"grade": true, "grade_id": "explain-register-spills", "locked": false, "points": 2, "schema_version": 3, "solution": true, "task": false}
// **Question 3.** x86-64 gives V8 16 XMM registers, and one step of your micro-kernel uses 16
// sums and 8 operands. What does V8 do with them? Why is the register-blocked kernel still
// several times faster than i-k-j (use your estimate, the measurement, and the "sums in an
// array" variant of the demo "TypeScript kernels at 512")? And why is the SIMD kernel's tile
// 4×8 rather than 8×8?
//
// ### BEGIN SOLUTION
// 24 values do not fit in 16 registers, so V8's optimizing compiler spills some of the sums to
// stack slots and loads and stores them every step (about 36 stack accesses per step in the code
// Node 20 generates). Stack slots are plain loads and stores that always hit L1, with no bounds
// check and no float32 conversion. Per 32 FLOPs the kernel does 8 array loads and 8 conversions
// and no array stores; i-k-j does, per 2 FLOPs, 2 array loads, 2 conversions, one narrowing
// store, their bounds checks and a loop step, several times more instructions per FLOP; hence
// the speed-up, smaller than a count of array loads (1 against 1/6 FLOP/B) would promise because
// of the spills. The array variant computes the same bits but keeps every sum in a JavaScript
// array: each += becomes an element load and store with their checks, and it is several times
// slower than the locals: where the sums live matters, even when they cannot all be in
// registers. The SIMD tile keeps 8 v128 sums, 2 B vectors and one splatted A value: 11 of the 16
// XMM registers, so its inner loop does not spill. An 8×8 tile would need 16 + 2 + 1 = 19
// registers and would spill in the innermost loop, giving back what the wider tile gains.
// ### END SOLUTION
//
// ### BEGIN RUBRIC
// 2 points: the sums do not all fit (24 > 16) and V8 spills some to the stack; the kernel is
// faster because of fewer instructions per FLOP (array loads, conversions, stores and checks per
// FLOP compared with i-k-j), and the array variant is slower because every update goes through
// memory with checks; the SIMD tile fits in the registers (11 ≤ 16) while 8×8 would not.
// 1 point: two of the three parts.
// ### END RUBRIC

// %% [markdown]
// ## Module test
// The switch, end to end, on the TypeScript path (the one every runtime has): the fallback is
// announced once, `Tensor.matmul` and `Linear` give the same numbers as module 01's kernel on
// batched, transposed, 1-D and odd-sized operands, and `disableAcceleration` restores module 01.

// %% nbgrader={"grade": true, "grade_id": "test-module-acceleration", "locked": true, "points": 4, "schema_version": 3, "solution": false, "task": false}
async function testModule(): Promise<void> {
  const noSimd: WebAssemblyApi = {
    validate: () => false,
    Module: class {} as unknown as WebAssemblyApi["Module"],
    Instance: class {} as unknown as WebAssemblyApi["Instance"],
  };
  const lines: string[] = [];
  const log = (line: string): void => {
    lines.push(line);
  };
  const status = await enableAcceleration({ webAssembly: noSimd, log });
  try {
    assertEqual(status.backend, "typescript");
    await enableAcceleration({ webAssembly: noSimd, log });
    assertEqual(lines.length, 1, "the fallback is announced once");
    assert(lines[0].includes("SIMD") && lines[0].includes("TypeScript"), `the announcement says why: ${lines[0]}`);
    const x = Tensor.randn([5, 7], 3);
    const w = Tensor.randn([7, 6], 4);
    const fast = x.matmul(w);
    disableAcceleration();
    assertClose(fast.data, x.matmul(w).data, { rtol: 1e-4, atol: 1e-4 }, "Tensor.matmul through the switch");
    // ### BEGIN HIDDEN TESTS
    const layer = new Linear(9, 5, { seed: 2 });
    const input = Tensor.randn([3, 4, 9], 5);
    const plainLayer = layer.forward(input);
    const plainBatch = Tensor.randn([2, 1, 3, 7], 6).matmul(Tensor.randn([4, 7, 5], 7));
    const plainVector = new Tensor([1, 2, 3]).matmul(Tensor.randn([3, 4], 8));
    const t = Tensor.randn([6, 7], 9).transpose();
    const plainTransposed = t.matmul(Tensor.randn([6, 3], 10));
    await enableAcceleration({ webAssembly: null, log });
    assertEqual(lines.length, 2, "a different reason is announced once too");
    assert(lines[1].includes("no WebAssembly"), lines[1]);
    assertClose(layer.forward(input).data, plainLayer.data, { rtol: 1e-4, atol: 1e-4 }, "Linear on a batch");
    const batch = Tensor.randn([2, 1, 3, 7], 6).matmul(Tensor.randn([4, 7, 5], 7));
    assertShape(batch.shape, [2, 4, 3, 5]);
    assertClose(batch.data, plainBatch.data, { rtol: 1e-4, atol: 1e-4 }, "broadcast batch");
    const vector = new Tensor([1, 2, 3]).matmul(Tensor.randn([3, 4], 8));
    assertShape(vector.shape, [4]);
    assertClose(vector.data, plainVector.data, { rtol: 1e-4, atol: 1e-4 }, "1-D @ 2-D");
    assertClose(t.matmul(Tensor.randn([6, 3], 10)).data, plainTransposed.data, { rtol: 1e-4, atol: 1e-4 }, "transposed operand");
    // A strided operand straight into the backend slot: the transpose of a stored [7, 6] matrix.
    const stored = Tensor.randn([7, 6], 11);
    const view: StridedTensor = { data: stored.data, shape: [6, 7], strides: [1, 6] };
    const viaView = matmulWithKernel(view, Tensor.randn([7, 2], 12), matmulRegisterBlocked);
    assertClose(viaView.data, stored.transpose().matmul(Tensor.randn([7, 2], 12)).data, { rtol: 1e-4, atol: 1e-4 }, "a strided view");
    assertThrows(() => Tensor.ones([2, 3]).matmul(Tensor.ones([2, 3])), "[2, 3] and [2, 3]");
    assertEqual(new Tensor([1, 2, 3]).matmul(new Tensor([1, 1, 1])).item(), 6, "vector @ vector");
    assertShape(Tensor.zeros([0, 3]).matmul(Tensor.ones([3, 4])).shape, [0, 4]);
    assertEqual(Tensor.zeros([2, 0]).matmul(Tensor.zeros([0, 3])).toArray(), [[0, 0, 0], [0, 0, 0]], "empty inner dimension");
    // Seeded, end to end through the switch (TypeScript path): random batched products, a
    // transposed operand and a random Linear layer, against float64 computed here.
    const rmod = testRandom("18/module");
    const dot64 = (a: Float32Array, aAt: number, aRow: number, aCol: number, b: Float32Array, bAt: number, bRow: number, bCol: number, m: number, k: number, n: number): number[] => {
      const out: number[] = [];
      for (let i = 0; i < m; i++) {
        for (let j = 0; j < n; j++) {
          let sum = 0;
          for (let p = 0; p < k; p++) sum += a[aAt + i * aRow + p * aCol] * b[bAt + p * bRow + j * bCol];
          out.push(sum);
        }
      }
      return out;
    };
    for (let trial = 0; trial < 3; trial++) {
      const [batchSize, m, k, n] = [rmod.int(1, 3), rmod.int(1, 13), rmod.int(1, 13), rmod.int(1, 13)];
      const left = new Tensor(Float32Array.from(rmod.numbers(batchSize * m * k)), [batchSize, m, k]);
      const right = new Tensor(Float32Array.from(rmod.numbers(k * n)), [k, n]);
      const product = left.matmul(right);
      assertShape(product.shape, [batchSize, m, n], "a random batched product: shape");
      assertClose(
        product.data,
        Array.from({ length: batchSize }, (_, s) => dot64(left.data, s * m * k, k, 1, right.data, 0, n, 1, m, k, n)).flat(),
        { rtol: 1e-4, atol: 1e-4 },
        "a random batched product through Tensor.matmul",
      );
      const stored = new Tensor(Float32Array.from(rmod.numbers(k * m)), [k, m]);
      assertClose(
        stored.transpose().matmul(right).data,
        dot64(stored.data, 0, 1, m, right.data, 0, n, 1, m, k, n),
        { rtol: 1e-4, atol: 1e-4 },
        "a random transposed operand",
      );
    }
    const [inFeatures, outFeatures, rows] = [rmod.int(1, 20), rmod.int(1, 20), rmod.int(1, 9)];
    const randomLayer = new Linear(inFeatures, outFeatures, { seed: rmod.seed() });
    const xs = new Tensor(Float32Array.from(rmod.numbers(rows * inFeatures)), [rows, inFeatures]);
    assertClose(
      randomLayer.forward(xs).data,
      dot64(xs.data, 0, inFeatures, 1, randomLayer.weight.data, 0, outFeatures, 1, rows, inFeatures, outFeatures).map(
        (v, e) => v + (randomLayer.bias === null ? 0 : randomLayer.bias.data[e % outFeatures]),
      ),
      { rtol: 1e-4, atol: 1e-4 },
      "a random Linear layer through the switch",
    );
    // ### END HIDDEN TESTS
  } finally {
    disableAcceleration();
  }
  passed("testModule (acceleration)");
}
await testModule();

// %% [markdown]
// ## Summary
//
// - **The i-k-j loop is a triad.** Its innermost step moves 12 bytes for 2 FLOPs (1/6 FLOP/B
//   per access), and for a matrix B larger than L1 it streams all of B in again for every row of
//   A (about 0.5 FLOP/B beyond L1 at 512, from L2, where a 1 MB B lives). Measured against
//   roofs that are independent of it, neither limits it in JavaScript: it is bound by the
//   instructions V8 runs per element. A roof measured with a loop of the kernel's own shape
//   (the scalar triad) cannot tell you that: it is the same loop timed twice.
// - **Cache blocking** makes a tile of B stay in L1 for every row of A: your model shows the
//   bytes crossing into L1 cut about 30 times at 512 (0.5 to 15 FLOP/B): the kernel moves right
//   on the roofline. Copying the tile through a workspace also absorbs any strides. It pays
//   where the memory slope binds: faster kernels, or data beyond the caches.
// - **Register blocking** computes a 4×4 block of C in 16 local variables: 8 array loads for 32
//   FLOPs. Not all of them fit in x86-64's 16 XMM registers with the operands; V8 spills some to
//   the stack, and the kernel still wins because it runs far fewer instructions per FLOP. It
//   needs its operands **packed** into panels, a one-pass O(n²) copy for O(n³) work.
// - **SIMD** does each multiply and add on four lanes; the WebAssembly micro-kernel keeps a
//   4×8 block in eight `v128` registers and walks panels in BLAS order (depth bands for L1,
//   row groups for L2). This is how TensorFlow.js's WASM backend (XNNPACK) gets its speed.
// - **Then the time moves.** Once the inner loop is fast, packing and unpacking in TypeScript
//   took a third of a 512 product; a memcpy plus packing and adding inside WebAssembly took it
//   back. Profile the whole call, not only the loop you are proud of.
// - **Threads** split the rows of C over workers sharing memory; the gain is bounded by
//   duplicated packing, shared bandwidth, start-up costs and a busy machine.
// - **One switch** (`enableAcceleration`) puts the fastest available kernel behind
//   `Tensor.matmul` and every `Linear`, and falls back, saying why, where SIMD is missing.
// - **Then the rest of the step.** With the products at the machine's SIMD ceiling, a transformer
//   step's time went to `Math.exp` (a C call per number), callbacks per element and copies. The
//   switch fills slots the earlier modules left for it (element-wise arithmetic, `linear`'s
//   bias, GELU, layer norm, the loss) and replaces three backward rules; what it cannot reach is
//   your own code that calls your own functions by name.
//
// `npm run bench:accel` measures every step side by side with TensorFlow.js's CPU and WASM
// backends, and places each on this machine's roofline.
