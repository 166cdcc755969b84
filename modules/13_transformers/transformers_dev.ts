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
// # Module 13: Transformers
//
// Attention (module 12) lets positions exchange information. A **transformer block** wraps it
// with what makes a deep stack of such layers trainable, and a **GPT** is a stack of blocks
// between an embedding and a prediction of the next token:
//
// ```
// ids [B, T] ─► wte(ids) + wpe(0..T-1) ─► block ─► block ─► … ─► lnF ─► lmHead ─► logits [B, T, V]
//
// block(x):  x = x + attn(ln1(x))        (causal multi-head attention)
//            x = x + mlp(ln2(x))         (Linear C→4C, GELU, Linear 4C→C)
// ```
//
// | you build | why |
// |---|---|
// | `layerNorm` and its backward rule | each position's vector rescaled to mean 0 and variance 1, then by learned `weight` and `bias` |
// | `MLP` | the per-position computation between attentions |
// | `TransformerBlock` | **pre-norm** residual block: the form GPT-2 made standard because it trains stably |
// | `sampleNext` | turning logits into a next token: temperature and top-k |
// | `gptForward` | the whole model, with an optional key/value cache (module 17) |
//
// Names and shapes follow PyTorch (`LayerNorm.weight`, `.bias`, `[dim]`) and GPT-2's
// (`wte`, `wpe`, `blocks`, `lnF`, `lmHead`). The milestone trains this GPT on Moby-Dick.
// Everything lands in `tinytorch-ts/nn/transformer`.
//
// ### What you will learn
// - what layer normalisation does, and how its gradient flows back through the mean and variance;
// - why residual connections and pre-norm make deep stacks trainable;
// - how a language model generates text one token at a time, and what temperature and top-k do.

// %%
//| default_exp nn.transformer

// %%
//| export
import { Rng, Tensor, type GradNode } from "tinytorch-ts/core/tensor";
import { noGrad, registerRules } from "tinytorch-ts/core/autograd";
import { Layer, Linear } from "tinytorch-ts/core/layers";
import { CrossEntropyLoss } from "tinytorch-ts/core/losses";
import { Embedding, PositionalEmbedding } from "tinytorch-ts/nn/embeddings";
import { MultiHeadAttention, linear, type LayerKVCache } from "tinytorch-ts/nn/attention";

// %% nbgrader={"grade": false, "grade_id": "transformers-test-helpers", "locked": true, "schema_version": 3, "solution": false, "task": false}
// Notebook-only imports and helpers (not part of the package).
import { assert, assertClose, assertEqual, assertPrediction, assertShape, assertThrows, check, demo, passed, testRandom } from "tinytorch-ts/support/testing";
import { AdamW } from "tinytorch-ts/optim";
import { loadMobyDick, CharTokenizer } from "tinytorch-ts/text/tokenization";

/**
 * Central differences of sum(w * f(x)) at x, in float64: the gradient a test computes itself,
 * from its own float64 version `f` of the function, never from the code under test.
 */
function centralDifferences(f: (x: Float64Array) => ArrayLike<number>, x: ArrayLike<number>, w: ArrayLike<number>): number[] {
  const at = Float64Array.from(x);
  const objective = (): number => {
    const y = f(at);
    let total = 0;
    for (let i = 0; i < y.length; i++) total += w[i] * y[i];
    return total;
  };
  return Array.from(at, (keep, i) => {
    const h = 1e-5 * Math.max(1, Math.abs(keep));
    at[i] = keep + h;
    const up = objective();
    at[i] = keep - h;
    const down = objective();
    at[i] = keep;
    return (up - down) / (2 * h);
  });
}

/** A tensor of random values from a test's generator, tracking gradients. */
function randomTensor(r: ReturnType<typeof testRandom>, shape: number[], scale = 1): Tensor {
  return new Tensor(Float32Array.from(r.numbers(shape.reduce((p, d) => p * d, 1), -scale, scale)), shape).setRequiresGrad();
}

// %% [markdown]
// ## Part 1: Layer normalisation
//
// Deep networks train badly when the scale of their activations drifts from layer to layer.
// **Layer normalisation** (Ba et al., 2016) fixes the scale of each position's vector
// separately: over its `C` numbers,
//
// ```
// μ = mean(x)          σ² = mean((x − μ)²)          (the biased variance: divide by C, not C − 1)
// x̂ = (x − μ) / √(σ² + eps)
// y = x̂ · weight + bias                              (weight, bias: learned, shape [C])
// ```
//
// PyTorch's `nn.LayerNorm` uses the biased variance and `eps = 1e-5`, `weight` starting at 1
// and `bias` at 0, so that the layer starts as a pure normalisation. Unlike batch
// normalisation, nothing depends on the other examples of the batch: training and generation
// one token at a time behave the same.
//
// As one operation on raw numbers (one pass instead of a dozen graph nodes), `layerNorm`
// records `"layerNorm"` with inputs `[x, weight, bias]` and saves what the backward rule will
// need: `x̂` and `rstd = 1 / √(σ² + eps)` per row.
//
// ### Exercise 1: `layerNorm`
//
// **TODO**: Normalise over the last axis, then scale and shift; record the operation.
//
// **APPROACH**: for each of the `rows = x.size / C` rows: the mean, the biased variance,
// `rstd`; write `x̂` into a buffer `xhat` and `x̂ · weight[j] + bias[j]` into `out`; keep `rstd`
// in a `Float32Array(rows)`. Finally
// `Tensor.record(new Tensor(out, x.shape), "layerNorm", [x, weight, bias], { saved: [new Tensor(xhat, x.shape), new Tensor(rstd, [rows])] })`.
//
// **HINTS**:
// - Two passes over a row (mean first, then the squared deviations) are more accurate in float32
//   than `E[x²] − E[x]²`: why?

// %% nbgrader={"grade": false, "grade_id": "layer-norm", "locked": false, "schema_version": 3, "solution": true, "task": false}
//| export
/** (x - mean) / sqrt(var + eps) * weight + bias over the last axis (biased variance), as one op. */
function layerNorm(x: Tensor, weight: Tensor, bias: Tensor, eps = 1e-5): Tensor {
  const c = x.shape[x.ndim - 1];
  if (x.ndim === 0 || weight.size !== c || bias.size !== c) {
    throw new Error(`layerNorm: input [${x.shape.join(", ")}] with weight [${weight.shape.join(", ")}] and bias [${bias.shape.join(", ")}]`);
  }
  // ### BEGIN SOLUTION
  const rows = c === 0 ? 0 : x.size / c;
  const out = new Float32Array(x.size);
  const xhat = new Float32Array(x.size);
  const rstd = new Float32Array(rows);
  for (let r = 0; r < rows; r++) {
    const base = r * c;
    let mean = 0;
    for (let j = 0; j < c; j++) mean += x.data[base + j];
    mean /= c;
    let variance = 0;
    for (let j = 0; j < c; j++) variance += (x.data[base + j] - mean) ** 2;
    variance /= c;
    const s = 1 / Math.sqrt(variance + eps);
    rstd[r] = s;
    for (let j = 0; j < c; j++) {
      const h = (x.data[base + j] - mean) * s;
      xhat[base + j] = h;
      out[base + j] = h * weight.data[j] + bias.data[j];
    }
  }
  return Tensor.record(new Tensor(out, x.shape), "layerNorm", [x, weight, bias], { saved: [new Tensor(xhat, x.shape), new Tensor(rstd, [rows])] });
  // ### END SOLUTION
}

// %% nbgrader={"grade": true, "grade_id": "test-unit-layer-norm", "locked": true, "points": 3, "schema_version": 3, "solution": false, "task": false}
function testUnitLayerNorm(): void {
  const y = layerNorm(new Tensor([[1, 2, 3, 4]]), Tensor.ones([4]), Tensor.zeros([4]), 0);
  const s = 1 / Math.sqrt(1.25);
  assertClose(y.toArray(), [[-1.5 * s, -0.5 * s, 0.5 * s, 1.5 * s]], { atol: 1e-6 }, "biased variance 1.25");
  assertThrows(() => layerNorm(Tensor.zeros([2, 3]), Tensor.ones([4]), Tensor.zeros([4])), "layerNorm");
  // ### BEGIN HIDDEN TESTS
  assertClose(layerNorm(new Tensor([[5, 5]]), Tensor.ones([2]), new Tensor([1, 2])).toArray(), [[1, 2]], {}, "a constant row: x̂ = 0, only the bias");
  {
    // Seeded: random shapes (leading axes of any rank), offsets and scales, random weight, bias
    // and eps; against the test's float64 layer norm.
    const r = testRandom("transformers/layer-norm");
    for (let trial = 0; trial < 5; trial++) {
      const c = r.int(1, 9);
      const shape = [...r.shape(r.int(0, 2), 4), c];
      const size = shape.reduce((p, d) => p * d, 1);
      const [offset, scale] = [r.uniform(-5, 5), 10 ** r.uniform(-1, 1)];
      const xs = Float32Array.from(r.numbers(size, -1, 1), (v) => offset + scale * v);
      const [ws, bs] = [r.numbers(c, -2, 2), r.numbers(c, -1, 1)];
      const eps = r.pick([1e-5, 1e-3, 0.1]);
      /** Oracle: layer norm in float64. */
      const ln64 = (): number[] => Array.from(xs, (v, f) => {
        const row = xs.subarray(f - (f % c), f - (f % c) + c);
        const m = row.reduce((p, u) => p + u, 0) / c;
        const variance = row.reduce((p, u) => p + (u - m) ** 2, 0) / c;
        return ((v - m) / Math.sqrt(variance + eps)) * ws[f % c] + bs[f % c];
      });
      const got = layerNorm(new Tensor(xs, shape), new Tensor(Float32Array.from(ws)), new Tensor(Float32Array.from(bs)), eps);
      assertShape(got.shape, shape, `input [${shape}]`);
      assertClose(Array.from(got.data), ln64(), { rtol: 1e-4, atol: 1e-4 }, `input [${shape}] around ${offset.toFixed(2)} at scale ${scale.toFixed(3)}, eps ${eps}`);
    }
  }
  // ### END HIDDEN TESTS
  passed("testUnitLayerNorm");
}
testUnitLayerNorm();

