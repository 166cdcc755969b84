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
// # Module 02: Activations
//
// A layer of a neural network multiplies its input by a weight matrix and adds a bias: a
// **linear** (strictly, affine) map. Stack two of them and you get
// `W2 (W1 x + b1) + b2 = (W2 W1) x + (W2 b1 + b2)`, which is again one linear map. However many
// linear layers you stack, the network can only draw straight lines (flat hyperplanes) through
// its input space. It cannot learn XOR, a circle, or anything else curved.
//
// An **activation function** applied element by element between the layers breaks the
// collapse. With it, each layer bends space a little, and a deep stack can approximate any
// reasonable function. This module implements the five activations you will meet everywhere:
//
// | activation | formula | typical use |
// |---|---|---|
// | ReLU | `max(0, x)` | hidden layers of most networks |
// | Sigmoid | `1 / (1 + e^-x)` | a probability for yes/no outputs, gates in LSTMs |
// | Tanh | `(e^x - e^-x) / (e^x + e^-x)` | hidden layers centred on 0, RNNs |
// | GELU | `x * Phi(x)` | transformers (BERT, GPT) |
// | Softmax | `e^x_i / sum_j e^x_j` | turning scores into a probability distribution |
//
// ### What you will learn
// - why each activation has the shape it has, and what it costs per element;
// - how to compute exponentials **without overflow**: at `x = 1000`, `e^x` is `Infinity` in
//   float64 (and already beyond float32 at 89), and `Infinity / Infinity` is `NaN`. A `NaN`
//   spreads through every later computation and silently ruins training, so every function
//   here must give finite, correct answers at ±1000;
// - how Softmax works along one axis of a batch.
//
// Every activation is a class with `forward(x)` and `parameters()` (an empty list: activations
// have nothing to learn). That is the same interface the layers of module 03 have, so they can
// be mixed freely in a `Sequential` network.
//
// **Ready for gradients.** You compute each element-wise activation with `map`, which takes no
// note for the backward pass of module 06 (an arbitrary function has no known derivative). So
// the last line of each `forward`, given, records the result as one named operation:
// `Tensor.record(y, "relu", [x])`. Module 06 registers the derivative of each name. Softmax
// needs no such line: it is built from `max`, `sub`, `exp`, `sum` and `div`, which record
// themselves.

// %%
//| default_exp core.activations

// %%
//| export
import { Tensor } from "tinytorch-ts/core/tensor";

// %% nbgrader={"grade": false, "grade_id": "activations-test-helpers", "locked": true, "schema_version": 3, "solution": false, "task": false}
// Notebook-only helpers: test assertions and charts (not part of the package).
import {
  assert,
  assertClose,
  assertEqual,
  assertPrediction,
  assertShape,
  check,
  demo,
  passed,
  testRandom,
} from "tinytorch-ts/support/testing";
import { showChart } from "tinytorch-ts/support/chart";

/** True when no element is NaN or infinite. */
function allFinite(t: Tensor): boolean {
  for (let i = 0; i < t.data.length; i++) if (!Number.isFinite(t.data[i])) return false;
  return true;
}

// %% [markdown]
// ## ReLU
//
// The rectified linear unit passes positive numbers through and replaces negative ones by 0:
//
// ```
// relu(x) = max(0, x)        relu(-2) = 0, relu(0) = 0, relu(3) = 3
// ```
//
// It looks too simple to work, and yet it is the default choice for hidden layers, for three
// reasons:
//
// 1. **Cost**: one comparison per element; no exponentials.
// 2. **Gradients that do not vanish**: for positive inputs the slope is exactly 1, so a signal
//    passing through twenty ReLU layers is not squeezed smaller at every step, unlike with
//    sigmoid, whose slope is at most 0.25.
// 3. **Sparsity**: about half the outputs are exactly zero, which makes representations cheaper
//    to store and, on some hardware, to compute with.
//
// The catch is the flat half: a unit whose input is negative for every example gets slope 0
// and stops learning (a "dead ReLU"). Variants like Leaky ReLU keep a small slope there.
//
// One more design point: if an input is `NaN`, the output should be `NaN` too (PyTorch does
// this). A `NaN` means a bug upstream; an activation that turned it into a harmless-looking 0
// would hide the bug.
//
// ### Exercise 1: `ReLU.forward`
//
// **TODO**: Return a new tensor of the same shape with `max(0, x)` applied to every element.
//
// **APPROACH**:
// 1. Assign `y = x.map(fn)`: `map` applies `fn` to every element and keeps the shape (the given
//    last line returns `y`, recorded for module 06).
// 2. Write `fn` so that negative numbers give 0 and everything else, `NaN` included, passes
//    through unchanged.
//
// **HINTS**:
// - Every comparison with `NaN` is false. For the function you wrote, trace what happens to
//   `NaN`: which branch does it take, and what comes out? Two ways of writing ReLU that agree
//   on every number can disagree on `NaN`.
// - Do not modify `x`: layers reuse their inputs.

// %% nbgrader={"grade": false, "grade_id": "relu", "locked": false, "schema_version": 3, "solution": true, "task": false}
//| export
/** max(0, x) element-wise; NaN stays NaN. */
class ReLU {
  forward(x: Tensor): Tensor {
    let y: Tensor;
    // ### BEGIN SOLUTION
    y = x.map((v) => (v < 0 ? 0 : v));
    // ### END SOLUTION
    return Tensor.record(y, "relu", [x]);
  }

  parameters(): Tensor[] {
    return [];
  }
}

// %% nbgrader={"grade": true, "grade_id": "test-unit-relu", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
function testUnitReLU(): void {
  const relu = new ReLU();
  const y = relu.forward(new Tensor([-2, -0.5, 0, 0.5, 3]));
  assertEqual(y.toArray(), [0, 0, 0, 0.5, 3]);
  assertShape(relu.forward(Tensor.ones([2, 3])).shape, [2, 3], "shape is kept");
  assertEqual(relu.parameters(), [], "ReLU has no parameters");
  // ### BEGIN HIDDEN TESTS
  const x = new Tensor([
    [-1000, 1000],
    [-1e-30, 7],
  ]);
  assertEqual(relu.forward(x).toArray(), [
    [0, 1000],
    [0, 7],
  ]);
  assertEqual(Array.from(x.data), [-1000, 1000, Math.fround(-1e-30), 7], "input unchanged");
  assert(Number.isNaN(relu.forward(new Tensor([NaN])).item()), "NaN propagates");
  assertEqual(relu.forward(new Tensor([-Infinity, Infinity])).toArray(), [0, Infinity]);
  assertEqual(relu.forward(new Tensor(-3)).shape, [], "0-d input");
  assertShape(relu.forward(Tensor.zeros([0, 4])).shape, [0, 4], "empty input");
  const r = relu.forward(x);
  assert(r !== x && r.data !== x.data, "a new tensor");
  // Seeded: random shapes (ranks 0 to 4) of random values (some exactly 0), and NaN at a random
  // place.
  const rl = testRandom("activations/relu");
  for (let c = 0; c < 5; c++) {
    const dims = rl.shape(rl.int(c === 0 ? 0 : 1, 4), 5, 1);
    const values = rl.numbers(dims.reduce((p, d) => p * d, 1), -100, 100).map((v) => (rl.bool(0.1) ? 0 : v));
    const input = new Tensor(Float32Array.from(values), dims);
    const out = relu.forward(input);
    assertShape(out.shape, dims.slice(), `shape of a random [${dims}]`);
    assertEqual(Array.from(out.data), values.map((v) => (v > 0 ? v : 0)), `max(0, x) on a random [${dims}]`);
    assertEqual(Array.from(input.data), values, "input unchanged");
  }
  const withNaN = rl.numbers(rl.int(2, 12), -5, 5);
  const nanAt = rl.int(0, withNaN.length - 1);
  withNaN[nanAt] = NaN;
  const nanOut = relu.forward(new Tensor(withNaN));
  assert(Number.isNaN(nanOut.data[nanAt]), "NaN propagates at a random place");
  assertEqual(
    Array.from(nanOut.data).filter((_, i) => i !== nanAt),
    withNaN.filter((_, i) => i !== nanAt).map((v) => (v > 0 ? v : 0)),
    "and the other random values are right",
  );
  // ### END HIDDEN TESTS
  passed("testUnitReLU");
}
testUnitReLU();

