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
// # Module 15: Quantization — eight bits, measured
//
// The digits MLP of milestone 03 keeps 101,770 numbers as float32: 407 KB on disk, and every
// inference reads all of them. Stored as 8-bit integers they take a quarter of that, and a
// processor multiplies 8-bit integers with fewer instructions per multiply-add than floats.
// That is the promise of **quantization**, and it is why phones, browsers and servers run
// INT8 models.
//
// A promise is not a measurement. A quantization lesson can easily save nothing: if the
// "INT8" codes are kept in a float array, the model is exactly as large as before; if the size
// is a count of the bytes packing *would* take, nobody has packed anything; if the integer
// matmul is the float loop with rounding in front, it is slower. This module does it for real,
// and measures it on this machine:
//
// | you build | what it buys, measured |
// |---|---|
// | `quantParams`, `quantize`, `dequantize` | affine INT8 codes with a scale and a zero point; a round trip within half a step |
// | `quantizePerChannel` | one scale per output channel: small channels keep their precision |
// | `MinMaxObserver` | calibration: the ranges of activations, seen on sample batches |
// | `matmulInt8` | an integer matmul with int32 accumulation (TypeScript) |
// | `QuantizedLinear` | a layer whose weights live in an `Int8Array`, with the zero-point algebra |
// | `quantizeModel` | a whole model: calibrate, then replace every `Linear` |
// | (given) the serializer | real bytes: the INT8 digits MLP is 3.9× smaller than its float32 checkpoint |
// | (given) a WebAssembly SIMD kernel | `i32x4.dot_i16x8_s`: INT8 against float32 SIMD on the same loop |
//
// You will also see where the saving does **not** appear: your TypeScript integer matmul is no
// faster than a float one, because JavaScript has no 8-bit arithmetic to offer; only SIMD
// instructions that work on 16 bytes at a time turn the smaller numbers into speed.
//
// Everything exported lands in `tinytorch-ts/optimize/quantization`.
//
// ### What you will learn
// - the affine map between reals and integers, and why 0 must be exactly representable;
// - why activations after a ReLU want an asymmetric range, and weights a scale per channel;
// - how a matmul of integers with zero points becomes one integer product and three cheap
//   corrections;
// - how to predict a model's size to the byte before measuring it;
// - what the hardware must offer before fewer bits become less time.

// %%
//| default_exp optimize.quantization

// %%
//| export
import wabtInit from "wabt";
import { Tensor } from "tinytorch-ts/core/tensor";
import { Layer, Linear, Sequential } from "tinytorch-ts/core/layers";
import { noGrad } from "tinytorch-ts/core/autograd";
import { Conv2d, convGeometry, im2col } from "tinytorch-ts/core/conv";

// %% nbgrader={"grade": false, "grade_id": "quantization-test-helpers", "locked": true, "schema_version": 3, "solution": false, "task": false}
// Notebook-only imports (not part of the package).
import { ReLU } from "tinytorch-ts/core/activations";
import { Dropout } from "tinytorch-ts/core/layers";
import { Flatten } from "tinytorch-ts/core/conv";
import { CrossEntropyLoss } from "tinytorch-ts/core/losses";
import { DataLoader, loadDigits } from "tinytorch-ts/data";
import { Adam } from "tinytorch-ts/optim";
import { encodeCheckpoint, trainEpoch } from "tinytorch-ts/training";
import {
  assert,
  assertClose,
  assertEqual,
  assertPrediction,
  assertShape,
  assertThrows,
  check,
  demo,
  isInstance,
  passed,
  testRandom,
} from "tinytorch-ts/support/testing";

/** Fraction of rows of `logits` [n, c] whose arg-max is `labels[i]`. */
function accuracyOf(logits: Tensor, labels: ArrayLike<number>): number {
  const [n, c] = logits.shape;
  let right = 0;
  for (let i = 0; i < n; i++) {
    let best = 0;
    for (let j = 1; j < c; j++) if (logits.data[i * c + j] > logits.data[i * c + best]) best = j;
    if (best === labels[i]) right++;
  }
  return n === 0 ? 0 : right / n;
}

// %% [markdown]
// ## Part 1: The affine map
//
// INT8 holds the 256 integers from −128 to 127. To store a real number `x` in it we choose a
// **scale** `s` (the real value of one integer step) and a **zero point** `z` (the integer that
// stands for the real 0):
//
// ```
// q = clamp(round(x / s) + z, −128, 127)        quantize
// x̂ = (q − z) · s                                dequantize
// ```
//
// For a range `[lo, hi]` that we want to represent, the 255 steps between −128 and 127 must
// cover `hi − lo`, so `s = (hi − lo) / 255`, and `lo` must land on −128: `z = −128 − lo / s`,
// rounded to an integer.
//
// **Why 0 must be exact.** `z` is an integer, so `x = 0` quantizes to exactly `z` and comes back
// as exactly 0. That matters more than it looks: padding is 0, ReLU outputs are mostly 0, and a
// pruned weight is 0. If 0 came back as 0.003, every padded pixel and every silent unit would
// add a little bias to every sum. So the range is first **extended to include 0**:
// `lo = min(lo, 0)`, `hi = max(hi, 0)`. A range of activations after a ReLU, `[0, 6.2]`, then
// gives `z = −128`: all 256 codes are spent on the values that occur. A symmetric scheme
// (`z = 0`, `s = max|x| / 127`) would waste half of them on negative numbers that never come.
//
// **Round trip.** For any `x` in `[lo, hi]`, `|x̂ − x| ≤ s/2`: rounding moves `x / s` by at most
// half a step, and the clamp never cuts more than that (the rounded zero point shifts the
// representable range by at most half a step too).
//
// **Edge cases.** A constant tensor `c` has `lo = hi` before extension; after it, the range is
// `[0, c]` or `[c, 0]`, which is fine. Only `lo = hi = 0` (all zeros) leaves no range at all:
// then any scale works, and we use `s = 1`, `z = 0`. The scale is stored as a float32 (it is
// written to disk as one), so round it with `Math.fround` before computing `z` from it.
//
// ### Exercise 1: `quantParams`
//
// **TODO**: Return the INT8 scale and zero point for the range `[min, max]`.
//
// **APPROACH**:
// 1. Throw an `Error` unless `min` and `max` are finite and `min <= max`.
// 2. Extend the range to include 0.
// 3. All zeros: `{ scale: 1, zeroPoint: 0 }`.
// 4. Otherwise the scale from the width of the range and the 255 steps (as a float32), then
//    the zero point that puts `lo` on −128, rounded, and kept within −128..127.
//
// **HINTS**:
// - With `[−1.5, 1]`, the scale is 2.5/255 and the zero point 25. With `[0, 255]`, the scale
//   is 1 and the zero point −128.
// - Is 0 really exact with your zero point? Quantize 0 with it, by hand.

// %% nbgrader={"grade": false, "grade_id": "quant-params", "locked": false, "schema_version": 3, "solution": true, "task": false}
//| export
/** The smallest and largest INT8 codes. */
const INT8_MIN = -128;
const INT8_MAX = 127;

/** An affine INT8 code: x ≈ (q − zeroPoint) · scale. */
interface QuantParams {
  /** The real value of one step (a float32). */
  scale: number;
  /** The integer that stands for 0 (in −128..127). */
  zeroPoint: number;
}

/** Scale and zero point covering [min, max], extended to include 0, with 0 exactly representable. */
function quantParams(min: number, max: number): QuantParams {
  // ### BEGIN SOLUTION
  if (!Number.isFinite(min) || !Number.isFinite(max) || min > max) {
    throw new Error(`quantParams: expected finite min <= max, got [${min}, ${max}]`);
  }
  const lo = Math.min(min, 0);
  const hi = Math.max(max, 0);
  if (hi === lo) return { scale: 1, zeroPoint: 0 };
  const scale = Math.fround((hi - lo) / (INT8_MAX - INT8_MIN));
  const zeroPoint = Math.min(INT8_MAX, Math.max(INT8_MIN, Math.round(INT8_MIN - lo / scale)));
  return { scale, zeroPoint };
  // ### END SOLUTION
}

// %% nbgrader={"grade": true, "grade_id": "test-unit-quant-params", "locked": true, "points": 3, "schema_version": 3, "solution": false, "task": false}
function testUnitQuantParams(): void {
  const unit = quantParams(0, 255);
  assertEqual([unit.scale, unit.zeroPoint], [1, -128], "[0, 255]: one unit per step, 0 at −128");
  const straddle = quantParams(-1.5, 1);
  assertClose(straddle.scale, 2.5 / 255, { rtol: 1e-6 });
  assertEqual(straddle.zeroPoint, 25, "a range around 0");
  // ### BEGIN HIDDEN TESTS
  assertEqual([quantParams(0, 0).scale, quantParams(0, 0).zeroPoint], [1, 0], "all zeros");
  const positive = quantParams(2, 6);
  assertClose(positive.scale, 6 / 255, { rtol: 1e-6 }, "[2, 6] is extended to [0, 6]");
  assertEqual(positive.zeroPoint, -128, "a range starting at 0 puts 0 on −128");
  const negative = quantParams(-3, -3);
  assertClose(negative.scale, 3 / 255, { rtol: 1e-6 }, "a constant negative tensor: [−3, 0]");
  assertEqual(negative.zeroPoint, 127, "a range ending at 0 puts 0 on 127");
  assertThrows(() => quantParams(1, 0), "quantParams", "min > max");
  assertThrows(() => quantParams(Number.NaN, 1), "quantParams", "NaN");
  assertThrows(() => quantParams(0, Infinity), "quantParams", "an infinite range");
  // Random ranges of every kind (straddling 0, positive, negative, narrow, constant): scale and
  // zero point from the definition, in float64 here, and 0 exactly representable.
  const rq = testRandom("15/quant-params");
  const paramsOracle = (a: number, b: number): number[] => {
    const lo = Math.min(a, 0);
    const hi = Math.max(b, 0);
    if (lo === hi) return [1, 0];
    const s = Math.fround((hi - lo) / 255);
    return [s, Math.min(127, Math.max(-128, Math.round(-128 - lo / s)))];
  };
  for (let trial = 0; trial < 12; trial++) {
    const kind = rq.pick(["straddle", "positive", "negative", "narrow", "constant"]);
    const width = Math.fround(rq.pick([1e-3, 0.1, 1, 7, 300]) * rq.uniform(0.1, 1));
    let lo = 0;
    let hi = 0;
    if (kind === "straddle") {
      lo = -width * rq.uniform(0.01, 1);
      hi = width * rq.uniform(0.01, 1);
    } else if (kind === "positive") {
      lo = width * rq.uniform(0, 0.5);
      hi = lo + width;
    } else if (kind === "negative") {
      hi = -width * rq.uniform(0, 0.5);
      lo = hi - width;
    } else if (kind === "narrow") {
      lo = rq.uniform(-width, width);
      hi = lo + width * 1e-3;
    } else {
      lo = hi = rq.uniform(-width, width);
    }
    const got = quantParams(lo, hi);
    assertEqual([got.scale, got.zeroPoint], paramsOracle(lo, hi), `a random ${kind} range`);
    assertEqual(Number.isInteger(got.zeroPoint), true, "the zero point is an integer");
  }
  // ### END HIDDEN TESTS
  passed("testUnitQuantParams");
}
testUnitQuantParams();

// %%
//| mutation quant-params the zero point is not rounded, so 0 is not exactly representable
const INT8_MIN = -128;
const INT8_MAX = 127;
interface QuantParams {
  scale: number;
  zeroPoint: number;
}
function quantParams(min: number, max: number): QuantParams {
  if (!Number.isFinite(min) || !Number.isFinite(max) || min > max) throw new Error(`quantParams: bad range`);
  const lo = Math.min(min, 0);
  const hi = Math.max(max, 0);
  if (hi === lo) return { scale: 1, zeroPoint: 0 };
  const scale = Math.fround((hi - lo) / 255);
  return { scale, zeroPoint: Math.min(127, Math.max(-128, -128 - lo / scale)) };
}

// %%
//| mutation quant-params the scale comes from the largest magnitude (symmetric, max / 127) instead of max − min
const INT8_MIN = -128;
const INT8_MAX = 127;
interface QuantParams {
  scale: number;
  zeroPoint: number;
}
function quantParams(min: number, max: number): QuantParams {
  if (!Number.isFinite(min) || !Number.isFinite(max) || min > max) throw new Error(`quantParams: bad range`);
  const lo = Math.min(min, 0);
  const hi = Math.max(max, 0);
  if (hi === lo) return { scale: 1, zeroPoint: 0 };
  const scale = Math.fround(Math.max(-lo, hi) / 127);
  return { scale, zeroPoint: Math.min(127, Math.max(-128, Math.round(-128 - lo / scale))) };
}

// %%
//| mutation quant-params the range is not extended to include 0
const INT8_MIN = -128;
const INT8_MAX = 127;
interface QuantParams {
  scale: number;
  zeroPoint: number;
}
function quantParams(min: number, max: number): QuantParams {
  if (!Number.isFinite(min) || !Number.isFinite(max) || min > max) throw new Error(`quantParams: bad range`);
  if (max === min) return { scale: 1, zeroPoint: 0 };
  const scale = Math.fround((max - min) / 255);
  return { scale, zeroPoint: Math.min(127, Math.max(-128, Math.round(-128 - min / scale))) };
}

// %% [markdown]
// ### Exercise 2: `quantize` and `dequantize`
//
// **TODO**: Turn real numbers into INT8 codes with given parameters, and codes back into
// float32 numbers.
//
// **APPROACH**:
// 1. `quantize`: for each value, `round(x / scale) + zeroPoint`, clamped to −128..127, into a
//    new `Int8Array` of the same length.
// 2. `dequantize`: for each code, `(q − zeroPoint) · scale`, into a new `Float32Array`.
//
// **HINTS**:
// - An `Int8Array` does not clamp: it keeps the low 8 bits, so storing 130 gives −126. What
//   does that do to a value just above the calibrated range?
// - Use `Math.round`, the rounding the tests and the WebAssembly kernel agree on (halves go
//   up: −2.5 → −2).

// %% nbgrader={"grade": false, "grade_id": "quantize", "locked": false, "schema_version": 3, "solution": true, "task": false}
//| export
/** INT8 codes of `values`: round(x / scale) + zeroPoint, clamped to −128..127. */
function quantize(values: ArrayLike<number>, p: QuantParams): Int8Array {
  // ### BEGIN SOLUTION
  const out = new Int8Array(values.length);
  const { scale, zeroPoint } = p;
  for (let i = 0; i < values.length; i++) {
    const q = Math.round(values[i] / scale) + zeroPoint;
    out[i] = q < INT8_MIN ? INT8_MIN : q > INT8_MAX ? INT8_MAX : q;
  }
  return out;
  // ### END SOLUTION
}

/** The real values of INT8 codes: (q − zeroPoint) · scale, as float32. */
function dequantize(codes: ArrayLike<number>, p: QuantParams): Float32Array {
  // ### BEGIN SOLUTION
  const out = new Float32Array(codes.length);
  for (let i = 0; i < codes.length; i++) out[i] = (codes[i] - p.zeroPoint) * p.scale;
  return out;
  // ### END SOLUTION
}

