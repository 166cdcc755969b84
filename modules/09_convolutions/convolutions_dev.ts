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
// # Module 09: Convolutions
//
// The MLP of milestone 03 reads a digit as 784 unrelated numbers. Shift the digit by one pixel
// and, to the network, every input has changed; a stroke it learned to see in the top-left
// corner means nothing to it in the bottom-right one. Images have structure that a `Linear`
// layer ignores: nearby pixels belong together, and a pattern means the same thing wherever it
// appears.
//
// A **convolution** builds both facts in. It slides a small filter (5×5, say) over the image and
// computes one weighted sum per position: each output looks at a small neighbourhood only
// (**locality**), and every position uses the same filter (**weight sharing**). A
// `Conv2d(1 → 8, 5×5)` has 208 parameters where a `Linear(784 → 128)` has 100,480, and what it
// learns to detect it detects everywhere. LeCun, Bottou, Bengio and Haffner's LeNet (1998)
// stacked convolutions, pooling and a small classifier and read the cheques of American banks;
// milestone 04 trains its descendant on our digits.
//
// ### Layout: NCHW
// A batch of images is a 4-D tensor `[N, C, H, W]`: N images, C channels (1 for grey digits, 3
// for colour, 8 or 16 for the feature maps inside a network), H rows, W columns, the last axis
// contiguous. This is PyTorch's layout, and we use its parameter shapes too: a convolution's
// weight is `[out, in, k, k]`, its bias `[out]`.
//
// | you build | why |
// |---|---|
// | `conv2dDirect` | the convolution by its definition: seven nested loops, and what they cost |
// | `im2col` | copy every patch into a column, so the convolution becomes **one matrix product** |
// | `col2im` | the backward pass of `im2col`: overlapping patches add their gradients |
// | `Conv2d` | the layer: `im2col`, then `Tensor.matmul`, then a bias; autograd does the rest |
// | `maxPool2dKernel`, `maxPool2dBackward` | the largest value of each window, and its gradient routed to where it came from |
// | `BatchNorm2d`, `batchNorm2dBackward` | per-channel normalisation with PyTorch's running statistics, and its full backward pass |
//
// `AvgPool2d` (worked example) and `Flatten` are given. Everything lands in
// `tinytorch-ts/core/conv`.
//
// ### What you will learn
// - how a sliding window's output size follows from kernel, stride and padding;
// - why the direct loop is slow, and how `im2col` turns a convolution into a GEMM, at the price
//   of memory (you will measure both);
// - the backward pass of each operation, checked against finite differences;
// - why batch normalization behaves differently in training and in evaluation.

// %%
//| default_exp core.conv

// %%
//| export
import { Rng, Tensor, formatShape, shapeSize, type OpArgs, type RawTensor } from "tinytorch-ts/core/tensor";
import { Layer } from "tinytorch-ts/core/layers";
import { registerRules } from "tinytorch-ts/core/autograd";

// %% nbgrader={"grade": false, "grade_id": "conv-test-helpers", "locked": true, "schema_version": 3, "solution": false, "task": false}
// Notebook-only imports and test helpers (not part of the package).
import { matmulKernel, setMatmulBackend } from "tinytorch-ts/core/tensor";
import { ReLU } from "tinytorch-ts/core/activations";
import { Linear, Sequential, countParameters } from "tinytorch-ts/core/layers";
import { CrossEntropyLoss } from "tinytorch-ts/core/losses";
import { Adam } from "tinytorch-ts/optim";
import {
  assert,
  assertClose,
  assertEqual,
  assertPrediction,
  assertShape,
  assertThrows,
  check,
  demo,
  passed,
  testRandom,
  type TestRandom,
} from "tinytorch-ts/support/testing";

/** A tensor of `shape` with values drawn uniformly in [lo, hi) from a test's random stream. */
function randomTensor(r: TestRandom, shape: number[], lo = -1, hi = 1): Tensor {
  return new Tensor(Float32Array.from(r.numbers(shapeSize(shape), lo, hi)), shape);
}

/**
 * Central differences of a float64 function `f` at `x`, one coordinate at a time. The tests
 * give it their own float64 version of the operation, so the student's code is never the
 * reference for its own gradient.
 */
function centralDifferences(f: (x: Float64Array) => number, x: ArrayLike<number>, h = 1e-5): number[] {
  const at = Float64Array.from(x);
  const out: number[] = [];
  for (let i = 0; i < at.length; i++) {
    const keep = at[i];
    const step = h * Math.max(1, Math.abs(keep));
    at[i] = keep + step;
    const up = f(at);
    at[i] = keep - step;
    const down = f(at);
    at[i] = keep;
    out.push((up - down) / (2 * step));
  }
  return out;
}

/** Σ weights[i] · values[i] in float64: turns an operation's output into the scalar a test differentiates. */
function weightedSum(values: ArrayLike<number>, weights: ArrayLike<number>): number {
  let total = 0;
  for (let i = 0; i < values.length; i++) total += values[i] * weights[i];
  return total;
}

// %% [markdown]
// ## Part 1: The geometry of a sliding window
//
// A window of `k`×`k` cells slides over an image of `H` rows, `stride` cells at a time, after
// `padding` rows (and columns) of zeros were added on **every** side. Along one axis it fits at
//
// ```
// Ho = ⌊(H + 2·padding − k) / stride⌋ + 1
// ```
//
// positions (the floor drops a last partial window, as PyTorch does). Output position `i` looks
// at input rows `i·stride − padding` to `i·stride − padding + k − 1`; rows outside `0..H−1` are
// padding and read as 0. Two common cases: `k = 5`, stride 1, no padding shrinks 28 rows to 24
// ("valid"); `k = 3`, stride 1, padding 1 keeps the size ("same").
//
// Every kernel of this module needs the same nine numbers, so they travel together as a
// `ConvGeometry`. Pooling layers use it too, with padding 0.

// %% nbgrader={"grade": false, "grade_id": "conv-geometry", "locked": true, "schema_version": 3, "solution": false, "task": false}
//| export
/** Positions of a `kernel`-wide window sliding by `stride` over `size` cells padded by `padding` on both sides. */
function convOutputSize(size: number, kernel: number, stride: number, padding: number): number {
  const positions = Math.floor((size + 2 * padding - kernel) / stride) + 1;
  if (positions < 1) {
    throw new Error(`a ${kernel}×${kernel} window does not fit in ${size} cells padded by ${padding}`);
  }
  return positions;
}

/** One sliding-window operation on an NCHW input: the input's sizes, the window's, and the output's. */
interface ConvGeometry {
  readonly batch: number;
  readonly channels: number;
  readonly height: number;
  readonly width: number;
  readonly kernel: number;
  readonly stride: number;
  readonly padding: number;
  readonly outHeight: number;
  readonly outWidth: number;
}

/** The geometry of a `kernel`×`kernel` window over an [N, C, H, W] input; throws on anything else. */
function convGeometry(shape: readonly number[], kernel: number, stride = 1, padding = 0): ConvGeometry {
  if (shape.length !== 4) {
    throw new Error(`expected an NCHW input [N, C, H, W], got shape ${formatShape(shape)}`);
  }
  const wholeAtLeast = (value: number, min: number, what: string): void => {
    if (!Number.isInteger(value) || value < min) throw new Error(`${what} must be an integer >= ${min}, got ${value}`);
  };
  wholeAtLeast(kernel, 1, "kernel size");
  wholeAtLeast(stride, 1, "stride");
  wholeAtLeast(padding, 0, "padding");
  const [batch, channels, height, width] = shape;
  return {
    batch,
    channels,
    height,
    width,
    kernel,
    stride,
    padding,
    outHeight: convOutputSize(height, kernel, stride, padding),
    outWidth: convOutputSize(width, kernel, stride, padding),
  };
}

/** Throws unless `t` has `shape` (a kernel handed a tensor that does not match its geometry). */
function checkShapeIs(t: RawTensor, shape: readonly number[], what: string): void {
  const same = t.shape.length === shape.length && t.shape.every((d, i) => d === shape[i]);
  if (!same || t.data.length !== shapeSize(shape)) {
    throw new Error(`${what}: expected shape ${formatShape(shape)}, got ${formatShape(t.shape)}`);
  }
}

// %% [markdown]
// ## Part 2: The direct loop
//
// For an input `x` of shape `[N, C, H, W]`, a weight `w` of shape `[O, C, k, k]` (O filters, each
// looking at all C input channels) and a bias `b` of shape `[O]`, output channel `o` of image `n`
// at position `(i, j)` is
//
// ```
// out[n, o, i, j] = b[o] + Σ_c Σ_p Σ_q  w[o, c, p, q] · x[n, c, i·s + p − pad, j·s + q − pad]
// ```
//
// with `x` read as 0 outside the image. (Mathematicians would call this a cross-correlation:
// the filter is not flipped. Every deep-learning library computes this and calls it
// convolution; since the filter is learned, the flip would change nothing.)
//
// Each output is a dot product of length `C·k·k`: `C·k·k` multiplications and as many additions
// counting the bias, so a convolution costs `2·N·O·Ho·Wo·C·k·k` FLOPs, the same convention as
// module 14's `2·in·out` for a `Linear` layer.
//
// ### Exercise 1: `conv2dDirect`
//
// **TODO**: Compute the convolution straight from the formula, one output at a time, on raw
// tensors (`{ data, shape }`, row-major, like module 01's kernels).
//
// **APPROACH**:
// 1. The checks and the geometry `g` are given. Allocate the output `[N, O, Ho, Wo]`.
// 2. Loop over `n`, `o`, `i`, `j`; start the sum at the bias (or 0), then loop over `c`, `p`, `q`
//    and add `w · x` for every input cell that lies inside the image.
// 3. Return `{ data, shape }`.
//
// **HINTS**:
// - Write the flat index of `x[n, c, r, s]` and of `w[o, c, p, q]` from the shapes before you
//   write the loops (module 01: row-major strides).
// - A padded cell contributes nothing: skipping it is the same as multiplying by 0.
// - Which input row does output row `i` read first when `padding` is 2? Check your formula on
//   `i = 0`.

// %% nbgrader={"grade": false, "grade_id": "conv2d-direct", "locked": false, "schema_version": 3, "solution": true, "task": false}
//| export
/** The convolution by its definition: x [N, C, H, W], weight [O, C, k, k], bias [O] or null; out [N, O, Ho, Wo]. */
function conv2dDirect(x: RawTensor, weight: RawTensor, bias: RawTensor | null, stride = 1, padding = 0): RawTensor {
  if (weight.shape.length !== 4 || weight.shape[2] !== weight.shape[3]) {
    throw new Error(`conv2d: the weight must have shape [O, C, k, k], got ${formatShape(weight.shape)}`);
  }
  const [outChannels, weightChannels, kernel] = weight.shape;
  const g = convGeometry(x.shape, kernel, stride, padding);
  if (weightChannels !== g.channels) {
    throw new Error(`conv2d: the weight expects ${weightChannels} input channels, the input ${formatShape(x.shape)} has ${g.channels}`);
  }
  if (bias !== null && bias.data.length !== outChannels) {
    throw new Error(`conv2d: ${outChannels} filters but a bias of shape ${formatShape(bias.shape)}`);
  }
  // ### BEGIN SOLUTION
  const { batch, channels, height, width, outHeight, outWidth } = g;
  const out = new Float32Array(batch * outChannels * outHeight * outWidth);
  let at = 0;
  for (let n = 0; n < batch; n++) {
    for (let o = 0; o < outChannels; o++) {
      for (let i = 0; i < outHeight; i++) {
        for (let j = 0; j < outWidth; j++) {
          let sum = bias === null ? 0 : bias.data[o];
          for (let c = 0; c < channels; c++) {
            for (let p = 0; p < kernel; p++) {
              const row = i * stride + p - padding;
              if (row < 0 || row >= height) continue;
              for (let q = 0; q < kernel; q++) {
                const col = j * stride + q - padding;
                if (col < 0 || col >= width) continue;
                sum += weight.data[((o * channels + c) * kernel + p) * kernel + q] * x.data[((n * channels + c) * height + row) * width + col];
              }
            }
          }
          out[at++] = sum;
        }
      }
    }
  }
  return { data: out, shape: [batch, outChannels, outHeight, outWidth] };
  // ### END SOLUTION
}

// %% nbgrader={"grade": true, "grade_id": "test-unit-conv2d-direct", "locked": true, "points": 3, "schema_version": 3, "solution": false, "task": false}
function testUnitConv2dDirect(): void {
  // A 3×3 image of 1..9 and a 2×2 filter that adds the top-left and bottom-right cells.
  const image = { data: Float32Array.from([1, 2, 3, 4, 5, 6, 7, 8, 9]), shape: [1, 1, 3, 3] };
  const diagonal = { data: Float32Array.from([1, 0, 0, 1]), shape: [1, 1, 2, 2] };
  const valid = conv2dDirect(image, diagonal, null);
  assertShape(valid.shape, [1, 1, 2, 2], "3×3 image, 2×2 filter: 2×2 positions");
  assertEqual(Array.from(valid.data), [6, 8, 12, 14], "1+5, 2+6, 4+8, 5+9");
  const bias = { data: Float32Array.from([10]), shape: [1] };
  assertEqual(Array.from(conv2dDirect(image, diagonal, bias, 1, 1).data), [11, 12, 13, 10, 14, 16, 18, 13, 17, 22, 24, 16, 10, 17, 18, 19], "padding 1 and a bias of 10");
  assertEqual(Array.from(conv2dDirect(image, diagonal, null, 2, 1).data), [1, 3, 7, 14], "stride 2, padding 1");
  assertThrows(() => conv2dDirect({ data: new Float32Array(18), shape: [1, 2, 3, 3] }, diagonal, null), "input channels");
  // ### BEGIN HIDDEN TESTS
  /** Oracle: the convolution in float64, from the formula. */
  function conv64(x: ArrayLike<number>, [n, c, h, w]: number[], wt: ArrayLike<number>, o: number, k: number, b: ArrayLike<number> | null, s: number, p: number): number[] {
    const ho = Math.floor((h + 2 * p - k) / s) + 1;
    const wo = Math.floor((w + 2 * p - k) / s) + 1;
    const out: number[] = [];
    for (let a = 0; a < n; a++)
      for (let f = 0; f < o; f++)
        for (let i = 0; i < ho; i++)
          for (let j = 0; j < wo; j++) {
            let sum = b === null ? 0 : b[f];
            for (let ch = 0; ch < c; ch++)
              for (let u = 0; u < k; u++)
                for (let v = 0; v < k; v++) {
                  const row = i * s + u - p;
                  const col = j * s + v - p;
                  if (row >= 0 && row < h && col >= 0 && col < w) sum += wt[((f * c + ch) * k + u) * k + v] * x[((a * c + ch) * h + row) * w + col];
                }
            out.push(sum);
          }
    return out;
  }
  const r = testRandom("09/conv2d-direct");
  for (let trial = 0; trial < 6; trial++) {
    const k = r.int(1, 4);
    const stride = r.int(1, 3);
    const padding = r.int(0, Math.min(2, k));
    const shape = [r.int(1, 3), r.int(1, 3), r.int(k, 9), r.int(k, 9)];
    const o = r.int(1, 4);
    const x = randomTensor(r, shape);
    const w = randomTensor(r, [o, shape[1], k, k]);
    const b = r.bool(0.7) ? randomTensor(r, [o]) : null;
    const got = conv2dDirect(x, w, b, stride, padding);
    const label = `x [${shape}], weight [${o}, ${shape[1]}, ${k}, ${k}], stride ${stride}, padding ${padding}${b === null ? ", no bias" : ""}`;
    assertShape(got.shape, [shape[0], o, Math.floor((shape[2] + 2 * padding - k) / stride) + 1, Math.floor((shape[3] + 2 * padding - k) / stride) + 1], `${label}: shape`);
    assertClose(Array.from(got.data), conv64(x.data, shape, w.data, o, k, b === null ? null : b.data, stride, padding), { rtol: 1e-5, atol: 1e-5 }, `${label}: values`);
  }
  const c = r.int(1, 3);
  assertThrows(() => conv2dDirect(randomTensor(r, [1, c, 5, 5]), randomTensor(r, [2, c + 1, 3, 3]), null), "input channels", "a random channel mismatch");
  assertThrows(() => conv2dDirect(randomTensor(r, [1, c, 5, 5]), randomTensor(r, [2, c, 3, 3]), randomTensor(r, [3])), "bias", "a bias of the wrong length");
  // ### END HIDDEN TESTS
  passed("testUnitConv2dDirect");
}
testUnitConv2dDirect();

// %%
//| mutation conv2d-direct pads only the bottom and right (reads row i·s + p)
function conv2dDirect(x: RawTensor, weight: RawTensor, bias: RawTensor | null, stride = 1, padding = 0): RawTensor {
  const [outChannels, , kernel] = weight.shape;
  const { batch, channels, height, width, outHeight, outWidth } = convGeometry(x.shape, kernel, stride, padding);
  const out = new Float32Array(batch * outChannels * outHeight * outWidth);
  let at = 0;
  for (let n = 0; n < batch; n++)
    for (let o = 0; o < outChannels; o++)
      for (let i = 0; i < outHeight; i++)
        for (let j = 0; j < outWidth; j++) {
          let sum = bias === null ? 0 : bias.data[o];
          for (let c = 0; c < channels; c++)
            for (let p = 0; p < kernel; p++)
              for (let q = 0; q < kernel; q++) {
                const row = i * stride + p;
                const col = j * stride + q;
                if (row < height && col < width) sum += weight.data[((o * channels + c) * kernel + p) * kernel + q] * x.data[((n * channels + c) * height + row) * width + col];
              }
          out[at++] = sum;
        }
  if (weight.shape[1] !== channels) throw new Error("conv2d: input channels");
  if (bias !== null && bias.data.length !== outChannels) throw new Error("conv2d: bias");
  return { data: out, shape: [batch, outChannels, outHeight, outWidth] };
}

