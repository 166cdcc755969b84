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
// # Module 12: Attention
//
// After module 11 every token is a vector, but each vector knows only its own token and
// position. To predict the next letter of "the whal", the model must combine what several
// earlier tokens say. **Attention** lets every position build its output as a weighted average
// of the other positions' vectors, with weights it computes from the data itself:
//
// ```
// Attention(Q, K, V) = softmax(Q Kᵀ / √d) V
// ```
//
// Each position asks a **query** (a row of `Q`), every position offers a **key** (a row of `K`)
// and a **value** (a row of `V`). The score of query `i` for key `j` is their dot product; a
// softmax over `j` turns the scores into weights that sum to 1; the output is the weighted sum
// of the values.
//
// | you build | what it is |
// |---|---|
// | `causalMask` | which keys each query may see: none from the future |
// | `maskedSoftmax` and its backward rule | softmax over the allowed keys only, with its gradient |
// | `splitHeads`, `mergeHeads` | `[B, T, C]` ↔ `[B, H, T, C/H]`: several attentions side by side |
// | `scaledDotProductAttention` | the formula above, returning the output and the weights |
// | `MultiHeadAttention` | projections to Q, K, V, the heads, and the output projection |
//
// The lesson ends by measuring what attention costs: every query meets every key, so time and
// memory grow with `T²`. Everything lands in `tinytorch-ts/nn/attention`.
//
// ### What you will learn
// - why the scores are divided by √d, and what a causal mask does to training;
// - how a softmax's gradient flows, and why masked entries get none;
// - why "multi-head" costs no more than one head of the full width;
// - the quadratic cost of attention, measured.

// %%
//| default_exp nn.attention

// %%
//| export
import { Tensor, type GradNode } from "tinytorch-ts/core/tensor";
import { registerRules } from "tinytorch-ts/core/autograd";
import { Layer, Linear } from "tinytorch-ts/core/layers";

// %% nbgrader={"grade": false, "grade_id": "attention-test-helpers", "locked": true, "schema_version": 3, "solution": false, "task": false}
// Notebook-only imports and helpers (not part of the package).
import { assert, assertClose, assertEqual, assertPrediction, assertShape, assertThrows, check, demo, passed, testRandom } from "tinytorch-ts/support/testing";
import { showChart } from "tinytorch-ts/support/chart";

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
// ## Part 1: The causal mask
//
// A language model learns to predict token `t + 1` from tokens `0 … t`. Trained on a whole
// sequence at once, every position predicts its next token in parallel; but if position `t`
// could attend to position `t + 1`, it would simply read the answer. The **causal mask** forbids
// it: query `i` may attend to key `j` only if `j ≤ i`.
//
// With a cache (module 17), the queries are only the newest positions while the keys are all
// positions so far. So we write the mask for `queries` queries that are the **last** ones of
// `keys` positions: query `i` sits at position `keys − queries + i` and may see keys
// `0 … keys − queries + i`. With `queries = keys` this is the usual lower triangle.
//
// ### Exercise 1: `causalMask`
//
// **TODO**: Return a `[queries, keys]` tensor holding 1 where query `i` may see key `j`, and 0
// elsewhere.
//
// **APPROACH**: `offset = keys − queries`; element `[i, j]` is `j <= i + offset ? 1 : 0`. Throw
// an `Error` if `queries > keys` (a query would have no past).
//
// **HINTS**:
// - Check yourself on `causalMask(1, 4)`: a single new token sees all four positions, itself
//   included.

// %% nbgrader={"grade": false, "grade_id": "causal-mask", "locked": false, "schema_version": 3, "solution": true, "task": false}
//| export
/** [queries, keys]: 1 where query i (the last `queries` of `keys` positions) may see key j, else 0. */
function causalMask(queries: number, keys: number): Tensor {
  // ### BEGIN SOLUTION
  if (queries > keys) throw new Error(`causalMask: ${queries} queries cannot be the last of ${keys} keys`);
  const offset = keys - queries;
  const out = new Float32Array(queries * keys);
  for (let i = 0; i < queries; i++) for (let j = 0; j <= i + offset; j++) out[i * keys + j] = 1;
  return new Tensor(out, [queries, keys]);
  // ### END SOLUTION
}

// %% nbgrader={"grade": true, "grade_id": "test-unit-causal-mask", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
function testUnitCausalMask(): void {
  assertEqual(causalMask(3, 3).toArray(), [[1, 0, 0], [1, 1, 0], [1, 1, 1]]);
  assertEqual(causalMask(1, 4).toArray(), [[1, 1, 1, 1]], "one new query sees every position");
  // ### BEGIN HIDDEN TESTS
  assertThrows(() => causalMask(3, 2), "3");
  {
    // Seeded: random sizes, against j <= i + (keys - queries) written here.
    const r = testRandom("attention/causal-mask");
    for (let trial = 0; trial < 4; trial++) {
      const keys = r.int(1, 12);
      const queries = r.int(1, keys);
      const mask = causalMask(queries, keys);
      assertShape(mask.shape, [queries, keys], `causalMask(${queries}, ${keys})`);
      assertEqual(Array.from(mask.data), Array.from({ length: queries * keys }, (_, f) => (f % keys <= Math.floor(f / keys) + keys - queries ? 1 : 0)), `causalMask(${queries}, ${keys})`);
    }
  }
  // ### END HIDDEN TESTS
  passed("testUnitCausalMask");
}
testUnitCausalMask();

// %%
//| mutation causal-mask lets a token see one step ahead
function causalMask(queries: number, keys: number): Tensor {
  if (queries > keys) throw new Error(`causalMask: ${queries} queries cannot be the last of ${keys} keys`);
  const out = new Float32Array(queries * keys);
  for (let i = 0; i < queries; i++) for (let j = 0; j <= Math.min(keys - 1, i + keys - queries + 1); j++) out[i * keys + j] = 1;
  return new Tensor(out, [queries, keys]);
}

// %%
//| mutation causal-mask the queries are the first positions, not the last
function causalMask(queries: number, keys: number): Tensor {
  if (queries > keys) throw new Error(`causalMask: ${queries} queries cannot be the last of ${keys} keys`);
  const out = new Float32Array(queries * keys);
  for (let i = 0; i < queries; i++) for (let j = 0; j <= i; j++) out[i * keys + j] = 1;
  return new Tensor(out, [queries, keys]);
}

// %% [markdown]
// ## Part 2: A softmax that skips masked keys
//
// Module 02's `Softmax` is built from tensor operations (max, sub, exp, sum, div): five passes
// and five graph nodes over the largest tensor of the model, `[B, H, T, T]`. Here we write the
// softmax over the last axis as **one** operation on the raw numbers, with its own backward
// rule, and let it take a mask: entries where the mask is 0 get weight exactly 0, as if their
// score were −∞. A row with every entry masked (it does not happen with a causal mask, but can
// with padding) gets all zeros rather than 0/0 = NaN.
//
// For one row with allowed entries `A`, `m = max over A of x`, and
// `y_j = exp(x_j − m) / Σ_{k ∈ A} exp(x_k − m)` for `j ∈ A`, `y_j = 0` otherwise.
//
// The `mask` has shape `[Tq, Tk]` and applies to every `[Tq, Tk]` slice of `scores`
// (`[..., Tq, Tk]`); `null` means no mask.
//
// ### Exercise 2: `maskedSoftmax`
//
// **TODO**: Compute the masked softmax over the last axis and record it as `"maskedSoftmax"`.
//
// **APPROACH**:
// 1. `Tk` is the last axis, `rows = scores.size / Tk`; row `r` uses mask row `r % Tq`.
// 2. For each row: the maximum over allowed entries; the sum of `exp(x − m)` over them; then
//    each allowed entry's share, and 0 for the others.
// 3. `return Tensor.record(new Tensor(out, scores.shape), "maskedSoftmax", [scores])`.
//
// **HINTS**:
// - Why subtract the maximum before `exp`? Try a score of 1000.
// - Check the mask's shape against the last two axes of `scores` and throw if they differ.