// %%
//| mutation layer-norm unbiased variance (divides by C - 1)
function layerNorm(x: Tensor, weight: Tensor, bias: Tensor, eps = 1e-5): Tensor {
  const c = x.shape[x.ndim - 1];
  const rows = x.size / c;
  const out = new Float32Array(x.size);
  const xhat = new Float32Array(x.size);
  const rstd = new Float32Array(rows);
  for (let r = 0; r < rows; r++) {
    const row = x.data.subarray(r * c, (r + 1) * c);
    const mean = row.reduce((p, v) => p + v, 0) / c;
    const variance = row.reduce((p, v) => p + (v - mean) ** 2, 0) / Math.max(1, c - 1);
    rstd[r] = 1 / Math.sqrt(variance + eps);
    for (let j = 0; j < c; j++) {
      xhat[r * c + j] = (row[j] - mean) * rstd[r];
      out[r * c + j] = xhat[r * c + j] * weight.data[j] + bias.data[j];
    }
  }
  return Tensor.record(new Tensor(out, x.shape), "layerNorm", [x, weight, bias], { saved: [new Tensor(xhat, x.shape), new Tensor(rstd, [rows])] });
}

// %%
//| mutation layer-norm eps added to the standard deviation instead of the variance
function layerNorm(x: Tensor, weight: Tensor, bias: Tensor, eps = 1e-5): Tensor {
  const c = x.shape[x.ndim - 1];
  const rows = x.size / c;
  const out = new Float32Array(x.size);
  const xhat = new Float32Array(x.size);
  const rstd = new Float32Array(rows);
  for (let r = 0; r < rows; r++) {
    const row = x.data.subarray(r * c, (r + 1) * c);
    const mean = row.reduce((p, v) => p + v, 0) / c;
    const variance = row.reduce((p, v) => p + (v - mean) ** 2, 0) / c;
    rstd[r] = 1 / (Math.sqrt(variance) + eps);
    for (let j = 0; j < c; j++) {
      xhat[r * c + j] = (row[j] - mean) * rstd[r];
      out[r * c + j] = xhat[r * c + j] * weight.data[j] + bias.data[j];
    }
  }
  return Tensor.record(new Tensor(out, x.shape), "layerNorm", [x, weight, bias], { saved: [new Tensor(xhat, x.shape), new Tensor(rstd, [rows])] });
}

// %% [markdown]
// ### The gradient of layer normalisation
//
// `weight` and `bias` are easy: `y = x̂ · weight + bias`, so, summed over every row,
// `dweight = Σ g · x̂` and `dbias = Σ g`. The input is harder, because every `x_j` also moves
// the row's mean and variance. With `ĝ = g · weight` (the gradient reaching `x̂`), per row:
//
// ```
// dx = rstd · (ĝ − mean(ĝ) − x̂ · mean(ĝ · x̂))
// ```
//
// The `mean(ĝ)` term is the path through `μ`, the `x̂ · mean(ĝ · x̂)` term the path through
// `σ²`. Two consequences you can check: the gradient of each row sums to 0 (shifting a row does
// not change its normalised values), and it is orthogonal to `x̂` (neither does scaling it).
//
// ### Exercise 2: `layerNormBackward`
//
// **TODO**: Return `[dx, dweight, dbias]`.
//
// **APPROACH**: `const [x, weight] = node.inputs`, `const [xhat, rstd] = node.args.saved`; for
// each row: the two means over `j`, then `dx`; accumulate `dweight[j] += g·x̂` and
// `dbias[j] += g` across the rows.
//
// **HINTS**:
// - Check your rule on the two consequences above: does each row of your `dx` sum to 0?
// - `ĝ` includes `weight`; `dweight` does not: which one multiplies by `weight[j]`?

// %% nbgrader={"grade": false, "grade_id": "layer-norm-backward", "locked": false, "schema_version": 3, "solution": true, "task": false}
//| export
/** layerNorm's rule: dx = rstd (ĝ - mean ĝ - x̂ mean(ĝ x̂)) with ĝ = g w; dweight = Σ g x̂; dbias = Σ g. */
function layerNormBackward(grad: Tensor, node: GradNode): (Tensor | null)[] {
  const [x, weight] = node.inputs;
  const [xhat, rstd] = node.args.saved ?? [];
  const c = x.shape[x.ndim - 1];
  // ### BEGIN SOLUTION
  const rows = rstd.size;
  const g = grad.data;
  const dx = new Float32Array(x.size);
  const dweight = new Float32Array(c);
  const dbias = new Float32Array(c);
  for (let r = 0; r < rows; r++) {
    const base = r * c;
    let meanG = 0;
    let meanGX = 0;
    for (let j = 0; j < c; j++) {
      const gh = g[base + j] * weight.data[j];
      meanG += gh;
      meanGX += gh * xhat.data[base + j];
      dweight[j] += g[base + j] * xhat.data[base + j];
      dbias[j] += g[base + j];
    }
    meanG /= c;
    meanGX /= c;
    for (let j = 0; j < c; j++) {
      dx[base + j] = rstd.data[r] * (g[base + j] * weight.data[j] - meanG - xhat.data[base + j] * meanGX);
    }
  }
  return [new Tensor(dx, x.shape), new Tensor(dweight, weight.shape), new Tensor(dbias, weight.shape)];
  // ### END SOLUTION
}

// %% nbgrader={"grade": false, "grade_id": "layer-norm-rule", "locked": true, "schema_version": 3, "solution": false, "task": false}
//| export
registerRules({ layerNorm: layerNormBackward });

/**
 * Faster kernels for this module's row operations, installed by module 18's acceleration switch
 * (empty here, and after `disableAcceleration()`). Each returns null for an input it does not
 * handle, and this module's own function runs instead. What they return is recorded exactly as
 * this module's functions record it (same op, same saved tensors), so either rule can follow.
 */
const transformerKernelSlot: {
  layerNorm: ((x: Tensor, weight: Tensor, bias: Tensor, eps: number) => Tensor | null) | null;
  gelu: ((x: Tensor) => Tensor | null) | null;
  crossEntropy: ((logits: Tensor, labels: Tensor) => Tensor | null) | null;
} = { layerNorm: null, gelu: null, crossEntropy: null };

/** torch.nn.LayerNorm over the last axis: `weight` (ones) and `bias` (zeros) of shape [dim]. */
class LayerNorm extends Layer {
  readonly dim: number;
  readonly eps: number;
  weight: Tensor;
  bias: Tensor;

  constructor(dim: number, options: { eps?: number } = {}) {
    super();
    this.dim = dim;
    this.eps = options.eps ?? 1e-5;
    this.weight = Tensor.ones([dim]).setRequiresGrad();
    this.bias = Tensor.zeros([dim]).setRequiresGrad();
  }

  forward(x: Tensor): Tensor {
    return transformerKernelSlot.layerNorm?.(x, this.weight, this.bias, this.eps) ?? layerNorm(x, this.weight, this.bias, this.eps);
  }

  override parameters(): Tensor[] {
    return [this.weight, this.bias];
  }
}

// %% nbgrader={"grade": true, "grade_id": "test-unit-layer-norm-backward", "locked": true, "points": 4, "schema_version": 3, "solution": false, "task": false}
function testUnitLayerNormBackward(): void {
  const ln = new LayerNorm(3);
  const x = new Tensor([[1, 2, 4]]).setRequiresGrad();
  ln.forward(x).backward(new Tensor([[1, 0, -1]]));
  const dx = Array.from(x.grad?.data ?? []);
  assertClose(dx.reduce((s, v) => s + v, 0), 0, { atol: 1e-6 }, "each row's gradient sums to 0");
  assertClose(Array.from(ln.bias.grad?.data ?? []), [1, 0, -1], {}, "dbias = g");
  // ### BEGIN HIDDEN TESTS
  {
    // Seeded: random shapes, values, weights, biases and eps; the gradients of
    // sum(w * layerNorm(x)) with respect to x, weight and bias against float64 central
    // differences of the test's own layer norm.
    const r = testRandom("transformers/layer-norm-backward");
    for (let trial = 0; trial < 4; trial++) {
      const c = r.int(2, 7);
      const shape = [...r.shape(r.int(0, 2), 3), c];
      const xs = randomTensor(r, shape, 3);
      const ws = randomTensor(r, [c], 2);
      const bs = randomTensor(r, [c], 1);
      const eps = r.pick([1e-5, 1e-2]);
      const w = r.numbers(xs.size, -1, 1);
      layerNorm(xs, ws, bs, eps).backward(new Tensor(Float32Array.from(w), shape));
      /** Oracle: layer norm in float64 of (x, weight, bias). */
      const ln64 = (xv: ArrayLike<number>, wv: ArrayLike<number>, bv: ArrayLike<number>): number[] => Array.from({ length: xv.length }, (_, f) => {
        const start = f - (f % c);
        let m = 0;
        for (let j = 0; j < c; j++) m += xv[start + j] / c;
        let variance = 0;
        for (let j = 0; j < c; j++) variance += (xv[start + j] - m) ** 2 / c;
        return ((xv[f] - m) / Math.sqrt(variance + eps)) * wv[f % c] + bv[f % c];
      });
      const label = `input [${shape}], eps ${eps}`;
      assertClose(Array.from(xs.grad?.data ?? []), centralDifferences((v) => ln64(v, ws.data, bs.data), xs.data, w), { rtol: 2e-3, atol: 2e-4 }, `${label}: d x`);
      assertClose(Array.from(ws.grad?.data ?? []), centralDifferences((v) => ln64(xs.data, v, bs.data), ws.data, w), { rtol: 1e-3, atol: 1e-4 }, `${label}: d weight`);
      assertClose(Array.from(bs.grad?.data ?? []), centralDifferences((v) => ln64(xs.data, ws.data, v), bs.data, w), { rtol: 1e-3, atol: 1e-4 }, `${label}: d bias`);
    }
  }
  // ### END HIDDEN TESTS
  passed("testUnitLayerNormBackward");
}
testUnitLayerNormBackward();