// %% nbgrader={"grade": true, "grade_id": "test-unit-quantize", "locked": true, "points": 3, "schema_version": 3, "solution": false, "task": false}
function testUnitQuantize(): void {
  const p = { scale: 0.5, zeroPoint: -10 };
  const q = quantize([0, 1, -1.2, 1.25, 100, -100], p);
  assert(isInstance(q, Int8Array), "codes are an Int8Array");
  assertEqual(Array.from(q), [-10, -8, -12, -7, 127, -128], "rounding, the zero point and clamping");
  assertEqual(Array.from(dequantize(q, p)), [0, 1, -1, 1.5, 68.5, -59]);
  // ### BEGIN HIDDEN TESTS
  assert(isInstance(dequantize(q, p), Float32Array), "dequantized values are a Float32Array");
  assertEqual(Array.from(quantize([-2.5, 2.5, -0.25], { scale: 1, zeroPoint: 0 })), [-2, 3, 0], "halves round up");
  assertEqual(quantize([], p).length, 0, "nothing in, nothing out");
  assertEqual(Array.from(quantize([0], { scale: 0.37, zeroPoint: 77 })), [77], "0 is the zero point");
  // Random ranges and values, some outside the range: codes and values from the definition,
  // and the round trip of in-range values within half a step.
  const rz = testRandom("15/quantize");
  for (let trial = 0; trial < 8; trial++) {
    const lo = rz.uniform(-5, 1);
    const hi = lo + rz.uniform(0.01, 6);
    const loExt = Math.min(lo, 0);
    const hiExt = Math.max(hi, 0);
    const scale = Math.fround((hiExt - loExt) / 255);
    const zeroPoint = Math.min(127, Math.max(-128, Math.round(-128 - loExt / scale)));
    const inside = rz.numbers(rz.int(1, 40), lo, hi);
    const outside = [hi + rz.uniform(0.5, 3) * (hiExt - loExt), loExt - rz.uniform(0.5, 3) * (hiExt - loExt)];
    const values = rz.shuffled([...inside, ...outside, 0]);
    const codes = quantize(values, { scale, zeroPoint });
    assertEqual(
      Array.from(codes),
      values.map((v) => Math.min(127, Math.max(-128, Math.round(v / scale) + zeroPoint))),
      "random values: their codes",
    );
    const back = dequantize(codes, { scale, zeroPoint });
    assertClose(Array.from(back), Array.from(codes, (c) => (c - zeroPoint) * scale), { rtol: 1e-6, atol: 1e-7 }, "random codes: their values");
    let worst = 0;
    for (let i = 0; i < values.length; i++) {
      if (values[i] >= loExt && values[i] <= hiExt) worst = Math.max(worst, Math.abs(back[i] - values[i]));
    }
    assert(worst <= (scale / 2) * (1 + 1e-5) + 1e-6 * (hiExt - loExt), `round trip within half a step: ${worst} > ${scale / 2}`);
  }
  // ### END HIDDEN TESTS
  passed("testUnitQuantize");
}
testUnitQuantize();

// %%
//| mutation quantize codes are not clamped, so the Int8Array wraps values outside the range around
function quantize(values: ArrayLike<number>, p: QuantParams): Int8Array {
  const out = new Int8Array(values.length);
  for (let i = 0; i < values.length; i++) out[i] = Math.round(values[i] / p.scale) + p.zeroPoint;
  return out;
}
function dequantize(codes: ArrayLike<number>, p: QuantParams): Float32Array {
  const out = new Float32Array(codes.length);
  for (let i = 0; i < codes.length; i++) out[i] = (codes[i] - p.zeroPoint) * p.scale;
  return out;
}

// %%
//| mutation quantize truncates toward zero instead of rounding
function quantize(values: ArrayLike<number>, p: QuantParams): Int8Array {
  const out = new Int8Array(values.length);
  for (let i = 0; i < values.length; i++) out[i] = Math.min(127, Math.max(-128, Math.trunc(values[i] / p.scale) + p.zeroPoint));
  return out;
}
function dequantize(codes: ArrayLike<number>, p: QuantParams): Float32Array {
  const out = new Float32Array(codes.length);
  for (let i = 0; i < codes.length; i++) out[i] = (codes[i] - p.zeroPoint) * p.scale;
  return out;
}

// %% [markdown]
// How large is the error on a real weight matrix? A freshly initialised `Linear(784, 128)` has
// weights of about ±0.04 (its scale is √(1/784)), with a few larger ones in the tails. One scale
// for the whole matrix is set by the largest weight anywhere in it.

// %%
await demo("quantizing one weight matrix", () => {
  const w = new Linear(784, 128, { seed: 0 }).weight.data;
  let lo = Infinity;
  let hi = -Infinity;
  for (const v of w) {
    lo = Math.min(lo, v);
    hi = Math.max(hi, v);
  }
  const p = quantParams(lo, hi);
  const back = dequantize(quantize(w, p), p);
  let worst = 0;
  let sumSq = 0;
  for (let i = 0; i < w.length; i++) {
    worst = Math.max(worst, Math.abs(back[i] - w[i]));
    sumSq += (back[i] - w[i]) ** 2;
  }
  console.log(`range [${lo.toFixed(4)}, ${hi.toFixed(4)}]: scale ${p.scale.toExponential(3)}, zero point ${p.zeroPoint}`);
  console.log(`largest error ${worst.toExponential(3)} (half a step: ${(p.scale / 2).toExponential(3)}), RMS error ${Math.sqrt(sumSq / w.length).toExponential(3)}`);
});

// %% [markdown]
// ## Part 2: One scale per output channel
//
// The columns of a weight matrix `W [in, out]` are the **output channels**: column `j` holds the
// weights that make output `j`. Their ranges differ, often by a factor of ten: a unit that
// learned a sharp feature has large weights, a quiet one small weights. With a single scale,
// the quiet columns get only a handful of the 256 codes and lose most of their precision.
// **Per-channel** quantization gives each column its own scale and zero point, computed from
// that column's own range. It costs 8 bytes per channel (a float32 scale and an int32 zero
// point): 1 KB for 128 channels, next to 100 KB of weights.
//
// **Layout.** The integer matmul below computes each output as a dot product of an input row
// with one channel's weights. So the codes are stored **transposed**, `[out, in]`: channel `j`
// is the contiguous row `q[j*in .. (j+1)*in)`, and the kernel reads it front to back. (PyTorch
// stores every Linear weight this way, `[out, in]`, for the same reason.)
//
// ### Exercise 3: `quantizePerChannel`
//
// **TODO**: Quantize each column of `weight` (`[in, out]`) with its own parameters and return
// the codes as `[out, in]` rows, with one scale and one zero point per channel.
//
// **APPROACH**:
// 1. Check that `weight` is 2-D; `inFeatures, outFeatures = weight.shape`.
// 2. For each output channel `j`: the column's minimum and maximum (element `[i, j]` is at
//    `i*out + j`), `quantParams` of that range, then the codes of the column with `quantize`,
//    written to row `j` of the result.
// 3. Return `{ codes, scales, zeroPoints, inFeatures, outFeatures }` with `scales` a
//    `Float32Array` and `zeroPoints` an `Int32Array`.
//
// **HINTS**:
// - Gather the column into a small array first; then `quantize` does the rest.
// - Row `j` of the result starts at `j * inFeatures`.

// %% nbgrader={"grade": false, "grade_id": "quantize-per-channel", "locked": false, "schema_version": 3, "solution": true, "task": false}
//| export
/** INT8 weights with one scale and zero point per output channel, stored [out, in]. */
interface PerChannelWeights {
  /** Codes, row j = output channel j (inFeatures codes each). */
  codes: Int8Array;
  scales: Float32Array;
  zeroPoints: Int32Array;
  inFeatures: number;
  outFeatures: number;
}

/** Quantizes each column (output channel) of `weight` [in, out] with its own range. */
function quantizePerChannel(weight: Tensor): PerChannelWeights {
  // ### BEGIN SOLUTION
  if (weight.ndim !== 2) throw new Error(`quantizePerChannel: expected a 2-D weight [in, out], got shape [${weight.shape.join(", ")}]`);
  const [inFeatures, outFeatures] = weight.shape;
  const codes = new Int8Array(inFeatures * outFeatures);
  const scales = new Float32Array(outFeatures);
  const zeroPoints = new Int32Array(outFeatures);
  const column = new Float32Array(inFeatures);
  for (let j = 0; j < outFeatures; j++) {
    let lo = Infinity;
    let hi = -Infinity;
    for (let i = 0; i < inFeatures; i++) {
      const v = weight.data[i * outFeatures + j];
      column[i] = v;
      if (v < lo) lo = v;
      if (v > hi) hi = v;
    }
    const p = quantParams(lo, hi);
    scales[j] = p.scale;
    zeroPoints[j] = p.zeroPoint;
    codes.set(quantize(column, p), j * inFeatures);
  }
  return { codes, scales, zeroPoints, inFeatures, outFeatures };
  // ### END SOLUTION
}

// %% nbgrader={"grade": true, "grade_id": "test-unit-quantize-per-channel", "locked": true, "points": 3, "schema_version": 3, "solution": false, "task": false}
function testUnitQuantizePerChannel(): void {
  // Two channels: one large, one small. Each gets its own scale.
  const w = new Tensor([
    [2.55, 0.01],
    [-1.0, -0.0051],
    [0.0, 0.0],
  ]);
  const pc = quantizePerChannel(w);
  assertEqual([pc.inFeatures, pc.outFeatures], [3, 2]);
  assert(isInstance(pc.codes, Int8Array) && isInstance(pc.scales, Float32Array) && isInstance(pc.zeroPoints, Int32Array), "array types");
  assertClose(Array.from(pc.scales), [3.55 / 255, 0.0151 / 255], { rtol: 1e-6 });
  assertEqual(pc.codes.length, 6);
  // ### BEGIN HIDDEN TESTS
  assertThrows(() => quantizePerChannel(Tensor.ones([2, 3, 4])), "2-D", "a 3-D weight");
  // Random weights with channels of very different sizes: every code, scale and zero point,
  // from the definition in float64.
  const rc = testRandom("15/per-channel");
  for (let trial = 0; trial < 4; trial++) {
    const [inF, outF] = [rc.int(1, 30), rc.int(1, 12)];
    const sizes = Array.from({ length: outF }, () => rc.pick([1e-3, 0.05, 1, 20]));
    const values = Array.from({ length: inF * outF }, (_, e) => Math.fround(rc.normal(rc.pick([0, 0.3]), 1) * sizes[e % outF]));
    const got = quantizePerChannel(new Tensor(Float32Array.from(values), [inF, outF]));
    const channelOracle = (j: number): { s: number; z: number; codes: number[] } => {
      const col = Array.from({ length: inF }, (_, i) => values[i * outF + j]);
      const lo = Math.min(0, ...col);
      const hi = Math.max(0, ...col);
      const s = lo === hi ? 1 : Math.fround((hi - lo) / 255);
      const z = lo === hi ? 0 : Math.min(127, Math.max(-128, Math.round(-128 - lo / s)));
      return { s, z, codes: col.map((v) => Math.min(127, Math.max(-128, Math.round(v / s) + z))) };
    };
    assertEqual([got.inFeatures, got.outFeatures], [inF, outF], "random sizes");
    assertEqual(Array.from(got.scales), Array.from({ length: outF }, (_, j) => channelOracle(j).s), "random channels: scales");
    assertEqual(Array.from(got.zeroPoints), Array.from({ length: outF }, (_, j) => channelOracle(j).z), "random channels: zero points");
    assertEqual(Array.from(got.codes), Array.from({ length: outF }, (_, j) => channelOracle(j).codes).flat(), "random channels: codes, [out, in]");
  }
  // ### END HIDDEN TESTS
  passed("testUnitQuantizePerChannel");
}
testUnitQuantizePerChannel();

// %%
//| mutation quantize-per-channel one range for the whole matrix instead of one per channel
interface PerChannelWeights {
  codes: Int8Array;
  scales: Float32Array;
  zeroPoints: Int32Array;
  inFeatures: number;
  outFeatures: number;
}
function quantizePerChannel(weight: Tensor): PerChannelWeights {
  if (weight.ndim !== 2) throw new Error(`quantizePerChannel: expected a 2-D weight`);
  const [inFeatures, outFeatures] = weight.shape;
  let lo = Infinity;
  let hi = -Infinity;
  for (const v of weight.data) {
    lo = Math.min(lo, v);
    hi = Math.max(hi, v);
  }
  const p = quantParams(lo, hi);
  const codes = new Int8Array(inFeatures * outFeatures);
  for (let j = 0; j < outFeatures; j++) {
    const column = Array.from({ length: inFeatures }, (_, i) => weight.data[i * outFeatures + j]);
    codes.set(quantize(column, p), j * inFeatures);
  }
  return { codes, scales: new Float32Array(outFeatures).fill(p.scale), zeroPoints: new Int32Array(outFeatures).fill(p.zeroPoint), inFeatures, outFeatures };
}

// %%
//| mutation quantize-per-channel keeps the codes in the weight's own [in, out] layout
interface PerChannelWeights {
  codes: Int8Array;
  scales: Float32Array;
  zeroPoints: Int32Array;
  inFeatures: number;
  outFeatures: number;
}
function quantizePerChannel(weight: Tensor): PerChannelWeights {
  if (weight.ndim !== 2) throw new Error(`quantizePerChannel: expected a 2-D weight`);
  const [inFeatures, outFeatures] = weight.shape;
  const codes = new Int8Array(inFeatures * outFeatures);
  const scales = new Float32Array(outFeatures);
  const zeroPoints = new Int32Array(outFeatures);
  for (let j = 0; j < outFeatures; j++) {
    const column = Array.from({ length: inFeatures }, (_, i) => weight.data[i * outFeatures + j]);
    const p = quantParams(Math.min(...column), Math.max(...column));
    scales[j] = p.scale;
    zeroPoints[j] = p.zeroPoint;
    quantize(column, p).forEach((q, i) => (codes[i * outFeatures + j] = q));
  }
  return { codes, scales, zeroPoints, inFeatures, outFeatures };
}

// %% [markdown]
// The gain, on a matrix whose channels differ in size the way trained ones do (each column
// scaled by a random factor between 0.1 and 2): the mean error of each scheme, per channel
// size.

// %%
await demo("per tensor against per channel", () => {
  const base = new Linear(256, 64, { seed: 3 }).weight;
  const factors = Array.from({ length: 64 }, (_, j) => 0.1 + 1.9 * ((j * 37) % 64) / 63);
  const w = new Tensor(base.data.map((v, e) => v * factors[e % 64]), [256, 64]);
  let lo = Infinity;
  let hi = -Infinity;
  for (const v of w.data) {
    lo = Math.min(lo, v);
    hi = Math.max(hi, v);
  }
  const perTensor = dequantize(quantize(w.data, quantParams(lo, hi)), quantParams(lo, hi));
  const pc = quantizePerChannel(w);
  const errors = { tensor: [0, 0], channel: [0, 0] }; // [small channels, large channels]
  for (let i = 0; i < 256; i++) {
    for (let j = 0; j < 64; j++) {
      const v = w.data[i * 64 + j];
      const which = factors[j] < 0.5 ? 0 : 1;
      errors.tensor[which] += Math.abs(perTensor[i * 64 + j] - v);
      const back = (pc.codes[j * 256 + i] - pc.zeroPoints[j]) * pc.scales[j];
      errors.channel[which] += Math.abs(back - v);
    }
  }
  const small = factors.filter((f) => f < 0.5).length * 256;
  const large = 64 * 256 - small;
  console.log(`mean |error|, small channels: per tensor ${(errors.tensor[0] / small).toExponential(2)}, per channel ${(errors.channel[0] / small).toExponential(2)}`);
  console.log(`mean |error|, large channels: per tensor ${(errors.tensor[1] / large).toExponential(2)}, per channel ${(errors.channel[1] / large).toExponential(2)}`);
});

// %% [markdown]
// ## Part 3: Calibration
//
// Weights are known before inference; activations are not. To quantize the input of a layer
// ahead of time (**static** quantization) we need its range, and the only way to know it is to
// look: run the float model on a few **calibration batches** of real data and record, for each
// layer, the smallest and largest value its input ever took. That is what an **observer** does
// (PyTorch's `MinMaxObserver`). A hundred or so examples are usually enough for min/max; more
// careful observers keep a histogram and cut off the rare extremes (a range twice as wide
// as it needs to be halves the precision of every common value).
//
// ### Exercise 4: `MinMaxObserver`
//
// **TODO**: Keep the running minimum and maximum of everything observed, and turn them into
// quantization parameters.
//
// **APPROACH**:
// 1. `observe(values)`: update `min` and `max` with every value, and add the number of values
//    to `count`. Throw an `Error` naming the value if one is not finite (a NaN activation means
//    the model is broken, and a range with NaN in it means nothing).
// 2. `params()`: throw if nothing has been observed; otherwise `quantParams(min, max)`.
//
// **HINTS**:
// - Start from `min = Infinity` and `max = -Infinity`: the first value then replaces both.

// %% nbgrader={"grade": false, "grade_id": "min-max-observer", "locked": false, "schema_version": 3, "solution": true, "task": false}
//| export
/** Records the range of everything it observes (calibration of activations). */
class MinMaxObserver {
  min = Infinity;
  max = -Infinity;
  /** How many values were observed. */
  count = 0;