// %% nbgrader={"grade": false, "grade_id": "masked-softmax", "locked": false, "schema_version": 3, "solution": true, "task": false}
//| export
/** Softmax over the last axis, masked entries (mask 0, shape [Tq, Tk]) weighted exactly 0. */
function maskedSoftmax(scores: Tensor, mask: Tensor | null = null): Tensor {
  const tk = scores.shape[scores.ndim - 1];
  const tq = scores.ndim >= 2 ? scores.shape[scores.ndim - 2] : 1;
  if (mask !== null && (mask.ndim !== 2 || mask.shape[0] !== tq || mask.shape[1] !== tk)) {
    throw new Error(`maskedSoftmax: mask of shape [${mask.shape.join(", ")}] for scores of shape [${scores.shape.join(", ")}]`);
  }
  // ### BEGIN SOLUTION
  const x = scores.data;
  const out = new Float32Array(scores.size);
  const rows = tk === 0 ? 0 : scores.size / tk;
  for (let r = 0; r < rows; r++) {
    const base = r * tk;
    const maskBase = (r % tq) * tk;
    let max = -Infinity;
    for (let j = 0; j < tk; j++) if ((mask === null || mask.data[maskBase + j] !== 0) && x[base + j] > max) max = x[base + j];
    if (max === -Infinity) continue; // every entry masked: a row of zeros
    let sum = 0;
    for (let j = 0; j < tk; j++) {
      if (mask !== null && mask.data[maskBase + j] === 0) continue;
      const e = Math.exp(x[base + j] - max);
      out[base + j] = e;
      sum += e;
    }
    for (let j = 0; j < tk; j++) out[base + j] /= sum;
  }
  return Tensor.record(new Tensor(out, scores.shape), "maskedSoftmax", [scores]);
  // ### END SOLUTION
}

// %% nbgrader={"grade": true, "grade_id": "test-unit-masked-softmax", "locked": true, "points": 3, "schema_version": 3, "solution": false, "task": false}
function testUnitMaskedSoftmax(): void {
  const y = maskedSoftmax(new Tensor([[0, Math.log(3), 5]]), new Tensor([[1, 1, 0]]));
  assertClose(y.toArray(), [[0.25, 0.75, 0]], {}, "the masked score takes no weight");
  assertClose(maskedSoftmax(new Tensor([1000, 1000])).toArray(), [0.5, 0.5], {}, "no overflow");
  // ### BEGIN HIDDEN TESTS
  assertEqual(maskedSoftmax(new Tensor([[1, 2]]), new Tensor([[0, 0]])).toArray(), [[0, 0]], "a row with nothing allowed: zeros, not NaN");
  assertThrows(() => maskedSoftmax(Tensor.zeros([2, 3]), Tensor.ones([3, 2])), "mask");
  assertEqual(maskedSoftmax(new Tensor([[1, 2]]).setRequiresGrad()).gradFn?.op, "maskedSoftmax", "recorded as one operation");
  {
    // Seeded: random scores of random shapes [..., Tq, Tk] at random scales (shifted by ±500
    // at times), with a random mask, a causal mask, or none; against the test's float64 softmax.
    const r = testRandom("attention/masked-softmax");
    for (let trial = 0; trial < 5; trial++) {
      const [tq, tk] = [r.int(1, 6), r.int(1, 7)];
      const lead = r.shape(r.int(0, 2), 3);
      const shape = [...lead, tq, tk];
      const shift = r.bool(0.3) ? r.pick([-500, 500]) : 0;
      const x = Float32Array.from(r.numbers(shape.reduce((p, d) => p * d, 1), -4, 4), (v) => v + shift);
      const kind = r.pick(["random", "causal", "none"]);
      const maskValues = kind === "random" ? Array.from({ length: tq * tk }, () => (r.bool(0.7) ? 1 : 0)) : kind === "causal" && tq <= tk ? Array.from(causalMask(tq, tk).data) : null;
      /** Oracle: the masked softmax in float64. */
      const softmax64 = (v: ArrayLike<number>): number[] => {
        const out: number[] = [];
        for (let row = 0; row < v.length / tk; row++) {
          const allowed = Array.from({ length: tk }, (_, j) => maskValues === null || maskValues[(row % tq) * tk + j] !== 0);
          const m = Math.max(...Array.from({ length: tk }, (_, j) => (allowed[j] ? v[row * tk + j] : -Infinity)));
          const e = Array.from({ length: tk }, (_, j) => (allowed[j] ? Math.exp(v[row * tk + j] - m) : 0));
          const s = e.reduce((a, b) => a + b, 0);
          out.push(...e.map((u) => (s === 0 ? 0 : u / s)));
        }
        return out;
      };
      const got = maskedSoftmax(new Tensor(x, shape), maskValues === null ? null : new Tensor(Float32Array.from(maskValues), [tq, tk]));
      assertShape(got.shape, shape, `scores [${shape}], ${kind} mask`);
      assertClose(Array.from(got.data), softmax64(x), { rtol: 1e-5, atol: 1e-6 }, `scores [${shape}], ${kind} mask, shift ${shift}`);
    }
  }
  // ### END HIDDEN TESTS
  passed("testUnitMaskedSoftmax");
}
testUnitMaskedSoftmax();

// %%
//| mutation masked-softmax masks by subtracting a large number, leaving a little weight on masked keys
function maskedSoftmax(scores: Tensor, mask: Tensor | null = null): Tensor {
  const tk = scores.shape[scores.ndim - 1];
  const tq = scores.ndim >= 2 ? scores.shape[scores.ndim - 2] : 1;
  const out = new Float32Array(scores.size);
  for (let r = 0; r < scores.size / tk; r++) {
    const row = Array.from({ length: tk }, (_, j) => scores.data[r * tk + j] - (mask !== null && mask.data[(r % tq) * tk + j] === 0 ? 10 : 0));
    const m = Math.max(...row);
    const e = row.map((v) => Math.exp(v - m));
    const s = e.reduce((a, b) => a + b, 0);
    e.forEach((v, j) => (out[r * tk + j] = v / s));
  }
  return Tensor.record(new Tensor(out, scores.shape), "maskedSoftmax", [scores]);
}

// %%
//| mutation masked-softmax normalises over every key, masked ones included, then zeroes the masked ones
function maskedSoftmax(scores: Tensor, mask: Tensor | null = null): Tensor {
  const tk = scores.shape[scores.ndim - 1];
  const tq = scores.ndim >= 2 ? scores.shape[scores.ndim - 2] : 1;
  const out = new Float32Array(scores.size);
  for (let r = 0; r < scores.size / tk; r++) {
    const row = Array.from(scores.data.subarray(r * tk, (r + 1) * tk));
    const m = Math.max(...row);
    const e = row.map((v) => Math.exp(v - m));
    const s = e.reduce((a, b) => a + b, 0);
    e.forEach((v, j) => (out[r * tk + j] = mask !== null && mask.data[(r % tq) * tk + j] === 0 ? 0 : v / s));
  }
  return Tensor.record(new Tensor(out, scores.shape), "maskedSoftmax", [scores]);
}

// %% [markdown]
// ### The softmax's gradient
//
// For one row, `y = softmax(x)` and an upstream gradient `g = dL/dy`:
//
// ```
// dL/dx_j = y_j (g_j − Σ_k g_k y_k)
// ```
//
// (each `y_j` depends on every `x_k` through the shared denominator; the sum collects those
// paths). The rule needs only the **output** `y`, which the backward pass hands every rule as
// its third argument. Masked entries have `y_j = 0`, so they get no gradient, as they must: their
// scores had no effect on the loss.
//
// ### Exercise 3: `maskedSoftmaxBackward`
//
// **TODO**: Return `[dx]` for the rule above, row by row over the last axis.
//
// **APPROACH**: for each row, `dot = Σ_k g_k y_k`; then `dx_j = y_j (g_j − dot)`.
//
// **HINTS**:
// - Computing the whole `T × T` Jacobian of each row would cost `T²` per row. Why is it never
//   needed?

// %% nbgrader={"grade": false, "grade_id": "masked-softmax-backward", "locked": false, "schema_version": 3, "solution": true, "task": false}
//| export
/** The masked softmax's rule: dx = y * (g - sum(g * y)) along the last axis. */
function maskedSoftmaxBackward(grad: Tensor, _node: GradNode, output: Tensor): (Tensor | null)[] {
  const tk = output.shape[output.ndim - 1];
  // ### BEGIN SOLUTION
  const y = output.data;
  const g = grad.data;
  const dx = new Float32Array(output.size);
  const rows = tk === 0 ? 0 : output.size / tk;
  for (let r = 0; r < rows; r++) {
    const base = r * tk;
    let dot = 0;
    for (let j = 0; j < tk; j++) dot += g[base + j] * y[base + j];
    for (let j = 0; j < tk; j++) dx[base + j] = y[base + j] * (g[base + j] - dot);
  }
  return [new Tensor(dx, output.shape)];
  // ### END SOLUTION
}