// %%
//| mutation relu turns NaN into 0 (v > 0 ? v : 0 hides an upstream bug)
class ReLU {
  forward(x: Tensor): Tensor {
    let y: Tensor;
    y = x.map((v) => (v > 0 ? v : 0));
    return Tensor.record(y, "relu", [x]);
  }

  parameters(): Tensor[] {
    return [];
  }
}

// %%
//| mutation relu writes into its input and returns it
class ReLU {
  forward(x: Tensor): Tensor {
    let y: Tensor;
    for (let i = 0; i < x.data.length; i++) if (x.data[i] < 0) x.data[i] = 0;
    y = x;
    return Tensor.record(y, "relu", [x]);
  }

  parameters(): Tensor[] {
    return [];
  }
}

// %% [markdown]
// ## Sigmoid
//
// The logistic sigmoid squashes any real number into `(0, 1)`:
//
// ```
// sigmoid(x) = 1 / (1 + e^-x)       sigmoid(0) = 0.5, sigmoid(±inf) = 1 or 0
// ```
//
// That makes it the natural output for a yes/no question: the network produces a score, the
// sigmoid turns it into a probability. Inside deep networks it has fallen out of favour: its
// slope `sigmoid(x) * (1 - sigmoid(x))` is at most 0.25 and almost 0 for `|x| > 5`, so
// gradients shrink as they pass back through many sigmoid layers (the vanishing gradient
// problem).
//
// ### Computing it safely
// The formula has two algebraically equal forms:
//
// ```
// 1 / (1 + e^-x)            e^-x overflows when x is very negative  (x = -1000: e^1000 = inf)
// e^x / (1 + e^x)           e^x  overflows when x is very positive  (x = +1000: inf/inf = NaN)
// ```
//
// The first form, at `x = -1000`, computes `1 / (1 + Infinity) = 0`: the right answer, but only
// because IEEE arithmetic happens to handle infinity gracefully here. The second form at
// `x = +1000` gives `NaN`. The robust version never exponentiates a positive number: use the
// first form when `x >= 0` (then `-x <= 0` and `e^-x <= 1`) and the second when `x < 0` (then
// `e^x < 1`). Each branch is exact algebra, and no intermediate value can overflow.
//
// ### Exercise 2: `Sigmoid.forward`
//
// **TODO**: Compute the sigmoid of every element, with the two-branch formula.
//
// **APPROACH**:
// 1. `x.map(...)` with a function of one number `v`.
// 2. Pick, by the sign of `v`, the form of the two above whose exponential cannot overflow,
//    and write the negative case so that it never subtracts two nearly equal numbers.
//
// **HINTS**:
// - For each branch, what is the largest argument `Math.exp` can receive?
// - Far in the negative tail the answer is tiny (`sigmoid(-30)` is about `9.4e-14`) and must
//   keep its relative accuracy: `1 - (something close to 1)` loses it. Which form gives the
//   tiny number directly?
// - The results at ±1000 should be exactly 1 and 0, and `NaN` should stay `NaN`.

// %% nbgrader={"grade": false, "grade_id": "sigmoid", "locked": false, "schema_version": 3, "solution": true, "task": false}
//| export
/** 1 / (1 + e^-x) element-wise, computed without overflow for any input. */
class Sigmoid {
  forward(x: Tensor): Tensor {
    let y: Tensor;
    // ### BEGIN SOLUTION
    y = x.map((v) => {
      if (v >= 0) return 1 / (1 + Math.exp(-v));
      const e = Math.exp(v);
      return e / (1 + e);
    });
    // ### END SOLUTION
    return Tensor.record(y, "sigmoid", [x]);
  }

  parameters(): Tensor[] {
    return [];
  }
}

// %% nbgrader={"grade": true, "grade_id": "test-unit-sigmoid", "locked": true, "points": 3, "schema_version": 3, "solution": false, "task": false}
function testUnitSigmoid(): void {
  const sigmoid = new Sigmoid();
  const y = sigmoid.forward(new Tensor([-2, 0, 2]));
  assertClose(y.toArray(), [0.11920292, 0.5, 0.88079708]);
  const extremes = sigmoid.forward(new Tensor([-1000, 1000]));
  assert(allFinite(extremes), "no NaN or Infinity at ±1000");
  assertClose(extremes.toArray(), [0, 1]);
  // ### BEGIN HIDDEN TESTS
  assertEqual(sigmoid.parameters(), []);
  // Symmetry: sigmoid(-x) = 1 - sigmoid(x), both against the closed form.
  const xs = new Tensor([0.1, 1, 3, 7, 15]);
  assertClose(sigmoid.forward(xs.neg()).toArray(), Array.from(xs.data, (v) => 1 / (1 + Math.exp(v))), {
    atol: 1e-7,
  }, "sigmoid(-x)");
  assertClose(sigmoid.forward(xs).toArray(), Array.from(xs.data, (v) => 1 - 1 / (1 + Math.exp(v))), { atol: 1e-7 }, "= 1 - sigmoid(x)");
  // Relative accuracy in the far negative tail (float32 can hold 9.36e-14).
  assertClose(sigmoid.forward(new Tensor([-30])).item(), 9.357623e-14, { rtol: 1e-5, atol: 0 });
  assertClose(sigmoid.forward(new Tensor([-88.5, 88.5, -745, 745])).toArray(), [0, 1, 0, 1]);
  assert(allFinite(sigmoid.forward(new Tensor([-1e30, 1e30, -Infinity, Infinity]))), "huge inputs");
  assert(Number.isNaN(sigmoid.forward(new Tensor([NaN])).item()), "NaN propagates");
  assertShape(sigmoid.forward(Tensor.zeros([2, 0, 3])).shape, [2, 0, 3], "empty input");
  const batch = Tensor.randn([4, 5], 1).mul(10);
  const out = sigmoid.forward(batch);
  assertShape(out.shape, [4, 5]);
  assert(out.max().item() <= 1 && out.min().item() >= 0, "within [0, 1]");
  // Seeded: random shapes of random values (normal, scale 8) with random extremes up to ±1000,
  // and random points of the far negative tail, where the answer must be relatively accurate.
  const rsg = testRandom("activations/sigmoid");
  const sigmoidOracle = (values: ArrayLike<number>): number[] => Array.from(values, (v) => 1 / (1 + Math.exp(-v)));
  for (let c = 0; c < 4; c++) {
    const dims = rsg.shape(rsg.int(1, 3), 6, 1);
    const size = dims.reduce((p, d) => p * d, 1);
    const values = Array.from({ length: size }, () =>
      rsg.bool(0.15) ? (rsg.bool() ? 1 : -1) * rsg.uniform(100, 1000) : rsg.normal(0, 8),
    );
    const input = new Tensor(Float32Array.from(values), dims);
    const got = sigmoid.forward(input);
    assertShape(got.shape, dims.slice(), `shape of a random [${dims}]`);
    assertClose(Array.from(got.data), sigmoidOracle(input.data), { rtol: 1e-5, atol: 1e-7 }, `sigmoid of a random [${dims}]`);
    assert(allFinite(got), "finite on random extremes");
  }
  const tail = new Tensor(Array.from({ length: 6 }, () => rsg.uniform(-80, -15)));
  assertClose(Array.from(sigmoid.forward(tail).data), sigmoidOracle(tail.data), { rtol: 1e-5, atol: 0 }, "random points of the negative tail");
  // ### END HIDDEN TESTS
  passed("testUnitSigmoid");
}
testUnitSigmoid();

