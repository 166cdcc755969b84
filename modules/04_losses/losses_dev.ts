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
// # Module 04: Losses
//
// A network's output is only useful if we can say how wrong it is. A **loss function** turns a
// batch of predictions and the true answers into one number: 0 for perfect, larger for worse.
// Training is nothing more than nudging the parameters to make that number smaller, so the
// loss defines what "better" means. Choose it badly and the network optimises the wrong thing;
// compute it carelessly and one `log(0)` turns it into `Infinity` and training into `NaN`.
//
// This module builds the three losses that cover most of supervised learning:
//
// | loss | predictions | targets | task |
// |---|---|---|---|
// | `MSELoss` | any real numbers | real numbers, same shape | regression |
// | `CrossEntropyLoss` | logits `[N, C]` | class indices `0..C-1` | multi-class classification |
// | `BinaryCrossEntropyLoss` | probabilities in `[0, 1]` | 0 or 1 | yes/no classification |
//
// Each has `forward(predictions, targets)` returning a **0-d tensor** (the mean over the
// batch); `.item()` gives the number.
//
// ### What you will learn
// - why classification uses cross-entropy rather than squared error;
// - how to compute `log(softmax(z))` without ever forming a softmax that could round to 0;
// - why a loss should refuse mismatched shapes instead of broadcasting them.

// %%
//| default_exp core.losses

// %%
//| export
import { Tensor } from "tinytorch-ts/core/tensor";

// %% [markdown]
// ### Ready for gradients
// Training (module 06 on) needs each loss connected to the computation graph. MSE is built from
// tensor operations (`sub`, `mul`, `mean`), which record themselves. The two cross-entropies
// compute their sums from raw numbers, which records nothing, so each one ends with a given
// line that records the whole loss as one operation of its input, saving what its derivative
// will need (the labels and log-probabilities, or the targets and clamped probabilities). This
// costs nothing unless the input requires a gradient. Module 06 explains why one fused rule is
// both faster and more accurate than differentiating the pieces.

// %%
//| export
/** Records `loss` as one operation `op` of `input` when a gradient will be wanted (module 06). */
function recordLoss(loss: Tensor, op: string, input: Tensor, saved: () => Tensor[]): Tensor {
  if (!input.requiresGrad || !Tensor.gradEnabled) return loss;
  return Tensor.record(loss, op, [input], { saved: saved() });
}

// %% nbgrader={"grade": false, "grade_id": "losses-test-helpers", "locked": true, "schema_version": 3, "solution": false, "task": false}
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
  passed,
  testRandom,
} from "tinytorch-ts/support/testing";
import { showChart } from "tinytorch-ts/support/chart";
import { Sigmoid, Softmax } from "tinytorch-ts/core/activations";