// %% nbgrader={"grade": false, "grade_id": "masked-softmax-rule", "locked": true, "schema_version": 3, "solution": false, "task": false}
//| export
registerRules({ maskedSoftmax: maskedSoftmaxBackward });

// %% nbgrader={"grade": true, "grade_id": "test-unit-masked-softmax-backward", "locked": true, "points": 3, "schema_version": 3, "solution": false, "task": false}
function testUnitMaskedSoftmaxBackward(): void {
  const x = new Tensor([[1, 2, 3]]).setRequiresGrad();
  maskedSoftmax(x, new Tensor([[1, 1, 0]])).backward(new Tensor([[1, 0, 5]]));
  const [a, b] = [1 / (1 + Math.E), Math.E / (1 + Math.E)];
  assertClose(x.grad?.toArray(), [[a * (1 - a), -a * b, 0]], { atol: 1e-6 }, "the masked score gets no gradient");
  // ### BEGIN HIDDEN TESTS
  {
    // Seeded: random scores [..., Tq, Tk] with random, causal or no masks; the gradient of
    // sum(w * maskedSoftmax(x)) against float64 central differences of the test's own softmax.
    const r = testRandom("attention/masked-softmax-backward");
    for (let trial = 0; trial < 4; trial++) {
      const [tq, tk] = [r.int(1, 5), r.int(1, 6)];
      const shape = [...r.shape(r.int(0, 2), 2), tq, tk];
      const kind = r.pick(["random", "causal", "none"]);
      const maskValues = kind === "random" ? Array.from({ length: tq * tk }, () => (r.bool(0.7) ? 1 : 0)) : kind === "causal" && tq <= tk ? Array.from(causalMask(tq, tk).data) : null;
      const x = randomTensor(r, shape, 3);
      const w = r.numbers(x.size, -1, 1);
      maskedSoftmax(x, maskValues === null ? null : new Tensor(Float32Array.from(maskValues), [tq, tk])).backward(new Tensor(Float32Array.from(w), shape));
      /** Oracle: the masked softmax in float64. */
      const softmax64 = (v: ArrayLike<number>): number[] => {
        const out: number[] = [];
        for (let row = 0; row < v.length / tk; row++) {
          const allowed = Array.from({ length: tk }, (_, j) => maskValues === null || maskValues[(row % tq) * tk + j] !== 0);
          const m = Math.max(...Array.from({ length: tk }, (_, j) => (allowed[j] ? v[row * tk + j] : -Infinity)));
          const e = Array.from({ length: tk }, (_, j) => (allowed[j] ? Math.exp(v[row * tk + j] - m) : 0));
          const s = e.reduce((p, q) => p + q, 0);
          out.push(...e.map((u) => (s === 0 ? 0 : u / s)));
        }
        return out;
      };
      assertClose(Array.from(x.grad?.data ?? []), centralDifferences(softmax64, x.data, w), { rtol: 1e-3, atol: 1e-5 }, `d scores [${shape}], ${kind} mask`);
    }
  }
  // ### END HIDDEN TESTS
  passed("testUnitMaskedSoftmaxBackward");
}
testUnitMaskedSoftmaxBackward();

// %%
//| mutation masked-softmax-backward forgets the shared denominator: dx = y * g
function maskedSoftmaxBackward(grad: Tensor, _node: GradNode, output: Tensor): (Tensor | null)[] {
  const dx = new Float32Array(output.size);
  for (let i = 0; i < dx.length; i++) dx[i] = output.data[i] * grad.data[i];
  return [new Tensor(dx, output.shape)];
}

// %%
//| mutation masked-softmax-backward sums over the whole tensor instead of each row
function maskedSoftmaxBackward(grad: Tensor, _node: GradNode, output: Tensor): (Tensor | null)[] {
  let dot = 0;
  for (let i = 0; i < output.size; i++) dot += grad.data[i] * output.data[i];
  const dx = new Float32Array(output.size);
  for (let i = 0; i < dx.length; i++) dx[i] = output.data[i] * (grad.data[i] - dot);
  return [new Tensor(dx, output.shape)];
}

// %% [markdown]
// ## Part 3: Scaled dot-product attention
//
// With `q` of shape `[..., Tq, d]`, `k` `[..., Tk, d]` and `v` `[..., Tk, dv]`:
//
// ```
// scores  = q @ kᵀ / √d            [..., Tq, Tk]
// weights = maskedSoftmax(scores, mask)
// output  = weights @ v            [..., Tq, dv]
// ```
//
// **Why √d.** If the entries of a query and a key are independent with variance 1, their dot
// product is a sum of `d` such products: its variance is `d`. With `d = 64`, scores of ±8 are
// common, and a softmax of such scores puts nearly all the weight on one key: its gradient
// vanishes and learning stalls. Dividing by √d brings the variance back to 1.
//
// Every step is a tensor operation with a rule (`matmul` and `transpose` from module 06, `mul`
// by a number, and your `maskedSoftmax`), so the gradients come for free; and the matmuls go
// through `Tensor.matmul`, which module 18's switch accelerates.
//
// ### Exercise 4: `scaledDotProductAttention`
//
// **TODO**: Return `{ output, weights }` for the formula above.
//
// **APPROACH**: `d` is the last axis of `q`; the scores are the product of `q` with `k`
// transposed, times `1/√d`; then the masked softmax; then the product of the weights with `v`.
// (Multiplying `q` by `1/√d` before the product gives the same scores for less work: `Tq·d`
// multiplications instead of `Tq·Tk`.)
//
// **HINTS**:
// - `k.transpose()` swaps the last two axes of a batched `[B, H, T, d]` tensor.

// %% nbgrader={"grade": false, "grade_id": "scaled-dot-product-attention", "locked": false, "schema_version": 3, "solution": true, "task": false}
//| export
/** softmax(q kᵀ / √d, masked) v: the output [..., Tq, dv] and the weights [..., Tq, Tk]. */
function scaledDotProductAttention(q: Tensor, k: Tensor, v: Tensor, mask: Tensor | null = null): { output: Tensor; weights: Tensor } {
  // ### BEGIN SOLUTION
  const d = q.shape[q.ndim - 1];
  // Scaling the queries is the same product, on Tq·d numbers instead of Tq·Tk.
  const scores = q.mul(1 / Math.sqrt(d)).matmul(k.transpose());
  const weights = maskedSoftmax(scores, mask);
  return { output: weights.matmul(v), weights };
  // ### END SOLUTION
}