// %%
//| mutation sigmoid always uses e^x / (1 + e^x): Infinity / Infinity = NaN at +1000
class Sigmoid {
  forward(x: Tensor): Tensor {
    let y: Tensor;
    y = x.map((v) => {
      const e = Math.exp(v);
      return e / (1 + e);
    });
    return Tensor.record(y, "sigmoid", [x]);
  }

  parameters(): Tensor[] {
    return [];
  }
}

// %%
//| mutation sigmoid computes the negative side as 1 - sigmoid(-v), losing the tail to cancellation
class Sigmoid {
  forward(x: Tensor): Tensor {
    let y: Tensor;
    y = x.map((v) => {
      if (v >= 0) return 1 / (1 + Math.exp(-v));
      return 1 - 1 / (1 + Math.exp(v));
    });
    return Tensor.record(y, "sigmoid", [x]);
  }

  parameters(): Tensor[] {
    return [];
  }
}

// %% [markdown]
// ## Tanh
//
// The hyperbolic tangent is a sigmoid stretched to `(-1, 1)` and centred on 0:
// `tanh(x) = 2 * sigmoid(2x) - 1`. Being zero-centred helps the next layer (its inputs are not
// all positive), and its slope at 0 is 1 instead of 0.25. It still flattens out for large `|x|`.
//
// The textbook formula `(e^x - e^-x) / (e^x + e^-x)` overflows to `Infinity / Infinity = NaN`
// at `x = 1000`, just like the naive sigmoid. JavaScript's `Math.tanh` is implemented carefully
// (it saturates to ±1), and so is the sigmoid identity above.
//
// ### Exercise 3: `Tanh.forward`
//
// **TODO**: Compute `tanh` of every element, finite and correct at ±1000.
//
// **APPROACH**: you have two safe routes. JavaScript's standard library has a carefully
// implemented hyperbolic tangent (look it up on MDN), and the identity above turns your stable
// sigmoid into a tanh. Pick one; either way, apply it element by element.
//
// **HINTS**:
// - Do not use the exponential formula directly: what is `e^1000 / e^1000` in floating point?
// - Near 0, `tanh(x)` is about `x`: check that yours returns about `1e-4` for `1e-4`, not 0.

// %% nbgrader={"grade": false, "grade_id": "tanh", "locked": false, "schema_version": 3, "solution": true, "task": false}
//| export
/** tanh(x) element-wise, saturating to ±1 without overflow. */
class Tanh {
  forward(x: Tensor): Tensor {
    let y: Tensor;
    // ### BEGIN SOLUTION
    y = x.map(Math.tanh);
    // ### END SOLUTION
    return Tensor.record(y, "tanh", [x]);
  }

  parameters(): Tensor[] {
    return [];
  }
}

// %% nbgrader={"grade": true, "grade_id": "test-unit-tanh", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
function testUnitTanh(): void {
  const tanh = new Tanh();
  assertClose(tanh.forward(new Tensor([-1, 0, 0.5, 2])).toArray(), [
    -0.76159416, 0, 0.46211716, 0.96402758,
  ]);
  const extremes = tanh.forward(new Tensor([-1000, 1000]));
  assert(allFinite(extremes), "no NaN at ±1000");
  assertClose(extremes.toArray(), [-1, 1]);
  // ### BEGIN HIDDEN TESTS
  assertEqual(tanh.parameters(), []);
  const xs = Tensor.randn([3, 4], 2).mul(3);
  const out = tanh.forward(xs);
  assertShape(out.shape, [3, 4]);
  assertClose(Array.from(tanh.forward(xs.neg()).data), Array.from(xs.data, (v) => -Math.tanh(v)), { atol: 1e-7 }, "odd function");
  assertClose(tanh.forward(new Tensor([1e-4])).item(), 1e-4, { rtol: 1e-6 }, "tanh(x) ~ x near 0");
  assertClose(tanh.forward(new Tensor([-Infinity, Infinity, 20, -20])).toArray(), [-1, 1, 1, -1]);
  assert(Number.isNaN(tanh.forward(new Tensor([NaN])).item()), "NaN propagates");
  // Seeded: random shapes from Tensor.randn with random seeds and random scales, random extremes,
  // and random small inputs where tanh(x) is about x.
  const rth = testRandom("activations/tanh");
  const tanhOracle = (values: ArrayLike<number>): number[] => Array.from(values, Math.tanh);
  for (let c = 0; c < 4; c++) {
    const dims = rth.shape(rth.int(1, 3), 6, 1);
    const input = Tensor.randn(dims, rth.seed()).mul(rth.uniform(0.5, 6));
    const got = tanh.forward(input);
    assertShape(got.shape, dims.slice(), `shape of a random [${dims}]`);
    assertClose(Array.from(got.data), tanhOracle(input.data), { rtol: 1e-5, atol: 1e-6 }, `tanh of a random [${dims}]`);
  }
  const far = new Tensor(Array.from({ length: 4 }, () => (rth.bool() ? 1 : -1) * rth.uniform(20, 1000)));
  assertClose(Array.from(tanh.forward(far).data), tanhOracle(far.data), {}, "random extremes saturate");
  const small = new Tensor(Array.from({ length: 4 }, () => rth.uniform(-1e-3, 1e-3)));
  assertClose(Array.from(tanh.forward(small).data), tanhOracle(small.data), { rtol: 1e-5, atol: 1e-9 }, "random small inputs");
  // ### END HIDDEN TESTS
  passed("testUnitTanh");
}
testUnitTanh();

// %%
//| mutation tanh uses the exponential formula: NaN at ±1000
class Tanh {
  forward(x: Tensor): Tensor {
    let y: Tensor;
    y = x.map((v) => (Math.exp(v) - Math.exp(-v)) / (Math.exp(v) + Math.exp(-v)));
    return Tensor.record(y, "tanh", [x]);
  }

  parameters(): Tensor[] {
    return [];
  }
}

// %%
//| mutation tanh as 2 sigmoid(x) - 1, forgetting the 2x
class Tanh {
  forward(x: Tensor): Tensor {
    let y: Tensor;
    y = x.map((v) => 2 / (1 + Math.exp(-v)) - 1);
    return Tensor.record(y, "tanh", [x]);
  }