// %%
//| mutation layer-norm-backward forgets the path through the variance
function layerNormBackward(grad: Tensor, node: GradNode): (Tensor | null)[] {
  const [x, weight] = node.inputs;
  const [xhat, rstd] = node.args.saved ?? [];
  const c = x.shape[x.ndim - 1];
  const dx = new Float32Array(x.size);
  const dweight = new Float32Array(c);
  const dbias = new Float32Array(c);
  for (let r = 0; r < rstd.size; r++) {
    let meanG = 0;
    for (let j = 0; j < c; j++) {
      meanG += (grad.data[r * c + j] * weight.data[j]) / c;
      dweight[j] += grad.data[r * c + j] * xhat.data[r * c + j];
      dbias[j] += grad.data[r * c + j];
    }
    for (let j = 0; j < c; j++) dx[r * c + j] = rstd.data[r] * (grad.data[r * c + j] * weight.data[j] - meanG);
  }
  return [new Tensor(dx, x.shape), new Tensor(dweight, weight.shape), new Tensor(dbias, weight.shape)];
}

// %%
//| mutation layer-norm-backward dweight from x instead of the normalised x̂
function layerNormBackward(grad: Tensor, node: GradNode): (Tensor | null)[] {
  const [x, weight] = node.inputs;
  const [xhat, rstd] = node.args.saved ?? [];
  const c = x.shape[x.ndim - 1];
  const dx = new Float32Array(x.size);
  const dweight = new Float32Array(c);
  const dbias = new Float32Array(c);
  for (let r = 0; r < rstd.size; r++) {
    let [meanG, meanGX] = [0, 0];
    for (let j = 0; j < c; j++) {
      const gh = grad.data[r * c + j] * weight.data[j];
      meanG += gh / c;
      meanGX += (gh * xhat.data[r * c + j]) / c;
      dweight[j] += grad.data[r * c + j] * x.data[r * c + j];
      dbias[j] += grad.data[r * c + j];
    }
    for (let j = 0; j < c; j++) dx[r * c + j] = rstd.data[r] * (grad.data[r * c + j] * weight.data[j] - meanG - xhat.data[r * c + j] * meanGX);
  }
  return [new Tensor(dx, x.shape), new Tensor(dweight, weight.shape), new Tensor(dbias, weight.shape)];
}

// %% [markdown]
// ### GELU in one pass
//
// The MLP below applies GELU to `[B·T, 4C]` numbers, the largest activation of the model.
// Module 02's `GELU` maps each number through `erf` (one `exp`), and module 06's rule computes
// the slope `Φ(x) + x·φ(x)` again in the backward pass (two more). Measured on the milestone's
// model, that was a third of a training step. `fusedGelu` computes the same function with the
// same `erf` formula in one pass, and since `erf`'s `exp(−x²/2)` is also what the density `φ`
// needs, it saves the slope as it goes: the rule is then one multiplication per number.

// %% nbgrader={"grade": false, "grade_id": "fused-gelu", "locked": true, "schema_version": 3, "solution": false, "task": false}
//| export
/** x * Phi(x) (erf form, as module 02's GELU) in one pass; saves the slope Phi(x) + x phi(x) for its rule. */
function fusedGelu(x: Tensor): Tensor {
  const accelerated = transformerKernelSlot.gelu?.(x);
  if (accelerated) return accelerated;
  const data = x.data;
  const out = new Float32Array(data.length);
  const slope = new Float32Array(data.length);
  for (let i = 0; i < data.length; i++) {
    const v = data[i];
    const gauss = Math.exp(-0.5 * v * v); // exp(-a²) of erf with a = |v|/√2, and √(2π)·φ(v)
    const t = 1 / (1 + 0.3275911 * Math.abs(v / Math.SQRT2));
    const poly = t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429))));
    const erfAbs = 1 - poly * gauss;
    // erf(v) = sign(v)·erf(|v|), the sign as a number rather than a branch: GELU's inputs are
    // about half negative, in no order, so a branch on it is mispredicted half the time.
    const sign = Number(v > 0) - Number(v < 0);
    const cdf = 0.5 * (1 + sign * erfAbs);
    out[i] = v * cdf;
    slope[i] = cdf + (v * gauss) / Math.sqrt(2 * Math.PI);
  }
  return Tensor.record(new Tensor(out, x.shape), "fusedGelu", [x], { saved: [new Tensor(slope, x.shape)] });
}

/** fusedGelu's rule: the incoming gradient times the saved slope. */
function fusedGeluBackward(g: Tensor, node: GradNode): (Tensor | null)[] {
  const slope = (node.args.saved ?? [])[0];
  const [gd, sd] = [g.data, slope.data];
  const dx = new Float32Array(gd.length);
  for (let i = 0; i < dx.length; i++) dx[i] = gd[i] * sd[i];
  return [new Tensor(dx, g.shape)];
}

registerRules({ fusedGelu: fusedGeluBackward });

// %% [markdown]
// ## Part 2: The block
//
// Between two attentions, each position is processed on its own by a small **MLP**: widen to
// `4C`, GELU (module 02's function, in one pass), narrow back to `C`. Attention mixes information *between* positions,
// the MLP computes *within* each; together they are about two thirds of the model's parameters
// and FLOPs (the MLP alone twice as much as attention's projections).
//
// A block adds each sub-layer's output to its input: `x + f(x)`. These **residual connections**
// give the gradient a path straight through every block to the embeddings, so that a deep stack
// trains like a shallow one. GPT-2 moved the normalisation **before** each sub-layer
// (**pre-norm**, `x + f(ln(x))`) instead of after (`ln(x + f(x))`, the 2017 paper): the
// residual path then carries the raw sum untouched, and training is stable without a careful
// warm-up. The final `lnF` of the GPT normalises the sum once at the end.
//
// ### Exercise 3: `MLP` and `TransformerBlock`
//
// **TODO**: Implement both `forward` methods.
//
// **APPROACH**:
// - `MLP.forward(x)`: `proj(gelu(fc(x)))`, with module 12's `linear` on the rows
//   `x.reshape(-1, C)` and `fusedGelu` between, reshaped back to `x.shape`.
// - `TransformerBlock.forward(x, options)`: `x + attn(ln1(x), { causal: true, cache })`, then
//   `+ mlp(ln2(·))` of the result, both with `Tensor.add`.
//
// **HINTS**:
// - Write down which tensor each residual adds to: the normalised one, or the one before
//   normalisation?

// %% nbgrader={"grade": false, "grade_id": "transformer-block", "locked": false, "schema_version": 3, "solution": true, "task": false}
//| export
/** Linear(C, 4C), GELU, Linear(4C, C), applied at every position. */
class MLP extends Layer {
  fc: Linear;
  proj: Linear;

  constructor(dModel: number, options: { seed?: number } = {}) {
    super();
    this.fc = new Linear(dModel, 4 * dModel, { seed: options.seed });
    this.proj = new Linear(4 * dModel, dModel, { seed: options.seed === undefined ? undefined : options.seed + 1 });
  }

  forward(x: Tensor): Tensor {
    // ### BEGIN SOLUTION
    const rows = x.reshape(-1, x.shape[x.ndim - 1]);
    return linear(fusedGelu(linear(rows, this.fc)), this.proj).reshape(x.shape);
    // ### END SOLUTION
  }

  override parameters(): Tensor[] {
    return [...this.fc.parameters(), ...this.proj.parameters()];
  }
}

/** Pre-norm block: x + attn(ln1(x)) (causal), then + mlp(ln2(x)). */
class TransformerBlock extends Layer {
  ln1: LayerNorm;
  attn: MultiHeadAttention;
  ln2: LayerNorm;
  mlp: MLP;

  constructor(dModel: number, numHeads: number, options: { seed?: number } = {}) {
    super();
    const seed = options.seed;
    this.ln1 = new LayerNorm(dModel);
    this.attn = new MultiHeadAttention(dModel, numHeads, { seed });
    this.ln2 = new LayerNorm(dModel);
    this.mlp = new MLP(dModel, { seed: seed === undefined ? undefined : seed + 4 });
  }

  forward(x: Tensor, options: { cache?: LayerKVCache } = {}): Tensor {
    // ### BEGIN SOLUTION
    const afterAttention = x.add(this.attn.forward(this.ln1.forward(x), { causal: true, cache: options.cache }));
    return afterAttention.add(this.mlp.forward(this.ln2.forward(afterAttention)));
    // ### END SOLUTION
  }

  override parameters(): Tensor[] {
    return [...this.ln1.parameters(), ...this.attn.parameters(), ...this.ln2.parameters(), ...this.mlp.parameters()];
  }
}

