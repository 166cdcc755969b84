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
import { Linear, Sequential } from "tinytorch-ts/core/layers";
import { CrossEntropyLoss } from "tinytorch-ts/core/losses";
import { DataLoader, TensorDataset } from "tinytorch-ts/data";
import { SGD, Adam, CosineAnnealingLR } from "tinytorch-ts/optim";
import { showChart } from "tinytorch-ts/support/chart";
import { assert, assertClose, assertEqual, assertThrows, demo, passed, testRandom } from "tinytorch-ts/support/testing";

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
// 3. `coef = maxNorm / (total + 1e-6)`; when `coef < 1`, multiply every gradient element by it
//    (write into `p.grad.data`).
// 4. Return `total`.

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
// - `trainEpoch`: `model.train()`; for each `[x, y]` of `batches`: the four lines above (clip with
//   `clipGradNorm(optimizer.params, options.clipNorm)` when `options.clipNorm` is set); add
//   `loss.item() * n` and `countCorrect(outputs, y)` to running totals, with `n = x.shape[0]`.
//   Return the means. Throw an `Error` containing `no batches` if there were none.
// - `evaluate`: remember `model.training`, call `model.eval()`, and inside `noGrad(() => ...)`
//   add up loss and correct predictions the same way, without any optimizer. Restore training
//   mode in a `finally` block.
//
// **HINTS**:
// - Keep the outputs of the forward pass: `countCorrect` needs them, and computing them again
//   would cost a second forward pass.

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
  const W = Array.from(lin.weight.data); // [2, 3] row-major
  const B = Array.from((lin.bias as Tensor).data);
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
  let lossSum = 0;
  let correct = 0;
  for (const [lo, hi] of [
    [0, 3],
    [3, 5],
  ]) {
    const n = hi - lo;
    const gW = new Array(6).fill(0);
    const gB = new Array(3).fill(0);
    for (let k = lo; k < hi; k++) {
      const z = [0, 1, 2].map((c) => xs[k][0] * W[c] + xs[k][1] * W[3 + c] + B[c]);
      const zmax = Math.max(...z);
      const e = z.map((v) => Math.exp(v - zmax));
      const s = e.reduce((p, q) => p + q, 0);
      const prob = e.map((v) => v / s);
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
  const seq = new Sequential([lin]);
  const got = trainEpoch(seq, batches, ce, new SGD(seq.parameters(), { lr: 0.3 }));
  assertClose(Array.from(lin.weight.data), W, { rtol: 1e-4, atol: 1e-6 }, "weights after two steps");
  assertClose(Array.from((lin.bias as Tensor).data), B, { rtol: 1e-4, atol: 1e-6 }, "bias after two steps");
  assertClose(got.loss, lossSum / 5, { rtol: 1e-4 }, "mean loss weighted by batch size");
  assertClose(got.accuracy, correct / 5, {}, "accuracy during the epoch");
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
// ### Exercise 3: `encodeCheckpoint` and `decodeCheckpoint`
//
// **TODO**: `encodeCheckpoint(params)` returns the bytes of the format above;
// `decodeCheckpoint(bytes, params)` checks them against the parameters and copies the values in.
//
// **APPROACH**:
// - encode: build the header with `JSON.stringify({ shapes })` and `Buffer.from(text, "utf8")`;
//   the data offset is `12 + H` rounded up to a multiple of 4; allocate
//   `Buffer.alloc(offset + 4 · total elements)`; write the magic (`buf.write(MAGIC, 0, "latin1")`),
//   `buf.writeUInt32LE(H, 8)`, copy the header at 12, then each parameter's bytes:
//   `new Uint8Array(p.data.buffer, p.data.byteOffset, p.data.byteLength)`.
// - decode: check, in this order, and throw an `Error` naming the problem: the length is at least
//   12 and the magic matches (`not a tinytorch-ts checkpoint`); the header parses and has
//   `shapes` (`header`); the number of shapes equals the number of parameters (`holds 3 tensors,
//   the model has 4`); each shape equals its parameter's shape (`parameter 1 has shape [3, 2] in
//   the checkpoint but [2, 3] in the model`); the length is exactly right (`expected N bytes`).
//   Only then copy each parameter's bytes into `p.data` (through a `Uint8Array` view of it).
//
// **HINTS**:
// - Copying bytes through `Uint8Array` views, never reading the values as numbers, is what keeps
//   NaN payloads exact.

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
      throw new Error(
        `parameter ${i} has shape ${JSON.stringify(shape)} in the checkpoint but ` +
          `[${p.shape.join(", ")}] in the model`,
      );
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
  // Bit-exact: -0, NaN with a payload, infinities, the smallest subnormal, an odd header length.
  const special = new Tensor([0, 0, 0, 0, 0, 1 / 3]);
  const bits = new Uint32Array(special.data.buffer, special.data.byteOffset, special.size);
  bits[0] = 0x80000000; // -0
  bits[1] = 0x7fc12345; // NaN with a payload
  bits[2] = 0x7f800000; // +Infinity
  bits[3] = 0xff800000; // -Infinity
  bits[4] = 0x00000001; // the smallest subnormal
  const odd = new Tensor(new Float32Array([2.5, -7]), [2]);
  const encoded = encodeCheckpoint([special, odd]);
  assertEqual(encoded.length % 4, 0, "data is float32-aligned");
  const back = [new Tensor([9, 9, 9, 9, 9, 9]), new Tensor([9, 9])];
  decodeCheckpoint(encoded, back);
  assertEqual(
    Array.from(new Uint32Array(back[0].data.buffer, back[0].data.byteOffset, 6)),
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
  assertThrows(() => decodeCheckpoint(bytes, other.parameters()), "parameter 0 has shape [3,4] in the checkpoint but [4, 3]");
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
// ### Exercise 4: `EarlyStopping.step`
//
// **TODO**: Record `value` for epoch `epoch` and return `true` when training should stop.
//
// **APPROACH**:
// 1. `improved` is true when there is no best yet, or `value > best + minDelta` (mode `"max"`),
//    or `value < best − minDelta` (mode `"min"`).
// 2. If improved: `best = value`, `bestEpoch = epoch`, `badEpochs = 0`. Otherwise
//    `badEpochs += 1`.
// 3. Set `this.improved` and return `badEpochs >= patience`.

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
// ### Exercise 5: `fit`
//
// **TODO**: Implement the loop described above.
//
// **APPROACH**: for `epoch` from 1 to `options.epochs`:
// 1. Time the epoch with `performance.now()`; `trainEpoch(...)` with `clipNorm`; then
//    `evaluate(model, options.val, lossFn)` when `options.val` is given.
// 2. Push an `EpochRecord` (`lr` is `optimizer.lr` during this epoch, read before the
//    scheduler's `step()`), then call `options.scheduler?.step()`.
// 3. `progress?.update(formatEpoch(record, epochs))` and `options.onEpoch?.(record)`.
// 4. With `options.earlyStopping`: read `record[stopper.monitor]` (throw an `Error` containing
//    `no validation data` if it is `null`); `stop = stopper.step(value, epoch)`; if
//    `stopper.improved`, keep `encodeCheckpoint(model.parameters())`; if `stop`, set
//    `stoppedEarly` and leave the loop.
// 5. After the loop: `progress?.done()`; with early stopping, `decodeCheckpoint` the best copy
//    back into the model and report its epoch as `bestEpoch`.
//
// `progress` is a `new ProgressLine()` when `options.progress` is true (by default, only in a
// notebook), else `null`.

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
  if (early.stoppedEarly) {
    assertEqual(early.epochs.length, best + 3, "stops `patience` epochs after the best");
  }
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
// - A checkpoint stores shapes and raw float32 bytes: it round-trips bit for bit, refuses a model
//   of another shape before touching it, and is written to a temporary file and renamed.
// - Early stopping watches a validation metric, and `fit` restores the best epoch's weights.
// - One progress line per run, updated per epoch, and a chart at the end.
//
// The milestones put this to work: an MLP that learns XOR (`npx tito milestone 02`) and one that
// reads handwritten digits (`npx tito milestone 03`).