  parameters(): Tensor[] {
    return [];
  }
}

// %% [markdown]
// ## GELU
//
// The Gaussian Error Linear Unit, used by BERT, GPT and most transformers, weights each input
// by the probability that a standard normal variable is below it:
//
// ```
// gelu(x) = x * Phi(x),      Phi(x) = (1 + erf(x / sqrt(2))) / 2
// ```
//
// For large positive `x`, `Phi(x)` is about 1 and GELU is about `x` (like ReLU); for large
// negative `x` it is about 0; near zero it is smooth, and slightly negative for `x < 0` (its
// minimum is about -0.17 at `x = -0.75`). The smoothness gives better-behaved gradients than
// ReLU's corner at 0.
//
// JavaScript has no `Math.erf`, so we approximate it. Formula 7.1.26 of Abramowitz and Stegun's
// *Handbook of Mathematical Functions* gives `erf` for `x >= 0` to within `1.5e-7` (better than
// float32 needs) with one exponential and a polynomial:
//
// ```
// t = 1 / (1 + 0.3275911 x)
// erf(x) = 1 - t (0.254829592 + t (-0.284496736 + t (1.421413741 + t (-1.453152027 + t 1.061405429)))) e^(-x^2)
// ```
//
// and `erf(-x) = -erf(x)`. Many libraries also offer the older **tanh approximation**,
// `0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))`, which is off by up to about `5e-4`; the
// tests accept either (to `1e-3`).
//
// **Cost.** An exponential, a division and about ten multiply-adds per element: GELU is the
// most expensive activation here, several times a ReLU. In practice it is still memory-bound on
// large tensors, since each element is read and written once either way.
//
// ### Exercise 4: `erf` and `GELU.forward`
//
// **TODO**: Implement `erf` with the formula above, then GELU with it.
//
// **APPROACH**:
// 1. `erf(x)`: the formula holds for `x >= 0` only. Use the symmetry `erf(-x) = -erf(x)` to
//    cover negative inputs, and evaluate the polynomial from the inside out, as it is written
//    (Horner's rule: four multiply-adds, no powers).
// 2. `GELU.forward`: express `Phi(v)` with your `erf` (mind the `sqrt(2)`), then `v * Phi(v)`
//    element by element.
//
// **HINTS**:
// - `erf(0)` must be exactly 0 (the formula is off by about `1e-9` there: return `x` itself
//   for 0) and `erf(Infinity)` exactly 1 (`e^-inf` is 0).
// - At `v = -1000`, `erf` is -1 and GELU is `-0`; no NaN.
// - `NaN` must stay `NaN`.

// %% nbgrader={"grade": false, "grade_id": "gelu", "locked": false, "schema_version": 3, "solution": true, "task": false}
//| export
/** The error function, to within 1.5e-7 (Abramowitz and Stegun 7.1.26). */
function erf(x: number): number {
  // ### BEGIN SOLUTION
  if (Number.isNaN(x) || x === 0) return x; // erf(±0) is ±0 exactly; the formula is 1e-9 off
  const a = Math.abs(x);
  const t = 1 / (1 + 0.3275911 * a);
  const poly =
    t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429))));
  const value = 1 - poly * Math.exp(-a * a);
  return x < 0 ? -value : value;
  // ### END SOLUTION
}

/** x * Phi(x): the Gaussian Error Linear Unit, with the exact (erf) form. */
class GELU {
  forward(x: Tensor): Tensor {
    let y: Tensor;
    // ### BEGIN SOLUTION
    y = x.map((v) => 0.5 * v * (1 + erf(v / Math.SQRT2)));
    // ### END SOLUTION
    return Tensor.record(y, "gelu", [x]);
  }

  parameters(): Tensor[] {
    return [];
  }
}

// %% nbgrader={"grade": true, "grade_id": "test-unit-gelu", "locked": true, "points": 3, "schema_version": 3, "solution": false, "task": false}
function testUnitGELU(): void {
  const gelu = new GELU();
  // Reference values x * Phi(x) from the normal distribution's CDF.
  assertClose(gelu.forward(new Tensor([-1, 0, 1, 2])).toArray(), [-0.15865525, 0, 0.84134475, 1.9544997], {
    atol: 1e-3,
  });
  const extremes = gelu.forward(new Tensor([-1000, 1000]));
  assert(allFinite(extremes), "no NaN at ±1000");
  assertClose(extremes.toArray(), [0, 1000]);
  // ### BEGIN HIDDEN TESTS
  assertEqual(gelu.parameters(), []);
  assertClose(gelu.forward(new Tensor([-0.75])).item(), -0.16997, { atol: 1e-3 }, "the minimum");
  assertClose(gelu.forward(new Tensor([-3, 3, 0.5])).toArray(), [-0.0040496, 2.9959504, 0.3457312], {
    atol: 1e-3,
  });
  const big = gelu.forward(new Tensor([10, 50, -10, -50]));
  assertClose(big.toArray(), [10, 50, 0, 0], { atol: 1e-5 });
  assertShape(gelu.forward(Tensor.zeros([2, 3])).shape, [2, 3]);
  assert(allFinite(gelu.forward(new Tensor([-1e30, 1e30]))), "huge inputs");
  assert(Number.isNaN(gelu.forward(new Tensor([NaN])).item()), "NaN propagates");
  // Seeded: random shapes of random values (normal, random scale) and random extremes; x * Phi(x)
  // is computed here with an accurate erf (series below 3, continued fraction above).
  const rg = testRandom("activations/gelu");
  const geluOracle = (values: ArrayLike<number>): number[] => {
    const erfAccurate = (z: number): number => {
      const a = Math.abs(z);
      let value: number;
      if (a < 3) {
        let term = a;
        let sum = a;
        for (let n = 1; n < 100; n++) {
          term *= (-a * a) / n;
          sum += term / (2 * n + 1);
        }
        value = (2 / Math.sqrt(Math.PI)) * sum;
      } else {
        let f = a;
        for (let n = 80; n >= 1; n--) f = a + n / 2 / f;
        value = 1 - Math.exp(-a * a) / (Math.sqrt(Math.PI) * f);
      }
      return z < 0 ? -value : value;
    };
    return Array.from(values, (v) => 0.5 * v * (1 + erfAccurate(v / Math.SQRT2)));
  };
  for (let c = 0; c < 4; c++) {
    const dims = rg.shape(rg.int(1, 3), 6, 1);
    const scale = rg.uniform(0.5, 4);
    const values = Array.from({ length: dims.reduce((p, d) => p * d, 1) }, () =>
      rg.bool(0.1) ? (rg.bool() ? 1 : -1) * rg.uniform(10, 1000) : rg.normal(0, scale),
    );
    const input = new Tensor(Float32Array.from(values), dims);
    const got = gelu.forward(input);
    assertShape(got.shape, dims.slice(), `shape of a random [${dims}]`);
    assertClose(Array.from(got.data), geluOracle(input.data), { atol: 1e-3 }, `x * Phi(x) on a random [${dims}]`);
    assert(allFinite(got), "finite on random extremes");
  }
  // ### END HIDDEN TESTS
  passed("testUnitGELU");
}
testUnitGELU();

// %%
//| mutation gelu erf forgets the sign: erf(-x) comes out as +erf(x)
function erf(x: number): number {
  if (Number.isNaN(x) || x === 0) return x;
  const a = Math.abs(x);
  const t = 1 / (1 + 0.3275911 * a);
  const poly = t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429))));
  return 1 - poly * Math.exp(-a * a);
}