  observe(values: ArrayLike<number>): void {
    // ### BEGIN SOLUTION
    let lo = this.min;
    let hi = this.max;
    for (let i = 0; i < values.length; i++) {
      const v = values[i];
      if (!Number.isFinite(v)) throw new Error(`MinMaxObserver: value ${v} at position ${i} is not finite`);
      if (v < lo) lo = v;
      if (v > hi) hi = v;
    }
    this.min = lo;
    this.max = hi;
    this.count += values.length;
    // ### END SOLUTION
  }

  params(): QuantParams {
    // ### BEGIN SOLUTION
    if (this.count === 0) throw new Error("MinMaxObserver: nothing observed yet");
    return quantParams(this.min, this.max);
    // ### END SOLUTION
  }
}

// %% nbgrader={"grade": true, "grade_id": "test-unit-min-max-observer", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
function testUnitMinMaxObserver(): void {
  const o = new MinMaxObserver();
  o.observe([0.5, 2, 1]);
  o.observe(new Float32Array([3, 1.5]));
  assertEqual([o.min, o.max, o.count], [0.5, 3, 5]);
  assertClose(o.params().scale, 3 / 255, { rtol: 1e-6 }, "the range [0.5, 3] extended to [0, 3]");
  // ### BEGIN HIDDEN TESTS
  assertEqual(o.params().zeroPoint, -128);
  assertThrows(() => new MinMaxObserver().params(), "nothing", "no observation yet");
  assertThrows(() => o.observe([1, Number.NaN]), "not finite", "a NaN activation");
  const empty = new MinMaxObserver();
  empty.observe([]);
  assertThrows(() => empty.params(), "nothing", "only an empty batch");
  // Random batches of random sizes and offsets: the range over all of them.
  const ro = testRandom("15/observer");
  for (let trial = 0; trial < 4; trial++) {
    const batches = Array.from({ length: ro.int(1, 5) }, () => ro.numbers(ro.int(1, 30), ro.uniform(-4, 0), ro.uniform(0, 4)).map((v) => v + ro.uniform(-1, 1)));
    const observer = new MinMaxObserver();
    for (const b of batches) observer.observe(Float32Array.from(b));
    const all = batches.flat().map(Math.fround);
    assertEqual([observer.min, observer.max, observer.count], [Math.min(...all), Math.max(...all), all.length], "random batches: the range and the count");
    const lo = Math.min(0, ...all);
    const hi = Math.max(0, ...all);
    const s = Math.fround((hi - lo) / 255);
    assertEqual([observer.params().scale, observer.params().zeroPoint], [s, Math.min(127, Math.max(-128, Math.round(-128 - lo / s)))], "random batches: parameters");
  }
  // ### END HIDDEN TESTS
  passed("testUnitMinMaxObserver");
}
testUnitMinMaxObserver();

// %%
//| mutation min-max-observer keeps the range of the last batch only
class MinMaxObserver {
  min = Infinity;
  max = -Infinity;
  count = 0;
  observe(values: ArrayLike<number>): void {
    let lo = Infinity;
    let hi = -Infinity;
    for (let i = 0; i < values.length; i++) {
      if (!Number.isFinite(values[i])) throw new Error(`MinMaxObserver: value ${values[i]} is not finite`);
      lo = Math.min(lo, values[i]);
      hi = Math.max(hi, values[i]);
    }
    this.min = lo;
    this.max = hi;
    this.count += values.length;
  }
  params(): QuantParams {
    if (this.count === 0) throw new Error("MinMaxObserver: nothing observed yet");
    return quantParams(this.min, this.max);
  }
}

// %% [markdown]
// ## Part 4: An integer matmul
//
// A quantized layer multiplies the codes of its input, `xq [m, k]`, by the codes of its
// weights, `wq [n, k]` (one row per output channel, as stored above):
//
// ```
// acc[i, j] = Σ_p xq[i, p] · wq[j, p]          for i < m, j < n
// ```
//
// Each product of two int8 values lies in [−16,256, 16,384], so it fits in 16 bits, but the
// **sum** does not: 784 products of 100 each already make 78,400. Hardware and libraries
// therefore accumulate in **int32** (enough for 131,000 worst-case products). Accumulating in
// the operands' own 8 or 16 bits wraps around silently and gives garbage: the classic INT8 bug.
//
// In JavaScript every number is a double, which holds any integer up to 2⁵³ exactly, so a plain
// `let sum = 0` accumulates exactly; storing the result in an `Int32Array` gives the int32
// semantics of real INT8 kernels.
//
// ### Exercise 5: `matmulInt8`
//
// **TODO**: Write `out[i*n + j] = Σ_p a[i*k + p] · b[j*k + p]` (overwriting `out`).
//
// **APPROACH**:
// 1. Check that `a` has at least `m*k` codes, `b` at least `n*k` and `out` room for `m*n`;
//    throw an `Error` otherwise.
// 2. For every row `i` and channel `j`, a dot product of the two contiguous rows of length `k`.
//
// **HINTS**:
// - Both operands are read front to back: row `i` of `a` starts at `i*k`, row `j` of `b` at `j*k`.
// - Take the row of `a` once per `i` (its offset), not once per product.

// %% nbgrader={"grade": false, "grade_id": "matmul-int8", "locked": false, "schema_version": 3, "solution": true, "task": false}
//| export
/** out[m, n] (int32) = a[m, k] · b[n, k]ᵀ, int8 codes, row-major; the contract of every INT8 kernel here. */
type Int8Matmul = (a: Int8Array, m: number, k: number, b: Int8Array, n: number, out: Int32Array) => void;

/** The INT8 matmul in TypeScript: dot products of int8 rows, exact int32 sums. */
function matmulInt8(a: Int8Array, m: number, k: number, b: Int8Array, n: number, out: Int32Array): void {
  // ### BEGIN SOLUTION
  if (a.length < m * k || b.length < n * k || out.length < m * n) {
    throw new Error(`matmulInt8: [${m}, ${k}] · [${n}, ${k}]ᵀ needs ${m * k} and ${n * k} codes and ${m * n} outputs, got ${a.length}, ${b.length} and ${out.length}`);
  }
  for (let i = 0; i < m; i++) {
    const aRow = i * k;
    for (let j = 0; j < n; j++) {
      const bRow = j * k;
      let sum = 0;
      for (let p = 0; p < k; p++) sum += a[aRow + p] * b[bRow + p];
      out[i * n + j] = sum;
    }
  }
  // ### END SOLUTION
}

// %% nbgrader={"grade": true, "grade_id": "test-unit-matmul-int8", "locked": true, "points": 3, "schema_version": 3, "solution": false, "task": false}
function testUnitMatmulInt8(): void {
  const a = Int8Array.from([1, 2, 3, -4, 5, -6]);
  const b = Int8Array.from([1, 0, -1, 2, 2, 2]);
  const out = new Int32Array(4);
  matmulInt8(a, 2, 3, b, 2, out);
  assertEqual(Array.from(out), [-2, 12, 2, -10]);
  // ### BEGIN HIDDEN TESTS
  const k = 784;
  const worst = new Int32Array(1);
  matmulInt8(new Int8Array(k).fill(-128), 1, k, new Int8Array(k).fill(-128), 1, worst);
  assertEqual(worst[0], 784 * 16384, "the worst case of a 784-wide layer fits in int32");
  const overwrite = Int32Array.from([99, 99, 99, 99]);
  matmulInt8(a, 2, 3, b, 2, overwrite);
  assertEqual(Array.from(overwrite), [-2, 12, 2, -10], "out is overwritten, not added to");
  assertThrows(() => matmulInt8(a, 2, 4, b, 2, new Int32Array(4)), "matmulInt8", "a too short");
  assertThrows(() => matmulInt8(a, 2, 3, b, 2, new Int32Array(3)), "matmulInt8", "out too short");
  // Random codes of random sizes, some deep enough for 16-bit sums to wrap: exact sums here.
  const rm = testRandom("15/matmul-int8");
  for (let trial = 0; trial < 6; trial++) {
    const [m, kk, n] = [rm.int(1, 6), rm.int(1, 400), rm.int(1, 9)];
    const bias = rm.pick([0, 60, -60]);
    const aq = Int8Array.from({ length: m * kk }, () => Math.min(127, Math.max(-128, rm.int(-128, 127) + bias)));
    const bq = Int8Array.from({ length: n * kk }, () => Math.min(127, Math.max(-128, rm.int(-128, 127) + bias)));
    const got = new Int32Array(m * n);
    matmulInt8(aq, m, kk, bq, n, got);
    assertEqual(
      Array.from(got),
      Array.from({ length: m * n }, (_, e) => {
        let s = 0;
        for (let p = 0; p < kk; p++) s += aq[Math.floor(e / n) * kk + p] * bq[(e % n) * kk + p];
        return s;
      }),
      `random codes [${m}, ${kk}] · [${n}, ${kk}]ᵀ`,
    );
  }
  // ### END HIDDEN TESTS
  passed("testUnitMatmulInt8");
}
testUnitMatmulInt8();

// %%
//| mutation matmul-int8 accumulates in 16 bits, which wraps around on long rows
type Int8Matmul = (a: Int8Array, m: number, k: number, b: Int8Array, n: number, out: Int32Array) => void;
function matmulInt8(a: Int8Array, m: number, k: number, b: Int8Array, n: number, out: Int32Array): void {
  if (a.length < m * k || b.length < n * k || out.length < m * n) throw new Error("matmulInt8: operands too short");
  const acc = new Int16Array(1);
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) {
      acc[0] = 0;
      for (let p = 0; p < k; p++) acc[0] += a[i * k + p] * b[j * k + p];
      out[i * n + j] = acc[0];
    }
  }
}

// %% [markdown]
// `QuantizedLinear` (next) does its two integer steps through a **slot**, as module 01's
// `Tensor.matmul` does: quantizing its input and the integer matmul. `null` means your
// `quantize` and your `matmulInt8`; the WebAssembly SIMD kernels at the end of this module plug
// in here. The tests always use your TypeScript functions.

// %% nbgrader={"grade": false, "grade_id": "int8-backend", "locked": true, "schema_version": 3, "solution": false, "task": false}
//| export
/** The kernels QuantizedLinear uses: null means your TypeScript `quantize` and `matmulInt8`. */
const int8Backend: {
  quantize: ((values: ArrayLike<number>, p: QuantParams) => Int8Array) | null;
  matmul: Int8Matmul | null;
} = { quantize: null, matmul: null };

// %% [markdown]
// ## Part 5: A quantized layer
//
// A `Linear` computes `y = x W + b`. Write its input and each weight channel with their codes,
// `x ≈ sx (xq − zx)` and `w_j ≈ sw_j (wq_j − zw_j)`, and multiply out:
//
// ```
// y[i, j] ≈ sx · sw_j · Σ_p (xq[i,p] − zx)(wq[j,p] − zw_j) + b_j
//         = sx · sw_j · ( Σ_p xq[i,p]·wq[j,p]            ← acc[i, j], the integer matmul
//                         − zw_j · Σ_p xq[i,p]            ← one sum per input row
//                         − zx   · Σ_p wq[j,p]            ← one sum per channel, known in advance
//                         + k · zx · zw_j )               ← a constant
//           + b_j
// ```
//
// Only the first term costs `m·n·k` operations; the corrections cost `m·k` (row sums) and
// `n·k` once (channel sums, computed when the layer is built). So zero points are almost free,
// *if* the algebra is done this way and not by subtracting them inside the inner loop. The
// result leaves the layer as float32: the next layer (a ReLU here) works on real numbers, and
// the next `QuantizedLinear` quantizes them again with its own calibrated parameters.
//
// The layer stores exactly what will be written to disk: the codes in an `Int8Array`, one
// float32 scale and one int32 zero point per channel, the bias in float32 (it is added once per
// output, so it gains nothing from fewer bits), and the input's parameters from calibration.
//
// ### Exercise 6: `QuantizedLinear.forward`
//
// **TODO**: Compute the layer's output from the codes, as the formula above says.
//
// **APPROACH**:
// 1. Check that the last axis of `x` has `inFeatures` values (throw an `Error` naming the shape
//    otherwise); `m` = the number of rows (every leading axis flattened).
// 2. Quantize `x.data` with the input's parameters, through the slot:
//    `(int8Backend.quantize ?? quantize)(...)`.
// 3. `acc = new Int32Array(m * n)`, filled by `(int8Backend.matmul ?? matmulInt8)(...)`.
// 4. For each row: the sum of its codes; then for each channel the bracket above, times
//    `inputScale · weightScales[j]`, plus the bias (if any).
// 5. Return a `Tensor` of shape `[...leading axes, outFeatures]`.
//
// **HINTS**:
// - `this.weightSums[j]` already holds `Σ_p wq[j, p]`.
// - Keep every term of the bracket an integer until you multiply by the scales.

// %% nbgrader={"grade": false, "grade_id": "quantized-linear", "locked": false, "schema_version": 3, "solution": true, "task": false}
//| export
/** Everything a quantized Linear stores (and the serializer writes). */
interface QuantizedLinearParts {
  inFeatures: number;
  outFeatures: number;
  /** Weight codes [out, in]: row j is output channel j. */
  weight: Int8Array;
  weightScales: Float32Array;
  weightZeroPoints: Int32Array;
  bias: Float32Array | null;
  inputScale: number;
  inputZeroPoint: number;
}

/** A Linear layer with INT8 weights (per channel) and an INT8 input (calibrated, per tensor). */
class QuantizedLinear extends Layer {
  readonly inFeatures: number;
  readonly outFeatures: number;
  readonly weight: Int8Array;
  readonly weightScales: Float32Array;
  readonly weightZeroPoints: Int32Array;
  readonly bias: Float32Array | null;
  readonly inputScale: number;
  readonly inputZeroPoint: number;
  /** Σ_p weight[j, p] for each channel j: the correction for the input's zero point. */
  readonly weightSums: Int32Array;

  constructor(parts: QuantizedLinearParts) {
    super();
    const { inFeatures, outFeatures } = parts;
    if (parts.weight.length !== inFeatures * outFeatures || parts.weightScales.length !== outFeatures || parts.weightZeroPoints.length !== outFeatures || (parts.bias !== null && parts.bias.length !== outFeatures)) {
      throw new Error(`QuantizedLinear: parts of the wrong sizes for ${inFeatures} -> ${outFeatures}`);
    }
    this.inFeatures = inFeatures;
    this.outFeatures = outFeatures;
    this.weight = parts.weight;
    this.weightScales = parts.weightScales;
    this.weightZeroPoints = parts.weightZeroPoints;
    this.bias = parts.bias;
    this.inputScale = Math.fround(parts.inputScale);
    this.inputZeroPoint = parts.inputZeroPoint;
    this.weightSums = new Int32Array(outFeatures);
    for (let j = 0; j < outFeatures; j++) {
      let sum = 0;
      for (let p = 0; p < inFeatures; p++) sum += this.weight[j * inFeatures + p];
      this.weightSums[j] = sum;
    }
    this.eval(); // inference only: nothing here is trained
  }

  /** Quantizes `linear`'s weights per channel; `input` are its input's calibrated parameters. */
  static fromLinear(linear: Linear, input: QuantParams): QuantizedLinear {
    const w = quantizePerChannel(linear.weight);
    return new QuantizedLinear({
      inFeatures: w.inFeatures,
      outFeatures: w.outFeatures,
      weight: w.codes,
      weightScales: w.scales,
      weightZeroPoints: w.zeroPoints,
      bias: linear.bias === null ? null : Float32Array.from(linear.bias.data),
      inputScale: input.scale,
      inputZeroPoint: input.zeroPoint,
    });
  }

  forward(x: Tensor): Tensor {
    // ### BEGIN SOLUTION
    const k = this.inFeatures;
    const n = this.outFeatures;
    if (x.ndim === 0 || x.shape[x.ndim - 1] !== k) {
      throw new Error(`QuantizedLinear(${k} -> ${n}) expects inputs whose last axis has ${k} features, got shape [${x.shape.join(", ")}]`);
    }
    const m = x.size / k;
    const zx = this.inputZeroPoint;
    const xq = (int8Backend.quantize ?? quantize)(x.data, { scale: this.inputScale, zeroPoint: zx });
    const acc = new Int32Array(m * n);
    (int8Backend.matmul ?? matmulInt8)(xq, m, k, this.weight, n, acc);
    const out = new Float32Array(m * n);
    for (let i = 0; i < m; i++) {
      let rowSum = 0;
      for (let p = 0; p < k; p++) rowSum += xq[i * k + p];
      for (let j = 0; j < n; j++) {
        const zw = this.weightZeroPoints[j];
        const integer = acc[i * n + j] - zw * rowSum - zx * this.weightSums[j] + k * zx * zw;
        out[i * n + j] = this.inputScale * this.weightScales[j] * integer + (this.bias === null ? 0 : this.bias[j]);
      }
    }
    return new Tensor(out, [...x.shape.slice(0, -1), n]);
    // ### END SOLUTION
  }
}