// %% nbgrader={"grade": true, "grade_id": "test-unit-transformer-block", "locked": true, "points": 5, "schema_version": 3, "solution": false, "task": false}
function testUnitTransformerBlock(): void {
  const block = new TransformerBlock(8, 2, { seed: 0 });
  const x = Tensor.randn([2, 5, 8], 1);
  assertShape(block.forward(x).shape, [2, 5, 8]);
  assertEqual(block.parameters().length, 16, "2 LayerNorms (2 each), 4 attention projections (2 each), 2 MLP layers (2 each)");
  assertShape(new MLP(8, { seed: 2 }).forward(x).shape, [2, 5, 8]);
  // ### BEGIN HIDDEN TESTS
  {
    // Seeded: a block of random size and seed with random LayerNorm parameters and biases, on
    // random input; its output against the test's float64 block, and the gradients of the input
    // and of ln2.weight (which only the MLP branch uses) against central differences of it.
    const r = testRandom("transformers/block");
    for (let trial = 0; trial < 2; trial++) {
      const [numHeads, hd, b, t] = [r.int(1, 2), r.int(1, 3), r.int(1, 2), r.int(1, 4)];
      const c = numHeads * hd;
      const blk = new TransformerBlock(c, numHeads, { seed: r.seed() });
      for (const p of [blk.ln1.weight, blk.ln1.bias, blk.ln2.weight, blk.ln2.bias]) p.data.set(r.numbers(c, -1.5, 1.5));
      for (const lin of [blk.attn.qProj, blk.attn.kProj, blk.attn.vProj, blk.attn.outProj, blk.mlp.fc, blk.mlp.proj]) lin.bias?.data.set(r.numbers(lin.outFeatures, -0.3, 0.3));
      const xs = randomTensor(r, [b, t, c], 2);
      const P = (tensor: Tensor | null): number[] => Array.from(tensor?.data ?? []);
      const a = blk.attn;
      const params = { ln1: [P(blk.ln1.weight), P(blk.ln1.bias)], q: [P(a.qProj.weight), P(a.qProj.bias)], k: [P(a.kProj.weight), P(a.kProj.bias)], v: [P(a.vProj.weight), P(a.vProj.bias)], o: [P(a.outProj.weight), P(a.outProj.bias)], ln2b: P(blk.ln2.bias), fc: [P(blk.mlp.fc.weight), P(blk.mlp.fc.bias)], pr: [P(blk.mlp.proj.weight), P(blk.mlp.proj.bias)] };
      /** Oracle: the pre-norm block in float64, with ln2's weight given. */
      const block64 = (input: ArrayLike<number>, ln2w: ArrayLike<number>): number[] => {
        const rows = b * t;
        const lin = (x: number[], [w, bias]: number[][], nin: number, nout: number): number[] => Array.from({ length: rows * nout }, (_, f) => {
          let s = bias[f % nout];
          for (let i = 0; i < nin; i++) s += x[Math.floor(f / nout) * nin + i] * w[i * nout + (f % nout)];
          return s;
        });
        const ln = (x: number[], g: ArrayLike<number>, bb: ArrayLike<number>): number[] => x.map((v, f) => {
          const row = x.slice(f - (f % c), f - (f % c) + c);
          const m = row.reduce((p, u) => p + u, 0) / c;
          const variance = row.reduce((p, u) => p + (u - m) ** 2, 0) / c;
          return ((v - m) / Math.sqrt(variance + 1e-5)) * g[f % c] + bb[f % c];
        });
        const erf = (z: number): number => {
          const s = 1 / (1 + 0.3275911 * Math.abs(z));
          const e = 1 - s * (0.254829592 + s * (-0.284496736 + s * (1.421413741 + s * (-1.453152027 + s * 1.061405429)))) * Math.exp(-z * z);
          return z < 0 ? -e : e;
        };
        const x0 = Array.from(input);
        const h = ln(x0, params.ln1[0], params.ln1[1]);
        const [qv, kv, vv] = [lin(h, params.q, c, c), lin(h, params.k, c, c), lin(h, params.v, c, c)];
        const merged = new Array<number>(rows * c).fill(0);
        for (let bi = 0; bi < b; bi++) {
          for (let hh = 0; hh < numHeads; hh++) {
            for (let i = 0; i < t; i++) {
              const s = Array.from({ length: i + 1 }, (_, j) => {
                let dot = 0;
                for (let e = 0; e < hd; e++) dot += qv[(bi * t + i) * c + hh * hd + e] * kv[(bi * t + j) * c + hh * hd + e];
                return dot / Math.sqrt(hd);
              });
              const m = Math.max(...s);
              const ex = s.map((z) => Math.exp(z - m));
              const total = ex.reduce((p, z) => p + z, 0);
              for (let e = 0; e < hd; e++) merged[(bi * t + i) * c + hh * hd + e] = ex.reduce((p, z, j) => p + (z / total) * vv[(bi * t + j) * c + hh * hd + e], 0);
            }
          }
        }
        const x1 = lin(merged, params.o, c, c).map((v, f) => v + x0[f]);
        const hidden = lin(ln(x1, ln2w, params.ln2b), params.fc, c, 4 * c).map((z) => 0.5 * z * (1 + erf(z / Math.SQRT2)));
        return lin(hidden, params.pr, 4 * c, c).map((v, f) => v + x1[f]);
      };
      const out = blk.forward(xs);
      const label = `TransformerBlock(${c}, ${numHeads}) on [${b}, ${t}, ${c}]`;
      assertClose(Array.from(out.data), block64(xs.data, blk.ln2.weight.data), { rtol: 2e-4, atol: 2e-4 }, `${label}: output`);
      const w = r.numbers(out.size, -1, 1);
      out.backward(new Tensor(Float32Array.from(w), out.shape));
      assertClose(Array.from(xs.grad?.data ?? []), centralDifferences((v) => block64(v, blk.ln2.weight.data), xs.data, w), { rtol: 3e-3, atol: 3e-4 }, `${label}: d x`);
      assertClose(Array.from(blk.ln2.weight.grad?.data ?? []), centralDifferences((v) => block64(xs.data, v), blk.ln2.weight.data, w), { rtol: 3e-3, atol: 3e-4 }, `${label}: d ln2.weight`);
    }
  }
  // ### END HIDDEN TESTS
  passed("testUnitTransformerBlock");
}
testUnitTransformerBlock();

// %%
//| mutation transformer-block post-norm: ln(x + f(x)) instead of x + f(ln(x))
class MLP extends Layer {
  fc: Linear;
  proj: Linear;
  constructor(dModel: number, options: { seed?: number } = {}) {
    super();
    this.fc = new Linear(dModel, 4 * dModel, { seed: options.seed });
    this.proj = new Linear(4 * dModel, dModel, { seed: options.seed === undefined ? undefined : options.seed + 1 });
  }
  forward(x: Tensor): Tensor {
    const rows = x.reshape(-1, x.shape[x.ndim - 1]);
    return linear(fusedGelu(linear(rows, this.fc)), this.proj).reshape(x.shape);
  }
  override parameters(): Tensor[] {
    return [...this.fc.parameters(), ...this.proj.parameters()];
  }
}
class TransformerBlock extends Layer {
  ln1: LayerNorm;
  attn: MultiHeadAttention;
  ln2: LayerNorm;
  mlp: MLP;
  constructor(dModel: number, numHeads: number, options: { seed?: number } = {}) {
    super();
    const seed = options.seed;
    this.ln1 = new LayerNorm(dModel);
    this.attn = new MultiHeadAttention(dModel, numHeads, { seed });
    this.ln2 = new LayerNorm(dModel);
    this.mlp = new MLP(dModel, { seed: seed === undefined ? undefined : seed + 4 });
  }
  forward(x: Tensor, options: { cache?: LayerKVCache } = {}): Tensor {
    const a = this.ln1.forward(x.add(this.attn.forward(x, { causal: true, cache: options.cache })));
    return this.ln2.forward(a.add(this.mlp.forward(a)));
  }
  override parameters(): Tensor[] {
    return [...this.ln1.parameters(), ...this.attn.parameters(), ...this.ln2.parameters(), ...this.mlp.parameters()];
  }
}

// %%
//| mutation transformer-block the second residual adds the normalised tensor
class MLP extends Layer {
  fc: Linear;
  proj: Linear;
  constructor(dModel: number, options: { seed?: number } = {}) {
    super();
    this.fc = new Linear(dModel, 4 * dModel, { seed: options.seed });
    this.proj = new Linear(4 * dModel, dModel, { seed: options.seed === undefined ? undefined : options.seed + 1 });
  }
  forward(x: Tensor): Tensor {
    const rows = x.reshape(-1, x.shape[x.ndim - 1]);
    return linear(fusedGelu(linear(rows, this.fc)), this.proj).reshape(x.shape);
  }
  override parameters(): Tensor[] {
    return [...this.fc.parameters(), ...this.proj.parameters()];
  }
}
class TransformerBlock extends Layer {
  ln1: LayerNorm;
  attn: MultiHeadAttention;
  ln2: LayerNorm;
  mlp: MLP;
  constructor(dModel: number, numHeads: number, options: { seed?: number } = {}) {
    super();
    const seed = options.seed;
    this.ln1 = new LayerNorm(dModel);
    this.attn = new MultiHeadAttention(dModel, numHeads, { seed });
    this.ln2 = new LayerNorm(dModel);
    this.mlp = new MLP(dModel, { seed: seed === undefined ? undefined : seed + 4 });
  }
  forward(x: Tensor, options: { cache?: LayerKVCache } = {}): Tensor {
    const a = x.add(this.attn.forward(this.ln1.forward(x), { causal: true, cache: options.cache }));
    const n = this.ln2.forward(a);
    return n.add(this.mlp.forward(n));
  }
  override parameters(): Tensor[] {
    return [...this.ln1.parameters(), ...this.attn.parameters(), ...this.ln2.parameters(), ...this.mlp.parameters()];
  }
}

// %% [markdown]
// ## Part 3: From logits to the next token
//
// The model gives, at each position, `V` **logits**: unnormalised log-probabilities of the
// next token. To generate text, take the logits of the last position, turn them into
// probabilities, draw a token, append it, and repeat. Two knobs shape the draw:
//
// - **temperature** `τ`: `softmax(logits / τ)`. Below 1 it sharpens the distribution towards
//   the likeliest tokens (safe, repetitive); above 1 it flattens it (varied, error-prone);
//   `τ = 0` means always the likeliest token (greedy decoding).
// - **top-k**: keep only the `k` likeliest tokens, renormalise, draw among them. It cuts the
//   long tail of unlikely tokens, which together are often drawn even though each is rare.
//
// The draw itself is **inverse transform sampling** with a uniform number `u` in `[0, 1)`:
// walk the kept tokens in increasing id order, adding their probabilities, and return the first
// whose running sum exceeds `u`. Taking `u` as an argument keeps `sampleNext` a pure function:
// `generate` draws `u` from a seeded generator, so a seed fixes the sample.
//
// ### Exercise 4: `sampleNext`
//
// **TODO**: Return the token drawn by `u` from `logits` under the temperature and top-k.
//
// **APPROACH**:
// 1. `temperature` defaults to 1; if it is 0, return the index of the largest logit (the first
//    one on ties).
// 2. Scale: `z = logits / temperature`.
// 3. The kept tokens: all of them, or with `topK` the `k` largest `z` (ties: the smaller id).
// 4. Over the kept tokens, `p = exp(z − max z) / Σ exp(z − max z)`.
// 5. In increasing id order over the kept tokens, add up `p`; return the first id whose sum
//    exceeds `u` (or the last kept id, if rounding leaves the sum just below `u`).
//
// **HINTS**:
// - Sort *indices* (`[0, 1, …]` by `z` descending, then id) to choose the top `k`, then put the
//   kept ones back in id order for the walk.

// %% nbgrader={"grade": false, "grade_id": "sample-next", "locked": false, "schema_version": 3, "solution": true, "task": false}
//| export
/** How to pick the next token: temperature (0: greedy) and top-k. */
interface SamplingOptions {
  temperature?: number;
  topK?: number;
}