// %% nbgrader={"grade": true, "grade_id": "test-unit-scaled-dot-product-attention", "locked": true, "points": 4, "schema_version": 3, "solution": false, "task": false}
function testUnitScaledDotProductAttention(): void {
  // One query that matches the second key far better: the output is almost the second value.
  const q = new Tensor([[0, 10]]);
  const k = new Tensor([[0, -10], [0, 10]]);
  const v = new Tensor([[1, 2], [3, 4]]);
  const { output, weights } = scaledDotProductAttention(q, k, v);
  assertShape(weights.shape, [1, 2]);
  assertClose(output.toArray(), [[3, 4]], { atol: 1e-4 });
  // ### BEGIN HIDDEN TESTS
  {
    // Seeded: random q, k, v of shapes [B, H, T, d] (and T_q < T_k with a causal mask), random
    // scales; output and weights against the test's float64 attention, and the gradients of
    // sum(w * output) with respect to q, k and v against central differences of it.
    const r = testRandom("attention/sdpa");
    for (let trial = 0; trial < 3; trial++) {
      const [lead, tk, d, dv] = [r.shape(r.int(1, 2), 2), r.int(1, 5), r.int(1, 6), r.int(1, 4)];
      const tq = r.int(1, tk);
      const causal = r.bool();
      const qs = randomTensor(r, [...lead, tq, d], 2);
      const ks = randomTensor(r, [...lead, tk, d], 2);
      const vs = randomTensor(r, [...lead, tk, dv], 2);
      const mask = causal ? causalMask(tq, tk) : null;
      const got = scaledDotProductAttention(qs, ks, vs, mask);
      const batches = lead.reduce((p, n) => p * n, 1);
      /** Oracle: attention in float64; which = "output" or "weights". */
      const attention64 = (qv: ArrayLike<number>, kv: ArrayLike<number>, vv: ArrayLike<number>, which: string): number[] => {
        const out: number[] = [];
        const weightsOut: number[] = [];
        for (let b = 0; b < batches; b++) {
          for (let i = 0; i < tq; i++) {
            const s = Array.from({ length: tk }, (_, j) => {
              if (causal && j > i + tk - tq) return -Infinity;
              let dot = 0;
              for (let e = 0; e < d; e++) dot += qv[(b * tq + i) * d + e] * kv[(b * tk + j) * d + e];
              return dot / Math.sqrt(d);
            });
            const m = Math.max(...s);
            const ex = s.map((x) => Math.exp(x - m));
            const total = ex.reduce((p, x) => p + x, 0);
            const wrow = ex.map((x) => x / total);
            weightsOut.push(...wrow);
            for (let e = 0; e < dv; e++) out.push(wrow.reduce((p, wj, j) => p + wj * vv[(b * tk + j) * dv + e], 0));
          }
        }
        return which === "output" ? out : weightsOut;
      };
      const label = `q [${qs.shape}], k [${ks.shape}], v [${vs.shape}]${causal ? ", causal" : ""}`;
      assertClose(Array.from(got.weights.data), attention64(qs.data, ks.data, vs.data, "weights"), { rtol: 1e-4, atol: 1e-6 }, `${label}: weights`);
      assertClose(Array.from(got.output.data), attention64(qs.data, ks.data, vs.data, "output"), { rtol: 1e-4, atol: 1e-5 }, `${label}: output`);
      const w = r.numbers(got.output.size, -1, 1);
      got.output.backward(new Tensor(Float32Array.from(w), got.output.shape));
      assertClose(Array.from(qs.grad?.data ?? []), centralDifferences((x) => attention64(x, ks.data, vs.data, "output"), qs.data, w), { rtol: 2e-3, atol: 1e-4 }, `${label}: d q`);
      assertClose(Array.from(ks.grad?.data ?? []), centralDifferences((x) => attention64(qs.data, x, vs.data, "output"), ks.data, w), { rtol: 2e-3, atol: 1e-4 }, `${label}: d k`);
      assertClose(Array.from(vs.grad?.data ?? []), centralDifferences((x) => attention64(qs.data, ks.data, x, "output"), vs.data, w), { rtol: 2e-3, atol: 1e-4 }, `${label}: d v`);
    }
  }
  // ### END HIDDEN TESTS
  passed("testUnitScaledDotProductAttention");
}
testUnitScaledDotProductAttention();

// %%
//| mutation scaled-dot-product-attention without the 1/√d scale
function scaledDotProductAttention(q: Tensor, k: Tensor, v: Tensor, mask: Tensor | null = null): { output: Tensor; weights: Tensor } {
  const weights = maskedSoftmax(q.matmul(k.transpose()), mask);
  return { output: weights.matmul(v), weights };
}

// %%
//| mutation scaled-dot-product-attention divides by d instead of √d
function scaledDotProductAttention(q: Tensor, k: Tensor, v: Tensor, mask: Tensor | null = null): { output: Tensor; weights: Tensor } {
  const weights = maskedSoftmax(q.matmul(k.transpose()).mul(1 / q.shape[q.ndim - 1]), mask);
  return { output: weights.matmul(v), weights };
}

// %% [markdown]
// ## Part 4: Several heads
//
// One attention lets each position take one weighted average. **Multi-head** attention runs
// `H` of them side by side on slices of the vectors: with `C = dModel` and `hd = C / H`, the
// `C` numbers of each position are cut into `H` slices of `hd`, each head attends with its own
// slice, and the outputs are glued back together. One head might follow the previous letter,
// another the start of the word. The cost is the same as one head of width `C`: the matmuls are
// the same size in total, only split.
//
// The cut is a reshape and a transpose: `[B, T, C]` → `[B, T, H, hd]` → `[B, H, T, hd]`, so
// that the heads become a batch axis for the batched matmuls. We write it as one operation on
// the raw numbers (`splitHeads`) and its inverse (`mergeHeads`); each one's gradient is the
// other applied to the gradient, since a permutation of numbers sends each gradient back to
// where its number came from.
//
// ### Exercise 5: `splitHeads` and `mergeHeads`
//
// **TODO**: Implement both, each recorded as its own operation.
//
// **APPROACH**:
// - `splitHeads(x, numHeads)`: check that `x` is `[B, T, C]` with `C % numHeads === 0`; for each
//   `b, t, h`, copy the `hd` numbers at `x[b, t, h*hd …]` to `out[b, h, t, …]`
//   (`out.set(x.data.subarray(from, from + hd), to)`); record `"splitHeads"`.
// - `mergeHeads(x)`: the inverse, `[B, H, T, hd]` → `[B, T, H*hd]`; record `"mergeHeads"`.
//
// **HINTS**:
// - Write the flat offsets of `x[b, t, h*hd]` and `out[b, h, t, 0]` first; the loops follow.

// %% nbgrader={"grade": false, "grade_id": "split-merge-heads", "locked": false, "schema_version": 3, "solution": true, "task": false}
//| export
/** [B, T, C] -> [B, H, T, C/H]: head h gets columns h*hd..(h+1)*hd-1 of every position. */
function splitHeads(x: Tensor, numHeads: number): Tensor {
  if (x.ndim !== 3 || !Number.isInteger(numHeads) || numHeads < 1 || x.shape[2] % numHeads !== 0) {
    throw new Error(`splitHeads: expected [B, T, C] with C divisible by ${numHeads} heads, got [${x.shape.join(", ")}]`);
  }
  // ### BEGIN SOLUTION
  const [b, t, c] = x.shape;
  const hd = c / numHeads;
  const out = new Float32Array(x.size);
  for (let i = 0; i < b; i++) {
    for (let p = 0; p < t; p++) {
      for (let h = 0; h < numHeads; h++) {
        const from = (i * t + p) * c + h * hd;
        out.set(x.data.subarray(from, from + hd), ((i * numHeads + h) * t + p) * hd);
      }
    }
  }
  return Tensor.record(new Tensor(out, [b, numHeads, t, hd]), "splitHeads", [x]);
  // ### END SOLUTION
}

/** [B, H, T, hd] -> [B, T, H*hd]: the inverse of splitHeads. */
function mergeHeads(x: Tensor): Tensor {
  if (x.ndim !== 4) throw new Error(`mergeHeads: expected [B, H, T, hd], got [${x.shape.join(", ")}]`);
  // ### BEGIN SOLUTION
  const [b, numHeads, t, hd] = x.shape;
  const c = numHeads * hd;
  const out = new Float32Array(x.size);
  for (let i = 0; i < b; i++) {
    for (let h = 0; h < numHeads; h++) {
      for (let p = 0; p < t; p++) {
        const from = ((i * numHeads + h) * t + p) * hd;
        out.set(x.data.subarray(from, from + hd), (i * t + p) * c + h * hd);
      }
    }
  }
  return Tensor.record(new Tensor(out, [b, t, c]), "mergeHeads", [x]);
  // ### END SOLUTION
}

// %% nbgrader={"grade": false, "grade_id": "head-rules", "locked": true, "schema_version": 3, "solution": false, "task": false}
//| export
registerRules({
  splitHeads: (g) => [mergeHeads(g)],
  mergeHeads: (g, node) => [splitHeads(g, node.inputs[0].shape[1])],
});