/** A pattern matching `text` literally: for messages that must quote a shape or a value. */
function literally(text: string): RegExp {
  return new RegExp(text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&"));
}

// %% [markdown]
// ## Mean squared error
//
// For regression (predicting a price, a temperature, a position) the natural measure is the
// average squared difference:
//
// ```
// MSE = mean over all elements of (prediction - target)^2
// ```
//
// Squaring makes every error positive and punishes large errors more than small ones (an
// error of 10 costs 100 times an error of 1). That also makes MSE sensitive to outliers.
//
// ### Shapes must match exactly
// With broadcasting, `predictions` of shape `[N, 1]` minus `targets` of shape `[N]` is an
// `[N, N]` matrix: every prediction compared with every target. The mean of that is a number,
// the code runs, and the model trains towards the wrong thing. This is one of the most common
// silent bugs in ML code (PyTorch prints a warning for it). Our loss refuses it: the shapes must
// be equal, and the error names both.
//
// **Cost.** Three FLOPs per element (subtract, square, add) and one pass over both tensors.
//
// ### Exercise 1: `MSELoss.forward`
//
// **TODO**: Return the mean of `(predictions - targets)^2` as a 0-d tensor, after checking the
// shapes are equal.
//
// **APPROACH**:
// 1. Refuse unequal shapes first. The given `assertSameShape` does it, with a message that
//    names both shapes written as `[4, 1]` (brackets, numbers separated by a comma and a space).
// 2. Express the loss with the tensor operations of module 01 (so that it records itself for
//    module 06), not with a loop over `data`: which operations, in which order?
//
// **HINTS**:
// - Why does the check have to come first? Work out what `predictions.sub(targets)` returns for
//   shapes `[4, 1]` and `[4]`, and what the mean of that would mean.
// - A reduction over no axis returns a 0-d tensor.

// %% nbgrader={"grade": false, "grade_id": "mse-loss", "locked": false, "schema_version": 3, "solution": true, "task": false}
//| export
/** Throws unless two tensors have the same shape (losses never broadcast). */
function assertSameShape(loss: string, a: Tensor, b: Tensor): void {
  const same = a.shape.length === b.shape.length && a.shape.every((d, i) => d === b.shape[i]);
  if (!same) {
    throw new Error(
      `${loss}: predictions of shape [${a.shape.join(", ")}] and targets of shape ` +
        `[${b.shape.join(", ")}] must have the same shape`,
    );
  }
}

/** Mean squared error over all elements; a 0-d tensor. */
class MSELoss {
  forward(predictions: Tensor, targets: Tensor): Tensor {
    // ### BEGIN SOLUTION
    assertSameShape("MSELoss", predictions, targets);
    const diff = predictions.sub(targets);
    return diff.mul(diff).mean();
    // ### END SOLUTION
  }
}

// %% nbgrader={"grade": true, "grade_id": "test-unit-mse-loss", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
function testUnitMSELoss(): void {
  const mse = new MSELoss();
  const loss = mse.forward(new Tensor([1, 2, 3]), new Tensor([1, 2, 5]));
  assertShape(loss.shape, [], "a 0-d tensor");
  assertClose(loss.item(), 4 / 3);
  assertEqual(mse.forward(new Tensor([0.5, -2]), new Tensor([0.5, -2])).item(), 0, "perfect");
  assertThrows(() => mse.forward(Tensor.zeros([4, 1]), Tensor.zeros([4])), "[4, 1]");
  // ### BEGIN HIDDEN TESTS
  const p = new Tensor([
    [1, 2],
    [3, 4],
  ]);
  const t = new Tensor([
    [0, 2],
    [5, 1],
  ]);
  assertClose(mse.forward(p, t).item(), (1 + 0 + 4 + 9) / 4, {}, "2-d, mean over all elements");
  assertClose(mse.forward(t, p).item(), 14 / 4, {}, "symmetric");
  assertThrows(() => mse.forward(Tensor.zeros([3]), Tensor.zeros([4])), literally("[4]"));
  assertThrows(() => mse.forward(Tensor.zeros([2, 3]), Tensor.zeros([3, 2])), literally("[3, 2]"));
  assertClose(mse.forward(new Tensor(3), new Tensor(1)).item(), 4, {}, "0-d inputs");
  assertClose(mse.forward(new Tensor([1e3]), new Tensor([-1e3])).item(), 4e6, {}, "large errors");
  // Seeded: random shapes (ranks 0 to 3) of random predictions and targets at random scales;
  // random mismatched shapes (a random axis changed, or a trailing 1 added: broadcastable).
  const rms = testRandom("losses/mse");
  const mseOracle = (a: ArrayLike<number>, b: ArrayLike<number>): number => {
    let sum = 0;
    for (let i = 0; i < a.length; i++) sum += (a[i] - b[i]) ** 2;
    return sum / a.length;
  };
  for (let c = 0; c < 6; c++) {
    const dims = rms.shape(rms.int(c === 0 ? 0 : 1, 3), 6, 1);
    const size = dims.reduce((p, d) => p * d, 1);
    const scale = rms.pick([0.01, 1, 100]);
    const predictions = new Tensor(Float32Array.from(rms.numbers(size, -scale, scale)), dims);
    const targets = new Tensor(Float32Array.from(rms.numbers(size, -scale, scale)), dims);
    const loss = mse.forward(predictions, targets);
    assertShape(loss.shape, [], `a 0-d loss for a random [${dims}]`);
    assertClose(loss.item(), mseOracle(predictions.data, targets.data), { rtol: 1e-5, atol: 1e-9 }, `MSE of random [${dims}] at scale ${scale}`);
  }
  for (let c = 0; c < 3; c++) {
    const dims = rms.shape(rms.int(1, 3), 5, 1);
    const changed = rms.int(0, dims.length - 1);
    const other = c === 0 ? [...dims, 1] : dims.map((d, i) => (i === changed ? d + rms.int(1, 3) : d));
    const [pShape, tShape] = rms.bool() ? [dims, other] : [other, dims];
    const mismatched = (): Tensor => mse.forward(Tensor.zeros(pShape), Tensor.zeros(tShape));
    assertThrows(mismatched, literally(`[${pShape.join(", ")}]`), "random mismatched shapes: the predictions' shape is named");
    assertThrows(mismatched, literally(`[${tShape.join(", ")}]`), "and the targets'");
  }
  // ### END HIDDEN TESTS
  passed("testUnitMSELoss");
}
testUnitMSELoss();

// %%
//| mutation mse-loss does not check the shapes: [N, 1] against [N] broadcasts to [N, N]
function assertSameShape(loss: string, a: Tensor, b: Tensor): void {
  const same = a.shape.length === b.shape.length && a.shape.every((d, i) => d === b.shape[i]);
  if (!same) {
    throw new Error(
      `${loss}: predictions of shape [${a.shape.join(", ")}] and targets of shape ` +
        `[${b.shape.join(", ")}] must have the same shape`,
    );
  }
}
class MSELoss {
  forward(predictions: Tensor, targets: Tensor): Tensor {
    const diff = predictions.sub(targets);
    return diff.mul(diff).mean();
  }
}

// %%
//| mutation mse-loss sums the squared errors instead of averaging them
function assertSameShape(loss: string, a: Tensor, b: Tensor): void {
  const same = a.shape.length === b.shape.length && a.shape.every((d, i) => d === b.shape[i]);
  if (!same) {
    throw new Error(
      `${loss}: predictions of shape [${a.shape.join(", ")}] and targets of shape ` +
        `[${b.shape.join(", ")}] must have the same shape`,
    );
  }
}
class MSELoss {
  forward(predictions: Tensor, targets: Tensor): Tensor {
    assertSameShape("MSELoss", predictions, targets);
    const diff = predictions.sub(targets);
    return diff.mul(diff).sum();
  }
}

// %%
//| mutation mse-loss averages absolute errors (that is L1, not MSE)
function assertSameShape(loss: string, a: Tensor, b: Tensor): void {
  const same = a.shape.length === b.shape.length && a.shape.every((d, i) => d === b.shape[i]);
  if (!same) {
    throw new Error(
      `${loss}: predictions of shape [${a.shape.join(", ")}] and targets of shape ` +
        `[${b.shape.join(", ")}] must have the same shape`,
    );
  }
}
class MSELoss {
  forward(predictions: Tensor, targets: Tensor): Tensor {
    assertSameShape("MSELoss", predictions, targets);
    return predictions.sub(targets).abs().mean();
  }
}

// %% [markdown]
// ## Cross-entropy
//
// For classification, the network outputs one score (**logit**) per class, softmax turns the
// scores into probabilities `p`, and the loss for one example with true class `y` is
//
// ```
// loss = -log(p_y)
// ```
//
// the negative log-probability the model gave to the right answer. It is 0 when the model is
// certain and right, `log(C)` when it spreads its bets evenly over `C` classes (2.30 for 10
// classes: a number worth remembering, since an untrained classifier should start near it),
// and it grows without bound as `p_y` goes to 0. Confident mistakes are punished hard, which is
// exactly what we want; squared error on probabilities would cap the penalty at 1 and give
// vanishing gradients through the softmax.
//
// ### Why not `log(softmax(z))`?
// Softmax of `[1000, 0]` is `[1, e^-1000]`, and `e^-1000` rounds to 0 in any float format. Then
// `-log(0)` is `Infinity`, although the true loss for class 1 is exactly 1000: a perfectly
// representable number. The fix is to never form the probabilities. Writing `m = max(z)`:
//
// ```
// log softmax(z)_i = z_i - log(sum_j e^(z_j))
//                  = z_i - m - log(sum_j e^(z_j - m))        (the log-sum-exp trick)
// ```
//
// Every exponent is `<= 0` and the largest term in the sum is exactly 1, so the sum lies in
// `[1, C]` and its log in `[0, log C]`: no overflow, no `log(0)`. For `[1000, 0]` this gives
// `[0 - log(1 + e^-1000), -1000 - log(1 + e^-1000)] = [0, -1000]`, exactly right.
//
// ### Exercise 2: `logSoftmax`
//
// **TODO**: Compute `log(softmax(x))` along `axis` with the log-sum-exp trick.
//
// **APPROACH**: turn the last line of the derivation above into tensor operations along `axis`:
// one reduction for `m`, one for the sum, and broadcasting for the subtractions. Write the
// result in terms of `x - m`, never `x` alone, so that every exponential you take is of a
// number `<= 0`.
//
// **HINTS**:
// - The reductions must keep the reduced axis (size 1) so that they broadcast back against `x`
//   along `axis`, whichever axis it is.
// - Check: `logSoftmax(x).exp()` should be `softmax(x)`, and `[[1000, 0]]` should give
//   `[[0, -1000]]`, not `-Infinity`.

// %% nbgrader={"grade": false, "grade_id": "log-softmax", "locked": false, "schema_version": 3, "solution": true, "task": false}
//| export
/** log(softmax(x)) along `axis`, by the log-sum-exp trick: finite for any finite input. */
function logSoftmax(x: Tensor, axis = -1): Tensor {
  // ### BEGIN SOLUTION
  const shifted = x.sub(x.max(axis, true));
  const logSum = shifted.exp().sum(axis, true).log();
  return shifted.sub(logSum);
  // ### END SOLUTION
}

// %% nbgrader={"grade": true, "grade_id": "test-unit-log-softmax", "locked": true, "points": 3, "schema_version": 3, "solution": false, "task": false}
function testUnitLogSoftmax(): void {
  const z = new Tensor([[2, 1, 0.1]]);
  assertClose(logSoftmax(z).toArray(), [[-0.41703, -1.41703, -2.31703]]);
  const extreme = logSoftmax(new Tensor([[1000, 0]]));
  assertClose(extreme.toArray(), [[0, -1000]], {}, "exact where log(softmax) gives -Infinity");
  // ### BEGIN HIDDEN TESTS
  const x = Tensor.randn([4, 5], 3).mul(3);
  assertClose(logSoftmax(x).exp().toArray(), new Softmax().forward(x).toArray(), { atol: 1e-6 });
  assertClose(logSoftmax(x).exp().sum(-1).toArray(), [1, 1, 1, 1], { atol: 1e-6 });
  const cols = logSoftmax(x, 0);
  assertShape(cols.shape, [4, 5]);
  assertClose(cols.exp().sum(0).toArray(), [1, 1, 1, 1, 1], { atol: 1e-6 }, "axis 0");
  assertClose(logSoftmax(new Tensor([-1000, 1000, 0])).toArray(), [-2000, 0, -1000], {}, "1-D, ±1000");
  assertClose(logSoftmax(new Tensor([[5, 5, 5, 5]])).toArray(), [Array(4).fill(-Math.log(4))]);
  assertClose(logSoftmax(z.add(1e4)).toArray(), [[-0.41703, -1.41703, -2.31703]], { atol: 1e-3 }, "shifted by 1e4: the same (up to float32 rounding of the inputs)");
  // Seeded: random shapes (ranks 1 to 3), a random axis (negative too, or the default), random
  // scores at a random scale, sometimes shifted by ±1000; each lane is computed here in float64.
  const rls = testRandom("losses/log-softmax");
  const logSoftmaxOracle = (x: Tensor, axis: number): number[] => {
    const ax = axis < 0 ? axis + x.ndim : axis;
    const inner = x.shape.slice(ax + 1).reduce((p, d) => p * d, 1);
    const len = x.shape[ax];
    return Array.from(x.data, (v, f) => {
      const start = f - (Math.floor(f / inner) % len) * inner;
      const lane = Array.from({ length: len }, (_, r) => x.data[start + r * inner]);
      const top = Math.max(...lane);
      return v - top - Math.log(lane.reduce((p, u) => p + Math.exp(u - top), 0));
    });
  };
  for (let c = 0; c < 6; c++) {
    const dims = rls.shape(rls.int(1, 3), 6, 1);
    const axis = c === 0 ? -1 : rls.int(-dims.length, dims.length - 1);
    const scale = rls.uniform(0.5, 10);
    const shift = rls.bool(0.3) ? rls.pick([-1000, 1000]) : 0;
    const x = new Tensor(Float32Array.from({ length: dims.reduce((p, d) => p * d, 1) }, () => shift + rls.normal(0, scale)), dims);
    const got = c === 0 ? logSoftmax(x) : logSoftmax(x, axis);
    const what = `axis ${c === 0 ? "default" : axis} of a random [${dims}]${shift ? ` shifted by ${shift}` : ""}`;
    assertShape(got.shape, dims.slice(), what);
    assertClose(Array.from(got.data), logSoftmaxOracle(x, axis), { rtol: 1e-5, atol: 2e-6 }, what);
  }
  // ### END HIDDEN TESTS
  passed("testUnitLogSoftmax");
}
testUnitLogSoftmax();

// %%
//| mutation log-softmax takes log(softmax(x)) without the max shift: e^1000 overflows
function logSoftmax(x: Tensor, axis = -1): Tensor {
  const e = x.exp();
  return e.div(e.sum(axis, true)).log();
}

// %%
//| mutation log-softmax subtracts the log-sum from x instead of from x - m
function logSoftmax(x: Tensor, axis = -1): Tensor {
  const shifted = x.sub(x.max(axis, true));
  const logSum = shifted.exp().sum(axis, true).log();
  return x.sub(logSum);
}

// %%
//| mutation log-softmax reduces over the whole tensor instead of along the axis
function logSoftmax(x: Tensor, axis = -1): Tensor {
  const shifted = x.sub(x.max());
  return shifted.sub(shifted.exp().sum().log());
}

// %% [markdown]
// ### Exercise 3: `CrossEntropyLoss.forward`
//
// Class labels arrive as integers, one per example: `[2, 0, 1]` means the first example is
// class 2, and so on. (PyTorch takes them the same way; some libraries want one-hot vectors
// instead, which cost `C` times the memory to say the same thing.)
//
// **TODO**: Return the mean over the batch of `-logSoftmax(logits)[i, labels[i]]`, as
// `loss = new Tensor(mean)` (the given last line returns it, recorded for module 06).
//
// Refuse bad input with an `Error` whose message says what is wrong:
// - logits that are not 2-D: the message contains `[N, C]` (the shape logits must have);
// - a number of labels other than `N`: the message contains the word `labels`;
// - a label that is not an integer in `[0, C)`: the message contains that label as JavaScript
//   prints it (`3`, `-2`, `0.5`), and its position.
//
// **APPROACH**:
// 1. Validate as above. `labels` may be a plain array or a `Tensor`: read both as one list of
//    numbers first.
// 2. Compute the log-probabilities with your `logSoftmax`, along the class axis.
// 3. For each row, find the log-probability of its own label in the flat, row-major `data` of
//    that result (derive the offset of element `[i, y]` of an `[N, C]` tensor), and average
//    their negatives.
//
// **HINTS**:
// - Why not build a one-hot `[N, C]` matrix and multiply? Count the numbers it would hold.
// - A label of 3 with 3 classes, or 1.5, is a bug in the data pipeline: without the check, the
//   offset would quietly read another row's number.

// %% nbgrader={"grade": false, "grade_id": "cross-entropy-loss", "locked": false, "schema_version": 3, "solution": true, "task": false}
//| export
/** Mean negative log-likelihood of integer class labels under softmax(logits); 0-d tensor. */
class CrossEntropyLoss {
  forward(logits: Tensor, labels: number[] | Tensor): Tensor {
    let loss: Tensor;
    // ### BEGIN SOLUTION
    if (logits.ndim !== 2) {
      throw new Error(
        `CrossEntropyLoss: logits must have shape [N, C], got [${logits.shape.join(", ")}]`,
      );
    }
    const [n, c] = logits.shape;
    const ys = labels instanceof Tensor ? Array.from(labels.data) : labels;
    if (ys.length !== n) {
      throw new Error(`CrossEntropyLoss: ${n} rows of logits but ${ys.length} labels`);
    }
    ys.forEach((y, i) => {
      if (!Number.isInteger(y) || y < 0 || y >= c) {
        throw new Error(
          `CrossEntropyLoss: label ${y} at position ${i} is not a class index in [0, ${c})`,
        );
      }
    });
    const logp = logSoftmax(logits, -1);
    let total = 0;
    for (let i = 0; i < n; i++) total -= logp.data[i * c + ys[i]];
    loss = new Tensor(total / n);
    // ### END SOLUTION
    return recordLoss(loss, "crossEntropy", logits, () => [
      labels instanceof Tensor ? labels : new Tensor(labels),
      logSoftmax(logits.detach(), -1),
    ]);
  }
}

// %% nbgrader={"grade": true, "grade_id": "test-unit-cross-entropy-loss", "locked": true, "points": 3, "schema_version": 3, "solution": false, "task": false}
function testUnitCrossEntropyLoss(): void {
  const ce = new CrossEntropyLoss();
  const loss = ce.forward(new Tensor([[2, 1, 0.1]]), [0]);
  assertShape(loss.shape, []);
  assertClose(loss.item(), 0.41703);
  assertClose(ce.forward(Tensor.zeros([2, 10]), [3, 7]).item(), Math.log(10), {}, "uniform: log C");
  assertClose(ce.forward(new Tensor([[1000, 0]]), [1]).item(), 1000, {}, "no Infinity");
  assertThrows(() => ce.forward(Tensor.zeros([2, 3]), [0, 3]), "3");
  // ### BEGIN HIDDEN TESTS
  /** Oracle: the mean of logsumexp(row) - row[label], in float64. */
  const crossEntropyOracle = (logits: Tensor, labels: readonly number[]): number => {
    const [n, c] = logits.shape;
    let total = 0;
    for (let i = 0; i < n; i++) {
      const row = Array.from(logits.data.subarray(i * c, (i + 1) * c));
      const top = Math.max(...row);
      const lse = top + Math.log(row.reduce((p, v) => p + Math.exp(v - top), 0));
      total += lse - row[labels[i]];
    }
    return total / n;
  };
  const logits = new Tensor([
    [2, 1, 0.1],
    [0.5, 2.5, -1],
  ]);
  // Row 2: lse = log(e^0.5 + e^2.5 + e^-1) = 2.6531782, so its loss is 0.1531782.
  const expected = (0.41703 + 0.1531782) / 2;
  assertClose(ce.forward(logits, [0, 1]).item(), expected, { rtol: 1e-5 }, "mean over the batch");
  assertClose(ce.forward(logits, new Tensor([0, 1])).item(), expected, { rtol: 1e-5 }, "Tensor labels");
  assertClose(ce.forward(new Tensor([[1000, 0]]), [0]).item(), 0, {}, "confident and right");
  assertClose(ce.forward(new Tensor([[-1000, 1000, 0]]), [0]).item(), 2000);
  const x = Tensor.randn([6, 4], 1);
  assertClose(ce.forward(x.add(500), [0, 1, 2, 3, 0, 1]).item(), crossEntropyOracle(x, [0, 1, 2, 3, 0, 1]), {
    rtol: 1e-3,
  }, "shift invariant: logits + 500 give the loss of the logits");
  assertThrows(() => ce.forward(Tensor.zeros([2, 3]), [0]), "labels", "count");
  assertThrows(() => ce.forward(Tensor.zeros([2, 3]), [0, 1.5]), "1.5", "non-integer");
  assertThrows(() => ce.forward(Tensor.zeros([2, 3]), [-1, 0]), "-1", "negative");
  assertThrows(() => ce.forward(Tensor.zeros([3]), [0]), "[N, C]", "1-D logits");
  assert(Number.isFinite(ce.forward(new Tensor([[1e30, -1e30]]), [1]).item()), "finite");
  // Seeded: random batches and class counts, random logits at a random scale (sometimes shifted
  // by ±500), random labels as an array or a Tensor; random wrong labels (a random bad value at a
  // random position), a random wrong label count and random logits that are not 2-D.
  const rce = testRandom("losses/cross-entropy");
  for (let c = 0; c < 6; c++) {
    const [n, classes] = [rce.int(1, 10), rce.int(2, 12)];
    const shift = rce.bool(0.3) ? rce.pick([-500, 500]) : 0;
    const scale = rce.uniform(0.5, 8);
    const logits = new Tensor(Float32Array.from({ length: n * classes }, () => shift + rce.normal(0, scale)), [n, classes]);
    const labels = Array.from({ length: n }, () => rce.int(0, classes - 1));
    const asTensor = rce.bool();
    const loss = ce.forward(logits, asTensor ? new Tensor(labels) : labels);
    const what = `random [${n}, ${classes}] logits, labels as ${asTensor ? "a Tensor" : "an array"}`;
    assertShape(loss.shape, [], what);
    assertClose(loss.item(), crossEntropyOracle(logits, labels), { rtol: 1e-5, atol: 1e-5 }, what);
  }
  for (let c = 0; c < 3; c++) {
    const [n, classes] = [rce.int(1, 6), rce.int(2, 6)];
    const labels = Array.from({ length: n }, () => rce.int(0, classes - 1));
    const bad = [classes + rce.int(0, 3), -rce.int(1, 3), rce.int(0, classes - 2) + 0.5][c];
    labels[rce.int(0, n - 1)] = bad;
    assertThrows(() => ce.forward(Tensor.zeros([n, classes]), labels), literally(String(bad)), `a random bad label ${bad} is named`);
  }
  const [cn, cc] = [rce.int(1, 6), rce.int(2, 6)];
  const miscount = Array.from({ length: cn + (rce.bool() ? rce.int(1, 3) : -rce.int(1, cn)) }, () => rce.int(0, cc - 1));
  assertThrows(() => ce.forward(Tensor.zeros([cn, cc]), miscount), undefined, "a random wrong number of labels");
  const notTwoD = rce.shape(rce.pick([1, 3]), 4, 1);
  assertThrows(() => ce.forward(Tensor.zeros(notTwoD), [0]), undefined, `random logits of shape [${notTwoD}]`);
  // ### END HIDDEN TESTS
  passed("testUnitCrossEntropyLoss");
}
testUnitCrossEntropyLoss();

// %%
//| mutation cross-entropy-loss takes log(softmax(logits)): a probability that rounds to 0 gives Infinity
class CrossEntropyLoss {
  forward(logits: Tensor, labels: number[] | Tensor): Tensor {
    let loss: Tensor;
    if (logits.ndim !== 2) throw new Error(`CrossEntropyLoss: logits must have shape [N, C], got [${logits.shape.join(", ")}]`);
    const [n, c] = logits.shape;
    const ys = labels instanceof Tensor ? Array.from(labels.data) : labels;
    if (ys.length !== n) throw new Error(`CrossEntropyLoss: ${n} rows of logits but ${ys.length} labels`);
    ys.forEach((y, i) => {
      if (!Number.isInteger(y) || y < 0 || y >= c) throw new Error(`CrossEntropyLoss: label ${y} at position ${i} is not a class index in [0, ${c})`);
    });
    const p = new Softmax().forward(logits);
    let total = 0;
    for (let i = 0; i < n; i++) total -= Math.log(p.data[i * c + ys[i]]);
    loss = new Tensor(total / n);
    return recordLoss(loss, "crossEntropy", logits, () => [
      labels instanceof Tensor ? labels : new Tensor(labels),
      logSoftmax(logits.detach(), -1),
    ]);
  }
}

// %%
//| mutation cross-entropy-loss sums over the batch instead of averaging
class CrossEntropyLoss {
  forward(logits: Tensor, labels: number[] | Tensor): Tensor {
    let loss: Tensor;
    if (logits.ndim !== 2) throw new Error(`CrossEntropyLoss: logits must have shape [N, C], got [${logits.shape.join(", ")}]`);
    const [n, c] = logits.shape;
    const ys = labels instanceof Tensor ? Array.from(labels.data) : labels;
    if (ys.length !== n) throw new Error(`CrossEntropyLoss: ${n} rows of logits but ${ys.length} labels`);
    ys.forEach((y, i) => {
      if (!Number.isInteger(y) || y < 0 || y >= c) throw new Error(`CrossEntropyLoss: label ${y} at position ${i} is not a class index in [0, ${c})`);
    });
    const logp = logSoftmax(logits, -1);
    let total = 0;
    for (let i = 0; i < n; i++) total -= logp.data[i * c + ys[i]];
    loss = new Tensor(total);
    return recordLoss(loss, "crossEntropy", logits, () => [
      labels instanceof Tensor ? labels : new Tensor(labels),
      logSoftmax(logits.detach(), -1),
    ]);
  }
}

// %%
//| mutation cross-entropy-loss does not check the labels: a bad label reads another row's number, or nothing
class CrossEntropyLoss {
  forward(logits: Tensor, labels: number[] | Tensor): Tensor {
    let loss: Tensor;
    if (logits.ndim !== 2) throw new Error(`CrossEntropyLoss: logits must have shape [N, C], got [${logits.shape.join(", ")}]`);
    const [n, c] = logits.shape;
    const ys = labels instanceof Tensor ? Array.from(labels.data) : labels;
    if (ys.length !== n) throw new Error(`CrossEntropyLoss: ${n} rows of logits but ${ys.length} labels`);
    const logp = logSoftmax(logits, -1);
    let total = 0;
    for (let i = 0; i < n; i++) total -= logp.data[i * c + ys[i]];
    loss = new Tensor(total / n);
    return recordLoss(loss, "crossEntropy", logits, () => [
      labels instanceof Tensor ? labels : new Tensor(labels),
      logSoftmax(logits.detach(), -1),
    ]);
  }
}

// %%
//| mutation cross-entropy-loss reads element [i, y] at the column-major offset y * N + i
class CrossEntropyLoss {
  forward(logits: Tensor, labels: number[] | Tensor): Tensor {
    let loss: Tensor;
    if (logits.ndim !== 2) throw new Error(`CrossEntropyLoss: logits must have shape [N, C], got [${logits.shape.join(", ")}]`);
    const [n, c] = logits.shape;
    const ys = labels instanceof Tensor ? Array.from(labels.data) : labels;
    if (ys.length !== n) throw new Error(`CrossEntropyLoss: ${n} rows of logits but ${ys.length} labels`);
    ys.forEach((y, i) => {
      if (!Number.isInteger(y) || y < 0 || y >= c) throw new Error(`CrossEntropyLoss: label ${y} at position ${i} is not a class index in [0, ${c})`);
    });
    const logp = logSoftmax(logits, -1);
    let total = 0;
    for (let i = 0; i < n; i++) total -= logp.data[ys[i] * n + i];
    loss = new Tensor(total / n);
    return recordLoss(loss, "crossEntropy", logits, () => [
      labels instanceof Tensor ? labels : new Tensor(labels),
      logSoftmax(logits.detach(), -1),
    ]);
  }
}

// %% [markdown]
// ## Binary cross-entropy
//
// With two classes, one probability is enough: the model outputs `p = P(y = 1)` (usually from a
// sigmoid) and the loss is cross-entropy with two outcomes:
//
// ```
// BCE = -mean( t * log(p) + (1 - t) * log(1 - p) )        t in {0, 1}
// ```
//
// A sigmoid in float32 can return exactly 0 or 1 (`sigmoid(20)` is already `1` in float32),
// and then one of the logs is `log(0) = -Infinity`. The usual fix is to **clamp** the
// probability into `[eps, 1 - eps]` first; with `eps = 1e-7` the worst possible loss per example
// is `-log(1e-7)`, about 16.1, instead of `Infinity`. (PyTorch clamps the log at -100 instead;
// the most robust option is to give the loss the logits and use the log-sum-exp trick, which
// PyTorch calls `BCEWithLogitsLoss`.)
//
// ### Exercise 4: `BinaryCrossEntropyLoss.forward`
//
// **TODO**: Return the mean binary cross-entropy of `probabilities` against `targets` (same
// shape), with probabilities clamped to `[this.eps, 1 - this.eps]`.
//
// **APPROACH**:
// 1. Refuse unequal shapes with the given `assertSameShape` (its message names both shapes,
//    written as `[3, 1]`).
// 2. One pass over the elements: clamp each probability into `[eps, 1 - eps]`, then add its
//    term of the formula above to a running total. Targets may be soft (any number in
//    `[0, 1]`), so keep both terms of the formula for every element.
// 3. Set `loss` to a 0-d tensor holding the mean (the given last line returns it).
//
// **HINTS**:
// - Clamp in JavaScript numbers (float64), not in float32: below `eps` of about `6e-8`,
//   `Math.fround(1 - eps)` is exactly 1, and `log(1 - p)` would be `log(0)` again. Storing the
//   clamped probabilities in a tensor rounds them to float32 too.
// - With `eps = 1e-7`, what is the largest loss one example can contribute?

// %% nbgrader={"grade": false, "grade_id": "bce-loss", "locked": false, "schema_version": 3, "solution": true, "task": false}
//| export
/** Binary cross-entropy of probabilities, clamped to [eps, 1 - eps] so log(0) never happens. */
class BinaryCrossEntropyLoss {
  readonly eps: number;

  constructor(eps = 1e-7) {
    this.eps = eps;
  }

  forward(probabilities: Tensor, targets: Tensor): Tensor {
    let loss: Tensor;
    // ### BEGIN SOLUTION
    assertSameShape("BinaryCrossEntropyLoss", probabilities, targets);
    const lo = this.eps;
    const hi = 1 - this.eps;
    let total = 0;
    for (let i = 0; i < probabilities.size; i++) {
      const p = Math.min(Math.max(probabilities.data[i], lo), hi);
      const t = targets.data[i];
      total += t * Math.log(p) + (1 - t) * Math.log(1 - p);
    }
    loss = new Tensor(-total / probabilities.size);
    // ### END SOLUTION
    return recordLoss(loss, "binaryCrossEntropy", probabilities, () => [
      targets,
      probabilities.map((p) => Math.min(Math.max(p, this.eps), 1 - this.eps)),
    ]);
  }
}

// %% nbgrader={"grade": true, "grade_id": "test-unit-bce-loss", "locked": true, "points": 3, "schema_version": 3, "solution": false, "task": false}
function testUnitBinaryCrossEntropyLoss(): void {
  const bce = new BinaryCrossEntropyLoss();
  const loss = bce.forward(new Tensor([0.9, 0.2]), new Tensor([1, 0]));
  assertShape(loss.shape, []);
  assertClose(loss.item(), 0.16425203);
  const clamped = bce.forward(new Tensor([0, 1]), new Tensor([1, 0]));
  assert(Number.isFinite(clamped.item()), "log(0) is clamped away");
  assertClose(clamped.item(), -Math.log(1e-7), { rtol: 1e-4 });
  // ### BEGIN HIDDEN TESTS
  assertClose(bce.forward(new Tensor([1, 0]), new Tensor([1, 0])).item(), 0, { atol: 1e-6 }, "perfect");
  assertClose(bce.forward(new Tensor([0.5, 0.5, 0.5]), new Tensor([1, 0, 1])).item(), Math.log(2));
  assertThrows(() => bce.forward(Tensor.zeros([3]), Tensor.zeros([3, 1])), literally("[3, 1]"));
  const probs = new Sigmoid().forward(new Tensor([[40, -40], [3, -3]]));
  const targets = new Tensor([[0, 1], [1, 0]]);
  assert(Number.isFinite(bce.forward(probs, targets).item()), "saturated sigmoid outputs");
  // Soft targets are allowed: t = 0.3 with p = 0.3.
  const soft = -(0.3 * Math.log(0.3) + 0.7 * Math.log(0.7));
  assertClose(bce.forward(new Tensor([0.3]), new Tensor([0.3])).item(), soft, { rtol: 1e-5 });
  assertEqual(new BinaryCrossEntropyLoss(1e-3).eps, 1e-3);
  assertClose(new BinaryCrossEntropyLoss(1e-3).forward(new Tensor([0]), new Tensor([1])).item(), -Math.log(1e-3), {
    rtol: 1e-5,
  }, "eps is used");
  // Two-class cross-entropy on logits [0, z]: sigmoid(z) = softmax([0, z])[1], so the loss of
  // label 1 is log(1 + e^-z).
  const z = 1.7;
  const viaBCE = bce.forward(new Sigmoid().forward(new Tensor([z])), new Tensor([1])).item();
  assertClose(viaBCE, Math.log(1 + Math.exp(-z)), { rtol: 1e-5 }, "BCE of sigmoid(z) is two-class cross-entropy");
  // Seeded: random shapes of random probabilities (some exactly 0 or 1), random hard or soft
  // targets, the default eps or a random one; random mismatched shapes.
  const rbc = testRandom("losses/bce");
  const bceOracle = (p: ArrayLike<number>, t: ArrayLike<number>, eps: number): number => {
    let total = 0;
    for (let i = 0; i < p.length; i++) {
      const q = Math.min(Math.max(p[i], eps), 1 - eps);
      total -= t[i] * Math.log(q) + (1 - t[i]) * Math.log(1 - q);
    }
    return total / p.length;
  };
  for (let c = 0; c < 6; c++) {
    const dims = rbc.shape(rbc.int(1, 3), 6, 1);
    const size = dims.reduce((p, d) => p * d, 1);
    const probs = new Tensor(Float32Array.from({ length: size }, () => (rbc.bool(0.15) ? rbc.pick([0, 1]) : rbc.uniform(0, 1))), dims);
    const soft = c % 3 === 2;
    const targets = new Tensor(Float32Array.from({ length: size }, () => (soft ? rbc.uniform(0, 1) : rbc.pick([0, 1]))), dims);
    const eps = c % 2 === 0 ? undefined : rbc.pick([1e-4, 1e-3, 1e-2]) * rbc.uniform(1, 5);
    const loss = (eps === undefined ? bce : new BinaryCrossEntropyLoss(eps)).forward(probs, targets);
    const what = `random [${dims}], ${soft ? "soft" : "hard"} targets, eps ${eps ?? "default"}`;
    assertShape(loss.shape, [], what);
    assertClose(loss.item(), bceOracle(probs.data, targets.data, eps ?? 1e-7), { rtol: 1e-5, atol: 1e-6 }, what);
  }
  const bdims = rbc.shape(rbc.int(1, 3), 5, 1);
  const bother = [...bdims.slice(0, -1), bdims[bdims.length - 1] + rbc.int(1, 3)];
  const bmismatch = (): Tensor => bce.forward(Tensor.zeros(bdims), Tensor.zeros(bother));
  assertThrows(bmismatch, literally(`[${bdims.join(", ")}]`), "random mismatched shapes are named");
  assertThrows(bmismatch, literally(`[${bother.join(", ")}]`), "both of them");
  // ### END HIDDEN TESTS
  passed("testUnitBinaryCrossEntropyLoss");
}
testUnitBinaryCrossEntropyLoss();

// %%
//| mutation bce-loss does not clamp: a probability of exactly 0 or 1 gives log(0) = -Infinity
class BinaryCrossEntropyLoss {
  readonly eps: number;

  constructor(eps = 1e-7) {
    this.eps = eps;
  }

  forward(probabilities: Tensor, targets: Tensor): Tensor {
    let loss: Tensor;
    assertSameShape("BinaryCrossEntropyLoss", probabilities, targets);
    let total = 0;
    for (let i = 0; i < probabilities.size; i++) {
      const p = probabilities.data[i];
      const t = targets.data[i];
      total += t * Math.log(p) + (1 - t) * Math.log(1 - p);
    }
    loss = new Tensor(-total / probabilities.size);
    return recordLoss(loss, "binaryCrossEntropy", probabilities, () => [
      targets,
      probabilities.map((p) => Math.min(Math.max(p, this.eps), 1 - this.eps)),
    ]);
  }
}

// %%
//| mutation bce-loss clamps into a float32 tensor, so 1 - eps is rounded
class BinaryCrossEntropyLoss {
  readonly eps: number;

  constructor(eps = 1e-7) {
    this.eps = eps;
  }

  forward(probabilities: Tensor, targets: Tensor): Tensor {
    let loss: Tensor;
    assertSameShape("BinaryCrossEntropyLoss", probabilities, targets);
    const clamped = probabilities.map((p) => Math.min(Math.max(p, this.eps), 1 - this.eps));
    let total = 0;
    for (let i = 0; i < clamped.size; i++) {
      const p = clamped.data[i];
      const t = targets.data[i];
      total += t * Math.log(p) + (1 - t) * Math.log(1 - p);
    }
    loss = new Tensor(-total / probabilities.size);
    return recordLoss(loss, "binaryCrossEntropy", probabilities, () => [
      targets,
      probabilities.map((p) => Math.min(Math.max(p, this.eps), 1 - this.eps)),
    ]);
  }
}

// %%
//| mutation bce-loss keeps only the t * log(p) term, so targets of 0 cost nothing
class BinaryCrossEntropyLoss {
  readonly eps: number;

  constructor(eps = 1e-7) {
    this.eps = eps;
  }

  forward(probabilities: Tensor, targets: Tensor): Tensor {
    let loss: Tensor;
    assertSameShape("BinaryCrossEntropyLoss", probabilities, targets);
    let total = 0;
    for (let i = 0; i < probabilities.size; i++) {
      const p = Math.min(Math.max(probabilities.data[i], this.eps), 1 - this.eps);
      total += targets.data[i] * Math.log(p);
    }
    loss = new Tensor(-total / probabilities.size);
    return recordLoss(loss, "binaryCrossEntropy", probabilities, () => [
      targets,
      probabilities.map((p) => Math.min(Math.max(p, this.eps), 1 - this.eps)),
    ]);
  }
}

// %% [markdown]
// ### How the losses punish mistakes
// For a single example whose true class has predicted probability `p`, cross-entropy costs
// `-log(p)` and squared error on the probability costs `(1 - p)^2`. The chart shows why
// classification uses the first: as the model becomes confidently wrong (`p` near 0),
// cross-entropy climbs steeply while squared error flattens out at 1.

// %%
await demo("loss curves", async () => {
  const p = Tensor.arange(0.01, 1.0001, 0.01);
  const values: { p: number; loss: number; kind: string }[] = [];
  const bce = new BinaryCrossEntropyLoss();
  const mse = new MSELoss();
  for (const v of p.data) {
    values.push({ p: v, loss: bce.forward(new Tensor([v]), new Tensor([1])).item(), kind: "cross-entropy" });
    values.push({ p: v, loss: mse.forward(new Tensor([v]), new Tensor([1])).item(), kind: "squared error" });
  }
  await showChart({
    title: "Loss for one example whose true class has probability p",
    width: 420,
    height: 260,
    data: { values },
    mark: { type: "line", strokeWidth: 2 },
    encoding: {
      x: { field: "p", type: "quantitative", title: "predicted probability of the true class" },
      y: { field: "loss", type: "quantitative", title: "loss" },
      color: { field: "kind", type: "nominal" },
    },
  });
});

// %% [markdown]
// ## Reflect: predict, then measure
//
// Write down three numbers before running the demo below. The first two follow from the lesson;
// the third is a guess to compare with the measurement.
//
// 1. ImageNet has 1,000 classes. What cross-entropy loss should a freshly initialised
//    classifier (one that gives every class the same probability) report on its first batch?
//    This is the number to check before any long training run.
// 2. How many **bytes** would one-hot float32 targets take for a batch of 256 examples over
//    those 1,000 classes? (Integer labels take one number per example.)
// 3. For two logits `[0, -g]`, at which gap `g` does `log(softmax(z))` of the second class first
//    come out as `-Infinity` when the probabilities are stored in float32 (a `Tensor`)? Not
//    graded: you will compare it with the measurement in Question 1.

// %% nbgrader={"grade": false, "grade_id": "predict-untrained-loss", "locked": false, "schema_version": 3, "solution": true, "task": false}
/** Your prediction: cross-entropy of a uniform classifier over 1,000 classes. */
function predictedUntrainedLoss(): number {
  // ### BEGIN SOLUTION
  return Math.log(1000);
  // ### END SOLUTION
}

// %%
//| mutation predict-untrained-loss uses log base 10
function predictedUntrainedLoss(): number {
  return Math.log10(1000);
}

// %% nbgrader={"grade": false, "grade_id": "predict-one-hot-bytes", "locked": false, "schema_version": 3, "solution": true, "task": false}
/** Your prediction: bytes of one-hot float32 targets [256, 1000]. */
function predictedOneHotBytes(): number {
  // ### BEGIN SOLUTION
  return 256 * 1000 * 4;
  // ### END SOLUTION
}

// %%
//| mutation predict-one-hot-bytes counts the bytes of the integer labels instead
function predictedOneHotBytes(): number {
  return 256 * 4;
}

// %%
/** Your guess (not graded): the gap g at which log(softmax([0, -g]))[1] becomes -Infinity in float32. Replace the 0. */
const predictedInfinityGap = 0;

// %%
await demo("predictions against measurements", () => {
  const classes = 1000;
  const labels = Array.from({ length: 256 }, (_, i) => (i * 37) % classes);
  const untrained = new CrossEntropyLoss().forward(Tensor.zeros([256, classes]), labels).item();
  const oneHot = Tensor.zeros([256, classes]);
  console.log(`untrained loss over ${classes} classes: ${untrained.toFixed(4)} (you predicted ${predictedUntrainedLoss().toFixed(4)})`);
  console.log(`one-hot targets: ${oneHot.nbytes} bytes, integer labels: ${new Tensor(labels).nbytes} bytes (you predicted ${predictedOneHotBytes()})`);
  // Sweep the gap in steps of 0.01 until softmax's float32 probability of the second class is 0.
  let gap = 0;
  for (let g = 1; g <= 200; g += 0.01) {
    const p = new Softmax().forward(new Tensor([0, -g]));
    if (p.data[1] === 0) {
      gap = g;
      break;
    }
  }
  const fused = logSoftmax(new Tensor([0, -gap])).data[1];
  console.log(`log(softmax) of the second class is -Infinity from g = ${gap.toFixed(2)} (you guessed ${predictedInfinityGap}); logSoftmax there gives ${fused.toFixed(2)}`);
});

// %% nbgrader={"grade": true, "grade_id": "test-unit-loss-predictions", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
function testUnitLossPredictions(): void {
  // ### BEGIN HIDDEN TESTS
  check("the loss of an untrained 1,000-class classifier", 1, () => assertPrediction(predictedUntrainedLoss(), Math.log(1000), { rtol: 0.02 }));
  check("bytes of one-hot targets [256, 1000]", 1, () => assertPrediction(predictedOneHotBytes(), 256 * 1000 * Float32Array.BYTES_PER_ELEMENT, { rtol: 0.01 }));
  // ### END HIDDEN TESTS
  passed("testUnitLossPredictions");
}
testUnitLossPredictions();

// %% [markdown] nbgrader={"grade": true, "grade_id": "explain-log-softmax", "locked": false, "points": 2, "schema_version": 3, "solution": true, "task": false}
// **Question 1.** Compare your guessed gap with the measured one. Explain why `log(softmax(z))`
// becomes `-Infinity` at that gap while `logSoftmax` returns `-g` exactly, and what this means
// for a network that becomes confidently wrong during training. Why do frameworks offer the
// softmax and the cross-entropy as one fused operation?
//
// ### BEGIN SOLUTION
// softmax([0, -g])[1] = e^-g / (1 + e^-g) ≈ e^-g. Stored in float32, it underflows to 0 once
// e^-g is below half the smallest subnormal float32 (2^-150 ≈ 7e-46), at g ≈ 104 (the smallest
// normal float32, e^-87, is not the limit: subnormals go further, with fewer digits). log(0) is
// -Infinity, so the loss of that example is Infinity and its gradient NaN, and one example
// ruins the whole batch's update. logSoftmax never forms the probability: it computes
// (z - m) - log(sum e^(z - m)), where the sum is in [1, C], so the result is the exact -g
// (any size). A network that is confidently wrong (large gaps) is exactly when the loss matters
// most. Fusing softmax and cross-entropy lets the framework use log-sum-exp (stable) and a
// simple gradient (softmax - onehot), faster and exact, instead of differentiating through a
// probability that may have rounded to 0.
// ### END SOLUTION
//
// ### BEGIN RUBRIC
// 2 points: float32 underflow of e^-g to 0 (near g ≈ 104, or a measured value argued from the
// float32 range) gives log(0) = -Infinity; logSoftmax stays exact because it never forms the
// probability (log-sum-exp with the max subtracted); the fused operation is stable and has a
// simple gradient. 1 point: underflow explained without why the fused form avoids it, or the
// reverse.
// ### END RUBRIC

// %% [markdown] nbgrader={"grade": true, "grade_id": "explain-shape-check", "locked": false, "points": 2, "schema_version": 3, "solution": true, "task": false}
// **Question 2.** A regression network outputs predictions of shape `[N, 1]`; the targets have
// shape `[N]`. With a loss that broadcasts instead of refusing, what does `mean((p - t)^2)`
// compute, what does the network learn from it, and why does nothing visibly fail? Why is
// refusing the shapes the better design, even though it forces the user to reshape?
//
// ### BEGIN SOLUTION
// [N, 1] - [N] broadcasts to [N, N]: entry (i, j) is p_i - t_j, every prediction compared with
// every target. Its mean is minimised by predicting the mean of all targets for every example
// (the loss is mean_i mean_j (p_i - t_j)^2, whose minimum in each p_i is mean(t)), so the
// network learns to ignore its input and output a constant. Nothing fails: the loss is a
// finite number that decreases during training, and only the accuracy of the predictions (or
// an N² cost in memory and time for large batches) shows it. Refusing unequal shapes turns a
// silent modelling bug into an immediate error with both shapes in the message; the cost is an
// explicit reshape in the few places where the shapes legitimately differ.
// ### END SOLUTION
//
// ### BEGIN RUBRIC
// 2 points: the [N, N] broadcast comparing every prediction with every target; the network is
// pushed towards predicting the mean target (learns a constant, ignores the input); silent
// because the loss is finite and falls; refusing makes the bug loud at the cost of a reshape.
// 1 point: the broadcast shape and silence without what is learned, or the reverse.
// ### END RUBRIC

// %% [markdown] nbgrader={"grade": true, "grade_id": "explain-eps", "locked": false, "points": 2, "schema_version": 3, "solution": true, "task": false}
// **Question 3.** `BinaryCrossEntropyLoss` clamps probabilities into `[eps, 1 - eps]`. What does
// the choice of `eps` trade off? Describe what happens to the loss and to the learning signal of
// a confidently wrong example (`p = 0`, `t = 1`) with `eps = 1e-7` and with `eps = 1e-2`, and
// why computing the loss from logits (PyTorch's `BCEWithLogitsLoss`) needs no `eps` at all.
//
// ### BEGIN SOLUTION
// eps bounds the loss per example at -log(eps): about 16.1 for 1e-7, 4.6 for 1e-2. A small eps
// keeps the loss close to the true cross-entropy (tiny bias) but still lets one saturated
// example contribute a large loss; a large eps caps it and biases every loss near 0 or 1. Inside
// the clamped region the loss no longer depends on p, so a confidently wrong example whose p
// is below eps gets no gradient at all: the clamp hides it from learning (with 1e-2 that
// happens already at p < 0.01, which is common). From logits z, BCE is
// max(z, 0) - z t + log(1 + e^-|z|): every term is finite for any z, the loss of a confident
// mistake is about |z| (exact, not capped), and its gradient sigmoid(z) - t never vanishes for
// a wrong example. So no eps is needed, and no information is lost.
// ### END SOLUTION
//
// ### BEGIN RUBRIC
// 2 points: eps caps the loss at -log(eps) (values for both eps), a larger eps biases the loss
// and cuts off the gradient of examples beyond the clamp; from logits the log-sum-exp form is
// exact and finite, with the gradient sigmoid(z) - t. 1 point: the cap or the lost gradient
// without the logits argument, or the logits argument alone.
// ### END RUBRIC

// %% [markdown]
// ## Module test

// %% nbgrader={"grade": true, "grade_id": "test-module-losses", "locked": true, "points": 4, "schema_version": 3, "solution": false, "task": false}
function testModule(): void {
  // A batch of 3 examples, 4 classes; the model is right on the first two.
  const logits = new Tensor([
    [4, 0, 0, 0],
    [0, 0, 5, 0],
    [1, 1, 1, 1],
  ]);
  const ce = new CrossEntropyLoss().forward(logits, [0, 2, 3]);
  assertShape(ce.shape, []);
  const expected = (Math.log(1 + 3 * Math.exp(-4)) + Math.log(1 + 3 * Math.exp(-5)) + Math.log(4)) / 3;
  assertClose(ce.item(), expected, { rtol: 1e-5 });
  const probs = new Softmax().forward(logits);
  const mse = new MSELoss().forward(probs, probs);
  assertEqual(mse.item(), 0);
  const bce = new BinaryCrossEntropyLoss().forward(new Tensor([0.5]), new Tensor([1]));
  assertClose(bce.item(), Math.log(2));
  // ### BEGIN HIDDEN TESTS
  // Improving the prediction of the right class lowers every loss.
  const worse = new CrossEntropyLoss().forward(new Tensor([[0, 1]]), [0]).item();
  const better = new CrossEntropyLoss().forward(new Tensor([[1, 0]]), [0]).item();
  assert(better < worse, "cross-entropy prefers the right class");
  const b1 = new BinaryCrossEntropyLoss().forward(new Tensor([0.6]), new Tensor([1])).item();
  const b2 = new BinaryCrossEntropyLoss().forward(new Tensor([0.9]), new Tensor([1])).item();
  assert(b2 < b1, "BCE prefers confident right answers");
  // All three stay finite on extreme inputs.
  const huge = new Tensor([[1e4, -1e4, 0]]);
  assert(Number.isFinite(new CrossEntropyLoss().forward(huge, [1]).item()), "CE at ±1e4");
  assert(Number.isFinite(new BinaryCrossEntropyLoss().forward(new Tensor([0, 1, 0]), new Tensor([1, 0, 1])).item()));
  assertClose(new MSELoss().forward(huge, Tensor.zeros([1, 3])).item(), 2e8 / 3, { rtol: 1e-5 });
  // Seeded, end to end: random logits from Tensor.randn with a random seed and scale, random
  // labels; cross-entropy, MSE of the softmax against one-hot targets, and BCE of the sigmoid of
  // one column against random 0/1 targets, computed here from the random data.
  const rmd = testRandom("losses/module");
  const [n, classes] = [rmd.int(1, 12), rmd.int(2, 10)];
  const scores = Tensor.randn([n, classes], rmd.seed()).mul(rmd.uniform(0.5, 6));
  const labels = Array.from({ length: n }, () => rmd.int(0, classes - 1));
  const firstColumn = new Tensor(Float32Array.from({ length: n }, (_, i) => scores.data[i * classes]));
  const probabilities = new Sigmoid().forward(firstColumn);
  const moduleOracle = (kind: string): number => {
    let total = 0;
    for (let i = 0; i < n; i++) {
      const row = Array.from(scores.data.subarray(i * classes, (i + 1) * classes));
      const top = Math.max(...row);
      const sum = row.reduce((p, v) => p + Math.exp(v - top), 0);
      if (kind === "ce") total += top + Math.log(sum) - row[labels[i]];
      else if (kind === "mse") row.forEach((v, j) => (total += (Math.exp(v - top) / sum - (j === labels[i] ? 1 : 0)) ** 2 / classes));
      else {
        const q = Math.min(Math.max(probabilities.data[i], 1e-7), 1 - 1e-7);
        total -= labels[i] % 2 === 1 ? Math.log(q) : Math.log(1 - q);
      }
    }
    return total / n;
  };
  const what = `random [${n}, ${classes}] scores`;
  assertClose(new CrossEntropyLoss().forward(scores, labels).item(), moduleOracle("ce"), { rtol: 1e-5, atol: 1e-5 }, `cross-entropy of ${what}`);
  const oneHot = new Tensor(Float32Array.from({ length: n * classes }, (_, f) => (labels[Math.floor(f / classes)] === f % classes ? 1 : 0)), [n, classes]);
  assertClose(new MSELoss().forward(new Softmax().forward(scores), oneHot).item(), moduleOracle("mse"), { rtol: 1e-5, atol: 1e-6 }, `MSE of softmax(${what}) against one-hot labels`);
  const parity = new Tensor(labels.map((y) => y % 2));
  assertClose(new BinaryCrossEntropyLoss().forward(probabilities, parity).item(), moduleOracle("bce"), { rtol: 1e-5, atol: 1e-6 }, `BCE of sigmoid(${what}[:, 0])`);
  // ### END HIDDEN TESTS
  passed("testModule (losses)");
}
testModule();

// %% [markdown]
// ## Summary
//
// - A loss turns predictions and targets into one number that training minimises; it defines
//   what the model learns.
// - **MSE** for regression: the mean squared difference. Require equal shapes: broadcasting
//   `[N, 1]` against `[N]` silently compares every prediction with every target.
// - **Cross-entropy** for classification: `-log p(true class)`, `log C` for an untrained model,
//   unbounded for confident mistakes. Compute it from logits with **log-softmax** (the
//   log-sum-exp trick), never as `log(softmax(z))`, which turns into `-log(0) = Infinity`.
// - **Binary cross-entropy** for yes/no outputs: clamp probabilities to `[eps, 1 - eps]`, or
//   better, work from logits.
// - All three are cheap (a few FLOPs per element, one or two passes); their cost hides next to
//   the layers, but a `NaN` from a careless loss ruins a whole training run.
//
// With tensors, activations, layers and losses you can build and score a model. Milestone 01
// puts them together into a perceptron.