/** The token that the uniform number `u` draws from softmax(logits / temperature), restricted to the top k. */
function sampleNext(logits: ArrayLike<number>, options: SamplingOptions, u: number): number {
  // ### BEGIN SOLUTION
  const temperature = options.temperature ?? 1;
  const n = logits.length;
  if (temperature === 0) {
    let best = 0;
    for (let i = 1; i < n; i++) if (logits[i] > logits[best]) best = i;
    return best;
  }
  const z = Array.from(logits, (v) => v / temperature);
  let kept = Array.from({ length: n }, (_, i) => i);
  if (options.topK !== undefined && options.topK < n) {
    kept = kept.sort((a, b) => z[b] - z[a] || a - b).slice(0, Math.max(1, options.topK)).sort((a, b) => a - b);
  }
  const top = Math.max(...kept.map((i) => z[i]));
  const weights = kept.map((i) => Math.exp(z[i] - top));
  const total = weights.reduce((s, w) => s + w, 0);
  let cumulative = 0;
  for (let k = 0; k < kept.length; k++) {
    cumulative += weights[k] / total;
    if (cumulative > u) return kept[k];
  }
  return kept[kept.length - 1];
  // ### END SOLUTION
}

// %% nbgrader={"grade": true, "grade_id": "test-unit-sample-next", "locked": true, "points": 3, "schema_version": 3, "solution": false, "task": false}
function testUnitSampleNext(): void {
  const logits = [Math.log(1), Math.log(3), Math.log(6)]; // probabilities 0.1, 0.3, 0.6
  assertEqual([0.05, 0.2, 0.5].map((u) => sampleNext(logits, {}, u)), [0, 1, 2], "inverse transform sampling");
  assertEqual(sampleNext(logits, { temperature: 0 }, 0.01), 2, "temperature 0: greedy");
  assertEqual(sampleNext(logits, { topK: 1 }, 0.01), 2, "top-1 keeps the likeliest token");
  // ### BEGIN HIDDEN TESTS
  assertEqual(sampleNext(logits, { topK: 2 }, 0.3), 1, "top-2: probabilities 1/3 and 2/3");
  {
    // Seeded: random logits, temperatures, top-k and uniform numbers (kept away from the
    // boundaries between tokens), against the test's own sampler.
    const r = testRandom("transformers/sample-next");
    for (let trial = 0; trial < 12; trial++) {
      const n = r.int(1, 12);
      const row = Array.from({ length: n }, () => (r.bool(0.2) ? 1.5 : r.normal(0, 2)));
      const options: SamplingOptions = { temperature: r.pick([0, 0.5, 1, 1.7]), topK: r.bool() ? r.int(1, n + 1) : undefined };
      /** Oracle: the running sums of the kept tokens' probabilities, in id order. */
      const steps = (): [number[], number[]] => {
        const tau = options.temperature ?? 1;
        const z = row.map((v) => v / (tau === 0 ? 1 : tau));
        const order = row.map((_, i) => i).sort((a, b) => z[b] - z[a] || a - b);
        const kept = tau === 0 ? [order[0]] : order.slice(0, Math.min(n, options.topK ?? n)).sort((a, b) => a - b);
        const top = Math.max(...kept.map((i) => z[i]));
        const total = kept.reduce((s, i) => s + Math.exp(z[i] - top), 0);
        let acc = 0;
        return [kept, kept.map((i) => (acc += Math.exp(z[i] - top) / total))];
      };
      const [kept, sums] = steps();
      const k = r.int(0, kept.length - 1);
      const u = (k === 0 ? 0 : sums[k - 1]) + (sums[k] - (k === 0 ? 0 : sums[k - 1])) * r.uniform(0.05, 0.95);
      /** Oracle: the token whose interval holds u. */
      const drawn = (): number => kept[sums.findIndex((s) => s > u)];
      assertEqual(sampleNext(row, options, u), drawn(), `logits [${row.map((v) => v.toFixed(2))}], temperature ${options.temperature}, topK ${options.topK}, u ${u.toFixed(4)}`);
    }
  }
  // ### END HIDDEN TESTS
  passed("testUnitSampleNext");
}
testUnitSampleNext();

// %%
//| mutation sample-next multiplies by the temperature instead of dividing
interface SamplingOptions {
  temperature?: number;
  topK?: number;
}
function sampleNext(logits: ArrayLike<number>, options: SamplingOptions, u: number): number {
  const temperature = options.temperature ?? 1;
  const n = logits.length;
  if (temperature === 0) return Array.from(logits).indexOf(Math.max(...Array.from(logits)));
  const z = Array.from(logits, (v) => v * temperature);
  let kept = Array.from({ length: n }, (_, i) => i);
  if (options.topK !== undefined && options.topK < n) kept = kept.sort((a, b) => z[b] - z[a] || a - b).slice(0, options.topK).sort((a, b) => a - b);
  const top = Math.max(...kept.map((i) => z[i]));
  const weights = kept.map((i) => Math.exp(z[i] - top));
  const total = weights.reduce((s, w) => s + w, 0);
  let cumulative = 0;
  for (let k = 0; k < kept.length; k++) if ((cumulative += weights[k] / total) > u) return kept[k];
  return kept[kept.length - 1];
}

// %%
//| mutation sample-next top-k keeps k + 1 tokens
interface SamplingOptions {
  temperature?: number;
  topK?: number;
}
function sampleNext(logits: ArrayLike<number>, options: SamplingOptions, u: number): number {
  const temperature = options.temperature ?? 1;
  const n = logits.length;
  if (temperature === 0) return Array.from(logits).indexOf(Math.max(...Array.from(logits)));
  const z = Array.from(logits, (v) => v / temperature);
  let kept = Array.from({ length: n }, (_, i) => i);
  if (options.topK !== undefined && options.topK < n) kept = kept.sort((a, b) => z[b] - z[a] || a - b).slice(0, options.topK + 1).sort((a, b) => a - b);
  const top = Math.max(...kept.map((i) => z[i]));
  const weights = kept.map((i) => Math.exp(z[i] - top));
  const total = weights.reduce((s, w) => s + w, 0);
  let cumulative = 0;
  for (let k = 0; k < kept.length; k++) if ((cumulative += weights[k] / total) > u) return kept[k];
  return kept[kept.length - 1];
}

// %% [markdown]
// ## Part 4: The GPT
//
// `gptForward` runs the whole model on ids `[B, T]`: token vectors from `wte` plus position
// vectors from `wpe` (broadcast over the batch), every block in turn, the final `lnF`, and
// `lmHead` to `V` logits per position.
//
// With a **cache** (module 17), the ids are only the newest tokens: their positions start at
// `cache.length`, the number of positions already cached, and block `i` attends through
// `cache.layer(i)`. Read `cache.length` *before* the blocks run: they append to it.
//
// ### Exercise 5: `gptForward`
//
// **TODO**: Return the logits `[B, T, V]`.
//
// **APPROACH**: `const [, t] = idx.shape`; `offset` is `cache.length` (0 without a cache);
// `x = wte(idx) + wpe(t, offset)`; for each block `i`: `x = blocks[i].forward(x, { cache: cache?.layer(i) })`;
// return `lmHead(lnF(x))`, with `linear` on the `[B·T, C]` rows, reshaped to `[B, T, V]`.
// (Ids longer than the context make `wpe` throw: it has `blockSize` positions.)
//
// **HINTS**:
// - `wpe` gives `[T, C]` and `wte` gives `[B, T, C]`: what makes their sum line up?
// - Feed a sequence in two pieces through a cache: the second piece's positions must not
//   start at 0.

// %% nbgrader={"grade": false, "grade_id": "gpt-forward", "locked": false, "schema_version": 3, "solution": true, "task": false}
//| export
/** What GPT's generation needs from a key/value cache for the whole model (module 17 provides one). */
interface ModelKVCache {
  /** Positions cached so far. */
  readonly length: number;
  /** The cache of block `index`. */
  layer(index: number): LayerKVCache;
  /** Forgets every position. */
  reset(): void;
}

/** The parts of a GPT, by GPT-2's names. */
interface GPTModules {
  wte: Embedding;
  wpe: PositionalEmbedding;
  blocks: TransformerBlock[];
  lnF: LayerNorm;
  lmHead: Linear;
}

/** Logits [B, T, V] of ids [B, T]; with a cache, the ids continue the cached positions. */
function gptForward(model: GPTModules, idx: Tensor, cache?: ModelKVCache): Tensor {
  if (idx.ndim !== 2) throw new Error(`GPT: ids must have shape [B, T], got [${idx.shape.join(", ")}]`);
  // ### BEGIN SOLUTION
  const t = idx.shape[1];
  const offset = cache === undefined ? 0 : cache.length;
  let x = model.wte.forward(idx).add(model.wpe.forward(t, offset));
  model.blocks.forEach((block, i) => {
    x = block.forward(x, { cache: cache?.layer(i) });
  });
  const [b, , c] = x.shape;
  return linear(model.lnF.forward(x).reshape(b * t, c), model.lmHead).reshape(b, t, -1);
  // ### END SOLUTION
}

// %% nbgrader={"grade": false, "grade_id": "gpt-class", "locked": true, "schema_version": 3, "solution": false, "task": false}
//| export
/** The size of a GPT. */
interface GPTConfig {
  vocabSize: number;
  /** The context: the most positions the model reads at once. */
  blockSize: number;
  dModel: number;
  numHeads: number;
  numLayers: number;
  /** Seed of every initialisation (default 0). */
  seed?: number;
}

/** Options of GPT.generate. */
interface GenerateOptions extends SamplingOptions {
  /** Seed of the uniform numbers of the draws (default 0). */
  seed?: number;
  /** A key/value cache: each step then runs the newest token only (module 17). */
  cache?: ModelKVCache;
}

/** A GPT: token and position embeddings, pre-norm blocks, a final LayerNorm and a linear head. */
class GPT extends Layer implements GPTModules {
  readonly config: Required<GPTConfig>;
  wte: Embedding;
  wpe: PositionalEmbedding;
  blocks: TransformerBlock[];
  lnF: LayerNorm;
  lmHead: Linear;

  constructor(config: GPTConfig) {
    super();
    this.config = { ...config, seed: config.seed ?? 0 };
    const { vocabSize, blockSize, dModel, numHeads, numLayers, seed } = this.config;
    this.wte = new Embedding(vocabSize, dModel, { seed });
    this.wpe = new PositionalEmbedding(blockSize, dModel, { seed: seed + 1 });
    this.blocks = Array.from({ length: numLayers }, (_, i) => new TransformerBlock(dModel, numHeads, { seed: seed + 10 * (i + 1) }));
    this.lnF = new LayerNorm(dModel);
    this.lmHead = new Linear(dModel, vocabSize, { seed: seed + 2 });
    // GPT-2's initialisation: small embeddings (std 0.02), and the two projections that write
    // into the residual stream scaled by 1/√(2·numLayers), so that the sum of 2·numLayers
    // residual branches starts at the scale of one.
    this.wte.weight.data.forEach((v, i, a) => (a[i] = v * 0.02));
    this.wpe.weight.data.forEach((v, i, a) => (a[i] = v * 0.02));
    for (const block of this.blocks) {
      for (const w of [block.attn.outProj.weight, block.mlp.proj.weight]) w.data.forEach((v, i, a) => (a[i] = v / Math.sqrt(2 * numLayers)));
    }
  }