class GELU {
  forward(x: Tensor): Tensor {
    let y: Tensor;
    y = x.map((v) => 0.5 * v * (1 + erf(v / Math.SQRT2)));
    return Tensor.record(y, "gelu", [x]);
  }

  parameters(): Tensor[] {
    return [];
  }
}

// %%
//| mutation gelu uses erf(v) instead of erf(v / sqrt(2)) (Phi of the wrong scale)
function erf(x: number): number {
  if (Number.isNaN(x) || x === 0) return x;
  const a = Math.abs(x);
  const t = 1 / (1 + 0.3275911 * a);
  const poly = t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429))));
  const value = 1 - poly * Math.exp(-a * a);
  return x < 0 ? -value : value;
}

class GELU {
  forward(x: Tensor): Tensor {
    let y: Tensor;
    y = x.map((v) => 0.5 * v * (1 + erf(v)));
    return Tensor.record(y, "gelu", [x]);
  }

  parameters(): Tensor[] {
    return [];
  }
}

// %%
//| mutation gelu takes Phi(x) to be sigmoid(x) (that is SiLU, not GELU)
function erf(x: number): number {
  if (Number.isNaN(x) || x === 0) return x;
  const a = Math.abs(x);
  const t = 1 / (1 + 0.3275911 * a);
  const poly = t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429))));
  const value = 1 - poly * Math.exp(-a * a);
  return x < 0 ? -value : value;
}

class GELU {
  forward(x: Tensor): Tensor {
    let y: Tensor;
    y = x.map((v) => v / (1 + Math.exp(-v)));
    return Tensor.record(y, "gelu", [x]);
  }

  parameters(): Tensor[] {
    return [];
  }
}

// %% [markdown]
// ### Looking at the curves
// A picture shows at a glance what the formulas say: ReLU's corner, the saturating S-shapes of
// sigmoid and tanh, and GELU's smooth dip below zero.

// %%
await demo("activation curves", async () => {
  const xs = Tensor.arange(-4, 4.01, 0.05);
  const curves: [string, Tensor][] = [
    ["ReLU", new ReLU().forward(xs)],
    ["Sigmoid", new Sigmoid().forward(xs)],
    ["Tanh", new Tanh().forward(xs)],
    ["GELU", new GELU().forward(xs)],
  ];
  const values = curves.flatMap(([name, ys]) =>
    Array.from(xs.data, (x, i) => ({ x, y: ys.data[i], activation: name })),
  );
  await showChart({
    title: "Activation functions",
    width: 420,
    height: 280,
    data: { values },
    mark: { type: "line", strokeWidth: 2 },
    encoding: {
      x: { field: "x", type: "quantitative", title: "input x" },
      y: { field: "y", type: "quantitative", title: "activation(x)" },
      color: { field: "activation", type: "nominal" },
    },
  });
});

// %% [markdown]
// ## Softmax
//
// A classifier with `C` classes produces `C` scores ("logits") per example, any real numbers.
// Softmax turns them into probabilities, positive and summing to 1, while keeping their order:
//
// ```
// softmax(z)_i = e^(z_i) / sum_j e^(z_j)
// ```
//
// Unlike the others, Softmax is not element-wise: every output depends on a whole row. For a
// batch of shape `[N, C]` we normalise along the last axis (`axis = -1`), so each of the `N`
// rows sums to 1.
//
// ### The max trick
// `e^1000` is `Infinity`, and `Infinity / Infinity` is `NaN`. But softmax does not change if
// we subtract the same number `m` from every score in a row:
//
// ```
// e^(z_i - m) / sum_j e^(z_j - m)  =  (e^-m e^z_i) / (e^-m sum_j e^z_j)  =  softmax(z)_i
// ```
//
// Choose `m = max_j z_j`. Then every exponent is `<= 0`, every `e^...` is in `(0, 1]`, and the
// largest is exactly 1, so the denominator is between 1 and `C`: no overflow, no division by
// zero. Tiny probabilities may underflow to 0, which is harmless.
//
// **Cost.** Per row: a max (one pass), a subtraction and exponential (one pass), a sum (one
// pass), a division (one pass). Four passes over the data where an element-wise activation
// takes one; with `keepdims` reductions the broadcasting does the bookkeeping.
//
// ### Exercise 5: `Softmax.forward`
//
// **TODO**: Compute a numerically stable softmax along `this.axis`.
//
// **APPROACH**:
// 1. If `x.size` is 0, return `x.clone()` (there is nothing to normalise, and the max of an
//    empty axis is an error).
// 2. Write the max trick as tensor operations along `this.axis`: one reduction for the maxima,
//    the exponentials, one reduction for the sums, and broadcasting to apply each lane's max
//    and sum to that lane only.
//
// **HINTS**:
// - Whose maximum? Each row needs its own `m`. With rows `[1000, 999]` and `[0, -1]`, what
//   does the second row become if you subtract the maximum of the whole tensor?
// - For the broadcasting to line up, the reductions must keep the reduced axis (size 1).
// - With `axis = 0` on a `[N, C]` tensor, each *column* sums to 1; a row of equal scores gives
//   a uniform distribution `1/C`.

// %% nbgrader={"grade": false, "grade_id": "softmax", "locked": false, "schema_version": 3, "solution": true, "task": false}
//| export
/** exp(x) / sum(exp(x)) along `axis` (default: the last), stable for any finite input. */
class Softmax {
  readonly axis: number;

  constructor(axis = -1) {
    this.axis = axis;
  }

  forward(x: Tensor): Tensor {
    // ### BEGIN SOLUTION
    if (x.size === 0) return x.clone();
    const shifted = x.sub(x.max(this.axis, true));
    const e = shifted.exp();
    return e.div(e.sum(this.axis, true));
    // ### END SOLUTION
  }

  parameters(): Tensor[] {
    return [];
  }
}