// %% nbgrader={"grade": true, "grade_id": "test-unit-quantized-linear", "locked": true, "points": 4, "schema_version": 3, "solution": false, "task": false}
function testUnitQuantizedLinear(): void {
  // One channel: codes [10, 20] at scale 0.1 (the weights [1, 2]), zero points 0, bias 0.5.
  const layer = new QuantizedLinear({
    inFeatures: 2,
    outFeatures: 1,
    weight: Int8Array.from([10, 20]),
    weightScales: Float32Array.from([0.1]),
    weightZeroPoints: Int32Array.from([0]),
    bias: Float32Array.from([0.5]),
    inputScale: 0.5,
    inputZeroPoint: 0,
  });
  // x = [1, 1] -> codes [2, 2]; y = 0.5 · 0.1 · (2·10 + 2·20) + 0.5 = 3.5
  assertClose(Array.from(layer.forward(new Tensor([[1, 1]])).data), [3.5], { rtol: 1e-6 });
  assertShape(layer.forward(new Tensor([[1, 1]])).shape, [1, 1]);
  // ### BEGIN HIDDEN TESTS
  const shifted = new QuantizedLinear({
    inFeatures: 2,
    outFeatures: 1,
    weight: Int8Array.from([10, 20]),
    weightScales: Float32Array.from([0.1]),
    weightZeroPoints: Int32Array.from([5]),
    bias: null,
    inputScale: 0.5,
    inputZeroPoint: -128,
  });
  // codes of [1, 1] with zero point −128: [−126, −126]; weights minus their zero point [5, 15]
  assertClose(Array.from(shifted.forward(new Tensor([1, 1])).data), [0.5 * 0.1 * (2 * 5 + 2 * 15)], { rtol: 1e-6 }, "both zero points, a 1-D input");
  assertShape(shifted.forward(new Tensor([1, 1])).shape, [1], "a 1-D input gives a 1-D output");
  assertThrows(() => layer.forward(Tensor.ones([2, 3])), "[2, 3]", "a wrong width is named");
  // Random layers with random zero points (asymmetric inputs, as after a ReLU, or not), random
  // leading axes: against the dequantized arithmetic in float64, from codes computed here.
  const rl = testRandom("15/quantized-linear");
  for (let trial = 0; trial < 5; trial++) {
    const [inF, outF] = [rl.int(1, 40), rl.int(1, 12)];
    const linear = new Linear(inF, outF, { seed: rl.seed(), bias: rl.bool(0.8) });
    if (linear.bias !== null) linear.bias = new Tensor(Float32Array.from(rl.numbers(outF, -1, 1)), [outF]);
    const lead = rl.shape(rl.int(1, 2), 4, 1);
    const rows = lead.reduce((a, b) => a * b, 1);
    const lo = rl.pick([0, -2, -0.5]);
    const hi = rl.uniform(0.5, 4);
    const xs = rl.numbers(rows * inF, lo, hi);
    const sx = Math.fround((Math.max(hi, 0) - Math.min(lo, 0)) / 255);
    const zx = Math.min(127, Math.max(-128, Math.round(-128 - Math.min(lo, 0) / sx)));
    const q = QuantizedLinear.fromLinear(linear, { scale: sx, zeroPoint: zx });
    const y = q.forward(new Tensor(Float32Array.from(xs), [...lead, inF]));
    assertShape(y.shape, [...lead, outF], "random leading axes");
    const layerOracle = (): number[] => {
      const w = linear.weight.data;
      const out: number[] = [];
      const chan = Array.from({ length: outF }, (_, j) => {
        const col = Array.from({ length: inF }, (_, i) => w[i * outF + j]);
        const clo = Math.min(0, ...col);
        const chi = Math.max(0, ...col);
        const s = clo === chi ? 1 : Math.fround((chi - clo) / 255);
        const z = clo === chi ? 0 : Math.min(127, Math.max(-128, Math.round(-128 - clo / s)));
        return { s, z, codes: col.map((v) => Math.min(127, Math.max(-128, Math.round(v / s) + z))) };
      });
      for (let i = 0; i < rows; i++) {
        const xq = xs.slice(i * inF, (i + 1) * inF).map((v) => Math.min(127, Math.max(-128, Math.round(v / sx) + zx)));
        for (let j = 0; j < outF; j++) {
          let sum = 0;
          for (let p = 0; p < inF; p++) sum += (xq[p] - zx) * (chan[j].codes[p] - chan[j].z);
          out.push(sx * chan[j].s * sum + (linear.bias === null ? 0 : linear.bias.data[j]));
        }
      }
      return out;
    };
    assertClose(Array.from(y.data), layerOracle(), { rtol: 1e-5, atol: 1e-6 }, `a random ${inF} -> ${outF} layer on inputs in [${lo}, ${hi.toFixed(2)}]`);
  }
  // ### END HIDDEN TESTS
  passed("testUnitQuantizedLinear");
}
testUnitQuantizedLinear();

// %%
//| mutation quantized-linear ignores the input's zero point in the corrections
interface QuantizedLinearParts {
  inFeatures: number;
  outFeatures: number;
  weight: Int8Array;
  weightScales: Float32Array;
  weightZeroPoints: Int32Array;
  bias: Float32Array | null;
  inputScale: number;
  inputZeroPoint: number;
}
class QuantizedLinear extends Layer {
  readonly inFeatures: number;
  readonly outFeatures: number;
  readonly weight: Int8Array;
  readonly weightScales: Float32Array;
  readonly weightZeroPoints: Int32Array;
  readonly bias: Float32Array | null;
  readonly inputScale: number;
  readonly inputZeroPoint: number;
  readonly weightSums: Int32Array;
  constructor(parts: QuantizedLinearParts) {
    super();
    this.inFeatures = parts.inFeatures;
    this.outFeatures = parts.outFeatures;
    this.weight = parts.weight;
    this.weightScales = parts.weightScales;
    this.weightZeroPoints = parts.weightZeroPoints;
    this.bias = parts.bias;
    this.inputScale = Math.fround(parts.inputScale);
    this.inputZeroPoint = parts.inputZeroPoint;
    this.weightSums = new Int32Array(parts.outFeatures);
    for (let j = 0; j < parts.outFeatures; j++) for (let p = 0; p < parts.inFeatures; p++) this.weightSums[j] += this.weight[j * parts.inFeatures + p];
  }
  static fromLinear(linear: Linear, input: QuantParams): QuantizedLinear {
    const w = quantizePerChannel(linear.weight);
    return new QuantizedLinear({ inFeatures: w.inFeatures, outFeatures: w.outFeatures, weight: w.codes, weightScales: w.scales, weightZeroPoints: w.zeroPoints, bias: linear.bias === null ? null : Float32Array.from(linear.bias.data), inputScale: input.scale, inputZeroPoint: input.zeroPoint });
  }
  forward(x: Tensor): Tensor {
    const k = this.inFeatures;
    const n = this.outFeatures;
    if (x.shape[x.ndim - 1] !== k) throw new Error(`QuantizedLinear: bad input shape [${x.shape.join(", ")}]`);
    const m = x.size / k;
    const xq = quantize(x.data, { scale: this.inputScale, zeroPoint: this.inputZeroPoint });
    const acc = new Int32Array(m * n);
    matmulInt8(xq, m, k, this.weight, n, acc);
    const out = new Float32Array(m * n);
    for (let i = 0; i < m; i++) {
      let rowSum = 0;
      for (let p = 0; p < k; p++) rowSum += xq[i * k + p];
      for (let j = 0; j < n; j++) {
        const integer = acc[i * n + j] - this.weightZeroPoints[j] * rowSum;
        out[i * n + j] = this.inputScale * this.weightScales[j] * integer + (this.bias === null ? 0 : this.bias[j]);
      }
    }
    return new Tensor(out, [...x.shape.slice(0, -1), n]);
  }
}

// %% [markdown]
// ### Convolutions, for free
//
// Module 09 computes a convolution as a matmul: `im2col` lays every `k × k` window of the input
// out as a column of `C·k·k` values, and the weight `[out, C, k, k]`, read as `[out, C·k·k]`,
// multiplies them. So a quantized convolution is a `QuantizedLinear` with `C·k·k` inputs, one per
// weight row, fed with one row per output position (given below). The zero padding at the
// borders quantizes to exactly the zero point and comes back as exactly 0, which is Part 1's
// reason for making 0 representable.

// %% nbgrader={"grade": false, "grade_id": "quantized-conv", "locked": true, "schema_version": 3, "solution": false, "task": false}
//| export
/** A Conv2d with INT8 weights (per output channel) and input: im2col, then a QuantizedLinear. */
class QuantizedConv2d extends Layer {
  readonly inChannels: number;
  readonly outChannels: number;
  readonly kernelSize: number;
  readonly stride: number;
  readonly padding: number;
  /** The convolution as a matmul: C·k·k inputs per output position, one output per channel. */
  readonly inner: QuantizedLinear;

  constructor(parts: { inChannels: number; kernelSize: number; stride: number; padding: number; inner: QuantizedLinear }) {
    super();
    if (parts.inner.inFeatures !== parts.inChannels * parts.kernelSize * parts.kernelSize) {
      throw new Error(`QuantizedConv2d: ${parts.inner.inFeatures} inputs per position for ${parts.inChannels} channels of ${parts.kernelSize}×${parts.kernelSize}`);
    }
    this.inChannels = parts.inChannels;
    this.outChannels = parts.inner.outFeatures;
    this.kernelSize = parts.kernelSize;
    this.stride = parts.stride;
    this.padding = parts.padding;
    this.inner = parts.inner;
    this.eval();
  }

  /** Quantizes `conv`'s weight rows per output channel; `input`: its input's calibrated parameters. */
  static fromConv2d(conv: Conv2d, input: QuantParams): QuantizedConv2d {
    const out = conv.outChannels;
    const depth = conv.inChannels * conv.kernelSize * conv.kernelSize;
    // quantizePerChannel takes channels as columns ([in, out]): hand it the weight transposed.
    const columns = new Float32Array(depth * out);
    for (let o = 0; o < out; o++) for (let e = 0; e < depth; e++) columns[e * out + o] = conv.weight.data[o * depth + e];
    const w = quantizePerChannel(new Tensor(columns, [depth, out]));
    const inner = new QuantizedLinear({
      inFeatures: depth,
      outFeatures: out,
      weight: w.codes,
      weightScales: w.scales,
      weightZeroPoints: w.zeroPoints,
      bias: conv.bias === null ? null : Float32Array.from(conv.bias.data),
      inputScale: input.scale,
      inputZeroPoint: input.zeroPoint,
    });
    return new QuantizedConv2d({ inChannels: conv.inChannels, kernelSize: conv.kernelSize, stride: conv.stride, padding: conv.padding, inner });
  }

  forward(x: Tensor): Tensor {
    if (x.ndim !== 4 || x.shape[1] !== this.inChannels) throw new Error(`QuantizedConv2d: expected [N, ${this.inChannels}, H, W], got [${x.shape.join(", ")}]`);
    const g = convGeometry(x.shape, this.kernelSize, this.stride, this.padding);
    const depth = this.inner.inFeatures;
    const positions = g.outHeight * g.outWidth;
    const cols = im2col(x, g).data; // [N, depth, positions]
    const rows = new Float32Array(g.batch * positions * depth);
    for (let n = 0; n < g.batch; n++) {
      for (let e = 0; e < depth; e++) {
        const from = (n * depth + e) * positions;
        for (let p = 0; p < positions; p++) rows[(n * positions + p) * depth + e] = cols[from + p];
      }
    }
    const y = this.inner.forward(new Tensor(rows, [g.batch * positions, depth])).data; // [N·P, out]
    const out = new Float32Array(g.batch * this.outChannels * positions);
    for (let n = 0; n < g.batch; n++) {
      for (let p = 0; p < positions; p++) {
        for (let o = 0; o < this.outChannels; o++) out[(n * this.outChannels + o) * positions + p] = y[(n * positions + p) * this.outChannels + o];
      }
    }
    return new Tensor(out, [g.batch, this.outChannels, g.outHeight, g.outWidth]);
  }
}

// %% [markdown]
// ## Part 6: Quantizing a whole model
//
// `quantizeModel(model, calibrationBatches)` puts the pieces together for a `Sequential`:
//
// 1. **Calibrate.** Give every `Linear` and every `Conv2d` of the model an observer. Run each
//    calibration batch through the float model, layer by layer, in inference mode and without a
//    graph; before each of those layers, let its observer see the tensor that goes *into* it.
// 2. **Convert.** Build a new `Sequential` in which each `Linear` is replaced by
//    `QuantizedLinear.fromLinear(layer, itsObserver.params())`, each `Conv2d` by
//    `QuantizedConv2d.fromConv2d(layer, itsObserver.params())`, and every other layer (ReLU,
//    pooling, Flatten, Dropout, ...) is kept as it is.
//
// The float model is left unchanged (and in the mode it was in), so the two can be compared.
// The layers without parameters are shared by both models, so call `eval()` on the quantized
// model before using it, as on any model used for inference.
//
// ### Exercise 7: `quantizeModel`
//
// **TODO**: Calibrate the input range of every `Linear` and `Conv2d` of `model` on
// `calibrationBatches` and return the quantized copy.
//
// **APPROACH**:
// 1. Throw an `Error` if there are no calibration batches (say that calibration needs one).
// 2. One `MinMaxObserver` per `Linear` or `Conv2d` (by position in `model.layers`).
// 3. Put the model in `eval()` mode, and inside `noGrad`, for each batch walk the layers in
//    order: observe, then `x = layer.forward(x)`. Restore training mode afterwards if the model
//    was training.
// 4. Map the layers to the new ones and return `new Sequential(layers)`.
//
// **HINTS**:
// - Each layer's input is the previous layer's output: the range of the second `Linear`'s
//   input is the range after the ReLU, not the range of the pixels.
// - A `try`/`finally` keeps the model's mode right even if a layer throws.

// %% nbgrader={"grade": false, "grade_id": "quantize-model", "locked": false, "schema_version": 3, "solution": true, "task": false}
//| export
/** Calibrates the input range of every Linear and Conv2d of `model`; returns a copy with quantized layers. */
function quantizeModel(model: Sequential, calibrationBatches: readonly Tensor[]): Sequential {
  // ### BEGIN SOLUTION
  if (calibrationBatches.length === 0) throw new Error("quantizeModel: calibration needs at least one batch");
  const observers = model.layers.map((layer) => (layer instanceof Linear || layer instanceof Conv2d ? new MinMaxObserver() : null));
  const wasTraining = model.training;
  model.eval();
  try {
    noGrad(() => {
      for (const batch of calibrationBatches) {
        let x = batch;
        model.layers.forEach((layer, i) => {
          observers[i]?.observe(x.data);
          x = layer.forward(x);
        });
      }
    });
  } finally {
    if (wasTraining) model.train();
  }
  const layers = model.layers.map((layer, i) => {
    const observer = observers[i];
    if (observer === null) return layer;
    if (layer instanceof Conv2d) return QuantizedConv2d.fromConv2d(layer, observer.params());
    return layer instanceof Linear ? QuantizedLinear.fromLinear(layer, observer.params()) : layer;
  });
  return new Sequential(layers);
  // ### END SOLUTION
}

