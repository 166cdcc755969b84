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
// # Module 08: Training
//
// Everything is in place: tensors that remember how they were computed (01, 06), layers (03), a
// loss that says how wrong the network is (04), batches of data (05) and optimizers that turn
// gradients into better parameters (07). This module joins them into the **training loop**, and
// adds what turns a loop that works on a good day into one you can leave running:
//
// | you build | why |
// |---|---|
// | `clipGradNorm` | one bad batch cannot throw the weights across the landscape |
// | `trainEpoch`, `evaluate` | one pass over the training data; a measurement without training |
// | `accumulatedStep` | one step from several micro-batches: a large batch that does not fit |
// | `encodeCheckpoint`, `decodeCheckpoint` | save a model's parameters and get exactly them back |
// | `EarlyStopping` | stop when the validation metric stops improving, keep the best weights |
// | `fit` | epochs, history, progress, schedules, early stopping: the whole loop |
//
// The result lands in `tinytorch-ts/training`; the digits milestone trains with it.
//
// ### What you will learn
// - the four lines at the heart of every training step, and why their order matters;
// - why evaluation switches the model to `eval()` mode and turns off gradient tracking;
// - what gradient clipping by global norm does (it is PyTorch's `clip_grad_norm_`);
// - how gradient accumulation makes a large batch out of small ones, and when it does not;
// - how to write a file that round-trips float32 bit for bit, and never leaves half a file;
// - why the validation set, not the training set, decides when to stop.

// %%
//| default_exp training