// %% nbgrader={"grade": true, "grade_id": "test-unit-split-merge-heads", "locked": true, "points": 3, "schema_version": 3, "solution": false, "task": false}
function testUnitSplitMergeHeads(): void {
  const x = new Tensor([[[1, 2, 3, 4], [5, 6, 7, 8]]]); // [B=1, T=2, C=4]
  const heads = splitHeads(x, 2);
  assertShape(heads.shape, [1, 2, 2, 2]);
  assertEqual(heads.toArray(), [[[[1, 2], [5, 6]], [[3, 4], [7, 8]]]]);
  assertEqual(mergeHeads(heads).toArray(), x.toArray(), "merge undoes split");
  // ### BEGIN HIDDEN TESTS
  assertThrows(() => splitHeads(Tensor.zeros([1, 2, 5]), 2), "divisible");
  {
    // Seeded: random [B, T, C] and head counts; both against the test's own index arithmetic,
    // and both gradients against float64 central differences of that arithmetic.
    const r = testRandom("attention/heads");
    for (let trial = 0; trial < 3; trial++) {
      const [b, t, numHeads, hd] = [r.int(1, 3), r.int(1, 4), r.int(1, 4), r.int(1, 3)];
      const c = numHeads * hd;
      const xs = randomTensor(r, [b, t, c]);
      /** Oracle: the split as index arithmetic, in float64. */
      const split64 = (v: ArrayLike<number>): number[] => Array.from({ length: b * t * c }, (_, f) => {
        const [i, h, p, e] = [Math.floor(f / (numHeads * t * hd)), Math.floor(f / (t * hd)) % numHeads, Math.floor(f / hd) % t, f % hd];
        return v[(i * t + p) * c + h * hd + e];
      });
      /** Oracle: the merge as index arithmetic, in float64. */
      const merge64 = (v: ArrayLike<number>): number[] => Array.from({ length: b * t * c }, (_, f) => {
        const [i, p, h, e] = [Math.floor(f / (t * c)), Math.floor(f / c) % t, Math.floor(f / hd) % numHeads, f % hd];
        return v[((i * numHeads + h) * t + p) * hd + e];
      });
      const label = `[${b}, ${t}, ${c}] with ${numHeads} heads`;
      const split = splitHeads(xs, numHeads);
      assertEqual(Array.from(split.data), split64(xs.data), `${label}: splitHeads`);
      const w = r.numbers(xs.size, -1, 1);
      split.backward(new Tensor(Float32Array.from(w), split.shape));
      assertClose(Array.from(xs.grad?.data ?? []), centralDifferences(split64, xs.data, w), { rtol: 1e-6, atol: 1e-6 }, `${label}: splitHeads' gradient`);
      const ys = randomTensor(r, [b, numHeads, t, hd]);
      const merged = mergeHeads(ys);
      assertEqual(Array.from(merged.data), merge64(ys.data), `${label}: mergeHeads`);
      merged.backward(new Tensor(Float32Array.from(w), merged.shape));
      assertClose(Array.from(ys.grad?.data ?? []), centralDifferences(merge64, ys.data, w), { rtol: 1e-6, atol: 1e-6 }, `${label}: mergeHeads' gradient`);
    }
  }
  // ### END HIDDEN TESTS
  passed("testUnitSplitMergeHeads");
}
testUnitSplitMergeHeads();

// %%
//| mutation split-merge-heads a plain reshape to [B, H, T, hd], without the transpose
function splitHeads(x: Tensor, numHeads: number): Tensor {
  if (x.ndim !== 3 || x.shape[2] % numHeads !== 0) throw new Error(`splitHeads: C not divisible by ${numHeads} heads`);
  const [b, t, c] = x.shape;
  return Tensor.record(new Tensor(x.data.slice(), [b, numHeads, t, c / numHeads]), "splitHeads", [x]);
}
function mergeHeads(x: Tensor): Tensor {
  const [b, numHeads, t, hd] = x.shape;
  return Tensor.record(new Tensor(x.data.slice(), [b, t, numHeads * hd]), "mergeHeads", [x]);
}

// %% [markdown]
// ### Linear layers on rows, as one operation
//
// A transformer spends most of its time in its linear layers, so their overhead matters.
// Module 03's `Linear.forward` is a `matmul` and a broadcast `add`: two graph nodes, a second
// pass over the output, and in the backward pass a bias gradient through module 06's general
// `sumToShape`. `linear(x, layer)` does the same arithmetic for rows `x` of shape `[N, in]` as
// **one** operation: the product through `Tensor.matmul` (so module 18's switch accelerates
// it), the bias added in the same buffer, and one rule:
//
// ```
// dx = g @ Wᵀ        dW = xᵀ @ g        db = the column sums of g
// ```
//
// The first two are exactly the gradients of the product `x @ W`, so the rule asks the matmul
// rule installed in `Tensor.backwardRules` for them (module 06's; module 18's switch installs one
// that reads `Wᵀ` and `xᵀ` as views instead of copying them) and adds the bias's.
//
// It takes the layer itself, so the parameters stay the layer's `weight` and `bias`. On the
// milestone's model it cut a training step by about a fifth. (Its gradients are checked with
// `MultiHeadAttention`'s below.)

// %% nbgrader={"grade": false, "grade_id": "linear-op", "locked": true, "schema_version": 3, "solution": false, "task": false}
//| export
/**
 * Faster kernels for linear's bias, installed by module 18's acceleration switch (empty here and
 * after `disableAcceleration()`): `addBias(rows, bias)` adds `bias` to every row of `rows` in
 * place and says whether it did; `sumBias(g, n)` returns the sums of the columns of g's rows of
 * `n`, or null. Where they decline, the loops below run.
 */
const linearKernelSlot: {
  addBias: ((rows: Float32Array, bias: Float32Array) => boolean) | null;
  sumBias: ((g: Float32Array, n: number) => Float32Array | null) | null;
} = { addBias: null, sumBias: null };

/** layer.forward(x) for rows x [N, in]: x @ weight + bias as one recorded operation, "linear". */
function linear(x: Tensor, layer: Linear): Tensor {
  if (x.ndim !== 2 || x.shape[1] !== layer.inFeatures) {
    throw new Error(`linear: Linear(${layer.inFeatures} -> ${layer.outFeatures}) expects rows [N, ${layer.inFeatures}], got [${x.shape.join(", ")}]`);
  }
  const out = x.detach().matmul(layer.weight.detach()).data;
  const n = layer.outFeatures;
  if (layer.bias !== null && !linearKernelSlot.addBias?.(out, layer.bias.data)) {
    const bias = layer.bias.data;
    for (let start = 0; start < out.length; start += n) for (let j = 0; j < n; j++) out[start + j] += bias[j];
  }
  const inputs = layer.bias === null ? [x, layer.weight] : [x, layer.weight, layer.bias];
  return Tensor.record(new Tensor(out, [x.shape[0], n]), "linear", inputs);
}

registerRules({
  linear: (g, node, out) => {
    const [x, weight, bias] = node.inputs;
    let dbias: Tensor | null = null;
    if (bias !== undefined && bias.requiresGrad) {
      const n = g.shape[1];
      const gd = g.data;
      const summed = linearKernelSlot.sumBias?.(gd, n);
      if (summed) dbias = new Tensor(summed, bias.shape);
      else {
        const sums = new Float64Array(n);
        for (let start = 0; start < gd.length; start += n) for (let j = 0; j < n; j++) sums[j] += gd[start + j];
        dbias = new Tensor(Float32Array.from(sums), bias.shape);
      }
    }
    // dx and dW are the product's gradients: whatever matmul rule is installed computes them
    // (module 06's, or the one module 18's switch installs, which reads Wᵀ and xᵀ as views).
    const matmulRule = Tensor.backwardRules.get("matmul");
    if (matmulRule === undefined) throw new Error("linear: no matmul rule is registered (module 06)");
    const [dx, dweight] = matmulRule(g, { op: "matmul", inputs: [x, weight], args: {} }, out);
    return [dx, dweight, dbias];
  },
});

// %% [markdown]
// ### Exercise 6: `MultiHeadAttention`
//
// The layer owns four `Linear(dModel, dModel)` projections: `qProj`, `kProj`, `vProj` make the
// queries, keys and values from the same input, and `outProj` mixes the heads' outputs. (These
// are PyTorch's `q_proj_weight`, `k_proj_weight`, `v_proj_weight` and `out_proj`, with module
// 03's convention of storing a weight as `[in, out]`.)
//
// `forward(x, options)` takes `x` of shape `[B, T, C]` and returns `[B, T, C]`. With
// `causal: true` it applies `causalMask`. With a `cache` (module 17 writes one), the new keys and
// values are appended to those of earlier calls, and the queries attend to all of them: the
// cache's `append(k, v)` returns every key and value so far.
//
// **TODO**: Implement `forward`.
//
// **APPROACH**:
// 1. `q`, `k`, `v`: each projection of `x`, split into heads. Apply the projections with
//    `linear` to the `[B·T, C]` rows (`x.reshape(B * T, C)`), then reshape back to
//    `[B, T, C]` for `splitHeads`. (On a 3-D input, module 06's matmul rule would compute the
//    weight's gradient as one product per sequence and then sum the `B` of them; on rows it is
//    a single product.)
// 2. With a cache, replace `k`, `v` by `options.cache.append(k, v)`'s `k` and `v`.
// 3. The mask: `causalMask(T, keys)` when `causal` (keys = `k.shape[2]`), else `options.mask`
//    (or none).
// 4. `scaledDotProductAttention`; keep its weights in `this.lastWeights` (for plots); merge the
//    heads and apply `outProj` with `linear` (to the rows again), back to `[B, T, C]`.
//
// **HINTS**:
// - With a cache, how many queries are there, and how many keys? The mask must be built
//   *after* the append.
// - Draw the shapes at every line: `[B, T, C]` → rows → heads `[B, H, T, hd]` → and back.

