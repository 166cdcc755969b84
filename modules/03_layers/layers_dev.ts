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
// # Module 03: Layers
//
// A neural network is a function built from smaller functions, **layers**, each of which owns
// some numbers it can learn: its **parameters**. In this module you build the three layers
// every network in this course is made of, plus the container that chains them:
//
// - `Linear`: `y = x W + b`, the workhorse. Almost all of a network's parameters and almost all
//   of its arithmetic are in layers like this one.
// - `Dropout`: randomly silences activations during training so the network cannot rely on any
//   single one.
// - `Sequential`: runs layers one after another and collects their parameters.
// - `countParameters`: how big is the model?
//
// ### What you will learn
// - why weights start as *scaled* random numbers, and what goes wrong with the wrong scale;
// - what a layer costs: parameters (memory) and FLOPs per example;
// - how dropout's "inverted" scaling keeps training and inference consistent;
// - how a common interface (`forward` + `parameters`) lets layers and activations compose.

// %%
//| default_exp core.layers

// %%
//| export
import { Rng, Tensor } from "tinytorch-ts/core/tensor";

// %% nbgrader={"grade": false, "grade_id": "layers-test-helpers", "locked": true, "schema_version": 3, "solution": false, "task": false}
// Notebook-only imports (not part of the package).
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
import { ReLU, Sigmoid, Softmax } from "tinytorch-ts/core/activations";