  forward(idx: Tensor, options: { cache?: ModelKVCache } = {}): Tensor {
    return gptForward(this, idx, options.cache);
  }

  /** Mean cross-entropy of the next-token predictions: targets [B, T] are the ids shifted by one. */
  loss(idx: Tensor, targets: Tensor): Tensor {
    const logits = this.forward(idx);
    const [b, t, v] = logits.shape;
    const [rows, labels] = [logits.reshape(b * t, v), targets.reshape(b * t)];
    return transformerKernelSlot.crossEntropy?.(rows, labels) ?? new CrossEntropyLoss().forward(rows, labels);
  }

  override parameters(): Tensor[] {
    return this.namedParameters().map(([, p]) => p);
  }

  /** Every parameter with its name (GPT-2's names; Linear weights are [in, out], module 03's layout). */
  namedParameters(): [string, Tensor][] {
    const out: [string, Tensor][] = [["wte.weight", this.wte.weight], ["wpe.weight", this.wpe.weight]];
    this.blocks.forEach((b, i) => {
      const named: [string, Layer & { parameters(): Tensor[] }][] = [["ln1", b.ln1], ["attn.qProj", b.attn.qProj], ["attn.kProj", b.attn.kProj], ["attn.vProj", b.attn.vProj], ["attn.outProj", b.attn.outProj], ["ln2", b.ln2], ["mlp.fc", b.mlp.fc], ["mlp.proj", b.mlp.proj]];
      for (const [name, layer] of named) {
        const [weight, bias] = layer.parameters();
        out.push([`blocks.${i}.${name}.weight`, weight], [`blocks.${i}.${name}.bias`, bias]);
      }
    });
    out.push(["lnF.weight", this.lnF.weight], ["lnF.bias", this.lnF.bias], ["lmHead.weight", this.lmHead.weight]);
    if (this.lmHead.bias !== null) out.push(["lmHead.bias", this.lmHead.bias]);
    return out;
  }

  override train(): this {
    super.train();
    for (const b of this.blocks) b.train();
    return this;
  }

  override eval(): this {
    super.eval();
    for (const b of this.blocks) b.eval();
    return this;
  }

  /**
   * `prompt` followed by `maxNewTokens` drawn tokens. Without a cache, every step runs the last
   * `blockSize` tokens; with one, every step runs the newest token only, until the sequence
   * outgrows the context, when each step refills the cache with the last `blockSize` tokens
   * (so both give the same tokens).
   */
  generate(prompt: readonly number[], maxNewTokens: number, options: GenerateOptions = {}): number[] {
    if (prompt.length === 0) throw new Error("GPT.generate: the prompt needs at least one token");
    const { blockSize, vocabSize } = this.config;
    const rng = new Rng(options.seed ?? 0);
    const cache = options.cache;
    const ids = [...prompt];
    const wasTraining = this.training;
    this.eval();
    try {
      return noGrad(() => {
        const window = (): Tensor => new Tensor(Float32Array.from(ids.slice(-blockSize)), [1, Math.min(ids.length, blockSize)]);
        cache?.reset();
        let logits = this.forward(window(), { cache });
        for (let n = 0; n < maxNewTokens; n++) {
          const last = logits.data.subarray(logits.size - vocabSize);
          const next = sampleNext(last, options, rng.next());
          ids.push(next);
          if (n === maxNewTokens - 1) break;
          if (cache !== undefined && cache.length < blockSize) {
            logits = this.forward(new Tensor(Float32Array.of(next), [1, 1]), { cache });
          } else {
            cache?.reset();
            logits = this.forward(window(), { cache });
          }
        }
        return ids;
      });
    } finally {
      if (wasTraining) this.train();
    }
  }
}

// %% nbgrader={"grade": true, "grade_id": "test-unit-gpt-forward", "locked": true, "points": 5, "schema_version": 3, "solution": false, "task": false}
function testUnitGptForward(): void {
  const gpt = new GPT({ vocabSize: 11, blockSize: 8, dModel: 8, numHeads: 2, numLayers: 2, seed: 3 });
  const logits = gpt.forward(new Tensor([[1, 2, 3], [4, 5, 6]]));
  assertShape(logits.shape, [2, 3, 11]);
  assertEqual(gpt.namedParameters().slice(0, 3).map(([name, p]) => [name, p.shape]), [["wte.weight", [11, 8]], ["wpe.weight", [8, 8]], ["blocks.0.ln1.weight", [8]]], "GPT-2's names, PyTorch's shapes");
  // ### BEGIN HIDDEN TESTS
  assertThrows(() => gpt.forward(new Tensor([[1, 2, 3, 4, 5, 6, 7, 8, 9]])), "positions", "longer than the context");
  {
    // Seeded: a GPT of random size and seed on random ids; the logits against the test's
    // float64 GPT, and the gradient of sum(w * logits) for the position table against central
    // differences of it.
    const r = testRandom("transformers/gpt-forward");
    const [numHeads, hd, layers, vocab, blockSize] = [r.int(1, 2), r.int(1, 3), r.int(1, 2), r.int(2, 7), r.int(2, 5)];
    const c = numHeads * hd;
    const model = new GPT({ vocabSize: vocab, blockSize, dModel: c, numHeads, numLayers: layers, seed: r.seed() });
    for (const [name, p] of model.namedParameters()) if (name.endsWith(".bias") || name.includes("ln")) p.data.set(r.numbers(p.size, -0.5, 0.5).map((v) => (name.includes("ln") && name.endsWith("weight") ? 1 + v : v)));
    // Tables of unit scale (not GPT-2's 0.02), so that every position visibly matters.
    for (const table of [model.wte.weight, model.wpe.weight]) table.data.set(r.numbers(table.size, -1, 1));
    const [b, t] = [r.int(1, 2), r.int(2, blockSize)];
    const ids = Array.from({ length: b * t }, () => r.int(0, vocab - 1));
    const P = new Map(model.namedParameters().map(([name, p]) => [name, Array.from(p.data)]));
    /** Oracle: the GPT in float64, with the position table given. */
    const gpt64 = (wpe: ArrayLike<number>): number[] => {
      const rows = b * t;
      const get = (name: string): number[] => P.get(name) ?? [];
      const lin = (x: number[], name: string, nin: number, nout: number): number[] => Array.from({ length: rows * nout }, (_, f) => {
        let s = get(`${name}.bias`)[f % nout];
        for (let i = 0; i < nin; i++) s += x[Math.floor(f / nout) * nin + i] * get(`${name}.weight`)[i * nout + (f % nout)];
        return s;
      });
      const ln = (x: number[], name: string): number[] => x.map((v, f) => {
        const row = x.slice(f - (f % c), f - (f % c) + c);
        const m = row.reduce((p, u) => p + u, 0) / c;
        const variance = row.reduce((p, u) => p + (u - m) ** 2, 0) / c;
        return ((v - m) / Math.sqrt(variance + 1e-5)) * get(`${name}.weight`)[f % c] + get(`${name}.bias`)[f % c];
      });
      const erf = (z: number): number => {
        const s = 1 / (1 + 0.3275911 * Math.abs(z));
        const e = 1 - s * (0.254829592 + s * (-0.284496736 + s * (1.421413741 + s * (-1.453152027 + s * 1.061405429)))) * Math.exp(-z * z);
        return z < 0 ? -e : e;
      };
      let x = Array.from({ length: rows * c }, (_, f) => get("wte.weight")[ids[Math.floor(f / c)] * c + (f % c)] + wpe[(Math.floor(f / c) % t) * c + (f % c)]);
      for (let l = 0; l < layers; l++) {
        const pre = `blocks.${l}`;
        const h = ln(x, `${pre}.ln1`);
        const [qv, kv, vv] = [lin(h, `${pre}.attn.qProj`, c, c), lin(h, `${pre}.attn.kProj`, c, c), lin(h, `${pre}.attn.vProj`, c, c)];
        const merged = new Array<number>(rows * c).fill(0);
        for (let bi = 0; bi < b; bi++) {
          for (let hh = 0; hh < numHeads; hh++) {
            for (let i = 0; i < t; i++) {
              const s = Array.from({ length: i + 1 }, (_, j) => {
                let dot = 0;
                for (let e = 0; e < hd; e++) dot += qv[(bi * t + i) * c + hh * hd + e] * kv[(bi * t + j) * c + hh * hd + e];
                return dot / Math.sqrt(hd);
              });
              const m = Math.max(...s);
              const ex = s.map((z) => Math.exp(z - m));
              const total = ex.reduce((p, z) => p + z, 0);
              for (let e = 0; e < hd; e++) merged[(bi * t + i) * c + hh * hd + e] = ex.reduce((p, z, j) => p + (z / total) * vv[(bi * t + j) * c + hh * hd + e], 0);
            }
          }
        }
        const x1 = lin(merged, `${pre}.attn.outProj`, c, c).map((v, f) => v + x[f]);
        const hidden = lin(ln(x1, `${pre}.ln2`), `${pre}.mlp.fc`, c, 4 * c).map((z) => 0.5 * z * (1 + erf(z / Math.SQRT2)));
        x = lin(hidden, `${pre}.mlp.proj`, 4 * c, c).map((v, f) => v + x1[f]);
      }
      return lin(ln(x, "lnF"), "lmHead", c, vocab);
    };
    const out = model.forward(new Tensor(Float32Array.from(ids), [b, t]));
    const label = `GPT(V ${vocab}, context ${blockSize}, C ${c}, ${numHeads} heads, ${layers} layers) on [${b}, ${t}]`;
    assertClose(Array.from(out.data), gpt64(P.get("wpe.weight") ?? []), { rtol: 2e-4, atol: 2e-4 }, `${label}: logits`);
    const w = r.numbers(out.size, -1, 1);
    out.backward(new Tensor(Float32Array.from(w), out.shape));
    assertClose(Array.from(model.wpe.weight.grad?.data ?? []), centralDifferences(gpt64, P.get("wpe.weight") ?? [], w), { rtol: 3e-3, atol: 3e-4 }, `${label}: d wpe.weight`);
    // With a cache that concatenates keys and values, the same ids fed in random pieces give
    // the float64 logits of the whole sequence at their positions.
    const concat = (a: Tensor | null, x: Tensor): Tensor => {
      if (a === null) return x;
      const [bs, h, ta, d] = a.shape;
      const tb = x.shape[2];
      const joined = new Float32Array(bs * h * (ta + tb) * d);
      for (let i = 0; i < bs * h; i++) {
        joined.set(a.data.subarray(i * ta * d, (i + 1) * ta * d), i * (ta + tb) * d);
        joined.set(x.data.subarray(i * tb * d, (i + 1) * tb * d), (i * (ta + tb) + ta) * d);
      }
      return new Tensor(joined, [bs, h, ta + tb, d]);
    };
    const layerCaches = Array.from({ length: layers }, () => {
      const kv = { k: null as Tensor | null, v: null as Tensor | null };
      return {
        get length(): number {
          return kv.k === null ? 0 : kv.k.shape[2];
        },
        append(k: Tensor, v: Tensor): { k: Tensor; v: Tensor } {
          kv.k = concat(kv.k, k);
          kv.v = concat(kv.v, v);
          return { k: kv.k, v: kv.v };
        },
      };
    });
    const cache: ModelKVCache = { get length() { return layerCaches[0].length; }, layer: (i) => layerCaches[i], reset: () => undefined };
    const pieces: number[] = [r.int(1, t - 1)];
    for (let at = pieces[0]; at < t; at += pieces[pieces.length - 1]) pieces.push(r.int(1, t - at));
    const cached: number[][] = Array.from({ length: b }, () => []);
    let at = 0;
    for (const len of pieces) {
      const part = Array.from({ length: b * len }, (_, f) => ids[Math.floor(f / len) * t + at + (f % len)]);
      const z = noGrad(() => model.forward(new Tensor(Float32Array.from(part), [b, len]), { cache }));
      for (let bi = 0; bi < b; bi++) cached[bi].push(...Array.from(z.data.subarray(bi * len * vocab, (bi + 1) * len * vocab)));
      at += len;
    }
    assertClose(cached.flat(), gpt64(P.get("wpe.weight") ?? []), { rtol: 2e-4, atol: 2e-4 }, `${label}: fed in pieces ${pieces.join("+")} through a cache`);
  }
  // ### END HIDDEN TESTS
  passed("testUnitGptForward");
}
testUnitGptForward();