// %%
//| mutation conv2d-direct ignores the stride when reading the input
function conv2dDirect(x: RawTensor, weight: RawTensor, bias: RawTensor | null, stride = 1, padding = 0): RawTensor {
  const [outChannels, , kernel] = weight.shape;
  const { batch, channels, height, width, outHeight, outWidth } = convGeometry(x.shape, kernel, stride, padding);
  if (weight.shape[1] !== channels) throw new Error("conv2d: input channels");
  if (bias !== null && bias.data.length !== outChannels) throw new Error("conv2d: bias");
  const out = new Float32Array(batch * outChannels * outHeight * outWidth);
  let at = 0;
  for (let n = 0; n < batch; n++)
    for (let o = 0; o < outChannels; o++)
      for (let i = 0; i < outHeight; i++)
        for (let j = 0; j < outWidth; j++) {
          let sum = bias === null ? 0 : bias.data[o];
          for (let c = 0; c < channels; c++)
            for (let p = 0; p < kernel; p++)
              for (let q = 0; q < kernel; q++) {
                const row = i + p - padding;
                const col = j + q - padding;
                if (row >= 0 && row < height && col >= 0 && col < width) sum += weight.data[((o * channels + c) * kernel + p) * kernel + q] * x.data[((n * channels + c) * height + row) * width + col];
              }
          out[at++] = sum;
        }
  return { data: out, shape: [batch, outChannels, outHeight, outWidth] };
}

// %%
//| mutation conv2d-direct reads the filter transposed (w[o, c, q, p])
function conv2dDirect(x: RawTensor, weight: RawTensor, bias: RawTensor | null, stride = 1, padding = 0): RawTensor {
  const [outChannels, , kernel] = weight.shape;
  const { batch, channels, height, width, outHeight, outWidth } = convGeometry(x.shape, kernel, stride, padding);
  if (weight.shape[1] !== channels) throw new Error("conv2d: input channels");
  if (bias !== null && bias.data.length !== outChannels) throw new Error("conv2d: bias");
  const out = new Float32Array(batch * outChannels * outHeight * outWidth);
  let at = 0;
  for (let n = 0; n < batch; n++)
    for (let o = 0; o < outChannels; o++)
      for (let i = 0; i < outHeight; i++)
        for (let j = 0; j < outWidth; j++) {
          let sum = bias === null ? 0 : bias.data[o];
          for (let c = 0; c < channels; c++)
            for (let p = 0; p < kernel; p++)
              for (let q = 0; q < kernel; q++) {
                const row = i * stride + p - padding;
                const col = j * stride + q - padding;
                if (row >= 0 && row < height && col >= 0 && col < width) sum += weight.data[((o * channels + c) * kernel + q) * kernel + p] * x.data[((n * channels + c) * height + row) * width + col];
              }
          out[at++] = sum;
        }
  return { data: out, shape: [batch, outChannels, outHeight, outWidth] };
}

// %% [markdown]
// ### What the direct loop costs
//
// LeNet's second convolution (8 → 16 channels, 5×5, on 12×12 feature maps) for one batch of 64
// digits is 26 million FLOPs. Module 01's matmul loop reached a few GFLOP/s; see what the seven
// loops reach. The innermost loop runs only `k = 5` times, every read of `x` is guarded by two
// bounds checks and lands `W` floats away from the previous row's, and each filter value is
// loaded again for every output position.

// %%
await demo("the direct loop's speed", () => {
  const x = Tensor.randn([64, 8, 12, 12], 1);
  const w = Tensor.randn([16, 8, 5, 5], 2);
  const b = Tensor.randn([16], 3);
  const flops = 2 * 64 * 16 * 8 * 8 * 8 * 25;
  conv2dDirect(x, w, b);
  let best = Infinity;
  for (let r = 0; r < 3; r++) {
    const t0 = performance.now();
    conv2dDirect(x, w, b);
    best = Math.min(best, performance.now() - t0);
  }
  console.log(`conv 8→16, 5×5, batch 64: ${(flops / 1e6).toFixed(1)} MFLOP in ${best.toFixed(1)} ms = ${(flops / best / 1e6).toFixed(2)} GFLOP/s`);
});

// %% [markdown]
// ## Part 3: im2col, or convolution as one matrix product
//
// Look at the formula again: for a fixed image `n` and position `(i, j)`, the `C·k·k` input
// values under the window form a vector (a **patch**), and every filter `o` takes its dot
// product with that same patch. Write each patch as a **column** of a matrix `cols[n]` of shape
// `[C·k·k, Ho·Wo]` (one column per output position), and each filter as a **row** of
// `W2d = w.reshape([O, C·k·k])`. Then
//
// ```
// out[n] = W2d @ cols[n]          [O, C·k·k] @ [C·k·k, Ho·Wo] = [O, Ho·Wo]
// ```
//
// and `[O, Ho·Wo]` **is** image `n`'s output in NCHW, already in place: no transpose, no copy.
// For the whole batch, `cols` is `[N, C·k·k, Ho·Wo]` and `W2d @ cols` is one batched matmul
// (module 01 broadcasts `W2d` over the batch). The seven loops have become a GEMM, the most
// optimised routine in computing: module 18's kernels run it many times faster than any loop we
// could write by hand here.
//
// The rows of a patch must be in the order `w.reshape` lays out a filter: channel first, then
// kernel row, then kernel column. Row `(c·k + p)·k + q` of `cols[n]`, column `i·Wo + j`, holds
//
// ```
// x[n, c, i·s + p − pad, j·s + q − pad]        (0 in the padding)
// ```
//
// The price is memory: every input value is copied into up to `k·k` columns (for stride 1), so
// `cols` is about `k²/s²` times the input. We will measure both sides of that trade.
//
// ### Exercise 2: `im2col`
//
// **TODO**: Build `cols` of shape `[N, C·k·k, Ho·Wo]` from `x` and the geometry `g`. (The given
// first line throws `im2col: expected shape …` when `x` does not have the shape `g` describes.)
//
// **APPROACH**:
// 1. Allocate `N · C·k·k · Ho·Wo` zeros (the padding stays 0).
// 2. For each `n`, `c`, `p`, `q` (one row of `cols[n]`) and each output position `(i, j)`, copy
//    the input cell the window puts there, if it lies inside the image.
//
// **HINTS**:
// - Fix the row first (`c`, `p`, `q`), then walk the positions: consecutive `j` then write
//   consecutive floats of `cols`.
// - For a fixed `q`, which positions `j` read a column inside the image? The answer does not
//   depend on `i`, and knowing it keeps the innermost loop free of tests (the milestone runs
//   this loop millions of times per epoch).
// - Test your row order on paper: with `C = 2`, `k = 2`, which row holds `x[n, 1, i, j + 1]`?

// %% nbgrader={"grade": false, "grade_id": "im2col", "locked": false, "schema_version": 3, "solution": true, "task": false}
//| export
/** Every window of x as a column: cols [N, C·k·k, Ho·Wo], row (c·k + p)·k + q, column i·Wo + j (0 in the padding). */
function im2col(x: RawTensor, g: ConvGeometry): RawTensor {
  checkShapeIs(x, [g.batch, g.channels, g.height, g.width], "im2col");
  // ### BEGIN SOLUTION
  const { batch, channels, height, width, kernel, stride, padding, outHeight, outWidth } = g;
  const rows = channels * kernel * kernel;
  const positions = outHeight * outWidth;
  const src = x.data;
  const cols = new Float32Array(batch * rows * positions);
  for (let n = 0; n < batch; n++) {
    for (let c = 0; c < channels; c++) {
      const plane = (n * channels + c) * height * width;
      for (let p = 0; p < kernel; p++) {
        for (let q = 0; q < kernel; q++) {
          const rowStart = (n * rows + (c * kernel + p) * kernel + q) * positions;
          // The positions j whose input column j·s + q − pad is inside the image (the others
          // read padding and stay 0): worked out once, so the inner loop tests nothing.
          const jFirst = Math.max(0, Math.ceil((padding - q) / stride));
          const jEnd = Math.min(outWidth, Math.floor((width - 1 + padding - q) / stride) + 1);
          for (let i = 0; i < outHeight; i++) {
            const inRow = i * stride + p - padding;
            if (inRow < 0 || inRow >= height) continue;
            const from = plane + inRow * width + q - padding; // x's index for j = 0
            const to = rowStart + i * outWidth;
            for (let j = jFirst; j < jEnd; j++) cols[to + j] = src[from + j * stride];
          }
        }
      }
    }
  }
  return { data: cols, shape: [batch, rows, positions] };
  // ### END SOLUTION
}

// %% nbgrader={"grade": true, "grade_id": "test-unit-im2col", "locked": true, "points": 3, "schema_version": 3, "solution": false, "task": false}
function testUnitIm2col(): void {
  // One 3×3 image of 1..9, 2×2 windows: four patches, one per column.
  const image = { data: Float32Array.from([1, 2, 3, 4, 5, 6, 7, 8, 9]), shape: [1, 1, 3, 3] };
  const cols = im2col(image, convGeometry(image.shape, 2));
  assertShape(cols.shape, [1, 4, 4], "[N, C·k·k, Ho·Wo]");
  assertEqual(Array.from(cols.data), [1, 2, 4, 5, 2, 3, 5, 6, 4, 5, 7, 8, 5, 6, 8, 9], "row (p, q) holds x[i + p, j + q] for the four positions");
  const padded = im2col(image, convGeometry(image.shape, 2, 2, 1));
  assertEqual(Array.from(padded.data), [0, 0, 0, 5, 0, 0, 4, 6, 0, 2, 0, 8, 1, 3, 7, 9], "stride 2, padding 1: zeros where the window hangs over the edge");
  // ### BEGIN HIDDEN TESTS
  /** Oracle: im2col in float64, one element at a time from the definition. */
  function im2col64(x: ArrayLike<number>, [n, c, h, w]: number[], k: number, s: number, p: number): number[] {
    const ho = Math.floor((h + 2 * p - k) / s) + 1;
    const wo = Math.floor((w + 2 * p - k) / s) + 1;
    const out: number[] = [];
    for (let a = 0; a < n; a++)
      for (let ch = 0; ch < c; ch++)
        for (let u = 0; u < k; u++)
          for (let v = 0; v < k; v++)
            for (let i = 0; i < ho; i++)
              for (let j = 0; j < wo; j++) {
                const row = i * s + u - p;
                const col = j * s + v - p;
                out.push(row >= 0 && row < h && col >= 0 && col < w ? x[((a * c + ch) * h + row) * w + col] : 0);
              }
    return out;
  }
  const r = testRandom("09/im2col");
  for (let trial = 0; trial < 6; trial++) {
    const k = r.int(1, 4);
    const stride = r.int(1, 3);
    const padding = r.int(0, Math.min(2, k));
    const shape = [r.int(1, 3), r.int(1, 3), r.int(k, 8), r.int(k, 8)];
    const x = randomTensor(r, shape);
    const g = convGeometry(shape, k, stride, padding);
    const got = im2col(x, g);
    const label = `x [${shape}], k ${k}, stride ${stride}, padding ${padding}`;
    assertShape(got.shape, [shape[0], shape[1] * k * k, g.outHeight * g.outWidth], `${label}: shape`);
    assertEqual(Array.from(got.data), im2col64(x.data, shape, k, stride, padding), `${label}: values`);
  }
  const shape = [1, r.int(1, 3), 6, 6];
  assertThrows(() => im2col(randomTensor(r, shape), convGeometry([1, shape[1] + 1, 6, 6], 3)), "expected shape", "a geometry for another input");
  // ### END HIDDEN TESTS
  passed("testUnitIm2col");
}
testUnitIm2col();

// %%
//| mutation im2col orders a patch kernel-column first (row (c·k + q)·k + p)
function im2col(x: RawTensor, g: ConvGeometry): RawTensor {
  checkShapeIs(x, [g.batch, g.channels, g.height, g.width], "im2col");
  const { batch, channels, height, width, kernel, stride, padding, outHeight, outWidth } = g;
  const rows = channels * kernel * kernel;
  const positions = outHeight * outWidth;
  const cols = new Float32Array(batch * rows * positions);
  for (let n = 0; n < batch; n++)
    for (let c = 0; c < channels; c++)
      for (let p = 0; p < kernel; p++)
        for (let q = 0; q < kernel; q++)
          for (let i = 0; i < outHeight; i++)
            for (let j = 0; j < outWidth; j++) {
              const inRow = i * stride + p - padding;
              const inCol = j * stride + q - padding;
              if (inRow >= 0 && inRow < height && inCol >= 0 && inCol < width) cols[(n * rows + (c * kernel + q) * kernel + p) * positions + i * outWidth + j] = x.data[((n * channels + c) * height + inRow) * width + inCol];
            }
  return { data: cols, shape: [batch, rows, positions] };
}

// %%
//| mutation im2col puts the channel innermost in a patch (row (p·k + q)·C + c)
function im2col(x: RawTensor, g: ConvGeometry): RawTensor {
  checkShapeIs(x, [g.batch, g.channels, g.height, g.width], "im2col");
  const { batch, channels, height, width, kernel, stride, padding, outHeight, outWidth } = g;
  const rows = channels * kernel * kernel;
  const positions = outHeight * outWidth;
  const cols = new Float32Array(batch * rows * positions);
  for (let n = 0; n < batch; n++)
    for (let c = 0; c < channels; c++)
      for (let p = 0; p < kernel; p++)
        for (let q = 0; q < kernel; q++)
          for (let i = 0; i < outHeight; i++)
            for (let j = 0; j < outWidth; j++) {
              const inRow = i * stride + p - padding;
              const inCol = j * stride + q - padding;
              if (inRow >= 0 && inRow < height && inCol >= 0 && inCol < width) cols[(n * rows + (p * kernel + q) * channels + c) * positions + i * outWidth + j] = x.data[((n * channels + c) * height + inRow) * width + inCol];
            }
  return { data: cols, shape: [batch, rows, positions] };
}

// %%
//| mutation im2col pads only the bottom and right (reads row i·s + p)
function im2col(x: RawTensor, g: ConvGeometry): RawTensor {
  checkShapeIs(x, [g.batch, g.channels, g.height, g.width], "im2col");
  const { batch, channels, height, width, kernel, stride, outHeight, outWidth } = g;
  const rows = channels * kernel * kernel;
  const positions = outHeight * outWidth;
  const cols = new Float32Array(batch * rows * positions);
  for (let n = 0; n < batch; n++)
    for (let c = 0; c < channels; c++)
      for (let p = 0; p < kernel; p++)
        for (let q = 0; q < kernel; q++)
          for (let i = 0; i < outHeight; i++)
            for (let j = 0; j < outWidth; j++) {
              const inRow = i * stride + p;
              const inCol = j * stride + q;
              if (inRow < height && inCol < width) cols[(n * rows + (c * kernel + p) * kernel + q) * positions + i * outWidth + j] = x.data[((n * channels + c) * height + inRow) * width + inCol];
            }
  return { data: cols, shape: [batch, rows, positions] };
}

// %% [markdown]
// ## Part 4: The backward pass of im2col: col2im
//
// `im2col` only copies: `cols[m] = x[src(m)]` for every element `m` that is not padding. The
// chain rule gives its gradient at once: `dL/dx[e]` is the sum of `dL/dcols[m]` over every `m`
// that was copied from `e`. Where windows overlap (stride smaller than the kernel), one input
// cell sits in several patches, and its gradient is the **sum** of all of them: a cell in the
// middle of a 3×3 image with 2×2 windows feeds four patches and collects four contributions.
// Padding cells were never read from `x`, so their gradients go nowhere.
//
// This scatter-add is called `col2im`; it walks exactly the loops of `im2col`, with the
// assignment turned around. In the same cell, given: `unfold`, which runs `im2col` on a
// `Tensor` and records it as the operation `"im2col"` (with the geometry, which the rule needs),
// and that operation's backward rule, which calls your `col2im`. Module 06's matmul rule takes
// care of the rest of the convolution. Both go through `windowKernelSlot`, empty here: module
// 18's acceleration switch puts WebAssembly twins of your two functions there.
//
// ### Exercise 3: `col2im`
//
// **TODO**: From a gradient `cols` of shape `[N, C·k·k, Ho·Wo]`, return the gradient of the
// input, of shape `[N, C, H, W]`.
//
// **APPROACH**:
// 1. Allocate `N·C·H·W` zeros.
// 2. Walk `cols` exactly as `im2col` walks it, and for each element that came from an input cell,
//    add it to that cell.
//
// **HINTS**:
// - Derive the shape of every index from `im2col`: the function is its exact mirror.
// - Overlapping windows write to the same cell: what must happen to what is already there?

// %% nbgrader={"grade": false, "grade_id": "col2im", "locked": false, "schema_version": 3, "solution": true, "task": false}
//| export
/** The adjoint of im2col: each column's values added back into the input cells they were copied from; out [N, C, H, W]. */
function col2im(cols: RawTensor, g: ConvGeometry): RawTensor {
  checkShapeIs(cols, [g.batch, g.channels * g.kernel * g.kernel, g.outHeight * g.outWidth], "col2im");
  // ### BEGIN SOLUTION
  const { batch, channels, height, width, kernel, stride, padding, outHeight, outWidth } = g;
  const rows = channels * kernel * kernel;
  const positions = outHeight * outWidth;
  const src = cols.data;
  const x = new Float32Array(batch * channels * height * width);
  for (let n = 0; n < batch; n++) {
    for (let c = 0; c < channels; c++) {
      const plane = (n * channels + c) * height * width;
      for (let p = 0; p < kernel; p++) {
        for (let q = 0; q < kernel; q++) {
          const rowStart = (n * rows + (c * kernel + p) * kernel + q) * positions;
          const jFirst = Math.max(0, Math.ceil((padding - q) / stride));
          const jEnd = Math.min(outWidth, Math.floor((width - 1 + padding - q) / stride) + 1);
          for (let i = 0; i < outHeight; i++) {
            const inRow = i * stride + p - padding;
            if (inRow < 0 || inRow >= height) continue;
            const to = plane + inRow * width + q - padding; // x's index for j = 0
            const from = rowStart + i * outWidth;
            for (let j = jFirst; j < jEnd; j++) x[to + j * stride] += src[from + j];
          }
        }
      }
    }
  }
  return { data: x, shape: [batch, channels, height, width] };
  // ### END SOLUTION
}

/** What the "im2col" operation remembers for its backward rule. */
interface Im2colArgs extends OpArgs {
  geometry: ConvGeometry;
}