// %% nbgrader={"grade": true, "grade_id": "test-unit-softmax", "locked": true, "points": 4, "schema_version": 3, "solution": false, "task": false}
function testUnitSoftmax(): void {
  const softmax = new Softmax();
  const p = softmax.forward(new Tensor([1, 2, 3]));
  assertClose(p.toArray(), [0.09003057, 0.24472847, 0.66524096]);
  const rows = softmax.forward(new Tensor([
    [1, 2, 3],
    [0, 0, 0],
  ]));
  assertClose(rows.sum(-1).toArray(), [1, 1], {}, "each row sums to 1");
  const huge = softmax.forward(new Tensor([1000, 1000, -1000]));
  assert(allFinite(huge), "no NaN at ±1000");
  assertClose(huge.toArray(), [0.5, 0.5, 0]);
  // ### BEGIN HIDDEN TESTS
  assertEqual(softmax.parameters(), []);
  assertEqual(softmax.axis, -1, "default axis");
  assertClose(rows.get(1).toArray(), [1 / 3, 1 / 3, 1 / 3], {}, "equal scores are uniform");
  // Shift invariance.
  const z = new Tensor([
    [0.5, -1.5, 2],
    [3, 3.5, -4],
  ]);
  const zRows = [[0.5, -1.5, 2], [3, 3.5, -4]];
  const zSoftmax = zRows.map((row) => row.map((v) => Math.exp(v) / row.reduce((sum, u) => sum + Math.exp(u), 0)));
  assertClose(softmax.forward(z.add(100)).toArray(), zSoftmax, { atol: 1e-6 }, "scores + 100: the same probabilities");
  // Each row its own maximum: rows 1000 apart.
  assertClose(softmax.forward(new Tensor([[1000, 999], [0, -1]])).toArray(), [[0.7310586, 0.2689414], [0.7310586, 0.2689414]], { atol: 1e-6 }, "rows far apart");
  // Along axis 0: columns sum to 1.
  const cols = new Softmax(0).forward(z);
  assertShape(cols.shape, [2, 3]);
  assertClose(cols.sum(0).toArray(), [1, 1, 1]);
  assertClose(cols.get(0, 0).item(), 1 / (1 + Math.exp(2.5)), { rtol: 1e-5 });
  // 3-d along the middle axis.
  const t3 = Tensor.randn([2, 4, 3], 5).mul(50);
  const mid = new Softmax(1).forward(t3);
  assertClose(mid.sum(1).toArray(), Tensor.ones([2, 3]).toArray(), { atol: 1e-6 });
  assert(allFinite(mid), "finite for large random scores");
  assertClose(softmax.forward(new Tensor([-1000, 0, 1000])).toArray(), [0, 0, 1]);
  assertClose(softmax.forward(new Tensor([[-1e30, 1e30]])).toArray(), [[0, 1]]);
  assertClose(softmax.forward(new Tensor([[-Infinity, 0]])).toArray(), [[0, 1]], {}, "masked score");
  assertShape(softmax.forward(Tensor.zeros([3, 0])).shape, [3, 0], "empty input");
  assertClose(softmax.forward(new Tensor([42])).toArray(), [1], {}, "one class");
  const input = new Tensor([1, 2, 3]);
  softmax.forward(input);
  assertEqual(input.toArray(), [1, 2, 3], "input unchanged");
  // Seeded: random shapes (ranks 1 to 3), a random axis (negative too), random scores (normal,
  // random scale), sometimes shifted by a random ±1000; each lane is normalised here in float64.
  const rsm = testRandom("activations/softmax");
  const softmaxOracle = (x: Tensor, axis: number): number[] => {
    const dims = x.shape;
    const ax = axis < 0 ? axis + dims.length : axis;
    const inner = dims.slice(ax + 1).reduce((p, d) => p * d, 1);
    const len = dims[ax];
    const out = new Array<number>(x.size);
    for (let f = 0; f < x.size; f++) {
      // The first element of f's lane, then every element of the lane.
      const start = f - (Math.floor(f / inner) % len) * inner;
      const lane = Array.from({ length: len }, (_, r) => x.data[start + r * inner]);
      const top = Math.max(...lane);
      const sum = lane.reduce((p, v) => p + Math.exp(v - top), 0);
      out[f] = Math.exp(x.data[f] - top) / sum;
    }
    return out;
  };
  for (let c = 0; c < 6; c++) {
    const dims = rsm.shape(rsm.int(1, 3), 6, 1);
    const axis = rsm.int(-dims.length, dims.length - 1);
    const scale = rsm.uniform(0.5, 10);
    const shift = rsm.bool(0.3) ? rsm.pick([-1000, 1000]) : 0;
    const x = new Tensor(Float32Array.from({ length: dims.reduce((p, d) => p * d, 1) }, () => shift + rsm.normal(0, scale)), dims);
    const before = Array.from(x.data);
    const got = new Softmax(axis).forward(x);
    const what = `softmax over axis ${axis} of a random [${dims}]${shift ? ` shifted by ${shift}` : ""}`;
    assertShape(got.shape, dims.slice(), what);
    assertClose(Array.from(got.data), softmaxOracle(x, axis), { rtol: 1e-5, atol: 1e-6 }, what);
    assert(allFinite(got), "finite");
    assertEqual(Array.from(x.data), before, "input unchanged");
  }
  // ### END HIDDEN TESTS
  passed("testUnitSoftmax");
}
testUnitSoftmax();

// %%
//| mutation softmax without the max subtraction: e^1000 overflows
class Softmax {
  readonly axis: number;

  constructor(axis = -1) {
    this.axis = axis;
  }

  forward(x: Tensor): Tensor {
    if (x.size === 0) return x.clone();
    const e = x.exp();
    return e.div(e.sum(this.axis, true));
  }

  parameters(): Tensor[] {
    return [];
  }
}

// %%
//| mutation softmax subtracts the maximum of the whole tensor, not of each row
class Softmax {
  readonly axis: number;

  constructor(axis = -1) {
    this.axis = axis;
  }

  forward(x: Tensor): Tensor {
    if (x.size === 0) return x.clone();
    const e = x.sub(x.max()).exp();
    return e.div(e.sum(this.axis, true));
  }

  parameters(): Tensor[] {
    return [];
  }
}

// %%
//| mutation softmax normalises by the sum of the whole tensor instead of along the axis
class Softmax {
  readonly axis: number;

  constructor(axis = -1) {
    this.axis = axis;
  }

  forward(x: Tensor): Tensor {
    if (x.size === 0) return x.clone();
    const e = x.sub(x.max(this.axis, true)).exp();
    return e.div(e.sum());
  }

  parameters(): Tensor[] {
    return [];
  }
}

// %% [markdown]
// ## Reflect: predict, then measure
//
// Write down three numbers before running the demos below. The first two follow from this
// module; the third is a guess to compare with the measurement.
//
// 1. Above which `x` does `Math.exp(x)` stop being finite in float64 (JavaScript's numbers)?
//    The largest float64 is `Number.MAX_VALUE`, about `1.8e308`. (float32 gives up much sooner,
//    near 88.7.)
// 2. A gradient flows back through 10 sigmoid layers (each weight 1, so only the sigmoids'
//    slopes multiply it). By **at most** what factor can it be multiplied on the way?
// 3. On a million elements, how many times longer does GELU take than ReLU? Not graded: you
//    will compare it with the measurement in Question 1.

// %% nbgrader={"grade": false, "grade_id": "predict-exp-overflow", "locked": false, "schema_version": 3, "solution": true, "task": false}
/** Your prediction: the x above which Math.exp(x) is Infinity in float64. */
function predictedExpOverflow(): number {
  // ### BEGIN SOLUTION
  return Math.log(Number.MAX_VALUE);
  // ### END SOLUTION
}

// %%
//| mutation predict-exp-overflow gives float32's limit instead of float64's
function predictedExpOverflow(): number {
  return 88.7;
}

// %% nbgrader={"grade": false, "grade_id": "predict-sigmoid-gradient", "locked": false, "schema_version": 3, "solution": true, "task": false}
/** Your prediction: the largest factor a gradient can keep through 10 sigmoid layers. */
function predictedSigmoidGradient(): number {
  // ### BEGIN SOLUTION
  return 0.25 ** 10;
  // ### END SOLUTION
}

// %%
//| mutation predict-sigmoid-gradient uses the slope at 0 of tanh (1) instead of sigmoid's
function predictedSigmoidGradient(): number {
  return 1;
}

// %%
/** Your guess (not graded): how many times longer GELU takes than ReLU on a million elements. Replace the 0. */
const predictedGeluOverRelu = 0;