// %%
//| mutation gpt-forward forgets the final LayerNorm
interface ModelKVCache {
  readonly length: number;
  layer(index: number): LayerKVCache;
  reset(): void;
}
interface GPTModules {
  wte: Embedding;
  wpe: PositionalEmbedding;
  blocks: TransformerBlock[];
  lnF: LayerNorm;
  lmHead: Linear;
}
function gptForward(model: GPTModules, idx: Tensor, cache?: ModelKVCache): Tensor {
  const t = idx.shape[1];
  let x = model.wte.forward(idx).add(model.wpe.forward(t, cache === undefined ? 0 : cache.length));
  model.blocks.forEach((block, i) => {
    x = block.forward(x, { cache: cache?.layer(i) });
  });
  return linear(x.reshape(-1, x.shape[2]), model.lmHead).reshape(idx.shape[0], t, -1);
}

// %%
//| mutation gpt-forward reads the cache's length after the blocks have appended to it
interface ModelKVCache {
  readonly length: number;
  layer(index: number): LayerKVCache;
  reset(): void;
}
interface GPTModules {
  wte: Embedding;
  wpe: PositionalEmbedding;
  blocks: TransformerBlock[];
  lnF: LayerNorm;
  lmHead: Linear;
}
function gptForward(model: GPTModules, idx: Tensor, cache?: ModelKVCache): Tensor {
  const t = idx.shape[1];
  let x = model.wte.forward(idx);
  model.blocks.forEach((block, i) => {
    if (i === 0) x = x.add(model.wpe.forward(t, 0));
    x = block.forward(x, { cache: cache?.layer(i) });
  });
  return linear(model.lnF.forward(x).reshape(-1, x.shape[2]), model.lmHead).reshape(idx.shape[0], t, -1);
}

// %% [markdown]
// ## A GPT that learns a chapter
//
// A small GPT, trained for a few hundred steps on the characters of chapter 1, then asked to
// continue "Call me". It will not write Melville, but it learns which letters follow which,
// where spaces go and how words end. (The milestone trains the real thing for five minutes.)

// %%
await demo("a small GPT on chapter 1", () => {
  const text = loadMobyDick().chapters[0].text;
  const tok = CharTokenizer.fromText(text);
  const data = tok.encode(text);
  const model = new GPT({ vocabSize: tok.vocabSize, blockSize: 32, dModel: 32, numHeads: 2, numLayers: 1, seed: 0 });
  const optimizer = new AdamW(model.parameters(), { lr: 3e-3 });
  const rng = new Rng(1);
  const batch = (): [Tensor, Tensor] => {
    const x = new Float32Array(8 * 32);
    const y = new Float32Array(8 * 32);
    for (let b = 0; b < 8; b++) {
      const start = rng.int(data.length - 33);
      for (let t = 0; t < 32; t++) [x[b * 32 + t], y[b * 32 + t]] = [data[start + t], data[start + t + 1]];
    }
    return [new Tensor(x, [8, 32]), new Tensor(y, [8, 32])];
  };
  console.log(`before: ${JSON.stringify(tok.decode(model.generate(tok.encode("Call me"), 60, { seed: 0 })))}`);
  for (let step = 1; step <= 150; step++) {
    const [x, y] = batch();
    optimizer.zeroGrad();
    const loss = model.loss(x, y);
    loss.backward();
    optimizer.step();
    if (step % 50 === 0) console.log(`step ${step}: loss ${loss.item().toFixed(3)}`);
  }
  console.log(`after:  ${JSON.stringify(tok.decode(model.generate(tok.encode("Call me"), 60, { seed: 0, temperature: 0.8 })))}`);
});

// %% [markdown]
// ## Reflection
//
// ### Predict, then measure
//
// The milestone's GPT reads characters (`V = 81`), with a context of 64, `C = 128`, 4 heads and
// 2 blocks.
//
// 1. How many **parameters** does it have? (Count the tables, the four projections and the
//    MLP of each block with their biases, the LayerNorms, the head with its bias.)
// 2. What **loss** (mean cross-entropy, in nats per character) do you expect before any
//    training, if the untrained model spreads its probability evenly over the characters?

// %% nbgrader={"grade": false, "grade_id": "predict-gpt-parameters", "locked": false, "schema_version": 3, "solution": true, "task": false}
/** Your prediction: parameters of GPT(V 81, context 64, C 128, 4 heads, 2 blocks). */
function predictedGptParameters(): number {
  // ### BEGIN SOLUTION
  const [v, t, c, layers] = [81, 64, 128, 2];
  const block = 2 * 2 * c + 4 * (c * c + c) + (c * 4 * c + 4 * c) + (4 * c * c + c);
  return v * c + t * c + layers * block + 2 * c + (c * v + v);
  // ### END SOLUTION
}

// %%
//| mutation predict-gpt-parameters forgets the MLP
function predictedGptParameters(): number {
  return 81 * 128 + 64 * 128 + 2 * (4 * 128 + 4 * (128 * 128 + 128)) + 2 * 128 + 128 * 81 + 81;
}

// %% nbgrader={"grade": false, "grade_id": "predict-initial-loss", "locked": false, "schema_version": 3, "solution": true, "task": false}
/** Your prediction: the loss of the untrained model, in nats per character. */
function predictedInitialLoss(): number {
  // ### BEGIN SOLUTION
  return Math.log(81);
  // ### END SOLUTION
}

// %%
//| mutation predict-initial-loss in bits instead of nats
function predictedInitialLoss(): number {
  return Math.log2(81);
}

// %%
await demo("measure the predictions", () => {
  const text = loadMobyDick().text;
  const tok = CharTokenizer.fromText(text);
  const model = new GPT({ vocabSize: tok.vocabSize, blockSize: 64, dModel: 128, numHeads: 4, numLayers: 2, seed: 0 });
  const count = model.parameters().reduce((s, p) => s + p.size, 0);
  const ids = tok.encode(text.slice(5000, 5000 + 4 * 65));
  const x = new Tensor(Float32Array.from({ length: 4 * 64 }, (_, f) => ids[Math.floor(f / 64) * 65 + (f % 64)]), [4, 64]);
  const y = new Tensor(Float32Array.from({ length: 4 * 64 }, (_, f) => ids[Math.floor(f / 64) * 65 + (f % 64) + 1]), [4, 64]);
  const loss = noGrad(() => model.loss(x, y).item());
  console.log(`${count.toLocaleString("en")} parameters (you predicted ${predictedGptParameters().toLocaleString("en")})`);
  console.log(`untrained loss ${loss.toFixed(3)} nats per character (you predicted ${predictedInitialLoss().toFixed(3)}; ln ${tok.vocabSize} = ${Math.log(tok.vocabSize).toFixed(3)})`);
});

// %% nbgrader={"grade": true, "grade_id": "test-unit-transformer-predictions", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
function testUnitTransformerPredictions(): void {
  // ### BEGIN HIDDEN TESTS
  check("the milestone GPT's parameters", 1, () => assertPrediction(predictedGptParameters(), 425_809, { rtol: 0.02 }));
  check("the untrained loss", 1, () => assertPrediction(predictedInitialLoss(), 4.3944, { rtol: 0.1 }));
  // ### END HIDDEN TESTS
  passed("testUnitTransformerPredictions");
}
testUnitTransformerPredictions();