// %% nbgrader={"grade": true, "grade_id": "test-unit-quantize-model", "locked": true, "points": 3, "schema_version": 3, "solution": false, "task": false}
function testUnitQuantizeModel(): void {
  const model = new Sequential([new Linear(6, 5, { seed: 1 }), new ReLU(), new Linear(5, 3, { seed: 2 })]);
  const batches = [Tensor.randn([4, 6], 3), Tensor.randn([4, 6], 4)];
  const q = quantizeModel(model, batches);
  assertEqual(q.layers.length, 3);
  assert(isInstance(q.layers[0], QuantizedLinear) && isInstance(q.layers[2], QuantizedLinear), "both Linear layers are quantized");
  assert(q.layers[1] === model.layers[1], "the ReLU is kept");
  assert(isInstance(model.layers[0], Linear) && model.training, "the float model is unchanged, still training");
  assertShape(q.forward(batches[0]).shape, [4, 3]);
  // ### BEGIN HIDDEN TESTS
  assertThrows(() => quantizeModel(model, []), "calibration", "no batches");
  // Random MLPs (with a Dropout, which calibration must not apply) and random calibration
  // batches: each layer's input parameters from the ranges of the float activations, computed
  // here with the float layers, and the quantized model's output in float64.
  const rm = testRandom("15/quantize-model");
  for (let trial = 0; trial < 3; trial++) {
    const sizes = [rm.int(2, 20), rm.int(2, 16), rm.int(2, 12), rm.int(2, 6)];
    const linears = [0, 1, 2].map((l) => new Linear(sizes[l], sizes[l + 1], { seed: rm.seed() }));
    const net = new Sequential([linears[0], new ReLU(), new Dropout(0.5, { seed: rm.seed() }), linears[1], new ReLU(), linears[2]]);
    const calib = Array.from({ length: rm.int(1, 3) }, () => {
      const rows = rm.int(1, 6);
      return new Tensor(Float32Array.from(rm.numbers(rows * sizes[0], -2, 3)), [rows, sizes[0]]);
    });
    const quantized = quantizeModel(net, calib);
    const rangesOracle = (): number[][] => {
      const ranges = [0, 1, 2].map(() => [0, 0]);
      for (const b of calib) {
        let h = Array.from(b.data);
        const rows = b.shape[0];
        for (let l = 0; l < 3; l++) {
          ranges[l] = [Math.min(ranges[l][0], ...h), Math.max(ranges[l][1], ...h)];
          const next = linears[l].forward(new Tensor(Float32Array.from(h), [rows, sizes[l]])).data;
          h = Array.from(next, (v) => (l < 2 ? Math.max(0, v) : v));
        }
      }
      return ranges.map(([lo, hi]) => {
        const s = lo === hi ? 1 : Math.fround((hi - lo) / 255);
        return [s, lo === hi ? 0 : Math.min(127, Math.max(-128, Math.round(-128 - lo / s)))];
      });
    };
    const qls = quantized.layers.filter((l): l is QuantizedLinear => isInstance(l, QuantizedLinear));
    assertEqual(qls.length, 3, "every Linear is quantized");
    assertEqual(qls.map((l) => [l.inputScale, l.inputZeroPoint]), rangesOracle(), "random MLP: each layer's input parameters");
    const x = Float32Array.from(rm.numbers(2 * sizes[0], -2, 3));
    const outputOracle = (): number[] => {
      const params = rangesOracle();
      let h = Array.from(x);
      const rows = 2;
      for (let l = 0; l < 3; l++) {
        const [sx, zx] = params[l];
        const w = linears[l].weight.data;
        const [inF, outF] = [sizes[l], sizes[l + 1]];
        const next: number[] = [];
        for (let i = 0; i < rows; i++) {
          const xq = h.slice(i * inF, (i + 1) * inF).map((v) => Math.min(127, Math.max(-128, Math.round(v / sx) + zx)));
          for (let j = 0; j < outF; j++) {
            const col = Array.from({ length: inF }, (_, p) => w[p * outF + j]);
            const clo = Math.min(0, ...col);
            const chi = Math.max(0, ...col);
            const s = clo === chi ? 1 : Math.fround((chi - clo) / 255);
            const z = clo === chi ? 0 : Math.min(127, Math.max(-128, Math.round(-128 - clo / s)));
            let sum = 0;
            for (let p = 0; p < inF; p++) sum += (xq[p] - zx) * (Math.min(127, Math.max(-128, Math.round(col[p] / s) + z)) - z);
            const y = Math.fround(sx * s * sum + (linears[l].bias?.data[j] ?? 0));
            next.push(l < 2 ? Math.max(0, y) : y);
          }
        }
        h = next;
      }
      return h;
    };
    quantized.eval(); // for inference: the Dropout it shares with the float model stops dropping
    assertClose(Array.from(quantized.forward(new Tensor(x, [2, sizes[0]])).data), outputOracle(), { rtol: 1e-4, atol: 1e-5 }, "random MLP: the quantized output");
  }
  // A small random CNN (a Conv2d with random stride and padding, ReLU, Flatten, Linear): the
  // convolution is quantized too, with its input's range, and the Linear after it with the range
  // of the float activations it receives (computed here with the float layers).
  const [channels, size, kernel] = [rm.int(1, 3), rm.int(5, 8), rm.int(2, 3)];
  const [stride, padding] = [rm.int(1, 2), rm.int(0, 1)];
  const conv = new Conv2d(channels, 3, kernel, { seed: rm.seed(), stride, padding });
  const side = Math.floor((size + 2 * padding - kernel) / stride) + 1;
  const head = new Linear(3 * side * side, 4, { seed: rm.seed() });
  const cnn = new Sequential([conv, new ReLU(), new Flatten(), head]);
  const images = new Tensor(Float32Array.from(rm.numbers(2 * channels * size * size, 0, 1)), [2, channels, size, size]);
  const qcnn = quantizeModel(cnn, [images]).eval();
  assert(isInstance(qcnn.layers[0], QuantizedConv2d) && isInstance(qcnn.layers[3], QuantizedLinear), "the Conv2d and the Linear are quantized");
  const cnnOracle = (): number[][] => {
    const hidden = Array.from(conv.forward(images).data, (v) => Math.max(0, v));
    return [Array.from(images.data), hidden].map((values) => {
      const lo = Math.min(0, ...values);
      const hi = Math.max(0, ...values);
      const sc = lo === hi ? 1 : Math.fround((hi - lo) / 255);
      return [sc, lo === hi ? 0 : Math.min(127, Math.max(-128, Math.round(-128 - lo / sc)))];
    });
  };
  const qc = qcnn.layers[0] as QuantizedConv2d;
  const qh = qcnn.layers[3] as QuantizedLinear;
  assertEqual([[qc.inner.inputScale, qc.inner.inputZeroPoint], [qh.inputScale, qh.inputZeroPoint]], cnnOracle(), "a random CNN: the inputs' parameters");
  assertShape(qcnn.forward(images).shape, [2, 4], "a random CNN: its output");
  // ### END HIDDEN TESTS
  passed("testUnitQuantizeModel");
}
testUnitQuantizeModel();

// %%
//| mutation quantize-model calibrates every layer on the range of the model's input
function quantizeModel(model: Sequential, calibrationBatches: readonly Tensor[]): Sequential {
  if (calibrationBatches.length === 0) throw new Error("quantizeModel: calibration needs at least one batch");
  const observer = new MinMaxObserver();
  for (const batch of calibrationBatches) observer.observe(batch.data);
  return new Sequential(model.layers.map((layer) => (layer instanceof Linear ? QuantizedLinear.fromLinear(layer, observer.params()) : layer)));
}

// %%
//| mutation quantize-model observes each Linear's output instead of its input
function quantizeModel(model: Sequential, calibrationBatches: readonly Tensor[]): Sequential {
  if (calibrationBatches.length === 0) throw new Error("quantizeModel: calibration needs at least one batch");
  const observers = model.layers.map((layer) => (layer instanceof Linear ? new MinMaxObserver() : null));
  noGrad(() => {
    for (const batch of calibrationBatches) {
      let x = batch;
      model.layers.forEach((layer, i) => {
        x = layer.forward(x);
        observers[i]?.observe(x.data);
      });
    }
  });
  return new Sequential(model.layers.map((layer, i) => {
    const o = observers[i];
    return o !== null && layer instanceof Linear ? QuantizedLinear.fromLinear(layer, o.params()) : layer;
  }));
}

// %% [markdown]
// ## Part 7: Real bytes
//
// A size is what a file takes on disk, so this module measures sizes by **writing the file**.
// The float model's bytes are module 08's checkpoint (`encodeCheckpoint`: an 8-byte magic, a
// small JSON header of shapes, then every parameter as raw float32). The quantized model gets
// a format of its own, given below. All numbers are little-endian:
//
// ```
// "TTQINT8\n"                                  8 bytes: which format this is (version 1)
// u32 number of quantized layers               4 bytes
// for each QuantizedLinear, in order:
//   u32 inFeatures, u32 outFeatures,
//   u32 flags (1: has a bias, 2: a convolution),
//   f32 inputScale, i32 inputZeroPoint         20 bytes
//   (a convolution: u32 inChannels, kernel,
//    stride, padding; in = inChannels·k·k)      16 bytes
//   the codes, out × in int8, [out, in]        out·in bytes, then 0 to 3 zero bytes so
//                                              that what follows starts at a multiple of 4
//   the scales, out × f32                      4·out bytes
//   the zero points, out × i32                 4·out bytes
//   the bias, out × f32 (if the flag is set)   4·out bytes
// ```
//
// Like a checkpoint, the file holds parameters, not the architecture: the layers without
// parameters (ReLU, pooling) are the program's business. `decodeQuantizedModel` reads the
// layers back, and refuses anything that is not exactly such a file.

// %% nbgrader={"grade": false, "grade_id": "quantized-format", "locked": true, "schema_version": 3, "solution": false, "task": false}
//| export
/** The first 8 bytes of a quantized model file (version 1 of the format). */
const QUANTIZED_MAGIC = "TTQINT8\n";

/** A layer the quantized file holds. */
type QuantizedLayer = QuantizedLinear | QuantizedConv2d;

/** Bytes of one layer's record in the format above (a convolution adds its 16-byte geometry). */
function quantizedLayerBytes(inFeatures: number, outFeatures: number, hasBias: boolean, conv = false): number {
  const codes = Math.ceil((inFeatures * outFeatures) / 4) * 4;
  return 20 + (conv ? 16 : 0) + codes + 8 * outFeatures + (hasBias ? 4 * outFeatures : 0);
}

/** The quantized layers of a model, in order; a float Linear or Conv2d left in it is an error. */
function quantizedLayersOf(model: Sequential | readonly QuantizedLayer[]): QuantizedLayer[] {
  const layers = Array.isArray(model) ? model : (model as Sequential).layers;
  const out: QuantizedLayer[] = [];
  for (const layer of layers) {
    if (layer instanceof QuantizedLinear || layer instanceof QuantizedConv2d) out.push(layer);
    else if (layer instanceof Linear || layer instanceof Conv2d) throw new Error("encodeQuantizedModel: the model still has a float Linear or Conv2d; quantize it first");
  }
  return out;
}

/** The file of a quantized model (the format above): every quantized layer, in order. */
function encodeQuantizedModel(model: Sequential | readonly QuantizedLayer[]): Uint8Array {
  const layers = quantizedLayersOf(model);
  const inners = layers.map((l) => (l instanceof QuantizedConv2d ? l.inner : l));
  const total = 12 + layers.reduce((n, l, i) => n + quantizedLayerBytes(inners[i].inFeatures, inners[i].outFeatures, inners[i].bias !== null, l instanceof QuantizedConv2d), 0);
  const bytes = new Uint8Array(total);
  const view = new DataView(bytes.buffer);
  for (let i = 0; i < 8; i++) bytes[i] = QUANTIZED_MAGIC.charCodeAt(i);
  view.setUint32(8, layers.length, true);
  let at = 12;
  layers.forEach((layer, i) => {
    const l = inners[i];
    const out = l.outFeatures;
    view.setUint32(at, l.inFeatures, true);
    view.setUint32(at + 4, out, true);
    view.setUint32(at + 8, (l.bias === null ? 0 : 1) | (layer instanceof QuantizedConv2d ? 2 : 0), true);
    view.setFloat32(at + 12, l.inputScale, true);
    view.setInt32(at + 16, l.inputZeroPoint, true);
    at += 20;
    if (layer instanceof QuantizedConv2d) {
      [layer.inChannels, layer.kernelSize, layer.stride, layer.padding].forEach((v, k) => view.setUint32(at + 4 * k, v, true));
      at += 16;
    }
    bytes.set(new Uint8Array(l.weight.buffer, l.weight.byteOffset, l.weight.length), at);
    at += Math.ceil(l.weight.length / 4) * 4;
    for (let j = 0; j < out; j++) view.setFloat32(at + 4 * j, l.weightScales[j], true);
    at += 4 * out;
    for (let j = 0; j < out; j++) view.setInt32(at + 4 * j, l.weightZeroPoints[j], true);
    at += 4 * out;
    if (l.bias !== null) {
      for (let j = 0; j < out; j++) view.setFloat32(at + 4 * j, l.bias[j], true);
      at += 4 * out;
    }
  });
  return bytes;
}

/** The quantized layers of a file written by encodeQuantizedModel. */
function decodeQuantizedModel(bytes: Uint8Array): QuantizedLayer[] {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const magic = String.fromCharCode(...bytes.subarray(0, 8));
  if (bytes.length < 12 || magic !== QUANTIZED_MAGIC) throw new Error("not a tinytorch-ts quantized model (bad magic bytes)");
  const count = view.getUint32(8, true);
  const layers: QuantizedLayer[] = [];
  let at = 12;
  for (let l = 0; l < count; l++) {
    if (at + 20 > bytes.length) throw new Error(`truncated quantized model: layer ${l} has no header`);
    const inFeatures = view.getUint32(at, true);
    const outFeatures = view.getUint32(at + 4, true);
    const flags = view.getUint32(at + 8, true);
    const hasBias = (flags & 1) === 1;
    const isConv = (flags & 2) === 2;
    if (at + quantizedLayerBytes(inFeatures, outFeatures, hasBias, isConv) > bytes.length) throw new Error(`truncated quantized model: layer ${l} (${inFeatures} -> ${outFeatures})`);
    const inputScale = view.getFloat32(at + 12, true);
    const inputZeroPoint = view.getInt32(at + 16, true);
    at += 20;
    const geometry = isConv ? [0, 1, 2, 3].map((k) => view.getUint32(at + 4 * k, true)) : null;
    if (isConv) at += 16;
    const weight = Int8Array.from(new Int8Array(bytes.buffer, bytes.byteOffset + at, inFeatures * outFeatures));
    at += Math.ceil((inFeatures * outFeatures) / 4) * 4;
    const weightScales = Float32Array.from({ length: outFeatures }, (_, j) => view.getFloat32(at + 4 * j, true));
    at += 4 * outFeatures;
    const weightZeroPoints = Int32Array.from({ length: outFeatures }, (_, j) => view.getInt32(at + 4 * j, true));
    at += 4 * outFeatures;
    let bias: Float32Array | null = null;
    if (hasBias) {
      bias = Float32Array.from({ length: outFeatures }, (_, j) => view.getFloat32(at + 4 * j, true));
      at += 4 * outFeatures;
    }
    const inner = new QuantizedLinear({ inFeatures, outFeatures, weight, weightScales, weightZeroPoints, bias, inputScale, inputZeroPoint });
    layers.push(geometry === null ? inner : new QuantizedConv2d({ inChannels: geometry[0], kernelSize: geometry[1], stride: geometry[2], padding: geometry[3], inner }));
  }
  if (at !== bytes.length) throw new Error(`quantized model: ${bytes.length - at} bytes after the last layer`);
  return layers;
}

// %% [markdown]
// ### Predict, then measure
//
// Before running the cell that measures them, work out two numbers on paper.
//
// 1. **The file.** The digits MLP of milestone 03 is `Linear(784, 128)`, ReLU,
//    `Linear(128, 10)`, both with a bias. How many bytes does `encodeQuantizedModel` write for
//    its quantized copy? (Its float32 checkpoint is 407,140 bytes.)
// 2. **The round trip.** A weight matrix has values from −0.5 to 0.3, quantized with one
//    `quantParams` for the whole range. What is the largest error `|dequantize(quantize(x)) − x|`
//    can have for an `x` in that range?
//
// Write each as a number (or the arithmetic that gives it) in the functions below; a rough
// answer is fine for the first (within 2%), the second wants the formula (within 5%).