// %%
//| export
import { randomBytes } from "node:crypto";
import { readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { Tensor } from "tinytorch-ts/core/tensor";
import { noGrad } from "tinytorch-ts/core/autograd";
import type { Module } from "tinytorch-ts/core/layers";
import type { Optimizer } from "tinytorch-ts/optim";
import type { ChartSpec } from "tinytorch-ts/support/chart";
import { displayBundle, inNotebook } from "tinytorch-ts/support/display";

// %% nbgrader={"grade": false, "grade_id": "training-test-helpers", "locked": true, "schema_version": 3, "solution": false, "task": false}
// Notebook-only imports (not part of the package).
import { mkdtempSync, existsSync, readdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Rng } from "tinytorch-ts/core/tensor";
import { ReLU } from "tinytorch-ts/core/activations";
import { Dropout, Layer, Linear, Sequential } from "tinytorch-ts/core/layers";
import { CrossEntropyLoss } from "tinytorch-ts/core/losses";
import { DataLoader, TensorDataset } from "tinytorch-ts/data";
import { SGD, Adam, CosineAnnealingLR } from "tinytorch-ts/optim";
import { showChart } from "tinytorch-ts/support/chart";
import { assert, assertClose, assertEqual, assertPrediction, assertThrows, check, demo, passed, testRandom } from "tinytorch-ts/support/testing";

/** Three interleaved spirals in the plane: `n` points per class, labels 0..2. */
function spirals(n: number, seed: number): { x: Tensor; y: Tensor } {
  const rng = new Rng(seed);
  const x = new Float32Array(3 * n * 2);
  const y = new Float32Array(3 * n);
  for (let c = 0; c < 3; c++) {
    for (let i = 0; i < n; i++) {
      const r = i / n;
      const angle = (c * 2 * Math.PI) / 3 + 4 * r + 0.2 * rng.normal();
      const k = c * n + i;
      x[2 * k] = r * Math.cos(angle);
      x[2 * k + 1] = r * Math.sin(angle);
      y[k] = c;
    }
  }
  return { x: new Tensor(x, [3 * n, 2]), y: new Tensor(y, [3 * n]) };
}

// %% [markdown]
// ## What a model, a loss and a batch are here
//
// The loop needs very little from each part, so we say exactly that and nothing more:
//
// - a **model** is a module (`forward`, `parameters`) that can switch between training and
//   inference: `train()` and `eval()`, as the layers of module 03 do;
// - a **loss** has `forward(outputs, targets)` returning a scalar tensor connected to the graph;
// - the data is any **iterable of `[inputs, targets]` batches**: a `DataLoader` (which reshuffles
//   on every pass), or simply an array of batches.
//
// For classification we also count how many predictions are right. A model with several
// outputs per example predicts the class with the largest output (its logits need no softmax
// for that: softmax keeps the order). A model with one output per example is a binary classifier
// ending in a sigmoid: it predicts 1 when the output is above 0.5.

// %% nbgrader={"grade": false, "grade_id": "training-types", "locked": true, "schema_version": 3, "solution": false, "task": false}
//| export
/** A module that can switch between training and inference behaviour (a Layer, a Sequential). */
interface TrainableModule extends Module {
  training: boolean;
  train(): unknown;
  eval(): unknown;
}

/** A loss: a scalar tensor, connected to the graph, from outputs and targets. */
interface LossFunction {
  forward(outputs: Tensor, targets: Tensor): Tensor;
}

/** One batch: inputs and targets, with the examples along the first axis. */
type Batch = readonly [Tensor, Tensor];

/** Mean loss and accuracy over the examples of one pass. */
interface EpochStats {
  loss: number;
  accuracy: number;
  examples: number;
}

/**
 * Number of right predictions in a batch: the largest output for [N, C] outputs (C > 1), output
 * above 0.5 for [N] or [N, 1] outputs (a sigmoid). Targets hold one class index per example.
 */
function countCorrect(outputs: Tensor, targets: Tensor): number {
  const n = outputs.ndim === 0 ? 1 : outputs.shape[0];
  const columns = n === 0 ? 1 : outputs.size / n;
  if (targets.size !== n) {
    throw new Error(
      `countCorrect: ${n} outputs but targets of shape [${targets.shape.join(", ")}] ` +
        `(expected one class index per example)`,
    );
  }
  const out = outputs.data;
  let correct = 0;
  for (let i = 0; i < n; i++) {
    let predicted: number;
    if (columns === 1) {
      predicted = out[i] > 0.5 ? 1 : 0;
    } else {
      predicted = 0;
      for (let c = 1; c < columns; c++) if (out[i * columns + c] > out[i * columns + predicted]) predicted = c;
    }
    if (predicted === targets.data[i]) correct++;
  }
  return correct;
}

// %% [markdown]
// ## Gradient clipping
//
// Now and then a batch produces an enormous gradient: an outlier, a loss near a cliff, a
// recurrent network unrolled too far. One step along it can undo hours of training. Clipping
// **by global norm** treats all the gradients of the model as one long vector and, if its length
// exceeds `maxNorm`, scales the whole vector down to that length. The direction is kept (unlike
// clipping each element, which bends it); only the step is shortened.
//
// PyTorch's `torch.nn.utils.clip_grad_norm_`, which we follow:
//
// ```
// total = √(Σ over parameters of ‖g_p‖²)          (the 2-norm of all gradients together)
// coef  = maxNorm / (total + 1e-6)
// if coef < 1:  g_p ← g_p · coef  for every parameter
// return total                                     (the norm before clipping: worth logging)
// ```
//
// The `1e-6` keeps the division finite when every gradient is 0. Parameters without a gradient
// are left out. A non-finite total (a NaN or an infinite gradient) cannot be clipped meaningfully;
// like PyTorch with `error_if_nonfinite=True`, we can throw instead of spreading NaN everywhere.
//
// ### Exercise 1: `clipGradNorm`
//
// **TODO**: Compute the global norm of the gradients and scale them in place when it is too large.
//
// **APPROACH**:
// 1. Sum the squares of every element of every `p.grad` (skip `null` gradients).
// 2. `total = Math.sqrt(sum)`. If it is not finite and `options.errorIfNonfinite`, throw an
//    `Error` whose message contains `non-finite`.
// 3. `coef = maxNorm / (total + 1e-6)`; when `coef < 1`, multiply every gradient element by it,
//    in place.
// 4. Return `total`.
//
// **HINTS**:
// - One coefficient for all parameters, computed from all of them: what would happen to the
//   direction of the step if each tensor were clipped to `maxNorm` on its own?
// - A parameter listed twice must count once (the optimizer keeps each parameter once, too).

// %% nbgrader={"grade": false, "grade_id": "clip-grad-norm", "locked": false, "schema_version": 3, "solution": true, "task": false}
//| export
/** Scales all gradients together so that their global 2-norm is at most `maxNorm`; returns the norm before. */
function clipGradNorm(
  parameters: Iterable<Tensor>,
  maxNorm: number,
  options: { errorIfNonfinite?: boolean } = {},
): number {
  if (!(maxNorm >= 0)) throw new Error(`clipGradNorm: maxNorm must be >= 0, got ${maxNorm}`);
  // ### BEGIN SOLUTION
  const grads: Float32Array[] = [];
  for (const p of new Set(parameters)) if (p.grad !== null) grads.push(p.grad.data);
  let sumOfSquares = 0;
  for (const g of grads) for (let j = 0; j < g.length; j++) sumOfSquares += g[j] * g[j];
  const total = Math.sqrt(sumOfSquares);
  if (!Number.isFinite(total) && options.errorIfNonfinite) {
    throw new Error(`clipGradNorm: the total gradient norm is non-finite (${total})`);
  }
  const coef = maxNorm / (total + 1e-6);
  if (coef < 1) {
    for (const g of grads) for (let j = 0; j < g.length; j++) g[j] *= coef;
  }
  return total;
  // ### END SOLUTION
}

// %% nbgrader={"grade": true, "grade_id": "test-unit-clip-grad-norm", "locked": true, "points": 3, "schema_version": 3, "solution": false, "task": false}
function testUnitClipGradNorm(): void {
  const a = new Tensor([0, 0]);
  const b = new Tensor([0]);
  a.grad = new Tensor([3, 4]);
  b.grad = new Tensor([12]);
  const total = clipGradNorm([a, b], 6.5);
  assertClose(total, 13, {}, "√(9 + 16 + 144) = 13");
  assertClose(Array.from(a.grad.data), [1.5, 2], { rtol: 1e-5 }, "scaled by 6.5/13");
  assertClose(Array.from(b.grad.data), [6], { rtol: 1e-5 });
  // ### BEGIN HIDDEN TESTS
  assertClose(clipGradNorm([a, b], 100), 6.5, { rtol: 1e-5 }, "returns the norm before clipping");
  assertClose(Array.from(a.grad.data), [1.5, 2], { rtol: 1e-5 }, "below maxNorm: unchanged");
  const c = new Tensor([1]);
  assertEqual(clipGradNorm([c], 1), 0, "no gradients: norm 0");
  assert(c.grad === null);
  const z = new Tensor([0]);
  z.grad = new Tensor([0]);
  assertEqual(clipGradNorm([z], 0), 0, "all zero: nothing divides by zero");
  assertEqual(Array.from(z.grad.data), [0]);
  // The exact coefficient: maxNorm / (total + 1e-6).
  const d = new Tensor([0, 0]);
  d.grad = new Tensor([6, 8]);
  clipGradNorm([d], 1);
  assertClose(Array.from(d.grad.data), [6 / (10 + 1e-6), 8 / (10 + 1e-6)], { rtol: 1e-6 });
  const bad = new Tensor([0]);
  bad.grad = new Tensor([Infinity]);
  assertThrows(() => clipGradNorm([bad], 1, { errorIfNonfinite: true }), "non-finite");
  assertEqual(clipGradNorm([bad], 1), Infinity, "without the option, the norm is reported");
  assertThrows(() => clipGradNorm([a], -1), "maxNorm");
  {
    // Seeded: gradients of random shapes and values on a random number of parameters (some
    // without a gradient), once large (clipped to a random smaller norm), once small (left
    // alone), once at a random scale; the norm returned and the gradients after, against a
    // float64 norm. Then a non-finite gradient at a random place.
    const r = testRandom("training/clip-grad-norm");
    /** Oracle: the float64 global norm of the gradients. */
    const norm64 = (grads: (number[] | null)[]): number => Math.sqrt(grads.reduce((s, g) => s + (g ?? []).reduce((t, v) => t + v * v, 0), 0));
    /** Oracle: the gradients after clipping to maxNorm, in float64 (PyTorch's coefficient). */
    function clipped64(grads: (number[] | null)[], maxNorm: number): (number[] | null)[] {
      const coef = maxNorm / (norm64(grads) + 1e-6);
      return grads.map((g) => (g === null ? null : coef < 1 ? g.map((v) => v * coef) : g));
    }
    for (const [scale, maxLo, maxHi] of [[r.uniform(1, 5), 0.05, 0.5], [r.uniform(0.001, 0.01), 1, 5], [10 ** r.uniform(-2, 1), 0.1, 3]]) {
      const shapes = Array.from({ length: r.int(1, 4) }, () => r.shape(r.int(0, 2), 4));
      const grads = shapes.map((s, i) => (i > 0 && r.bool(0.25) ? null : r.numbers(s.reduce((p, d) => p * d, 1), -1, 1).map((v) => Math.fround(v * scale))));
      const params = shapes.map((s) => Tensor.zeros(s));
      params.forEach((p, i) => {
        const g = grads[i];
        if (g !== null) p.grad = new Tensor(g, p.shape);
      });
      const maxNorm = Math.fround(r.uniform(maxLo, maxHi));
      const label = `seeded: ${params.length} parameter(s), gradients of scale ${scale.toPrecision(3)}, maxNorm ${maxNorm}`;
      assertClose(clipGradNorm(params, maxNorm), norm64(grads), { rtol: 1e-5, atol: 1e-9 }, `${label}: the norm before clipping`);
      assertClose(params.map((p) => (p.grad === null ? [] : Array.from(p.grad.data))), clipped64(grads, maxNorm).map((g) => g ?? []), { rtol: 1e-5, atol: 1e-9 }, `${label}: the gradients after`);
      assertEqual(params.map((p) => p.grad === null), grads.map((g) => g === null), `${label}: no gradient is created`);
    }
    const bad = [Tensor.zeros([r.int(1, 5)]), Tensor.zeros([r.int(1, 5)])];
    const where = r.int(0, 1);
    for (const [i, p] of bad.entries()) {
      const g = r.numbers(p.size, -1, 1);
      if (i === where) g[r.int(0, p.size - 1)] = r.pick([Infinity, -Infinity, NaN]);
      p.grad = new Tensor(g);
    }
    assertThrows(() => clipGradNorm(bad, Math.fround(r.uniform(0.1, 2)), { errorIfNonfinite: true }), "non-finite", "seeded: a non-finite gradient");
  }
  // ### END HIDDEN TESTS
  passed("testUnitClipGradNorm");
}
testUnitClipGradNorm();

// %%
//| mutation clip-grad-norm clips each tensor to maxNorm on its own instead of all of them by their global norm
function clipGradNorm(
  parameters: Iterable<Tensor>,
  maxNorm: number,
  options: { errorIfNonfinite?: boolean } = {},
): number {
  if (!(maxNorm >= 0)) throw new Error(`clipGradNorm: maxNorm must be >= 0, got ${maxNorm}`);
  const grads: Float32Array[] = [];
  for (const p of new Set(parameters)) if (p.grad !== null) grads.push(p.grad.data);
  let sumOfSquares = 0;
  for (const g of grads) {
    let own = 0;
    for (let j = 0; j < g.length; j++) own += g[j] * g[j];
    sumOfSquares += own;
    const coef = maxNorm / (Math.sqrt(own) + 1e-6);
    if (coef < 1) for (let j = 0; j < g.length; j++) g[j] *= coef;
  }
  const total = Math.sqrt(sumOfSquares);
  if (!Number.isFinite(total) && options.errorIfNonfinite) throw new Error(`clipGradNorm: the total gradient norm is non-finite (${total})`);
  return total;
}

// %%
//| mutation clip-grad-norm clamps every element to [−maxNorm, maxNorm] (clipping by value), which bends the direction
function clipGradNorm(
  parameters: Iterable<Tensor>,
  maxNorm: number,
  options: { errorIfNonfinite?: boolean } = {},
): number {
  if (!(maxNorm >= 0)) throw new Error(`clipGradNorm: maxNorm must be >= 0, got ${maxNorm}`);
  const grads: Float32Array[] = [];
  for (const p of new Set(parameters)) if (p.grad !== null) grads.push(p.grad.data);
  let sumOfSquares = 0;
  for (const g of grads) for (let j = 0; j < g.length; j++) sumOfSquares += g[j] * g[j];
  const total = Math.sqrt(sumOfSquares);
  if (!Number.isFinite(total) && options.errorIfNonfinite) throw new Error(`clipGradNorm: the total gradient norm is non-finite (${total})`);
  for (const g of grads) for (let j = 0; j < g.length; j++) g[j] = Math.max(-maxNorm, Math.min(maxNorm, g[j]));
  return total;
}

// %%
//| mutation clip-grad-norm returns the norm after clipping instead of before
function clipGradNorm(
  parameters: Iterable<Tensor>,
  maxNorm: number,
  options: { errorIfNonfinite?: boolean } = {},
): number {
  if (!(maxNorm >= 0)) throw new Error(`clipGradNorm: maxNorm must be >= 0, got ${maxNorm}`);
  const grads: Float32Array[] = [];
  for (const p of new Set(parameters)) if (p.grad !== null) grads.push(p.grad.data);
  let sumOfSquares = 0;
  for (const g of grads) for (let j = 0; j < g.length; j++) sumOfSquares += g[j] * g[j];
  const total = Math.sqrt(sumOfSquares);
  if (!Number.isFinite(total) && options.errorIfNonfinite) throw new Error(`clipGradNorm: the total gradient norm is non-finite (${total})`);
  const coef = maxNorm / (total + 1e-6);
  if (coef < 1) {
    for (const g of grads) for (let j = 0; j < g.length; j++) g[j] *= coef;
    return total * coef;
  }
  return total;
}

// %% [markdown]
// ## One epoch of training, and one of evaluation
//
// The training step is four lines, and their order is the whole algorithm:
//
// ```ts
// optimizer.zeroGrad();                         // 1. gradients accumulate: start from nothing
// const loss = lossFn.forward(model.forward(x), y);  // 2. forward: builds the graph
// loss.backward();                              // 3. backward: fills p.grad, releases the graph
// optimizer.step();                             // 4. update the parameters in place
// ```
//
// Clipping, when asked for, goes between 3 and 4: after the gradients exist, before they are
// used. An **epoch** is one pass over the training batches; we report the mean loss and the
// accuracy over its examples. Each batch's loss is weighted by its size, so that a smaller last
// batch counts for what it is. (These are measured *during* the epoch, while the weights still
// move, so they lag a little behind the model at the end of the epoch.)
//
// **Evaluation** measures without learning. Two switches make it honest and cheap:
//
// - `model.eval()`: layers that behave differently in training, like Dropout, switch to their
//   inference behaviour. Forget it and every evaluation is noisy and too pessimistic.
// - `noGrad(...)`: no graph is recorded, so no memory is held for a backward pass that will
//   never come.
//
// And it puts things back as it found them: a model that was training is training again after.
//
// ### Exercise 2: `trainEpoch` and `evaluate`
//
// **TODO**: Implement both.
//
// **APPROACH**:
// - `trainEpoch`: which mode must the model be in? Then, for each `[x, y]` of `batches`, the four
//   lines above, with clipping (`clipGradNorm` of the optimizer's parameters) where it belongs
//   when `options.clipNorm` is set. What running totals do you need so that the mean loss weighs
//   every *example* equally, whatever the batch sizes? (`countCorrect(outputs, y)` counts the
//   right predictions of a batch.)
// - `evaluate`: the same totals, without any optimizer, under the two switches above; and the
//   model goes back to the mode it was in, even if something throws.
// - Both throw an `Error` containing `no batches` when there was nothing to go through (an empty
//   loader), rather than return `NaN`s.
//
// **HINTS**:
// - Keep the outputs of the forward pass: `countCorrect` needs them, and computing them again
//   would cost a second forward pass.
// - What would happen to the second batch's gradient if you left out `zeroGrad()`?

// %% nbgrader={"grade": false, "grade_id": "train-epoch", "locked": false, "schema_version": 3, "solution": true, "task": false}
//| export
/** Options of one training epoch. */
interface TrainEpochOptions {
  /** Clip the gradients to this global norm before each step (no clipping when absent). */
  clipNorm?: number;
}

/** One pass over `batches`: zeroGrad, forward, loss, backward, (clip), step, for each batch. */
function trainEpoch(
  model: TrainableModule,
  batches: Iterable<Batch>,
  lossFn: LossFunction,
  optimizer: Optimizer,
  options: TrainEpochOptions = {},
): EpochStats {
  // ### BEGIN SOLUTION
  model.train();
  let lossSum = 0;
  let correct = 0;
  let examples = 0;
  for (const [x, y] of batches) {
    optimizer.zeroGrad();
    const outputs = model.forward(x);
    const loss = lossFn.forward(outputs, y);
    loss.backward();
    if (options.clipNorm !== undefined) clipGradNorm(optimizer.params, options.clipNorm);
    optimizer.step();
    const n = x.shape[0];
    lossSum += loss.item() * n;
    correct += countCorrect(outputs, y);
    examples += n;
  }
  if (examples === 0) throw new Error("trainEpoch: no batches to train on");
  return { loss: lossSum / examples, accuracy: correct / examples, examples };
  // ### END SOLUTION
}

/** Mean loss and accuracy over `batches` in eval mode, without recording a graph. */
function evaluate(model: TrainableModule, batches: Iterable<Batch>, lossFn: LossFunction): EpochStats {
  // ### BEGIN SOLUTION
  const wasTraining = model.training;
  model.eval();
  try {
    return noGrad(() => {
      let lossSum = 0;
      let correct = 0;
      let examples = 0;
      for (const [x, y] of batches) {
        const outputs = model.forward(x);
        const n = x.shape[0];
        lossSum += lossFn.forward(outputs, y).item() * n;
        correct += countCorrect(outputs, y);
        examples += n;
      }
      if (examples === 0) throw new Error("evaluate: no batches to evaluate on");
      return { loss: lossSum / examples, accuracy: correct / examples, examples };
    });
  } finally {
    if (wasTraining) model.train();
  }
  // ### END SOLUTION
}

// %% nbgrader={"grade": true, "grade_id": "test-unit-train-epoch", "locked": true, "points": 5, "schema_version": 3, "solution": false, "task": false}
function testUnitTrainEpoch(): void {
  // Two classes on a line, a Linear(1 -> 2) classifier; after 30 epochs it separates them.
  const x = new Tensor([[-2], [-1], [1], [2]]);
  const y = new Tensor([0, 0, 1, 1]);
  const model = new Sequential([new Linear(1, 2, { seed: 0 })]);
  const opt = new SGD(model.parameters(), { lr: 0.5 });
  const ce = new CrossEntropyLoss();
  const before = evaluate(model, [[x, y]], ce);
  let stats = trainEpoch(model, [[x, y]], ce, opt);
  for (let e = 0; e < 30; e++) stats = trainEpoch(model, [[x, y]], ce, opt);
  const after = evaluate(model, [[x, y]], ce);
  assert(after.loss < before.loss / 2, `loss ${before.loss} -> ${after.loss}`);
  assertEqual(after.accuracy, 1, "separable: all right");
  assertEqual(stats.examples, 4);
  assertThrows(() => trainEpoch(model, [], ce, opt), "no batches");
  // ### BEGIN HIDDEN TESTS
  // Two batches of one epoch against the same steps computed by hand in float64: softmax
  // cross-entropy has gradient (softmax(z) − onehot(y)) / N for the logits z = xW + b.
  const lin = new Linear(2, 3, { seed: 4 });
  const W0 = Array.from(lin.weight.data); // [2, 3] row-major
  const B0 = Array.from((lin.bias as Tensor).data);
  const xs = [
    [0.5, -1],
    [1, 2],
    [-1.5, 0.3],
    [0.2, 0.2],
    [2, -0.7],
  ];
  const ys = [2, 0, 1, 1, 0];
  const batches: Batch[] = [
    [new Tensor(xs.slice(0, 3)), new Tensor(ys.slice(0, 3))],
    [new Tensor(xs.slice(3)), new Tensor(ys.slice(3))],
  ];
  /**
   * Oracle: two SGD steps (lr 0.3) of softmax regression from (W0, B0) over the two batches, in
   * float64: the weights, the bias, and the epoch's [summed loss, right predictions].
   */
  function twoSteps64(W0: number[], B0: number[]): { W: number[]; B: number[]; lossSum: number; correct: number } {
    const W = W0.slice();
    const B = B0.slice();
    let lossSum = 0;
    let correct = 0;
    for (const [lo, hi] of [
      [0, 3],
      [3, 5],
    ]) {
      const n = hi - lo;
      const gW = new Array<number>(6).fill(0);
      const gB = new Array<number>(3).fill(0);
      for (let k = lo; k < hi; k++) {
        const z = [0, 1, 2].map((c) => xs[k][0] * W[c] + xs[k][1] * W[3 + c] + B[c]);
        const zmax = Math.max(...z);
        const e = z.map((v) => Math.exp(v - zmax));
        const total = e.reduce((p, q) => p + q, 0);
        const prob = e.map((v) => v / total);
        lossSum -= Math.log(prob[ys[k]]);
        if (z.indexOf(zmax) === ys[k]) correct++;
        for (let c = 0; c < 3; c++) {
          const d = (prob[c] - (c === ys[k] ? 1 : 0)) / n;
          gW[c] += xs[k][0] * d;
          gW[3 + c] += xs[k][1] * d;
          gB[c] += d;
        }
      }
      for (let j = 0; j < 6; j++) W[j] -= 0.3 * gW[j];
      for (let c = 0; c < 3; c++) B[c] -= 0.3 * gB[c];
    }
    return { W, B, lossSum, correct };
  }
  const seq = new Sequential([lin]);
  const got = trainEpoch(seq, batches, ce, new SGD(seq.parameters(), { lr: 0.3 }));
  assertClose(Array.from(lin.weight.data), twoSteps64(W0, B0).W, { rtol: 1e-4, atol: 1e-6 }, "weights after two steps");
  assertClose(Array.from((lin.bias as Tensor).data), twoSteps64(W0, B0).B, { rtol: 1e-4, atol: 1e-6 }, "bias after two steps");
  assertClose(got.loss, twoSteps64(W0, B0).lossSum / 5, { rtol: 1e-4 }, "mean loss weighted by batch size");
  assertClose(got.accuracy, twoSteps64(W0, B0).correct / 5, {}, "accuracy during the epoch");
  assertEqual(got.examples, 5);
  // Clipping: with clipNorm 0 the gradients are scaled to ~0, so nothing moves.
  const frozen = new Sequential([new Linear(2, 3, { seed: 9 })]);
  const start = frozen.parameters().map((p) => Array.from(p.data));
  trainEpoch(frozen, batches, ce, new SGD(frozen.parameters(), { lr: 1 }), { clipNorm: 0 });
  frozen.parameters().forEach((p, i) => assertClose(Array.from(p.data), start[i], { atol: 1e-5 }, "clipped to 0"));
  // evaluate: no graph, eval mode during, training mode restored, parameters untouched.
  let sawMode: boolean | null = null;
  let sawGraph: boolean | null = null;
  const probe: TrainableModule = {
    training: true,
    train() {
      this.training = true;
    },
    eval() {
      this.training = false;
    },
    parameters: () => lin.parameters(),
    forward(t: Tensor) {
      sawMode = this.training;
      const out = lin.forward(t);
      sawGraph = out.requiresGrad;
      return out;
    },
  };
  const ev = evaluate(probe, batches, ce);
  assertEqual([sawMode, sawGraph], [false, false], "eval mode and no graph during evaluate");
  assert(probe.training, "training mode restored");
  assertEqual(ev.examples, 5);
  probe.eval();
  evaluate(probe, batches, ce);
  assert(!probe.training, "a model in eval mode stays in eval mode");
  assertThrows(() => evaluate(seq, [], ce), "no batches");
  trainEpoch(probe, batches, ce, new SGD(lin.parameters(), { lr: 0.1 }));
  assert(probe.training, "trainEpoch switches to training mode");
  {
    // Seeded: trainEpoch of a Linear classifier of random size and seed (and random bias) over
    // random batches of a random size (the last one smaller) with random labels, with a random
    // learning rate, once without and once with clipping to a random norm; then evaluate on
    // other random batches. Against the same epoch computed by hand in float64.
    const r = testRandom("training/train-epoch");
    const [inF, classes] = [r.int(1, 4), r.int(2, 4)];
    type Rows = { x: number[][]; y: number[] };
    const randomBatches = (): Rows[] => {
      const total = r.int(3, 14);
      const size = r.int(1, total);
      const out: Rows[] = [];
      for (let start = 0; start < total; start += size) {
        const n = Math.min(size, total - start);
        out.push({ x: Array.from({ length: n }, () => r.numbers(inF, -2, 2)), y: Array.from({ length: n }, () => r.int(0, classes - 1)) });
      }
      return out;
    };
    const asBatches = (rows: Rows[]): Batch[] => rows.map((b) => [new Tensor(b.x), new Tensor(b.y)]);
    /**
     * Oracle: one epoch of SGD on softmax regression (logits xW + b, W of shape [inF, classes]) in
     * float64, each batch's gradient clipped when `clip` is given; then an evaluation on `held`.
     */
    function epoch64(w0: number[], b0: number[], train: Rows[], lr: number, clip: number | undefined, held: Rows[]) {
      const W = w0.slice();
      const B = b0.slice();
      const logits = (row: number[]) => B.map((b, c) => row.reduce((s, v, i) => s + v * W[i * classes + c], b));
      const softmax = (z: number[]) => {
        const top = Math.max(...z);
        const e = z.map((v) => Math.exp(v - top));
        const total = e.reduce((s, v) => s + v, 0);
        return e.map((v) => v / total);
      };
      let lossSum = 0;
      let correct = 0;
      let examples = 0;
      for (const { x, y } of train) {
        const gW = W.map(() => 0);
        const gB = B.map(() => 0);
        x.forEach((row, k) => {
          const z = logits(row);
          const p = softmax(z);
          lossSum -= Math.log(p[y[k]]);
          if (z.indexOf(Math.max(...z)) === y[k]) correct++;
          for (let c = 0; c < classes; c++) {
            const d = (p[c] - (c === y[k] ? 1 : 0)) / x.length;
            for (let i = 0; i < inF; i++) gW[i * classes + c] += row[i] * d;
            gB[c] += d;
          }
        });
        examples += x.length;
        const norm = Math.sqrt([...gW, ...gB].reduce((s, g) => s + g * g, 0));
        const coef = clip === undefined ? 1 : Math.min(1, clip / (norm + 1e-6));
        gW.forEach((g, j) => (W[j] -= lr * coef * g));
        gB.forEach((g, c) => (B[c] -= lr * coef * g));
      }
      let heldLoss = 0;
      let heldCorrect = 0;
      let heldCount = 0;
      for (const { x, y } of held) {
        x.forEach((row, k) => {
          const z = logits(row);
          heldLoss -= Math.log(softmax(z)[y[k]]);
          if (z.indexOf(Math.max(...z)) === y[k]) heldCorrect++;
          heldCount++;
        });
      }
      return { W, B, train: [lossSum / examples, correct / examples, examples], held: [heldLoss / heldCount, heldCorrect / heldCount, heldCount] };
    }
    for (const clipped of [false, true]) {
      const model = new Sequential([new Linear(inF, classes, { seed: r.seed() })]);
      const [weight, bias] = model.parameters();
      bias.data.set(r.numbers(classes, -1, 1));
      const w0 = Array.from(weight.data);
      const b0 = Array.from(bias.data);
      const train = randomBatches();
      const held = randomBatches();
      const lr = Math.fround(r.uniform(0.05, 1));
      const clipNorm = clipped ? Math.fround(r.uniform(0.05, 0.5)) : undefined;
      const stats = trainEpoch(model, asBatches(train), ce, new SGD(model.parameters(), { lr }), clipNorm === undefined ? {} : { clipNorm });
      const evaluated = evaluate(model, asBatches(held), ce);
      const label = `seeded: Linear(${inF}, ${classes}), ${train.length} batch(es), lr ${lr}, clipNorm ${clipNorm}`;
      assertClose(Array.from(weight.data), epoch64(w0, b0, train, lr, clipNorm, held).W, { rtol: 1e-4, atol: 1e-5 }, `${label}: weights after the epoch`);
      assertClose(Array.from(bias.data), epoch64(w0, b0, train, lr, clipNorm, held).B, { rtol: 1e-4, atol: 1e-5 }, `${label}: bias after the epoch`);
      assertClose([stats.loss, stats.accuracy, stats.examples], epoch64(w0, b0, train, lr, clipNorm, held).train, { rtol: 1e-4, atol: 1e-6 }, `${label}: loss, accuracy, examples`);
      assertClose([evaluated.loss, evaluated.accuracy, evaluated.examples], epoch64(w0, b0, train, lr, clipNorm, held).held, { rtol: 1e-4, atol: 1e-6 }, `${label}: evaluate afterwards`);
    }
  }
  // ### END HIDDEN TESTS
  passed("testUnitTrainEpoch");
}
testUnitTrainEpoch();

// %%
//| mutation train-epoch never calls zeroGrad, so each step also follows every earlier batch's gradient
interface TrainEpochOptions {
  clipNorm?: number;
}

function trainEpoch(
  model: TrainableModule,
  batches: Iterable<Batch>,
  lossFn: LossFunction,
  optimizer: Optimizer,
  options: TrainEpochOptions = {},
): EpochStats {
  model.train();
  let lossSum = 0;
  let correct = 0;
  let examples = 0;
  for (const [x, y] of batches) {
    const outputs = model.forward(x);
    const loss = lossFn.forward(outputs, y);
    loss.backward();
    if (options.clipNorm !== undefined) clipGradNorm(optimizer.params, options.clipNorm);
    optimizer.step();
    const n = x.shape[0];
    lossSum += loss.item() * n;
    correct += countCorrect(outputs, y);
    examples += n;
  }
  if (examples === 0) throw new Error("trainEpoch: no batches to train on");
  return { loss: lossSum / examples, accuracy: correct / examples, examples };
}

function evaluate(model: TrainableModule, batches: Iterable<Batch>, lossFn: LossFunction): EpochStats {
  const wasTraining = model.training;
  model.eval();
  try {
    return noGrad(() => {
      let lossSum = 0;
      let correct = 0;
      let examples = 0;
      for (const [x, y] of batches) {
        const outputs = model.forward(x);
        const n = x.shape[0];
        lossSum += lossFn.forward(outputs, y).item() * n;
        correct += countCorrect(outputs, y);
        examples += n;
      }
      if (examples === 0) throw new Error("evaluate: no batches to evaluate on");
      return { loss: lossSum / examples, accuracy: correct / examples, examples };
    });
  } finally {
    if (wasTraining) model.train();
  }
}

// %%
//| mutation train-epoch averages the batch losses, so a small last batch counts as much as a full one
interface TrainEpochOptions {
  clipNorm?: number;
}

function trainEpoch(
  model: TrainableModule,
  batches: Iterable<Batch>,
  lossFn: LossFunction,
  optimizer: Optimizer,
  options: TrainEpochOptions = {},
): EpochStats {
  model.train();
  let lossSum = 0;
  let correct = 0;
  let examples = 0;
  let count = 0;
  for (const [x, y] of batches) {
    optimizer.zeroGrad();
    const outputs = model.forward(x);
    const loss = lossFn.forward(outputs, y);
    loss.backward();
    if (options.clipNorm !== undefined) clipGradNorm(optimizer.params, options.clipNorm);
    optimizer.step();
    lossSum += loss.item();
    correct += countCorrect(outputs, y);
    examples += x.shape[0];
    count += 1;
  }
  if (examples === 0) throw new Error("trainEpoch: no batches to train on");
  return { loss: lossSum / count, accuracy: correct / examples, examples };
}

function evaluate(model: TrainableModule, batches: Iterable<Batch>, lossFn: LossFunction): EpochStats {
  const wasTraining = model.training;
  model.eval();
  try {
    return noGrad(() => {
      let lossSum = 0;
      let correct = 0;
      let examples = 0;
      for (const [x, y] of batches) {
        const outputs = model.forward(x);
        const n = x.shape[0];
        lossSum += lossFn.forward(outputs, y).item() * n;
        correct += countCorrect(outputs, y);
        examples += n;
      }
      if (examples === 0) throw new Error("evaluate: no batches to evaluate on");
      return { loss: lossSum / examples, accuracy: correct / examples, examples };
    });
  } finally {
    if (wasTraining) model.train();
  }
}

// %%
//| mutation train-epoch clips before backward(), when the gradients are not there yet
interface TrainEpochOptions {
  clipNorm?: number;
}

function trainEpoch(
  model: TrainableModule,
  batches: Iterable<Batch>,
  lossFn: LossFunction,
  optimizer: Optimizer,
  options: TrainEpochOptions = {},
): EpochStats {
  model.train();
  let lossSum = 0;
  let correct = 0;
  let examples = 0;
  for (const [x, y] of batches) {
    optimizer.zeroGrad();
    const outputs = model.forward(x);
    const loss = lossFn.forward(outputs, y);
    if (options.clipNorm !== undefined) clipGradNorm(optimizer.params, options.clipNorm);
    loss.backward();
    optimizer.step();
    const n = x.shape[0];
    lossSum += loss.item() * n;
    correct += countCorrect(outputs, y);
    examples += n;
  }
  if (examples === 0) throw new Error("trainEpoch: no batches to train on");
  return { loss: lossSum / examples, accuracy: correct / examples, examples };
}

function evaluate(model: TrainableModule, batches: Iterable<Batch>, lossFn: LossFunction): EpochStats {
  const wasTraining = model.training;
  model.eval();
  try {
    return noGrad(() => {
      let lossSum = 0;
      let correct = 0;
      let examples = 0;
      for (const [x, y] of batches) {
        const outputs = model.forward(x);
        const n = x.shape[0];
        lossSum += lossFn.forward(outputs, y).item() * n;
        correct += countCorrect(outputs, y);
        examples += n;
      }
      if (examples === 0) throw new Error("evaluate: no batches to evaluate on");
      return { loss: lossSum / examples, accuracy: correct / examples, examples };
    });
  } finally {
    if (wasTraining) model.train();
  }
}

// %%
//| mutation train-epoch evaluates in training mode: no model.eval(), so Dropout stays on
interface TrainEpochOptions {
  clipNorm?: number;
}

function trainEpoch(
  model: TrainableModule,
  batches: Iterable<Batch>,
  lossFn: LossFunction,
  optimizer: Optimizer,
  options: TrainEpochOptions = {},
): EpochStats {
  model.train();
  let lossSum = 0;
  let correct = 0;
  let examples = 0;
  for (const [x, y] of batches) {
    optimizer.zeroGrad();
    const outputs = model.forward(x);
    const loss = lossFn.forward(outputs, y);
    loss.backward();
    if (options.clipNorm !== undefined) clipGradNorm(optimizer.params, options.clipNorm);
    optimizer.step();
    const n = x.shape[0];
    lossSum += loss.item() * n;
    correct += countCorrect(outputs, y);
    examples += n;
  }
  if (examples === 0) throw new Error("trainEpoch: no batches to train on");
  return { loss: lossSum / examples, accuracy: correct / examples, examples };
}

function evaluate(model: TrainableModule, batches: Iterable<Batch>, lossFn: LossFunction): EpochStats {
  return noGrad(() => {
    let lossSum = 0;
    let correct = 0;
    let examples = 0;
    for (const [x, y] of batches) {
      const outputs = model.forward(x);
      const n = x.shape[0];
      lossSum += lossFn.forward(outputs, y).item() * n;
      correct += countCorrect(outputs, y);
      examples += n;
    }
    if (examples === 0) throw new Error("evaluate: no batches to evaluate on");
    return { loss: lossSum / examples, accuracy: correct / examples, examples };
  });
}

// %% [markdown]
// ## Gradient accumulation: a large batch in small pieces
//
// A batch of 256 examples may not fit in memory when one of 64 does: the graph of a forward
// pass holds every activation of every example until `backward()` (module 06 made you measure
// it). **Gradient accumulation** gets the step of the large batch anyway: split it into `k`
// **micro-batches**, run forward and backward on each in turn without `zeroGrad()` in between
// (gradients add up, module 06), and step once at the end. Only one micro-batch's graph is alive
// at a time.
//
// The loss needs **scaling**. Each micro-batch's loss is a mean over *its* examples; summing `k`
// such gradients gives `k` times the large batch's gradient when the micro-batches are equal,
// and a wrongly weighted one when they are not. The large batch's loss is the mean over all `N`
// examples, `L = Σᵢ (nᵢ / N) · Lᵢ`, so micro-batch `i`'s loss is multiplied by `nᵢ / N` before
// its `backward()` (that is `1 / k` for equal sizes, the form you will see in most code). The
// upstream gradient of module 06 carries the factor into every rule. Clipping and the optimizer
// step then see the accumulated gradient, once, as they would see the large batch's.
//
// Is it *exactly* the large batch? For a model whose layers treat every example on its own
// (Linear, ReLU, ...), yes, up to the order of float32 additions. Not when a layer computes
// statistics over the batch (BatchNorm, module 09: it would normalise with the mean and variance
// of 16 examples instead of 64, a different function, and update its running averages `k`
// times). Dropout draws a random mask per call: the masks are different draws than one call
// would make, so the step is a different sample of the same random quantity (the demo's
// Dropout happens to draw its mask element after element from one stream, in batch order, so
// here it even coincides).
//
// ### Exercise 3: `accumulatedStep`
//
// **TODO**: Take one optimizer step from the micro-batches: the gradient of the mean loss over
// all their examples, clipped to `options.clipNorm` when it is set. Return the mean loss and
// accuracy over all the examples, as `trainEpoch` does.
//
// **APPROACH**:
// 1. Before the first micro-batch: how many examples are there in all (`N`)? Throw an `Error`
//    containing `no examples` when there are none. Which mode must the model be in, and what must
//    happen to the gradients left from the previous step?
// 2. For each micro-batch: forward, loss, and a `backward()` of the loss scaled by its share of
//    the examples. Keep the *unscaled* loss for the statistics.
// 3. After the last one: clip (if asked) and step, once.
//
// **HINTS**:
// - Where in module 06 does a factor applied to the loss before `backward()` end up? (Exercise
//   8, `crossEntropyBackward`, received it as `grad`.)
// - A last micro-batch smaller than the others is the common case (an epoch's end): `1 / k` is
//   then the wrong weight.

// %% nbgrader={"grade": false, "grade_id": "accumulated-step", "locked": false, "schema_version": 3, "solution": true, "task": false}
//| export
/** Options of accumulatedStep. */
interface AccumulationOptions {
  /** Clip the accumulated gradient to this global norm before the step (no clipping when absent). */
  clipNorm?: number;
}

/**
 * One optimizer step from several micro-batches (gradient accumulation): the gradient of the mean
 * loss over all their examples, as one batch holding them all would give when no layer uses batch
 * statistics. Returns the mean loss and accuracy over all the examples.
 */
function accumulatedStep(
  model: TrainableModule,
  microBatches: readonly Batch[],
  lossFn: LossFunction,
  optimizer: Optimizer,
  options: AccumulationOptions = {},
): EpochStats {
  // ### BEGIN SOLUTION
  const total = microBatches.reduce((n, [x]) => n + x.shape[0], 0);
  if (total === 0) throw new Error("accumulatedStep: no examples in the micro-batches");
  model.train();
  optimizer.zeroGrad();
  let lossSum = 0;
  let correct = 0;
  for (const [x, y] of microBatches) {
    const n = x.shape[0];
    const outputs = model.forward(x);
    const loss = lossFn.forward(outputs, y);
    loss.mul(n / total).backward();
    lossSum += loss.item() * n;
    correct += countCorrect(outputs, y);
  }
  if (options.clipNorm !== undefined) clipGradNorm(optimizer.params, options.clipNorm);
  optimizer.step();
  return { loss: lossSum / total, accuracy: correct / total, examples: total };
  // ### END SOLUTION
}

// %% nbgrader={"grade": true, "grade_id": "test-unit-accumulated-step", "locked": true, "points": 4, "schema_version": 3, "solution": false, "task": false}
function testUnitAccumulatedStep(): void {
  // Four micro-batches of 2 against one batch of 8, from the same weights: the same step.
  const x = Tensor.randn([8, 3], 5);
  const y = new Tensor([0, 1, 2, 1, 0, 2, 2, 1]);
  const ce = new CrossEntropyLoss();
  /** One SGD step (lr 0.5, clipped when asked) on the whole batch, from a Linear(3, 3) of seed 6: [parameters, [loss, accuracy]]. */
  const wholeBatchStep = (clip?: number): number[][] => {
    const whole = new Sequential([new Linear(3, 3, { seed: 6 })]);
    const opt = new SGD(whole.parameters(), { lr: 0.5 });
    opt.zeroGrad();
    const outputs = whole.forward(x);
    const loss = ce.forward(outputs, y);
    loss.backward();
    if (clip !== undefined) clipGradNorm(whole.parameters(), clip);
    opt.step();
    return [...whole.parameters().map((p) => Array.from(p.data)), [loss.item(), countCorrect(outputs, y) / 8]];
  };
  const pieces = new Sequential([new Linear(3, 3, { seed: 6 })]);
  const micro: Batch[] = [0, 2, 4, 6].map((i) => [x.slice([i, i + 2]), y.slice([i, i + 2])]);
  const stats = accumulatedStep(pieces, micro, ce, new SGD(pieces.parameters(), { lr: 0.5 }));
  assertClose([...pieces.parameters().map((p) => Array.from(p.data)), [stats.loss, stats.accuracy]], wholeBatchStep(), { rtol: 1e-5, atol: 1e-6 }, "four micro-batches of 2: the step, loss and accuracy of one batch of 8");
  assertEqual(stats.examples, 8);
  assertThrows(() => accumulatedStep(pieces, [], ce, new SGD(pieces.parameters())), "no examples");
  // ### BEGIN HIDDEN TESTS
  const uneven = new Sequential([new Linear(3, 3, { seed: 6 })]);
  accumulatedStep(uneven, [[x.slice([0, 5]), y.slice([0, 5])], [x.slice([5, 8]), y.slice([5, 8])]], ce, new SGD(uneven.parameters(), { lr: 0.5 }));
  assertClose(uneven.parameters().map((p) => Array.from(p.data)), wholeBatchStep().slice(0, 2), { rtol: 1e-5, atol: 1e-6 }, "micro-batches of 5 and 3: still the step of one batch of 8");
  const clipped = new Sequential([new Linear(3, 3, { seed: 6 })]);
  accumulatedStep(clipped, micro, ce, new SGD(clipped.parameters(), { lr: 0.5 }), { clipNorm: 0.05 });
  assertClose(clipped.parameters().map((p) => Array.from(p.data)), wholeBatchStep(0.05).slice(0, 2), { rtol: 1e-5, atol: 1e-6 }, "clipped once, the accumulated gradient, as one batch of 8 would be");
  {
    // Seeded: a Linear classifier of random size, seed and bias; random examples split into
    // micro-batches of random, unequal sizes (the last one smaller); SGD or Adam with a random
    // learning rate; clipping to a random norm or none; two accumulated steps in a row (the
    // gradients of the first must not leak into the second). Against the same steps on the whole
    // batch computed by hand in float64.
    const r = testRandom("training/accumulated-step");
    const [inF, classes] = [r.int(1, 4), r.int(2, 4)];
    const count = r.int(4, 12);
    const rows = Array.from({ length: count }, () => r.numbers(inF, -2, 2));
    const labels = Array.from({ length: count }, () => r.int(0, classes - 1));
    const cuts: number[] = [0];
    while (cuts[cuts.length - 1] < count) cuts.push(Math.min(count, cuts[cuts.length - 1] + r.int(1, Math.max(1, Math.floor(count / 2)))));
    const micro: Batch[] = cuts.slice(1).map((end, k) => [new Tensor(rows.slice(cuts[k], end)), new Tensor(labels.slice(cuts[k], end))]);
    const useAdam = r.bool();
    const lr = Math.fround(useAdam ? r.uniform(0.01, 0.2) : r.uniform(0.05, 1));
    const clip = r.bool() ? Math.fround(r.uniform(0.05, 0.5)) : undefined;
    const model = new Sequential([new Linear(inF, classes, { seed: r.seed() })]);
    const [weight, bias] = model.parameters();
    bias.data.set(r.numbers(classes, -1, 1));
    const w0 = Array.from(weight.data);
    const b0 = Array.from(bias.data);
    const opt = useAdam ? new Adam(model.parameters(), { lr }) : new SGD(model.parameters(), { lr });
    const seen: number[][] = [];
    for (let step = 0; step < 2; step++) {
      const st = accumulatedStep(model, micro, ce, opt, clip === undefined ? {} : { clipNorm: clip });
      seen.push([st.loss, st.accuracy, st.examples]);
    }
    /**
     * Oracle: two steps of SGD or Adam (default betas, eps) on the mean cross-entropy of all the
     * examples, clipped when asked, in float64: the statistics before each step and [W, B] after.
     */
    function twoSteps64(): { stats: number[][]; params: number[][] } {
      const W = w0.slice();
      const B = b0.slice();
      const m = [W.map(() => 0), B.map(() => 0)];
      const v = [W.map(() => 0), B.map(() => 0)];
      const stats: number[][] = [];
      for (let t = 1; t <= 2; t++) {
        const gW = W.map(() => 0);
        const gB = B.map(() => 0);
        let loss = 0;
        let correct = 0;
        rows.forEach((row, k) => {
          const z = B.map((b, c) => row.reduce((acc, xv, i) => acc + xv * W[i * classes + c], b));
          const top = Math.max(...z);
          const e = z.map((u) => Math.exp(u - top));
          const sum = e.reduce((a, u) => a + u, 0);
          loss -= Math.log(e[labels[k]] / sum);
          if (z.indexOf(top) === labels[k]) correct++;
          for (let c = 0; c < classes; c++) {
            const d = (e[c] / sum - (c === labels[k] ? 1 : 0)) / count;
            for (let i = 0; i < inF; i++) gW[i * classes + c] += row[i] * d;
            gB[c] += d;
          }
        });
        stats.push([loss / count, correct / count, count]);
        const norm = Math.sqrt([...gW, ...gB].reduce((a, g) => a + g * g, 0));
        const coef = clip === undefined ? 1 : Math.min(1, clip / (norm + 1e-6));
        [W, B].forEach((p, q) => {
          const g = (q === 0 ? gW : gB).map((gv) => gv * coef);
          for (let j = 0; j < p.length; j++) {
            if (!useAdam) {
              p[j] -= lr * g[j];
              continue;
            }
            m[q][j] = 0.9 * m[q][j] + 0.1 * g[j];
            v[q][j] = 0.999 * v[q][j] + 0.001 * g[j] * g[j];
            p[j] -= (lr * (m[q][j] / (1 - 0.9 ** t))) / (Math.sqrt(v[q][j] / (1 - 0.999 ** t)) + 1e-8);
          }
        });
      }
      return { stats, params: [W, B] };
    }
    const label = `seeded: Linear(${inF}, ${classes}), ${count} examples in micro-batches of ${cuts.slice(1).map((c, k) => c - cuts[k]).join(", ")}, ${useAdam ? "Adam" : "SGD"} lr ${lr}, clipNorm ${clip}`;
    assertClose(seen, twoSteps64().stats, { rtol: 1e-4, atol: 1e-6 }, `${label}: the statistics of each step`);
    assertClose([Array.from(weight.data), Array.from(bias.data)], twoSteps64().params, { rtol: 1e-4, atol: 1e-5 }, `${label}: the parameters after two steps`);
  }
  // ### END HIDDEN TESTS
  passed("testUnitAccumulatedStep");
}
testUnitAccumulatedStep();

// %%
//| mutation accumulated-step does not scale the losses: the sum of k micro-batch means, k times the gradient
interface AccumulationOptions {
  clipNorm?: number;
}

function accumulatedStep(
  model: TrainableModule,
  microBatches: readonly Batch[],
  lossFn: LossFunction,
  optimizer: Optimizer,
  options: AccumulationOptions = {},
): EpochStats {
  const total = microBatches.reduce((n, [x]) => n + x.shape[0], 0);
  if (total === 0) throw new Error("accumulatedStep: no examples in the micro-batches");
  model.train();
  optimizer.zeroGrad();
  let lossSum = 0;
  let correct = 0;
  for (const [x, y] of microBatches) {
    const n = x.shape[0];
    const outputs = model.forward(x);
    const loss = lossFn.forward(outputs, y);
    loss.backward();
    lossSum += loss.item() * n;
    correct += countCorrect(outputs, y);
  }
  if (options.clipNorm !== undefined) clipGradNorm(optimizer.params, options.clipNorm);
  optimizer.step();
  return { loss: lossSum / total, accuracy: correct / total, examples: total };
}

// %%
//| mutation accumulated-step scales every micro-batch by 1 / k, which is wrong when their sizes differ
interface AccumulationOptions {
  clipNorm?: number;
}

function accumulatedStep(
  model: TrainableModule,
  microBatches: readonly Batch[],
  lossFn: LossFunction,
  optimizer: Optimizer,
  options: AccumulationOptions = {},
): EpochStats {
  const total = microBatches.reduce((n, [x]) => n + x.shape[0], 0);
  if (total === 0) throw new Error("accumulatedStep: no examples in the micro-batches");
  model.train();
  optimizer.zeroGrad();
  let lossSum = 0;
  let correct = 0;
  for (const [x, y] of microBatches) {
    const n = x.shape[0];
    const outputs = model.forward(x);
    const loss = lossFn.forward(outputs, y);
    loss.mul(1 / microBatches.length).backward();
    lossSum += loss.item() * n;
    correct += countCorrect(outputs, y);
  }
  if (options.clipNorm !== undefined) clipGradNorm(optimizer.params, options.clipNorm);
  optimizer.step();
  return { loss: lossSum / total, accuracy: correct / total, examples: total };
}

// %%
//| mutation accumulated-step calls zeroGrad before every micro-batch, so only the last one's gradient is used
interface AccumulationOptions {
  clipNorm?: number;
}

function accumulatedStep(
  model: TrainableModule,
  microBatches: readonly Batch[],
  lossFn: LossFunction,
  optimizer: Optimizer,
  options: AccumulationOptions = {},
): EpochStats {
  const total = microBatches.reduce((n, [x]) => n + x.shape[0], 0);
  if (total === 0) throw new Error("accumulatedStep: no examples in the micro-batches");
  model.train();
  optimizer.zeroGrad();
  let lossSum = 0;
  let correct = 0;
  for (const [x, y] of microBatches) {
    optimizer.zeroGrad();
    const n = x.shape[0];
    const outputs = model.forward(x);
    const loss = lossFn.forward(outputs, y);
    loss.mul(n / total).backward();
    lossSum += loss.item() * n;
    correct += countCorrect(outputs, y);
  }
  if (options.clipNorm !== undefined) clipGradNorm(optimizer.params, options.clipNorm);
  optimizer.step();
  return { loss: lossSum / total, accuracy: correct / total, examples: total };
}

// %%
//| mutation accumulated-step clips the running sum after every micro-batch's backward(), as trainEpoch clips after its one
interface AccumulationOptions {
  clipNorm?: number;
}

function accumulatedStep(
  model: TrainableModule,
  microBatches: readonly Batch[],
  lossFn: LossFunction,
  optimizer: Optimizer,
  options: AccumulationOptions = {},
): EpochStats {
  const total = microBatches.reduce((n, [x]) => n + x.shape[0], 0);
  if (total === 0) throw new Error("accumulatedStep: no examples in the micro-batches");
  model.train();
  optimizer.zeroGrad();
  let lossSum = 0;
  let correct = 0;
  for (const [x, y] of microBatches) {
    const n = x.shape[0];
    const outputs = model.forward(x);
    const loss = lossFn.forward(outputs, y);
    loss.mul(n / total).backward();
    if (options.clipNorm !== undefined) clipGradNorm(optimizer.params, options.clipNorm);
    lossSum += loss.item() * n;
    correct += countCorrect(outputs, y);
  }
  optimizer.step();
  return { loss: lossSum / total, accuracy: correct / total, examples: total };
}

// %% [markdown]
// ## Checkpoints
//
// A long training run should survive a crash, and a trained model should be usable tomorrow.
// A **checkpoint** stores the parameters in a file. Two requirements:
//
// - **Exact round trip.** Loading gives back the same float32 values, bit for bit. Writing
//   numbers as decimal text risks losing bits (and makes the file 2-3 times larger); we copy the
//   float32 bytes themselves, so even `-0`, `NaN` and the tiniest subnormal come back unchanged.
// - **Fail loudly, and never halfway.** A checkpoint of another architecture must not be
//   silently loaded into the first tensors that fit: the file records every parameter's shape,
//   and loading checks all of them (and the file's length) **before** writing into the model.
//   Saving writes a temporary file next to the target and renames it over the target: a rename
//   is atomic, so a crash leaves either the old checkpoint or the new one, never half of one.
//
// The format (little-endian, the byte order of every x86 and ARM machine):
//
// ```
// bytes 0-7    magic "TTCKPT1\n"
// bytes 8-11   uint32: length H of the header
// next H bytes UTF-8 JSON header {"shapes": [[784, 128], [128], ...]}
// zero bytes   padding to a multiple of 4, so that the data is float32-aligned
// the data     every parameter's float32 values, in order
// ```
//
// ### Exercise 4: `encodeCheckpoint` and `decodeCheckpoint`
//
// **TODO**: `encodeCheckpoint(params)` returns the bytes of the format above;
// `decodeCheckpoint(bytes, params)` checks them against the parameters and copies the values in.
//
// **APPROACH**:
// - encode: work out the layout first. How long is the header in **bytes** (not characters: the
//   JSON is UTF-8)? At which offset does the data start, once padded to a multiple of 4? How long
//   is the whole file, then? Allocate it once (a Node `Buffer` writes strings and little-endian
//   integers for you), fill in the four parts, and copy each parameter's bytes (`bytesOf`,
//   given) rather than its numbers.
// - decode: check, in this order, and throw an `Error` naming the problem: the length is at least
//   12 and the magic matches (`not a tinytorch-ts checkpoint`); the header parses and has
//   `shapes` (`header`); the number of shapes equals the number of parameters (`holds 3 tensors,
//   the model has 4`); each shape equals its parameter's shape, both written as the lesson
//   writes shapes (`parameter 1 has shape [3, 2] in the checkpoint but [2, 3] in the model`); the
//   length is exactly right (`expected N bytes`). Only then copy any data into the parameters.
//
// **HINTS**:
// - Why must *every* check pass before the first byte is copied? Think of a file whose third
//   tensor has the wrong shape.
// - Reading the values as numbers and writing them back can change a NaN's payload on some
//   machines; copying bytes never changes anything. Which view of `p.data` lets you copy bytes?

// %% nbgrader={"grade": false, "grade_id": "checkpoint-format", "locked": false, "schema_version": 3, "solution": true, "task": false}
//| export
/** The first 8 bytes of every checkpoint file (version 1 of the format). */
const CHECKPOINT_MAGIC = "TTCKPT1\n";

/** The bytes of a view of a float32 array, for bit-exact copies. */
function bytesOf(values: Float32Array): Uint8Array {
  return new Uint8Array(values.buffer, values.byteOffset, values.byteLength);
}

/** The checkpoint bytes of `params`: magic, header (shapes), padding, raw float32 data. */
function encodeCheckpoint(params: readonly Tensor[]): Uint8Array {
  // ### BEGIN SOLUTION
  const header = Buffer.from(JSON.stringify({ shapes: params.map((p) => [...p.shape]) }), "utf8");
  const dataOffset = Math.ceil((12 + header.length) / 4) * 4;
  const elements = params.reduce((total, p) => total + p.size, 0);
  const out = Buffer.alloc(dataOffset + 4 * elements);
  out.write(CHECKPOINT_MAGIC, 0, "latin1");
  out.writeUInt32LE(header.length, 8);
  header.copy(out, 12);
  let offset = dataOffset;
  for (const p of params) {
    out.set(bytesOf(p.data), offset);
    offset += p.data.byteLength;
  }
  return out;
  // ### END SOLUTION
}

/** Checks `bytes` against `params` (count, shapes, length) and then copies the values in. */
function decodeCheckpoint(bytes: Uint8Array, params: readonly Tensor[]): void {
  // ### BEGIN SOLUTION
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (buf.length < 12 || buf.toString("latin1", 0, 8) !== CHECKPOINT_MAGIC) {
    throw new Error("not a tinytorch-ts checkpoint (bad magic bytes)");
  }
  const headerLength = buf.readUInt32LE(8);
  if (12 + headerLength > buf.length) throw new Error("truncated checkpoint header");
  let shapes: unknown;
  try {
    shapes = (JSON.parse(buf.toString("utf8", 12, 12 + headerLength)) as { shapes?: unknown }).shapes;
  } catch {
    throw new Error("unreadable checkpoint header");
  }
  if (!Array.isArray(shapes)) throw new Error("checkpoint header has no shapes");
  const saved: unknown[] = shapes;
  if (saved.length !== params.length) {
    throw new Error(`the checkpoint holds ${saved.length} tensors, the model has ${params.length}`);
  }
  params.forEach((p, i) => {
    const shape = saved[i];
    if (!Array.isArray(shape) || shape.join() !== p.shape.join()) {
      const saved = Array.isArray(shape) ? `[${shape.join(", ")}]` : JSON.stringify(shape);
      throw new Error(`parameter ${i} has shape ${saved} in the checkpoint but [${p.shape.join(", ")}] in the model`);
    }
  });
  const dataOffset = Math.ceil((12 + headerLength) / 4) * 4;
  const expected = dataOffset + 4 * params.reduce((total, p) => total + p.size, 0);
  if (buf.length !== expected) {
    throw new Error(`expected ${expected} bytes for these shapes, the checkpoint has ${buf.length}`);
  }
  let offset = dataOffset;
  for (const p of params) {
    bytesOf(p.data).set(buf.subarray(offset, offset + p.data.byteLength));
    offset += p.data.byteLength;
  }
  // ### END SOLUTION
}

/** Writes `model`'s parameters to `path`: a temporary file in the same folder, then a rename. */
function saveCheckpoint(model: Module, path: string): void {
  const temporary = `${path}.${randomBytes(6).toString("hex")}.tmp`;
  try {
    writeFileSync(temporary, encodeCheckpoint(model.parameters()));
    renameSync(temporary, path);
  } catch (e) {
    rmSync(temporary, { force: true });
    throw e;
  }
}

/** Loads the parameters saved by `saveCheckpoint` into `model`; a mismatch changes nothing. */
function loadCheckpoint(model: Module, path: string): void {
  let bytes: Uint8Array;
  try {
    bytes = readFileSync(path);
  } catch (e) {
    throw new Error(`${path}: cannot read the checkpoint (${(e as Error).message})`);
  }
  try {
    decodeCheckpoint(bytes, model.parameters());
  } catch (e) {
    throw new Error(`${path}: ${(e as Error).message}`);
  }
}

// %% nbgrader={"grade": true, "grade_id": "test-unit-checkpoint-format", "locked": true, "points": 5, "schema_version": 3, "solution": false, "task": false}
function testUnitCheckpointFormat(): void {
  const model = new Sequential([new Linear(3, 4, { seed: 1 }), new ReLU(), new Linear(4, 2, { seed: 2 })]);
  const bytes = encodeCheckpoint(model.parameters());
  assertEqual(Buffer.from(bytes.subarray(0, 8)).toString("latin1"), "TTCKPT1\n", "magic");
  const copy = new Sequential([new Linear(3, 4, { seed: 7 }), new ReLU(), new Linear(4, 2, { seed: 8 })]);
  decodeCheckpoint(bytes, copy.parameters());
  copy.parameters().forEach((p, i) => {
    assertEqual(Array.from(p.data), Array.from(model.parameters()[i].data), `parameter ${i}`);
  });
  const other = new Sequential([new Linear(4, 3, { seed: 1 }), new ReLU(), new Linear(3, 2, { seed: 2 })]);
  assertThrows(() => decodeCheckpoint(bytes, other.parameters()), "shape");
  // The files: written atomically, loaded exactly, and a clear error for a mismatch.
  const dir = mkdtempSync(join(tmpdir(), "tinytorch-ckpt-"));
  const file = join(dir, "model.ckpt");
  saveCheckpoint(model, file);
  loadCheckpoint(copy, file);
  assertThrows(() => loadCheckpoint(other, file), "model.ckpt");
  // ### BEGIN HIDDEN TESTS
  // Bit-exact: -0, NaN with a payload, infinities, the smallest subnormal, a signaling NaN.
  assertEqual(bytes.length % 4, 0, "the model's file: its data is float32-aligned");
  assertEqual(encodeCheckpoint([Tensor.zeros([10])]).length, 72, "a 17-byte header ({\"shapes\":[[10]]}) padded from byte 29 to 32, then 40 bytes of data");
  const special = new Tensor([0, 0, 0, 0, 0, 1 / 3, 0]);
  const bits = new Uint32Array(special.data.buffer, special.data.byteOffset, special.size);
  bits[0] = 0x80000000; // -0
  bits[1] = 0x7fc12345; // NaN with a payload
  bits[2] = 0x7f800000; // +Infinity
  bits[3] = 0xff800000; // -Infinity
  bits[4] = 0x00000001; // the smallest subnormal
  bits[6] = 0x7f800001; // a signaling NaN (reading it as a number may quiet it)
  const odd = new Tensor(new Float32Array([2.5, -7]), [2]);
  const encoded = encodeCheckpoint([special, odd]);
  assertEqual(encoded.length % 4, 0, "data is float32-aligned");
  const back = [new Tensor([9, 9, 9, 9, 9, 9, 9]), new Tensor([9, 9])];
  decodeCheckpoint(encoded, back);
  assertEqual(
    Array.from(new Uint32Array(back[0].data.buffer, back[0].data.byteOffset, 7)),
    Array.from(bits),
    "bit for bit",
  );
  assertEqual(Array.from(back[1].data), [2.5, -7]);
  const dataBefore = back[0].data;
  decodeCheckpoint(encoded, back);
  assert(back[0].data === dataBefore, "loaded in place: the same storage");
  // Deterministic bytes.
  assertEqual(Array.from(encodeCheckpoint(model.parameters())), Array.from(bytes), "same model, same bytes");
  // A failed load changes nothing, whatever the reason.
  const untouched = new Sequential([new Linear(3, 4, { seed: 11 }), new ReLU(), new Linear(4, 2, { seed: 12 })]);
  const snapshot = untouched.parameters().map((p) => Array.from(p.data));
  const unchanged = (what: string) =>
    untouched.parameters().forEach((p, i) => assertEqual(Array.from(p.data), snapshot[i], what));
  assertThrows(() => decodeCheckpoint(bytes.subarray(0, bytes.length - 4), untouched.parameters()), "bytes");
  unchanged("truncated data");
  const longer = new Uint8Array(bytes.length + 4);
  longer.set(bytes);
  assertThrows(() => decodeCheckpoint(longer, untouched.parameters()), "bytes");
  unchanged("trailing bytes");
  assertThrows(() => decodeCheckpoint(new Uint8Array([1, 2, 3]), untouched.parameters()), "not a tinytorch-ts checkpoint");
  const wrongMagic = Uint8Array.from(bytes);
  wrongMagic[0] = 0x58;
  assertThrows(() => decodeCheckpoint(wrongMagic, untouched.parameters()), "not a tinytorch-ts checkpoint");
  assertThrows(() => decodeCheckpoint(bytes.subarray(0, 20), untouched.parameters()), "header");
  assertThrows(() => decodeCheckpoint(bytes, untouched.parameters().slice(1)), "holds 4 tensors, the model has 3");
  assertThrows(() => decodeCheckpoint(bytes, other.parameters()), "parameter 0 has shape [3, 4] in the checkpoint but [4, 3] in the model");
  unchanged("mismatches");
  // Files: replacing an older checkpoint leaves no temporary file behind; errors name the file.
  saveCheckpoint(other, file);
  saveCheckpoint(model, file);
  assertEqual(readdirSync(dir), ["model.ckpt"], "no temporary file left");
  loadCheckpoint(untouched, file);
  untouched.parameters().forEach((p, i) => assertEqual(Array.from(p.data), Array.from(model.parameters()[i].data)));
  assertThrows(() => loadCheckpoint(untouched, join(dir, "missing.ckpt")), "missing.ckpt: cannot read");
  assertThrows(() => saveCheckpoint(model, join(dir, "no-such-dir", "x.ckpt")));
  assertEqual(readdirSync(dir), ["model.ckpt"], "a failed save leaves nothing");
  assert(existsSync(file));
  {
    // Seeded: tensors of random shapes (0-d included) holding random float32 bit patterns (NaN
    // payloads, -0, infinities and subnormals included): the file's magic, header, alignment,
    // length and data bytes; a bit-exact round trip into other tensors; and a failed load (a
    // random parameter of another shape, or a random truncation) that changes nothing.
    const r = testRandom("training/checkpoint-format");
    const shapes = Array.from({ length: r.int(1, 4) }, () => r.shape(r.int(0, 3), 4));
    const bits = shapes.map((s) => Array.from({ length: s.reduce((p, d) => p * d, 1) }, () => r.int(0, 0xffffffff)));
    const tensors = shapes.map((s, i) => new Tensor(new Float32Array(Uint32Array.from(bits[i]).buffer), s));
    const bytes = encodeCheckpoint(tensors);
    const view = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const headerLength = view.readUInt32LE(8);
    const dataOffset = Math.ceil((12 + headerLength) / 4) * 4;
    const label = `seeded: shapes ${JSON.stringify(shapes)}`;
    assertEqual(view.toString("latin1", 0, 8), "TTCKPT1\n", `${label}: magic`);
    assertEqual((JSON.parse(view.toString("utf8", 12, 12 + headerLength)) as { shapes: unknown }).shapes, shapes, `${label}: the header's shapes`);
    assertEqual(bytes.length - dataOffset, 4 * bits.reduce((n, b) => n + b.length, 0), `${label}: the data follows the header, float32-aligned`);
    assertEqual(Array.from(bytes.subarray(dataOffset)), bits.flat().flatMap((u) => [u & 0xff, (u >>> 8) & 0xff, (u >>> 16) & 0xff, u >>> 24]), `${label}: the data, little-endian`);
    const targets = shapes.map((s) => Tensor.full(s, 7));
    decodeCheckpoint(bytes, targets);
    const bitsOf = (t: Tensor) => Array.from(new Uint32Array(t.data.buffer, t.data.byteOffset, t.size));
    assertEqual(targets.map(bitsOf), bits, `${label}: bit-exact round trip`);
    // Another architecture: one random parameter gets another shape.
    const changed = r.int(0, shapes.length - 1);
    const otherShapes = shapes.map((s, i) => (i === changed ? [...s, 2] : s));
    const others = otherShapes.map((s) => Tensor.full(s, 5));
    assertThrows(() => decodeCheckpoint(bytes, others), `parameter ${changed} has shape`, `${label}: parameter ${changed} of another shape`);
    assertEqual(others.map((t) => Array.from(t.data)), otherShapes.map((s) => new Array<number>(s.reduce((p, d) => p * d, 1)).fill(5)), `${label}: a mismatch loads nothing`);
    const cut = r.int(0, bytes.length - 1);
    const intact = shapes.map((s) => Tensor.full(s, 3));
    assertThrows(() => decodeCheckpoint(bytes.subarray(0, cut), intact), undefined, `${label}: truncated to ${cut} bytes`);
    assertEqual(intact.map((t) => Array.from(t.data)), shapes.map((s) => new Array<number>(s.reduce((p, d) => p * d, 1)).fill(3)), `${label}: a truncated file loads nothing`);
  }
  // ### END HIDDEN TESTS
  passed("testUnitCheckpointFormat");
}
testUnitCheckpointFormat();

// %%
//| mutation checkpoint-format writes the data right after the header, without padding it to a multiple of 4
const CHECKPOINT_MAGIC = "TTCKPT1\n";

function bytesOf(values: Float32Array): Uint8Array {
  return new Uint8Array(values.buffer, values.byteOffset, values.byteLength);
}

function encodeCheckpoint(params: readonly Tensor[]): Uint8Array {
  const header = Buffer.from(JSON.stringify({ shapes: params.map((p) => [...p.shape]) }), "utf8");
  const dataOffset = 12 + header.length;
  const out = Buffer.alloc(dataOffset + 4 * params.reduce((total, p) => total + p.size, 0));
  out.write(CHECKPOINT_MAGIC, 0, "latin1");
  out.writeUInt32LE(header.length, 8);
  header.copy(out, 12);
  let offset = dataOffset;
  for (const p of params) {
    out.set(bytesOf(p.data), offset);
    offset += p.data.byteLength;
  }
  return out;
}

function decodeCheckpoint(bytes: Uint8Array, params: readonly Tensor[]): void {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (buf.length < 12 || buf.toString("latin1", 0, 8) !== CHECKPOINT_MAGIC) throw new Error("not a tinytorch-ts checkpoint (bad magic bytes)");
  const headerLength = buf.readUInt32LE(8);
  if (12 + headerLength > buf.length) throw new Error("truncated checkpoint header");
  let shapes: unknown;
  try {
    shapes = (JSON.parse(buf.toString("utf8", 12, 12 + headerLength)) as { shapes?: unknown }).shapes;
  } catch {
    throw new Error("unreadable checkpoint header");
  }
  if (!Array.isArray(shapes)) throw new Error("checkpoint header has no shapes");
  const saved: unknown[] = shapes;
  if (saved.length !== params.length) throw new Error(`the checkpoint holds ${saved.length} tensors, the model has ${params.length}`);
  params.forEach((p, i) => {
    const shape = saved[i];
    if (!Array.isArray(shape) || shape.join() !== p.shape.join()) {
      throw new Error(`parameter ${i} has shape [${Array.isArray(shape) ? shape.join(", ") : String(shape)}] in the checkpoint but [${p.shape.join(", ")}] in the model`);
    }
  });
  const dataOffset = 12 + headerLength;
  const expected = dataOffset + 4 * params.reduce((total, p) => total + p.size, 0);
  if (buf.length !== expected) throw new Error(`expected ${expected} bytes for these shapes, the checkpoint has ${buf.length}`);
  let offset = dataOffset;
  for (const p of params) {
    bytesOf(p.data).set(buf.subarray(offset, offset + p.data.byteLength));
    offset += p.data.byteLength;
  }
}

function saveCheckpoint(model: Module, path: string): void {
  const temporary = `${path}.${randomBytes(6).toString("hex")}.tmp`;
  try {
    writeFileSync(temporary, encodeCheckpoint(model.parameters()));
    renameSync(temporary, path);
  } catch (e) {
    rmSync(temporary, { force: true });
    throw e;
  }
}

function loadCheckpoint(model: Module, path: string): void {
  let bytes: Uint8Array;
  try {
    bytes = readFileSync(path);
  } catch (e) {
    throw new Error(`${path}: cannot read the checkpoint (${(e as Error).message})`);
  }
  try {
    decodeCheckpoint(bytes, model.parameters());
  } catch (e) {
    throw new Error(`${path}: ${(e as Error).message}`);
  }
}

// %%
//| mutation checkpoint-format copies each parameter as soon as its shape checks, so a later mismatch leaves the model half loaded
const CHECKPOINT_MAGIC = "TTCKPT1\n";

function bytesOf(values: Float32Array): Uint8Array {
  return new Uint8Array(values.buffer, values.byteOffset, values.byteLength);
}

function encodeCheckpoint(params: readonly Tensor[]): Uint8Array {
  const header = Buffer.from(JSON.stringify({ shapes: params.map((p) => [...p.shape]) }), "utf8");
  const dataOffset = Math.ceil((12 + header.length) / 4) * 4;
  const out = Buffer.alloc(dataOffset + 4 * params.reduce((total, p) => total + p.size, 0));
  out.write(CHECKPOINT_MAGIC, 0, "latin1");
  out.writeUInt32LE(header.length, 8);
  header.copy(out, 12);
  let offset = dataOffset;
  for (const p of params) {
    out.set(bytesOf(p.data), offset);
    offset += p.data.byteLength;
  }
  return out;
}

function decodeCheckpoint(bytes: Uint8Array, params: readonly Tensor[]): void {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (buf.length < 12 || buf.toString("latin1", 0, 8) !== CHECKPOINT_MAGIC) throw new Error("not a tinytorch-ts checkpoint (bad magic bytes)");
  const headerLength = buf.readUInt32LE(8);
  if (12 + headerLength > buf.length) throw new Error("truncated checkpoint header");
  let shapes: unknown;
  try {
    shapes = (JSON.parse(buf.toString("utf8", 12, 12 + headerLength)) as { shapes?: unknown }).shapes;
  } catch {
    throw new Error("unreadable checkpoint header");
  }
  if (!Array.isArray(shapes)) throw new Error("checkpoint header has no shapes");
  const saved: unknown[] = shapes;
  if (saved.length !== params.length) throw new Error(`the checkpoint holds ${saved.length} tensors, the model has ${params.length}`);
  let offset = Math.ceil((12 + headerLength) / 4) * 4;
  params.forEach((p, i) => {
    const shape = saved[i];
    if (!Array.isArray(shape) || shape.join() !== p.shape.join()) {
      throw new Error(`parameter ${i} has shape [${Array.isArray(shape) ? shape.join(", ") : String(shape)}] in the checkpoint but [${p.shape.join(", ")}] in the model`);
    }
    if (offset + p.data.byteLength > buf.length) throw new Error(`expected more bytes for these shapes, the checkpoint has ${buf.length}`);
    bytesOf(p.data).set(buf.subarray(offset, offset + p.data.byteLength));
    offset += p.data.byteLength;
  });
  if (offset !== buf.length) throw new Error(`expected ${offset} bytes for these shapes, the checkpoint has ${buf.length}`);
}

function saveCheckpoint(model: Module, path: string): void {
  const temporary = `${path}.${randomBytes(6).toString("hex")}.tmp`;
  try {
    writeFileSync(temporary, encodeCheckpoint(model.parameters()));
    renameSync(temporary, path);
  } catch (e) {
    rmSync(temporary, { force: true });
    throw e;
  }
}

function loadCheckpoint(model: Module, path: string): void {
  let bytes: Uint8Array;
  try {
    bytes = readFileSync(path);
  } catch (e) {
    throw new Error(`${path}: cannot read the checkpoint (${(e as Error).message})`);
  }
  try {
    decodeCheckpoint(bytes, model.parameters());
  } catch (e) {
    throw new Error(`${path}: ${(e as Error).message}`);
  }
}

// %%
//| mutation checkpoint-format reads the values as numbers and writes them back, instead of copying bytes
const CHECKPOINT_MAGIC = "TTCKPT1\n";

function bytesOf(values: Float32Array): Uint8Array {
  return new Uint8Array(values.buffer, values.byteOffset, values.byteLength);
}

function encodeCheckpoint(params: readonly Tensor[]): Uint8Array {
  const header = Buffer.from(JSON.stringify({ shapes: params.map((p) => [...p.shape]) }), "utf8");
  const dataOffset = Math.ceil((12 + header.length) / 4) * 4;
  const out = Buffer.alloc(dataOffset + 4 * params.reduce((total, p) => total + p.size, 0));
  out.write(CHECKPOINT_MAGIC, 0, "latin1");
  out.writeUInt32LE(header.length, 8);
  header.copy(out, 12);
  let offset = dataOffset;
  for (const p of params) {
    p.data.forEach((v, j) => out.writeFloatLE(v, offset + 4 * j));
    offset += p.data.byteLength;
  }
  return out;
}

function decodeCheckpoint(bytes: Uint8Array, params: readonly Tensor[]): void {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (buf.length < 12 || buf.toString("latin1", 0, 8) !== CHECKPOINT_MAGIC) throw new Error("not a tinytorch-ts checkpoint (bad magic bytes)");
  const headerLength = buf.readUInt32LE(8);
  if (12 + headerLength > buf.length) throw new Error("truncated checkpoint header");
  let shapes: unknown;
  try {
    shapes = (JSON.parse(buf.toString("utf8", 12, 12 + headerLength)) as { shapes?: unknown }).shapes;
  } catch {
    throw new Error("unreadable checkpoint header");
  }
  if (!Array.isArray(shapes)) throw new Error("checkpoint header has no shapes");
  const saved: unknown[] = shapes;
  if (saved.length !== params.length) throw new Error(`the checkpoint holds ${saved.length} tensors, the model has ${params.length}`);
  params.forEach((p, i) => {
    const shape = saved[i];
    if (!Array.isArray(shape) || shape.join() !== p.shape.join()) {
      throw new Error(`parameter ${i} has shape [${Array.isArray(shape) ? shape.join(", ") : String(shape)}] in the checkpoint but [${p.shape.join(", ")}] in the model`);
    }
  });
  const dataOffset = Math.ceil((12 + headerLength) / 4) * 4;
  const expected = dataOffset + 4 * params.reduce((total, p) => total + p.size, 0);
  if (buf.length !== expected) throw new Error(`expected ${expected} bytes for these shapes, the checkpoint has ${buf.length}`);
  let offset = dataOffset;
  for (const p of params) {
    for (let j = 0; j < p.size; j++) p.data[j] = buf.readFloatLE(offset + 4 * j);
    offset += p.data.byteLength;
  }
}

function saveCheckpoint(model: Module, path: string): void {
  const temporary = `${path}.${randomBytes(6).toString("hex")}.tmp`;
  try {
    writeFileSync(temporary, encodeCheckpoint(model.parameters()));
    renameSync(temporary, path);
  } catch (e) {
    rmSync(temporary, { force: true });
    throw e;
  }
}

function loadCheckpoint(model: Module, path: string): void {
  let bytes: Uint8Array;
  try {
    bytes = readFileSync(path);
  } catch (e) {
    throw new Error(`${path}: cannot read the checkpoint (${(e as Error).message})`);
  }
  try {
    decodeCheckpoint(bytes, model.parameters());
  } catch (e) {
    throw new Error(`${path}: ${(e as Error).message}`);
  }
}

// %% [markdown]
// ## Early stopping
//
// Training loss keeps falling as long as the model can memorise more of the training set; the
// loss on examples it has never seen falls, flattens, and then rises again: the model has started
// to **overfit**. The **validation set**, held out from training, tells the two apart. Early
// stopping watches a validation metric and stops when it has not improved for `patience` epochs,
// and `fit` then puts back the weights of the best epoch.
//
// An improvement must beat the best value so far by more than `minDelta` (up for accuracies, down
// for losses), so that noise in the last digit does not count. The first epoch always improves
// on "nothing yet".
//
// ### Exercise 5: `EarlyStopping.step`
//
// **TODO**: Record `value` for epoch `epoch` and return `true` when training should stop.
//
// **APPROACH**: work the visible test's sequence by hand first (patience 2, accuracies 0.5, 0.6,
// 0.6, 0.59, 0.7: stop at the fourth), keeping `best`, `bestEpoch` and `badEpochs` on paper.
// 1. When is a value an improvement? Write the condition for each mode, with `minDelta`. Is a
//    value equal to the best so far an improvement? And the very first value?
// 2. What happens to each counter after an improvement, and after an epoch without one?
// 3. When exactly does `step` answer "stop"? (`this.improved` records the last decision.)

// %% nbgrader={"grade": false, "grade_id": "early-stopping", "locked": false, "schema_version": 3, "solution": true, "task": false}
//| export
/** The numbers an epoch record holds, which early stopping can watch. */
type Metric = "trainLoss" | "trainAccuracy" | "valLoss" | "valAccuracy";

/** Options of EarlyStopping. */
interface EarlyStoppingOptions {
  /** The metric to watch (default "valAccuracy"). */
  monitor?: Metric;
  /** Epochs without improvement before stopping (default 5). */
  patience?: number;
  /** The smallest change that counts as an improvement (default 0). */
  minDelta?: number;
  /** "max" for accuracies, "min" for losses (default: from the metric's name). */
  mode?: "min" | "max";
}

/** Stops training when a validation metric has not improved for `patience` epochs. */
class EarlyStopping {
  readonly monitor: Metric;
  readonly patience: number;
  readonly minDelta: number;
  readonly mode: "min" | "max";
  best: number | null = null;
  bestEpoch: number | null = null;
  badEpochs = 0;
  /** Whether the last `step` was an improvement. */
  improved = false;

  constructor(options: EarlyStoppingOptions = {}) {
    this.monitor = options.monitor ?? "valAccuracy";
    this.patience = options.patience ?? 5;
    this.minDelta = options.minDelta ?? 0;
    this.mode = options.mode ?? (this.monitor.endsWith("Loss") ? "min" : "max");
    if (!Number.isInteger(this.patience) || this.patience < 1) {
      throw new Error(`EarlyStopping: patience must be a positive integer, got ${this.patience}`);
    }
    if (!(this.minDelta >= 0)) throw new Error(`EarlyStopping: minDelta must be >= 0, got ${this.minDelta}`);
  }

  /** Records the metric of `epoch`; true when training should stop. */
  step(value: number, epoch: number): boolean {
    // ### BEGIN SOLUTION
    const best = this.best;
    this.improved =
      best === null ||
      (this.mode === "max" ? value > best + this.minDelta : value < best - this.minDelta);
    if (this.improved) {
      this.best = value;
      this.bestEpoch = epoch;
      this.badEpochs = 0;
    } else {
      this.badEpochs += 1;
    }
    return this.badEpochs >= this.patience;
    // ### END SOLUTION
  }
}

// %% nbgrader={"grade": true, "grade_id": "test-unit-early-stopping", "locked": true, "points": 3, "schema_version": 3, "solution": false, "task": false}
function testUnitEarlyStopping(): void {
  const stopper = new EarlyStopping({ patience: 2 });
  const accuracies = [0.5, 0.6, 0.6, 0.59, 0.7];
  const decisions = accuracies.map((a, i) => stopper.step(a, i + 1));
  assertEqual(decisions, [false, false, false, true, false], "stops after 2 epochs without a new best");
  assertEqual([stopper.best, stopper.bestEpoch], [0.7, 5]);
  // ### BEGIN HIDDEN TESTS
  assertEqual(stopper.mode, "max");
  assertEqual(new EarlyStopping({ monitor: "valLoss" }).mode, "min", "losses go down");
  const losses = new EarlyStopping({ monitor: "valLoss", patience: 3, minDelta: 0.01 });
  const lossDecisions = [1.0, 0.95, 0.945, 0.941, 0.9, 0.95, 0.91, 0.891].map((v, i) => losses.step(v, i));
  assertEqual(lossDecisions, [false, false, false, false, false, false, false, true]);
  assertEqual([losses.best, losses.bestEpoch, losses.badEpochs], [0.9, 4, 3], "0.891 is within minDelta of 0.9");
  assert(!losses.improved);
  const first = new EarlyStopping({ patience: 1 });
  assertEqual(first.step(Number.NEGATIVE_INFINITY, 0), false, "the first epoch is always an improvement");
  assert(first.improved);
  assertEqual(first.step(-1e9, 1), false);
  assertEqual(first.step(-1e9, 2), true, "patience 1: the first epoch without progress stops");
  assertThrows(() => new EarlyStopping({ patience: 0 }), "patience");
  {
    // Seeded: random metric sequences (a random walk with repeats) watched for a random metric
    // (its mode from its name, or given), with random patience and minDelta: the decision, the
    // improvement flag and the counters after every step, against the rule simulated in float64.
    const r = testRandom("training/early-stopping");
    interface Watch { mode: "min" | "max"; patience: number; minDelta: number }
    /** Oracle: [stop, improved, best, bestEpoch, badEpochs] after each step. */
    function watch64(values: number[], epochs: number[], w: Watch): (number | boolean | null)[][] {
      let best: number | null = null;
      let bestEpoch: number | null = null;
      let bad = 0;
      return values.map((v, k) => {
        const improved = best === null || (w.mode === "max" ? v > best + w.minDelta : v < best - w.minDelta);
        if (improved) {
          best = v;
          bestEpoch = epochs[k];
          bad = 0;
        } else {
          bad += 1;
        }
        return [bad >= w.patience, improved, best, bestEpoch, bad];
      });
    }
    const metrics = ["trainLoss", "trainAccuracy", "valLoss", "valAccuracy"] as const;
    for (let trial = 0; trial < 4; trial++) {
      const monitor = r.pick(metrics);
      const explicit = r.bool(0.3) ? r.pick(["min", "max"] as const) : undefined;
      const w: Watch = {
        mode: explicit ?? (monitor.endsWith("Loss") ? "min" : "max"),
        patience: r.int(1, 4),
        minDelta: r.bool(0.4) ? 0 : r.uniform(0, 0.05),
      };
      const values: number[] = [r.uniform(0, 1)];
      const length = r.int(6, 20);
      while (values.length < length) values.push(r.bool(0.2) ? values[values.length - 1] : values[values.length - 1] + r.uniform(-0.1, 0.1));
      const firstEpoch = r.int(0, 3);
      const epochs = values.map((_, k) => firstEpoch + k);
      const stopper = new EarlyStopping({ monitor, patience: w.patience, minDelta: w.minDelta, ...(explicit === undefined ? {} : { mode: explicit }) });
      const seen = values.map((v, k) => {
        const stop = stopper.step(v, epochs[k]);
        return [stop, stopper.improved, stopper.best, stopper.bestEpoch, stopper.badEpochs];
      });
      assertEqual(seen, watch64(values, epochs, w), `seeded: ${monitor}${explicit ? ` (${explicit})` : ""}, patience ${w.patience}, minDelta ${w.minDelta.toFixed(4)}`);
      assertEqual(stopper.mode, w.mode, `seeded: the mode of ${monitor}`);
    }
  }
  // ### END HIDDEN TESTS
  passed("testUnitEarlyStopping");
}
testUnitEarlyStopping();

// %%
//| mutation early-stopping counts a value equal to the best as an improvement (>=, minDelta ignored)
type Metric = "trainLoss" | "trainAccuracy" | "valLoss" | "valAccuracy";

interface EarlyStoppingOptions {
  monitor?: Metric;
  patience?: number;
  minDelta?: number;
  mode?: "min" | "max";
}

class EarlyStopping {
  readonly monitor: Metric;
  readonly patience: number;
  readonly minDelta: number;
  readonly mode: "min" | "max";
  best: number | null = null;
  bestEpoch: number | null = null;
  badEpochs = 0;
  improved = false;

  constructor(options: EarlyStoppingOptions = {}) {
    this.monitor = options.monitor ?? "valAccuracy";
    this.patience = options.patience ?? 5;
    this.minDelta = options.minDelta ?? 0;
    this.mode = options.mode ?? (this.monitor.endsWith("Loss") ? "min" : "max");
    if (!Number.isInteger(this.patience) || this.patience < 1) throw new Error(`EarlyStopping: patience must be a positive integer, got ${this.patience}`);
    if (!(this.minDelta >= 0)) throw new Error(`EarlyStopping: minDelta must be >= 0, got ${this.minDelta}`);
  }

  step(value: number, epoch: number): boolean {
    const best = this.best;
    this.improved = best === null || (this.mode === "max" ? value >= best : value <= best);
    if (this.improved) {
      this.best = value;
      this.bestEpoch = epoch;
      this.badEpochs = 0;
    } else {
      this.badEpochs += 1;
    }
    return this.badEpochs >= this.patience;
  }
}

// %%
//| mutation early-stopping does not reset the count of bad epochs after an improvement
type Metric = "trainLoss" | "trainAccuracy" | "valLoss" | "valAccuracy";

interface EarlyStoppingOptions {
  monitor?: Metric;
  patience?: number;
  minDelta?: number;
  mode?: "min" | "max";
}

class EarlyStopping {
  readonly monitor: Metric;
  readonly patience: number;
  readonly minDelta: number;
  readonly mode: "min" | "max";
  best: number | null = null;
  bestEpoch: number | null = null;
  badEpochs = 0;
  improved = false;

  constructor(options: EarlyStoppingOptions = {}) {
    this.monitor = options.monitor ?? "valAccuracy";
    this.patience = options.patience ?? 5;
    this.minDelta = options.minDelta ?? 0;
    this.mode = options.mode ?? (this.monitor.endsWith("Loss") ? "min" : "max");
    if (!Number.isInteger(this.patience) || this.patience < 1) throw new Error(`EarlyStopping: patience must be a positive integer, got ${this.patience}`);
    if (!(this.minDelta >= 0)) throw new Error(`EarlyStopping: minDelta must be >= 0, got ${this.minDelta}`);
  }

  step(value: number, epoch: number): boolean {
    const best = this.best;
    this.improved = best === null || (this.mode === "max" ? value > best + this.minDelta : value < best - this.minDelta);
    if (this.improved) {
      this.best = value;
      this.bestEpoch = epoch;
    } else {
      this.badEpochs += 1;
    }
    return this.badEpochs >= this.patience;
  }
}

// %%
//| mutation early-stopping applies minDelta the wrong way in mode min: value < best + minDelta
type Metric = "trainLoss" | "trainAccuracy" | "valLoss" | "valAccuracy";

interface EarlyStoppingOptions {
  monitor?: Metric;
  patience?: number;
  minDelta?: number;
  mode?: "min" | "max";
}

class EarlyStopping {
  readonly monitor: Metric;
  readonly patience: number;
  readonly minDelta: number;
  readonly mode: "min" | "max";
  best: number | null = null;
  bestEpoch: number | null = null;
  badEpochs = 0;
  improved = false;

  constructor(options: EarlyStoppingOptions = {}) {
    this.monitor = options.monitor ?? "valAccuracy";
    this.patience = options.patience ?? 5;
    this.minDelta = options.minDelta ?? 0;
    this.mode = options.mode ?? (this.monitor.endsWith("Loss") ? "min" : "max");
    if (!Number.isInteger(this.patience) || this.patience < 1) throw new Error(`EarlyStopping: patience must be a positive integer, got ${this.patience}`);
    if (!(this.minDelta >= 0)) throw new Error(`EarlyStopping: minDelta must be >= 0, got ${this.minDelta}`);
  }

  step(value: number, epoch: number): boolean {
    const best = this.best;
    this.improved = best === null || (this.mode === "max" ? value > best + this.minDelta : value < best + this.minDelta);
    if (this.improved) {
      this.best = value;
      this.bestEpoch = epoch;
      this.badEpochs = 0;
    } else {
      this.badEpochs += 1;
    }
    return this.badEpochs >= this.patience;
  }
}

// %% [markdown]
// ## Progress you can watch, and a chart at the end
//
// A loop that prints a line per batch buries the notebook under thousands of lines and slows the
// loop down. Instead, `ProgressLine` shows **one** line and replaces it once per epoch: in a
// notebook it is a single output that Jupyter updates in place (a `display_id`), in a terminal it
// is rewritten with a carriage return. At the end, `historyChartSpec` draws the loss and the
// accuracy per epoch, for training and validation, as a vega-lite chart.

// %% nbgrader={"grade": false, "grade_id": "progress-and-chart", "locked": true, "schema_version": 3, "solution": false, "task": false}
//| export
/** One epoch of `fit`: the numbers, the learning rate used and the time taken. */
interface EpochRecord {
  epoch: number;
  trainLoss: number;
  trainAccuracy: number;
  valLoss: number | null;
  valAccuracy: number | null;
  lr: number;
  seconds: number;
}

/** What `fit` returns. */
interface TrainingHistory {
  epochs: EpochRecord[];
  /** The epoch whose weights the model holds at the end (early stopping), else null. */
  bestEpoch: number | null;
  stoppedEarly: boolean;
}

/** The progress line of an epoch, e.g. `epoch 3/10  loss 0.2154  acc 93.1%  val ...  1.2 s`. */
function formatEpoch(record: EpochRecord, epochs: number): string {
  const parts = [
    `epoch ${String(record.epoch).padStart(String(epochs).length)}/${epochs}`,
    `loss ${record.trainLoss.toFixed(4)}`,
    `acc ${(100 * record.trainAccuracy).toFixed(1)}%`,
  ];
  if (record.valLoss !== null) parts.push(`val loss ${record.valLoss.toFixed(4)}`);
  if (record.valAccuracy !== null) parts.push(`val acc ${(100 * record.valAccuracy).toFixed(1)}%`);
  parts.push(`lr ${record.lr.toPrecision(3)}`, `${record.seconds.toFixed(2)} s`);
  return parts.join("  ");
}

/** A single line of progress: replaced in place in a notebook or a terminal, never appended. */
class ProgressLine {
  private readonly displayId = `progress-${randomBytes(8).toString("hex")}`;
  private shown = false;
  private readonly notebook = inNotebook();

  update(text: string): void {
    if (this.notebook) {
      displayBundle({ "text/plain": text }, { displayId: this.displayId, update: this.shown });
    } else if (process.stdout.isTTY) {
      process.stdout.write(`\r\x1b[2K${text}`);
    } else {
      console.log(text);
    }
    this.shown = true;
  }

  /** Ends the line (a newline in a terminal; nothing to do in a notebook). */
  done(): void {
    if (!this.notebook && process.stdout.isTTY && this.shown) process.stdout.write("\n");
  }
}

/** A vega-lite chart of loss and accuracy per epoch, training and validation side by side. */
function historyChartSpec(history: TrainingHistory, title = "Training history"): ChartSpec {
  const rows: { epoch: number; metric: string; split: string; value: number }[] = [];
  for (const r of history.epochs) {
    rows.push({ epoch: r.epoch, metric: "loss", split: "train", value: r.trainLoss });
    rows.push({ epoch: r.epoch, metric: "accuracy", split: "train", value: r.trainAccuracy });
    if (r.valLoss !== null) rows.push({ epoch: r.epoch, metric: "loss", split: "validation", value: r.valLoss });
    if (r.valAccuracy !== null) {
      rows.push({ epoch: r.epoch, metric: "accuracy", split: "validation", value: r.valAccuracy });
    }
  }
  const panel = (metric: string) => ({
    width: 260,
    height: 200,
    title: metric,
    transform: [{ filter: { field: "metric", equal: metric } }],
    mark: { type: "line", point: true },
    encoding: {
      x: { field: "epoch", type: "quantitative", axis: { tickMinStep: 1 } },
      y: { field: "value", type: "quantitative", title: metric, scale: { zero: false } },
      color: { field: "split", type: "nominal" },
    },
  });
  return { title, data: { values: rows }, hconcat: [panel("loss"), panel("accuracy")] };
}

// %% [markdown]
// ## The whole loop: `fit`
//
// `fit` runs the epochs and keeps the history. After each epoch it evaluates on the validation
// batches (when there are some), records the learning rate the epoch used, steps the schedule,
// updates the progress line, and asks early stopping whether to go on. Early stopping needs the
// weights of its best epoch: when an epoch improves, `fit` keeps a copy of the parameters (a
// checkpoint in memory), and puts it back when training ends.
//
// ### Exercise 6: `fit`
//
// **TODO**: Implement the loop described above.
//
// **APPROACH**: one iteration per epoch, from 1 to `options.epochs`:
// 1. Train (with `clipNorm`), then evaluate on `options.val` when there is one; time the whole
//    epoch (`performance.now()`, in seconds in the record).
// 2. Record the epoch. Which learning rate did it use: the optimizer's rate before the
//    scheduler's `step()`, or after? Then step the scheduler, update the progress line
//    (`formatEpoch`) and call `options.onEpoch`.
// 3. With early stopping: the stopper watches `record[stopper.monitor]`; without validation data
//    that is `null`: throw an `Error` containing `no validation data`. When the epoch improved,
//    keep a copy of the weights that later steps cannot change (you wrote a function that makes
//    one, exactly). When it says stop, record that and leave the loop.
// 4. After the loop: end the progress line; with early stopping, put the best weights back and
//    report their epoch.
//
// `progress` is a `new ProgressLine()` when `options.progress` is true (by default, only in a
// notebook), else `null`.
//
// **HINTS**:
// - `model.parameters().map((p) => p.data)` is not a copy: the optimizer updates those very
//   arrays in place (module 07), so a "best" kept that way is always the latest.

// %% nbgrader={"grade": false, "grade_id": "fit", "locked": false, "schema_version": 3, "solution": true, "task": false}
//| export
/** Everything `fit` needs besides the model. */
interface FitOptions {
  train: Iterable<Batch>;
  /** Validation batches, evaluated after every epoch. */
  val?: Iterable<Batch>;
  lossFn: LossFunction;
  optimizer: Optimizer;
  epochs: number;
  clipNorm?: number;
  /** Anything with `step()`, called once per epoch (StepLR, CosineAnnealingLR). */
  scheduler?: { step(): number };
  earlyStopping?: EarlyStopping;
  /** Show a progress line (default: only in a notebook). */
  progress?: boolean;
  /** Called after every epoch with its record. */
  onEpoch?: (record: EpochRecord) => void;
}

/** Trains `model` for up to `options.epochs` epochs and returns the per-epoch history. */
function fit(model: TrainableModule, options: FitOptions): TrainingHistory {
  const { epochs, lossFn, optimizer } = options;
  if (!Number.isInteger(epochs) || epochs < 1) throw new Error(`fit: epochs must be a positive integer, got ${epochs}`);
  const progress = (options.progress ?? inNotebook()) ? new ProgressLine() : null;
  // ### BEGIN SOLUTION
  const history: TrainingHistory = { epochs: [], bestEpoch: null, stoppedEarly: false };
  const stopper = options.earlyStopping;
  let best: Uint8Array | null = null;
  for (let epoch = 1; epoch <= epochs; epoch++) {
    const start = performance.now();
    const train = trainEpoch(model, options.train, lossFn, optimizer, { clipNorm: options.clipNorm });
    const val = options.val === undefined ? null : evaluate(model, options.val, lossFn);
    const record: EpochRecord = {
      epoch,
      trainLoss: train.loss,
      trainAccuracy: train.accuracy,
      valLoss: val === null ? null : val.loss,
      valAccuracy: val === null ? null : val.accuracy,
      lr: optimizer.lr,
      seconds: (performance.now() - start) / 1000,
    };
    history.epochs.push(record);
    options.scheduler?.step();
    progress?.update(formatEpoch(record, epochs));
    options.onEpoch?.(record);
    if (stopper !== undefined) {
      const value = record[stopper.monitor];
      if (value === null) throw new Error(`fit: early stopping on ${stopper.monitor} but no validation data`);
      const stop = stopper.step(value, epoch);
      if (stopper.improved) best = encodeCheckpoint(model.parameters());
      if (stop) {
        history.stoppedEarly = true;
        break;
      }
    }
  }
  progress?.done();
  if (stopper !== undefined && best !== null) {
    decodeCheckpoint(best, model.parameters());
    history.bestEpoch = stopper.bestEpoch;
  }
  return history;
  // ### END SOLUTION
}

// %% nbgrader={"grade": true, "grade_id": "test-unit-fit", "locked": true, "points": 5, "schema_version": 3, "solution": false, "task": false}
function testUnitFit(): void {
  const data = spirals(60, 1);
  const loader = new DataLoader(new TensorDataset(data.x, data.y), { batchSize: 30, shuffle: true, seed: 0 });
  const model = new Sequential([new Linear(2, 32, { seed: 1 }), new ReLU(), new Linear(32, 3, { seed: 2 })]);
  const optimizer = new Adam(model.parameters(), { lr: 0.02 });
  const history = fit(model, { train: loader, lossFn: new CrossEntropyLoss(), optimizer, epochs: 5, progress: false });
  assertEqual(history.epochs.map((r) => r.epoch), [1, 2, 3, 4, 5]);
  const [first, last] = [history.epochs[0], history.epochs[4]];
  assert(last.trainLoss < first.trainLoss, `the loss falls: ${first.trainLoss} -> ${last.trainLoss}`);
  assertEqual([last.valLoss, history.bestEpoch, history.stoppedEarly], [null, null, false]);
  // ### BEGIN HIDDEN TESTS
  assert(history.epochs.every((r) => r.seconds >= 0 && r.lr === 0.02), "time and lr recorded");
  // A schedule: the record holds the rate the epoch used; the scheduler moves it afterwards.
  const small = new Sequential([new Linear(2, 3, { seed: 3 })]);
  const sgd = new SGD(small.parameters(), { lr: 0.4 });
  const seen: number[] = [];
  const scheduled = fit(small, {
    train: [[data.x, data.y]],
    lossFn: new CrossEntropyLoss(),
    optimizer: sgd,
    epochs: 3,
    scheduler: new CosineAnnealingLR(sgd, { tMax: 2 }),
    onEpoch: (r) => seen.push(r.epoch),
    progress: false,
  });
  assertClose(scheduled.epochs.map((r) => r.lr), [0.4, 0.2, 0], { atol: 1e-12 }, "lr per epoch");
  assertEqual(seen, [1, 2, 3], "onEpoch after every epoch");
  // Early stopping with an impossible target: the best epoch's weights come back.
  const val = spirals(30, 2);
  const valBatches: Batch[] = [[val.x, val.y]];
  const net = new Sequential([new Linear(2, 16, { seed: 5 }), new ReLU(), new Linear(16, 3, { seed: 6 })]);
  const snapshots = new Map<number, number[][]>();
  const early = fit(net, {
    train: [[data.x, data.y]],
    val: valBatches,
    lossFn: new CrossEntropyLoss(),
    optimizer: new SGD(net.parameters(), { lr: 3 }), // far too large: validation loss jumps around
    epochs: 40,
    earlyStopping: new EarlyStopping({ monitor: "valLoss", patience: 3 }),
    progress: false,
    onEpoch: (r) => snapshots.set(r.epoch, net.parameters().map((p) => Array.from(p.data))),
  });
  const best = early.bestEpoch;
  assert(best !== null, "a best epoch is reported");
  const bestRecord = early.epochs[best - 1];
  const minLoss = Math.min(...early.epochs.map((r) => r.valLoss as number));
  assertEqual(bestRecord.valLoss, minLoss, "the best epoch has the lowest validation loss");
  assertEqual(early.epochs.length, early.stoppedEarly ? best + 3 : 40, "stops `patience` epochs after the best, or runs every epoch");
  net.parameters().forEach((p, i) => assertEqual(Array.from(p.data), snapshots.get(best)?.[i], "best weights restored"));
  assertClose(evaluate(net, valBatches, new CrossEntropyLoss()).loss, minLoss, { rtol: 1e-6 });
  assertThrows(
    () =>
      fit(net, {
        train: [[data.x, data.y]],
        lossFn: new CrossEntropyLoss(),
        optimizer: new SGD(net.parameters()),
        epochs: 2,
        earlyStopping: new EarlyStopping(),
        progress: false,
      }),
    "no validation data",
  );
  assertThrows(() => fit(net, { train: [], lossFn: new CrossEntropyLoss(), optimizer: sgd, epochs: 0 }), "epochs");
  {
    // Seeded: fit of a Linear classifier of random size and seed (random bias) on random training
    // and validation batches with random labels, SGD with a random learning rate under a cosine
    // schedule of random period, clipping to a random norm or none, early stopping on the
    // validation loss with random patience and minDelta, for a random number of epochs. The
    // history (losses, accuracies, learning rates), the best epoch, whether it stopped early and
    // the restored weights, against the same run computed by hand in float64.
    const r = testRandom("training/fit");
    const [inF, classes] = [r.int(1, 4), r.int(2, 4)];
    type Rows = { x: number[][]; y: number[] };
    const randomBatches = (): Rows[] => {
      const total = r.int(4, 14);
      const size = r.int(2, total);
      const out: Rows[] = [];
      for (let start = 0; start < total; start += size) {
        const n = Math.min(size, total - start);
        out.push({ x: Array.from({ length: n }, () => r.numbers(inF, -2, 2)), y: Array.from({ length: n }, () => r.int(0, classes - 1)) });
      }
      return out;
    };
    const asBatches = (rows: Rows[]): Batch[] => rows.map((b) => [new Tensor(b.x), new Tensor(b.y)]);
    interface Plan { lr: number; tMax: number; clip: number | undefined; epochs: number; patience: number; minDelta: number }
    /**
     * Oracle: the whole run in float64: per epoch, SGD over the training batches at the cosine
     * schedule's rate (clipped when asked), evaluation, then early stopping on the validation
     * loss; the history rows [trainLoss, trainAccuracy, valLoss, valAccuracy, lr], the best epoch,
     * whether it stopped, and the best epoch's [W, B].
     */
    function fit64(w0: number[], b0: number[], train: Rows[], val: Rows[], plan: Plan) {
      const W = w0.slice();
      const B = b0.slice();
      const logits = (row: number[]) => B.map((b, c) => row.reduce((s, v, i) => s + v * W[i * classes + c], b));
      const softmax = (z: number[]) => {
        const top = Math.max(...z);
        const e = z.map((v) => Math.exp(v - top));
        const total = e.reduce((s, v) => s + v, 0);
        return e.map((v) => v / total);
      };
      const measure = (batches: Rows[]): [number, number] => {
        let loss = 0;
        let correct = 0;
        let count = 0;
        for (const { x, y } of batches) {
          x.forEach((row, k) => {
            const z = logits(row);
            loss -= Math.log(softmax(z)[y[k]]);
            if (z.indexOf(Math.max(...z)) === y[k]) correct++;
            count++;
          });
        }
        return [loss / count, correct / count];
      };
      const rows: number[][] = [];
      let best: number | null = null;
      let bestEpoch: number | null = null;
      let bestParams = [W.slice(), B.slice()];
      let bad = 0;
      let stopped = false;
      for (let epoch = 1; epoch <= plan.epochs && !stopped; epoch++) {
        const lr = (plan.lr * (1 + Math.cos((Math.PI * (epoch - 1)) / plan.tMax))) / 2;
        let lossSum = 0;
        let correct = 0;
        let examples = 0;
        for (const { x, y } of train) {
          const gW = W.map(() => 0);
          const gB = B.map(() => 0);
          x.forEach((row, k) => {
            const z = logits(row);
            const p = softmax(z);
            lossSum -= Math.log(p[y[k]]);
            if (z.indexOf(Math.max(...z)) === y[k]) correct++;
            for (let c = 0; c < classes; c++) {
              const d = (p[c] - (c === y[k] ? 1 : 0)) / x.length;
              for (let i = 0; i < inF; i++) gW[i * classes + c] += row[i] * d;
              gB[c] += d;
            }
          });
          examples += x.length;
          const norm = Math.sqrt([...gW, ...gB].reduce((s, g) => s + g * g, 0));
          const coef = plan.clip === undefined ? 1 : Math.min(1, plan.clip / (norm + 1e-6));
          gW.forEach((g, j) => (W[j] -= lr * coef * g));
          gB.forEach((g, c) => (B[c] -= lr * coef * g));
        }
        const [valLoss, valAccuracy] = measure(val);
        rows.push([lossSum / examples, correct / examples, valLoss, valAccuracy, lr]);
        if (best === null || valLoss < best - plan.minDelta) {
          best = valLoss;
          bestEpoch = epoch;
          bestParams = [W.slice(), B.slice()];
          bad = 0;
        } else {
          bad += 1;
        }
        stopped = bad >= plan.patience;
      }
      return { rows, outcome: [bestEpoch, stopped, rows.length], params: bestParams };
    }
    const model = new Sequential([new Linear(inF, classes, { seed: r.seed() })]);
    const [weight, bias] = model.parameters();
    bias.data.set(r.numbers(classes, -1, 1));
    const w0 = Array.from(weight.data);
    const b0 = Array.from(bias.data);
    const train = randomBatches();
    const val = randomBatches();
    const plan: Plan = {
      lr: Math.fround(r.uniform(0.2, 2)),
      tMax: r.int(2, 12),
      clip: r.bool() ? Math.fround(r.uniform(0.1, 2)) : undefined,
      epochs: r.int(3, 10),
      patience: r.int(1, 3),
      minDelta: r.bool(0.5) ? 0 : r.uniform(0, 0.02),
    };
    const optimizer = new SGD(model.parameters(), { lr: plan.lr });
    const fitted = fit(model, {
      train: asBatches(train),
      val: asBatches(val),
      lossFn: new CrossEntropyLoss(),
      optimizer,
      epochs: plan.epochs,
      ...(plan.clip === undefined ? {} : { clipNorm: plan.clip }),
      scheduler: new CosineAnnealingLR(optimizer, { tMax: plan.tMax }),
      earlyStopping: new EarlyStopping({ monitor: "valLoss", patience: plan.patience, minDelta: plan.minDelta }),
      progress: false,
    });
    const label = `seeded: Linear(${inF}, ${classes}), lr ${plan.lr}, tMax ${plan.tMax}, clipNorm ${plan.clip}, ${plan.epochs} epochs, patience ${plan.patience}`;
    assertClose(
      fitted.epochs.map((e) => [e.trainLoss, e.trainAccuracy, e.valLoss, e.valAccuracy, e.lr]),
      fit64(w0, b0, train, val, plan).rows,
      { rtol: 1e-4, atol: 1e-6 },
      `${label}: the history`,
    );
    assertEqual([fitted.bestEpoch, fitted.stoppedEarly, fitted.epochs.length], fit64(w0, b0, train, val, plan).outcome, `${label}: best epoch, stopped early, epochs run`);
    assertClose([Array.from(weight.data), Array.from(bias.data)], fit64(w0, b0, train, val, plan).params, { rtol: 1e-4, atol: 1e-5 }, `${label}: the best epoch's weights restored`);
  }
  // ### END HIDDEN TESTS
  passed("testUnitFit");
}
testUnitFit();

// %%
//| mutation fit keeps the last epoch's weights instead of restoring the best
interface FitOptions {
  train: Iterable<Batch>;
  val?: Iterable<Batch>;
  lossFn: LossFunction;
  optimizer: Optimizer;
  epochs: number;
  clipNorm?: number;
  scheduler?: { step(): number };
  earlyStopping?: EarlyStopping;
  progress?: boolean;
  onEpoch?: (record: EpochRecord) => void;
}

function fit(model: TrainableModule, options: FitOptions): TrainingHistory {
  const { epochs, lossFn, optimizer } = options;
  if (!Number.isInteger(epochs) || epochs < 1) throw new Error(`fit: epochs must be a positive integer, got ${epochs}`);
  const progress = (options.progress ?? inNotebook()) ? new ProgressLine() : null;
  const history: TrainingHistory = { epochs: [], bestEpoch: null, stoppedEarly: false };
  const stopper = options.earlyStopping;
  let best: Uint8Array | null = null;
  for (let epoch = 1; epoch <= epochs; epoch++) {
    const start = performance.now();
    const train = trainEpoch(model, options.train, lossFn, optimizer, { clipNorm: options.clipNorm });
    const val = options.val === undefined ? null : evaluate(model, options.val, lossFn);
    const record: EpochRecord = {
      epoch,
      trainLoss: train.loss,
      trainAccuracy: train.accuracy,
      valLoss: val === null ? null : val.loss,
      valAccuracy: val === null ? null : val.accuracy,
      lr: optimizer.lr,
      seconds: (performance.now() - start) / 1000,
    };
    history.epochs.push(record);
    options.scheduler?.step();
    progress?.update(formatEpoch(record, epochs));
    options.onEpoch?.(record);
    if (stopper !== undefined) {
      const value = record[stopper.monitor];
      if (value === null) throw new Error(`fit: early stopping on ${stopper.monitor} but no validation data`);
      const stop = stopper.step(value, epoch);
      if (stopper.improved) best = encodeCheckpoint(model.parameters());
      if (stop) {
        history.stoppedEarly = true;
        break;
      }
    }
  }
  progress?.done();
  if (stopper !== undefined && best !== null) {
    history.bestEpoch = stopper.bestEpoch;
  }
  return history;
}

// %%
//| mutation fit keeps the best weights by reference (the parameters' own arrays), so the copy follows every later step
interface FitOptions {
  train: Iterable<Batch>;
  val?: Iterable<Batch>;
  lossFn: LossFunction;
  optimizer: Optimizer;
  epochs: number;
  clipNorm?: number;
  scheduler?: { step(): number };
  earlyStopping?: EarlyStopping;
  progress?: boolean;
  onEpoch?: (record: EpochRecord) => void;
}

function fit(model: TrainableModule, options: FitOptions): TrainingHistory {
  const { epochs, lossFn, optimizer } = options;
  if (!Number.isInteger(epochs) || epochs < 1) throw new Error(`fit: epochs must be a positive integer, got ${epochs}`);
  const progress = (options.progress ?? inNotebook()) ? new ProgressLine() : null;
  const history: TrainingHistory = { epochs: [], bestEpoch: null, stoppedEarly: false };
  const stopper = options.earlyStopping;
  let best: Float32Array[] | null = null;
  for (let epoch = 1; epoch <= epochs; epoch++) {
    const start = performance.now();
    const train = trainEpoch(model, options.train, lossFn, optimizer, { clipNorm: options.clipNorm });
    const val = options.val === undefined ? null : evaluate(model, options.val, lossFn);
    const record: EpochRecord = {
      epoch,
      trainLoss: train.loss,
      trainAccuracy: train.accuracy,
      valLoss: val === null ? null : val.loss,
      valAccuracy: val === null ? null : val.accuracy,
      lr: optimizer.lr,
      seconds: (performance.now() - start) / 1000,
    };
    history.epochs.push(record);
    options.scheduler?.step();
    progress?.update(formatEpoch(record, epochs));
    options.onEpoch?.(record);
    if (stopper !== undefined) {
      const value = record[stopper.monitor];
      if (value === null) throw new Error(`fit: early stopping on ${stopper.monitor} but no validation data`);
      const stop = stopper.step(value, epoch);
      if (stopper.improved) best = model.parameters().map((p) => p.data);
      if (stop) {
        history.stoppedEarly = true;
        break;
      }
    }
  }
  progress?.done();
  if (stopper !== undefined && best !== null) {
    const kept = best;
    model.parameters().forEach((p, i) => p.data.set(kept[i]));
    history.bestEpoch = stopper.bestEpoch;
  }
  return history;
}

// %%
//| mutation fit records the learning rate after the scheduler has stepped, one epoch ahead
interface FitOptions {
  train: Iterable<Batch>;
  val?: Iterable<Batch>;
  lossFn: LossFunction;
  optimizer: Optimizer;
  epochs: number;
  clipNorm?: number;
  scheduler?: { step(): number };
  earlyStopping?: EarlyStopping;
  progress?: boolean;
  onEpoch?: (record: EpochRecord) => void;
}

function fit(model: TrainableModule, options: FitOptions): TrainingHistory {
  const { epochs, lossFn, optimizer } = options;
  if (!Number.isInteger(epochs) || epochs < 1) throw new Error(`fit: epochs must be a positive integer, got ${epochs}`);
  const progress = (options.progress ?? inNotebook()) ? new ProgressLine() : null;
  const history: TrainingHistory = { epochs: [], bestEpoch: null, stoppedEarly: false };
  const stopper = options.earlyStopping;
  let best: Uint8Array | null = null;
  for (let epoch = 1; epoch <= epochs; epoch++) {
    const start = performance.now();
    const train = trainEpoch(model, options.train, lossFn, optimizer, { clipNorm: options.clipNorm });
    const val = options.val === undefined ? null : evaluate(model, options.val, lossFn);
    const record: EpochRecord = {
      epoch,
      trainLoss: train.loss,
      trainAccuracy: train.accuracy,
      valLoss: val === null ? null : val.loss,
      valAccuracy: val === null ? null : val.accuracy,
      lr: optimizer.lr,
      seconds: (performance.now() - start) / 1000,
    };
    options.scheduler?.step();
    record.lr = optimizer.lr;
    history.epochs.push(record);
    progress?.update(formatEpoch(record, epochs));
    options.onEpoch?.(record);
    if (stopper !== undefined) {
      const value = record[stopper.monitor];
      if (value === null) throw new Error(`fit: early stopping on ${stopper.monitor} but no validation data`);
      const stop = stopper.step(value, epoch);
      if (stopper.improved) best = encodeCheckpoint(model.parameters());
      if (stop) {
        history.stoppedEarly = true;
        break;
      }
    }
  }
  progress?.done();
  if (stopper !== undefined && best !== null) {
    decodeCheckpoint(best, model.parameters());
    history.bestEpoch = stopper.bestEpoch;
  }
  return history;
}

// %% [markdown]
// ## Training a network on spirals
//
// Three interleaved spirals cannot be separated by straight lines; a small MLP learns them. Watch
// the single progress line change once per epoch, then the chart of the whole run.

// %%
await demo("spirals", async () => {
  const train = spirals(200, 10);
  const val = spirals(100, 11);
  const model = new Sequential([new Linear(2, 64, { seed: 1 }), new ReLU(), new Linear(64, 3, { seed: 2 })]);
  const optimizer = new Adam(model.parameters(), { lr: 0.01 });
  const history = fit(model, {
    train: new DataLoader(new TensorDataset(train.x, train.y), { batchSize: 32, shuffle: true, seed: 0 }),
    val: [[val.x, val.y]],
    lossFn: new CrossEntropyLoss(),
    optimizer,
    epochs: 40,
    scheduler: new CosineAnnealingLR(optimizer, { tMax: 40 }),
    earlyStopping: new EarlyStopping({ monitor: "valAccuracy", patience: 10 }),
  });
  const best = history.epochs[(history.bestEpoch ?? history.epochs.length) - 1];
  console.log(`best epoch ${best.epoch}: validation accuracy ${(100 * (best.valAccuracy ?? 0)).toFixed(1)}%`);
  await showChart(historyChartSpec(history, "Spirals: an MLP 2-64-3 with Adam"));
});

// %% [markdown]
// ## Accumulation against one large batch
//
// The demo takes one step from a batch of 64 examples, and one from the same examples as four
// micro-batches of 16 (`accumulatedStep`), from the same weights, for three models: a plain MLP,
// the same with Dropout, and the same with a layer that subtracts the batch mean of each feature
// (the first half of BatchNorm). It prints the largest difference between the two results,
// next to the largest change a step makes.

// %%
await demo("accumulation against one large batch", () => {
  /** Subtracts the batch mean of each feature: the first half of BatchNorm, enough to show batch statistics. */
  class BatchCentering extends Layer {
    forward(x: Tensor): Tensor {
      return x.sub(x.mean(0, true));
    }
  }
  const ce = new CrossEntropyLoss();
  const x = Tensor.randn([64, 20], 1);
  const y = new Tensor(Array.from({ length: 64 }, (_, i) => (i * 7) % 5));
  const micro: Batch[] = [0, 16, 32, 48].map((i) => [x.slice([i, i + 16]), y.slice([i, i + 16])]);
  const builds: [string, () => Sequential][] = [
    ["Linear-ReLU-Linear", () => new Sequential([new Linear(20, 32, { seed: 1 }), new ReLU(), new Linear(32, 5, { seed: 2 })])],
    ["with Dropout(0.5)", () => new Sequential([new Linear(20, 32, { seed: 1 }), new ReLU(), new Dropout(0.5, { seed: 3 }), new Linear(32, 5, { seed: 2 })])],
    ["with batch centering", () => new Sequential([new Linear(20, 32, { seed: 1 }), new BatchCentering(), new ReLU(), new Linear(32, 5, { seed: 2 })])],
  ];
  for (const [name, build] of builds) {
    const [whole, pieces, start] = [build(), build(), build()];
    const opt = new SGD(whole.parameters(), { lr: 0.1 });
    opt.zeroGrad();
    ce.forward(whole.forward(x), y).backward();
    opt.step();
    accumulatedStep(pieces, micro, ce, new SGD(pieces.parameters(), { lr: 0.1 }));
    let diff = 0;
    let move = 0;
    whole.parameters().forEach((p, i) => {
      for (let j = 0; j < p.size; j++) {
        diff = Math.max(diff, Math.abs(p.data[j] - pieces.parameters()[i].data[j]));
        move = Math.max(move, Math.abs(p.data[j] - start.parameters()[i].data[j]));
      }
    });
    console.log(`${name.padEnd(22)} largest difference ${diff.toExponential(2)}  (largest change of a step ${move.toExponential(2)})`);
  }
});

// %% [markdown]
// ## Reflection
//
// ### Predict, then measure
// Write a number in each of the next three cells **before** you run the measurement after them:
// work it out on paper from the lesson. The predictions are graded by hidden checks, within a
// tolerance.
//
// 1. How many bytes is the checkpoint file (`encodeCheckpoint`) of milestone 03's
//    `Linear(784, 128) → ReLU → Linear(128, 10)`?
// 2. A classmate's gradient accumulation forgets the loss scaling: each of 4 micro-batches of 16
//    examples calls `backward()` on its own mean loss. From the same weights, how many times
//    longer is the step (the change of all the parameters together) than a correct accumulated
//    step, with plain SGD?
// 3. The same, with Adam's first step (default betas and `ε`)?

// %% nbgrader={"grade": false, "grade_id": "predict-checkpoint-bytes", "locked": false, "schema_version": 3, "solution": true, "task": false}
/** Your prediction: bytes of the digits MLP's checkpoint. */
function predictedCheckpointBytes(): number {
  // ### BEGIN SOLUTION
  const header = '{"shapes":[[784,128],[128],[128,10],[10]]}'.length; // 42 bytes of UTF-8 JSON
  return Math.ceil((12 + header) / 4) * 4 + 4 * (784 * 128 + 128 + 128 * 10 + 10);
  // ### END SOLUTION
}

// %% nbgrader={"grade": false, "grade_id": "predict-unscaled-sgd", "locked": false, "schema_version": 3, "solution": true, "task": false}
/** Your prediction: the unscaled step over the scaled one, with SGD. */
function predictedUnscaledSgdRatio(): number {
  // ### BEGIN SOLUTION
  return 4; // the sum of 4 means is 4 times their mean, and SGD's step is proportional to it
  // ### END SOLUTION
}

// %% nbgrader={"grade": false, "grade_id": "predict-unscaled-adam", "locked": false, "schema_version": 3, "solution": true, "task": false}
/** Your prediction: the unscaled step over the scaled one, with Adam's first step. */
function predictedUnscaledAdamRatio(): number {
  // ### BEGIN SOLUTION
  return 1; // m̂ / √v̂ does not change when every gradient is multiplied by 4 (up to ε)
  // ### END SOLUTION
}

// %%
await demo("measure the predictions", () => {
  const mlp = new Sequential([new Linear(784, 128, { seed: 1 }), new ReLU(), new Linear(128, 10, { seed: 2 })]);
  console.log(`checkpoint: ${encodeCheckpoint(mlp.parameters()).length.toLocaleString("en")} bytes (you predicted ${predictedCheckpointBytes().toLocaleString("en")})`);
  const ce = new CrossEntropyLoss();
  const x = Tensor.randn([64, 20], 1);
  const y = new Tensor(Array.from({ length: 64 }, (_, i) => (i * 7) % 5));
  const micro: Batch[] = [0, 16, 32, 48].map((i) => [x.slice([i, i + 16]), y.slice([i, i + 16])]);
  for (const [name, predicted] of [["SGD", predictedUnscaledSgdRatio()], ["Adam", predictedUnscaledAdamRatio()]] as const) {
    const lengths: number[] = [];
    for (const scaled of [true, false]) {
      const model = new Sequential([new Linear(20, 32, { seed: 1 }), new ReLU(), new Linear(32, 5, { seed: 2 })]);
      const before = model.parameters().map((p) => Float32Array.from(p.data));
      const opt = name === "SGD" ? new SGD(model.parameters(), { lr: 0.1 }) : new Adam(model.parameters(), { lr: 1e-3 });
      if (scaled) {
        accumulatedStep(model, micro, ce, opt);
      } else {
        opt.zeroGrad();
        for (const [mx, my] of micro) ce.forward(model.forward(mx), my).backward(); // the classmate's version
        opt.step();
      }
      lengths.push(Math.sqrt(model.parameters().reduce((total, p, i) => total + p.data.reduce((t, v, j) => t + (v - before[i][j]) ** 2, 0), 0)));
    }
    console.log(`${name}: the unscaled step is ${(lengths[1] / lengths[0]).toFixed(4)} times the scaled one (you predicted ${predicted})`);
  }
});

// %% nbgrader={"grade": true, "grade_id": "test-unit-training-predictions", "locked": true, "points": 3, "schema_version": 3, "solution": false, "task": false}
function testUnitTrainingPredictions(): void {
  // ### BEGIN HIDDEN TESTS
  check("the digits MLP's checkpoint", 1, () => assertPrediction(predictedCheckpointBytes(), 407_136, { rtol: 0.001 }));
  check("an unscaled accumulated step with SGD", 1, () => assertPrediction(predictedUnscaledSgdRatio(), 4, { rtol: 0.01 }));
  check("an unscaled accumulated step with Adam", 1, () => assertPrediction(predictedUnscaledAdamRatio(), 1, { rtol: 0.01 }));
  // ### END HIDDEN TESTS
  passed("testUnitTrainingPredictions");
}
testUnitTrainingPredictions();

// %%
//| mutation predict-checkpoint-bytes stores float64 values, 8 bytes per parameter
function predictedCheckpointBytes(): number {
  return 56 + 8 * (784 * 128 + 128 + 128 * 10 + 10);
}

// %%
//| mutation predict-unscaled-sgd takes the step to grow like the square root of the gradient's scale (2 instead of 4)
function predictedUnscaledSgdRatio(): number {
  return 2;
}

// %%
//| mutation predict-unscaled-adam assumes Adam's step grows with the gradient like SGD's
function predictedUnscaledAdamRatio(): number {
  return 4;
}

// %% [markdown] nbgrader={"grade": true, "grade_id": "explain-accumulation", "locked": false, "points": 2, "schema_version": 3, "solution": true, "task": false}
// **Question 1.** When is a step accumulated from `k` micro-batches exactly the step of one batch
// holding them all, and when is it not? Go through: micro-batches of unequal sizes, BatchNorm,
// Dropout, gradient clipping, and Adam's state (its step count `t`). Use what the demo printed.
//
// ### BEGIN SOLUTION
// It is the same step (up to the order of float additions, the 3e-8 of the demo) when the loss is
// a mean over examples and each micro-batch's loss is weighted by its share `nᵢ / N` of the
// examples, when no layer looks at the batch as a whole, and when clipping and the optimizer step
// are applied once, to the accumulated gradient. Unequal sizes: weighting by `1/k` over-weights
// the examples of the small micro-batch; `nᵢ / N` is exact. BatchNorm normalises with the
// statistics of each micro-batch (16 examples instead of 64), so it computes a different function
// with noisier statistics, and it updates its running averages `k` times: the demo's batch
// centering already differs by about half of a step. Dropout draws random masks; different draws
// give a different sample of the same random gradient, equally valid (here the masks even
// coincide, because the layer draws them element by element from one stream in batch order).
// Clipping each micro-batch (or the running sum) instead of the total bends the direction.
// Adam counts optimizer steps: `k` micro-batches are one step, so `t`, bias correction and any
// per-step schedule advance once, as they would for the large batch.
// ### END SOLUTION
//
// ### BEGIN RUBRIC
// 2 points: the conditions for equality (mean loss weighted by nᵢ/N, no batch statistics, clip and
// step once) and a correct verdict on at least four of the five cases (unequal sizes need nᵢ/N;
// BatchNorm differs; Dropout is a different but equally valid sample; clip once on the total; Adam
// steps and counts once per accumulated step). 1 point: the conditions with two or three cases.
// ### END RUBRIC

// %% [markdown] nbgrader={"grade": true, "grade_id": "explain-early-stopping", "locked": false, "points": 2, "schema_version": 3, "solution": true, "task": false}
// **Question 2.** Why does early stopping watch a validation set rather than the training loss,
// and why does `fit` restore the best epoch's weights rather than keep the last ones? If you also
// choose the patience, the learning rate and the number of hidden units by looking at the same
// validation accuracy, which number should you report as your model's accuracy, and why?
//
// ### BEGIN SOLUTION
// The training loss keeps falling as long as the model can memorise more of the training set, so
// it never says "stop"; the validation set holds examples the model never trains on, and its loss
// rises once the model overfits. The last `patience` epochs are by definition no better than the
// best one (that is why training stopped), and often worse, so the best epoch's weights are the
// model we want. But every choice made by looking at the validation accuracy (the stopping epoch,
// the patience, the learning rate, the size) fits the validation set a little: its accuracy is
// then an optimistic estimate. Report the accuracy on a separate test set, used once, at the end.
// ### END SOLUTION
//
// ### BEGIN RUBRIC
// 2 points: training loss keeps falling (memorisation) while validation detects overfitting; the
// last epochs are past the best by construction; tuning on validation makes it optimistic, so
// report a held-out test set used once. 1 point: two of the three.
// ### END RUBRIC

// %% [markdown] nbgrader={"grade": true, "grade_id": "explain-atomic-save", "locked": false, "points": 2, "schema_version": 3, "solution": true, "task": false}
// **Question 3.** `saveCheckpoint` writes a temporary file next to the target and renames it over
// the target. What can happen if it wrote straight into the target and the process died halfway
// (power cut, Ctrl-C, a full disk)? Why is the rename safe, and why must the temporary file be in
// the same folder, not in `/tmp`?
//
// ### BEGIN SOLUTION
// Writing into the target first truncates it: a crash halfway leaves a file that is neither the
// old checkpoint nor the new one, and the only good copy of hours of training is gone
// (`decodeCheckpoint` refuses it, thanks to its length check, but that does not bring the weights
// back). A rename within one file system is atomic: the name points either to the old file or to
// the complete new one, never to a mix, so a crash at any moment leaves a loadable checkpoint.
// That guarantee only holds inside one file system; `/tmp` is often another one (a tmpfs), where
// `rename` fails (EXDEV) or a move becomes a copy and a delete, which is not atomic. (For
// durability against a power cut one would also `fsync` the file before the rename.)
// ### END SOLUTION
//
// ### BEGIN RUBRIC
// 2 points: a crash mid-write destroys the old checkpoint without a complete new one; rename is
// atomic (old or new, never half); the temporary file must be on the same file system, which the
// same folder guarantees and /tmp does not. 1 point: two of the three.
// ### END RUBRIC

// %% [markdown]
// ## Module test

// %% nbgrader={"grade": true, "grade_id": "test-module-training", "locked": true, "points": 4, "schema_version": 3, "solution": false, "task": false}
function testModule(): void {
  const train = spirals(100, 20);
  const val = spirals(50, 21);
  const model = new Sequential([new Linear(2, 48, { seed: 3 }), new ReLU(), new Linear(48, 3, { seed: 4 })]);
  const optimizer = new Adam(model.parameters(), { lr: 0.01 });
  const history = fit(model, {
    train: new DataLoader(new TensorDataset(train.x, train.y), { batchSize: 25, shuffle: true, seed: 1 }),
    val: [[val.x, val.y]],
    lossFn: new CrossEntropyLoss(),
    optimizer,
    epochs: 40,
    clipNorm: 5,
    earlyStopping: new EarlyStopping({ patience: 8 }),
    progress: false,
  });
  const final = evaluate(model, [[val.x, val.y]], new CrossEntropyLoss());
  assert(final.accuracy >= 0.9, `spirals validation accuracy ${final.accuracy}`);
  // ### BEGIN HIDDEN TESTS
  assertEqual(final.accuracy, history.epochs[(history.bestEpoch as number) - 1].valAccuracy, "best weights");
  const dir = mkdtempSync(join(tmpdir(), "tinytorch-train-"));
  saveCheckpoint(model, join(dir, "spirals.ckpt"));
  const fresh = new Sequential([new Linear(2, 48, { seed: 30 }), new ReLU(), new Linear(48, 3, { seed: 40 })]);
  loadCheckpoint(fresh, join(dir, "spirals.ckpt"));
  assertEqual(evaluate(fresh, [[val.x, val.y]], new CrossEntropyLoss()), final, "a reloaded model scores the same");
  {
    // Seeded end to end: spirals drawn from random seeds, a shuffling DataLoader with a random
    // batch size and seed, a Linear classifier of random seed and bias, Adam with random hyperparameters,
    // clipping to a random norm, early stopping on the validation accuracy with random patience,
    // then a checkpoint saved and loaded into a fresh model. The history, the outcome and the
    // reloaded weights against the same run computed by hand in float64 (the oracle replays the
    // loader's batches with a twin loader of the same seed).
    const r = testRandom("training/module");
    const trainSet = spirals(r.int(6, 14), r.seed());
    const valSet = spirals(r.int(4, 8), r.seed());
    const batchSize = r.int(4, 16);
    const loaderSeed = r.seed();
    const model = new Sequential([new Linear(2, 3, { seed: r.seed() })]);
    const [weight, bias] = model.parameters();
    // A random bias: Adam's first steps move every bias by about lr, and with equal biases the
    // points at the spirals' centre (x = 0) would have tied logits.
    bias.data.set(r.numbers(3, -0.5, 0.5));
    const w0 = Array.from(weight.data);
    const b0 = Array.from(bias.data);
    const settings = {
      lr: Math.fround(r.uniform(0.01, 0.2)),
      betas: [Math.fround(r.uniform(0.8, 0.95)), Math.fround(r.uniform(0.95, 0.999))] as [number, number],
      clip: Math.fround(r.uniform(0.2, 2)),
      epochs: r.int(4, 12),
      patience: r.int(1, 4),
    };
    /**
     * Oracle: the run in float64. Each epoch replays the batches of a twin DataLoader (same data,
     * batch size and seed), with softmax-regression gradients, clipping and Adam; then the
     * validation loss and accuracy; early stopping on the accuracy. Returns the history rows
     * [trainLoss, trainAccuracy, valLoss, valAccuracy], [bestEpoch, stopped, epochs] and the
     * best epoch's [W, B].
     */
    function run64() {
      const twin = new DataLoader(new TensorDataset(trainSet.x, trainSet.y), { batchSize, shuffle: true, seed: loaderSeed });
      const params = [w0.slice(), b0.slice()];
      const [W, B] = params;
      const m = params.map((p) => p.map(() => 0));
      const v = params.map((p) => p.map(() => 0));
      let t = 0;
      const logits = (x: Float32Array, n: number) => B.map((b, c) => b + x[2 * n] * W[c] + x[2 * n + 1] * W[3 + c]);
      const softmax = (z: number[]) => {
        const top = Math.max(...z);
        const e = z.map((u) => Math.exp(u - top));
        const total = e.reduce((s, u) => s + u, 0);
        return e.map((u) => u / total);
      };
      const rows: number[][] = [];
      let best: number | null = null;
      let bestEpoch: number | null = null;
      let bestParams = [W.slice(), B.slice()];
      let bad = 0;
      let stopped = false;
      for (let epoch = 1; epoch <= settings.epochs && !stopped; epoch++) {
        let lossSum = 0;
        let correct = 0;
        let examples = 0;
        for (const [bx, by] of twin) {
          const count = by.size;
          const grads = [W.map(() => 0), B.map(() => 0)];
          for (let n = 0; n < count; n++) {
            const z = logits(bx.data, n);
            const p = softmax(z);
            const label = by.data[n];
            lossSum -= Math.log(p[label]);
            if (z.indexOf(Math.max(...z)) === label) correct++;
            for (let c = 0; c < 3; c++) {
              const d = (p[c] - (c === label ? 1 : 0)) / count;
              grads[0][c] += bx.data[2 * n] * d;
              grads[0][3 + c] += bx.data[2 * n + 1] * d;
              grads[1][c] += d;
            }
          }
          examples += count;
          const norm = Math.sqrt(grads.flat().reduce((s, g) => s + g * g, 0));
          const coef = Math.min(1, settings.clip / (norm + 1e-6));
          t += 1;
          const [b1, b2] = settings.betas;
          params.forEach((p, k) => {
            for (let j = 0; j < p.length; j++) {
              const g = grads[k][j] * coef;
              m[k][j] = b1 * m[k][j] + (1 - b1) * g;
              v[k][j] = b2 * v[k][j] + (1 - b2) * g * g;
              p[j] -= (settings.lr * (m[k][j] / (1 - b1 ** t))) / (Math.sqrt(v[k][j] / (1 - b2 ** t)) + 1e-8);
            }
          });
        }
        let valLoss = 0;
        let valCorrect = 0;
        for (let n = 0; n < valSet.y.size; n++) {
          const z = logits(valSet.x.data, n);
          valLoss -= Math.log(softmax(z)[valSet.y.data[n]]);
          if (z.indexOf(Math.max(...z)) === valSet.y.data[n]) valCorrect++;
        }
        const valAccuracy = valCorrect / valSet.y.size;
        rows.push([lossSum / examples, correct / examples, valLoss / valSet.y.size, valAccuracy]);
        if (best === null || valAccuracy > best) {
          best = valAccuracy;
          bestEpoch = epoch;
          bestParams = [W.slice(), B.slice()];
          bad = 0;
        } else {
          bad += 1;
        }
        stopped = bad >= settings.patience;
      }
      return { rows, outcome: [bestEpoch, stopped, rows.length], params: bestParams };
    }
    const seededHistory = fit(model, {
      train: new DataLoader(new TensorDataset(trainSet.x, trainSet.y), { batchSize, shuffle: true, seed: loaderSeed }),
      val: [[valSet.x, valSet.y]],
      lossFn: new CrossEntropyLoss(),
      optimizer: new Adam(model.parameters(), { lr: settings.lr, betas: settings.betas }),
      epochs: settings.epochs,
      clipNorm: settings.clip,
      earlyStopping: new EarlyStopping({ monitor: "valAccuracy", patience: settings.patience }),
      progress: false,
    });
    const label = `seeded: spirals, batch size ${batchSize}, Adam lr ${settings.lr}, clipNorm ${settings.clip}, ${settings.epochs} epochs, patience ${settings.patience}`;
    assertClose(seededHistory.epochs.map((e) => [e.trainLoss, e.trainAccuracy, e.valLoss, e.valAccuracy]), run64().rows, { rtol: 1e-4, atol: 1e-6 }, `${label}: the history`);
    assertEqual([seededHistory.bestEpoch, seededHistory.stoppedEarly, seededHistory.epochs.length], run64().outcome, `${label}: best epoch, stopped early, epochs run`);
    const folder = mkdtempSync(join(tmpdir(), "tinytorch-seeded-"));
    saveCheckpoint(model, join(folder, "best.ckpt"));
    const reloaded = new Sequential([new Linear(2, 3, { seed: r.seed() })]);
    loadCheckpoint(reloaded, join(folder, "best.ckpt"));
    assertClose(reloaded.parameters().map((p) => Array.from(p.data)), run64().params, { rtol: 1e-4, atol: 1e-5 }, `${label}: the best weights, saved and reloaded`);
  }
  // ### END HIDDEN TESTS
  passed("testModule (training)");
}
testModule();

// %% [markdown]
// ## Summary
//
// - The training step is `zeroGrad → forward → loss → backward → (clip) → step`; an epoch is that
//   over every batch, with the mean loss and accuracy weighted by batch size.
// - Evaluation runs in `eval()` mode under `noGrad`: no dropout noise, no graph kept, and the
//   model's mode is restored after.
// - Clipping by global norm (PyTorch's `clip_grad_norm_`) shortens an oversized step without
//   changing its direction, and reports the norm.
// - Gradient accumulation scales each micro-batch's loss by its share of the examples, backs up
//   all of them, then clips and steps once: the large batch's step, unless a layer uses batch
//   statistics (BatchNorm).
// - A checkpoint stores shapes and raw float32 bytes: it round-trips bit for bit, refuses a model
//   of another shape before touching it, and is written to a temporary file and renamed.
// - Early stopping watches a validation metric, and `fit` restores the best epoch's weights.
// - One progress line per run, updated per epoch, and a chart at the end.
//
// The milestones put this to work: an MLP that learns XOR (`npx tito milestone 02`) and one that
// reads handwritten digits (`npx tito milestone 03`).