/**
 * Kernels that stand in for your im2col and col2im inside `unfold` and its rule, and for your
 * max-pooling kernel inside `MaxPool2d` (null: yours). Module 18's acceleration switch fills
 * them with WebAssembly twins, as it fills matmul's slot.
 */
const windowKernelSlot: {
  im2col: ((x: RawTensor, g: ConvGeometry) => RawTensor) | null;
  col2im: ((cols: RawTensor, g: ConvGeometry) => RawTensor) | null;
  maxPool2d: ((x: RawTensor, g: ConvGeometry) => { out: RawTensor; argmax: Int32Array }) | null;
} = { im2col: null, col2im: null, maxPool2d: null };

/** im2col on a Tensor, recorded for autograd: cols [N, C·k·k, Ho·Wo]. */
function unfold(x: Tensor, kernel: number, stride = 1, padding = 0): Tensor {
  const geometry = convGeometry(x.shape, kernel, stride, padding);
  const cols = (windowKernelSlot.im2col ?? im2col)(x, geometry);
  const args: Im2colArgs = { geometry };
  return Tensor.record(new Tensor(cols.data, cols.shape), "im2col", [x], args);
}

registerRules({
  im2col: (grad, node) => {
    const dx = (windowKernelSlot.col2im ?? col2im)(grad, (node.args as Im2colArgs).geometry);
    return [new Tensor(dx.data, dx.shape)];
  },
});

// %% nbgrader={"grade": true, "grade_id": "test-unit-col2im", "locked": true, "points": 3, "schema_version": 3, "solution": false, "task": false}
function testUnitCol2im(): void {
  // A gradient of ones through 2×2 windows over a 3×3 image: each cell collects one
  // contribution per window it lies in.
  const g = convGeometry([1, 1, 3, 3], 2);
  const counts = col2im({ data: new Float32Array(16).fill(1), shape: [1, 4, 4] }, g);
  assertShape(counts.shape, [1, 1, 3, 3]);
  assertEqual(Array.from(counts.data), [1, 2, 1, 2, 4, 2, 1, 2, 1], "overlapping windows add up");
  const x = Tensor.arange(1, 10).reshape(1, 1, 3, 3).setRequiresGrad();
  unfold(x, 2).sum().backward();
  assertEqual(Array.from((x.grad as Tensor).data), [1, 2, 1, 2, 4, 2, 1, 2, 1], "unfold's backward pass is col2im");
  // ### BEGIN HIDDEN TESTS
  /** Oracle: im2col in float64 (the forward pass, differentiated numerically below). */
  function im2col64(x: ArrayLike<number>, [n, c, h, w]: number[], k: number, s: number, p: number): number[] {
    const ho = Math.floor((h + 2 * p - k) / s) + 1;
    const wo = Math.floor((w + 2 * p - k) / s) + 1;
    const out: number[] = [];
    for (let a = 0; a < n; a++)
      for (let ch = 0; ch < c; ch++)
        for (let u = 0; u < k; u++)
          for (let v = 0; v < k; v++)
            for (let i = 0; i < ho; i++)
              for (let j = 0; j < wo; j++) {
                const row = i * s + u - p;
                const col = j * s + v - p;
                out.push(row >= 0 && row < h && col >= 0 && col < w ? x[((a * c + ch) * h + row) * w + col] : 0);
              }
    return out;
  }
  const r = testRandom("09/col2im");
  for (let trial = 0; trial < 5; trial++) {
    const k = r.int(1, 4);
    const stride = r.int(1, 3);
    const padding = r.int(0, Math.min(2, k));
    const shape = [r.int(1, 3), r.int(1, 3), r.int(k, 7), r.int(k, 7)];
    const g = convGeometry(shape, k, stride, padding);
    const x = randomTensor(r, shape).setRequiresGrad();
    const cols = unfold(x, k, stride, padding);
    const weights = r.numbers(cols.size, -1, 1);
    cols.backward(new Tensor(Float32Array.from(weights), cols.shape));
    const label = `x [${shape}], k ${k}, stride ${stride}, padding ${padding}`;
    assertShape((x.grad as Tensor).shape, shape, `${label}: the gradient has the input's shape`);
    assertClose(
      Array.from((x.grad as Tensor).data),
      centralDifferences((v) => weightedSum(im2col64(v, shape, k, stride, padding), weights), x.data, 1e-3),
      { rtol: 1e-4, atol: 1e-4 },
      `${label}: dL/dx against central differences of L = Σ weights · im2col(x)`,
    );
    const direct = col2im({ data: Float32Array.from(weights), shape: cols.shape }, g);
    assertClose(Array.from(direct.data), Array.from((x.grad as Tensor).data), { rtol: 1e-6, atol: 1e-6 }, `${label}: col2im itself`);
  }
  // ### END HIDDEN TESTS
  passed("testUnitCol2im");
}
testUnitCol2im();

// %%
//| mutation col2im overwrites where windows overlap instead of adding
function col2im(cols: RawTensor, g: ConvGeometry): RawTensor {
  checkShapeIs(cols, [g.batch, g.channels * g.kernel * g.kernel, g.outHeight * g.outWidth], "col2im");
  const { batch, channels, height, width, kernel, stride, padding, outHeight, outWidth } = g;
  const rows = channels * kernel * kernel;
  const positions = outHeight * outWidth;
  const x = new Float32Array(batch * channels * height * width);
  for (let n = 0; n < batch; n++)
    for (let c = 0; c < channels; c++)
      for (let p = 0; p < kernel; p++)
        for (let q = 0; q < kernel; q++)
          for (let i = 0; i < outHeight; i++)
            for (let j = 0; j < outWidth; j++) {
              const inRow = i * stride + p - padding;
              const inCol = j * stride + q - padding;
              if (inRow >= 0 && inRow < height && inCol >= 0 && inCol < width) x[((n * channels + c) * height + inRow) * width + inCol] = cols.data[(n * rows + (c * kernel + p) * kernel + q) * positions + i * outWidth + j];
            }
  return { data: x, shape: [batch, channels, height, width] };
}
interface Im2colArgs extends OpArgs {
  geometry: ConvGeometry;
}
function unfold(x: Tensor, kernel: number, stride = 1, padding = 0): Tensor {
  const geometry = convGeometry(x.shape, kernel, stride, padding);
  const cols = im2col(x, geometry);
  const args: Im2colArgs = { geometry };
  return Tensor.record(new Tensor(cols.data, cols.shape), "im2col", [x], args);
}
registerRules({
  im2col: (grad, node) => {
    const dx = col2im(grad, (node.args as Im2colArgs).geometry);
    return [new Tensor(dx.data, dx.shape)];
  },
});

// %%
//| mutation col2im ignores the padding offset (adds into row i·s + p)
function col2im(cols: RawTensor, g: ConvGeometry): RawTensor {
  checkShapeIs(cols, [g.batch, g.channels * g.kernel * g.kernel, g.outHeight * g.outWidth], "col2im");
  const { batch, channels, height, width, kernel, stride, outHeight, outWidth } = g;
  const rows = channels * kernel * kernel;
  const positions = outHeight * outWidth;
  const x = new Float32Array(batch * channels * height * width);
  for (let n = 0; n < batch; n++)
    for (let c = 0; c < channels; c++)
      for (let p = 0; p < kernel; p++)
        for (let q = 0; q < kernel; q++)
          for (let i = 0; i < outHeight; i++)
            for (let j = 0; j < outWidth; j++) {
              const inRow = i * stride + p;
              const inCol = j * stride + q;
              if (inRow < height && inCol < width) x[((n * channels + c) * height + inRow) * width + inCol] += cols.data[(n * rows + (c * kernel + p) * kernel + q) * positions + i * outWidth + j];
            }
  return { data: x, shape: [batch, channels, height, width] };
}
interface Im2colArgs extends OpArgs {
  geometry: ConvGeometry;
}
function unfold(x: Tensor, kernel: number, stride = 1, padding = 0): Tensor {
  const geometry = convGeometry(x.shape, kernel, stride, padding);
  const cols = im2col(x, geometry);
  const args: Im2colArgs = { geometry };
  return Tensor.record(new Tensor(cols.data, cols.shape), "im2col", [x], args);
}
registerRules({
  im2col: (grad, node) => {
    const dx = col2im(grad, (node.args as Im2colArgs).geometry);
    return [new Tensor(dx.data, dx.shape)];
  },
});

// %% [markdown]
// ## Part 5: The `Conv2d` layer
//
// The layer is now three operations autograd already knows how to differentiate:
//
// ```
// cols = unfold(x)                                   [N, C·k·k, Ho·Wo]    rule: col2im
// y    = weight.reshape([O, C·k·k]).matmul(cols)     [N, O, Ho·Wo]        rule: module 06's matmul
// out  = addChannelBias(y, bias).reshape(NCHW)       [N, O, Ho, Wo]
// ```
//
// (TinyTorch's spatial module computes its `Conv2d.forward` with loops into a fresh `Tensor`
// that carries no gradient, so its filters cannot learn from a loss; here every step is an
// operation autograd can differentiate.)
//
// The matmul goes through `Tensor.matmul`, so when module 18's `enableAcceleration()` is on, the
// forward product and both backward products (`g @ colsᵀ` for the weight, `W2dᵀ @ g` for the
// columns) run on the SIMD kernel, with no change here.
//
// Adding the bias is given: with module 01's broadcasting, `y.add(bias.reshape([O, 1]))` would
// work, but its general strided loop and module 06's `sumToShape` (three reductions) cost more
// than the rest of a small convolution put together. `addChannelBias` is one loop forward and
// one per-channel sum backward. Also given, for module 14's profiler: each layer of this module
// states its own cost (`forwardCost` for FLOPs and output shape, `backwardFlops`), so the
// profiler needs no list of every layer ever written.

// %% nbgrader={"grade": false, "grade_id": "channel-bias", "locked": true, "schema_version": 3, "solution": false, "task": false}
//| export
/** Sum over every axis but the channel axis (axis 1) of an [N, C, ...] tensor, in float64: a per-channel bias's gradient. */
function sumPerChannel(t: RawTensor): Float32Array {
  const [batch, channels] = t.shape;
  const inner = batch * channels === 0 ? 0 : t.data.length / (batch * channels);
  const sums = new Float64Array(channels);
  const values = t.data;
  for (let n = 0; n < batch; n++) {
    for (let c = 0; c < channels; c++) {
      // Four running sums: one chain of dependent additions waits ~4 cycles per element for
      // the previous addition; four independent chains keep the adder busy.
      const start = (n * channels + c) * inner;
      const end = start + inner;
      let s0 = 0;
      let s1 = 0;
      let s2 = 0;
      let s3 = 0;
      let e = start;
      for (; e + 3 < end; e += 4) {
        s0 += values[e];
        s1 += values[e + 1];
        s2 += values[e + 2];
        s3 += values[e + 3];
      }
      for (; e < end; e++) s0 += values[e];
      sums[c] += s0 + s1 + (s2 + s3);
    }
  }
  return Float32Array.from(sums);
}

/** y + bias[c] on channel c of an [N, C, ...] tensor, recorded as one operation. */
function addChannelBias(y: Tensor, bias: Tensor): Tensor {
  if (y.ndim < 2 || bias.ndim !== 1 || bias.size !== y.shape[1]) {
    throw new Error(`addChannelBias: a bias of shape ${formatShape(bias.shape)} for an input of shape ${formatShape(y.shape)}`);
  }
  const channels = bias.size;
  const inner = shapeSize(y.shape.slice(2));
  const out = new Float32Array(y.size);
  const values = y.data;
  for (let start = 0, c = 0; start < out.length; start += inner, c = (c + 1) % channels) {
    const b = bias.data[c];
    for (let e = start; e < start + inner; e++) out[e] = values[e] + b;
  }
  return Tensor.record(new Tensor(out, y.shape), "addChannelBias", [y, bias]);
}

registerRules({
  addChannelBias: (grad, node) => [grad, node.inputs[1].requiresGrad ? new Tensor(sumPerChannel(grad), node.inputs[1].shape) : null],
});

// %% [markdown]
// ### Exercise 4: `Conv2d.forward`
//
// The constructor is given: it checks its arguments and initialises the weight
// `[out, in, k, k]` from a normal distribution scaled by `√(1 / (in·k·k))` (LeCun's
// initialisation, as module 03's `Linear`: `in·k·k` inputs feed each output) and the bias to
// zeros.
//
// **TODO**: Implement `forward(x)` for `x` of shape `[N, in, H, W]`.
//
// **APPROACH**:
// 1. The geometry: `convGeometry(x.shape, k, stride, padding)`.
// 2. `unfold` the input, multiply the flattened weight by the columns, add the bias (if any).
// 3. Reshape the result to `[N, out, Ho, Wo]`.
//
// **HINTS**:
// - Write the shape of every intermediate next to its line before you run it.
// - `reshape` accepts one `-1`.
// - The output of the matmul is already NCHW; no `permute` is needed. Why?

// %% nbgrader={"grade": false, "grade_id": "conv2d-layer", "locked": false, "schema_version": 3, "solution": true, "task": false}
//| export
/** Options of a Conv2d layer. */
interface Conv2dOptions {
  stride?: number;
  padding?: number;
  /** Learn a bias per output channel (default true). */
  bias?: boolean;
  /** Seed of the weight initialisation (default: the shared generator). */
  seed?: number;
}

/** A 2-D convolution over NCHW inputs: weight [out, in, k, k] ~ N(0, 1/(in·k·k)), bias [out] zeros. */
class Conv2d extends Layer {
  readonly inChannels: number;
  readonly outChannels: number;
  readonly kernelSize: number;
  readonly stride: number;
  readonly padding: number;
  weight: Tensor;
  bias: Tensor | null;

  constructor(inChannels: number, outChannels: number, kernelSize: number, options: Conv2dOptions = {}) {
    super();
    const stride = options.stride ?? 1;
    const padding = options.padding ?? 0;
    for (const [name, value, min] of [["inChannels", inChannels, 1], ["outChannels", outChannels, 1], ["kernelSize", kernelSize, 1], ["stride", stride, 1], ["padding", padding, 0]] as const) {
      if (!Number.isInteger(value) || value < min) throw new Error(`Conv2d: ${name} must be an integer >= ${min}, got ${value}`);
    }
    this.inChannels = inChannels;
    this.outChannels = outChannels;
    this.kernelSize = kernelSize;
    this.stride = stride;
    this.padding = padding;
    const rng = options.seed === undefined ? Rng.shared : new Rng(options.seed);
    const fanIn = inChannels * kernelSize * kernelSize;
    this.weight = Tensor.randn([outChannels, inChannels, kernelSize, kernelSize], rng).mul(Math.sqrt(1 / fanIn));
    this.bias = options.bias === false ? null : Tensor.zeros([outChannels]);
    this.weight.setRequiresGrad();
    this.bias?.setRequiresGrad();
  }

  forward(x: Tensor): Tensor {
    if (x.ndim !== 4 || x.shape[1] !== this.inChannels) {
      throw new Error(`${this.describe()} expects inputs [N, ${this.inChannels}, H, W], got shape ${formatShape(x.shape)}`);
    }
    // ### BEGIN SOLUTION
    const g = convGeometry(x.shape, this.kernelSize, this.stride, this.padding);
    const cols = unfold(x, this.kernelSize, this.stride, this.padding);
    const y = this.weight.reshape(this.outChannels, -1).matmul(cols);
    const biased = this.bias === null ? y : addChannelBias(y, this.bias);
    return biased.reshape(g.batch, this.outChannels, g.outHeight, g.outWidth);
    // ### END SOLUTION
  }

  override parameters(): Tensor[] {
    return this.bias === null ? [this.weight] : [this.weight, this.bias];
  }

  /** `Conv2d(1→8, 5×5)`, with stride and padding when they are not 1 and 0. */
  describe(): string {
    const extra = `${this.stride === 1 ? "" : `, stride ${this.stride}`}${this.padding === 0 ? "" : `, padding ${this.padding}`}`;
    return `Conv2d(${this.inChannels}→${this.outChannels}, ${this.kernelSize}×${this.kernelSize}${extra})`;
  }

  /** FLOPs of one forward pass (2·C·k·k per output value) and the output shape, for module 14's profiler. */
  forwardCost(inputShape: readonly number[]): { flops: number; outputShape: number[] } {
    if (inputShape.length !== 4 || inputShape[1] !== this.inChannels) {
      throw new Error(`${this.describe()}: shape mismatch, input ${formatShape(inputShape)} is not [N, ${this.inChannels}, H, W]`);
    }
    const g = convGeometry(inputShape, this.kernelSize, this.stride, this.padding);
    const outputs = g.batch * this.outChannels * g.outHeight * g.outWidth;
    return { flops: 2 * outputs * this.inChannels * this.kernelSize * this.kernelSize, outputShape: [g.batch, this.outChannels, g.outHeight, g.outWidth] };
  }

  /** FLOPs of one backward pass: the weight's product, the bias's sum, and the input's product when it needs a gradient. */
  backwardFlops(inputShape: readonly number[], inputNeedsGrad: boolean): number {
    const { flops, outputShape } = this.forwardCost(inputShape);
    return flops + (this.bias === null ? 0 : shapeSize(outputShape)) + (inputNeedsGrad ? flops : 0);
  }
}