// %% nbgrader={"grade": false, "grade_id": "predict-int8-bytes", "locked": false, "schema_version": 3, "solution": true, "task": false}
/** Your prediction: the bytes of the quantized 784-128-10 MLP's file. */
function predictedInt8Bytes(): number {
  // ### BEGIN SOLUTION
  const layer = (inF: number, outF: number): number => 20 + inF * outF + 4 * outF + 4 * outF + 4 * outF;
  return 12 + layer(784, 128) + layer(128, 10);
  // ### END SOLUTION
}

// %% nbgrader={"grade": false, "grade_id": "predict-round-trip", "locked": false, "schema_version": 3, "solution": true, "task": false}
/** Your prediction: the largest round-trip error for values in [−0.5, 0.3]. */
function predictedRoundTripError(): number {
  // ### BEGIN SOLUTION
  return (0.3 - -0.5) / 255 / 2;
  // ### END SOLUTION
}

// %% [markdown]
// Now measure: the cell below builds the quantized MLP (untrained weights: the size does not
// depend on their values), writes its file, and sweeps the range [−0.5, 0.3] finely.

// %%
await demo("measuring the predictions", () => {
  const mlp = new Sequential([new Linear(784, 128, { seed: 0 }), new ReLU(), new Linear(128, 10, { seed: 1 })]);
  const float = encodeCheckpoint(mlp.parameters()).length;
  const int8 = encodeQuantizedModel(quantizeModel(mlp, [Tensor.rand([8, 784], 2)])).length;
  console.log(`float32 checkpoint ${float} bytes, INT8 file ${int8} bytes (${(float / int8).toFixed(2)}× smaller); you predicted ${predictedInt8Bytes()}`);
  const p = quantParams(-0.5, 0.3);
  const xs = Array.from({ length: 100001 }, (_, i) => -0.5 + (0.8 * i) / 100000);
  const back = dequantize(quantize(xs, p), p);
  const worst = xs.reduce((w, x, i) => Math.max(w, Math.abs(back[i] - x)), 0);
  console.log(`largest round-trip error over [−0.5, 0.3]: ${worst.toExponential(4)}; you predicted ${predictedRoundTripError().toExponential(4)}`);
});

// %% nbgrader={"grade": true, "grade_id": "test-predictions", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
function testPredictions(): void {
  check("the INT8 file's size", 1, () => {
    // ### BEGIN HIDDEN TESTS
    const measuredBytes = encodeQuantizedModel(
      [new Linear(784, 128, { seed: 0 }), new Linear(128, 10, { seed: 1 })].map((l) => QuantizedLinear.fromLinear(l, { scale: 1 / 255, zeroPoint: -128 })),
    ).length;
    assertPrediction(predictedInt8Bytes(), measuredBytes, { rtol: 0.02 }, "bytes of the INT8 MLP's file");
    // ### END HIDDEN TESTS
  });
  check("the round trip's largest error", 1, () => {
    // ### BEGIN HIDDEN TESTS
    assertPrediction(predictedRoundTripError(), Math.fround(0.8 / 255) / 2, { rtol: 0.05 }, "half a step of [−0.5, 0.3]");
    // ### END HIDDEN TESTS
  });
  passed("testPredictions");
}
testPredictions();

// %%
//| mutation predict-int8-bytes counts four bytes per weight, as in float32
function predictedInt8Bytes(): number {
  return 4 * (784 * 128 + 128 + 128 * 10 + 10);
}

// %%
//| mutation predict-round-trip a whole step instead of half of one
function predictedRoundTripError(): number {
  return 0.8 / 255;
}

// %% [markdown]
// ### The digits MLP, quantized
//
// Now the real thing: milestone 03's MLP, trained for two epochs here (about seven seconds
// with module 01's kernels), quantized with 8 calibration batches of 64 training digits, and
// measured on the 2,000 test digits. The accuracy drop is what quantization costs; the bytes
// are what it buys.

// %% nbgrader={"grade": false, "grade_id": "digits-helpers", "locked": true, "schema_version": 3, "solution": false, "task": false}
/** The digits split and milestone 03's MLP trained for `epochs` (cached: the demos share it). */
const digitsCache: { model?: Sequential; split?: ReturnType<typeof loadDigits> } = {};

function trainedDigitsMlp(epochs = 2): { model: Sequential; split: ReturnType<typeof loadDigits> } {
  const split = (digitsCache.split ??= loadDigits());
  if (digitsCache.model === undefined) {
    const model = new Sequential([new Linear(784, 128, { seed: 0 }), new ReLU(), new Linear(128, 10, { seed: 1 })]);
    const optimizer = new Adam(model.parameters(), { lr: 3e-3 });
    const loader = new DataLoader(split.train, { batchSize: 64, shuffle: true, seed: 0 });
    for (let e = 0; e < epochs; e++) trainEpoch(model, loader, new CrossEntropyLoss(), optimizer);
    digitsCache.model = model.eval();
  }
  return { model: digitsCache.model, split };
}

/** `count` batches of `size` training digits, spread over every digit (the split is ordered by digit). */
function calibrationBatches(split: ReturnType<typeof loadDigits>, count = 8, size = 64): Tensor[] {
  const x = split.train.x;
  const n = x.shape[0];
  return Array.from({ length: count }, (_, b) => {
    const data = new Float32Array(size * 784);
    for (let r = 0; r < size; r++) {
      const row = ((b * size + r) * 7919) % n;
      data.set(x.data.subarray(row * 784, (row + 1) * 784), r * 784);
    }
    return new Tensor(data, [size, 784]);
  });
}

// %%
await demo("the digits MLP in INT8", () => {
  const { model, split } = trainedDigitsMlp();
  const float = noGrad(() => accuracyOf(model.forward(split.test.x), split.test.y.data));
  const q = quantizeModel(model, calibrationBatches(split)).eval();
  const int8 = accuracyOf(q.forward(split.test.x), split.test.y.data);
  const floatBytes = encodeCheckpoint(model.parameters()).length;
  const int8Bytes = encodeQuantizedModel(q).length;
  console.log(`float32: ${(100 * float).toFixed(2)}% of ${split.test.x.shape[0]} test digits, ${floatBytes} bytes`);
  console.log(`INT8:    ${(100 * int8).toFixed(2)}% (${(100 * (int8 - float)).toFixed(2)} points), ${int8Bytes} bytes, ${(floatBytes / int8Bytes).toFixed(2)}× smaller`);
  const decoded = decodeQuantizedModel(encodeQuantizedModel(q));
  const again = new Sequential([decoded[0], new ReLU(), decoded[1]]);
  const first = q.forward(split.test.x).data;
  const same = again.forward(split.test.x).data.every((v, i) => v === first[i]);
  console.log(`read back from its bytes, the INT8 model gives ${same ? "exactly the same" : "DIFFERENT"} outputs`);
});

// %% [markdown]
// ## Part 8: Where fewer bits become less time
//
// Time your `matmulInt8` against a float32 loop of the same shape (the next demo does) and the
// INT8 one is not faster. JavaScript has no 8-bit arithmetic: each `a[p] * b[p]` loads two
// bytes, widens them to doubles, multiplies and adds as doubles, exactly as the float loop
// does with its float32 values. The smaller numbers save memory traffic, but a loop over one
// layer's weights (100 KB in INT8, 400 KB in float32) runs out of the L2 cache either way.
//
// The speed comes from instructions that do **more multiply-adds per instruction** on narrow
// integers. WebAssembly's 128-bit SIMD has one made for this:
//
// ```
// i32x4.dot_i16x8_s(a, b) = [a0·b0 + a1·b1, a2·b2 + a3·b3, a4·b4 + a5·b5, a6·b6 + a7·b7]
// ```
//
// eight 16-bit multiplies and four adds into 32-bit lanes, in one instruction (x86's
// `pmaddwd`, Arm's `smull`+`addp`). Sixteen int8 codes fill one `v128`; two
// `i16x8.extend_{low,high}_i8x16_s` widen them to two vectors of eight int16 values, and two
// `dot`s multiply them with sixteen weights: 16 multiply-adds in 5 instructions, where
// `f32x4.mul` + `f32x4.add` do 4 in 2. The products of int8 values fit in 16 bits, the pair
// sums in 32: no overflow, the int32 accumulation of Part 4 in hardware.
//
// The kernel below computes `out[m, n] = a[m, k] · b[n, k]ᵀ` exactly as your `matmulInt8`, with
// a **1 × 4 micro-kernel**: one row of `a` is loaded and widened once per 16 codes of depth, and
// used against 4 rows of `b` (4 output channels), with 4 `i32x4` accumulators. Its **twin**,
// `gemmF32`, is the same loop on float32 (4 values per `v128`), so the comparison between them is
// INT8 against float32 and nothing else: same layout, same blocking, same memory handling.
// Rows are padded with zeros to a multiple of 16 codes (4 floats), and `b` to a multiple of 4
// rows, so the loops have no edge cases; zeros add nothing to a dot product.
//
// Weights are copied into WebAssembly memory **once** and stay there (keyed by the weight
// array, which a quantized model never changes): a single-sample inference moves 784 input
// codes in, not 100 KB of weights. Module 18's float32 kernel packs both operands on every call
// instead, which is the right trade for two large matrices and the wrong one for a batch of
// one; `npm run bench:optimize` times all three side by side.

// %% nbgrader={"grade": false, "grade_id": "int8-gemm-wat", "locked": true, "schema_version": 3, "solution": false, "task": false}
//| export
/** The INT8 and float32 dot-product kernels in WebAssembly text (1 × 4 micro-kernels, see the lesson). */
const INT8_GEMM_WAT = `
(module
  (memory (export "memory") 1)

  ;; The sum of the four lanes of an accumulator: the last step of each dot product.
  (func $sumI32 (param $v v128) (result i32)
    (i32.add (i32.add (i32x4.extract_lane 0 (local.get $v)) (i32x4.extract_lane 1 (local.get $v)))
             (i32.add (i32x4.extract_lane 2 (local.get $v)) (i32x4.extract_lane 3 (local.get $v)))))
  (func $sumF32 (param $v v128) (result f32)
    (f32.add (f32.add (f32x4.extract_lane 0 (local.get $v)) (f32x4.extract_lane 1 (local.get $v)))
             (f32.add (f32x4.extract_lane 2 (local.get $v)) (f32x4.extract_lane 3 (local.get $v)))))

  ;; C[m, n] (int32, row-major at $c) = A[m, kp] (int8 rows at $a) . B[n, kp]^T (int8 rows at $b).
  ;; kp is a multiple of 16, n of 4. Each step of 16 codes: one row of A, widened once to two
  ;; i16x8 ($lo, $hi), against 16 codes of each of 4 rows of B (widened as they come), into 4
  ;; i32x4 accumulators. (Written out four times: a call per row of B cost half the speed.)
  (func (export "gemmI8") (param $a i32) (param $b i32) (param $c i32) (param $m i32) (param $n i32) (param $kp i32)
    (local $i i32) (local $j i32) (local $p i32) (local $row i32) (local $out i32)
    (local $b0 i32) (local $b1 i32) (local $b2 i32) (local $b3 i32)
    (local $s0 v128) (local $s1 v128) (local $s2 v128) (local $s3 v128) (local $v v128) (local $lo v128) (local $hi v128)
    (local.set $out (local.get $c))
    (block $rowsDone (loop $rowLoop
      (br_if $rowsDone (i32.ge_u (local.get $i) (local.get $m)))
      (local.set $row (i32.add (local.get $a) (i32.mul (local.get $i) (local.get $kp))))
      (local.set $j (i32.const 0))
      (block $colsDone (loop $colLoop
        (br_if $colsDone (i32.ge_u (local.get $j) (local.get $n)))
        (local.set $b0 (i32.add (local.get $b) (i32.mul (local.get $j) (local.get $kp))))
        (local.set $b1 (i32.add (local.get $b0) (local.get $kp)))
        (local.set $b2 (i32.add (local.get $b1) (local.get $kp)))
        (local.set $b3 (i32.add (local.get $b2) (local.get $kp)))
        (local.set $s0 (v128.const i32x4 0 0 0 0))
        (local.set $s1 (v128.const i32x4 0 0 0 0))
        (local.set $s2 (v128.const i32x4 0 0 0 0))
        (local.set $s3 (v128.const i32x4 0 0 0 0))
        (local.set $p (i32.const 0))
        (block $depthDone (loop $depthLoop
          (br_if $depthDone (i32.ge_u (local.get $p) (local.get $kp)))
          (local.set $v (v128.load (i32.add (local.get $row) (local.get $p))))
          (local.set $lo (i16x8.extend_low_i8x16_s (local.get $v)))
          (local.set $hi (i16x8.extend_high_i8x16_s (local.get $v)))
          (local.set $v (v128.load (i32.add (local.get $b0) (local.get $p))))
          (local.set $s0 (i32x4.add (local.get $s0) (i32x4.add
            (i32x4.dot_i16x8_s (local.get $lo) (i16x8.extend_low_i8x16_s (local.get $v)))
            (i32x4.dot_i16x8_s (local.get $hi) (i16x8.extend_high_i8x16_s (local.get $v))))))
          (local.set $v (v128.load (i32.add (local.get $b1) (local.get $p))))
          (local.set $s1 (i32x4.add (local.get $s1) (i32x4.add
            (i32x4.dot_i16x8_s (local.get $lo) (i16x8.extend_low_i8x16_s (local.get $v)))
            (i32x4.dot_i16x8_s (local.get $hi) (i16x8.extend_high_i8x16_s (local.get $v))))))
          (local.set $v (v128.load (i32.add (local.get $b2) (local.get $p))))
          (local.set $s2 (i32x4.add (local.get $s2) (i32x4.add
            (i32x4.dot_i16x8_s (local.get $lo) (i16x8.extend_low_i8x16_s (local.get $v)))
            (i32x4.dot_i16x8_s (local.get $hi) (i16x8.extend_high_i8x16_s (local.get $v))))))
          (local.set $v (v128.load (i32.add (local.get $b3) (local.get $p))))
          (local.set $s3 (i32x4.add (local.get $s3) (i32x4.add
            (i32x4.dot_i16x8_s (local.get $lo) (i16x8.extend_low_i8x16_s (local.get $v)))
            (i32x4.dot_i16x8_s (local.get $hi) (i16x8.extend_high_i8x16_s (local.get $v))))))
          (local.set $p (i32.add (local.get $p) (i32.const 16)))
          (br $depthLoop)))
        (i32.store offset=0 (local.get $out) (call $sumI32 (local.get $s0)))
        (i32.store offset=4 (local.get $out) (call $sumI32 (local.get $s1)))
        (i32.store offset=8 (local.get $out) (call $sumI32 (local.get $s2)))
        (i32.store offset=12 (local.get $out) (call $sumI32 (local.get $s3)))
        (local.set $out (i32.add (local.get $out) (i32.const 16)))
        (local.set $j (i32.add (local.get $j) (i32.const 4)))
        (br $colLoop)))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br $rowLoop))))

  ;; The float32 twin: C[m, n] (f32) = A[m, kp] (f32 rows) . B[n, kp]^T (f32 rows), kp a multiple
  ;; of 4 floats, n of 4; each step of 4 floats: 1 row of A against 4 rows of B.
  (func (export "gemmF32") (param $a i32) (param $b i32) (param $c i32) (param $m i32) (param $n i32) (param $kp i32)
    (local $i i32) (local $j i32) (local $p i32) (local $row i32) (local $out i32) (local $kb i32)
    (local $b0 i32) (local $b1 i32) (local $b2 i32) (local $b3 i32)
    (local $s0 v128) (local $s1 v128) (local $s2 v128) (local $s3 v128) (local $v v128)
    (local.set $kb (i32.shl (local.get $kp) (i32.const 2)))
    (local.set $out (local.get $c))
    (block $rowsDone (loop $rowLoop
      (br_if $rowsDone (i32.ge_u (local.get $i) (local.get $m)))
      (local.set $row (i32.add (local.get $a) (i32.mul (local.get $i) (local.get $kb))))
      (local.set $j (i32.const 0))
      (block $colsDone (loop $colLoop
        (br_if $colsDone (i32.ge_u (local.get $j) (local.get $n)))
        (local.set $b0 (i32.add (local.get $b) (i32.mul (local.get $j) (local.get $kb))))
        (local.set $b1 (i32.add (local.get $b0) (local.get $kb)))
        (local.set $b2 (i32.add (local.get $b1) (local.get $kb)))
        (local.set $b3 (i32.add (local.get $b2) (local.get $kb)))
        (local.set $s0 (v128.const i32x4 0 0 0 0))
        (local.set $s1 (v128.const i32x4 0 0 0 0))
        (local.set $s2 (v128.const i32x4 0 0 0 0))
        (local.set $s3 (v128.const i32x4 0 0 0 0))
        (local.set $p (i32.const 0))
        (block $depthDone (loop $depthLoop
          (br_if $depthDone (i32.ge_u (local.get $p) (local.get $kb)))
          (local.set $v (v128.load (i32.add (local.get $row) (local.get $p))))
          (local.set $s0 (f32x4.add (local.get $s0) (f32x4.mul (local.get $v) (v128.load (i32.add (local.get $b0) (local.get $p))))))
          (local.set $s1 (f32x4.add (local.get $s1) (f32x4.mul (local.get $v) (v128.load (i32.add (local.get $b1) (local.get $p))))))
          (local.set $s2 (f32x4.add (local.get $s2) (f32x4.mul (local.get $v) (v128.load (i32.add (local.get $b2) (local.get $p))))))
          (local.set $s3 (f32x4.add (local.get $s3) (f32x4.mul (local.get $v) (v128.load (i32.add (local.get $b3) (local.get $p))))))
          (local.set $p (i32.add (local.get $p) (i32.const 16)))
          (br $depthLoop)))
        (f32.store offset=0 (local.get $out) (call $sumF32 (local.get $s0)))
        (f32.store offset=4 (local.get $out) (call $sumF32 (local.get $s1)))
        (f32.store offset=8 (local.get $out) (call $sumF32 (local.get $s2)))
        (f32.store offset=12 (local.get $out) (call $sumF32 (local.get $s3)))
        (local.set $out (i32.add (local.get $out) (i32.const 16)))
        (local.set $j (i32.add (local.get $j) (i32.const 4)))
        (br $colLoop)))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br $rowLoop))))

  ;; codes = clamp(nearest(x / scale) + zeroPoint) for $count floats at $src (a multiple of 16),
  ;; 16 at a time, into int8 at $dst. The two saturating narrows (i32 -> i16 -> i8) are the clamp.
  ;; f32x4.nearest rounds halves to even and divides in float32, so a value within a rounding
  ;; error of a half step may get the neighbouring code of your quantize: both are within half
  ;; a step of the value.
  (func (export "quantizeF32") (param $src i32) (param $dst i32) (param $count i32) (param $scale f32) (param $zp i32)
    (local $s v128) (local $z v128) (local $end i32)
    (local.set $s (f32x4.splat (local.get $scale)))
    (local.set $z (i32x4.splat (local.get $zp)))
    (local.set $end (i32.add (local.get $src) (i32.shl (local.get $count) (i32.const 2))))
    (block $done (loop $step
      (br_if $done (i32.ge_u (local.get $src) (local.get $end)))
      (v128.store (local.get $dst)
        (i8x16.narrow_i16x8_s
          (i16x8.narrow_i32x4_s
            (i32x4.add (local.get $z) (i32x4.trunc_sat_f32x4_s (f32x4.nearest (f32x4.div (v128.load offset=0 (local.get $src)) (local.get $s)))))
            (i32x4.add (local.get $z) (i32x4.trunc_sat_f32x4_s (f32x4.nearest (f32x4.div (v128.load offset=16 (local.get $src)) (local.get $s))))))
          (i16x8.narrow_i32x4_s
            (i32x4.add (local.get $z) (i32x4.trunc_sat_f32x4_s (f32x4.nearest (f32x4.div (v128.load offset=32 (local.get $src)) (local.get $s)))))
            (i32x4.add (local.get $z) (i32x4.trunc_sat_f32x4_s (f32x4.nearest (f32x4.div (v128.load offset=48 (local.get $src)) (local.get $s))))))))
      (local.set $src (i32.add (local.get $src) (i32.const 64)))
      (local.set $dst (i32.add (local.get $dst) (i32.const 16)))
      (br $step))))
)
`;