// %% [markdown]
// ### What each activation costs
// The cell times each activation on a million-element tensor and prints the bandwidth it
// reaches (4 MB read and 4 MB written per pass). Then it finds where `Math.exp` overflows, and
// follows a gradient back through ten sigmoids.

// %%
await demo("activation timing", () => {
  const x = Tensor.randn([1000, 1000], 0);
  const layers: [string, { forward(x: Tensor): Tensor }][] = [
    ["ReLU", new ReLU()],
    ["Sigmoid", new Sigmoid()],
    ["Tanh", new Tanh()],
    ["GELU", new GELU()],
    ["Softmax", new Softmax()],
  ];
  const times = new Map<string, number>();
  for (const [name, layer] of layers) {
    layer.forward(x); // warm up the JIT
    let ms = Infinity;
    for (let r = 0; r < 3; r++) {
      const t0 = performance.now();
      layer.forward(x);
      ms = Math.min(ms, performance.now() - t0);
    }
    times.set(name, ms);
    const gbps = (2 * x.nbytes) / (ms * 1e6);
    console.log(`${name.padEnd(8)} ${ms.toFixed(1).padStart(6)} ms  (${gbps.toFixed(2)} GB/s read+write)`);
  }
  console.log(`GELU / ReLU: ${((times.get("GELU") ?? 0) / (times.get("ReLU") ?? 1)).toFixed(1)}x (you guessed ${predictedGeluOverRelu})`);
});

// %%
await demo("overflow and vanishing gradients", () => {
  // Bisection on the last finite exponential.
  let [lo, hi] = [0, 1000];
  for (let k = 0; k < 60; k++) {
    const mid = (lo + hi) / 2;
    if (Number.isFinite(Math.exp(mid))) lo = mid;
    else hi = mid;
  }
  console.log(`Math.exp(x) is finite up to x = ${lo.toFixed(4)} (you predicted ${predictedExpOverflow()})`);
  // d/dx of sigmoid applied 10 times, at x = 0: the product of the ten slopes s(1 - s).
  let value = 0;
  let factor = 1;
  for (let layer = 0; layer < 10; layer++) {
    const s = 1 / (1 + Math.exp(-value));
    factor *= s * (1 - s);
    value = s;
  }
  console.log(`through 10 sigmoids from x = 0 the gradient is multiplied by ${factor.toExponential(2)}; the bound 0.25^10 is ${(0.25 ** 10).toExponential(2)} (you predicted ${predictedSigmoidGradient().toExponential(2)})`);
});

// %% nbgrader={"grade": true, "grade_id": "test-unit-activation-predictions", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
function testUnitActivationPredictions(): void {
  // ### BEGIN HIDDEN TESTS
  check("where Math.exp overflows in float64", 1, () => assertPrediction(predictedExpOverflow(), Math.log(Number.MAX_VALUE), { rtol: 0.01 }));
  check("the gradient through 10 sigmoids, at most", 1, () => assertPrediction(predictedSigmoidGradient(), Math.pow(1 / 4, 10), { rtol: 0.05 }));
  // ### END HIDDEN TESTS
  passed("testUnitActivationPredictions");
}
testUnitActivationPredictions();

// %% [markdown] nbgrader={"grade": true, "grade_id": "explain-activation-cost", "locked": false, "points": 2, "schema_version": 3, "solution": true, "task": false}
// **Question 1.** Compare your guessed GELU/ReLU ratio with the measurement. GELU does an
// exponential, a division and about ten multiply-adds per element; ReLU one comparison. Is the
// measured ratio what the arithmetic alone predicts? What else does every element cost here,
// and what would a framework do to make a GELU after a `Linear` layer cheaper?
//
// ### BEGIN SOLUTION
// Counting operations, GELU is some 20 times ReLU's work, and the measured ratio is usually
// smaller (a few times): both pay the same per-element costs that have nothing to do with the
// formula, reading 4 bytes and writing 4 bytes (memory traffic, ~8 MB per pass), and here a
// call of the mapped JavaScript function per element, which dominates ReLU. So ReLU is bound by
// memory and call overhead, and GELU's extra arithmetic only partly shows. A framework fuses
// the activation into the kernel that produces its input (the matmul and bias of the Linear
// layer): the values are transformed while they are still in registers, saving a full read and
// write of the tensor and a separate pass; it may also use a cheaper approximation (tanh or a
// polynomial) where the accuracy allows.
// ### END SOLUTION
//
// ### BEGIN RUBRIC
// 2 points: compares guess and measurement; explains that shared per-element costs (memory
// traffic, function-call overhead) make the ratio smaller than the FLOP count suggests; names
// fusion into the preceding kernel (or a cheaper approximation) as the remedy. 1 point: two of
// the three.
// ### END RUBRIC

// %% [markdown] nbgrader={"grade": true, "grade_id": "explain-max-trick", "locked": false, "points": 2, "schema_version": 3, "solution": true, "task": false}
// **Question 2.** Softmax subtracts each row's maximum before exponentiating. Explain why this
// changes no probability at all (it is not an approximation), why it must be each row's own
// maximum rather than the maximum of the whole batch, and what it costs.
//
// ### BEGIN SOLUTION
// Multiplying numerator and denominator by e^-m cancels exactly: e^(z_i - m) / sum_j e^(z_j -
// m) = softmax(z)_i for any m, so the result is the same up to rounding. With m the row's
// maximum every exponent is <= 0, the largest term is exactly 1 and the sum lies in [1, C]: no
// overflow, no 0/0. The cancellation only holds within a row (each row has its own
// denominator), and m has to be close to that row's scores: with the batch's maximum, a row
// whose scores are all ~1000 below it gets e^-1000 = 0 everywhere and 0/0 = NaN. The cost is
// one extra reduction (a pass to find the maxima) and a subtraction, on top of the exp, sum and
// division passes: softmax reads its input about four times.
// ### END SOLUTION
//
// ### BEGIN RUBRIC
// 2 points: exact cancellation of e^-m; bounded exponents and sum in [1, C]; the per-row
// requirement with the failure of a global maximum (underflow to 0/0 for rows far below it);
// the cost of an extra pass. 1 point: cancellation and overflow without the per-row argument,
// or the per-row argument without why it is exact.
// ### END RUBRIC

// %% [markdown] nbgrader={"grade": true, "grade_id": "explain-saturation", "locked": false, "points": 2, "schema_version": 3, "solution": true, "task": false}
// **Question 3.** Using your second prediction and the demo's measurement, explain why deep
// networks use ReLU (or GELU) rather than sigmoid in their hidden layers. Where is sigmoid
// still the right choice, and why?
//
// ### BEGIN SOLUTION
// The sigmoid's slope s(1 - s) is at most 0.25 (at 0) and almost 0 for |x| > 5. Backpropagation
// multiplies the gradient by one slope per layer, so through 10 sigmoid layers it shrinks by at
// least 0.25^10 ≈ 1e-6 (the demo measures even less, since later inputs are not at 0): the
// first layers get almost no gradient and barely learn (vanishing gradients). ReLU's slope is
// exactly 1 for positive inputs, so the gradient passes through unchanged (GELU is close to
// that). Sigmoid remains the right output for a yes/no probability (paired with binary
// cross-entropy, whose gradient cancels the saturation) and for gates (LSTM, attention gates)
// where a value in (0, 1) is the point.
// ### END SOLUTION
//
// ### BEGIN RUBRIC
// 2 points: slope at most 0.25, product over layers shrinks geometrically (with the 0.25^10
// figure or the measured one), ReLU's unit slope; sigmoid kept for probabilities or gates.
// 1 point: vanishing gradients named without the product argument, or no legitimate use of
// sigmoid.
// ### END RUBRIC