// %% nbgrader={"grade": true, "grade_id": "test-unit-conv2d-layer", "locked": true, "points": 4, "schema_version": 3, "solution": false, "task": false}
function testUnitConv2dLayer(): void {
  check("forward", 2, () => {
    const conv = new Conv2d(1, 2, 2, { seed: 0 });
    assertShape(conv.weight.shape, [2, 1, 2, 2], "weight [out, in, k, k]");
    assertEqual(conv.parameters().length, 2);
    conv.weight.data.set([1, 0, 0, 1, 0, 1, 1, 0]);
    (conv.bias as Tensor).data.set([0, 100]);
    const y = conv.forward(Tensor.arange(1, 10).reshape(1, 1, 3, 3));
    assertShape(y.shape, [1, 2, 2, 2], "[N, out, Ho, Wo]");
    assertEqual(Array.from(y.data), [6, 8, 12, 14, 106, 108, 112, 114], "two filters, the second with a bias of 100");
    // ### BEGIN HIDDEN TESTS
    /** Oracle: the convolution in float64, from the formula. */
    function conv64(x: ArrayLike<number>, [n, c, h, w]: number[], wt: ArrayLike<number>, o: number, k: number, b: ArrayLike<number> | null, s: number, p: number): number[] {
      const ho = Math.floor((h + 2 * p - k) / s) + 1;
      const wo = Math.floor((w + 2 * p - k) / s) + 1;
      const out: number[] = [];
      for (let a = 0; a < n; a++)
        for (let f = 0; f < o; f++)
          for (let i = 0; i < ho; i++)
            for (let j = 0; j < wo; j++) {
              let sum = b === null ? 0 : b[f];
              for (let ch = 0; ch < c; ch++)
                for (let u = 0; u < k; u++)
                  for (let v = 0; v < k; v++) {
                    const row = i * s + u - p;
                    const col = j * s + v - p;
                    if (row >= 0 && row < h && col >= 0 && col < w) sum += wt[((f * c + ch) * k + u) * k + v] * x[((a * c + ch) * h + row) * w + col];
                  }
              out.push(sum);
            }
      return out;
    }
    const r = testRandom("09/conv2d-layer/forward");
    for (let trial = 0; trial < 4; trial++) {
      const [inC, outC, k] = [r.int(1, 3), r.int(1, 4), r.int(1, 4)];
      const stride = r.int(1, 3);
      const padding = r.int(0, Math.min(2, k));
      const layer = new Conv2d(inC, outC, k, { stride, padding, seed: r.seed(), bias: r.bool(0.75) });
      if (layer.bias !== null) layer.bias.data.set(r.numbers(outC));
      const shape = [r.int(1, 3), inC, r.int(k, 9), r.int(k, 9)];
      const x = randomTensor(r, shape);
      const y = layer.forward(x);
      const label = `${layer.describe()} on [${shape}]`;
      assertShape(y.shape, [shape[0], outC, Math.floor((shape[2] + 2 * padding - k) / stride) + 1, Math.floor((shape[3] + 2 * padding - k) / stride) + 1], `${label}: shape`);
      assertClose(Array.from(y.data), conv64(x.data, shape, layer.weight.data, outC, k, layer.bias === null ? null : layer.bias.data, stride, padding), { rtol: 1e-4, atol: 1e-5 }, `${label}: values`);
    }
    const inC = r.int(1, 3);
    assertThrows(() => new Conv2d(inC, 2, 3, { seed: 1 }).forward(randomTensor(r, [1, inC + 1, 5, 5])), `expects inputs`, "a random channel mismatch");
    // ### END HIDDEN TESTS
  });
  check("gradients", 2, () => {
    const conv = new Conv2d(1, 1, 2, { seed: 0 });
    const x = Tensor.arange(1, 10).reshape(1, 1, 3, 3).setRequiresGrad();
    conv.forward(x).sum().backward();
    assertEqual(Array.from((conv.bias as Tensor).grad?.data ?? []), [4], "dL/dbias: one per output position");
    assertEqual(Array.from(conv.weight.grad?.data ?? []), [12, 16, 24, 28], "dL/dw[p, q]: the sum of the inputs that weight touched");
    // ### BEGIN HIDDEN TESTS
    /** Oracle: the convolution in float64, from the formula. */
    function conv64(x: ArrayLike<number>, [n, c, h, w]: number[], wt: ArrayLike<number>, o: number, k: number, b: ArrayLike<number> | null, s: number, p: number): number[] {
      const ho = Math.floor((h + 2 * p - k) / s) + 1;
      const wo = Math.floor((w + 2 * p - k) / s) + 1;
      const out: number[] = [];
      for (let a = 0; a < n; a++)
        for (let f = 0; f < o; f++)
          for (let i = 0; i < ho; i++)
            for (let j = 0; j < wo; j++) {
              let sum = b === null ? 0 : b[f];
              for (let ch = 0; ch < c; ch++)
                for (let u = 0; u < k; u++)
                  for (let v = 0; v < k; v++) {
                    const row = i * s + u - p;
                    const col = j * s + v - p;
                    if (row >= 0 && row < h && col >= 0 && col < w) sum += wt[((f * c + ch) * k + u) * k + v] * x[((a * c + ch) * h + row) * w + col];
                  }
              out.push(sum);
            }
      return out;
    }
    const r = testRandom("09/conv2d-layer/gradients");
    for (let trial = 0; trial < 3; trial++) {
      const [inC, outC, k] = [r.int(1, 3), r.int(1, 3), r.int(1, 3)];
      const stride = r.int(1, 2);
      const padding = r.int(0, Math.min(2, k));
      const layer = new Conv2d(inC, outC, k, { stride, padding, seed: r.seed() });
      (layer.bias as Tensor).data.set(r.numbers(outC));
      const shape = [r.int(2, 3), inC, r.int(k, 6), r.int(k, 6)];
      const x = randomTensor(r, shape).setRequiresGrad();
      const y = layer.forward(x);
      const weights = r.numbers(y.size);
      y.backward(new Tensor(Float32Array.from(weights), y.shape));
      const w0 = Array.from(layer.weight.data);
      const b0 = Array.from((layer.bias as Tensor).data);
      const x0 = Array.from(x.data);
      const label = `${layer.describe()} on [${shape}]`;
      assertClose(Array.from((x.grad as Tensor).data), centralDifferences((v) => weightedSum(conv64(v, shape, w0, outC, k, b0, stride, padding), weights), x0), { rtol: 1e-3, atol: 1e-4 }, `${label}: dL/dx`);
      assertClose(Array.from(layer.weight.grad?.data ?? []), centralDifferences((v) => weightedSum(conv64(x0, shape, v, outC, k, b0, stride, padding), weights), w0), { rtol: 1e-3, atol: 1e-4 }, `${label}: dL/dweight`);
      assertClose(Array.from((layer.bias as Tensor).grad?.data ?? []), centralDifferences((v) => weightedSum(conv64(x0, shape, w0, outC, k, v, stride, padding), weights), b0), { rtol: 1e-3, atol: 1e-4 }, `${label}: dL/dbias`);
    }
    // ### END HIDDEN TESTS
  });
  passed("testUnitConv2dLayer");
}
testUnitConv2dLayer();

// %%
//| mutation conv2d-layer forgets the bias
interface Conv2dOptions {
  stride?: number;
  padding?: number;
  bias?: boolean;
  seed?: number;
}
class Conv2d extends Layer {
  readonly inChannels: number;
  readonly outChannels: number;
  readonly kernelSize: number;
  readonly stride: number;
  readonly padding: number;
  weight: Tensor;
  bias: Tensor | null;
  constructor(inChannels: number, outChannels: number, kernelSize: number, options: Conv2dOptions = {}) {
    super();
    this.inChannels = inChannels;
    this.outChannels = outChannels;
    this.kernelSize = kernelSize;
    this.stride = options.stride ?? 1;
    this.padding = options.padding ?? 0;
    const rng = options.seed === undefined ? Rng.shared : new Rng(options.seed);
    this.weight = Tensor.randn([outChannels, inChannels, kernelSize, kernelSize], rng).mul(Math.sqrt(1 / (inChannels * kernelSize * kernelSize)));
    this.bias = options.bias === false ? null : Tensor.zeros([outChannels]);
    this.weight.setRequiresGrad();
    this.bias?.setRequiresGrad();
  }
  forward(x: Tensor): Tensor {
    if (x.ndim !== 4 || x.shape[1] !== this.inChannels) throw new Error("Conv2d expects inputs");
    const g = convGeometry(x.shape, this.kernelSize, this.stride, this.padding);
    const y = this.weight.reshape(this.outChannels, -1).matmul(unfold(x, this.kernelSize, this.stride, this.padding));
    return y.reshape(g.batch, this.outChannels, g.outHeight, g.outWidth);
  }
  override parameters(): Tensor[] {
    return this.bias === null ? [this.weight] : [this.weight, this.bias];
  }
  describe(): string {
    return `Conv2d(${this.inChannels}→${this.outChannels}, ${this.kernelSize}×${this.kernelSize})`;
  }
}

// %%
//| mutation conv2d-layer reshapes the output with height and width swapped
interface Conv2dOptions {
  stride?: number;
  padding?: number;
  bias?: boolean;
  seed?: number;
}
class Conv2d extends Layer {
  readonly inChannels: number;
  readonly outChannels: number;
  readonly kernelSize: number;
  readonly stride: number;
  readonly padding: number;
  weight: Tensor;
  bias: Tensor | null;
  constructor(inChannels: number, outChannels: number, kernelSize: number, options: Conv2dOptions = {}) {
    super();
    this.inChannels = inChannels;
    this.outChannels = outChannels;
    this.kernelSize = kernelSize;
    this.stride = options.stride ?? 1;
    this.padding = options.padding ?? 0;
    const rng = options.seed === undefined ? Rng.shared : new Rng(options.seed);
    this.weight = Tensor.randn([outChannels, inChannels, kernelSize, kernelSize], rng).mul(Math.sqrt(1 / (inChannels * kernelSize * kernelSize)));
    this.bias = options.bias === false ? null : Tensor.zeros([outChannels]);
    this.weight.setRequiresGrad();
    this.bias?.setRequiresGrad();
  }
  forward(x: Tensor): Tensor {
    if (x.ndim !== 4 || x.shape[1] !== this.inChannels) throw new Error("Conv2d expects inputs");
    const g = convGeometry(x.shape, this.kernelSize, this.stride, this.padding);
    const y = this.weight.reshape(this.outChannels, -1).matmul(unfold(x, this.kernelSize, this.stride, this.padding));
    const biased = this.bias === null ? y : addChannelBias(y, this.bias);
    return biased.reshape(g.batch, this.outChannels, g.outWidth, g.outHeight);
  }
  override parameters(): Tensor[] {
    return this.bias === null ? [this.weight] : [this.weight, this.bias];
  }
  describe(): string {
    return `Conv2d(${this.inChannels}→${this.outChannels}, ${this.kernelSize}×${this.kernelSize})`;
  }
}

// %%
//| mutation conv2d-layer unfolds with stride 1 whatever the layer's stride
interface Conv2dOptions {
  stride?: number;
  padding?: number;
  bias?: boolean;
  seed?: number;
}
class Conv2d extends Layer {
  readonly inChannels: number;
  readonly outChannels: number;
  readonly kernelSize: number;
  readonly stride: number;
  readonly padding: number;
  weight: Tensor;
  bias: Tensor | null;
  constructor(inChannels: number, outChannels: number, kernelSize: number, options: Conv2dOptions = {}) {
    super();
    this.inChannels = inChannels;
    this.outChannels = outChannels;
    this.kernelSize = kernelSize;
    this.stride = options.stride ?? 1;
    this.padding = options.padding ?? 0;
    const rng = options.seed === undefined ? Rng.shared : new Rng(options.seed);
    this.weight = Tensor.randn([outChannels, inChannels, kernelSize, kernelSize], rng).mul(Math.sqrt(1 / (inChannels * kernelSize * kernelSize)));
    this.bias = options.bias === false ? null : Tensor.zeros([outChannels]);
    this.weight.setRequiresGrad();
    this.bias?.setRequiresGrad();
  }
  forward(x: Tensor): Tensor {
    if (x.ndim !== 4 || x.shape[1] !== this.inChannels) throw new Error("Conv2d expects inputs");
    const g = convGeometry(x.shape, this.kernelSize, 1, this.padding);
    const y = this.weight.reshape(this.outChannels, -1).matmul(unfold(x, this.kernelSize, 1, this.padding));
    const biased = this.bias === null ? y : addChannelBias(y, this.bias);
    return biased.reshape(g.batch, this.outChannels, g.outHeight, g.outWidth);
  }
  override parameters(): Tensor[] {
    return this.bias === null ? [this.weight] : [this.weight, this.bias];
  }
  describe(): string {
    return `Conv2d(${this.inChannels}→${this.outChannels}, ${this.kernelSize}×${this.kernelSize})`;
  }
}

// %% [markdown]
// ### What im2col spends, and what it buys
//
// Three convolutions, each for a batch: the two of LeNet (as in milestone 04) and a 3×3 one of
// the kind deeper networks stack. For each: the bytes of the input and of `cols`, and the time
// of the direct loop against `unfold` + `Tensor.matmul` (module 01's kernel: no acceleration
// yet). The memory factor is close to `k²/s²`, whatever the speed-up.

// %%
await demo("im2col: memory against speed", () => {
  const cases: [string, number[], number, number, number][] = [
    ["LeNet conv1 (1→8, 5×5)", [64, 1, 28, 28], 8, 5, 1],
    ["LeNet conv2 (8→16, 5×5)", [64, 8, 12, 12], 16, 5, 1],
    ["3×3 same (16→32)", [4, 16, 32, 32], 32, 3, 1],
  ];
  const best = (fn: () => void): number => {
    fn();
    let ms = Infinity;
    for (let r = 0; r < 3; r++) {
      const t0 = performance.now();
      fn();
      ms = Math.min(ms, performance.now() - t0);
    }
    return ms;
  };
  console.log("layer                      input MB   cols MB  factor   direct ms  im2col+matmul ms  speed-up");
  for (const [name, shape, out, k, padding] of cases) {
    const x = Tensor.randn(shape, 1);
    const conv = new Conv2d(shape[1], out, k, { padding, seed: 2 });
    const g = convGeometry(shape, k, 1, padding);
    const colsBytes = 4 * g.batch * g.channels * k * k * g.outHeight * g.outWidth;
    const direct = best(() => conv2dDirect(x, conv.weight, conv.bias, 1, padding));
    const viaGemm = best(() => conv.forward(x));
    console.log(
      `${name.padEnd(26)} ${(x.nbytes / 1e6).toFixed(2).padStart(8)} ${(colsBytes / 1e6).toFixed(2).padStart(9)} ${(colsBytes / x.nbytes).toFixed(1).padStart(7)} ` +
        `${direct.toFixed(1).padStart(11)} ${viaGemm.toFixed(1).padStart(17)} ${(direct / viaGemm).toFixed(1).padStart(9)}x`,
    );
  }
});

// %% [markdown]
// ## Part 6: Pooling
//
// A pooling layer shrinks each feature map by summarising every window into one number. With a
// 2×2 window and stride 2 (the default: stride = window), a 24×24 map becomes 12×12: a quarter
// of the values for the next layer, and a little tolerance to where exactly a feature appeared.
// Pooling has no parameters and treats each channel on its own.
//
// ### A worked example: `AvgPool2d`
//
// Average pooling takes the mean of each window: `out = (1/k²) Σ window`. Its backward pass
// follows from the chain rule as `col2im` did: every input cell of a window receives `1/k²` of
// that window's gradient, summed over the windows it belongs to. Read it; max pooling is yours.
//
// (TinyTorch's pooling lesson, in its spatial module, gets its own worked example wrong: for the 4×4 input
// `[[1, 3, 2, 4], [5, 6, 7, 8], [2, 9, 1, 3], [0, 1, 9, 3]]` with 2×2 windows and stride 2 it lists
// the lower windows as `[5, 2, 9, 1]` and `[7, 4, 9, 3]`, which overlap the upper ones, and gives
// the lower averages as 2.75 and 5.75, or 4.25 in the line beside them. The lower windows are
// `[2, 9, 0, 1]` and `[1, 3, 9, 3]`: averages 3 and 4, maxima 9 and 9. The test below checks
// exactly this example.)

// %% nbgrader={"grade": false, "grade_id": "avg-pool", "locked": true, "schema_version": 3, "solution": false, "task": false}
//| export
/** What a pooling operation remembers for its backward rule. */
interface PoolArgs extends OpArgs {
  geometry: ConvGeometry;
}

/** The mean of every k×k window of every channel: out [N, C, Ho, Wo]. */
function avgPool2dKernel(x: RawTensor, g: ConvGeometry): RawTensor {
  checkShapeIs(x, [g.batch, g.channels, g.height, g.width], "avgPool2d");
  const { batch, channels, height, width, kernel, stride, outHeight, outWidth } = g;
  const out = new Float32Array(batch * channels * outHeight * outWidth);
  const scale = 1 / (kernel * kernel);
  let at = 0;
  for (let plane = 0; plane < batch * channels; plane++) {
    const base = plane * height * width;
    for (let i = 0; i < outHeight; i++) {
      for (let j = 0; j < outWidth; j++) {
        let sum = 0;
        for (let p = 0; p < kernel; p++) {
          const row = base + (i * stride + p) * width + j * stride;
          for (let q = 0; q < kernel; q++) sum += x.data[row + q];
        }
        out[at++] = sum * scale;
      }
    }
  }
  return { data: out, shape: [batch, channels, outHeight, outWidth] };
}

/** dL/dx of average pooling: each window's gradient spread evenly (1/k² each) over its cells, overlaps added. */
function avgPool2dBackward(grad: RawTensor, g: ConvGeometry): RawTensor {
  const { batch, channels, height, width, kernel, stride, outHeight, outWidth } = g;
  checkShapeIs(grad, [batch, channels, outHeight, outWidth], "avgPool2d backward");
  const dx = new Float32Array(batch * channels * height * width);
  const scale = 1 / (kernel * kernel);
  let at = 0;
  for (let plane = 0; plane < batch * channels; plane++) {
    const base = plane * height * width;
    for (let i = 0; i < outHeight; i++) {
      for (let j = 0; j < outWidth; j++) {
        const share = grad.data[at++] * scale;
        for (let p = 0; p < kernel; p++) {
          const row = base + (i * stride + p) * width + j * stride;
          for (let q = 0; q < kernel; q++) dx[row + q] += share;
        }
      }
    }
  }
  return { data: dx, shape: [batch, channels, height, width] };
}

/** Average pooling over k×k windows (stride k by default), per channel. */
class AvgPool2d extends Layer {
  readonly kernelSize: number;
  readonly stride: number;

  constructor(kernelSize: number, options: { stride?: number } = {}) {
    super();
    this.kernelSize = kernelSize;
    this.stride = options.stride ?? kernelSize;
    convGeometry([1, 1, kernelSize, kernelSize], kernelSize, this.stride); // checks both
  }