// %% [markdown] nbgrader={"grade": true, "grade_id": "explain-pre-norm", "locked": false, "points": 2, "schema_version": 3, "solution": true, "task": false}
// **Question 1.** Your block computes `x + attn(ln1(x))`. Explain what the residual connection
// does for the gradient of a 24-block GPT, and why GPT-2 moved the LayerNorm from after the
// addition (the 2017 paper's `ln(x + attn(x))`) to before the sub-layer.
//
// ### BEGIN SOLUTION
// The derivative of x + f(x) with respect to x is I + f'(x): the identity term carries the
// gradient from the loss back to every block and to the embeddings unchanged, however deep the
// stack, so early blocks learn as fast as late ones and nothing vanishes through 24 products of
// Jacobians. With post-norm, every block's output passes through a LayerNorm, so the residual
// path is renormalised 24 times and the gradient reaching early layers depends on all those
// normalisations: training needs a careful learning-rate warm-up to stay stable. Pre-norm keeps
// the residual stream a plain sum (each block reads a normalised copy), so the identity path
// is clean and training is stable; one final LayerNorm (lnF) normalises the sum at the end.
// ### END SOLUTION
//
// ### BEGIN RUBRIC
// 2 points: the residual adds an identity path (I + f') so the gradient reaches early layers
// undiminished; pre-norm keeps that path free of normalisations (post-norm puts a LayerNorm on
// it, needing warm-up / less stable), with lnF at the end. 1 point: only the residual's role.
// ### END RUBRIC

// %% [markdown] nbgrader={"grade": true, "grade_id": "explain-sampling", "locked": false, "points": 2, "schema_version": 3, "solution": true, "task": false}
// **Question 2.** Generate from the demo's model with temperature 0, 0.8 and 1.5, and with
// top-k 5. Describe what you see and explain it from the formula of `sampleNext`.
//
// ### BEGIN SOLUTION
// Temperature 0 (greedy) always takes the likeliest next character, so the text quickly falls
// into a loop ("the the the ..."): a deterministic choice repeats whenever a context repeats.
// At 0.8 the distribution is sharpened a little: mostly plausible words with some variety. At
// 1.5 it is flattened: rare characters get real probability, and the text fills with
// misspellings and odd punctuation, because the many unlikely characters together are drawn
// often. Top-k 5 removes all but the five likeliest characters at each step, which cuts that
// tail: even at temperature 1 the words look cleaner, at the cost of never producing a rarer
// but correct character.
// ### END SOLUTION
//
// ### BEGIN RUBRIC
// 2 points: greedy repeats/loops, low temperature sharpens (safe, repetitive), high flattens
// (varied, errors from the tail), and top-k cuts the tail; each tied to dividing logits by τ or
// keeping k tokens. 1 point: observations without the explanation, or only two of the knobs.
// ### END RUBRIC

// %% [markdown]
// ## Module test

// %% nbgrader={"grade": true, "grade_id": "test-module-transformers", "locked": true, "points": 3, "schema_version": 3, "solution": false, "task": false}
function testModule(): void {
  const gpt = new GPT({ vocabSize: 5, blockSize: 6, dModel: 8, numHeads: 2, numLayers: 1, seed: 1 });
  const prompt = [1, 2];
  const out = gpt.generate(prompt, 10, { seed: 4, topK: 3 });
  assertEqual(out.length, 12, "the prompt and 10 new tokens, past the context of 6");
  assertEqual(out, gpt.generate(prompt, 10, { seed: 4, topK: 3 }), "a seed fixes the sample");
  // ### BEGIN HIDDEN TESTS
  {
    // Seeded: a random GPT and random ids; the loss against the mean cross-entropy of the test's
    // float64 GPT, and greedy generation against the argmax of the float64 logits of each
    // window (past the context too).
    const r = testRandom("transformers/module");
    const [numHeads, hd, layers, vocab, blockSize] = [r.int(1, 2), r.int(1, 2), r.int(1, 2), r.int(3, 7), r.int(2, 5)];
    const c = numHeads * hd;
    const model = new GPT({ vocabSize: vocab, blockSize, dModel: c, numHeads, numLayers: layers, seed: r.seed() });
    for (const [name, p] of model.namedParameters()) if (name.endsWith(".bias")) p.data.set(r.numbers(p.size, -0.5, 0.5));
    for (const table of [model.wte.weight, model.wpe.weight]) table.data.set(r.numbers(table.size, -1, 1));
    const P = new Map(model.namedParameters().map(([name, p]) => [name, Array.from(p.data)]));
    /** Oracle: the GPT's logits in float64 for sequences `seqs` (all of length t). */
    const gpt64 = (seqs: number[][]): number[] => {
      const [b, t] = [seqs.length, seqs[0].length];
      const ids = seqs.flat();
      const wpe = P.get("wpe.weight") ?? [];
      const rows = b * t;
      const get = (name: string): number[] => P.get(name) ?? [];
      const lin = (x: number[], name: string, nin: number, nout: number): number[] => Array.from({ length: rows * nout }, (_, f) => {
        let s = get(`${name}.bias`)[f % nout];
        for (let i = 0; i < nin; i++) s += x[Math.floor(f / nout) * nin + i] * get(`${name}.weight`)[i * nout + (f % nout)];
        return s;
      });
      const ln = (x: number[], name: string): number[] => x.map((v, f) => {
        const row = x.slice(f - (f % c), f - (f % c) + c);
        const m = row.reduce((p, u) => p + u, 0) / c;
        const variance = row.reduce((p, u) => p + (u - m) ** 2, 0) / c;
        return ((v - m) / Math.sqrt(variance + 1e-5)) * get(`${name}.weight`)[f % c] + get(`${name}.bias`)[f % c];
      });
      const erf = (z: number): number => {
        const s = 1 / (1 + 0.3275911 * Math.abs(z));
        const e = 1 - s * (0.254829592 + s * (-0.284496736 + s * (1.421413741 + s * (-1.453152027 + s * 1.061405429)))) * Math.exp(-z * z);
        return z < 0 ? -e : e;
      };
      let x = Array.from({ length: rows * c }, (_, f) => get("wte.weight")[ids[Math.floor(f / c)] * c + (f % c)] + wpe[(Math.floor(f / c) % t) * c + (f % c)]);
      for (let l = 0; l < layers; l++) {
        const pre = `blocks.${l}`;
        const h = ln(x, `${pre}.ln1`);
        const [qv, kv, vv] = [lin(h, `${pre}.attn.qProj`, c, c), lin(h, `${pre}.attn.kProj`, c, c), lin(h, `${pre}.attn.vProj`, c, c)];
        const merged = new Array<number>(rows * c).fill(0);
        for (let bi = 0; bi < b; bi++) {
          for (let hh = 0; hh < numHeads; hh++) {
            for (let i = 0; i < t; i++) {
              const s = Array.from({ length: i + 1 }, (_, j) => {
                let dot = 0;
                for (let e = 0; e < hd; e++) dot += qv[(bi * t + i) * c + hh * hd + e] * kv[(bi * t + j) * c + hh * hd + e];
                return dot / Math.sqrt(hd);
              });
              const m = Math.max(...s);
              const ex = s.map((z) => Math.exp(z - m));
              const total = ex.reduce((p, z) => p + z, 0);
              for (let e = 0; e < hd; e++) merged[(bi * t + i) * c + hh * hd + e] = ex.reduce((p, z, j) => p + (z / total) * vv[(bi * t + j) * c + hh * hd + e], 0);
            }
          }
        }
        const x1 = lin(merged, `${pre}.attn.outProj`, c, c).map((v, f) => v + x[f]);
        const hidden = lin(ln(x1, `${pre}.ln2`), `${pre}.mlp.fc`, c, 4 * c).map((z) => 0.5 * z * (1 + erf(z / Math.SQRT2)));
        x = lin(hidden, `${pre}.mlp.proj`, 4 * c, c).map((v, f) => v + x1[f]);
      }
      return lin(ln(x, "lnF"), "lmHead", c, vocab);
    };
    const [b, t] = [r.int(1, 3), r.int(1, blockSize)];
    const seqs = Array.from({ length: b }, () => Array.from({ length: t }, () => r.int(0, vocab - 1)));
    const targets = Array.from({ length: b * t }, () => r.int(0, vocab - 1));
    /** Oracle: mean cross-entropy in float64 of the float64 logits. */
    const ce64 = (): number => {
      const z = gpt64(seqs);
      return targets.reduce((sum, y, i) => {
        const row = z.slice(i * vocab, (i + 1) * vocab);
        const m = Math.max(...row);
        return sum + m + Math.log(row.reduce((acc, v) => acc + Math.exp(v - m), 0)) - row[y];
      }, 0) / targets.length;
    };
    assertClose(model.loss(new Tensor(Float32Array.from(seqs.flat()), [b, t]), new Tensor(Float32Array.from(targets), [b, t])).item(), ce64(), { rtol: 1e-4, atol: 1e-4 }, `GPT(V ${vocab}) loss on [${b}, ${t}]`);
    const start = Array.from({ length: r.int(1, 3) }, () => r.int(0, vocab - 1));
    const steps = r.int(1, blockSize + 2);
    /** Oracle: greedy decoding with the float64 GPT on the last blockSize tokens. */
    const greedy64 = (): number[] => {
      const seq = [...start];
      for (let n = 0; n < steps; n++) {
        const z = gpt64([seq.slice(-blockSize)]);
        const last = z.slice(z.length - vocab);
        seq.push(last.indexOf(Math.max(...last)));
      }
      return seq;
    };
    assertEqual(model.generate(start, steps, { temperature: 0 }), greedy64(), `greedy generation of ${steps} tokens from [${start}], context ${blockSize}`);
    assertThrows(() => model.generate([], 3), "prompt");
  }
  // ### END HIDDEN TESTS
  passed("testModule (transformers)");
}
testModule();

// %% [markdown]
// ## Summary
//
// - `layerNorm` normalises each position over its `C` numbers (biased variance, `eps` inside
//   the square root), then applies `weight` and `bias`; its input gradient
//   `rstd (ĝ − mean ĝ − x̂ mean(ĝ x̂))` follows the paths through the mean and the variance.
// - A pre-norm block, `x + attn(ln1(x))` then `+ mlp(ln2(·))`, keeps a clean residual path for
//   the gradient; the MLP widens to `4C` with GELU.
// - A GPT is `wte + wpe`, blocks, `lnF`, `lmHead`; its loss is the cross-entropy of every
//   next-token prediction of the sequence at once (the causal mask makes that honest).
// - Generation draws one token at a time from `softmax(logits / τ)` restricted to the top `k`,
//   with a seeded uniform number; without a cache, every step runs the whole window again.
//
// Module 17 makes generation fast with a key/value cache; the milestone trains this model on
// Moby-Dick (`npx tito milestone 05`).