// %% nbgrader={"grade": false, "grade_id": "multi-head-attention", "locked": false, "schema_version": 3, "solution": true, "task": false}
//| export
/** What MultiHeadAttention needs from a key/value cache (module 17 provides one). */
interface LayerKVCache {
  /** Positions cached so far. */
  readonly length: number;
  /** Appends keys and values [B, H, Tnew, hd]; returns all keys and values so far [B, H, length, hd]. */
  append(k: Tensor, v: Tensor): { k: Tensor; v: Tensor };
}

/** Options of MultiHeadAttention.forward. */
interface AttentionOptions {
  /** Apply the causal mask (default false). */
  causal?: boolean;
  /** Another [Tq, Tk] mask of 1s (allowed) and 0s, when not causal. */
  mask?: Tensor | null;
  /** Keys and values of earlier positions, extended by this call. */
  cache?: LayerKVCache;
}

/** H heads of scaled dot-product attention with query, key, value and output projections. */
class MultiHeadAttention extends Layer {
  readonly dModel: number;
  readonly numHeads: number;
  qProj: Linear;
  kProj: Linear;
  vProj: Linear;
  outProj: Linear;
  /** The attention weights [B, H, Tq, Tk] of the last forward call (no gradient). */
  lastWeights: Tensor | null = null;

  constructor(dModel: number, numHeads: number, options: { seed?: number } = {}) {
    super();
    if (!Number.isInteger(numHeads) || numHeads < 1 || dModel % numHeads !== 0) {
      throw new Error(`MultiHeadAttention: dModel ${dModel} must be divisible by numHeads ${numHeads}`);
    }
    this.dModel = dModel;
    this.numHeads = numHeads;
    const seed = options.seed;
    this.qProj = new Linear(dModel, dModel, { seed });
    this.kProj = new Linear(dModel, dModel, { seed: seed === undefined ? undefined : seed + 1 });
    this.vProj = new Linear(dModel, dModel, { seed: seed === undefined ? undefined : seed + 2 });
    this.outProj = new Linear(dModel, dModel, { seed: seed === undefined ? undefined : seed + 3 });
  }

  forward(x: Tensor, options: AttentionOptions = {}): Tensor {
    // ### BEGIN SOLUTION
    const [b, t, c] = x.shape;
    const rows = x.reshape(b * t, c);
    const heads = (projection: Linear): Tensor => splitHeads(linear(rows, projection).reshape(b, t, c), this.numHeads);
    const q = heads(this.qProj);
    let k = heads(this.kProj);
    let v = heads(this.vProj);
    if (options.cache !== undefined) ({ k, v } = options.cache.append(k, v));
    const mask = options.causal ? causalMask(q.shape[2], k.shape[2]) : (options.mask ?? null);
    const { output, weights } = scaledDotProductAttention(q, k, v, mask);
    this.lastWeights = weights.detach();
    return linear(mergeHeads(output).reshape(b * t, c), this.outProj).reshape(b, t, c);
    // ### END SOLUTION
  }

  override parameters(): Tensor[] {
    return [this.qProj, this.kProj, this.vProj, this.outProj].flatMap((p) => p.parameters());
  }
}

// %% nbgrader={"grade": true, "grade_id": "test-unit-multi-head-attention", "locked": true, "points": 5, "schema_version": 3, "solution": false, "task": false}
function testUnitMultiHeadAttention(): void {
  const mha = new MultiHeadAttention(8, 2, { seed: 0 });
  const x = Tensor.randn([2, 5, 8], 1);
  const y = mha.forward(x, { causal: true });
  assertShape(y.shape, [2, 5, 8]);
  assertShape(mha.lastWeights?.shape ?? [], [2, 2, 5, 5]);
  assertEqual(mha.parameters().length, 8, "four projections, each with a weight and a bias");
  // ### BEGIN HIDDEN TESTS
  // Causality: changing the last position changes no earlier output.
  const changed = x.data.slice();
  for (let j = 0; j < 8; j++) changed[4 * 8 + j] += 1;
  const y2 = mha.forward(new Tensor(changed, [2, 5, 8]), { causal: true });
  assertClose(Array.from(y2.data.subarray(0, 32)), Array.from(y.data.subarray(0, 32)), { atol: 1e-6 }, "the past does not see the future");
  {
    // Seeded: random sizes, seeds, biases and inputs, causal or not; the layer's output against
    // the test's float64 version of the whole layer, and the gradients of the input and of the
    // query projection's weight against central differences of it.
    const r = testRandom("attention/mha");
    for (let trial = 0; trial < 2; trial++) {
      const [numHeads, hd, b, t] = [r.int(1, 3), r.int(1, 3), r.int(1, 2), r.int(1, 4)];
      const c = numHeads * hd;
      const layer = new MultiHeadAttention(c, numHeads, { seed: r.seed() });
      for (const lin of [layer.qProj, layer.kProj, layer.vProj, layer.outProj]) lin.bias?.data.set(r.numbers(c, -0.5, 0.5));
      const causal = r.bool();
      const xs = randomTensor(r, [b, t, c], 2);
      const params = [layer.qProj, layer.kProj, layer.vProj, layer.outProj].map((l) => [Array.from(l.weight.data), Array.from(l.bias?.data ?? [])]);
      /** Oracle: the whole layer in float64, with the query weight given. */
      const mha64 = (input: ArrayLike<number>, wq: ArrayLike<number>): number[] => {
        const project = (k: number, weight: ArrayLike<number>) => Array.from({ length: b * t * c }, (_, f) => {
          const [row, col] = [Math.floor(f / c), f % c];
          let s = params[k][1][col];
          for (let i = 0; i < c; i++) s += input[row * c + i] * weight[i * c + col];
          return s;
        });
        const [qv, kv, vv] = [project(0, wq), project(1, params[1][0]), project(2, params[2][0])];
        const merged = new Array<number>(b * t * c).fill(0);
        for (let bi = 0; bi < b; bi++) {
          for (let h = 0; h < numHeads; h++) {
            for (let i = 0; i < t; i++) {
              const s = Array.from({ length: t }, (_, j) => {
                if (causal && j > i) return -Infinity;
                let dot = 0;
                for (let e = 0; e < hd; e++) dot += qv[(bi * t + i) * c + h * hd + e] * kv[(bi * t + j) * c + h * hd + e];
                return dot / Math.sqrt(hd);
              });
              const m = Math.max(...s);
              const ex = s.map((z) => Math.exp(z - m));
              const total = ex.reduce((p, z) => p + z, 0);
              for (let e = 0; e < hd; e++) merged[(bi * t + i) * c + h * hd + e] = ex.reduce((p, z, j) => p + (z / total) * vv[(bi * t + j) * c + h * hd + e], 0);
            }
          }
        }
        return Array.from({ length: b * t * c }, (_, f) => {
          const [row, col] = [Math.floor(f / c), f % c];
          let s = params[3][1][col];
          for (let i = 0; i < c; i++) s += merged[row * c + i] * params[3][0][i * c + col];
          return s;
        });
      };
      const out = layer.forward(xs, { causal });
      const label = `MultiHeadAttention(${c}, ${numHeads}) on [${b}, ${t}, ${c}]${causal ? ", causal" : ""}`;
      assertClose(Array.from(out.data), mha64(xs.data, params[0][0]), { rtol: 1e-4, atol: 1e-5 }, `${label}: output`);
      const w = r.numbers(out.size, -1, 1);
      out.backward(new Tensor(Float32Array.from(w), out.shape));
      assertClose(Array.from(xs.grad?.data ?? []), centralDifferences((v) => mha64(v, params[0][0]), xs.data, w), { rtol: 2e-3, atol: 2e-4 }, `${label}: d x`);
      assertClose(Array.from(layer.qProj.weight.grad?.data ?? []), centralDifferences((v) => mha64(xs.data, v), params[0][0], w), { rtol: 2e-3, atol: 2e-4 }, `${label}: d qProj.weight`);
      assertClose(Array.from(layer.outProj.bias?.grad?.data ?? []), Array.from({ length: c }, (_, j) => w.reduce((sum, wi, f) => sum + (f % c === j ? wi : 0), 0)), { rtol: 1e-4, atol: 1e-5 }, `${label}: d outProj.bias (the column sums of w)`);
    }
  }
  // ### END HIDDEN TESTS
  passed("testUnitMultiHeadAttention");
}
testUnitMultiHeadAttention();