  forward(x: Tensor): Tensor {
    const geometry = convGeometry(x.shape, this.kernelSize, this.stride);
    const out = avgPool2dKernel(x, geometry);
    const args: PoolArgs = { geometry };
    return Tensor.record(new Tensor(out.data, out.shape), "avgPool2d", [x], args);
  }

  /** k² FLOPs per output value (k² − 1 additions and a multiplication). */
  forwardCost(inputShape: readonly number[]): { flops: number; outputShape: number[] } {
    const g = convGeometry(inputShape, this.kernelSize, this.stride);
    const outputShape = [g.batch, g.channels, g.outHeight, g.outWidth];
    return { flops: shapeSize(outputShape) * this.kernelSize * this.kernelSize, outputShape };
  }

  backwardFlops(inputShape: readonly number[], inputNeedsGrad: boolean): number {
    return inputNeedsGrad ? this.forwardCost(inputShape).flops : 0;
  }
}

registerRules({
  avgPool2d: (grad, node) => {
    const dx = avgPool2dBackward(grad, (node.args as PoolArgs).geometry);
    return [new Tensor(dx.data, dx.shape)];
  },
});

// %% [markdown]
// ### Max pooling
//
// Max pooling keeps the largest value of each window. Its output depends on one input cell
// only, the **arg-max**: nudge any other cell of the window a little and the output does not
// move. So the gradient of each output goes entirely to the cell its maximum came from, and to
// no other (where windows overlap, a cell can be the maximum of several and collects each of
// their gradients). The forward pass remembers where each maximum was, as a flat index into `x`,
// and the backward pass needs nothing else.
//
// When a window holds the same largest value twice, PyTorch picks the **first** one in reading
// order (row by row), and so do we: the gradient must go to exactly one cell.
//
// ### Exercise 5: `maxPool2dKernel` and `maxPool2dBackward`
//
// **TODO**: The forward kernel returns the maximum of every window and, for every output
// value, the flat index (into `x.data`) of the first cell holding it. The backward kernel turns
// an output gradient and those indices into the input gradient. The layer and its rule are
// given below them.
//
// **APPROACH**:
// 1. Forward: for each plane (`n`, `c`) and each output position, scan the window row by row,
//    keep the best value and its index (replace it only on a strictly larger value); write both.
// 2. Backward: a zero gradient of the input's shape; for each output element `e`, add
//    `grad[e]` at `argmax[e]`.
//
// **HINTS**:
// - With windows that overlap (kernel 3, stride 2), can two outputs name the same input cell?
//   What must the backward pass do then?
// - Where must the scan start so that a tie goes to the first cell?

// %% nbgrader={"grade": false, "grade_id": "max-pool", "locked": false, "schema_version": 3, "solution": true, "task": false}
//| export
/** The largest value of every k×k window per channel, and the flat index into x of the first cell holding it. */
function maxPool2dKernel(x: RawTensor, g: ConvGeometry): { out: RawTensor; argmax: Int32Array } {
  checkShapeIs(x, [g.batch, g.channels, g.height, g.width], "maxPool2d");
  // ### BEGIN SOLUTION
  const { batch, channels, height, width, kernel, stride, outHeight, outWidth } = g;
  const src = x.data;
  const out = new Float32Array(batch * channels * outHeight * outWidth);
  const argmax = new Int32Array(out.length);
  let at = 0;
  for (let plane = 0; plane < batch * channels; plane++) {
    const base = plane * height * width;
    for (let i = 0; i < outHeight; i++) {
      for (let j = 0; j < outWidth; j++) {
        let best = base + i * stride * width + j * stride;
        let bestValue = src[best];
        for (let p = 0; p < kernel; p++) {
          const row = base + (i * stride + p) * width + j * stride;
          for (let q = 0; q < kernel; q++) {
            if (src[row + q] > bestValue) {
              best = row + q;
              bestValue = src[best];
            }
          }
        }
        out[at] = bestValue;
        argmax[at++] = best;
      }
    }
  }
  return { out: { data: out, shape: [batch, channels, outHeight, outWidth] }, argmax };
  // ### END SOLUTION
}

/** dL/dx of max pooling: each output's gradient added to the input cell its maximum came from. */
function maxPool2dBackward(grad: RawTensor, argmax: Int32Array, inputShape: readonly number[]): RawTensor {
  if (grad.data.length !== argmax.length) throw new Error(`maxPool2d backward: ${grad.data.length} gradients for ${argmax.length} windows`);
  // ### BEGIN SOLUTION
  const dx = new Float32Array(shapeSize(inputShape));
  for (let e = 0; e < argmax.length; e++) dx[argmax[e]] += grad.data[e];
  return { data: dx, shape: [...inputShape] };
  // ### END SOLUTION
}

/** What max pooling remembers for its backward rule: where each maximum came from. */
interface MaxPoolArgs extends OpArgs {
  argmax: Int32Array;
}

/** Max pooling over k×k windows (stride k by default), per channel. */
class MaxPool2d extends Layer {
  readonly kernelSize: number;
  readonly stride: number;

  constructor(kernelSize: number, options: { stride?: number } = {}) {
    super();
    this.kernelSize = kernelSize;
    this.stride = options.stride ?? kernelSize;
    convGeometry([1, 1, kernelSize, kernelSize], kernelSize, this.stride); // checks both
  }

  forward(x: Tensor): Tensor {
    const { out, argmax } = (windowKernelSlot.maxPool2d ?? maxPool2dKernel)(x, convGeometry(x.shape, this.kernelSize, this.stride));
    const args: MaxPoolArgs = { argmax };
    return Tensor.record(new Tensor(out.data, out.shape), "maxPool2d", [x], args);
  }

  /** k² − 1 comparisons per output value. */
  forwardCost(inputShape: readonly number[]): { flops: number; outputShape: number[] } {
    const g = convGeometry(inputShape, this.kernelSize, this.stride);
    const outputShape = [g.batch, g.channels, g.outHeight, g.outWidth];
    return { flops: shapeSize(outputShape) * (this.kernelSize * this.kernelSize - 1), outputShape };
  }

  /** One addition per output value, routed to its arg-max. */
  backwardFlops(inputShape: readonly number[], inputNeedsGrad: boolean): number {
    return inputNeedsGrad ? shapeSize(this.forwardCost(inputShape).outputShape) : 0;
  }
}

registerRules({
  maxPool2d: (grad, node) => {
    const dx = maxPool2dBackward(grad, (node.args as MaxPoolArgs).argmax, node.inputs[0].shape);
    return [new Tensor(dx.data, dx.shape)];
  },
});

// %% nbgrader={"grade": true, "grade_id": "test-unit-max-pool", "locked": true, "points": 4, "schema_version": 3, "solution": false, "task": false}
function testUnitMaxPool(): void {
  const example = new Tensor([[[[1, 3, 2, 4], [5, 6, 7, 8], [2, 9, 1, 3], [0, 1, 9, 3]]]]);
  check("forward", 2, () => {
    const { out, argmax } = maxPool2dKernel(example, convGeometry(example.shape, 2, 2));
    assertShape(out.shape, [1, 1, 2, 2]);
    assertEqual(Array.from(out.data), [6, 8, 9, 9], "the maxima of the four windows");
    assertEqual(Array.from(argmax), [5, 7, 9, 14], "where they are (flat indices into x)");
    assertEqual(Array.from(new AvgPool2d(2).forward(example).data), [3.75, 5.25, 3, 4], "the worked example's averages");
    // ### BEGIN HIDDEN TESTS
    const ties = maxPool2dKernel({ data: Float32Array.from([7, 7, 7, 7]), shape: [1, 1, 2, 2] }, convGeometry([1, 1, 2, 2], 2));
    assertEqual(Array.from(ties.argmax), [0], "a tie goes to the first cell");
    /** Oracle: max pooling in float64 with the first arg-max of each window. */
    function maxPool64(x: ArrayLike<number>, [n, c, h, w]: number[], k: number, s: number): number[][] {
      const ho = Math.floor((h - k) / s) + 1;
      const wo = Math.floor((w - k) / s) + 1;
      const values: number[] = [];
      const where: number[] = [];
      for (let plane = 0; plane < n * c; plane++)
        for (let i = 0; i < ho; i++)
          for (let j = 0; j < wo; j++) {
            let best = -1;
            for (let u = 0; u < k; u++)
              for (let v = 0; v < k; v++) {
                const e = plane * h * w + (i * s + u) * w + j * s + v;
                if (best < 0 || x[e] > x[best]) best = e;
              }
            values.push(x[best]);
            where.push(best);
          }
      return [values, where];
    }
    const r = testRandom("09/max-pool/forward");
    for (let trial = 0; trial < 6; trial++) {
      const k = r.int(1, 4);
      const stride = r.int(1, k + 1);
      const shape = [r.int(1, 3), r.int(1, 3), r.int(k, 9), r.int(k, 9)];
      // Few distinct values, so that windows hold ties.
      const x = new Tensor(Float32Array.from({ length: shapeSize(shape) }, () => r.int(0, 4)), shape);
      const { out, argmax } = maxPool2dKernel(x, convGeometry(shape, k, stride));
      const label = `[${shape}], k ${k}, stride ${stride}`;
      assertShape(out.shape, [shape[0], shape[1], Math.floor((shape[2] - k) / stride) + 1, Math.floor((shape[3] - k) / stride) + 1], `${label}: shape`);
      assertEqual([Array.from(out.data), Array.from(argmax)], maxPool64(x.data, shape, k, stride), `${label}: maxima and their first positions`);
    }
    // ### END HIDDEN TESTS
  });
  check("backward", 2, () => {
    const x = example.clone().setRequiresGrad();
    new MaxPool2d(2).forward(x).sum().backward();
    assertEqual(Array.from((x.grad as Tensor).data), [0, 0, 0, 0, 0, 1, 0, 1, 0, 1, 0, 0, 0, 0, 1, 0], "only the maxima receive a gradient");
    const overlap = maxPool2dBackward({ data: Float32Array.from([1, 2]), shape: [1, 1, 1, 2] }, Int32Array.from([4, 4]), [1, 1, 3, 3]);
    assertEqual(Array.from(overlap.data), [0, 0, 0, 0, 3, 0, 0, 0, 0], "a cell that is the maximum of two windows collects both");
    // ### BEGIN HIDDEN TESTS
    /** Oracle: max pooling in float64 (the forward pass, differentiated numerically below). */
    function maxPoolValues64(x: ArrayLike<number>, [n, c, h, w]: number[], k: number, s: number): number[] {
      const ho = Math.floor((h - k) / s) + 1;
      const wo = Math.floor((w - k) / s) + 1;
      const out: number[] = [];
      for (let plane = 0; plane < n * c; plane++)
        for (let i = 0; i < ho; i++)
          for (let j = 0; j < wo; j++) {
            let best = -Infinity;
            for (let u = 0; u < k; u++) for (let v = 0; v < k; v++) best = Math.max(best, x[plane * h * w + (i * s + u) * w + j * s + v]);
            out.push(best);
          }
      return out;
    }
    const r = testRandom("09/max-pool/backward");
    for (let trial = 0; trial < 5; trial++) {
      const k = r.int(2, 3);
      const stride = r.int(1, k);
      const shape = [r.int(2, 3), r.int(1, 2), r.int(k, 7), r.int(k, 7)];
      // Distinct values at least 0.01 apart: max pooling is differentiable there.
      const values = r.shuffled(Array.from({ length: shapeSize(shape) }, (_, i) => Math.fround(i * 0.01 - 0.3)));
      const x = new Tensor(Float32Array.from(values), shape).setRequiresGrad();
      const y = new MaxPool2d(k, { stride }).forward(x);
      const weights = r.numbers(y.size);
      y.backward(new Tensor(Float32Array.from(weights), y.shape));
      assertClose(
        Array.from((x.grad as Tensor).data),
        centralDifferences((v) => weightedSum(maxPoolValues64(v, shape, k, stride), weights), values, 1e-4),
        { rtol: 1e-4, atol: 1e-4 },
        `[${shape}], k ${k}, stride ${stride}: dL/dx against central differences`,
      );
    }
    // ### END HIDDEN TESTS
  });
  passed("testUnitMaxPool");
}
testUnitMaxPool();

// %%
//| mutation max-pool spreads each window's gradient evenly over its cells
function maxPool2dKernel(x: RawTensor, g: ConvGeometry): { out: RawTensor; argmax: Int32Array } {
  const { batch, channels, height, width, kernel, stride, outHeight, outWidth } = g;
  const out = new Float32Array(batch * channels * outHeight * outWidth);
  const argmax = new Int32Array(out.length);
  let at = 0;
  for (let plane = 0; plane < batch * channels; plane++)
    for (let i = 0; i < outHeight; i++)
      for (let j = 0; j < outWidth; j++) {
        let best = plane * height * width + i * stride * width + j * stride;
        for (let p = 0; p < kernel; p++)
          for (let q = 0; q < kernel; q++) {
            const e = plane * height * width + (i * stride + p) * width + j * stride + q;
            if (x.data[e] > x.data[best]) best = e;
          }
        out[at] = x.data[best];
        argmax[at++] = best;
      }
  return { out: { data: out, shape: [batch, channels, outHeight, outWidth] }, argmax };
}
function maxPool2dBackward(grad: RawTensor, argmax: Int32Array, inputShape: readonly number[]): RawTensor {
  const [, , height, width] = inputShape;
  const dx = new Float32Array(shapeSize(inputShape));
  const outWidth = grad.shape[3];
  const outHeight = grad.shape[2];
  const kernel = Math.max(1, Math.round(height / outHeight));
  for (let e = 0; e < argmax.length; e++) {
    const plane = Math.floor(e / (outHeight * outWidth));
    const i = Math.floor((e % (outHeight * outWidth)) / outWidth);
    const j = e % outWidth;
    for (let p = 0; p < kernel; p++)
      for (let q = 0; q < kernel; q++) {
        const row = i * kernel + p;
        const col = j * kernel + q;
        if (row < height && col < width) dx[plane * height * width + row * width + col] += grad.data[e] / (kernel * kernel);
      }
  }
  return { data: dx, shape: [...inputShape] };
}
interface MaxPoolArgs extends OpArgs {
  argmax: Int32Array;
}
class MaxPool2d extends Layer {
  readonly kernelSize: number;
  readonly stride: number;
  constructor(kernelSize: number, options: { stride?: number } = {}) {
    super();
    this.kernelSize = kernelSize;
    this.stride = options.stride ?? kernelSize;
  }
  forward(x: Tensor): Tensor {
    const { out, argmax } = (windowKernelSlot.maxPool2d ?? maxPool2dKernel)(x, convGeometry(x.shape, this.kernelSize, this.stride));
    const args: MaxPoolArgs = { argmax };
    return Tensor.record(new Tensor(out.data, out.shape), "maxPool2d", [x], args);
  }
}
registerRules({
  maxPool2d: (grad, node) => {
    const dx = maxPool2dBackward(grad, (node.args as MaxPoolArgs).argmax, node.inputs[0].shape);
    return [new Tensor(dx.data, dx.shape)];
  },
});

// %%
//| mutation max-pool gives a tie to the last cell holding the maximum
function maxPool2dKernel(x: RawTensor, g: ConvGeometry): { out: RawTensor; argmax: Int32Array } {
  const { batch, channels, height, width, kernel, stride, outHeight, outWidth } = g;
  const out = new Float32Array(batch * channels * outHeight * outWidth);
  const argmax = new Int32Array(out.length);
  let at = 0;
  for (let plane = 0; plane < batch * channels; plane++)
    for (let i = 0; i < outHeight; i++)
      for (let j = 0; j < outWidth; j++) {
        let best = plane * height * width + i * stride * width + j * stride;
        for (let p = 0; p < kernel; p++)
          for (let q = 0; q < kernel; q++) {
            const e = plane * height * width + (i * stride + p) * width + j * stride + q;
            if (x.data[e] >= x.data[best]) best = e;
          }
        out[at] = x.data[best];
        argmax[at++] = best;
      }
  return { out: { data: out, shape: [batch, channels, outHeight, outWidth] }, argmax };
}
function maxPool2dBackward(grad: RawTensor, argmax: Int32Array, inputShape: readonly number[]): RawTensor {
  const dx = new Float32Array(shapeSize(inputShape));
  for (let e = 0; e < argmax.length; e++) dx[argmax[e]] += grad.data[e];
  return { data: dx, shape: [...inputShape] };
}
interface MaxPoolArgs extends OpArgs {
  argmax: Int32Array;
}
class MaxPool2d extends Layer {
  readonly kernelSize: number;
  readonly stride: number;
  constructor(kernelSize: number, options: { stride?: number } = {}) {
    super();
    this.kernelSize = kernelSize;
    this.stride = options.stride ?? kernelSize;
  }
  forward(x: Tensor): Tensor {
    const { out, argmax } = (windowKernelSlot.maxPool2d ?? maxPool2dKernel)(x, convGeometry(x.shape, this.kernelSize, this.stride));
    const args: MaxPoolArgs = { argmax };
    return Tensor.record(new Tensor(out.data, out.shape), "maxPool2d", [x], args);
  }
}
registerRules({
  maxPool2d: (grad, node) => {
    const dx = maxPool2dBackward(grad, (node.args as MaxPoolArgs).argmax, node.inputs[0].shape);
    return [new Tensor(dx.data, dx.shape)];
  },
});