// %% [markdown]
// The plumbing, given: `loadInt8SimdKernel` assembles the text with `wabt` and instantiates it,
// and never throws (it returns the reason instead, as module 18's loader does). `KernelMemory`
// keeps each weight matrix resident in WebAssembly memory after its first use, with scratch
// space for the activations after the weights. `simdMatmulInt8` and `simdMatmulF32` are the two
// kernels behind the same contracts as your TypeScript ones. `PackedLinear` is the float32
// twin of `QuantizedLinear`: the same layer with its weights stored `[out, in]` in float32,
// for comparisons that change one thing at a time. `enableInt8Simd()` plugs the SIMD kernels
// into both layers' slots; `disableInt8Simd()` puts the TypeScript loops back.

// %% nbgrader={"grade": false, "grade_id": "int8-simd-plumbing", "locked": true, "schema_version": 3, "solution": false, "task": false}
//| export
/** The parts of the WebAssembly API used here (the kit's TypeScript lib has no DOM types). */
interface Int8WasmApi {
  validate(bytes: Uint8Array): boolean;
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: object) => { readonly exports: Record<string, unknown> };
}

/** An instance of INT8_GEMM_WAT. Offsets are in bytes. */
interface Int8SimdKernel {
  readonly memory: { readonly buffer: ArrayBuffer; grow(pages: number): number };
  gemmI8(a: number, b: number, c: number, m: number, n: number, kp: number): void;
  gemmF32(a: number, b: number, c: number, m: number, n: number, kp: number): void;
  quantizeF32(src: number, dst: number, count: number, scale: number, zeroPoint: number): void;
}

type Int8SimdLoad = { kernel: Int8SimdKernel; reason?: undefined } | { kernel: null; reason: string };

/** `(module (func (result v128) (i32x4.splat (i32.const 0))))`, assembled: valid only with SIMD. */
const INT8_SIMD_PROBE = Uint8Array.from([0, 97, 115, 109, 1, 0, 0, 0, 1, 5, 1, 96, 0, 1, 123, 3, 2, 1, 0, 10, 8, 1, 6, 0, 65, 0, 253, 17, 11]);

/** Assembles and instantiates INT8_GEMM_WAT; never throws, says why instead. */
async function loadInt8SimdKernel(
  api: Int8WasmApi | null = (globalThis as { WebAssembly?: Int8WasmApi }).WebAssembly ?? null,
): Promise<Int8SimdLoad> {
  if (!api) return { kernel: null, reason: "this runtime has no WebAssembly" };
  if (!api.validate(INT8_SIMD_PROBE)) return { kernel: null, reason: "this runtime's WebAssembly has no 128-bit SIMD" };
  let bytes: Uint8Array;
  try {
    const wabt = await wabtInit();
    const module = wabt.parseWat("int8-gemm.wat", INT8_GEMM_WAT, { simd: true });
    try {
      bytes = module.toBinary({}).buffer;
    } finally {
      module.destroy();
    }
  } catch (e) {
    return { kernel: null, reason: `wabt could not assemble the INT8 kernel (${e instanceof Error ? e.message : String(e)})` };
  }
  try {
    const { exports } = new api.Instance(new api.Module(bytes), {});
    return { kernel: exports as unknown as Int8SimdKernel };
  } catch (e) {
    return { kernel: null, reason: `WebAssembly could not instantiate the INT8 kernel (${e instanceof Error ? e.message : String(e)})` };
  }
}

/** Resident copies beyond this many bytes are dropped (and made again when next used). */
const RESIDENT_LIMIT_BYTES = 256 << 20;

/** A kernel's WebAssembly memory: weights placed once and kept, scratch space after them. */
class KernelMemory {
  private top = 0;
  private resident = new WeakMap<object, number>();

  constructor(private readonly kernel: Int8SimdKernel) {}

  /** The offset of `key`'s resident copy: `write` fills `bytes` at it the first time. */
  residentOffset(key: object, bytes: number, write: (buffer: ArrayBuffer, offset: number) => void): number {
    const known = this.resident.get(key);
    if (known !== undefined) return known;
    if (this.top + bytes > RESIDENT_LIMIT_BYTES) {
      this.resident = new WeakMap(); // start over: every layer is copied in again when next used
      this.top = 0;
    }
    const offset = align16(this.top);
    this.reserve(offset + bytes);
    write(this.kernel.memory.buffer, offset);
    this.top = offset + bytes;
    this.resident.set(key, offset);
    return offset;
  }

  /** The offset of `bytes` of scratch space, valid until the next call. */
  scratch(bytes: number): number {
    const offset = align16(this.top);
    this.reserve(offset + bytes);
    return offset;
  }

  private reserve(bytes: number): void {
    const have = this.kernel.memory.buffer.byteLength;
    if (have < bytes) this.kernel.memory.grow(Math.ceil((bytes - have) / 65536));
  }
}

function align16(bytes: number): number {
  return Math.ceil(bytes / 16) * 16;
}

/** One KernelMemory per kernel instance: every wrapper of it must share the same placements. */
const kernelMemories = new WeakMap<Int8SimdKernel, KernelMemory>();

function memoryOf(kernel: Int8SimdKernel): KernelMemory {
  let memory = kernelMemories.get(kernel);
  if (memory === undefined) {
    memory = new KernelMemory(kernel);
    kernelMemories.set(kernel, memory);
  }
  return memory;
}

/** The SIMD INT8 kernel behind the Int8Matmul contract; `b` (the weights) stays resident. */
function simdMatmulInt8(kernel: Int8SimdKernel): Int8Matmul {
  const memory = memoryOf(kernel);
  return (a, m, k, b, n, out) => {
    if (m === 0 || n === 0) return;
    if (a.length < m * k || b.length < n * k || out.length < m * n) throw new Error("simdMatmulInt8: operands too short");
    const kp = Math.max(16, Math.ceil(k / 16) * 16);
    const np = Math.ceil(n / 4) * 4;
    const bAt = memory.residentOffset(b, np * kp, (buffer, at) => {
      const dest = new Int8Array(buffer, at, np * kp).fill(0);
      for (let j = 0; j < n; j++) dest.set(b.subarray(j * k, (j + 1) * k), j * kp);
    });
    const aBytes = align16(m * kp);
    const aAt = memory.scratch(aBytes + 4 * m * np);
    const cAt = aAt + aBytes;
    const buffer = kernel.memory.buffer; // after any growth: a grown memory has a new buffer
    const aDest = new Int8Array(buffer, aAt, m * kp);
    if (kp === k) aDest.set(a.subarray(0, m * k));
    else {
      aDest.fill(0);
      for (let i = 0; i < m; i++) aDest.set(a.subarray(i * k, (i + 1) * k), i * kp);
    }
    kernel.gemmI8(aAt, bAt, cAt, m, np, kp);
    const c = new Int32Array(buffer, cAt, m * np);
    if (np === n) out.set(c);
    else for (let i = 0; i < m; i++) out.set(c.subarray(i * np, i * np + n), i * n);
  };
}

/** `quantize` in WebAssembly SIMD: the same codes, up to ties and float32 rounding (see the WAT). */
function simdQuantize(kernel: Int8SimdKernel): (values: ArrayLike<number>, p: QuantParams) => Int8Array {
  const memory = memoryOf(kernel);
  return (values, p) => {
    const count = values.length;
    const padded = Math.ceil(count / 16) * 16;
    const at = memory.scratch(5 * padded);
    const buffer = kernel.memory.buffer;
    const src = new Float32Array(buffer, at, padded);
    src.set(values);
    src.fill(0, count);
    kernel.quantizeF32(at, at + 4 * padded, padded, p.scale, p.zeroPoint);
    return new Int8Array(buffer, at + 4 * padded, count).slice();
  };
}

/** out[m, n] = a[m, k] · bT[n, k]ᵀ in float32: the float twin of Int8Matmul (bT: weights [out, in]). */
type PackedMatmul = (a: Float32Array, m: number, k: number, bT: Float32Array, n: number, out: Float32Array) => void;

/** The float32 twin of matmulInt8 in TypeScript: dot products of contiguous rows. */
function matmulPackedF32(a: Float32Array, m: number, k: number, bT: Float32Array, n: number, out: Float32Array): void {
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) {
      let sum = 0;
      for (let p = 0; p < k; p++) sum += a[i * k + p] * bT[j * k + p];
      out[i * n + j] = sum;
    }
  }
}

/** The SIMD float32 twin (gemmF32) behind the PackedMatmul contract; `bT` stays resident. */
function simdMatmulF32(kernel: Int8SimdKernel): PackedMatmul {
  const memory = memoryOf(kernel);
  return (a, m, k, bT, n, out) => {
    if (m === 0 || n === 0) return;
    if (a.length < m * k || bT.length < n * k || out.length < m * n) throw new Error("simdMatmulF32: operands too short");
    const kp = Math.max(4, Math.ceil(k / 4) * 4);
    const np = Math.ceil(n / 4) * 4;
    const bAt = memory.residentOffset(bT, 4 * np * kp, (buffer, at) => {
      const dest = new Float32Array(buffer, at, np * kp).fill(0);
      for (let j = 0; j < n; j++) dest.set(bT.subarray(j * k, (j + 1) * k), j * kp);
    });
    const aAt = memory.scratch(4 * m * kp + 4 * m * np);
    const cAt = aAt + 4 * m * kp;
    const buffer = kernel.memory.buffer;
    const aDest = new Float32Array(buffer, aAt, m * kp);
    if (kp === k) aDest.set(a.subarray(0, m * k));
    else {
      aDest.fill(0);
      for (let i = 0; i < m; i++) aDest.set(a.subarray(i * k, (i + 1) * k), i * kp);
    }
    kernel.gemmF32(aAt, bAt, cAt, m, np, kp);
    const c = new Float32Array(buffer, cAt, m * np);
    if (np === n) out.set(c);
    else for (let i = 0; i < m; i++) out.set(c.subarray(i * np, i * np + n), i * n);
  };
}

/** The float32 kernel PackedLinear uses: null means matmulPackedF32 (TypeScript). */
const packedBackend: { current: PackedMatmul | null } = { current: null };

/** A float32 Linear with its weights stored [out, in] (the twin of QuantizedLinear, for comparisons). */
class PackedLinear extends Layer {
  readonly inFeatures: number;
  readonly outFeatures: number;
  /** The weights transposed: row j = output channel j. */
  readonly weightT: Float32Array;
  readonly bias: Float32Array | null;

  constructor(linear: Linear) {
    super();
    const [inF, outF] = linear.weight.shape;
    this.inFeatures = inF;
    this.outFeatures = outF;
    this.weightT = new Float32Array(inF * outF);
    for (let i = 0; i < inF; i++) for (let j = 0; j < outF; j++) this.weightT[j * inF + i] = linear.weight.data[i * outF + j];
    this.bias = linear.bias === null ? null : Float32Array.from(linear.bias.data);
    this.eval();
  }

  forward(x: Tensor): Tensor {
    const k = this.inFeatures;
    const n = this.outFeatures;
    if (x.ndim === 0 || x.shape[x.ndim - 1] !== k) throw new Error(`PackedLinear(${k} -> ${n}): bad input shape [${x.shape.join(", ")}]`);
    const m = x.size / k;
    const out = new Float32Array(m * n);
    (packedBackend.current ?? matmulPackedF32)(x.data, m, k, this.weightT, n, out);
    if (this.bias !== null) for (let e = 0; e < m * n; e++) out[e] += this.bias[e % n];
    return new Tensor(out, [...x.shape.slice(0, -1), n]);
  }
}

/** A copy of `model` with every Linear replaced by its PackedLinear twin. */
function packModel(model: Sequential): Sequential {
  return new Sequential(model.layers.map((layer) => (layer instanceof Linear ? new PackedLinear(layer) : layer)));
}

/** Which kernels enableInt8Simd installed, and why not the SIMD ones if it did not. */
interface Int8SimdStatus {
  backend: "wasm-simd" | "typescript";
  reason?: string;
}

const int8SimdState: { load: Promise<Int8SimdLoad> | null; announced: Set<string> } = { load: null, announced: new Set() };

/**
 * Makes QuantizedLinear and PackedLinear use the WebAssembly SIMD kernels, or keeps the
 * TypeScript loops where SIMD cannot load (printing the reason once).
 */