// %%
//| mutation multi-head-attention keys and values both from the key projection
interface LayerKVCache {
  readonly length: number;
  append(k: Tensor, v: Tensor): { k: Tensor; v: Tensor };
}
interface AttentionOptions {
  causal?: boolean;
  mask?: Tensor | null;
  cache?: LayerKVCache;
}
class MultiHeadAttention extends Layer {
  readonly dModel: number;
  readonly numHeads: number;
  qProj: Linear;
  kProj: Linear;
  vProj: Linear;
  outProj: Linear;
  lastWeights: Tensor | null = null;
  constructor(dModel: number, numHeads: number, options: { seed?: number } = {}) {
    super();
    this.dModel = dModel;
    this.numHeads = numHeads;
    const seed = options.seed;
    this.qProj = new Linear(dModel, dModel, { seed });
    this.kProj = new Linear(dModel, dModel, { seed: seed === undefined ? undefined : seed + 1 });
    this.vProj = new Linear(dModel, dModel, { seed: seed === undefined ? undefined : seed + 2 });
    this.outProj = new Linear(dModel, dModel, { seed: seed === undefined ? undefined : seed + 3 });
  }
  forward(x: Tensor, options: AttentionOptions = {}): Tensor {
    const q = splitHeads(this.qProj.forward(x), this.numHeads);
    let k = splitHeads(this.kProj.forward(x), this.numHeads);
    let v = k;
    if (options.cache !== undefined) ({ k, v } = options.cache.append(k, v));
    const mask = options.causal ? causalMask(q.shape[2], k.shape[2]) : (options.mask ?? null);
    const { output, weights } = scaledDotProductAttention(q, k, v, mask);
    this.lastWeights = weights.detach();
    return this.outProj.forward(mergeHeads(output));
  }
  override parameters(): Tensor[] {
    return [this.qProj, this.kProj, this.vProj, this.outProj].flatMap((p) => p.parameters());
  }
}

// %%
//| mutation multi-head-attention ignores the causal option
interface LayerKVCache {
  readonly length: number;
  append(k: Tensor, v: Tensor): { k: Tensor; v: Tensor };
}
interface AttentionOptions {
  causal?: boolean;
  mask?: Tensor | null;
  cache?: LayerKVCache;
}
class MultiHeadAttention extends Layer {
  readonly dModel: number;
  readonly numHeads: number;
  qProj: Linear;
  kProj: Linear;
  vProj: Linear;
  outProj: Linear;
  lastWeights: Tensor | null = null;
  constructor(dModel: number, numHeads: number, options: { seed?: number } = {}) {
    super();
    this.dModel = dModel;
    this.numHeads = numHeads;
    const seed = options.seed;
    this.qProj = new Linear(dModel, dModel, { seed });
    this.kProj = new Linear(dModel, dModel, { seed: seed === undefined ? undefined : seed + 1 });
    this.vProj = new Linear(dModel, dModel, { seed: seed === undefined ? undefined : seed + 2 });
    this.outProj = new Linear(dModel, dModel, { seed: seed === undefined ? undefined : seed + 3 });
  }
  forward(x: Tensor, options: AttentionOptions = {}): Tensor {
    const q = splitHeads(this.qProj.forward(x), this.numHeads);
    let k = splitHeads(this.kProj.forward(x), this.numHeads);
    let v = splitHeads(this.vProj.forward(x), this.numHeads);
    if (options.cache !== undefined) ({ k, v } = options.cache.append(k, v));
    const { output, weights } = scaledDotProductAttention(q, k, v, options.mask ?? null);
    this.lastWeights = weights.detach();
    return this.outProj.forward(mergeHeads(output));
  }
  override parameters(): Tensor[] {
    return [this.qProj, this.kProj, this.vProj, this.outProj].flatMap((p) => p.parameters());
  }
}

// %% [markdown]
// ## Part 5: What attention costs
//
// For each of `B·H` heads, the scores are a `T × T` matrix: `q @ kᵀ` costs `2·T²·hd` FLOPs, the
// product with `v` as much again, and the weights take `4·T²` bytes each, kept for the backward
// pass. Double the sequence, and time and memory both grow **four times**; the projections,
// `2·T·C²` FLOPs each, only twice. At short lengths the projections dominate; past `T ≈ C`
// attention does.
//
// ### Predict, then measure
//
// For one sequence (`B = 1`), `H = 4` heads of `hd = 32` (the milestone's model):
//
// 1. How many **bytes** do the attention weights of one layer take at `T = 1024`?
// 2. How many **FLOPs** does `q @ kᵀ` cost at `T = 512`, all heads together?

// %% nbgrader={"grade": false, "grade_id": "predict-attention-bytes", "locked": false, "schema_version": 3, "solution": true, "task": false}
/** Your prediction: bytes of the weights [1, 4, 1024, 1024] in float32. */
function predictedAttentionBytes(): number {
  // ### BEGIN SOLUTION
  return 4 * 1024 * 1024 * 4;
  // ### END SOLUTION
}

// %%
//| mutation predict-attention-bytes linear in T
function predictedAttentionBytes(): number {
  return 4 * 1024 * 32 * 4;
}

// %% nbgrader={"grade": false, "grade_id": "predict-score-flops", "locked": false, "schema_version": 3, "solution": true, "task": false}
/** Your prediction: FLOPs of q @ kᵀ for [1, 4, 512, 32] queries and keys. */
function predictedScoreFlops(): number {
  // ### BEGIN SOLUTION
  return 2 * 4 * 512 * 512 * 32;
  // ### END SOLUTION
}

// %%
//| mutation predict-score-flops forgets that a multiply-add is two FLOPs
function predictedScoreFlops(): number {
  return 4 * 512 * 512 * 32;
}

// %%
await demo("attention against sequence length", async () => {
  const rows: { T: number; ms: number; msPerT2: number; weightBytes: number }[] = [];
  for (const t of [32, 64, 128, 256, 512]) {
    const q = Tensor.randn([1, 4, t, 32], 1);
    const k = Tensor.randn([1, 4, t, 32], 2);
    const v = Tensor.randn([1, 4, t, 32], 3);
    const mask = causalMask(t, t);
    let best = Infinity;
    let bytes = 0;
    for (let rep = 0; rep < 3; rep++) {
      const t0 = performance.now();
      bytes = scaledDotProductAttention(q, k, v, mask).weights.nbytes;
      best = Math.min(best, performance.now() - t0);
    }
    rows.push({ T: t, ms: best, msPerT2: (best / (t * t)) * 1e6, weightBytes: bytes });
  }
  console.log(`your predictions: ${predictedAttentionBytes()} bytes at T = 1024, ${predictedScoreFlops()} FLOPs for q @ kᵀ at T = 512`);
  console.log("   T   time (ms)   ns per T²   weights (bytes)");
  for (const r of rows) console.log(`${String(r.T).padStart(4)} ${r.ms.toFixed(2).padStart(11)} ${r.msPerT2.toFixed(1).padStart(11)} ${String(r.weightBytes).padStart(17)}`);
  await showChart({
    title: "Attention time against sequence length (1 sequence, 4 heads of 32)",
    data: { values: rows },
    mark: { type: "line", point: true },
    encoding: {
      x: { field: "T", type: "quantitative", scale: { type: "log", base: 2 }, title: "sequence length T" },
      y: { field: "ms", type: "quantitative", scale: { type: "log" }, title: "milliseconds (log)" },
    },
  });
});