// %%
//| mutation max-pool overwrites the gradient of a cell that is the maximum of two windows
function maxPool2dKernel(x: RawTensor, g: ConvGeometry): { out: RawTensor; argmax: Int32Array } {
  const { batch, channels, height, width, kernel, stride, outHeight, outWidth } = g;
  const out = new Float32Array(batch * channels * outHeight * outWidth);
  const argmax = new Int32Array(out.length);
  let at = 0;
  for (let plane = 0; plane < batch * channels; plane++)
    for (let i = 0; i < outHeight; i++)
      for (let j = 0; j < outWidth; j++) {
        let best = plane * height * width + i * stride * width + j * stride;
        for (let p = 0; p < kernel; p++)
          for (let q = 0; q < kernel; q++) {
            const e = plane * height * width + (i * stride + p) * width + j * stride + q;
            if (x.data[e] > x.data[best]) best = e;
          }
        out[at] = x.data[best];
        argmax[at++] = best;
      }
  return { out: { data: out, shape: [batch, channels, outHeight, outWidth] }, argmax };
}
function maxPool2dBackward(grad: RawTensor, argmax: Int32Array, inputShape: readonly number[]): RawTensor {
  const dx = new Float32Array(shapeSize(inputShape));
  for (let e = 0; e < argmax.length; e++) dx[argmax[e]] = grad.data[e];
  return { data: dx, shape: [...inputShape] };
}
interface MaxPoolArgs extends OpArgs {
  argmax: Int32Array;
}
class MaxPool2d extends Layer {
  readonly kernelSize: number;
  readonly stride: number;
  constructor(kernelSize: number, options: { stride?: number } = {}) {
    super();
    this.kernelSize = kernelSize;
    this.stride = options.stride ?? kernelSize;
  }
  forward(x: Tensor): Tensor {
    const { out, argmax } = (windowKernelSlot.maxPool2d ?? maxPool2dKernel)(x, convGeometry(x.shape, this.kernelSize, this.stride));
    const args: MaxPoolArgs = { argmax };
    return Tensor.record(new Tensor(out.data, out.shape), "maxPool2d", [x], args);
  }
}
registerRules({
  maxPool2d: (grad, node) => {
    const dx = maxPool2dBackward(grad, (node.args as MaxPoolArgs).argmax, node.inputs[0].shape);
    return [new Tensor(dx.data, dx.shape)];
  },
});

// %% [markdown]
// ## Part 7: Batch normalization
//
// Deep networks train faster when every layer's inputs keep a steady scale. Batch
// normalization (Ioffe and Szegedy, 2015) enforces it: for each channel `c`, over the `M = N·H·W`
// values of the batch,
//
// ```
// μ_c = mean of x[:, c]          σ²_c = mean of (x[:, c] − μ_c)²          (biased: divided by M)
// x̂   = (x − μ_c) / √(σ²_c + eps)
// y   = γ_c · x̂ + β_c            γ (weight, starts at 1) and β (bias, starts at 0) are learned
// ```
//
// **Training and evaluation differ.** In training the statistics come from the batch, so each
// example's output depends on the others in its batch. At evaluation there may be one example,
// and its prediction must not depend on its neighbours, so the layer uses **running** estimates
// collected during training. PyTorch's rule, which we follow exactly (momentum 0.1 by default):
//
// ```
// runningMean ← (1 − momentum) · runningMean + momentum · μ
// runningVar  ← (1 − momentum) · runningVar  + momentum · σ² · M / (M − 1)     (unbiased)
// ```
//
// The variance used to normalise the batch is the biased one; the running variance takes the
// unbiased estimate (`M / (M − 1)`), since it estimates the variance of the whole data. In
// evaluation mode the layer neither updates nor uses batch statistics. `runningMean` and
// `runningVar` are tensors of the layer but not parameters: no gradient, no optimizer.
// Training with a single value per channel (`M = 1`) has no variance to speak of; PyTorch
// refuses it, and so do we.
//
// ### Exercise 6: `BatchNorm2d.forward`
//
// **TODO**: Fill `normalized` (x̂), `invStd` (`1/√(σ² + eps)` per channel) and `out` (y), and in
// training mode update the running statistics.
//
// **APPROACH**:
// 1. Per channel, the mean and the (biased) variance: from the batch in training mode (then
//    update the running estimates with PyTorch's rule), from `runningMean` / `runningVar` in
//    evaluation mode.
// 2. Per channel, `invStd[c]`; then for every element, `x̂` and `y = γ·x̂ + β`.
//
// **HINTS**:
// - Channel `c` of image `n` is one contiguous plane of `H·W` values: where does it start?
// - Accumulate the sums in ordinary (float64) numbers, and compute the variance from the
//   mean in a second pass, not from Σx² − M·μ² (which cancels badly when the mean is large).

// %% nbgrader={"grade": false, "grade_id": "batch-norm-forward", "locked": false, "schema_version": 3, "solution": true, "task": false}
//| export
/** Options of a BatchNorm2d layer (PyTorch's defaults). */
interface BatchNorm2dOptions {
  eps?: number;
  momentum?: number;
}

/** What batch normalization remembers for its backward rule. */
interface BatchNormArgs extends OpArgs {
  /** x̂ of every element. */
  normalized: Float32Array;
  /** 1/√(σ² + eps) per channel. */
  invStd: Float32Array;
  /** True when the statistics came from the batch (training), false for the running ones. */
  batchStatistics: boolean;
}

/** Per-channel normalization of NCHW inputs with learned scale and shift; running statistics for evaluation. */
class BatchNorm2d extends Layer {
  readonly channels: number;
  readonly eps: number;
  readonly momentum: number;
  weight: Tensor;
  bias: Tensor;
  runningMean: Tensor;
  runningVar: Tensor;

  constructor(channels: number, options: BatchNorm2dOptions = {}) {
    super();
    if (!Number.isInteger(channels) || channels < 1) throw new Error(`BatchNorm2d: channels must be a positive integer, got ${channels}`);
    this.channels = channels;
    this.eps = options.eps ?? 1e-5;
    this.momentum = options.momentum ?? 0.1;
    this.weight = Tensor.ones([channels]).setRequiresGrad();
    this.bias = Tensor.zeros([channels]).setRequiresGrad();
    this.runningMean = Tensor.zeros([channels]);
    this.runningVar = Tensor.ones([channels]);
  }

  forward(x: Tensor): Tensor {
    if (x.ndim !== 4 || x.shape[1] !== this.channels) {
      throw new Error(`BatchNorm2d(${this.channels}) expects inputs [N, ${this.channels}, H, W], got shape ${formatShape(x.shape)}`);
    }
    const [batch, channels, height, width] = x.shape;
    const plane = height * width;
    const count = batch * plane;
    if (this.training && count < 2) {
      throw new Error(`BatchNorm2d: expected more than 1 value per channel when training, got input shape ${formatShape(x.shape)}`);
    }
    const normalized = new Float32Array(x.size);
    const invStd = new Float32Array(channels);
    const out = new Float32Array(x.size);
    // ### BEGIN SOLUTION
    for (let c = 0; c < channels; c++) {
      let mean: number;
      let variance: number;
      if (this.training) {
        let sum = 0;
        for (let n = 0; n < batch; n++) {
          const start = (n * channels + c) * plane;
          for (let e = start; e < start + plane; e++) sum += x.data[e];
        }
        mean = sum / count;
        let squares = 0;
        for (let n = 0; n < batch; n++) {
          const start = (n * channels + c) * plane;
          for (let e = start; e < start + plane; e++) squares += (x.data[e] - mean) ** 2;
        }
        variance = squares / count;
        const m = this.momentum;
        this.runningMean.data[c] = (1 - m) * this.runningMean.data[c] + m * mean;
        this.runningVar.data[c] = (1 - m) * this.runningVar.data[c] + (m * (variance * count)) / (count - 1);
      } else {
        mean = this.runningMean.data[c];
        variance = this.runningVar.data[c];
      }
      const inv = 1 / Math.sqrt(variance + this.eps);
      invStd[c] = inv;
      const gamma = this.weight.data[c];
      const beta = this.bias.data[c];
      for (let n = 0; n < batch; n++) {
        const start = (n * channels + c) * plane;
        for (let e = start; e < start + plane; e++) {
          const xhat = (x.data[e] - mean) * inv;
          normalized[e] = xhat;
          out[e] = gamma * xhat + beta;
        }
      }
    }
    // ### END SOLUTION
    const args: BatchNormArgs = { normalized, invStd, batchStatistics: this.training };
    return Tensor.record(new Tensor(out, x.shape), "batchNorm2d", [x, this.weight, this.bias], args);
  }

  override parameters(): Tensor[] {
    return [this.weight, this.bias];
  }

  /** 2 FLOPs per value at inference (one scale and one shift per channel, folded). */
  forwardCost(inputShape: readonly number[]): { flops: number; outputShape: number[] } {
    if (inputShape.length !== 4 || inputShape[1] !== this.channels) {
      throw new Error(`BatchNorm2d(${this.channels}): shape mismatch, input ${formatShape(inputShape)} is not [N, ${this.channels}, H, W]`);
    }
    return { flops: 2 * shapeSize(inputShape), outputShape: [...inputShape] };
  }

  /** 3 FLOPs per value for dγ and dβ, 5 more for dx when the input needs it. */
  backwardFlops(inputShape: readonly number[], inputNeedsGrad: boolean): number {
    return shapeSize(this.forwardCost(inputShape).outputShape) * (3 + (inputNeedsGrad ? 5 : 0));
  }
}

// %% nbgrader={"grade": true, "grade_id": "test-unit-batch-norm-forward", "locked": true, "points": 3, "schema_version": 3, "solution": false, "task": false}
function testUnitBatchNormForward(): void {
  // One channel holding 1, 2, 3, 4 (two images of 1×2): μ = 2.5, σ² = 1.25.
  const bn = new BatchNorm2d(1, { eps: 0 });
  const x = new Tensor([[[[1, 2]]], [[[3, 4]]]]);
  const y = bn.forward(x);
  assertClose(Array.from(y.data), [-1.5, -0.5, 0.5, 1.5].map((v) => v / Math.sqrt(1.25)), { rtol: 1e-5 }, "normalised with the batch's mean and biased variance");
  assertClose([bn.runningMean.data[0], bn.runningVar.data[0]], [0.25, 0.9 + 0.1 * (5 / 3)], { rtol: 1e-5 }, "running: 0.1 of the mean, and of the unbiased variance 5/3");
  bn.eval();
  assertClose(Array.from(bn.forward(x).data), [1, 2, 3, 4].map((v) => (v - 0.25) / Math.sqrt(0.9 + 0.1 * (5 / 3))), { rtol: 1e-5 }, "eval: the running statistics");
  assertClose([bn.runningMean.data[0], bn.runningVar.data[0]], [0.25, 0.9 + 0.1 * (5 / 3)], { rtol: 1e-5 }, "eval updates nothing");
  assertThrows(() => new BatchNorm2d(1).forward(new Tensor([[[[5]]]])), "more than 1 value per channel");
  // ### BEGIN HIDDEN TESTS
  /**
   * Oracle: batch norm in float64, steps of training mode (PyTorch's running updates) then one
   * evaluation; returns every output, then the running statistics.
   */
  function batchNorm64(batches: ArrayLike<number>[], [n, c, h, w]: number[], gamma: ArrayLike<number>, beta: ArrayLike<number>, eps: number, momentum: number, evalInput: ArrayLike<number>): number[][] {
    const m = n * h * w;
    const runningMean = new Array<number>(c).fill(0);
    const runningVar = new Array<number>(c).fill(1);
    const outputs: number[][] = [];
    const normalize = (x: ArrayLike<number>, mean: number[], variance: number[]): number[] =>
      Array.from({ length: n * c * h * w }, (_, e) => {
        const ch = Math.floor(e / (h * w)) % c;
        return gamma[ch] * ((x[e] - mean[ch]) / Math.sqrt(variance[ch] + eps)) + beta[ch];
      });
    for (const x of batches) {
      const mean: number[] = [];
      const variance: number[] = [];
      for (let ch = 0; ch < c; ch++) {
        const values: number[] = [];
        for (let a = 0; a < n; a++) for (let e = 0; e < h * w; e++) values.push(x[(a * c + ch) * h * w + e]);
        const mu = values.reduce((s, v) => s + v, 0) / m;
        const v2 = values.reduce((s, v) => s + (v - mu) ** 2, 0) / m;
        mean.push(mu);
        variance.push(v2);
        runningMean[ch] = (1 - momentum) * runningMean[ch] + momentum * mu;
        runningVar[ch] = (1 - momentum) * runningVar[ch] + momentum * ((v2 * m) / (m - 1));
      }
      outputs.push(normalize(x, mean, variance));
    }
    outputs.push(normalize(evalInput, runningMean, runningVar));
    return [...outputs, runningMean, runningVar];
  }
  const r = testRandom("09/batch-norm-forward");
  for (let trial = 0; trial < 4; trial++) {
    const shape = [r.int(1, 4), r.int(1, 3), r.int(1, 4), r.int(1, 4)];
    if (shape[0] * shape[2] * shape[3] < 2) shape[0] = 2;
    const channels = shape[1];
    const eps = r.pick([1e-5, 1e-3, 0.1]);
    const momentum = Math.fround(r.uniform(0.05, 0.9));
    const layer = new BatchNorm2d(channels, { eps, momentum });
    layer.weight.data.set(r.numbers(channels, 0.5, 2));
    layer.bias.data.set(r.numbers(channels));
    const offset = r.uniform(-50, 50);
    const steps = Array.from({ length: r.int(1, 3) }, () => randomTensor(r, shape, offset - r.uniform(0.5, 3), offset + r.uniform(0.5, 3)));
    const evalInput = randomTensor(r, shape, offset - 2, offset + 2);
    const got = steps.map((x) => Array.from(layer.forward(x).data));
    layer.eval();
    got.push(Array.from(layer.forward(evalInput).data));
    got.push(Array.from(layer.runningMean.data), Array.from(layer.runningVar.data));
    const label = `BatchNorm2d(${channels}) on [${shape}], eps ${eps}, momentum ${momentum}, ${steps.length} training step(s) around ${offset.toFixed(1)}`;
    assertClose(got, batchNorm64(steps.map((x) => x.data), shape, layer.weight.data, layer.bias.data, eps, momentum, evalInput.data), { rtol: 2e-4, atol: 2e-4 }, `${label}: outputs, then the running mean and variance`);
  }
  // ### END HIDDEN TESTS
  passed("testUnitBatchNormForward");
}
testUnitBatchNormForward();

// %%
//| mutation batch-norm-forward updates the running variance with the biased batch variance
interface BatchNorm2dOptions {
  eps?: number;
  momentum?: number;
}
interface BatchNormArgs extends OpArgs {
  normalized: Float32Array;
  invStd: Float32Array;
  batchStatistics: boolean;
}
class BatchNorm2d extends Layer {
  readonly channels: number;
  readonly eps: number;
  readonly momentum: number;
  weight: Tensor;
  bias: Tensor;
  runningMean: Tensor;
  runningVar: Tensor;
  constructor(channels: number, options: BatchNorm2dOptions = {}) {
    super();
    this.channels = channels;
    this.eps = options.eps ?? 1e-5;
    this.momentum = options.momentum ?? 0.1;
    this.weight = Tensor.ones([channels]).setRequiresGrad();
    this.bias = Tensor.zeros([channels]).setRequiresGrad();
    this.runningMean = Tensor.zeros([channels]);
    this.runningVar = Tensor.ones([channels]);
  }
  forward(x: Tensor): Tensor {
    const [batch, channels, height, width] = x.shape;
    const plane = height * width;
    const count = batch * plane;
    if (this.training && count < 2) throw new Error("BatchNorm2d: expected more than 1 value per channel when training");
    const normalized = new Float32Array(x.size);
    const invStd = new Float32Array(channels);
    const out = new Float32Array(x.size);
    for (let c = 0; c < channels; c++) {
      let mean = this.runningMean.data[c];
      let variance = this.runningVar.data[c];
      if (this.training) {
        let sum = 0;
        for (let n = 0; n < batch; n++) for (let e = 0; e < plane; e++) sum += x.data[(n * channels + c) * plane + e];
        mean = sum / count;
        let squares = 0;
        for (let n = 0; n < batch; n++) for (let e = 0; e < plane; e++) squares += (x.data[(n * channels + c) * plane + e] - mean) ** 2;
        variance = squares / count;
        this.runningMean.data[c] = (1 - this.momentum) * this.runningMean.data[c] + this.momentum * mean;
        this.runningVar.data[c] = (1 - this.momentum) * this.runningVar.data[c] + this.momentum * variance;
      }
      invStd[c] = 1 / Math.sqrt(variance + this.eps);
      for (let n = 0; n < batch; n++)
        for (let e = 0; e < plane; e++) {
          const at = (n * channels + c) * plane + e;
          normalized[at] = (x.data[at] - mean) * invStd[c];
          out[at] = this.weight.data[c] * normalized[at] + this.bias.data[c];
        }
    }
    const args: BatchNormArgs = { normalized, invStd, batchStatistics: this.training };
    return Tensor.record(new Tensor(out, x.shape), "batchNorm2d", [x, this.weight, this.bias], args);
  }
  override parameters(): Tensor[] {
    return [this.weight, this.bias];
  }
}

// %%
//| mutation batch-norm-forward puts the momentum on the old running value
interface BatchNorm2dOptions {
  eps?: number;
  momentum?: number;
}
interface BatchNormArgs extends OpArgs {
  normalized: Float32Array;
  invStd: Float32Array;
  batchStatistics: boolean;
}
class BatchNorm2d extends Layer {
  readonly channels: number;
  readonly eps: number;
  readonly momentum: number;
  weight: Tensor;
  bias: Tensor;
  runningMean: Tensor;
  runningVar: Tensor;
  constructor(channels: number, options: BatchNorm2dOptions = {}) {
    super();
    this.channels = channels;
    this.eps = options.eps ?? 1e-5;
    this.momentum = options.momentum ?? 0.1;
    this.weight = Tensor.ones([channels]).setRequiresGrad();
    this.bias = Tensor.zeros([channels]).setRequiresGrad();
    this.runningMean = Tensor.zeros([channels]);
    this.runningVar = Tensor.ones([channels]);
  }
  forward(x: Tensor): Tensor {
    const [batch, channels, height, width] = x.shape;
    const plane = height * width;
    const count = batch * plane;
    if (this.training && count < 2) throw new Error("BatchNorm2d: expected more than 1 value per channel when training");
    const normalized = new Float32Array(x.size);
    const invStd = new Float32Array(channels);
    const out = new Float32Array(x.size);
    for (let c = 0; c < channels; c++) {
      let mean = this.runningMean.data[c];
      let variance = this.runningVar.data[c];
      if (this.training) {
        let sum = 0;
        for (let n = 0; n < batch; n++) for (let e = 0; e < plane; e++) sum += x.data[(n * channels + c) * plane + e];
        mean = sum / count;
        let squares = 0;
        for (let n = 0; n < batch; n++) for (let e = 0; e < plane; e++) squares += (x.data[(n * channels + c) * plane + e] - mean) ** 2;
        variance = squares / count;
        this.runningMean.data[c] = this.momentum * this.runningMean.data[c] + (1 - this.momentum) * mean;
        this.runningVar.data[c] = this.momentum * this.runningVar.data[c] + ((1 - this.momentum) * variance * count) / (count - 1);
      }
      invStd[c] = 1 / Math.sqrt(variance + this.eps);
      for (let n = 0; n < batch; n++)
        for (let e = 0; e < plane; e++) {
          const at = (n * channels + c) * plane + e;
          normalized[at] = (x.data[at] - mean) * invStd[c];
          out[at] = this.weight.data[c] * normalized[at] + this.bias.data[c];
        }
    }
    const args: BatchNormArgs = { normalized, invStd, batchStatistics: this.training };
    return Tensor.record(new Tensor(out, x.shape), "batchNorm2d", [x, this.weight, this.bias], args);
  }
  override parameters(): Tensor[] {
    return [this.weight, this.bias];
  }
}