/** A pattern matching `text` literally: for messages that must quote a shape or a name. */
function literally(text: string): RegExp {
  return new RegExp(text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&"));
}

// %% [markdown]
// ## The `Module` interface and the `Layer` base class
//
// Everything that transforms a tensor in a network offers two methods:
//
// - `forward(x)`: compute the output for an input batch;
// - `parameters()`: the tensors an optimiser may change (empty for activations).
//
// That is the `Module` interface. TypeScript checks interfaces *structurally*, so the
// activation classes of module 02 are already `Module`s without knowing this interface exists.
//
// Some layers also behave differently while training and while being used (inference):
// dropout is active only in training, and batch normalisation (later) uses batch statistics
// only in training. The `Layer` base class carries a `training` flag and the `train()` / `eval()`
// switches. Both return the layer, so you can write `const model = new Sequential([...]).eval()`.

// %%
//| export
/** Anything that maps a tensor to a tensor and may own learnable tensors. */
interface Module {
  forward(x: Tensor): Tensor;
  parameters(): Tensor[];
}

/** Base class of layers: a training/inference switch and no parameters by default. */
abstract class Layer implements Module {
  /** True while training (the default); some layers, like Dropout, behave differently. */
  training = true;

  abstract forward(x: Tensor): Tensor;

  parameters(): Tensor[] {
    return [];
  }

  /** Switches to training behaviour. */
  train(): this {
    this.training = true;
    return this;
  }

  /** Switches to inference behaviour. */
  eval(): this {
    this.training = false;
    return this;
  }
}

// %% [markdown]
// ## Linear
//
// A linear (fully connected, or dense) layer maps `inFeatures` numbers to `outFeatures`
// numbers. For a batch `x` of shape `[batch, inFeatures]`:
//
// ```
// y = x @ W + b        W: [inFeatures, outFeatures]    b: [outFeatures]    y: [batch, outFeatures]
// ```
//
// Each output is a weighted sum of all inputs plus an offset. The bias broadcasts over the
// batch (module 01's broadcasting: `[batch, out] + [out]`). We store `W` as
// `[inFeatures, outFeatures]` so that the batch multiplies from the left with no transpose;
// PyTorch stores the transpose, `[out, in]`, and computes `x @ W.T`. Same maths, different
// layout.
//
// **Cost.** Parameters: `in*out + out`. A `Linear(784, 128)` (an MNIST image to 128 hidden
// units) has 100,480 parameters, 402 KB in float32. FLOPs: `2*batch*in*out` for the product plus
// `batch*out` for the bias. Memory traffic is dominated by `W` for small batches, which is why
// batching examples together makes better use of each weight read from memory.
//
// ### Initialisation
// If the weights start at zero, every output unit computes the same thing and receives the
// same update: they never become different. So weights start random. But the *scale* matters:
// each output sums `inFeatures` terms `x_i * w_i`. With independent inputs of variance 1 and
// weights of variance `s^2`, the output has variance `inFeatures * s^2`. With `s = 1` and 784
// inputs, outputs are ~28 times larger than inputs; after a few layers they overflow, or
// saturate every sigmoid. Choosing
//
// ```
// W ~ Normal(0, 1) * sqrt(1 / inFeatures)
// ```
//
// keeps the variance of each layer's output equal to its input's (LeCun initialisation).
// ReLU zeroes half the signal, so ReLU networks often use `sqrt(2 / inFeatures)` instead (He
// initialisation); Xavier/Glorot uses `sqrt(2 / (in + out))` to balance the forward and
// backward passes. We use LeCun's choice; the bias starts at zero.
//
// The generator is seeded (`options.seed`), so the same seed gives the same network: an
// experiment you can repeat exactly.
//
// ### Exercise 1: `Linear`
//
// **TODO**: Initialise `weight` and `bias` in the constructor, and compute `x @ W + b` in
// `forward`.
//
// **APPROACH**:
// 1. Constructor: draw the weight as a standard normal tensor of shape
//    `[inFeatures, outFeatures]` from the given `rng` (one `Tensor.randn` call, so that a seed
//    fixes every weight), then scale it. By which factor, so that its variance is
//    `1 / inFeatures`? (Scaling by `a` multiplies a variance by `a²`.) The bias starts at zero,
//    `[outFeatures]`, unless `options.bias` is `false`, in which case it is `null`. (The given
//    lines after yours mark both with `setRequiresGrad()`: they are the tensors module 06
//    computes gradients for.)
// 2. `forward`: check the input first. Its last axis must have `inFeatures` elements;
//    otherwise throw an `Error` whose message names the layer as `Linear(in -> out)` (for
//    example `Linear(4 -> 8)`) and gives `x`'s shape written like `[4, 5]`. Then compute
//    `x @ W + b` with the tensor operations of module 01, leaving out the bias when there is
//    none.
//
// **HINTS**:
// - Why check here, when `matmul` would throw anyway? Compare the two messages: which one
//   tells the user which layer of a deep network got the wrong input?
// - A 1-D input of shape `[inFeatures]` (a single example) works too: what does module 01's
//   matmul return for a vector on the left?

// %% nbgrader={"grade": false, "grade_id": "linear", "locked": false, "schema_version": 3, "solution": true, "task": false}
//| export
/** Options of a Linear layer. */
interface LinearOptions {
  /** Learn an additive bias (default true). */
  bias?: boolean;
  /** Seed of the weight initialisation (default: the shared generator, see manualSeed). */
  seed?: number;
}

/** y = x @ weight + bias, with weight [inFeatures, outFeatures] ~ N(0, 1/inFeatures). */
class Linear extends Layer {
  readonly inFeatures: number;
  readonly outFeatures: number;
  weight: Tensor;
  bias: Tensor | null;

  constructor(inFeatures: number, outFeatures: number, options: LinearOptions = {}) {
    super();
    for (const [name, value] of [
      ["inFeatures", inFeatures],
      ["outFeatures", outFeatures],
    ] as const) {
      if (!Number.isInteger(value) || value < 1) {
        throw new Error(`Linear: ${name} must be a positive integer, got ${value}`);
      }
    }
    this.inFeatures = inFeatures;
    this.outFeatures = outFeatures;
    const rng = options.seed === undefined ? Rng.shared : new Rng(options.seed);
    // ### BEGIN SOLUTION
    this.weight = Tensor.randn([inFeatures, outFeatures], rng).mul(Math.sqrt(1 / inFeatures));
    this.bias = options.bias === false ? null : Tensor.zeros([outFeatures]);
    // ### END SOLUTION
    // Parameters are what module 06's backward pass computes gradients for.
    this.weight.setRequiresGrad();
    this.bias?.setRequiresGrad();
  }

  forward(x: Tensor): Tensor {
    // ### BEGIN SOLUTION
    if (x.ndim === 0 || x.shape[x.ndim - 1] !== this.inFeatures) {
      throw new Error(
        `Linear(${this.inFeatures} -> ${this.outFeatures}) expects inputs whose last axis has ` +
          `${this.inFeatures} features, got shape [${x.shape.join(", ")}]`,
      );
    }
    const y = x.matmul(this.weight);
    return this.bias === null ? y : y.add(this.bias);
    // ### END SOLUTION
  }

  override parameters(): Tensor[] {
    return this.bias === null ? [this.weight] : [this.weight, this.bias];
  }
}

// %% nbgrader={"grade": true, "grade_id": "test-unit-linear", "locked": true, "points": 4, "schema_version": 3, "solution": false, "task": false}
function testUnitLinear(): void {
  const layer = new Linear(3, 2, { seed: 0 });
  assertShape(layer.weight.shape, [3, 2], "weight is [in, out]");
  assertShape((layer.bias as Tensor).shape, [2], "bias is [out]");
  assertEqual(layer.parameters().length, 2);
  const x = Tensor.ones([4, 3]);
  assertShape(layer.forward(x).shape, [4, 2], "[batch, in] -> [batch, out]");
  // With known weights the output is exact.
  layer.weight = new Tensor([
    [1, 0],
    [0, 1],
    [1, 1],
  ]);
  layer.bias = new Tensor([10, 20]);
  assertEqual(layer.forward(new Tensor([[1, 2, 3]])).toArray(), [[14, 25]]);
  // ### BEGIN HIDDEN TESTS
  assertThrows(() => layer.forward(Tensor.ones([4, 5])), literally("[4, 5]"), "wrong input size names the shape");
  assertThrows(() => layer.forward(Tensor.ones([4, 5])), literally("Linear(3 -> 2)"), "and the layer");
  assertThrows(() => new Linear(0, 3), "positive integer");
  // Seeds: same seed, same weights; different seeds differ.
  const a = new Linear(5, 4, { seed: 42 });
  const b = new Linear(5, 4, { seed: 42 });
  assertEqual(Array.from(a.weight.data), Array.from(b.weight.data), "same seed, same weights");
  assert(
    Array.from(new Linear(5, 4, { seed: 43 }).weight.data).join() !== Array.from(a.weight.data).join(),
    "different seeds, different weights",
  );
  assertEqual((a.bias as Tensor).toArray(), [0, 0, 0, 0], "bias starts at zero");
  // Scale: std of the weights ~ sqrt(1 / inFeatures).
  const wide = new Linear(400, 50, { seed: 1 });
  const w = wide.weight;
  const std = Math.sqrt(w.pow(2).mean().item());
  assertClose(std, Math.sqrt(1 / 400), { rtol: 0.05 }, "weight scale");
  assertClose(w.mean().item(), 0, { atol: 0.005 }, "weight mean");
  // Output variance is preserved for unit-variance inputs.
  const inputs = Tensor.randn([200, 400], 2);
  const outStd = Math.sqrt(wide.forward(inputs).pow(2).mean().item());
  assertClose(outStd, 1, { atol: 0.15 }, "variance preserved");
  // No bias.
  const nb = new Linear(3, 2, { bias: false, seed: 0 });
  assert(nb.bias === null, "bias: false");
  assertEqual(nb.parameters().length, 1);
  const single = new Tensor([1, -1, 2]);
  assertClose(nb.forward(single).toArray(), single.matmul(nb.weight).toArray(), {}, "1-D input");
  assertShape(nb.forward(Tensor.ones([2, 5, 3])).shape, [2, 5, 2], "extra leading axes");
  assertEqual([a.inFeatures, a.outFeatures], [5, 4]);
  assert(isInstance(a, Layer) && a.training, "a Layer, training by default");
  // Seeded: random sizes and seeds (initial weights are Tensor.randn(seed) scaled by
  // sqrt(1/in), the bias zeros or none), then random weights, biases and inputs (random leading
  // axes, a single example) and random wrong input widths.
  const rln = testRandom("layers/linear");
  const affineOracle = (
    xs: ArrayLike<number>,
    w: ArrayLike<number>,
    b: ArrayLike<number> | null,
    rows: number,
    inF: number,
    outF: number,
  ): number[] => {
    const out: number[] = [];
    for (let i = 0; i < rows; i++) {
      for (let j = 0; j < outF; j++) {
        let sum = b === null ? 0 : b[j];
        for (let k = 0; k < inF; k++) sum += xs[i * inF + k] * w[k * outF + j];
        out.push(sum);
      }
    }
    return out;
  };
  const initialOracle = (inF: number, outF: number, seed: number): number[] =>
    Array.from(Tensor.randn([inF, outF], seed).data, (v) => v * Math.sqrt(1 / inF));
  for (let c = 0; c < 4; c++) {
    const [inF, outF] = [rln.int(1, 8), rln.int(1, 8)];
    const seed = rln.seed();
    const withBias = c % 2 === 0;
    const lin = new Linear(inF, outF, withBias ? { seed } : { seed, bias: false });
    const what = `Linear(${inF}, ${outF}${withBias ? "" : ", no bias"}) from a random seed`;
    assertShape(lin.weight.shape, [inF, outF], what);
    assertClose(Array.from(lin.weight.data), initialOracle(inF, outF, seed), { rtol: 1e-6, atol: 1e-7 }, `initial weights of ${what}`);
    assertEqual(lin.bias === null ? null : Array.from(lin.bias.data), withBias ? new Array<number>(outF).fill(0) : null, "bias: zeros, or none");
    assertEqual(lin.parameters().length, withBias ? 2 : 1);
    const w = rln.numbers(inF * outF, -2, 2);
    const b = rln.numbers(outF, -2, 2);
    lin.weight = new Tensor(Float32Array.from(w), [inF, outF]);
    if (withBias) lin.bias = new Tensor(Float32Array.from(b), [outF]);
    const lead = rln.shape(rln.int(1, 3), 4, 1);
    const rows = lead.reduce((p, d) => p * d, 1);
    const xs = rln.numbers(rows * inF, -3, 3);
    const y = lin.forward(new Tensor(Float32Array.from(xs), [...lead, inF]));
    assertShape(y.shape, [...lead, outF], `random input [${lead}, ${inF}]`);
    assertClose(Array.from(y.data), affineOracle(xs, w, withBias ? b : null, rows, inF, outF), { rtol: 1e-5, atol: 1e-5 }, `x @ W + b with random values, ${what}`);
    const one = rln.numbers(inF, -3, 3);
    const y1 = lin.forward(new Tensor(one));
    assertShape(y1.shape, [outF], "a single random example");
    assertClose(Array.from(y1.data), affineOracle(one, w, withBias ? b : null, 1, inF, outF), { rtol: 1e-5, atol: 1e-5 }, "a single random example");
    const wrong = [rln.int(1, 4), inF + rln.int(1, 3)];
    assertThrows(() => lin.forward(Tensor.ones(wrong)), literally(`[${wrong.join(", ")}]`), "a random wrong width is named");
    assertThrows(() => lin.forward(Tensor.ones(wrong)), literally(`Linear(${inF} -> ${outF})`), "and so is the layer");
  }
  // ### END HIDDEN TESTS
  passed("testUnitLinear");
}
testUnitLinear();

// %%
//| mutation linear weights drawn from N(0, 1) without the sqrt(1 / in) scale
interface LinearOptions {
  bias?: boolean;
  seed?: number;
}

class Linear extends Layer {
  readonly inFeatures: number;
  readonly outFeatures: number;
  weight: Tensor;
  bias: Tensor | null;

  constructor(inFeatures: number, outFeatures: number, options: LinearOptions = {}) {
    super();
    for (const [name, value] of [
      ["inFeatures", inFeatures],
      ["outFeatures", outFeatures],
    ] as const) {
      if (!Number.isInteger(value) || value < 1) {
        throw new Error(`Linear: ${name} must be a positive integer, got ${value}`);
      }
    }
    this.inFeatures = inFeatures;
    this.outFeatures = outFeatures;
    const rng = options.seed === undefined ? Rng.shared : new Rng(options.seed);
    this.weight = Tensor.randn([inFeatures, outFeatures], rng);
    this.bias = options.bias === false ? null : Tensor.zeros([outFeatures]);
    this.weight.setRequiresGrad();
    this.bias?.setRequiresGrad();
  }

  forward(x: Tensor): Tensor {
    if (x.ndim === 0 || x.shape[x.ndim - 1] !== this.inFeatures) {
      throw new Error(`Linear(${this.inFeatures} -> ${this.outFeatures}) expects inputs whose last axis has ${this.inFeatures} features, got shape [${x.shape.join(", ")}]`);
    }
    const y = x.matmul(this.weight);
    return this.bias === null ? y : y.add(this.bias);
  }

  override parameters(): Tensor[] {
    return this.bias === null ? [this.weight] : [this.weight, this.bias];
  }
}

// %%
//| mutation linear PyTorch's layout: weight [out, in], and forward multiplies by its transpose
interface LinearOptions {
  bias?: boolean;
  seed?: number;
}

class Linear extends Layer {
  readonly inFeatures: number;
  readonly outFeatures: number;
  weight: Tensor;
  bias: Tensor | null;

  constructor(inFeatures: number, outFeatures: number, options: LinearOptions = {}) {
    super();
    for (const [name, value] of [
      ["inFeatures", inFeatures],
      ["outFeatures", outFeatures],
    ] as const) {
      if (!Number.isInteger(value) || value < 1) {
        throw new Error(`Linear: ${name} must be a positive integer, got ${value}`);
      }
    }
    this.inFeatures = inFeatures;
    this.outFeatures = outFeatures;
    const rng = options.seed === undefined ? Rng.shared : new Rng(options.seed);
    this.weight = Tensor.randn([outFeatures, inFeatures], rng).mul(Math.sqrt(1 / inFeatures));
    this.bias = options.bias === false ? null : Tensor.zeros([outFeatures]);
    this.weight.setRequiresGrad();
    this.bias?.setRequiresGrad();
  }

  forward(x: Tensor): Tensor {
    if (x.ndim === 0 || x.shape[x.ndim - 1] !== this.inFeatures) {
      throw new Error(`Linear(${this.inFeatures} -> ${this.outFeatures}) expects inputs whose last axis has ${this.inFeatures} features, got shape [${x.shape.join(", ")}]`);
    }
    const y = x.matmul(this.weight.transpose());
    return this.bias === null ? y : y.add(this.bias);
  }

  override parameters(): Tensor[] {
    return this.bias === null ? [this.weight] : [this.weight, this.bias];
  }
}

// %%
//| mutation linear no input check: matmul's message reaches the user, without the layer's name
interface LinearOptions {
  bias?: boolean;
  seed?: number;
}

class Linear extends Layer {
  readonly inFeatures: number;
  readonly outFeatures: number;
  weight: Tensor;
  bias: Tensor | null;

  constructor(inFeatures: number, outFeatures: number, options: LinearOptions = {}) {
    super();
    for (const [name, value] of [
      ["inFeatures", inFeatures],
      ["outFeatures", outFeatures],
    ] as const) {
      if (!Number.isInteger(value) || value < 1) {
        throw new Error(`Linear: ${name} must be a positive integer, got ${value}`);
      }
    }
    this.inFeatures = inFeatures;
    this.outFeatures = outFeatures;
    const rng = options.seed === undefined ? Rng.shared : new Rng(options.seed);
    this.weight = Tensor.randn([inFeatures, outFeatures], rng).mul(Math.sqrt(1 / inFeatures));
    this.bias = options.bias === false ? null : Tensor.zeros([outFeatures]);
    this.weight.setRequiresGrad();
    this.bias?.setRequiresGrad();
  }

  forward(x: Tensor): Tensor {
    const y = x.matmul(this.weight);
    return this.bias === null ? y : y.add(this.bias);
  }

  override parameters(): Tensor[] {
    return this.bias === null ? [this.weight] : [this.weight, this.bias];
  }
}

// %% [markdown]
// ## Dropout
//
// A large network can memorise its training set by having units that depend on very specific
// combinations of other units. **Dropout** breaks these co-adaptations: during training, each
// activation is set to zero with probability `p`, independently, on every forward pass. The
// network has to spread what it knows across many units, which tends to generalise better.
//
// At inference we want the full network, not a random subset. But then each unit would receive
// more input than it did during training (no inputs are dropped), by a factor of `1/(1-p)` on
// average. **Inverted dropout** fixes this during training instead: surviving activations are
// multiplied by `1/(1-p)`, so the expected value of every activation is the same in both modes,
// and inference is simply the identity: no extra work at all where speed matters most.
//
// ```
// training:   y = x * mask / (1 - p),   mask_i = 1 with probability 1-p, else 0
// inference:  y = x
// ```
//
// Edge cases: `p = 0` keeps everything (identity), and `p = 1` drops everything (all zeros;
// there is no scale to apply). Dropout has no parameters, but it consumes random numbers, so it
// takes a seed for reproducible runs.
//
// **Cost.** One random number and one multiply per element in training (plus the mask's
// memory if a backward pass keeps it); nothing in inference.
//
// ### Exercise 2: `Dropout.forward`
//
// **TODO**: Implement inverted dropout, active only when `this.training` is true.
//
// The randomness is part of the specification, so that a seed fixes every mask: draw exactly
// one `this.rng.next()` per element of `x`, in order, and drop the element when its draw is
// below `p`.
//
// **APPROACH**:
// 1. Not training, or `p` is 0: return `x` itself (the same tensor, no work).
// 2. Build a **mask** of `x`'s shape: 0 for dropped elements, and for the kept ones the factor
//    that keeps each element's expected value unchanged. Derive it: an element is kept with
//    probability `1 - p`; what must it be multiplied by so that its mean stays `x`?
// 3. Return `x` multiplied by the mask as a tensor operation. A `mul` by a constant tensor is
//    what lets module 06 differentiate dropout: its gradient is the same mask.
//
// **HINTS**:
// - With `p = 1` every draw is below `p`: is the factor you derived ever needed then?
// - The mask is new on every call (the generator moves on), and `x` must not change.

// %% nbgrader={"grade": false, "grade_id": "dropout", "locked": false, "schema_version": 3, "solution": true, "task": false}
//| export
/** Inverted dropout: zero each element with probability p and scale the rest by 1/(1-p). */
class Dropout extends Layer {
  readonly p: number;
  private readonly rng: Rng;

  constructor(p: number, options: { seed?: number } = {}) {
    super();
    if (!(p >= 0 && p <= 1)) throw new Error(`Dropout: p must be in [0, 1], got ${p}`);
    this.p = p;
    this.rng = options.seed === undefined ? Rng.shared : new Rng(options.seed);
  }

  forward(x: Tensor): Tensor {
    // ### BEGIN SOLUTION
    if (!this.training || this.p === 0) return x;
    const scale = 1 / (1 - this.p);
    const mask = new Float32Array(x.size);
    for (let i = 0; i < mask.length; i++) {
      mask[i] = this.rng.next() < this.p ? 0 : scale;
    }
    return x.mul(new Tensor(mask, x.shape));
    // ### END SOLUTION
  }
}

// %% nbgrader={"grade": true, "grade_id": "test-unit-dropout", "locked": true, "points": 3, "schema_version": 3, "solution": false, "task": false}
function testUnitDropout(): void {
  const x = Tensor.ones([100, 100]);
  const drop = new Dropout(0.5, { seed: 0 });
  const y = drop.forward(x);
  assertShape(y.shape, [100, 100]);
  let zeros = 0;
  for (const v of y.data) {
    if (v === 0) zeros++;
    else assertClose(v, 2, {}, "survivors are scaled by 1/(1-p)");
  }
  assertClose(zeros / y.size, 0.5, { atol: 0.03 }, "about half are dropped");
  drop.eval();
  assert(drop.forward(x) === x, "identity in eval mode");
  // ### BEGIN HIDDEN TESTS
  drop.train();
  assertClose(drop.forward(x).mean().item(), 1, { atol: 0.03 }, "expected value preserved");
  const d1 = new Dropout(0.3, { seed: 7 }).forward(x);
  const d2 = new Dropout(0.3, { seed: 7 }).forward(x);
  assertEqual(Array.from(d1.data), Array.from(d2.data), "same seed, same mask");
  const again = new Dropout(0.3, { seed: 7 });
  const first = again.forward(x);
  assert(Array.from(again.forward(x).data).join() !== Array.from(first.data).join(), "new mask per call");
  let kept = 0;
  for (const v of d1.data) if (v !== 0) kept++;
  assertClose(kept / d1.size, 0.7, { atol: 0.03 }, "p = 0.3 keeps 70%");
  assertClose(d1.max().item(), 1 / 0.7, { rtol: 1e-6 });
  assertEqual(Array.from(new Dropout(1, { seed: 0 }).forward(x).data).every((v) => v === 0), true, "p = 1");
  assert(new Dropout(0).forward(x) === x, "p = 0 is the identity");
  assertThrows(() => new Dropout(1.5), "[0, 1]");
  assertThrows(() => new Dropout(-0.1), "[0, 1]");
  assertEqual(new Dropout(0.5).parameters(), []);
  const input = new Tensor([1, 2, 3, 4]);
  new Dropout(0.5, { seed: 1 }).forward(input);
  assertEqual(input.toArray(), [1, 2, 3, 4], "input unchanged");
  // Seeded: random p, random seeds, random shapes of random nonzero values; the masks are drawn
  // here from the same seed (one draw per element, in order, dropped when below p), for two
  // calls in a row; p = 0 and p = 1 on random tensors.
  const rdp = testRandom("layers/dropout");
  const dropoutOracle = (seed: number, p: number, values: readonly number[], calls: number): number[] => {
    const gen = new Rng(seed);
    let out: number[] = [];
    for (let k = 0; k < calls; k++) out = values.map((v) => (gen.next() < p ? 0 : v / (1 - p)));
    return out;
  };
  for (let c = 0; c < 4; c++) {
    const p = rdp.uniform(0.05, 0.95);
    const seed = rdp.seed();
    const dims = rdp.shape(rdp.int(1, 3), 6, 1);
    const values = rdp.numbers(dims.reduce((q, d) => q * d, 1), 0.5, 3).map((v) => (rdp.bool() ? v : -v));
    const xr = new Tensor(Float32Array.from(values), dims);
    const layer = new Dropout(p, { seed });
    const what = `p = ${p.toFixed(3)} on a random [${dims}] from a random seed`;
    const once = layer.forward(xr);
    assertShape(once.shape, dims.slice(), what);
    assertClose(Array.from(once.data), dropoutOracle(seed, p, values, 1), { rtol: 1e-6, atol: 1e-7 }, what);
    const twice = layer.forward(xr);
    assertClose(Array.from(twice.data), dropoutOracle(seed, p, values, 2), { rtol: 1e-6, atol: 1e-7 }, "the next call draws the next mask");
    assertEqual(Array.from(xr.data), values, "input unchanged");
    layer.eval();
    assert(layer.forward(xr) === xr, "identity in eval mode");
  }
  const edgeDims = rdp.shape(2, 6, 1);
  const edge = Tensor.randn(edgeDims, rdp.seed());
  assert(new Dropout(0, { seed: rdp.seed() }).forward(edge) === edge, "p = 0 on a random tensor");
  const all = new Dropout(1, { seed: rdp.seed() }).forward(edge);
  assertShape(all.shape, edgeDims.slice(), "p = 1 on a random tensor");
  assertEqual(Array.from(all.data, Math.abs), new Array<number>(edgeDims[0] * edgeDims[1]).fill(0), "p = 1 drops everything");
  // ### END HIDDEN TESTS
  passed("testUnitDropout");
}
testUnitDropout();

// %%
//| mutation dropout drops without scaling the survivors (the expected value shrinks by 1 - p)
class Dropout extends Layer {
  readonly p: number;
  private readonly rng: Rng;

  constructor(p: number, options: { seed?: number } = {}) {
    super();
    if (!(p >= 0 && p <= 1)) throw new Error(`Dropout: p must be in [0, 1], got ${p}`);
    this.p = p;
    this.rng = options.seed === undefined ? Rng.shared : new Rng(options.seed);
  }

  forward(x: Tensor): Tensor {
    if (!this.training || this.p === 0) return x;
    const mask = new Float32Array(x.size);
    for (let i = 0; i < mask.length; i++) mask[i] = this.rng.next() < this.p ? 0 : 1;
    return x.mul(new Tensor(mask, x.shape));
  }
}

// %%
//| mutation dropout stays active in eval mode
class Dropout extends Layer {
  readonly p: number;
  private readonly rng: Rng;

  constructor(p: number, options: { seed?: number } = {}) {
    super();
    if (!(p >= 0 && p <= 1)) throw new Error(`Dropout: p must be in [0, 1], got ${p}`);
    this.p = p;
    this.rng = options.seed === undefined ? Rng.shared : new Rng(options.seed);
  }

  forward(x: Tensor): Tensor {
    if (this.p === 0) return x;
    const scale = 1 / (1 - this.p);
    const mask = new Float32Array(x.size);
    for (let i = 0; i < mask.length; i++) mask[i] = this.rng.next() < this.p ? 0 : scale;
    return x.mul(new Tensor(mask, x.shape));
  }
}

// %%
//| mutation dropout keeps an element when its draw is below p (drops with probability 1 - p)
class Dropout extends Layer {
  readonly p: number;
  private readonly rng: Rng;

  constructor(p: number, options: { seed?: number } = {}) {
    super();
    if (!(p >= 0 && p <= 1)) throw new Error(`Dropout: p must be in [0, 1], got ${p}`);
    this.p = p;
    this.rng = options.seed === undefined ? Rng.shared : new Rng(options.seed);
  }

  forward(x: Tensor): Tensor {
    if (!this.training || this.p === 0) return x;
    const scale = 1 / (1 - this.p);
    const mask = new Float32Array(x.size);
    for (let i = 0; i < mask.length; i++) mask[i] = this.rng.next() < this.p ? scale : 0;
    return x.mul(new Tensor(mask, x.shape));
  }
}

// %% [markdown]
// ## Sequential
//
// Most networks in this course are a chain: the output of one module is the input of the next.
// `Sequential` holds a list of modules and runs them in order. Its parameters are all of its
// modules' parameters, in order, and switching it between training and inference switches every
// layer inside it.
//
// ### Exercise 3: `Sequential`
//
// **TODO**: Implement `forward` (apply each module in turn) and `parameters` (all modules'
// parameters, concatenated in order).
//
// **APPROACH**:
// 1. `forward`: start from `x`; for each module, replace the current tensor by
//    `module.forward(current)`; return the last one.
// 2. `parameters`: for each module, push its `parameters()` into one list.
//
// **HINTS**:
// - An empty `Sequential` is the identity.

// %% nbgrader={"grade": false, "grade_id": "sequential", "locked": false, "schema_version": 3, "solution": true, "task": false}
//| export
/** Runs modules one after another; its parameters are theirs, in order. */
class Sequential extends Layer {
  readonly layers: Module[];

  constructor(layers: Module[]) {
    super();
    this.layers = [...layers];
  }

  forward(x: Tensor): Tensor {
    // ### BEGIN SOLUTION
    let current = x;
    for (const layer of this.layers) current = layer.forward(current);
    return current;
    // ### END SOLUTION
  }

  override parameters(): Tensor[] {
    // ### BEGIN SOLUTION
    const params: Tensor[] = [];
    for (const layer of this.layers) params.push(...layer.parameters());
    return params;
    // ### END SOLUTION
  }

  /** Switches this container and every layer in it to training behaviour. */
  override train(): this {
    super.train();
    for (const layer of this.layers) if (layer instanceof Layer) layer.train();
    return this;
  }

  /** Switches this container and every layer in it to inference behaviour. */
  override eval(): this {
    super.eval();
    for (const layer of this.layers) if (layer instanceof Layer) layer.eval();
    return this;
  }
}

// %% nbgrader={"grade": true, "grade_id": "test-unit-sequential", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
function testUnitSequential(): void {
  // Two hand-made modules around a ReLU: any object with forward and parameters will do.
  const w1 = new Tensor([1]);
  const w2 = new Tensor([2, 3]);
  const double: Module = { forward: (t) => t.mul(2), parameters: () => [w1] };
  const addOne: Module = { forward: (t) => t.add(1), parameters: () => [w2] };
  const model = new Sequential([double, new ReLU(), addOne]);
  assertEqual(model.forward(new Tensor([-1, 3])).toArray(), [1, 7], "layers run in order");
  const params = model.parameters();
  assertEqual(params.length, 2);
  assert(params[0] === w1 && params[1] === w2, "in order, the same tensors");
  // ### BEGIN HIDDEN TESTS
  const first = new Linear(4, 3, { seed: 0 });
  const second = new Linear(3, 2, { seed: 1 });
  const mlp = new Sequential([first, new ReLU(), second]);
  const x = Tensor.randn([5, 4], 3);
  /** Oracle: second(relu(first(x))) from the layers' weights, in float64. */
  const twoLayerOracle = (): number[] => {
    const [w1, b1, w2, b2] = [first.weight.data, (first.bias as Tensor).data, second.weight.data, (second.bias as Tensor).data];
    const out: number[] = [];
    for (let i = 0; i < 5; i++) {
      const h = Array.from({ length: 3 }, (_, j) => Math.max(0, b1[j] + [0, 1, 2, 3].reduce((s, k) => s + x.data[i * 4 + k] * w1[k * 3 + j], 0)));
      for (let j = 0; j < 2; j++) out.push(b2[j] + h.reduce((s, v, k) => s + v * w2[k * 2 + j], 0));
    }
    return out;
  };
  assertClose(Array.from(mlp.forward(x).data), twoLayerOracle(), { rtol: 1e-5, atol: 1e-6 }, "Linear layers in order");
  const mlpParams = mlp.parameters();
  assertEqual(mlpParams.length, 4, "two weights and two biases");
  assert(mlpParams[0] === first.weight && mlpParams[3] === second.bias, "in order");
  const empty = new Sequential([]);
  assertEqual(empty.forward(x).toArray(), x.toArray(), "empty is the identity");
  assertEqual(empty.parameters(), []);
  const drop = new Dropout(0.5, { seed: 0 });
  const withDrop = new Sequential([new Sequential([drop]), new Sigmoid()]);
  withDrop.eval();
  assert(!drop.training, "eval reaches nested layers");
  assertClose(withDrop.forward(x).toArray(), new Sigmoid().forward(x).toArray());
  withDrop.train();
  assert(drop.training, "train reaches nested layers");
  // A plain object with forward/parameters is a Module too.
  assertEqual(new Sequential([double, double]).forward(new Tensor([1, 2])).toArray(), [4, 8]);
  const list = [first];
  const seq = new Sequential(list);
  list.push(second);
  assertEqual(seq.layers.length, 1, "the constructor copies the list");
  // Seeded: random chains of random affine modules (each owning a random number of random
  // tensors), ReLUs and Sigmoids; the output is computed here step by step, the parameters
  // listed here in order. A Dropout nested at a random depth is switched off by eval().
  const rsq = testRandom("layers/sequential");
  const chainOracle = (steps: ReadonlyArray<readonly [string, number, number]>, values: ArrayLike<number>): number[] =>
    Array.from(values, (v) => {
      let h = v;
      for (const [kind, scale, shift] of steps) {
        if (kind === "affine") h = h * scale + shift;
        else if (kind === "relu") h = Math.max(h, 0);
        else h = 1 / (1 + Math.exp(-h));
      }
      return h;
    });
  for (let c = 0; c < 4; c++) {
    const steps: Array<[string, number, number]> = [];
    const owned: Tensor[] = [];
    const modules: Module[] = [];
    const count = rsq.int(1, 6);
    for (let k = 0; k < count; k++) {
      const kind = rsq.pick(["affine", "affine", "relu", "sigmoid"]);
      if (kind === "affine") {
        const scale = Math.fround(rsq.uniform(-2, 2));
        const shift = Math.fround(rsq.uniform(-1, 1));
        const own = Array.from({ length: rsq.int(0, 3) }, () => Tensor.randn(rsq.shape(rsq.int(1, 2), 4, 1), rsq.seed()));
        owned.push(...own);
        modules.push({ forward: (t) => t.mul(scale).add(shift), parameters: () => own });
        steps.push([kind, scale, shift]);
      } else {
        modules.push(kind === "relu" ? new ReLU() : new Sigmoid());
        steps.push([kind, 0, 0]);
      }
    }
    const model = new Sequential(modules);
    const xr = Tensor.randn(rsq.shape(rsq.int(1, 3), 5, 1), rsq.seed());
    const what = `a random chain ${steps.map((s) => s[0]).join(" -> ")}`;
    const out = model.forward(xr);
    assertShape(out.shape, xr.shape.slice(), what);
    assertClose(Array.from(out.data), chainOracle(steps, xr.data), { rtol: 1e-5, atol: 1e-6 }, what);
    const got = model.parameters();
    assertEqual(got.length, owned.length, "every module's parameters");
    assert(got.every((t, i) => t === owned[i]), "in order, the same tensors");
  }
  const nestedDrop = new Dropout(rsq.uniform(0.2, 0.8), { seed: rsq.seed() });
  let inner: Module = nestedDrop;
  const depth = rsq.int(1, 3);
  for (let d = 0; d < depth; d++) inner = new Sequential([inner]);
  const outer = new Sequential([inner, new Sigmoid()]);
  const xs = Tensor.randn(rsq.shape(2, 5, 1), rsq.seed());
  outer.eval();
  assert(!nestedDrop.training, `eval reaches a Dropout nested ${depth} deep`);
  assertClose(Array.from(outer.forward(xs).data), chainOracle([["sigmoid", 0, 0]], xs.data), { rtol: 1e-5, atol: 1e-7 }, "inference skips the random dropout");
  outer.train();
  assert(nestedDrop.training, "train reaches it too");
  // ### END HIDDEN TESTS
  passed("testUnitSequential");
}
testUnitSequential();

// %%
//| mutation sequential runs the layers in reverse order
class Sequential extends Layer {
  readonly layers: Module[];

  constructor(layers: Module[]) {
    super();
    this.layers = [...layers];
  }

  forward(x: Tensor): Tensor {
    let current = x;
    for (const layer of [...this.layers].reverse()) current = layer.forward(current);
    return current;
  }

  override parameters(): Tensor[] {
    const params: Tensor[] = [];
    for (const layer of this.layers) params.push(...layer.parameters());
    return params;
  }

  override train(): this {
    super.train();
    for (const layer of this.layers) if (layer instanceof Layer) layer.train();
    return this;
  }

  override eval(): this {
    super.eval();
    for (const layer of this.layers) if (layer instanceof Layer) layer.eval();
    return this;
  }
}

// %%
//| mutation sequential collects the parameters of Linear layers only
class Sequential extends Layer {
  readonly layers: Module[];

  constructor(layers: Module[]) {
    super();
    this.layers = [...layers];
  }

  forward(x: Tensor): Tensor {
    let current = x;
    for (const layer of this.layers) current = layer.forward(current);
    return current;
  }

  override parameters(): Tensor[] {
    const params: Tensor[] = [];
    for (const layer of this.layers) if (layer instanceof Linear) params.push(...layer.parameters());
    return params;
  }

  override train(): this {
    super.train();
    for (const layer of this.layers) if (layer instanceof Layer) layer.train();
    return this;
  }

  override eval(): this {
    super.eval();
    for (const layer of this.layers) if (layer instanceof Layer) layer.eval();
    return this;
  }
}

// %% [markdown]
// ## Counting parameters
//
// The number of parameters is the first thing to know about a model: it fixes the memory for
// weights (4 bytes each in float32, and about 4x more during training for gradients and
// optimiser state), and for dense layers it is also proportional to the FLOPs per example.
//
// Two modules may share one tensor (tying an embedding to an output layer is common), so count
// each distinct tensor once.
//
// ### Exercise 4: `countParameters`
//
// **TODO**: Return the total number of elements of the distinct tensors in
// `module.parameters()`.
//
// **APPROACH**:
// 1. The same tensor *object* may appear several times in `module.parameters()` (a shared
//    layer lists its weight once per use). Which JavaScript collection keeps each object once,
//    comparing objects by identity rather than by value?
// 2. Add up the number of elements of each distinct tensor.
//
// **HINTS**:
// - Two different tensors with equal values are two parameters and both count.

// %% nbgrader={"grade": false, "grade_id": "count-parameters", "locked": false, "schema_version": 3, "solution": true, "task": false}
//| export
/** Total number of elements in a module's parameters, each distinct tensor counted once. */
function countParameters(module: Module): number {
  // ### BEGIN SOLUTION
  let total = 0;
  for (const tensor of new Set(module.parameters())) total += tensor.size;
  return total;
  // ### END SOLUTION
}

// %% nbgrader={"grade": true, "grade_id": "test-unit-count-parameters", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
function testUnitCountParameters(): void {
  assertEqual(countParameters(new Linear(784, 128, { seed: 0 })), 100480, "784*128 + 128");
  assertEqual(countParameters(new ReLU()), 0);
  // ### BEGIN HIDDEN TESTS
  const mlp = new Sequential([
    new Linear(4, 8, { seed: 0 }),
    new ReLU(),
    new Linear(8, 3, { bias: false, seed: 1 }),
  ]);
  assertEqual(countParameters(mlp), 4 * 8 + 8 + 8 * 3);
  const shared = new Linear(3, 3, { seed: 2 });
  assertEqual(countParameters(new Sequential([shared, shared])), 12, "a shared layer counts once");
  assertEqual(countParameters(new Sequential([])), 0);
  // Seeded: random MLPs (random widths, random biases, random ReLUs), a random layer shared a
  // random number of times, and random picks, with repeats, from random tensors (empty and 0-d
  // ones too).
  const rcp = testRandom("layers/count-parameters");
  const mlpCountOracle = (widths: readonly number[], biases: readonly boolean[]): number =>
    biases.reduce((sum, bias, k) => sum + widths[k] * widths[k + 1] + (bias ? widths[k + 1] : 0), 0);
  for (let c = 0; c < 3; c++) {
    const widths = Array.from({ length: rcp.int(2, 5) }, () => rcp.int(1, 60));
    const biases: boolean[] = [];
    const layers: Module[] = [];
    for (let k = 0; k + 1 < widths.length; k++) {
      const bias = rcp.bool(0.7);
      biases.push(bias);
      layers.push(new Linear(widths[k], widths[k + 1], { bias, seed: rcp.seed() }));
      if (rcp.bool(0.4)) layers.push(new ReLU());
    }
    assertEqual(countParameters(new Sequential(layers)), mlpCountOracle(widths, biases), `a random MLP [${widths}]`);
  }
  const [sharedIn, sharedOut] = [rcp.int(1, 30), rcp.int(1, 30)];
  const sharedLayer = new Linear(sharedIn, sharedOut, { seed: rcp.seed() });
  const repeats = rcp.int(2, 5);
  assertEqual(countParameters(new Sequential(new Array<Module>(repeats).fill(sharedLayer))), sharedIn * sharedOut + sharedOut, `a random layer shared ${repeats} times counts once`);
  const pool = Array.from({ length: rcp.int(1, 5) }, () => Tensor.zeros(rcp.shape(rcp.int(0, 3), 6, 0)));
  const picks = Array.from({ length: rcp.int(1, 9) }, () => rcp.int(0, pool.length - 1));
  const distinctOracle = (): number =>
    pool.reduce((sum, t, i) => (picks.includes(i) ? sum + t.shape.reduce((p, d) => p * d, 1) : sum), 0);
  const picked: Module = { forward: (t) => t, parameters: () => picks.map((i) => pool[i]) };
  assertEqual(countParameters(picked), distinctOracle(), "random tensors listed with repeats count once each");
  // ### END HIDDEN TESTS
  passed("testUnitCountParameters");
}
testUnitCountParameters();

// %%
//| mutation count-parameters counts a shared tensor once per use
function countParameters(module: Module): number {
  let total = 0;
  for (const tensor of module.parameters()) total += tensor.size;
  return total;
}

// %%
//| mutation count-parameters counts tensors, not their elements
function countParameters(module: Module): number {
  return new Set(module.parameters()).size;
}

// %% [markdown]
// ## A first network
// Chaining what we have: a two-layer perceptron that maps 4 features to probabilities over 3
// classes. It is untrained, so its predictions are arbitrary; module 04 measures how wrong they
// are, and later modules make them right. The table lists each layer's parameters and the FLOPs
// of one forward pass for a batch of 32.

// %%
await demo("a first network", () => {
  const model = new Sequential([
    new Linear(4, 16, { seed: 0 }),
    new ReLU(),
    new Dropout(0.1, { seed: 0 }),
    new Linear(16, 3, { seed: 1 }),
    new Softmax(),
  ]).eval();
  const batch = 32;
  for (const layer of model.layers) {
    const name = layer.constructor.name;
    const flops =
      layer instanceof Linear ? 2 * batch * layer.inFeatures * layer.outFeatures + batch * layer.outFeatures : 0;
    console.log(`${name.padEnd(10)} params ${String(countParameters(layer)).padStart(4)}  FLOPs ${flops}`);
  }
  const probs = model.forward(Tensor.randn([batch, 4], 1));
  console.log("first rows of the output:", probs.slice([0, 2]));
  console.log("total parameters:", countParameters(model));
});

// %% [markdown]
// ## Reflect: predict, then measure
//
// Write down three numbers before running the demo below. The first two follow from the
// formulas of this module; the third is a guess to compare with the measurement.
//
// 1. How many **parameters** does the MLP `784 -> 256 -> 128 -> 10` have (three `Linear` layers
//    with biases)?
// 2. How many **FLOPs** does one forward pass of `Linear(784, 128)` take on a batch of 64
//    (count a multiply and an add as two, and the bias additions too)?
// 3. One forward call on a batch of 64 examples against 64 calls on one example each: how many
//    times faster is the batch, per example? Not graded: you will compare it with the
//    measurement in Question 1.

// %% nbgrader={"grade": false, "grade_id": "predict-mlp-parameters", "locked": false, "schema_version": 3, "solution": true, "task": false}
/** Your prediction: parameters of the MLP 784 -> 256 -> 128 -> 10 (with biases). */
function predictedMlpParameters(): number {
  // ### BEGIN SOLUTION
  return 784 * 256 + 256 + 256 * 128 + 128 + 128 * 10 + 10;
  // ### END SOLUTION
}

// %%
//| mutation predict-mlp-parameters forgets the biases and counts one layer's weights twice
function predictedMlpParameters(): number {
  return 784 * 256 + 256 * 256 + 128 * 10;
}

// %% nbgrader={"grade": false, "grade_id": "predict-linear-flops", "locked": false, "schema_version": 3, "solution": true, "task": false}
/** Your prediction: FLOPs of Linear(784, 128) on a batch of 64. */
function predictedLinearFlops(): number {
  // ### BEGIN SOLUTION
  return 2 * 64 * 784 * 128 + 64 * 128;
  // ### END SOLUTION
}

// %%
//| mutation predict-linear-flops counts multiply-adds, not FLOPs
function predictedLinearFlops(): number {
  return 64 * 784 * 128;
}

// %%
/** Your guess (not graded): how many times faster per example a batch of 64 is than 64 single calls. Replace the 0. */
const predictedBatchSpeedup = 0;

// %%
await demo("predictions against measurements", () => {
  const mlp = new Sequential([new Linear(784, 256, { seed: 0 }), new ReLU(), new Linear(256, 128, { seed: 1 }), new ReLU(), new Linear(128, 10, { seed: 2 })]);
  console.log(`MLP 784-256-128-10: ${countParameters(mlp)} parameters (you predicted ${predictedMlpParameters()}), ${(4 * countParameters(mlp) / 1e6).toFixed(2)} MB in float32`);
  const layer = new Linear(784, 128, { seed: 0 });
  const batch = Tensor.randn([64, 784], 1);
  const singles = Array.from({ length: 64 }, (_, i) => batch.get(i));
  const best = (fn: () => void): number => {
    let ms = Infinity;
    for (let r = 0; r < 5; r++) {
      const t0 = performance.now();
      fn();
      ms = Math.min(ms, performance.now() - t0);
    }
    return ms;
  };
  const batchMs = best(() => layer.forward(batch));
  const singleMs = best(() => singles.forEach((x) => layer.forward(x)));
  const flops = 2 * 64 * 784 * 128 + 64 * 128;
  console.log(`Linear(784, 128) on 64 examples: ${flops} FLOPs (you predicted ${predictedLinearFlops()})`);
  console.log(`one batch of 64: ${batchMs.toFixed(2)} ms (${(flops / batchMs / 1e6).toFixed(2)} GFLOP/s); 64 single calls: ${singleMs.toFixed(2)} ms`);
  console.log(`the batch is ${(singleMs / batchMs).toFixed(1)}x faster per example (you guessed ${predictedBatchSpeedup})`);
  // Initialisation: five Linear(256, 256) layers on unit-variance inputs, scaled or not.
  const x = Tensor.randn([128, 256], 2);
  const std = (t: Tensor): number => Math.sqrt(t.pow(2).mean().item());
  for (const scaled of [true, false]) {
    let h = x;
    const stds: string[] = [];
    for (let k = 0; k < 5; k++) {
      const lin = new Linear(256, 256, { seed: 10 + k });
      if (!scaled) lin.weight = lin.weight.mul(Math.sqrt(256));
      h = lin.forward(h);
      stds.push(std(h).toPrecision(3));
    }
    console.log(`${scaled ? "scaled by sqrt(1/in)" : "N(0, 1) weights    "}: std after each of 5 layers ${stds.join(", ")}`);
  }
});

// %% nbgrader={"grade": true, "grade_id": "test-unit-layer-predictions", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
function testUnitLayerPredictions(): void {
  // ### BEGIN HIDDEN TESTS
  const widths = [784, 256, 128, 10];
  check("parameters of the MLP 784-256-128-10", 1, () =>
    assertPrediction(predictedMlpParameters(), widths.slice(1).reduce((n, out, k) => n + widths[k] * out + out, 0), { rtol: 0.01 }),
  );
  check("FLOPs of Linear(784, 128) on a batch of 64", 1, () => assertPrediction(predictedLinearFlops(), 64 * 128 * (2 * 784 + 1), { rtol: 0.02 }));
  // ### END HIDDEN TESTS
  passed("testUnitLayerPredictions");
}
testUnitLayerPredictions();

// %% [markdown] nbgrader={"grade": true, "grade_id": "explain-batching", "locked": false, "points": 2, "schema_version": 3, "solution": true, "task": false}
// **Question 1.** Compare your guess for the batch's speed-up with the measurement. The FLOPs
// per example are the same either way: where does the difference come from? Would it keep
// growing with batches of 1,024, and what limits it?
//
// ### BEGIN SOLUTION
// Each single call reads the whole weight matrix (784 x 128 floats, 401 KB) to do 2 x 784 x 128
// FLOPs: about half a FLOP per byte, so it is bound by memory traffic, and it also pays the
// fixed costs of a call (allocating the output tensor, checking shapes, starting the loops).
// A batch of 64 reads the weights once and reuses each weight 64 times while it is in cache and
// registers, and pays the fixed costs once. So the batch is several times faster per example
// (the exact factor depends on the machine). The gain flattens out: once the weights' traffic
// is amortised, the arithmetic itself (and the traffic of the activations, which grows with
// the batch) is the limit, so 1,024 is not 16 times better than 64. Larger batches also cost
// memory for the activations and latency for each example, which matters when serving.
// ### END SOLUTION
//
// ### BEGIN RUBRIC
// 2 points: weights read once per batch instead of once per example (reuse, arithmetic
// intensity) and per-call overhead amortised; the gain saturates once compute (or activation
// traffic) dominates, with a cost of large batches (memory or latency). 1 point: reuse or
// overhead without the saturation, or the reverse.
// ### END RUBRIC

// %% [markdown] nbgrader={"grade": true, "grade_id": "explain-inverted-dropout", "locked": false, "points": 2, "schema_version": 3, "solution": true, "task": false}
// **Question 2.** The original dropout paper kept the survivors unscaled during training and
// multiplied the weights by `1 - p` at inference instead. Both give the same expected
// activations. Why do all frameworks use the inverted form, and what does it cost?
//
// ### BEGIN SOLUTION
// With inverted dropout, inference is the identity: the layer does nothing at all, so the
// trained weights are used as they are, the model can be exported or run without knowing which
// layers had dropout or their rates, and the part that runs most often (inference, in
// production) pays nothing. The original form needs every layer after a dropout scaled by
// 1 - p at inference time, an extra multiply per weight or activation and a rate to remember.
// The inverted form moves the cost to training: one multiply by 1/(1 - p) per kept element
// (folded into the mask, so no extra pass), plus the mask itself, which training pays anyway.
// ### END SOLUTION
//
// ### BEGIN RUBRIC
// 2 points: inference becomes the identity (no work, no rate to remember, weights usable as
// trained) and the cost moves to training, where it is folded into the mask. 1 point: one of
// the two sides only.
// ### END RUBRIC

// %% [markdown] nbgrader={"grade": true, "grade_id": "explain-initialisation", "locked": false, "points": 2, "schema_version": 3, "solution": true, "task": false}
// **Question 3.** The demo's last lines stack five `Linear(256, 256)` layers with weights drawn
// from `N(0, 1)`, then scaled by `sqrt(1/256)`. Explain the standard deviations it prints for
// both, from the variance of a sum. What would a sigmoid after the unscaled stack output, and
// why would that network barely learn? Why do ReLU networks use `sqrt(2 / in)` instead?
//
// ### BEGIN SOLUTION
// Each output is a sum of 256 products x_i w_i; with independent unit-variance inputs and
// weights of variance s², its variance is 256 s². With s = 1 the standard deviation grows by
// sqrt(256) = 16 per layer: 16, 256, 4096, 65536, about 10^6 after five layers. With
// s² = 1/256 it stays about 1 at every layer. A sigmoid of numbers of size 10^6 is exactly 0 or
// 1 everywhere: it saturates, its slope s(1 - s) is 0, so almost no gradient flows back and the
// weights barely change. ReLU sets the negative half to zero, which halves the second moment of
// the signal at each layer; He initialisation doubles the weights' variance (2/in) to
// compensate, so the signal neither dies out nor explodes through a deep ReLU stack.
// ### END SOLUTION
//
// ### BEGIN RUBRIC
// 2 points: variance in·s² per layer (factor 16 in std per layer unscaled, ~1 scaled);
// saturated sigmoid gives zero slope, so no learning; ReLU halves the variance, hence the
// factor 2. 1 point: the growth explained without the consequence, or the consequence
// without the variance argument.
// ### END RUBRIC

// %% [markdown]
// ## Module test

// %% nbgrader={"grade": true, "grade_id": "test-module-layers", "locked": true, "points": 4, "schema_version": 3, "solution": false, "task": false}
function testModule(): void {
  const model = new Sequential([
    new Linear(4, 8, { seed: 0 }),
    new ReLU(),
    new Dropout(0.5, { seed: 1 }),
    new Linear(8, 3, { seed: 2 }),
    new Softmax(),
  ]);
  const x = Tensor.randn([6, 4], 3);
  const train1 = model.forward(x);
  assertShape(train1.shape, [6, 3]);
  assertClose(train1.sum(-1).toArray(), Array(6).fill(1), { atol: 1e-6 }, "rows are distributions");
  assertEqual(countParameters(model), 4 * 8 + 8 + 8 * 3 + 3);
  model.eval();
  const e1 = model.forward(x);
  const e2 = model.forward(x);
  assertEqual(Array.from(e1.data), Array.from(e2.data), "inference is deterministic");
  // ### BEGIN HIDDEN TESTS
  model.train();
  const t1 = model.forward(x);
  const t2 = model.forward(x);
  assert(Array.from(t1.data).join() !== Array.from(t2.data).join(), "dropout varies in training");
  // Same seeds rebuild the same model.
  const again = new Sequential([
    new Linear(4, 8, { seed: 0 }),
    new ReLU(),
    new Dropout(0.5, { seed: 1 }),
    new Linear(8, 3, { seed: 2 }),
    new Softmax(),
  ]).eval();
  assertEqual(Array.from(again.forward(x).data), Array.from(e1.data), "reproducible from seeds");
  // Parameters are the live tensors: changing one changes the output.
  const weight = again.parameters()[0];
  weight.data.fill(0);
  const collapsed = again.forward(x);
  assertClose(collapsed.sub(collapsed.get(0)).abs().max().item(), 0, { atol: 1e-6 }, "zero weights");
  assertThrows(() => model.forward(Tensor.ones([2, 5])), literally("Linear(4 -> 8)"));
  // Seeded, end to end: a network of random sizes built from random seeds, with a random dropout
  // rate, on a random batch. The whole forward pass is computed here from the seeds: weights
  // Tensor.randn(seed) * sqrt(1/in), biases 0, the dropout masks drawn in order, softmax by row.
  const rmd = testRandom("layers/module");
  const [inF, hid, classes, batch] = [rmd.int(2, 8), rmd.int(2, 10), rmd.int(2, 6), rmd.int(1, 8)];
  const [s1, s2, s3] = [rmd.seed(), rmd.seed(), rmd.seed()];
  const rate = rmd.uniform(0.1, 0.7);
  const xr = Tensor.randn([batch, inF], rmd.seed());
  const net = new Sequential([
    new Linear(inF, hid, { seed: s1 }),
    new ReLU(),
    new Dropout(rate, { seed: s2 }),
    new Linear(hid, classes, { seed: s3 }),
    new Softmax(),
  ]);
  assertEqual(countParameters(net), inF * hid + hid + hid * classes + classes, "parameters of a random network");
  const networkOracle = (trainCalls: number): number[] => {
    const w1 = Array.from(Tensor.randn([inF, hid], s1).data, (v) => v * Math.sqrt(1 / inF));
    const w2 = Array.from(Tensor.randn([hid, classes], s3).data, (v) => v * Math.sqrt(1 / hid));
    const gen = new Rng(s2);
    let out: number[] = [];
    for (let call = 0; call < Math.max(trainCalls, 1); call++) {
      out = [];
      for (let i = 0; i < batch; i++) {
        const h = Array.from({ length: hid }, (_, j) => {
          let sum = 0;
          for (let k = 0; k < inF; k++) sum += xr.data[i * inF + k] * w1[k * hid + j];
          return Math.max(sum, 0);
        });
        if (trainCalls > 0) for (let j = 0; j < hid; j++) h[j] = gen.next() < rate ? 0 : h[j] / (1 - rate);
        const logits = Array.from({ length: classes }, (_, j) => h.reduce((sum, v, k) => sum + v * w2[k * classes + j], 0));
        const top = Math.max(...logits);
        const total = logits.reduce((sum, v) => sum + Math.exp(v - top), 0);
        for (const v of logits) out.push(Math.exp(v - top) / total);
      }
    }
    return out;
  };
  const what = `a random network ${inF} -> ${hid} -> ${classes}, dropout ${rate.toFixed(3)}, batch ${batch}`;
  const trained = net.forward(xr);
  assertShape(trained.shape, [batch, classes], what);
  assertClose(Array.from(trained.data), networkOracle(1), { rtol: 1e-4, atol: 1e-6 }, `training: ${what}`);
  net.eval();
  assertClose(Array.from(net.forward(xr).data), networkOracle(0), { rtol: 1e-4, atol: 1e-6 }, `inference: ${what}`);
  net.train();
  assertClose(Array.from(net.forward(xr).data), networkOracle(2), { rtol: 1e-4, atol: 1e-6 }, "training again: the next masks");
  // ### END HIDDEN TESTS
  passed("testModule (layers)");
}
testModule();

// %% [markdown]
// ## Summary
//
// - A **Module** is anything with `forward` and `parameters`; activations, layers and whole
//   networks share that interface, so they nest freely.
// - **Linear** computes `x @ W + b` with `W` of shape `[in, out]`: `in*out + out` parameters and
//   `2*batch*in*out` FLOPs. Its weights start random (to break symmetry) and scaled by
//   `sqrt(1/in)` (to keep activations from growing or shrinking layer after layer), from a seed
//   you can reproduce.
// - **Dropout** zeroes activations with probability `p` in training and scales the survivors by
//   `1/(1-p)`, so inference is free: the identity.
// - **Sequential** chains modules and gathers their parameters; `train()`/`eval()` reach every
//   layer inside.
// - **countParameters** is the first measure of a model's size: 4 bytes per parameter to store,
//   several times that to train.
//
// Module 04 adds the loss functions that say how wrong a network's outputs are.