async function enableInt8Simd(options: { log?: (message: string) => void } = {}): Promise<Int8SimdStatus> {
  const load = await (int8SimdState.load ??= loadInt8SimdKernel());
  if (load.kernel) {
    int8Backend.quantize = simdQuantize(load.kernel);
    int8Backend.matmul = simdMatmulInt8(load.kernel);
    packedBackend.current = simdMatmulF32(load.kernel);
    return { backend: "wasm-simd" };
  }
  disableInt8Simd();
  if (!int8SimdState.announced.has(load.reason)) {
    int8SimdState.announced.add(load.reason);
    (options.log ?? console.warn)(`tinytorch-ts: ${load.reason}; INT8 layers use the TypeScript kernels instead`);
  }
  return { backend: "typescript", reason: load.reason };
}

/** Puts the TypeScript kernels back behind QuantizedLinear and PackedLinear. */
function disableInt8Simd(): void {
  int8Backend.quantize = null;
  int8Backend.matmul = null;
  packedBackend.current = null;
}

// %% [markdown]
// First, are the SIMD kernels right? Against your TypeScript kernels on awkward shapes (depths
// that are not multiples of 16, 10 channels, a single row), INT8 must agree exactly, float32 up
// to the order of its sums. Then the race, at the digits MLP's two layers, for one example and
// for a batch of 64: GOP/s counts a multiply-add as 2 operations, as GFLOP/s does. Every
// kernel is timed round by round, interleaved, and the median of the rounds is shown: the
// machine may be shared.

// %%
await demo("the SIMD kernels: right, then fast", async () => {
  const load = await loadInt8SimdKernel();
  if (!load.kernel) {
    console.log(`SIMD kernels unavailable: ${load.reason}`);
    return;
  }
  const int8Simd = simdMatmulInt8(load.kernel);
  const f32Simd = simdMatmulF32(load.kernel);
  const codes = (count: number, seed: number): Int8Array => Int8Array.from(Tensor.rand([count], seed).data, (u) => Math.floor(256 * u) - 128);
  for (const [m, k, n] of [[1, 33, 10], [3, 784, 128], [5, 17, 7], [2, 128, 10]]) {
    const a = codes(m * k, m + k);
    const b = codes(n * k, n + k);
    const want = new Int32Array(m * n);
    const got = new Int32Array(m * n);
    matmulInt8(a, m, k, b, n, want);
    int8Simd(a, m, k, b, n, got);
    if (!want.every((v, i) => v === got[i])) throw new Error(`gemmI8 differs from matmulInt8 at [${m}, ${k}] · [${n}, ${k}]ᵀ`);
    const af = Float32Array.from(a);
    const bf = Float32Array.from(b);
    const gotF = new Float32Array(m * n);
    f32Simd(af, m, k, bf, n, gotF);
    if (!want.every((v, i) => Math.abs(v - gotF[i]) <= 1e-3 * Math.abs(v) + 1e-2)) throw new Error(`gemmF32 differs at [${m}, ${k}]`);
  }
  const values = Tensor.randn([1000], 7).data;
  const p = quantParams(-2, 2);
  const mine = quantize(values, p);
  const simd = simdQuantize(load.kernel)(values, p);
  const differ = mine.filter((q, i) => q !== simd[i]).length;
  if (mine.some((q, i) => Math.abs(q - simd[i]) > 1)) throw new Error("quantizeF32 differs from quantize by more than one code");
  console.log(`gemmI8 equals your matmulInt8 exactly, gemmF32 agrees, and quantizeF32 gives your codes (${differ} of 1000 one code apart: ties and float32 rounding)`);
  const median = (xs: number[]): number => [...xs].sort((x, y) => x - y)[xs.length >> 1];
  for (const [m, k, n] of [[1, 784, 128], [64, 784, 128], [1, 128, 10], [64, 128, 10]]) {
    const a = codes(m * k, 1);
    const b = codes(n * k, 2);
    const af = Float32Array.from(a, (v) => v / 128);
    const bf = Float32Array.from(b, (v) => v / 128);
    const outI = new Int32Array(m * n);
    const outF = new Float32Array(m * n);
    const kernels: [string, () => void][] = [
      ["TypeScript int8  ", () => matmulInt8(a, m, k, b, n, outI)],
      ["TypeScript f32   ", () => matmulPackedF32(af, m, k, bf, n, outF)],
      ["SIMD int8 (gemmI8)", () => int8Simd(a, m, k, b, n, outI)],
      ["SIMD f32 (gemmF32)", () => f32Simd(af, m, k, bf, n, outF)],
    ];
    const reps = Math.max(1, Math.round(2e6 / (m * k * n)));
    const times: number[][] = kernels.map(() => []);
    for (let round = 0; round < 7; round++) {
      kernels.forEach(([, run], i) => {
        const t0 = performance.now();
        for (let r = 0; r < reps; r++) run();
        times[i].push((performance.now() - t0) / reps);
      });
    }
    const line = kernels.map(([name], i) => `${name.trim()} ${((2 * m * k * n) / (median(times[i]) * 1e6)).toFixed(2)}`).join(", ");
    console.log(`[${m}, ${k}] · [${n}, ${k}]ᵀ, GOP/s: ${line}`);
  }
});

// %% [markdown]
// And the whole model, one digit at a time (the latency a phone app sees): the float32 MLP as
// module 01 runs it, its float32 twin with packed weights (`PackedLinear`) on `gemmF32`, and the
// INT8 model on `gemmI8`, twice: with your TypeScript `quantize` in front of the kernel, and with
// `quantizeF32`, the same conversion in WebAssembly SIMD.
//
// Expect a surprise in the third line. Once the matmul runs at SIMD speed, the 784 divisions,
// roundings and clamps of `quantize` in TypeScript cost about as much as the 100,352
// multiply-adds of the integer matmul, and the INT8 model is no faster than the float32 one:
// Amdahl's law, as in module 18, where packing took a third of the call once the loop was fast.
// `quantizeF32` does 16 values per step, and its two saturating narrows (int32 → int16 → int8)
// are the clamp, for free. `enableInt8Simd()` installs both kernels.

// %%
await demo("one digit at a time", async () => {
  const { model, split } = trainedDigitsMlp();
  const status = await enableInt8Simd();
  if (status.backend !== "wasm-simd") {
    console.log(`no SIMD here (${status.reason}): the INT8 layers run your TypeScript kernels`);
    return;
  }
  const simdQuantizeKernel = int8Backend.quantize;
  try {
    const packed = packModel(model).eval();
    const int8 = quantizeModel(model, calibrationBatches(split)).eval();
    const digits = Array.from({ length: 200 }, (_, i) => new Tensor(split.test.x.data.slice(i * 784, (i + 1) * 784), [1, 784]));
    const median = (xs: number[]): number => [...xs].sort((x, y) => x - y)[xs.length >> 1];
    const runs: [string, () => void][] = [
      ["float32, module 01's matmul", () => undefined],
      ["float32 packed, gemmF32", () => undefined],
      ["INT8 gemmI8, TypeScript quantize", () => (int8Backend.quantize = null)],
      ["INT8 gemmI8, quantizeF32", () => (int8Backend.quantize = simdQuantizeKernel)],
    ];
    const nets = [model, packed, int8, int8];
    const times: number[][] = runs.map(() => []);
    noGrad(() => {
      for (let round = 0; round < 5; round++) {
        runs.forEach(([, setup], i) => {
          setup();
          for (const d of digits) {
            const t0 = performance.now();
            nets[i].forward(d);
            times[i].push(performance.now() - t0);
          }
        });
      }
    });
    runs.forEach(([name], i) => console.log(`${name.padEnd(34)} median ${(1000 * median(times[i])).toFixed(1)} µs per digit`));
  } finally {
    disableInt8Simd();
  }
});

// %% [markdown]
// ## Reflection
//
// Two written answers, graded by hand. Use the figures your demos printed: a number measured
// on this machine is worth more than a general statement.

// %% [markdown] nbgrader={"grade": true, "grade_id": "reflect-ranges", "locked": false, "points": 2, "schema_version": 3, "solution": true, "task": false}
// **Question 1.** The layers here quantize their *inputs* per tensor with a zero point
// (asymmetric), and their *weights* per output channel. Explain why each choice fits the tensor
// it is used for, and what would go wrong with a single symmetric scale (zero point 0) for the
// activations after a ReLU, and with a single scale for all the weights.
//
// ### BEGIN SOLUTION
// After a ReLU every activation is ≥ 0, so the range is [0, max]. With a zero point of −128
// all 256 codes cover [0, max]: a step of max/255. A symmetric scale (zero point 0, ±max)
// spends the 128 negative codes on values that never occur, so the step doubles (max/127) and
// the error with it. Inputs also change with every example, so one calibrated range per tensor
// is all one can know in advance; a per-channel input scale would also break the single integer
// matmul (the scale would vary along the summed axis).
// Weights are fixed, and their output channels differ in size: one scale for the whole matrix is
// set by the largest weight anywhere, so the small channels get only a few codes (the demo's
// small channels had several times the error per tensor than per channel). A scale per output
// channel costs 8 bytes per channel and fits the algebra, because each channel's scale
// multiplies its whole dot product once, after the integer sum.
// ### END SOLUTION
//
// ### BEGIN RUBRIC
// 1 point: activations: ReLU outputs are non-negative, so an asymmetric range (zero point −128)
// uses all 256 codes; symmetric wastes half of them (step twice as large). 1 point: weights:
// channels have different ranges, one scale is set by the largest and costs the small channels
// precision; per channel fixes it cheaply (a scale per output, applied after the sum). Half a
// point each if the reason is stated without the consequence.
// ### END RUBRIC

// %% [markdown] nbgrader={"grade": true, "grade_id": "reflect-speed", "locked": false, "points": 2, "schema_version": 3, "solution": true, "task": false}
// **Question 2.** Your TypeScript `matmulInt8` is no faster than the float32 loop of the same
// shape, yet `gemmI8` beats its float32 twin `gemmF32`. Explain both observations with the
// instructions each loop executes, and describe one situation in which an INT8 model would
// still not be faster than the float32 one, even with the SIMD kernel.
//
// ### BEGIN SOLUTION
// In JavaScript both loops execute the same scalar instructions: each `a[p] * b[p]` loads two
// elements, converts them to doubles and does one multiply and one add; 8-bit storage only
// changes the loads, and the layer's weights (100 KB or 400 KB) come from the L2 cache either
// way, so the loop is bound by instructions, not by bytes. In WebAssembly SIMD one v128 holds 16
// int8 codes but only 4 floats: after two widening instructions, two `i32x4.dot_i16x8_s` do 16
// multiply-adds, where `f32x4.mul` and `f32x4.add` do 4 in two instructions. So gemmI8 does
// about twice the work per instruction (the demo measured roughly 2×), and reads a quarter of
// the bytes.
// INT8 does not pay when the matmul is not where the time goes: a tiny layer (10 outputs) whose
// cost is the call, quantizing the input and dequantizing the output; a model dominated by
// element-wise work or by the framework's overhead; or a processor without such instructions
// (no SIMD: the TypeScript fallback), where the extra quantize/dequantize steps make it slower.
// ### END SOLUTION
//
// ### BEGIN RUBRIC
// 1 point: TypeScript: no 8-bit arithmetic, the same scalar multiply-add per element either way
// (bytes saved do not matter when the data is in cache). 1 point: SIMD: more int8 lanes per
// 128-bit register and a dot-product instruction (about twice the multiply-adds per instruction)
// AND one valid case where INT8 is not faster (small layers or overhead-dominated inference,
// quantize/dequantize cost, no SIMD). Half a point for a correct explanation without the
// instruction-level reason.
// ### END RUBRIC

// %% [markdown]
// ## Module test
// The whole path on random models: `quantizeModel` on a random MLP with random calibration
// batches, its file written and read back (`encodeQuantizedModel` refuses a model that still has
// a float Linear), the size of that file, and the quantized model's outputs against the float
// model's, within the error its ranges allow.

// %% nbgrader={"grade": true, "grade_id": "test-module-quantization", "locked": true, "points": 4, "schema_version": 3, "solution": false, "task": false}
function testModule(): void {
  const rt = testRandom("15/module");
  const [inF, hidden, outF] = [rt.int(20, 80), rt.int(16, 48), rt.int(3, 10)];
  const first = new Linear(inF, hidden, { seed: rt.seed() });
  const second = new Linear(hidden, outF, { seed: rt.seed() });
  const model = new Sequential([first, new ReLU(), second]);
  const calib = Array.from({ length: 3 }, () => new Tensor(Float32Array.from(rt.numbers(16 * inF, 0, 1)), [16, inF]));
  const q = quantizeModel(model, calib).eval();
  const bytes = encodeQuantizedModel(q);
  assertEqual(
    bytes.length,
    12 + 20 + Math.ceil((inF * hidden) / 4) * 4 + 12 * hidden + 20 + Math.ceil((hidden * outF) / 4) * 4 + 12 * outF,
    "the file's size, from the format",
  );
  const floatBytes = encodeCheckpoint(model.parameters()).length;
  assert(floatBytes / bytes.length > 2, `INT8 is more than twice smaller: ${floatBytes} against ${bytes.length} bytes`);
  // ### BEGIN HIDDEN TESTS
  const decoded = decodeQuantizedModel(bytes);
  assertEqual(decoded.length, 2, "two layers read back");
  const reread = new Sequential([decoded[0], new ReLU(), decoded[1]]).eval();
  const x = new Tensor(Float32Array.from(rt.numbers(5 * inF, 0, 1)), [5, inF]);
  const y = q.forward(x);
  assertEqual(Array.from(reread.forward(x).data), Array.from(y.data), "the model read back from its file gives the same outputs");
  assertEqual(Array.from((decoded[0] as QuantizedLinear).weight), Array.from((q.layers[0] as QuantizedLinear).weight), "codes survive the file");
  assertThrows(() => decodeQuantizedModel(bytes.subarray(0, bytes.length - 1)), "", "a truncated file");
  assertThrows(() => encodeQuantizedModel(model), "float Linear", "a float model is not an INT8 file");
  const floatOracle = (): number[] => {
    const out: number[] = [];
    for (let i = 0; i < 5; i++) {
      const h: number[] = [];
      for (let j = 0; j < hidden; j++) {
        let s = first.bias?.data[j] ?? 0;
        for (let p = 0; p < inF; p++) s += x.data[i * inF + p] * first.weight.data[p * hidden + j];
        h.push(Math.max(0, s));
      }
      for (let j = 0; j < outF; j++) {
        let s = second.bias?.data[j] ?? 0;
        for (let p = 0; p < hidden; p++) s += h[p] * second.weight.data[p * outF + j];
        out.push(s);
      }
    }
    return out;
  };
  const want = floatOracle();
  const spread = Math.max(...want.map(Math.abs));
  assertClose(Array.from(y.data), want, { rtol: 0, atol: 0.05 * spread }, "INT8 outputs within 5% of the output range of the float model's");
  // ### END HIDDEN TESTS
  passed("testModule (quantization)");
}
testModule();

// %% [markdown]
// ## Summary
//
// - **Affine INT8** maps a range `[lo, hi]` (extended to include 0) onto −128..127 with a scale
//   and an integer zero point; 0 is exact, and every value in range comes back within half a
//   step.
// - **Per-channel** scales for weights keep small output channels precise for 8 bytes per
//   channel; **asymmetric** ranges for activations spend every code on values that occur;
//   **calibration** finds those ranges on a few real batches.
// - The **integer matmul** accumulates in int32; zero points cost one row sum per input row and
//   one channel sum per layer, outside the inner loop.
// - **Real bytes**: the INT8 digits MLP file is 103,340 bytes against the float32 checkpoint's
//   407,140 (3.94×), and reads back to the same outputs.
// - **Real time** needs hardware support: in TypeScript the INT8 loop is no faster than the
//   float loop; with WebAssembly SIMD's `i32x4.dot_i16x8_s` it does about twice the
//   multiply-adds per instruction of float32 SIMD, on a quarter of the bytes. And then the
//   conversion around the kernel is the bottleneck: quantizing the input in TypeScript costs as
//   much as the SIMD matmul, until it moves into SIMD as well.
//
// Milestone 06 (`npx tito milestone 06`) puts the quantized digits model next to the float32
// baseline, a pruned model and a distilled one (module 16) in an MLPerf-style table, and
// `npm run bench:optimize` times these kernels against module 18's float32 kernel.