// %% nbgrader={"grade": true, "grade_id": "test-unit-attention-predictions", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
function testUnitAttentionPredictions(): void {
  // ### BEGIN HIDDEN TESTS
  check("bytes of the attention weights at T = 1024", 1, () => assertPrediction(predictedAttentionBytes(), 16_777_216, { rtol: 0.05 }));
  check("FLOPs of q @ kᵀ at T = 512", 1, () => assertPrediction(predictedScoreFlops(), 67_108_864, { rtol: 0.05 }));
  // ### END HIDDEN TESTS
  passed("testUnitAttentionPredictions");
}
testUnitAttentionPredictions();

// %% [markdown] nbgrader={"grade": true, "grade_id": "explain-scale", "locked": false, "points": 2, "schema_version": 3, "solution": true, "task": false}
// **Question 1.** Your classmate forgot the `1/√d` in a model with heads of `hd = 64`. The
// model trains, but much more slowly, and its attention maps look like single bright dots.
// Explain both observations.
//
// ### BEGIN SOLUTION
// Without the scale, a score is a sum of 64 products, with a standard deviation about 8 times
// that of one product. A softmax of scores spread over ±20 gives almost all the weight to the
// largest one: each query attends to a single key (the bright dots). In that saturated regime
// the softmax's gradient y_j (g_j − Σ g_k y_k) is nearly zero (y is nearly one-hot), so little
// gradient reaches the queries and keys, and learning is slow.
// ### END SOLUTION
//
// ### BEGIN RUBRIC
// 2 points: the score variance grows with d (scores of size √d), the softmax saturates to
// one-hot (the dots), and a saturated softmax passes almost no gradient (slow training).
// 1 point: saturation explained for only one of the two observations.
// ### END RUBRIC

// %% [markdown] nbgrader={"grade": true, "grade_id": "explain-quadratic", "locked": false, "points": 2, "schema_version": 3, "solution": true, "task": false}
// **Question 2.** From your measurement: at which sequence length does the attention core
// (scores, softmax, weighted sum) start to cost more than the four projections of the
// milestone's layer (`C = 128`, `2·T·C²` FLOPs each), and what does that mean for a model that
// reads whole chapters?
//
// ### BEGIN SOLUTION
// The core costs about 4·T²·C FLOPs (2·T²·hd per head for each of the two products, times H
// heads), the projections 8·T·C². They are equal at T = 2C = 256; beyond it attention
// dominates and grows four times per doubling. Memory is worse: the weights take 4·H·T² bytes
// per layer and sequence, kept for the backward pass. A model reading a chapter of 20,000
// characters at once would need 4·4·20,000² = 6.4 GB of weights per layer: quadratic cost is
// why contexts are limited, and why long-context models use tricks (FlashAttention's tiling,
// sparse or linear attention).
// ### END SOLUTION
//
// ### BEGIN RUBRIC
// 2 points: a crossover near T ≈ 2C (a measured value between 128 and 512 is fine if argued
// from their timings), T² growth of time and memory beyond it, and the consequence for long
// inputs (memory or time becomes prohibitive; contexts are limited). 1 point: the T² growth
// stated without a crossover or a consequence.
// ### END RUBRIC

// %% [markdown]
// ## Module test

// %% nbgrader={"grade": true, "grade_id": "test-module-attention", "locked": true, "points": 3, "schema_version": 3, "solution": false, "task": false}
function testModule(): void {
  // A cache that simply concatenates: feeding a sequence one token at a time gives the same
  // outputs as the whole sequence at once with a causal mask.
  class ConcatCache implements LayerKVCache {
    k: Tensor | null = null;
    v: Tensor | null = null;
    get length(): number {
      return this.k === null ? 0 : this.k.shape[2];
    }
    append(k: Tensor, v: Tensor): { k: Tensor; v: Tensor } {
      const cat = (a: Tensor | null, b: Tensor): Tensor => {
        if (a === null) return b;
        const [bs, h, ta, d] = a.shape;
        const tb = b.shape[2];
        const out = new Float32Array(bs * h * (ta + tb) * d);
        for (let i = 0; i < bs * h; i++) {
          out.set(a.data.subarray(i * ta * d, (i + 1) * ta * d), i * (ta + tb) * d);
          out.set(b.data.subarray(i * tb * d, (i + 1) * tb * d), (i * (ta + tb) + ta) * d);
        }
        return new Tensor(out, [bs, h, ta + tb, d]);
      };
      this.k = cat(this.k, k);
      this.v = cat(this.v, v);
      return { k: this.k, v: this.v };
    }
  }
  const mha = new MultiHeadAttention(12, 3, { seed: 5 });
  const x = Tensor.randn([2, 6, 12], 6);
  const whole = mha.forward(x, { causal: true });
  const cache = new ConcatCache();
  const steps: number[] = [];
  for (let t = 0; t < 6; t++) {
    const step = mha.forward(x.slice(null, [t, t + 1]), { causal: true, cache });
    for (let b = 0; b < 2; b++) steps.push(...Array.from(step.data.subarray(b * 12, (b + 1) * 12)));
  }
  const wholeByStep: number[] = [];
  for (let t = 0; t < 6; t++) for (let b = 0; b < 2; b++) wholeByStep.push(...Array.from(whole.data.subarray((b * 6 + t) * 12, (b * 6 + t + 1) * 12)));
  assertClose(steps, wholeByStep, { atol: 1e-5 }, "one token at a time with a cache = the whole sequence");
  // ### BEGIN HIDDEN TESTS
  {
    // Seeded: a random layer and random input fed in random-sized pieces through the cache,
    // against the same layer on the whole sequence (both computed by the layer: causality and
    // the offset mask are what is checked), and the attention weights' rows sum to one.
    const r = testRandom("attention/module");
    const [numHeads, hd, b, t] = [r.int(1, 3), r.int(1, 4), r.int(1, 2), r.int(2, 8)];
    const layer = new MultiHeadAttention(numHeads * hd, numHeads, { seed: r.seed() });
    const xs = new Tensor(Float32Array.from(r.numbers(b * t * numHeads * hd, -2, 2)), [b, t, numHeads * hd]);
    const full = layer.forward(xs, { causal: true });
    const weightSums = Array.from({ length: (layer.lastWeights?.size ?? 0) / t }, (_, row) => Array.from(layer.lastWeights?.data.subarray(row * t, (row + 1) * t) ?? []).reduce((s, v) => s + v, 0));
    assertClose(weightSums, new Array<number>(b * numHeads * t).fill(1), { atol: 1e-5 }, "every row of weights sums to one");
    const pieces: number[] = [];
    const c2 = new ConcatCache();
    let at = 0;
    while (at < t) {
      const len = r.int(1, t - at);
      pieces.push(len);
      const out = layer.forward(xs.slice(null, [at, at + len]), { causal: true, cache: c2 });
      for (let p = 0; p < len; p++) {
        for (let bi = 0; bi < b; bi++) {
          const mine = Array.from(out.data.subarray((bi * len + p) * numHeads * hd, (bi * len + p + 1) * numHeads * hd));
          const theirs = Array.from(full.data.subarray((bi * t + at + p) * numHeads * hd, (bi * t + at + p + 1) * numHeads * hd));
          assertClose(mine, theirs, { atol: 1e-5 }, `pieces ${pieces.join("+")}: position ${at + p} of sequence ${bi}`);
        }
      }
      at += len;
    }
  }
  // ### END HIDDEN TESTS
  passed("testModule (attention)");
}
testModule();

// %% [markdown]
// ## Summary
//
// - Attention: every query scores every key (`q @ kᵀ / √d`), a softmax turns the scores into
//   weights, and the output is the weighted sum of the values.
// - The `1/√d` keeps the scores' variance near 1, so the softmax does not saturate and its
//   gradient `y (g − Σ g y)` keeps flowing.
// - The causal mask lets a sequence train on every next-token prediction at once without any
//   position reading its answer; written for the last `Tq` of `Tk` positions, it also serves
//   the cache of module 17.
// - Heads are a reshape and a transpose, `[B, T, C]` ↔ `[B, H, T, hd]`, with each other's
//   gradient; `H` heads cost what one head of width `C` does.
// - Time and memory grow with `T²`: beyond `T ≈ 2C` attention dominates the layer.
//
// Next, module 13 builds the transformer block and a GPT around this layer.