// %% [markdown]
// ## Module test

// %% nbgrader={"grade": true, "grade_id": "test-module-activations", "locked": true, "points": 4, "schema_version": 3, "solution": false, "task": false}
function testModule(): void {
  const x = new Tensor([
    [-1000, -1, 0, 1, 1000],
    [NaN, -0.5, 0.5, 2, -2],
  ]);
  const clean = new Tensor([
    [-1000, -1, 0, 1, 1000],
    [3, -0.5, 0.5, 2, -2],
  ]);
  for (const layer of [new ReLU(), new Sigmoid(), new Tanh(), new GELU(), new Softmax()]) {
    const y = layer.forward(clean);
    assertShape(y.shape, [2, 5], layer.constructor.name);
    assert(allFinite(y), `${layer.constructor.name} is finite on inputs of ±1000`);
    assertEqual(layer.parameters().length, 0);
  }
  const relu = new ReLU().forward(x);
  assert(Number.isNaN(relu.get(1, 0).item()), "ReLU keeps NaN");
  // Activations compose: softmax of a sigmoid is a valid distribution.
  const p = new Softmax().forward(new Sigmoid().forward(clean));
  assertClose(p.sum(-1).toArray(), [1, 1]);
  // ### BEGIN HIDDEN TESTS
  // Relations between the functions.
  const z = Tensor.randn([50], 9).mul(4);
  const viaSigmoid = new Sigmoid().forward(z.mul(2)).mul(2).sub(1);
  assertClose(viaSigmoid.toArray(), Array.from(z.data, (v) => Math.tanh(v)), { atol: 1e-6 }, "2 sigmoid(2x) - 1 = tanh(x)");
  assertClose(new Tanh().forward(z).toArray(), Array.from(z.data, (v) => 2 / (1 + Math.exp(-2 * v)) - 1), { atol: 1e-6 }, "tanh = 2s(2x)-1");
  const twoClass = new Softmax().forward(new Tensor([[0, 1.5]]));
  assertClose(twoClass.get(0, 1).item(), 1 / (1 + Math.exp(-1.5)), {
    rtol: 1e-6,
  }, "two-class softmax is a sigmoid");
  assertClose(new Sigmoid().forward(new Tensor([1.5])).item(), 1 / (1 + Math.exp(-1.5)), { rtol: 1e-6 }, "sigmoid(1.5)");
  const g = new GELU().forward(z);
  const r = new ReLU().forward(z);
  assert(g.sub(r).abs().max().item() < 0.2, "GELU stays within 0.17 of ReLU");
  assertClose(erf(0.5), 0.52049988, { atol: 2e-7 }, "erf");
  assertClose(erf(-1.2), -0.91031398, { atol: 2e-7 });
  assertEqual(erf(0), 0);
  assertEqual(erf(Infinity), 1);
  // Seeded, end to end: random batches from Tensor.randn with random seeds through chains of
  // activations, and erf at random points; the expected values are computed here.
  const rmod = testRandom("activations/module");
  const chainOracle = (values: ArrayLike<number>, rows: number, cols: number, withGelu: boolean): number[] => {
    const erfAccurate = (z: number): number => {
      const a = Math.abs(z);
      let value: number;
      if (a < 3) {
        let term = a;
        let sum = a;
        for (let n = 1; n < 100; n++) {
          term *= (-a * a) / n;
          sum += term / (2 * n + 1);
        }
        value = (2 / Math.sqrt(Math.PI)) * sum;
      } else {
        let f = a;
        for (let n = 80; n >= 1; n--) f = a + n / 2 / f;
        value = 1 - Math.exp(-a * a) / (Math.sqrt(Math.PI) * f);
      }
      return z < 0 ? -value : value;
    };
    // withGelu: softmax(sigmoid(gelu(x))) by rows; otherwise softmax(tanh(relu(x))) by rows.
    const h = Array.from(values, (v) =>
      withGelu ? 1 / (1 + Math.exp(-0.5 * v * (1 + erfAccurate(v / Math.SQRT2)))) : Math.tanh(Math.max(v, 0)),
    );
    const out: number[] = [];
    for (let i = 0; i < rows; i++) {
      const row = h.slice(i * cols, (i + 1) * cols);
      const top = Math.max(...row);
      const sum = row.reduce((p, v) => p + Math.exp(v - top), 0);
      for (const v of row) out.push(Math.exp(v - top) / sum);
    }
    return out;
  };
  for (let c = 0; c < 3; c++) {
    const [rows, cols] = [rmod.int(1, 8), rmod.int(2, 10)];
    const batch = Tensor.randn([rows, cols], rmod.seed()).mul(rmod.uniform(1, 5));
    const plain = new Softmax().forward(new Tanh().forward(new ReLU().forward(batch)));
    assertClose(Array.from(plain.data), chainOracle(batch.data, rows, cols, false), {}, `softmax(tanh(relu(x))) of a random [${rows}, ${cols}]`);
    const smooth = new Softmax().forward(new Sigmoid().forward(new GELU().forward(batch)));
    assertClose(Array.from(smooth.data), chainOracle(batch.data, rows, cols, true), { atol: 1e-3 }, `softmax(sigmoid(gelu(x))) of a random [${rows}, ${cols}]`);
  }
  const erfOracle = (z: number): number => {
    const a = Math.abs(z);
    let value: number;
    if (a < 3) {
      let term = a;
      let sum = a;
      for (let n = 1; n < 100; n++) {
        term *= (-a * a) / n;
        sum += term / (2 * n + 1);
      }
      value = (2 / Math.sqrt(Math.PI)) * sum;
    } else {
      let f = a;
      for (let n = 80; n >= 1; n--) f = a + n / 2 / f;
      value = 1 - Math.exp(-a * a) / (Math.sqrt(Math.PI) * f);
    }
    return z < 0 ? -value : value;
  };
  for (let c = 0; c < 6; c++) {
    const z = rmod.uniform(-4, 4);
    assertClose(erf(z), erfOracle(z), { atol: 2e-7, rtol: 0 }, `erf at a random point ${z.toFixed(3)}`);
  }
  // ### END HIDDEN TESTS
  passed("testModule (activations)");
}
testModule();

// %% [markdown]
// ## Summary
//
// - Without a nonlinearity, any stack of linear layers is one linear layer. Activations,
//   applied element by element, are what let depth pay off.
// - **ReLU** costs one comparison, keeps gradients alive for positive inputs, and is the
//   default for hidden layers. It should let `NaN` through rather than hide it.
// - **Sigmoid** and **tanh** saturate: useful as outputs and gates, harmful to gradients deep in
//   a network. Compute them so that no exponential of a large positive number is ever taken.
// - **GELU** smooths ReLU's corner with the normal CDF; it costs an exponential per element.
// - **Softmax** turns a row of scores into probabilities. Subtracting the row maximum first
//   changes nothing mathematically and removes every overflow.
// - All of these are memory-bound on large tensors: each element is read once and written once
//   (Softmax: four passes), so fusing them into the preceding layer is where real frameworks
//   find speed.
//
// Module 03 combines these with learnable `Linear` layers into networks.