// %%
//| mutation batch-norm-forward normalizes with the running statistics in training too
interface BatchNorm2dOptions {
  eps?: number;
  momentum?: number;
}
interface BatchNormArgs extends OpArgs {
  normalized: Float32Array;
  invStd: Float32Array;
  batchStatistics: boolean;
}
class BatchNorm2d extends Layer {
  readonly channels: number;
  readonly eps: number;
  readonly momentum: number;
  weight: Tensor;
  bias: Tensor;
  runningMean: Tensor;
  runningVar: Tensor;
  constructor(channels: number, options: BatchNorm2dOptions = {}) {
    super();
    this.channels = channels;
    this.eps = options.eps ?? 1e-5;
    this.momentum = options.momentum ?? 0.1;
    this.weight = Tensor.ones([channels]).setRequiresGrad();
    this.bias = Tensor.zeros([channels]).setRequiresGrad();
    this.runningMean = Tensor.zeros([channels]);
    this.runningVar = Tensor.ones([channels]);
  }
  forward(x: Tensor): Tensor {
    const [batch, channels, height, width] = x.shape;
    const plane = height * width;
    const count = batch * plane;
    if (this.training && count < 2) throw new Error("BatchNorm2d: expected more than 1 value per channel when training");
    const normalized = new Float32Array(x.size);
    const invStd = new Float32Array(channels);
    const out = new Float32Array(x.size);
    for (let c = 0; c < channels; c++) {
      if (this.training) {
        let sum = 0;
        for (let n = 0; n < batch; n++) for (let e = 0; e < plane; e++) sum += x.data[(n * channels + c) * plane + e];
        const mean = sum / count;
        let squares = 0;
        for (let n = 0; n < batch; n++) for (let e = 0; e < plane; e++) squares += (x.data[(n * channels + c) * plane + e] - mean) ** 2;
        this.runningMean.data[c] = (1 - this.momentum) * this.runningMean.data[c] + this.momentum * mean;
        this.runningVar.data[c] = (1 - this.momentum) * this.runningVar.data[c] + (this.momentum * squares) / (count - 1);
      }
      const mean = this.runningMean.data[c];
      invStd[c] = 1 / Math.sqrt(this.runningVar.data[c] + this.eps);
      for (let n = 0; n < batch; n++)
        for (let e = 0; e < plane; e++) {
          const at = (n * channels + c) * plane + e;
          normalized[at] = (x.data[at] - mean) * invStd[c];
          out[at] = this.weight.data[c] * normalized[at] + this.bias.data[c];
        }
    }
    const args: BatchNormArgs = { normalized, invStd, batchStatistics: this.training };
    return Tensor.record(new Tensor(out, x.shape), "batchNorm2d", [x, this.weight, this.bias], args);
  }
  override parameters(): Tensor[] {
    return [this.weight, this.bias];
  }
}

// %% [markdown]
// ### The backward pass of batch normalization
//
// γ and β are easy: `y = γ·x̂ + β`, so `dL/dβ_c = Σ g` and `dL/dγ_c = Σ g·x̂` over the channel's
// `M` values (`g` is the output gradient).
//
// The input is the interesting part. In training, `μ` and `σ²` are functions of **every** `x`
// of the channel, so nudging one `x` moves all `M` outputs of its channel. The chain rule
// through `x̂ = (x − μ)·(σ² + eps)^(−1/2)`, with `dμ/dx = 1/M` and `dσ²/dx = 2(x − μ)/M`,
// collects into (with `ĝ = γ·g`)
//
// ```
// dL/dx = (invStd / M) · (M·ĝ − Σ ĝ − x̂ · Σ (ĝ · x̂))
// ```
//
// Two things vanish: the part of the gradient that would shift the whole channel (the mean of
// `ĝ`), and the part that would stretch it (its projection on `x̂`). The normalisation undoes
// both kinds of change, so they cannot lower the loss. In evaluation mode the statistics are
// constants and the layer is a per-channel affine map: `dL/dx = γ · invStd · g`.
//
// (Treating `μ` and `σ²` as constants in training, as in evaluation, is a classic bug: the
// network still trains, a little worse, and nothing fails. A finite-difference check finds it.)
//
// ### Exercise 7: `batchNorm2dBackward`
//
// **TODO**: Given the output gradient, the saved `x̂` and `invStd`, the weight `γ` and whether the
// batch statistics were used, return `dx`, `dweight` and `dbias`.
//
// **APPROACH**:
// 1. Per channel, `Σ g` and `Σ g·x̂` over its `M` values: they give `dbias` and `dweight`.
// 2. Per element, `dx` from the formula above (training) or `γ·invStd·g` (evaluation).
//
// **HINTS**:
// - Express `Σ ĝ` and `Σ ĝ·x̂` with the two sums of step 1.
// - Derive `dμ/dx` and `dσ²/dx` once on paper before you code.

// %% nbgrader={"grade": false, "grade_id": "batch-norm-backward", "locked": false, "schema_version": 3, "solution": true, "task": false}
//| export
/** dL/dx, dL/dγ and dL/dβ of batch normalization from the output gradient and what the forward pass saved. */
function batchNorm2dBackward(
  grad: RawTensor,
  normalized: Float32Array,
  invStd: Float32Array,
  weight: Float32Array,
  batchStatistics: boolean,
): { dx: Float32Array; dweight: Float32Array; dbias: Float32Array } {
  const [batch, channels] = grad.shape;
  const plane = batch * channels === 0 ? 0 : grad.data.length / (batch * channels);
  const count = batch * plane;
  // ### BEGIN SOLUTION
  const dx = new Float32Array(grad.data.length);
  const dweight = new Float32Array(channels);
  const dbias = new Float32Array(channels);
  for (let c = 0; c < channels; c++) {
    let sumG = 0;
    let sumGX = 0;
    for (let n = 0; n < batch; n++) {
      const start = (n * channels + c) * plane;
      for (let e = start; e < start + plane; e++) {
        sumG += grad.data[e];
        sumGX += grad.data[e] * normalized[e];
      }
    }
    dbias[c] = sumG;
    dweight[c] = sumGX;
    const scale = weight[c] * invStd[c];
    for (let n = 0; n < batch; n++) {
      const start = (n * channels + c) * plane;
      for (let e = start; e < start + plane; e++) {
        dx[e] = batchStatistics ? (scale / count) * (count * grad.data[e] - sumG - normalized[e] * sumGX) : scale * grad.data[e];
      }
    }
  }
  return { dx, dweight, dbias };
  // ### END SOLUTION
}

registerRules({
  batchNorm2d: (grad, node) => {
    const [x, weight, bias] = node.inputs;
    const args = node.args as BatchNormArgs;
    const { dx, dweight, dbias } = batchNorm2dBackward(grad, args.normalized, args.invStd, weight.data, args.batchStatistics);
    return [
      x.requiresGrad ? new Tensor(dx, x.shape) : null,
      weight.requiresGrad ? new Tensor(dweight, weight.shape) : null,
      bias.requiresGrad ? new Tensor(dbias, bias.shape) : null,
    ];
  },
});

// %% nbgrader={"grade": true, "grade_id": "test-unit-batch-norm-backward", "locked": true, "points": 3, "schema_version": 3, "solution": false, "task": false}
function testUnitBatchNormBackward(): void {
  // L = Σ y over a channel: shifting every x together changes nothing, so dL/dx = 0; dL/dβ = M.
  const bn = new BatchNorm2d(1);
  const x = new Tensor([[[[1, 2]]], [[[3, 5]]]]).setRequiresGrad();
  bn.forward(x).sum().backward();
  assertClose(Array.from((x.grad as Tensor).data), [0, 0, 0, 0], { atol: 1e-6 }, "the mean's gradient cancels a uniform shift");
  assertClose(Array.from(bn.bias.grad?.data ?? []), [4], {}, "dL/dβ = Σ g");
  assertClose(Array.from(bn.weight.grad?.data ?? []), [0], { atol: 1e-5 }, "dL/dγ = Σ x̂ = 0");
  // ### BEGIN HIDDEN TESTS
  /** Oracle: batch norm in float64 with batch statistics (train) or fixed ones (eval). */
  function batchNorm64(x: ArrayLike<number>, [n, c, h, w]: number[], gamma: ArrayLike<number>, beta: ArrayLike<number>, eps: number, fixed: number[][] | null): number[] {
    const m = n * h * w;
    const mean: number[] = [];
    const variance: number[] = [];
    for (let ch = 0; ch < c; ch++) {
      const values: number[] = [];
      for (let a = 0; a < n; a++) for (let e = 0; e < h * w; e++) values.push(x[(a * c + ch) * h * w + e]);
      const mu = values.reduce((s, v) => s + v, 0) / m;
      mean.push(fixed === null ? mu : fixed[0][ch]);
      variance.push(fixed === null ? values.reduce((s, v) => s + (v - mu) ** 2, 0) / m : fixed[1][ch]);
    }
    return Array.from({ length: n * c * h * w }, (_, e) => {
      const ch = Math.floor(e / (h * w)) % c;
      return gamma[ch] * ((x[e] - mean[ch]) / Math.sqrt(variance[ch] + eps)) + beta[ch];
    });
  }
  const r = testRandom("09/batch-norm-backward");
  for (let trial = 0; trial < 5; trial++) {
    const shape = [r.int(2, 3), r.int(1, 3), r.int(1, 3), r.int(1, 3)];
    const channels = shape[1];
    const eps = r.pick([1e-5, 1e-2]);
    const layer = new BatchNorm2d(channels, { eps });
    layer.weight.data.set(r.numbers(channels, 0.5, 2));
    layer.bias.data.set(r.numbers(channels));
    const evaluation = trial === 4;
    if (evaluation) {
      layer.runningMean.data.set(r.numbers(channels));
      layer.runningVar.data.set(r.numbers(channels, 0.5, 2));
      layer.eval();
    }
    const fixed = evaluation ? [Array.from(layer.runningMean.data), Array.from(layer.runningVar.data)] : null;
    const x = randomTensor(r, shape, -2, 2).setRequiresGrad();
    const y = layer.forward(x);
    const weights = r.numbers(y.size);
    y.backward(new Tensor(Float32Array.from(weights), y.shape));
    const x0 = Array.from(x.data);
    const g0 = Array.from(layer.weight.data);
    const b0 = Array.from(layer.bias.data);
    const label = `BatchNorm2d(${channels}) on [${shape}], eps ${eps}, ${evaluation ? "eval" : "train"} mode`;
    assertClose(Array.from((x.grad as Tensor).data), centralDifferences((v) => weightedSum(batchNorm64(v, shape, g0, b0, eps, fixed), weights), x0), { rtol: 2e-3, atol: 2e-4 }, `${label}: dL/dx`);
    assertClose(Array.from(layer.weight.grad?.data ?? []), centralDifferences((v) => weightedSum(batchNorm64(x0, shape, v, b0, eps, fixed), weights), g0), { rtol: 2e-3, atol: 2e-4 }, `${label}: dL/dγ`);
    assertClose(Array.from(layer.bias.grad?.data ?? []), centralDifferences((v) => weightedSum(batchNorm64(x0, shape, g0, v, eps, fixed), weights), b0), { rtol: 2e-3, atol: 2e-4 }, `${label}: dL/dβ`);
  }
  // ### END HIDDEN TESTS
  passed("testUnitBatchNormBackward");
}
testUnitBatchNormBackward();

// %%
//| mutation batch-norm-backward ignores the gradient through the batch mean and variance
function batchNorm2dBackward(grad: RawTensor, normalized: Float32Array, invStd: Float32Array, weight: Float32Array): { dx: Float32Array; dweight: Float32Array; dbias: Float32Array } {
  const [batch, channels] = grad.shape;
  const plane = grad.data.length / (batch * channels);
  const dx = new Float32Array(grad.data.length);
  const dweight = new Float32Array(channels);
  const dbias = new Float32Array(channels);
  for (let n = 0; n < batch; n++)
    for (let c = 0; c < channels; c++)
      for (let e = 0; e < plane; e++) {
        const at = (n * channels + c) * plane + e;
        dbias[c] += grad.data[at];
        dweight[c] += grad.data[at] * normalized[at];
        dx[at] = weight[c] * invStd[c] * grad.data[at];
      }
  return { dx, dweight, dbias };
}
registerRules({
  batchNorm2d: (grad, node) => {
    const [x, weight, bias] = node.inputs;
    const args = node.args as BatchNormArgs;
    const { dx, dweight, dbias } = batchNorm2dBackward(grad, args.normalized, args.invStd, weight.data);
    return [x.requiresGrad ? new Tensor(dx, x.shape) : null, weight.requiresGrad ? new Tensor(dweight, weight.shape) : null, bias.requiresGrad ? new Tensor(dbias, bias.shape) : null];
  },
});

// %%
//| mutation batch-norm-backward drops the gradient through the variance (keeps only the mean's)
function batchNorm2dBackward(grad: RawTensor, normalized: Float32Array, invStd: Float32Array, weight: Float32Array, batchStatistics: boolean): { dx: Float32Array; dweight: Float32Array; dbias: Float32Array } {
  const [batch, channels] = grad.shape;
  const plane = grad.data.length / (batch * channels);
  const count = batch * plane;
  const dx = new Float32Array(grad.data.length);
  const dweight = new Float32Array(channels);
  const dbias = new Float32Array(channels);
  for (let n = 0; n < batch; n++)
    for (let c = 0; c < channels; c++)
      for (let e = 0; e < plane; e++) {
        const at = (n * channels + c) * plane + e;
        dbias[c] += grad.data[at];
        dweight[c] += grad.data[at] * normalized[at];
      }
  for (let n = 0; n < batch; n++)
    for (let c = 0; c < channels; c++)
      for (let e = 0; e < plane; e++) {
        const at = (n * channels + c) * plane + e;
        dx[at] = weight[c] * invStd[c] * (grad.data[at] - (batchStatistics ? dbias[c] / count : 0));
      }
  return { dx, dweight, dbias };
}
registerRules({
  batchNorm2d: (grad, node) => {
    const [x, weight, bias] = node.inputs;
    const args = node.args as BatchNormArgs;
    const { dx, dweight, dbias } = batchNorm2dBackward(grad, args.normalized, args.invStd, weight.data, args.batchStatistics);
    return [x.requiresGrad ? new Tensor(dx, x.shape) : null, weight.requiresGrad ? new Tensor(dweight, weight.shape) : null, bias.requiresGrad ? new Tensor(dbias, bias.shape) : null];
  },
});

// %%
//| mutation batch-norm-backward uses the training formula in evaluation mode too
function batchNorm2dBackward(grad: RawTensor, normalized: Float32Array, invStd: Float32Array, weight: Float32Array): { dx: Float32Array; dweight: Float32Array; dbias: Float32Array } {
  const [batch, channels] = grad.shape;
  const plane = grad.data.length / (batch * channels);
  const count = batch * plane;
  const dx = new Float32Array(grad.data.length);
  const dweight = new Float32Array(channels);
  const dbias = new Float32Array(channels);
  for (let n = 0; n < batch; n++)
    for (let c = 0; c < channels; c++)
      for (let e = 0; e < plane; e++) {
        const at = (n * channels + c) * plane + e;
        dbias[c] += grad.data[at];
        dweight[c] += grad.data[at] * normalized[at];
      }
  for (let n = 0; n < batch; n++)
    for (let c = 0; c < channels; c++)
      for (let e = 0; e < plane; e++) {
        const at = (n * channels + c) * plane + e;
        dx[at] = ((weight[c] * invStd[c]) / count) * (count * grad.data[at] - dbias[c] - normalized[at] * dweight[c]);
      }
  return { dx, dweight, dbias };
}
registerRules({
  batchNorm2d: (grad, node) => {
    const [x, weight, bias] = node.inputs;
    const args = node.args as BatchNormArgs;
    const { dx, dweight, dbias } = batchNorm2dBackward(grad, args.normalized, args.invStd, weight.data);
    return [x.requiresGrad ? new Tensor(dx, x.shape) : null, weight.requiresGrad ? new Tensor(dweight, weight.shape) : null, bias.requiresGrad ? new Tensor(dbias, bias.shape) : null];
  },
});

// %% [markdown]
// ## Part 8: Flatten, and a LeNet
//
// Between the convolutional part of a network and its classifier, `Flatten` turns each image's
// feature maps `[C, H, W]` into one vector of `C·H·W` values (PyTorch's `nn.Flatten()`: every
// axis after the first). In NCHW order that is a `reshape`, free of copies. It is given.

// %% nbgrader={"grade": false, "grade_id": "flatten", "locked": true, "schema_version": 3, "solution": false, "task": false}
//| export
/** [N, d1, d2, ...] → [N, d1·d2·...]: the feature maps of each example as one vector. */
class Flatten extends Layer {
  forward(x: Tensor): Tensor {
    if (x.ndim < 2) return x;
    return x.reshape(x.shape[0], shapeSize(x.shape.slice(1)));
  }

  /** A reshape: no arithmetic. */
  forwardCost(inputShape: readonly number[]): { flops: number; outputShape: number[] } {
    return { flops: 0, outputShape: inputShape.length < 2 ? [...inputShape] : [inputShape[0], shapeSize(inputShape.slice(1))] };
  }

  backwardFlops(): number {
    return 0;
  }
}

// %% [markdown]
// ## Graded reflection
//
// ### Prediction 1: shapes through a stack
//
// The first layers of the original LeNet-5, on a batch of 32 digits `[32, 1, 28, 28]`:
//
// ```
// Conv2d(1, 6, 5, { padding: 2 }) → MaxPool2d(2) → Conv2d(6, 16, 5) → MaxPool2d(2) → Flatten()
// ```
//
// **Before running anything**, write the shape after each of the five layers in
// `predictedShapes` (five shapes, in order). The cell after it measures them.

// %% nbgrader={"grade": false, "grade_id": "predict-shapes", "locked": false, "schema_version": 3, "solution": true, "task": false}
// Your prediction: one shape per layer, in order, e.g. [32, 6, 28, 28] for the first.
let predictedShapes: number[][] = [];
// ### BEGIN SOLUTION
predictedShapes = [
  [32, 6, 28, 28], // padding 2 keeps 28: (28 + 4 − 5) / 1 + 1
  [32, 6, 14, 14],
  [32, 16, 10, 10], // (14 − 5) / 1 + 1
  [32, 16, 5, 5],
  [32, 400], // 16·5·5
];
// ### END SOLUTION

// %%
await demo("shapes through the stack", () => {
  const stack = [new Conv2d(1, 6, 5, { padding: 2, seed: 0 }), new MaxPool2d(2), new Conv2d(6, 16, 5, { seed: 1 }), new MaxPool2d(2), new Flatten()];
  let h = Tensor.zeros([32, 1, 28, 28]);
  stack.forEach((layer, i) => {
    h = layer.forward(h);
    console.log(`after layer ${i + 1}: measured [${h.shape.join(", ")}], predicted [${(predictedShapes[i] ?? []).join(", ")}]`);
  });
});

// %% nbgrader={"grade": true, "grade_id": "test-unit-predict-shapes", "locked": true, "points": 1, "schema_version": 3, "solution": false, "task": false}
function testUnitPredictShapes(): void {
  // Your prediction is checked when the notebook is graded; the cell above printed the measured shapes.
  // ### BEGIN HIDDEN TESTS
  assertPrediction(predictedShapes, [[32, 6, 28, 28], [32, 6, 14, 14], [32, 16, 10, 10], [32, 16, 5, 5], [32, 400]], { rtol: 0, atol: 0 }, "the shape after each layer");
  // ### END HIDDEN TESTS
  passed("testUnitPredictShapes");
}
testUnitPredictShapes();

// %%
//| mutation predict-shapes forgets the first convolution's padding
let predictedShapes: number[][] = [
  [32, 6, 24, 24],
  [32, 6, 12, 12],
  [32, 16, 8, 8],
  [32, 16, 4, 4],
  [32, 256],
];

// %% [markdown]
// ### Prediction 2: the FLOPs of a convolution
//
// LeNet's second convolution above, `Conv2d(6, 16, 5)`, on **one** image of six 14×14 feature
// maps, `[1, 6, 14, 14]`. **Before measuring**, predict the FLOPs of its forward pass (count a
// multiply-add as 2 FLOPs, as throughout the course) in `predictedConv2Flops`.
//
// The cell after it measures the FLOPs the layer actually executes: it installs a matmul
// backend (module 01's slot) that runs module 01's kernel and adds `2·m·k·n` for every product,
// runs the layer, and compares with your prediction and with the layer's own `forwardCost`.

// %% nbgrader={"grade": false, "grade_id": "predict-conv-flops", "locked": false, "schema_version": 3, "solution": true, "task": false}
// Your prediction (a number): FLOPs of Conv2d(6, 16, 5) on one [1, 6, 14, 14] input.
let predictedConv2Flops = 0;
// ### BEGIN SOLUTION
predictedConv2Flops = 2 * (16 * 10 * 10) * (6 * 5 * 5); // 2·C·k·k per output value, O·Ho·Wo outputs
// ### END SOLUTION

// %%
await demo("the FLOPs of Conv2d(6, 16, 5), measured", () => {
  const conv2 = new Conv2d(6, 16, 5, { seed: 1 });
  let measured = 0;
  const previous = setMatmulBackend((a, b) => {
    const product = matmulKernel(a, b);
    measured += 2 * product.data.length * a.shape[a.shape.length - 1];
    return product;
  });
  try {
    conv2.forward(Tensor.zeros([1, 6, 14, 14]));
  } finally {
    setMatmulBackend(previous);
  }
  console.log(`predicted ${predictedConv2Flops.toLocaleString("en")} FLOPs, measured ${measured.toLocaleString("en")} in the layer's matmul, forwardCost says ${conv2.forwardCost([1, 6, 14, 14]).flops.toLocaleString("en")}`);
});

// %% nbgrader={"grade": true, "grade_id": "test-unit-predict-conv-flops", "locked": true, "points": 1, "schema_version": 3, "solution": false, "task": false}
function testUnitPredictConvFlops(): void {
  // Your prediction is checked when the notebook is graded; the cell above printed the measured FLOPs.
  // ### BEGIN HIDDEN TESTS
  assertPrediction(predictedConv2Flops, 480000, { rtol: 0.02, atol: 0 }, "FLOPs of Conv2d(6, 16, 5) on [1, 6, 14, 14]");
  // ### END HIDDEN TESTS
  passed("testUnitPredictConvFlops");
}
testUnitPredictConvFlops();

// %%
//| mutation predict-conv-flops counts multiply-adds instead of FLOPs
let predictedConv2Flops = 16 * 10 * 10 * 6 * 5 * 5;

// %% [markdown] nbgrader={"grade": true, "grade_id": "explain-nchw-gemm", "locked": false, "points": 3, "schema_version": 3, "solution": true, "task": false}
// ### Written answer 1 (graded by hand): why NCHW and im2col suit a GEMM
//
// Explain, in a few sentences, why storing activations as NCHW and unfolding them with `im2col`
// turns a convolution into a matrix product that runs fast. Say what the layout gives the
// product (think of the weight, of `cols[n]` and of the output), why a GEMM is faster than the
// seven loops even though it does the same arithmetic, and what the approach costs.
//
// ### BEGIN SOLUTION
// The weight `[O, C, k, k]` is contiguous, so viewing it as `W2d [O, C·k·k]` is free, and
// `im2col` writes each patch in the same (c, p, q) order, so one image's convolution is
// `W2d @ cols[n]`. The product `[O, Ho·Wo]` is exactly image n's NCHW output, contiguous and in
// place: nothing is transposed or copied after the GEMM, and the batch is just the batch axis
// of one batched matmul. A GEMM with dimensions in the hundreds or thousands is the most
// optimised kernel there is: it reuses each weight across all Ho·Wo positions and each patch
// value across all O filters from registers and cache (packing, register blocking, SIMD:
// module 18), whereas the direct loop re-reads both for every output, with short inner loops
// (k = 5), bounds checks and strided accesses. The price is memory and copying: `cols` repeats
// each input value up to k² times (about k²/s² times the input), which must be written and read
// again.
// ### END SOLUTION
//
// ### BEGIN RUBRIC
// 3 points in all, one for each of:
// - the layout: W reshapes to [O, C·k·k] without copying, im2col uses the same patch order, and
//   W2d @ cols[n] is already image n's NCHW output (no transpose afterwards);
// - why it is fast: a GEMM reuses weights and patch values from registers/cache with an
//   optimised (blocked, SIMD) kernel, against the direct loop's short inner loops and repeated
//   loads;
// - the cost: cols is about k²/s² times the input (memory, and the time to write it).
// Half a point where an idea is named without the reason.
// ### END RUBRIC

// %% [markdown] nbgrader={"grade": true, "grade_id": "explain-im2col-memory", "locked": false, "points": 2, "schema_version": 3, "solution": true, "task": false}
// ### Written answer 2 (graded by hand): memory against speed
//
// Using the figures the "im2col: memory against speed" demo printed on your machine: how much
// memory does `im2col` spend for LeNet's two convolutions, what does it buy, and name one
// situation in which you would not unfold the whole batch at once (and what you would do
// instead).
//
// ### BEGIN SOLUTION
// For stride 1 `cols` holds C·k²·Ho·Wo values per image, close to 25 times the input for 5×5
// filters (conv1: about 0.2 MB of digits become about 3.7 MB of columns for a batch of 64; conv2
// 0.3 MB become about 3.3 MB). In exchange the convolution is one batched GEMM, several times
// faster than the direct loop here and much more with module 18's kernel. It stops paying when
// the columns no longer fit the cache or the memory: large images, large kernels or large
// batches (a 3×3 layer with 256 channels on 56×56 maps unfolds to about 29 MB per image). Then
// one unfolds a few images (or rows of the output) at a time and runs the GEMM on each chunk,
// or uses a method that needs no columns (direct convolution kernels with blocking, Winograd or
// FFT for large kernels); a 1×1 convolution needs no im2col at all.
// ### END SOLUTION
//
// ### BEGIN RUBRIC
// 2 points:
// - 1 point: quantifies the memory (about k²/s², 25× for LeNet's 5×5 filters, or MB figures from
//   the demo) and the speed-up it buys (a figure from the demo);
// - 1 point: a situation where it does not pay (cache/memory exceeded by large images, kernels or
//   batches, or 1×1 convolutions that need no copy) with a remedy (chunks of the batch, another
//   algorithm).
// ### END RUBRIC

// %% [markdown]
// ## Module test
//
// A small convolutional network learns to tell horizontal bars from vertical ones, with every
// layer of this module on the way: convolution, batch normalization, ReLU, max pooling,
// flattening and a linear classifier.

// %% nbgrader={"grade": true, "grade_id": "test-module-conv", "locked": true, "points": 4, "schema_version": 3, "solution": false, "task": false}
function testModule(): void {
  // Sixteen 6×6 images, each holding one bar (a row or a column of 1s) on faint noise.
  const images = new Float32Array(16 * 36);
  const labels: number[] = [];
  const rng = new Rng(7);
  for (let n = 0; n < 16; n++) {
    const vertical = n % 2;
    const line = 1 + (n % 4);
    for (let e = 0; e < 36; e++) images[n * 36 + e] = 0.1 * rng.next();
    for (let t = 0; t < 6; t++) images[n * 36 + (vertical ? t * 6 + line : line * 6 + t)] = 1;
    labels.push(vertical);
  }
  const x = new Tensor(images, [16, 1, 6, 6]);
  const net = new Sequential([new Conv2d(1, 4, 3, { padding: 1, seed: 1 }), new BatchNorm2d(4), new ReLU(), new MaxPool2d(2), new Flatten(), new Linear(36, 2, { seed: 2 })]);
  const optimizer = new Adam(net.parameters(), { lr: 0.05 });
  const lossFn = new CrossEntropyLoss();
  const losses: number[] = [];
  for (let step = 0; step < 25; step++) {
    optimizer.zeroGrad();
    const loss = lossFn.forward(net.forward(x), labels);
    loss.backward();
    optimizer.step();
    losses.push(loss.item());
  }
  net.eval();
  const predicted = net.forward(x).argmax(1);
  assertEqual(Array.from(predicted.data), labels, "every bar told apart");
  assert(losses[losses.length - 1] < losses[0] / 4, `the loss falls: ${losses[0]} → ${losses[losses.length - 1]}`);
  assertEqual(countParameters(net), 4 * 9 + 4 + 4 + 4 + 36 * 2 + 2, "parameters: conv, batch norm's γ and β, linear");
  // ### BEGIN HIDDEN TESTS
  {
    // Seeded: a random stack (conv with random size, stride and padding; batch norm in training
    // mode; ReLU; max or average pooling; flatten; linear) forward against the same stack in
    // float64, and the gradient of its cross-entropy loss for the first convolution's weight
    // against central differences.
    const r = testRandom("09/module");
    const [inC, midC, k] = [r.int(1, 2), r.int(2, 3), r.int(2, 3)];
    const stride = r.int(1, 2);
    const padding = r.int(0, 1);
    const pool = r.int(1, 2);
    const average = r.bool();
    const shape = [r.int(2, 3), inC, r.int(6, 8), r.int(6, 8)];
    const conv = new Conv2d(inC, midC, k, { stride, padding, seed: r.seed() });
    (conv.bias as Tensor).data.set(r.numbers(midC));
    const bn = new BatchNorm2d(midC);
    bn.weight.data.set(r.numbers(midC, 0.5, 1.5));
    bn.bias.data.set(r.numbers(midC, -0.5, 0.5));
    const ho = Math.floor((Math.floor((shape[2] + 2 * padding - k) / stride) + 1 - pool) / pool) + 1;
    const wo = Math.floor((Math.floor((shape[3] + 2 * padding - k) / stride) + 1 - pool) / pool) + 1;
    const features = midC * ho * wo;
    const linear = new Linear(features, 3, { seed: r.seed() });
    const stack = new Sequential([conv, bn, new ReLU(), average ? new AvgPool2d(pool) : new MaxPool2d(pool), new Flatten(), linear]);
    const x = randomTensor(r, shape);
    const targets = Array.from({ length: shape[0] }, () => r.int(0, 2));
    /** Oracle: the whole stack and its mean cross-entropy in float64, for a given conv weight. */
    function stack64(wt: ArrayLike<number>): number[] {
      const [n, c, h, w] = shape;
      const hc = Math.floor((h + 2 * padding - k) / stride) + 1;
      const wc = Math.floor((w + 2 * padding - k) / stride) + 1;
      const a: number[] = [];
      for (let s = 0; s < n; s++)
        for (let f = 0; f < midC; f++)
          for (let i = 0; i < hc; i++)
            for (let j = 0; j < wc; j++) {
              let sum = (conv.bias as Tensor).data[f];
              for (let ch = 0; ch < c; ch++)
                for (let u = 0; u < k; u++)
                  for (let v = 0; v < k; v++) {
                    const row = i * stride + u - padding;
                    const col = j * stride + v - padding;
                    if (row >= 0 && row < h && col >= 0 && col < w) sum += wt[((f * c + ch) * k + u) * k + v] * x.data[((s * c + ch) * h + row) * w + col];
                  }
              a.push(sum);
            }
      const m = n * hc * wc;
      for (let f = 0; f < midC; f++) {
        const idx: number[] = [];
        for (let s = 0; s < n; s++) for (let e = 0; e < hc * wc; e++) idx.push((s * midC + f) * hc * wc + e);
        const mu = idx.reduce((t, e) => t + a[e], 0) / m;
        const v2 = idx.reduce((t, e) => t + (a[e] - mu) ** 2, 0) / m;
        for (const e of idx) a[e] = Math.max(0, bn.weight.data[f] * ((a[e] - mu) / Math.sqrt(v2 + 1e-5)) + bn.bias.data[f]);
      }
      const pooled: number[] = [];
      for (let plane = 0; plane < n * midC; plane++)
        for (let i = 0; i < ho; i++)
          for (let j = 0; j < wo; j++) {
            const cells: number[] = [];
            for (let u = 0; u < pool; u++) for (let v = 0; v < pool; v++) cells.push(a[plane * hc * wc + (i * pool + u) * wc + j * pool + v]);
            pooled.push(average ? cells.reduce((t, z) => t + z, 0) / cells.length : Math.max(...cells));
          }
      const logits: number[] = [];
      let loss = 0;
      for (let s = 0; s < n; s++) {
        const z = [0, 1, 2].map((o) => pooled.slice(s * features, (s + 1) * features).reduce((t, v, i) => t + v * linear.weight.data[i * 3 + o], (linear.bias as Tensor).data[o]));
        logits.push(...z);
        const top = Math.max(...z);
        loss -= z[targets[s]] - top - Math.log(z.reduce((t, v) => t + Math.exp(v - top), 0));
      }
      return [...logits, loss / n];
    }
    const label = `a random stack: ${conv.describe()}, BatchNorm2d, ReLU, ${average ? "AvgPool2d" : "MaxPool2d"}(${pool}), Flatten, Linear(${features}→3) on [${shape}]`;
    const logits = stack.forward(x);
    const loss = lossFn.forward(logits, targets);
    assertClose([...Array.from(logits.data), loss.item()], stack64(conv.weight.data), { rtol: 1e-3, atol: 1e-4 }, `${label}: logits and loss`);
    loss.backward();
    const w0 = Array.from(conv.weight.data);
    assertClose(Array.from(conv.weight.grad?.data ?? []), centralDifferences((v) => stack64(v)[3 * shape[0]], w0, 1e-5), { rtol: 5e-3, atol: 5e-4 }, `${label}: dLoss/dweight of the convolution`);
  }
  // ### END HIDDEN TESTS
  passed("testModule (convolutions)");
}
testModule();

// %% [markdown]
// ## Summary
//
// - A convolution is a weighted sum over a window, the same filter at every position: local
//   and shared weights, so few parameters and the same detector everywhere. Its output size is
//   `⌊(H + 2·pad − k) / s⌋ + 1` per axis, its cost `2·N·O·Ho·Wo·C·k²` FLOPs.
// - The direct loop computes exactly that, slowly. `im2col` copies every patch into a column so
//   that the whole convolution is one matmul, `W2d [O, C·k²] @ cols[n] [C·k², Ho·Wo]`, whose
//   result is already NCHW. It costs about `k²/s²` times the input in memory and buys the
//   speed of a GEMM, and through `Tensor.matmul` module 18's kernels speed it up with no change.
// - `col2im` is `im2col`'s backward pass: overlapping windows add their gradients. With it,
//   autograd differentiates the whole layer (module 06 supplies the matmul's rule).
// - Max pooling routes each output's gradient to its arg-max (the first one on a tie); average
//   pooling spreads it evenly.
// - Batch normalization uses the batch's statistics in training (biased variance) and updates
//   PyTorch's running estimates (unbiased variance); evaluation uses the running ones. Its
//   backward pass goes through the batch statistics: the mean and the projection on x̂ drop out.
// - Every layer states its own cost (`forwardCost`, `backwardFlops`) for module 14's profiler.
//
// Milestone 04 (`npx tito milestone 04`) trains a LeNet with these layers on the digits of
// milestone 03 and reaches at least 96%; `npm run bench:conv` measures every step against
// TensorFlow.js.
