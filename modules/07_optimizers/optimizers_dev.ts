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
// # Module 07: Optimizers
//
// Module 06 tells every parameter which way is uphill: after `loss.backward()`, `p.grad` holds
// the derivative of the loss with respect to each of `p`'s numbers. An **optimizer** decides
// what to do with that information: how far to step, whether to remember earlier steps, and
// whether to pull the weights towards zero on the way. This module builds the optimizers almost
// every network is trained with:
//
// | you build | what it does |
// |---|---|
// | `Optimizer.zeroGrad` | forgets the previous step's gradients |
// | `SGD` | gradient descent, with momentum, dampening, Nesterov momentum and weight decay |
// | `Adam`, `AdamW` | per-parameter step sizes from running averages of the gradient and its square |
// | `StepLR`, `CosineAnnealingLR` | learning-rate schedules, one step per epoch |
// | `LinearLR` | a linear warm-up (or decay) of the learning rate |
//
// **The rules are PyTorch's.** Each optimizer here computes exactly the update that the
// PyTorch documentation writes out for `torch.optim.SGD`, `torch.optim.Adam`,
// `torch.optim.AdamW`, `torch.optim.lr_scheduler.StepLR` and `CosineAnnealingLR`, with the same
// defaults. The formulas are in the lesson below. That matters more than it sounds: "SGD with
// momentum 0.9" means two different things in PyTorch and in the original paper, and a
// hyperparameter copied from a PyTorch recipe only carries over if the update is the same.
//
// ### What you will learn
// - why optimizers change parameters **in place**, and what would break if they did not;
// - momentum as a running sum of gradients, and Nesterov's look-ahead variant;
// - why Adam needs bias correction in its first steps, and what AdamW changes about weight decay;
// - why Adam's first steps are risky anyway, and how a learning-rate warm-up tames them;
// - what optimizer state costs: Adam keeps two extra numbers for every parameter;
// - why a learning rate is not a number you can carry from one optimizer to another.

// %%
//| default_exp optim

// %%
//| export
import { Tensor } from "tinytorch-ts/core/tensor";

// %% nbgrader={"grade": false, "grade_id": "optimizers-test-helpers", "locked": true, "schema_version": 3, "solution": false, "task": false}
// Notebook-only imports (not part of the package).
import { assert, assertClose, assertEqual, assertPrediction, assertThrows, check, demo, passed, testRandom } from "tinytorch-ts/support/testing";
import { showChart } from "tinytorch-ts/support/chart";
import { Rng } from "tinytorch-ts/core/tensor";
import { Linear, Sequential } from "tinytorch-ts/core/layers";
import { ReLU } from "tinytorch-ts/core/activations";
import { CrossEntropyLoss, MSELoss } from "tinytorch-ts/core/losses";

/** A parameter for the tests: a fresh leaf tensor that records gradients. */
function param(values: number[]): Tensor {
  const p = new Tensor(values);
  p.requiresGrad = true;
  return p;
}

/** Gives `p` the gradient `values`, as `loss.backward()` would. */
function setGrad(p: Tensor, values: number[]): void {
  p.grad = new Tensor(values, p.shape);
}

// %% [markdown]
// ## The `Optimizer` base class
//
// Every optimizer holds the list of parameters it is responsible for, a learning rate `lr`,
// and, for each parameter, some **state**: the running averages that momentum and Adam keep
// between steps. The state is stored in a `Map` keyed by the parameter tensor itself. That is
// one reason why an optimizer must update a parameter **in place**, writing into `p.data`,
// rather than replacing it with a new tensor: the model, the optimizer's list and the state map
// all hold the same object, and autograd's graph uses it as a leaf. Replace it and the model
// keeps training an orphan, or the optimizer keeps updating a tensor the model no longer uses.
//
// The training step always has the same shape:
//
// ```ts
// optimizer.zeroGrad();              // forget the last step's gradients
// const loss = lossFn.forward(model.forward(x), y);
// loss.backward();                   // fill p.grad for every parameter
// optimizer.step();                  // move every parameter, in place
// ```
//
// `zeroGrad` is needed because gradients **accumulate**: `backward()` adds into `p.grad`, so
// that a tensor used twice gets both contributions. Without it, each step would also follow
// every earlier step's gradient. Like PyTorch's default (`set_to_none=True`), we set `p.grad`
// to `null` rather than filling it with zeros: no memory is kept, and a parameter that gets no
// gradient in a step is recognisably skipped by `step()` rather than updated with zeros (which
// would still decay it under weight decay, and still move it under momentum).
//
// ### Exercise 1: `zeroGrad`
//
// **TODO**: Forget the gradient of every parameter, PyTorch's way (`set_to_none=True`).
//
// **APPROACH**: After `zeroGrad()`, a parameter that gets no gradient in the next step must be
// recognisably *without* one, so that `step()` skips it. What value of `p.grad` says that? Why
// is a tensor of zeros not the same thing (think of weight decay and momentum, above)?

// %% nbgrader={"grade": false, "grade_id": "zero-grad", "locked": false, "schema_version": 3, "solution": true, "task": false}
//| export
/** What all optimizers share: the parameters, the learning rate and per-parameter state. */
abstract class Optimizer<State extends object = object> {
  /** The parameters, each once, in the order given. */
  readonly params: Tensor[];
  /** The learning rate; schedulers change it between epochs. */
  lr: number;
  /** Per-parameter state (momentum buffers, running averages), keyed by the parameter itself. */
  readonly state = new Map<Tensor, State>();

  constructor(params: Iterable<Tensor>, lr: number) {
    this.params = [...new Set(params)];
    if (this.params.length === 0) throw new Error("optimizer got an empty parameter list");
    if (!(lr >= 0)) throw new Error(`invalid learning rate: ${lr}`);
    this.lr = lr;
  }

  /** Forgets every parameter's gradient (sets it to null), before the next backward pass. */
  zeroGrad(): void {
    // ### BEGIN SOLUTION
    for (const p of this.params) p.grad = null;
    // ### END SOLUTION
  }

  /** Updates every parameter that has a gradient, in place. */
  abstract step(): void;

  /** Bytes of optimizer state (the typed arrays kept between steps). */
  stateBytes(): number {
    let bytes = 0;
    for (const entry of this.state.values()) {
      for (const value of Object.values(entry)) {
        if (value instanceof Float32Array) bytes += value.byteLength;
      }
    }
    return bytes;
  }

  /** The gradient of parameter `index` as a flat array, or null when it has none. */
  protected gradientOf(p: Tensor, index: number): Float32Array | null {
    if (p.grad === null) return null;
    if (p.grad.size !== p.size || p.grad.shape.join() !== p.shape.join()) {
      throw new Error(
        `${this.constructor.name}: parameter ${index} has shape [${p.shape.join(", ")}] but its ` +
          `gradient has shape [${p.grad.shape.join(", ")}]`,
      );
    }
    return p.grad.data;
  }
}

// %% nbgrader={"grade": true, "grade_id": "test-unit-zero-grad", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
function testUnitZeroGrad(): void {
  class Noop extends Optimizer {
    step(): void {}
  }
  const a = param([1, 2]);
  const b = param([3]);
  const opt = new Noop([a, b, a], 0.1);
  assertEqual(opt.params.length, 2, "a parameter listed twice is kept once");
  setGrad(a, [1, 1]);
  setGrad(b, [2]);
  opt.zeroGrad();
  assert(a.grad === null && b.grad === null, "every gradient is cleared");
  // ### BEGIN HIDDEN TESTS
  assertEqual(Array.from(a.data), [1, 2], "zeroGrad leaves the values alone");
  opt.zeroGrad();
  assert(a.grad === null, "zeroGrad twice is fine");
  assertThrows(() => new Noop([], 0.1), "empty parameter list");
  assertThrows(() => new Noop([a], -1), "learning rate");
  {
    // Seeded: random parameters, some listed twice, in a random order, some with random
    // gradients: each is kept once (first listing first), zeroGrad clears every gradient and
    // leaves every value alone.
    const r = testRandom("optimizers/zero-grad");
    const initial = Array.from({ length: r.int(1, 6) }, () => r.numbers(r.int(1, 6), -3, 3));
    const params = initial.map((v) => param(v));
    const listing = r.shuffled([...params.keys(), ...params.keys()].filter((_, i) => i < params.length || r.bool(0.4)));
    for (const p of params) if (r.bool(0.7)) setGrad(p, r.numbers(p.size, -2, 2));
    class Idle extends Optimizer {
      step(): void {}
    }
    const idle = new Idle(listing.map((i) => params[i]), Math.fround(r.uniform(0, 1)));
    assertEqual(idle.params.map((p) => params.indexOf(p)), listing.filter((i, k) => listing.indexOf(i) === k), "seeded: each parameter once, in order");
    idle.zeroGrad();
    assertEqual(params.map((p) => p.grad), params.map(() => null), "seeded: every gradient is cleared");
    assertEqual(params.map((p) => Array.from(p.data)), initial, "seeded: values unchanged");
  }
  // ### END HIDDEN TESTS
  passed("testUnitZeroGrad");
}
testUnitZeroGrad();

// %%
//| mutation zero-grad fills every gradient with zeros instead of forgetting it
abstract class Optimizer<State extends object = object> {
  readonly params: Tensor[];
  lr: number;
  readonly state = new Map<Tensor, State>();

  constructor(params: Iterable<Tensor>, lr: number) {
    this.params = [...new Set(params)];
    if (this.params.length === 0) throw new Error("optimizer got an empty parameter list");
    if (!(lr >= 0)) throw new Error(`invalid learning rate: ${lr}`);
    this.lr = lr;
  }

  zeroGrad(): void {
    for (const p of this.params) p.grad = Tensor.zeros(p.shape);
  }

  abstract step(): void;

  stateBytes(): number {
    let bytes = 0;
    for (const entry of this.state.values()) {
      for (const value of Object.values(entry)) if (value instanceof Float32Array) bytes += value.byteLength;
    }
    return bytes;
  }

  protected gradientOf(p: Tensor, index: number): Float32Array | null {
    if (p.grad === null) return null;
    if (p.grad.size !== p.size || p.grad.shape.join() !== p.shape.join()) {
      throw new Error(`${this.constructor.name}: parameter ${index} has shape [${p.shape.join(", ")}] but its gradient has shape [${p.grad.shape.join(", ")}]`);
    }
    return p.grad.data;
  }
}

// %%
//| mutation zero-grad zeroes each gradient's numbers in place and keeps the tensor (set_to_none=False)
abstract class Optimizer<State extends object = object> {
  readonly params: Tensor[];
  lr: number;
  readonly state = new Map<Tensor, State>();

  constructor(params: Iterable<Tensor>, lr: number) {
    this.params = [...new Set(params)];
    if (this.params.length === 0) throw new Error("optimizer got an empty parameter list");
    if (!(lr >= 0)) throw new Error(`invalid learning rate: ${lr}`);
    this.lr = lr;
  }

  zeroGrad(): void {
    for (const p of this.params) p.grad?.data.fill(0);
  }

  abstract step(): void;

  stateBytes(): number {
    let bytes = 0;
    for (const entry of this.state.values()) {
      for (const value of Object.values(entry)) if (value instanceof Float32Array) bytes += value.byteLength;
    }
    return bytes;
  }

  protected gradientOf(p: Tensor, index: number): Float32Array | null {
    if (p.grad === null) return null;
    if (p.grad.size !== p.size || p.grad.shape.join() !== p.shape.join()) {
      throw new Error(`${this.constructor.name}: parameter ${index} has shape [${p.shape.join(", ")}] but its gradient has shape [${p.grad.shape.join(", ")}]`);
    }
    return p.grad.data;
  }
}

// %% [markdown]
// ## SGD: stochastic gradient descent
//
// The simplest rule moves each parameter a small step downhill: `θ ← θ − γ·g`, with learning
// rate `γ` and gradient `g`. Two additions make it work much better in practice.
//
// **Momentum.** On a long, narrow valley the gradient points mostly across the valley and only a
// little along it, so plain gradient descent zig-zags. Momentum keeps a running sum `b` of past
// gradients (a "velocity"): the components that keep the same sign add up, the zig-zag ones
// cancel. With momentum `μ = 0.9`, a constant gradient ends up moving the parameter ten times
// as fast as plain SGD would. **Dampening** `τ` scales down how much each new gradient adds.
// **Nesterov momentum** steps with the gradient plus the (already updated) velocity, a cheap
// look-ahead that often converges a little faster.
//
// **Weight decay** `λ` adds `λθ` to the gradient, which is the gradient of an L2 penalty
// `λ/2·‖θ‖²` on the loss: every step pulls every weight a little towards zero, so the network
// prefers small weights.
//
// PyTorch's documented algorithm for `torch.optim.SGD`, which we follow exactly (step `t` counts
// from 1 for each parameter):
//
// ```
// g_t ← ∇θ f(θ_{t-1})
// if λ ≠ 0:   g_t ← g_t + λ θ_{t-1}
// if μ ≠ 0:
//     if t > 1:  b_t ← μ b_{t-1} + (1 − τ) g_t
//     else:      b_t ← g_t                       (the first buffer is the gradient, undampened)
//     if nesterov:  g_t ← g_t + μ b_t
//     else:         g_t ← b_t
// θ_t ← θ_{t-1} − γ g_t
// ```
//
// Defaults: `lr = 1e-3`, `momentum = 0`, `dampening = 0`, `weightDecay = 0`, `nesterov = false`;
// Nesterov needs a positive momentum and zero dampening. Note that the learning rate multiplies
// the velocity (`θ ← θ − γ b`), not each gradient as it enters the velocity (Sutskever et al.
// write `v ← μv + γg; θ ← θ − v`). The two agree while `γ` is constant, but not when a schedule
// changes it: PyTorch's form changes the step size at once.
//
// **Cost.** Plain SGD has no state. Momentum keeps one buffer per parameter, as large as the
// parameter. A step is a few FLOPs per parameter, negligible next to the forward and backward
// passes.
//
// ### Exercise 2: `SGD.step`
//
// **TODO**: Implement the algorithm above for every parameter that has a gradient.
//
// **APPROACH**: translate the algorithm line by line, for each parameter `p` (index `i`) that
// has a gradient (`this.gradientOf(p, i)` gives its numbers, or `null`; it throws when the
// gradient's shape is not the parameter's):
// 1. The momentum buffer must survive from one `step()` to the next: where does it live, keyed
//    by what? How can you tell that this is the parameter's first step (`t = 1`)?
// 2. Follow the order of the lines above exactly: the weight decay changes `g_t` *before* the
//    buffer sees it, and Nesterov needs the buffer *after* its update. Work one step of the
//    visible test's momentum example by hand first.
// 3. Which value of `θ` does the weight decay use: the one before this step, or after?
//
// **HINTS**:
// - Update `p.data` in place; never assign a new tensor to the parameter (see the lesson).
// - Plain SGD (`momentum = 0`) keeps no state at all: `stateBytes()` must stay 0.

// %% nbgrader={"grade": false, "grade_id": "sgd", "locked": false, "schema_version": 3, "solution": true, "task": false}
//| export
/** Options of SGD (PyTorch's names and defaults). */
interface SGDOptions {
  lr?: number;
  momentum?: number;
  dampening?: number;
  weightDecay?: number;
  nesterov?: boolean;
}

/** Stochastic gradient descent with optional momentum, Nesterov momentum and weight decay. */
class SGD extends Optimizer<{ momentumBuffer: Float32Array }> {
  readonly momentum: number;
  readonly dampening: number;
  readonly weightDecay: number;
  readonly nesterov: boolean;

  constructor(params: Iterable<Tensor>, options: SGDOptions = {}) {
    super(params, options.lr ?? 1e-3);
    this.momentum = options.momentum ?? 0;
    this.dampening = options.dampening ?? 0;
    this.weightDecay = options.weightDecay ?? 0;
    this.nesterov = options.nesterov ?? false;
    if (!(this.momentum >= 0)) throw new Error(`invalid momentum value: ${this.momentum}`);
    if (!(this.weightDecay >= 0)) throw new Error(`invalid weightDecay value: ${this.weightDecay}`);
    if (this.nesterov && (this.momentum <= 0 || this.dampening !== 0)) {
      throw new Error("Nesterov momentum requires a momentum and zero dampening");
    }
  }

  step(): void {
    // ### BEGIN SOLUTION
    const { lr, momentum: mu, dampening, weightDecay: wd, nesterov } = this;
    this.params.forEach((p, i) => {
      const grad = this.gradientOf(p, i);
      if (grad === null) return;
      const w = p.data;
      let buffer = mu !== 0 ? this.state.get(p)?.momentumBuffer : undefined;
      const firstStep = mu !== 0 && buffer === undefined;
      if (firstStep) {
        buffer = new Float32Array(w.length);
        this.state.set(p, { momentumBuffer: buffer });
      }
      for (let j = 0; j < w.length; j++) {
        let d = grad[j] + wd * w[j];
        if (buffer !== undefined) {
          buffer[j] = firstStep ? d : mu * buffer[j] + (1 - dampening) * d;
          d = nesterov ? d + mu * buffer[j] : buffer[j];
        }
        w[j] -= lr * d;
      }
    });
    // ### END SOLUTION
  }
}

// %% nbgrader={"grade": true, "grade_id": "test-unit-sgd", "locked": true, "points": 5, "schema_version": 3, "solution": false, "task": false}
function testUnitSGD(): void {
  // f(θ) = θ²/2 has gradient θ. Plain SGD with lr 0.1 multiplies θ by 0.9 each step.
  const p = param([1]);
  const plain = new SGD([p], { lr: 0.1 });
  const plainPath: number[] = [];
  for (let t = 0; t < 3; t++) {
    setGrad(p, [p.data[0]]);
    plain.step();
    plainPath.push(p.data[0]);
  }
  assertClose(plainPath, [0.9, 0.81, 0.729], {}, "plain SGD on θ²/2");
  // Momentum 0.9, same problem, worked by hand: b1 = 1, θ1 = 0.9; b2 = 0.9·1 + 0.9 = 1.8,
  // θ2 = 0.9 − 0.18 = 0.72; b3 = 0.9·1.8 + 0.72 = 2.34, θ3 = 0.72 − 0.234 = 0.486.
  const q = param([1]);
  const heavy = new SGD([q], { lr: 0.1, momentum: 0.9 });
  const heavyPath: number[] = [];
  for (let t = 0; t < 3; t++) {
    setGrad(q, [q.data[0]]);
    heavy.step();
    heavyPath.push(q.data[0]);
  }
  assertClose(heavyPath, [0.9, 0.72, 0.486], {}, "momentum: the first buffer is the gradient");
  assertThrows(() => new SGD([q], { nesterov: true }), "Nesterov");
  // ### BEGIN HIDDEN TESTS
  assertEqual(new SGD([q]).lr, 1e-3, "default lr");
  const data = q.data;
  heavy.step(); // q still has its last gradient: the step uses it again
  assert(q.data === data, "updated in place");
  // Nesterov, by hand: b1 = 1, d = 1 + 0.9 = 1.9, θ1 = 0.81; b2 = 0.9 + 0.81 = 1.71,
  // d = 0.81 + 1.539 = 2.349, θ2 = 0.5751; b3 = 1.539 + 0.5751 = 2.1141, d = 2.47779,
  // θ3 = 0.327321.
  const n = param([1]);
  const nest = new SGD([n], { lr: 0.1, momentum: 0.9, nesterov: true });
  const nestPath: number[] = [];
  for (let t = 0; t < 3; t++) {
    setGrad(n, [n.data[0]]);
    nest.step();
    nestPath.push(n.data[0]);
  }
  assertClose(nestPath, [0.81, 0.5751, 0.327321], {}, "Nesterov");
  // Weight decay 0.1, momentum 0.9, dampening 0.5, constant gradient 1, by hand:
  // d1 = 1.1, b1 = 1.1, θ1 = 0.89; d2 = 1.089, b2 = 0.99 + 0.5445 = 1.5345, θ2 = 0.73655;
  // d3 = 1.073655, b3 = 1.38105 + 0.5368275 = 1.9178775, θ3 = 0.54476225.
  const w = param([1]);
  const damped = new SGD([w], { lr: 0.1, momentum: 0.9, dampening: 0.5, weightDecay: 0.1 });
  const dampedPath: number[] = [];
  for (let t = 0; t < 3; t++) {
    setGrad(w, [1]);
    damped.step();
    dampedPath.push(w.data[0]);
  }
  assertClose(dampedPath, [0.89, 0.73655, 0.54476225], {}, "weight decay + dampening");
  assertClose(Array.from(damped.state.get(w)?.momentumBuffer ?? []), [1.9178775], {}, "buffer");
  // Weight decay alone: θ ← θ − lr(g + λθ) = 1 − 0.5·(0 + 0.2) = 0.9.
  const decay = param([1, -2]);
  const sgdDecay = new SGD([decay], { lr: 0.5, weightDecay: 0.2 });
  setGrad(decay, [0, 0]);
  sgdDecay.step();
  assertClose(Array.from(decay.data), [0.9, -1.8], {}, "weight decay pulls towards zero");
  assertEqual(sgdDecay.stateBytes(), 0, "no momentum, no state");
  // Several parameters, one without a gradient: it is skipped, state is per parameter.
  const a = param([1, 2]);
  const b = param([5]);
  const multi = new SGD([a, b], { lr: 0.1, momentum: 0.5 });
  setGrad(a, [1, -1]);
  multi.step();
  assertClose(Array.from(a.data), [0.9, 2.1]);
  assertEqual(Array.from(b.data), [5], "a parameter without a gradient is not touched");
  assert(multi.state.has(a) && !multi.state.has(b), "state is created per parameter");
  assertEqual(multi.stateBytes(), 8, "one float32 buffer of 2 elements");
  b.grad = new Tensor([1, 1]);
  assertThrows(() => multi.step(), "shape");
  assertThrows(() => new SGD([a], { momentum: 0.9, dampening: 0.1, nesterov: true }), "Nesterov");
  assertThrows(() => new SGD([a], { momentum: -1 }), "momentum");
  {
    // Seeded: plain SGD, momentum with dampening, Nesterov and momentum alone, each with random
    // learning rates (changed between steps, as a schedule would), momentum, dampening and weight
    // decay, on two parameters of random sizes and values, for a random number of steps with
    // random gradients (the second parameter sometimes has none), against PyTorch's update rule
    // written out in float64.
    const r = testRandom("optimizers/sgd");
    interface Config { momentum: number; dampening: number; weightDecay: number; nesterov: boolean }
    /** Oracle: torch.optim.SGD in float64; the values of every parameter after each step, and the momentum buffers. */
    function sgd64(init: number[][], grads: (number[] | null)[][], lrs: number[], c: Config): { path: number[][][]; buffers: (number[] | null)[] } {
      const theta = init.map((v) => v.slice());
      const buffers: (number[] | null)[] = init.map(() => null);
      const path: number[][][] = [];
      grads.forEach((step, t) => {
        step.forEach((g, i) => {
          if (g === null) return;
          const d = g.map((gj, j) => gj + c.weightDecay * theta[i][j]);
          let direction = d;
          if (c.momentum !== 0) {
            const previous = buffers[i];
            const b = previous === null ? d.slice() : previous.map((bj, j) => c.momentum * bj + (1 - c.dampening) * d[j]);
            buffers[i] = b;
            direction = c.nesterov ? d.map((dj, j) => dj + c.momentum * b[j]) : b;
          }
          theta[i] = theta[i].map((w, j) => w - lrs[t] * direction[j]);
        });
        path.push(theta.map((v) => v.slice()));
      });
      return { path, buffers };
    }
    const kinds = ["plain", "dampened", "nesterov", "momentum"];
    for (const kind of kinds) {
      const momentum = kind === "plain" ? 0 : Math.fround(r.uniform(0.1, 0.95));
      const config: Config = {
        momentum,
        dampening: kind === "dampened" ? Math.fround(r.uniform(0.1, 0.9)) : 0,
        weightDecay: kind === "momentum" || r.bool(0.2) ? 0 : Math.fround(r.uniform(0.01, 0.3)),
        nesterov: kind === "nesterov",
      };
      const init = [r.numbers(r.int(1, 5), -2, 2), r.numbers(r.int(1, 5), -2, 2)];
      const steps = r.int(2, 6);
      const lrs = Array.from({ length: steps }, () => Math.fround(r.uniform(0.01, 0.5)));
      const grads = Array.from({ length: steps }, () => init.map((v, i) => (i === 1 && r.bool(0.3) ? null : r.numbers(v.length, -2, 2))));
      const ps = init.map((v) => param(v));
      const opt = new SGD(ps, { lr: lrs[0], ...config });
      const path: number[][][] = [];
      grads.forEach((step, t) => {
        step.forEach((g, i) => {
          if (g === null) ps[i].grad = null;
          else setGrad(ps[i], g);
        });
        opt.lr = lrs[t];
        opt.step();
        path.push(ps.map((p) => Array.from(p.data)));
      });
      const label = `seeded SGD (${kind}), ${steps} steps`;
      assertClose(path, sgd64(init, grads, lrs, config).path, { rtol: 1e-4, atol: 1e-5 }, `${label}: the values after each step`);
      assertClose(
        ps.map((p) => Array.from(opt.state.get(p)?.momentumBuffer ?? [])),
        sgd64(init, grads, lrs, config).buffers.map((b) => b ?? []),
        { rtol: 1e-4, atol: 1e-5 },
        `${label}: the momentum buffers`,
      );
      assertEqual(opt.stateBytes(), momentum === 0 ? 0 : 4 * init.reduce((n, v, i) => n + (grads.some((s) => s[i] !== null) ? v.length : 0), 0), `${label}: state bytes`);
    }
  }
  // ### END HIDDEN TESTS
  passed("testUnitSGD");
}
testUnitSGD();

// %%
//| mutation sgd applies momentum to the raw gradient and adds the weight decay afterwards
interface SGDOptions {
  lr?: number;
  momentum?: number;
  dampening?: number;
  weightDecay?: number;
  nesterov?: boolean;
}

class SGD extends Optimizer<{ momentumBuffer: Float32Array }> {
  readonly momentum: number;
  readonly dampening: number;
  readonly weightDecay: number;
  readonly nesterov: boolean;

  constructor(params: Iterable<Tensor>, options: SGDOptions = {}) {
    super(params, options.lr ?? 1e-3);
    this.momentum = options.momentum ?? 0;
    this.dampening = options.dampening ?? 0;
    this.weightDecay = options.weightDecay ?? 0;
    this.nesterov = options.nesterov ?? false;
    if (!(this.momentum >= 0)) throw new Error(`invalid momentum value: ${this.momentum}`);
    if (!(this.weightDecay >= 0)) throw new Error(`invalid weightDecay value: ${this.weightDecay}`);
    if (this.nesterov && (this.momentum <= 0 || this.dampening !== 0)) {
      throw new Error("Nesterov momentum requires a momentum and zero dampening");
    }
  }

  step(): void {
    const { lr, momentum: mu, dampening, weightDecay: wd, nesterov } = this;
    this.params.forEach((p, i) => {
      const grad = this.gradientOf(p, i);
      if (grad === null) return;
      const w = p.data;
      let buffer = mu !== 0 ? this.state.get(p)?.momentumBuffer : undefined;
      const firstStep = mu !== 0 && buffer === undefined;
      if (firstStep) {
        buffer = new Float32Array(w.length);
        this.state.set(p, { momentumBuffer: buffer });
      }
      for (let j = 0; j < w.length; j++) {
        let d = grad[j];
        if (buffer !== undefined) {
          buffer[j] = firstStep ? d : mu * buffer[j] + (1 - dampening) * d;
          d = nesterov ? d + mu * buffer[j] : buffer[j];
        }
        w[j] -= lr * (d + wd * w[j]);
      }
    });
  }
}

// %%
//| mutation sgd dampens the first buffer too: b1 = (1 − τ)·g instead of g
interface SGDOptions {
  lr?: number;
  momentum?: number;
  dampening?: number;
  weightDecay?: number;
  nesterov?: boolean;
}

class SGD extends Optimizer<{ momentumBuffer: Float32Array }> {
  readonly momentum: number;
  readonly dampening: number;
  readonly weightDecay: number;
  readonly nesterov: boolean;

  constructor(params: Iterable<Tensor>, options: SGDOptions = {}) {
    super(params, options.lr ?? 1e-3);
    this.momentum = options.momentum ?? 0;
    this.dampening = options.dampening ?? 0;
    this.weightDecay = options.weightDecay ?? 0;
    this.nesterov = options.nesterov ?? false;
    if (!(this.momentum >= 0)) throw new Error(`invalid momentum value: ${this.momentum}`);
    if (!(this.weightDecay >= 0)) throw new Error(`invalid weightDecay value: ${this.weightDecay}`);
    if (this.nesterov && (this.momentum <= 0 || this.dampening !== 0)) {
      throw new Error("Nesterov momentum requires a momentum and zero dampening");
    }
  }

  step(): void {
    const { lr, momentum: mu, dampening, weightDecay: wd, nesterov } = this;
    this.params.forEach((p, i) => {
      const grad = this.gradientOf(p, i);
      if (grad === null) return;
      const w = p.data;
      let buffer = mu !== 0 ? this.state.get(p)?.momentumBuffer : undefined;
      const firstStep = mu !== 0 && buffer === undefined;
      if (firstStep) {
        buffer = new Float32Array(w.length);
        this.state.set(p, { momentumBuffer: buffer });
      }
      for (let j = 0; j < w.length; j++) {
        let d = grad[j] + wd * w[j];
        if (buffer !== undefined) {
          buffer[j] = firstStep ? (1 - dampening) * d : mu * buffer[j] + (1 - dampening) * d;
          d = nesterov ? d + mu * buffer[j] : buffer[j];
        }
        w[j] -= lr * d;
      }
    });
  }
}

// %%
//| mutation sgd uses Sutskever's form: the learning rate enters the velocity (v ← μv + γg; θ ← θ − v)
interface SGDOptions {
  lr?: number;
  momentum?: number;
  dampening?: number;
  weightDecay?: number;
  nesterov?: boolean;
}

class SGD extends Optimizer<{ momentumBuffer: Float32Array }> {
  readonly momentum: number;
  readonly dampening: number;
  readonly weightDecay: number;
  readonly nesterov: boolean;

  constructor(params: Iterable<Tensor>, options: SGDOptions = {}) {
    super(params, options.lr ?? 1e-3);
    this.momentum = options.momentum ?? 0;
    this.dampening = options.dampening ?? 0;
    this.weightDecay = options.weightDecay ?? 0;
    this.nesterov = options.nesterov ?? false;
    if (!(this.momentum >= 0)) throw new Error(`invalid momentum value: ${this.momentum}`);
    if (!(this.weightDecay >= 0)) throw new Error(`invalid weightDecay value: ${this.weightDecay}`);
    if (this.nesterov && (this.momentum <= 0 || this.dampening !== 0)) {
      throw new Error("Nesterov momentum requires a momentum and zero dampening");
    }
  }

  step(): void {
    const { lr, momentum: mu, dampening, weightDecay: wd, nesterov } = this;
    this.params.forEach((p, i) => {
      const grad = this.gradientOf(p, i);
      if (grad === null) return;
      const w = p.data;
      let buffer = mu !== 0 ? this.state.get(p)?.momentumBuffer : undefined;
      const firstStep = mu !== 0 && buffer === undefined;
      if (firstStep) {
        buffer = new Float32Array(w.length);
        this.state.set(p, { momentumBuffer: buffer });
      }
      for (let j = 0; j < w.length; j++) {
        let d = grad[j] + wd * w[j];
        if (buffer !== undefined) {
          buffer[j] = firstStep ? lr * d : mu * buffer[j] + lr * (1 - dampening) * d;
          w[j] -= nesterov ? lr * d + mu * buffer[j] : buffer[j];
        } else {
          w[j] -= lr * d;
        }
      }
    });
  }
}

// %% [markdown]
// ## Adam and AdamW
//
// SGD uses one learning rate for every parameter. But gradients differ wildly in size between
// parameters: a bias that sees every example gets large, steady gradients, while the weight of a
// rarely active input gets small, noisy ones. **Adam** (Kingma and Ba, 2015) gives each
// parameter its own step size. It keeps two running averages per parameter:
//
// - `m`, the average gradient (momentum, as above, but an average rather than a sum);
// - `v`, the average **squared** gradient, a measure of how large the gradient usually is.
//
// and steps by `m / √v`: roughly the sign of the gradient, times `γ`, shrunk when the gradient's
// sign keeps changing (then `m` is small next to `√v`). The step size is therefore about `γ`
// whatever the scale of the loss, which is what makes `lr = 1e-3` work for so many networks.
//
// **Bias correction.** Both averages start at 0. After one step with `β₁ = 0.9`,
// `m = 0.1·g`: ten times too small, purely because of the zero start. Dividing by `1 − β₁ᵗ`
// undoes exactly that (`0.1·g / (1 − 0.9) = g`), and `1 − β₂ᵗ` does the same for `v`. What
// would happen without it? With `β₂ = 0.999`, `v = 0.001·g²` after one step: 1000 times too
// small, so `√v` is `√1000 ≈ 31.6` times too small. But `m` is 10 times too small as well, and
// the step is their ratio: `m / √v = 0.1·g / (0.0316·|g|) ≈ 3.16·sign(g)`. The two errors partly
// cancel, and the first uncorrected step is about **3.2** times too large (not 31.6). In general
// the uncorrected step is `(1 − β₁ᵗ) / √(1 − β₂ᵗ)` times the corrected one: `m` forgets its zero
// start within a few dozen steps, `v` only within a few thousand, so the factor first *grows*
// before it fades back to 1. You will predict it at `t = 10`.
//
// PyTorch's documented algorithm for `torch.optim.Adam` (`m₀ = v₀ = 0`, `t` counts steps of
// each parameter from 1):
//
// ```
// g_t ← ∇θ f(θ_{t-1})
// if λ ≠ 0:   g_t ← g_t + λ θ_{t-1}              (Adam: weight decay is an L2 term in the gradient)
// m_t ← β₁ m_{t-1} + (1 − β₁) g_t
// v_t ← β₂ v_{t-1} + (1 − β₂) g_t²
// m̂_t ← m_t / (1 − β₁ᵗ)
// if amsgrad:  v_t^max ← max(v_{t-1}^max, v_t);   v̂_t ← v_t^max / (1 − β₂ᵗ)
// else:        v̂_t ← v_t / (1 − β₂ᵗ)
// θ_t ← θ_{t-1} − γ m̂_t / (√v̂_t + ε)
// ```
//
// Defaults: `lr = 1e-3`, `betas = [0.9, 0.999]`, `eps = 1e-8`, `weightDecay = 0`,
// `amsgrad = false`. AMSGrad (Reddi et al., 2018) divides by the largest `v` seen so far, so that
// the step size never grows again after a burst of large gradients.
//
// **AdamW** (Loshchilov and Hutter, 2019) fixes how Adam treats weight decay. Added to the
// gradient, `λθ` is divided by `√v̂` like everything else, so weights with large gradients are
// hardly decayed at all. AdamW instead shrinks the weights directly, *decoupled* from the
// gradient, before the Adam update; `g_t` keeps no `λθ` term:
//
// ```
// θ_t ← θ_{t-1} − γ λ θ_{t-1}                     (AdamW only; then m, v, m̂, v̂ and the step as above)
// ```
//
// with `weightDecay = 1e-2` by default. PyTorch implements `AdamW` as `Adam` with this one switch,
// and so do we.
//
// **Cost.** Two state arrays per parameter (three with AMSGrad), each as large as the parameter.
// For large models, optimizer state is often the largest block of training memory (you will
// predict it for the milestone's MLP).
//
// ### Exercise 3: `Adam.step`
//
// **TODO**: Implement the algorithm above, including `amsgrad` and the decoupled weight decay
// that `AdamW` switches on (`this.decoupledWeightDecay`).
//
// **APPROACH**: translate the algorithm, for each parameter with a gradient:
// 1. A parameter's state (`AdamState`, below) is created at its first step, with moments that
//    start at 0 as the algorithm says. Why must `step` be counted per parameter rather than by the
//    optimizer? (A parameter may have no gradient in some steps.)
// 2. Which quantities depend only on the step count, not on the element? Compute those once
//    per parameter.
// 3. The two kinds of weight decay differ in *where* `λθ` enters: into the gradient (so `m` and
//    `v` see it), or into the weights directly, before the rest of the update. Read both
//    formulas again before you write either.
// 4. Where exactly does `ε` go, inside the square root or outside? (PyTorch's formula decides.)
//
// **HINTS**:
// - With a constant gradient `g`, bias correction makes `m̂ = g` and `v̂ = g²` exactly, so every
//   step moves the parameter by almost exactly `lr`: work out why, then use it as a check (the
//   visible test does).
// - With `amsgrad`, what is kept is the running maximum of `v`, before bias correction.

// %% nbgrader={"grade": false, "grade_id": "adam", "locked": false, "schema_version": 3, "solution": true, "task": false}
//| export
/** Options of Adam and AdamW (PyTorch's names and defaults, apart from camelCase). */
interface AdamOptions {
  lr?: number;
  betas?: readonly [number, number];
  eps?: number;
  weightDecay?: number;
  amsgrad?: boolean;
}

/** Adam's per-parameter state. */
interface AdamState {
  step: number;
  expAvg: Float32Array;
  expAvgSq: Float32Array;
  maxExpAvgSq: Float32Array | null;
}

/** Adam: steps scaled per parameter by bias-corrected running averages of g and g². */
class Adam extends Optimizer<AdamState> {
  readonly betas: readonly [number, number];
  readonly eps: number;
  readonly weightDecay: number;
  readonly amsgrad: boolean;
  /** AdamW's rule: shrink the weights directly instead of adding λθ to the gradient. */
  readonly decoupledWeightDecay: boolean;

  constructor(params: Iterable<Tensor>, options: AdamOptions = {}, decoupledWeightDecay = false) {
    super(params, options.lr ?? 1e-3);
    this.betas = options.betas ?? [0.9, 0.999];
    this.eps = options.eps ?? 1e-8;
    this.weightDecay = options.weightDecay ?? 0;
    this.amsgrad = options.amsgrad ?? false;
    this.decoupledWeightDecay = decoupledWeightDecay;
    for (const [k, beta] of this.betas.entries()) {
      if (!(beta >= 0 && beta < 1)) throw new Error(`invalid beta parameter at index ${k}: ${beta}`);
    }
    if (!(this.eps >= 0)) throw new Error(`invalid epsilon value: ${this.eps}`);
    if (!(this.weightDecay >= 0)) throw new Error(`invalid weightDecay value: ${this.weightDecay}`);
  }

  step(): void {
    // ### BEGIN SOLUTION
    const { lr, eps, weightDecay: wd, amsgrad, decoupledWeightDecay } = this;
    const [beta1, beta2] = this.betas;
    this.params.forEach((p, i) => {
      const grad = this.gradientOf(p, i);
      if (grad === null) return;
      let state = this.state.get(p);
      if (state === undefined) {
        state = {
          step: 0,
          expAvg: new Float32Array(p.size),
          expAvgSq: new Float32Array(p.size),
          maxExpAvgSq: amsgrad ? new Float32Array(p.size) : null,
        };
        this.state.set(p, state);
      }
      state.step += 1;
      const bc1 = 1 - Math.pow(beta1, state.step);
      const sqrtBc2 = Math.sqrt(1 - Math.pow(beta2, state.step));
      const { expAvg: m, expAvgSq: v, maxExpAvgSq: vMax } = state;
      const w = p.data;
      for (let j = 0; j < w.length; j++) {
        let g = grad[j];
        if (decoupledWeightDecay) w[j] *= 1 - lr * wd;
        else g += wd * w[j];
        m[j] = beta1 * m[j] + (1 - beta1) * g;
        v[j] = beta2 * v[j] + (1 - beta2) * g * g;
        let second = v[j];
        if (vMax !== null) second = vMax[j] = Math.max(vMax[j], v[j]);
        w[j] -= (lr * (m[j] / bc1)) / (Math.sqrt(second) / sqrtBc2 + eps);
      }
    });
    // ### END SOLUTION
  }
}

/** AdamW: Adam with decoupled weight decay (default weightDecay 1e-2). */
class AdamW extends Adam {
  constructor(params: Iterable<Tensor>, options: AdamOptions = {}) {
    super(params, { ...options, weightDecay: options.weightDecay ?? 1e-2 }, true);
  }
}

// %% nbgrader={"grade": true, "grade_id": "test-unit-adam", "locked": true, "points": 6, "schema_version": 3, "solution": false, "task": false}
function testUnitAdam(): void {
  // A constant gradient: bias correction makes m̂ = g and v̂ = g², so each step is lr·g/(|g| + ε).
  const p = param([1, -1]);
  const adam = new Adam([p], { lr: 0.1 });
  for (let t = 0; t < 3; t++) {
    setGrad(p, [2, -0.5]);
    adam.step();
  }
  assertClose(Array.from(p.data), [0.7, -0.7], { rtol: 1e-6 }, "three steps of almost exactly lr");
  const state = adam.state.get(p);
  assert(state !== undefined && state.step === 3, "the step count is per-parameter state");
  // m3 = (1 − 0.9³)·g = 0.271·g.
  assertClose(Array.from(state.expAvg), [0.542, -0.1355], { rtol: 1e-5 }, "first moment");
  assertEqual(adam.stateBytes(), 16, "two float32 arrays of 2 elements");
  // ### BEGIN HIDDEN TESTS
  assertEqual([adam.betas[0], adam.betas[1], adam.eps, new Adam([p]).lr], [0.9, 0.999, 1e-8, 1e-3]);
  assertEqual(new Adam([p]).weightDecay, 0, "Adam's default weight decay");
  assertEqual(new AdamW([p]).weightDecay, 1e-2, "AdamW's default weight decay");
  // Gradient θ (f = θ²/2), lr 0.1, worked by hand:
  //   t1: g = 1, m = 0.1, v = 0.001, m̂ = 1, v̂ = 1, θ1 = 1 − 0.1/(1 + 1e-8) ≈ 0.9
  //   t2: g = 0.9, m = 0.18, v = 0.001809, m̂ = 0.18/0.19 = 0.947368421,
  //       v̂ = 0.001809/0.001999 = 0.904952476, √v̂ = 0.951290952, θ2 = 0.800412335
  const q = param([1]);
  const adamQ = new Adam([q], { lr: 0.1 });
  const path: number[] = [];
  for (let t = 0; t < 2; t++) {
    setGrad(q, [q.data[0]]);
    adamQ.step();
    path.push(q.data[0]);
  }
  assertClose(path, [0.9, 0.800412335], { rtol: 1e-6 }, "Adam on θ²/2");
  // Weight decay with a zero gradient. Adam (L2 in the gradient): g = 0.1·θ = 0.1, so the step
  // is lr·g/|g| = 0.1 and θ1 = 0.9. AdamW (decoupled): θ ← θ(1 − 0.1·0.1) = 0.99, then m = v = 0
  // and the Adam step is 0: θ1 = 0.99, θ2 = 0.9801, θ3 = 0.970299.
  const l2 = param([1]);
  const adamL2 = new Adam([l2], { lr: 0.1, weightDecay: 0.1 });
  setGrad(l2, [0]);
  adamL2.step();
  assertClose(Array.from(l2.data), [0.9], { rtol: 1e-6 }, "Adam's weight decay is an L2 gradient");
  const dec = param([1]);
  const adamW = new AdamW([dec], { lr: 0.1, weightDecay: 0.1 });
  const decPath: number[] = [];
  for (let t = 0; t < 3; t++) {
    setGrad(dec, [0]);
    adamW.step();
    decPath.push(dec.data[0]);
  }
  assertClose(decPath, [0.99, 0.9801, 0.970299], { rtol: 1e-6 }, "AdamW decays the weights directly");
  // An independent float64 computation of PyTorch's formulas, over 6 steps of a 3-element
  // parameter with changing gradients, L2 weight decay, custom betas and AMSGrad on or off.
  const fixedInit = [0.5, -1.5, 2];
  const fixedGrads = [
    [1, -2, 0.5],
    [0.1, -0.1, 3],
    [0.01, 1, -2],
    [2, 0.5, 0.1],
    [-1, 0.2, 0.05],
    [0.3, -0.3, 0],
  ];
  const fixed = { lr: 0.05, betas: [0.8, 0.95] as const, eps: 1e-6, weightDecay: 0.2 };
  /** Oracle: the parameter after every step of `fixedGrads`, PyTorch's formulas in float64. */
  function adamByHand64(amsgrad: boolean, decoupled: boolean): number[] {
    const [b1, b2] = fixed.betas;
    const theta = fixedInit.slice();
    const m = [0, 0, 0];
    const v = [0, 0, 0];
    const vmax = [0, 0, 0];
    for (let t = 1; t <= fixedGrads.length; t++) {
      for (let j = 0; j < 3; j++) {
        let g = fixedGrads[t - 1][j];
        if (decoupled) theta[j] = theta[j] - fixed.lr * fixed.weightDecay * theta[j];
        else g = g + fixed.weightDecay * theta[j];
        m[j] = b1 * m[j] + (1 - b1) * g;
        v[j] = b2 * v[j] + (1 - b2) * g * g;
        const mHat = m[j] / (1 - b1 ** t);
        vmax[j] = Math.max(vmax[j], v[j]);
        const vHat = (amsgrad ? vmax[j] : v[j]) / (1 - b2 ** t);
        theta[j] = theta[j] - (fixed.lr * mHat) / (Math.sqrt(vHat) + fixed.eps);
      }
    }
    return theta;
  }
  for (const amsgrad of [false, true]) {
    for (const decoupled of [false, true]) {
      const x = param(fixedInit);
      const options = { ...fixed, amsgrad };
      const opt = decoupled ? new AdamW([x], options) : new Adam([x], options);
      for (const g of fixedGrads) {
        setGrad(x, g);
        opt.step();
      }
      assertClose(Array.from(x.data), adamByHand64(amsgrad, decoupled), { rtol: 1e-5, atol: 1e-6 }, `amsgrad ${amsgrad}, decoupled ${decoupled}`);
      assertEqual(opt.stateBytes(), amsgrad ? 36 : 24, "AMSGrad keeps a third array");
    }
  }
  // Skips parameters without gradients, keeps state per parameter, updates in place.
  const a = param([1]);
  const b = param([1]);
  const two = new Adam([a, b], { lr: 0.1 });
  const aData = a.data;
  setGrad(a, [1]);
  two.step();
  assert(a.data === aData, "in place");
  assertEqual(Array.from(b.data), [1], "no gradient, no update");
  setGrad(b, [1]);
  two.step();
  assertClose([a.data[0], b.data[0]], [0.8, 0.9], { rtol: 1e-6 }, "each parameter counts its own steps");
  // ε is added to √v̂, outside the root: one step of lr 1 with g = 0.1, ε = 0.01 moves by
  // 0.1 / (0.1 + 0.01) = 0.909090..., not by 0.1 / √(0.01 + 0.01) = 0.7071.
  const e = param([0]);
  const adamEps = new Adam([e], { lr: 1, eps: 0.01 });
  setGrad(e, [0.1]);
  adamEps.step();
  assertClose(Array.from(e.data), [-0.1 / 0.11], { rtol: 1e-6 }, "where ε goes");
  assertThrows(() => new Adam([a], { betas: [1, 0.9] }), "beta");
  assertThrows(() => new Adam([a], { eps: -1 }), "epsilon");
  {
    // Seeded: Adam and AdamW, with and without AMSGrad, with random learning rates, betas, eps and
    // weight decay (AdamW's default some of the time), on two parameters of random sizes and
    // values, for a random number of steps with random gradients (the second parameter sometimes
    // has none, so its step count lags), against PyTorch's update rule written out in float64.
    const r = testRandom("optimizers/adam");
    interface Config { lr: number; beta1: number; beta2: number; eps: number; weightDecay: number; amsgrad: boolean; decoupled: boolean }
    interface Moments { step: number; m: number[]; v: number[]; vmax: number[] }
    /** Oracle: torch.optim.Adam / AdamW in float64; the final values and each parameter's state. */
    function adam64(init: number[][], grads: (number[] | null)[][], c: Config): { theta: number[][]; state: (Moments | null)[] } {
      const theta = init.map((v) => v.slice());
      const state: (Moments | null)[] = init.map(() => null);
      for (const step of grads) {
        step.forEach((g, i) => {
          if (g === null) return;
          const s = (state[i] ??= { step: 0, m: g.map(() => 0), v: g.map(() => 0), vmax: g.map(() => 0) });
          s.step += 1;
          for (let j = 0; j < g.length; j++) {
            let gj = g[j];
            if (c.decoupled) theta[i][j] -= c.lr * c.weightDecay * theta[i][j];
            else gj += c.weightDecay * theta[i][j];
            s.m[j] = c.beta1 * s.m[j] + (1 - c.beta1) * gj;
            s.v[j] = c.beta2 * s.v[j] + (1 - c.beta2) * gj * gj;
            s.vmax[j] = Math.max(s.vmax[j], s.v[j]);
            const mHat = s.m[j] / (1 - c.beta1 ** s.step);
            const vHat = (c.amsgrad ? s.vmax[j] : s.v[j]) / (1 - c.beta2 ** s.step);
            theta[i][j] -= (c.lr * mHat) / (Math.sqrt(vHat) + c.eps);
          }
        });
      }
      return { theta, state };
    }
    for (const [decoupled, amsgrad] of [[false, false], [false, true], [true, false], [true, true]]) {
      const usesDefaultDecay = decoupled && r.bool();
      const config: Config = {
        lr: Math.fround(r.uniform(0.001, 0.2)),
        beta1: Math.fround(r.uniform(0.5, 0.95)),
        beta2: Math.fround(r.uniform(0.9, 0.9999)),
        eps: r.pick([1e-8, 1e-6, 1e-4]),
        weightDecay: usesDefaultDecay ? 1e-2 : r.bool(0.25) ? 0 : Math.fround(r.uniform(0.01, 0.3)),
        amsgrad,
        decoupled,
      };
      const init = [r.numbers(r.int(1, 5), -2, 2), r.numbers(r.int(1, 5), -2, 2)];
      const steps = r.int(2, 6);
      // Gradients away from 0, with random signs.
      const grads = Array.from({ length: steps }, () =>
        init.map((v, i) => (i === 1 && r.bool(0.3) ? null : r.numbers(v.length, 0.05, 2).map((g) => (r.bool() ? -g : g)))),
      );
      const ps = init.map((v) => param(v));
      const options = { lr: config.lr, betas: [config.beta1, config.beta2] as const, eps: config.eps, amsgrad, ...(usesDefaultDecay ? {} : { weightDecay: config.weightDecay }) };
      const opt = decoupled ? new AdamW(ps, options) : new Adam(ps, options);
      for (const step of grads) {
        step.forEach((g, i) => {
          if (g === null) ps[i].grad = null;
          else setGrad(ps[i], g);
        });
        opt.step();
      }
      const label = `seeded ${decoupled ? "AdamW" : "Adam"}${amsgrad ? " + AMSGrad" : ""}, ${steps} steps`;
      assertClose(ps.map((p) => Array.from(p.data)), adam64(init, grads, config).theta, { rtol: 1e-4, atol: 1e-5 }, `${label}: the values`);
      assertEqual(ps.map((p) => opt.state.get(p)?.step ?? 0), adam64(init, grads, config).state.map((s) => s?.step ?? 0), `${label}: steps per parameter`);
      assertClose(Array.from(opt.state.get(ps[0])?.expAvg ?? []), adam64(init, grads, config).state[0]?.m ?? [], { rtol: 1e-4, atol: 1e-6 }, `${label}: first moment`);
      assertClose(Array.from(opt.state.get(ps[0])?.expAvgSq ?? []), adam64(init, grads, config).state[0]?.v ?? [], { rtol: 1e-4, atol: 1e-9 }, `${label}: second moment`);
      assertEqual(opt.stateBytes(), 4 * (amsgrad ? 3 : 2) * init.reduce((n, v, i) => n + (grads.some((s) => s[i] !== null) ? v.length : 0), 0), `${label}: state bytes`);
    }
  }
  // ### END HIDDEN TESTS
  passed("testUnitAdam");
}
testUnitAdam();

// %%
//| mutation adam without bias correction: steps with m / (√v + ε) from the first step on
interface AdamOptions {
  lr?: number;
  betas?: readonly [number, number];
  eps?: number;
  weightDecay?: number;
  amsgrad?: boolean;
}

interface AdamState {
  step: number;
  expAvg: Float32Array;
  expAvgSq: Float32Array;
  maxExpAvgSq: Float32Array | null;
}

class Adam extends Optimizer<AdamState> {
  readonly betas: readonly [number, number];
  readonly eps: number;
  readonly weightDecay: number;
  readonly amsgrad: boolean;
  readonly decoupledWeightDecay: boolean;

  constructor(params: Iterable<Tensor>, options: AdamOptions = {}, decoupledWeightDecay = false) {
    super(params, options.lr ?? 1e-3);
    this.betas = options.betas ?? [0.9, 0.999];
    this.eps = options.eps ?? 1e-8;
    this.weightDecay = options.weightDecay ?? 0;
    this.amsgrad = options.amsgrad ?? false;
    this.decoupledWeightDecay = decoupledWeightDecay;
    for (const [k, beta] of this.betas.entries()) {
      if (!(beta >= 0 && beta < 1)) throw new Error(`invalid beta parameter at index ${k}: ${beta}`);
    }
    if (!(this.eps >= 0)) throw new Error(`invalid epsilon value: ${this.eps}`);
    if (!(this.weightDecay >= 0)) throw new Error(`invalid weightDecay value: ${this.weightDecay}`);
  }

  step(): void {
    const { lr, eps, weightDecay: wd, amsgrad, decoupledWeightDecay } = this;
    const [beta1, beta2] = this.betas;
    this.params.forEach((p, i) => {
      const grad = this.gradientOf(p, i);
      if (grad === null) return;
      let state = this.state.get(p);
      if (state === undefined) {
        state = { step: 0, expAvg: new Float32Array(p.size), expAvgSq: new Float32Array(p.size), maxExpAvgSq: amsgrad ? new Float32Array(p.size) : null };
        this.state.set(p, state);
      }
      state.step += 1;
      // (no bias correction)
      const { expAvg: m, expAvgSq: v, maxExpAvgSq: vMax } = state;
      const w = p.data;
      for (let j = 0; j < w.length; j++) {
        let g = grad[j];
        if (decoupledWeightDecay) w[j] *= 1 - lr * wd;
        else g += wd * w[j];
        m[j] = beta1 * m[j] + (1 - beta1) * g;
        v[j] = beta2 * v[j] + (1 - beta2) * g * g;
        let second = v[j];
        if (vMax !== null) second = vMax[j] = Math.max(vMax[j], v[j]);
        w[j] -= (lr * m[j]) / (Math.sqrt(second) + eps);
      }
    });
  }
}

class AdamW extends Adam {
  constructor(params: Iterable<Tensor>, options: AdamOptions = {}) {
    super(params, { ...options, weightDecay: options.weightDecay ?? 1e-2 }, true);
  }
}

// %%
//| mutation adam AdamW decays through the gradient like L2, so its decay is divided by √v̂ too
interface AdamOptions {
  lr?: number;
  betas?: readonly [number, number];
  eps?: number;
  weightDecay?: number;
  amsgrad?: boolean;
}

interface AdamState {
  step: number;
  expAvg: Float32Array;
  expAvgSq: Float32Array;
  maxExpAvgSq: Float32Array | null;
}

class Adam extends Optimizer<AdamState> {
  readonly betas: readonly [number, number];
  readonly eps: number;
  readonly weightDecay: number;
  readonly amsgrad: boolean;
  readonly decoupledWeightDecay: boolean;

  constructor(params: Iterable<Tensor>, options: AdamOptions = {}, decoupledWeightDecay = false) {
    super(params, options.lr ?? 1e-3);
    this.betas = options.betas ?? [0.9, 0.999];
    this.eps = options.eps ?? 1e-8;
    this.weightDecay = options.weightDecay ?? 0;
    this.amsgrad = options.amsgrad ?? false;
    this.decoupledWeightDecay = decoupledWeightDecay;
    for (const [k, beta] of this.betas.entries()) {
      if (!(beta >= 0 && beta < 1)) throw new Error(`invalid beta parameter at index ${k}: ${beta}`);
    }
    if (!(this.eps >= 0)) throw new Error(`invalid epsilon value: ${this.eps}`);
    if (!(this.weightDecay >= 0)) throw new Error(`invalid weightDecay value: ${this.weightDecay}`);
  }

  step(): void {
    const { lr, eps, weightDecay: wd, amsgrad, decoupledWeightDecay } = this;
    const [beta1, beta2] = this.betas;
    this.params.forEach((p, i) => {
      const grad = this.gradientOf(p, i);
      if (grad === null) return;
      let state = this.state.get(p);
      if (state === undefined) {
        state = { step: 0, expAvg: new Float32Array(p.size), expAvgSq: new Float32Array(p.size), maxExpAvgSq: amsgrad ? new Float32Array(p.size) : null };
        this.state.set(p, state);
      }
      state.step += 1;
      const bc1 = 1 - Math.pow(beta1, state.step);
      const sqrtBc2 = Math.sqrt(1 - Math.pow(beta2, state.step));
      const { expAvg: m, expAvgSq: v, maxExpAvgSq: vMax } = state;
      const w = p.data;
      for (let j = 0; j < w.length; j++) {
        let g = grad[j];
        g += wd * w[j];
        void decoupledWeightDecay;
        m[j] = beta1 * m[j] + (1 - beta1) * g;
        v[j] = beta2 * v[j] + (1 - beta2) * g * g;
        let second = v[j];
        if (vMax !== null) second = vMax[j] = Math.max(vMax[j], v[j]);
        w[j] -= (lr * (m[j] / bc1)) / (Math.sqrt(second) / sqrtBc2 + eps);
      }
    });
  }
}

class AdamW extends Adam {
  constructor(params: Iterable<Tensor>, options: AdamOptions = {}) {
    super(params, { ...options, weightDecay: options.weightDecay ?? 1e-2 }, true);
  }
}

// %%
//| mutation adam puts ε inside the square root: √(v̂ + ε)
interface AdamOptions {
  lr?: number;
  betas?: readonly [number, number];
  eps?: number;
  weightDecay?: number;
  amsgrad?: boolean;
}

interface AdamState {
  step: number;
  expAvg: Float32Array;
  expAvgSq: Float32Array;
  maxExpAvgSq: Float32Array | null;
}

class Adam extends Optimizer<AdamState> {
  readonly betas: readonly [number, number];
  readonly eps: number;
  readonly weightDecay: number;
  readonly amsgrad: boolean;
  readonly decoupledWeightDecay: boolean;

  constructor(params: Iterable<Tensor>, options: AdamOptions = {}, decoupledWeightDecay = false) {
    super(params, options.lr ?? 1e-3);
    this.betas = options.betas ?? [0.9, 0.999];
    this.eps = options.eps ?? 1e-8;
    this.weightDecay = options.weightDecay ?? 0;
    this.amsgrad = options.amsgrad ?? false;
    this.decoupledWeightDecay = decoupledWeightDecay;
    for (const [k, beta] of this.betas.entries()) {
      if (!(beta >= 0 && beta < 1)) throw new Error(`invalid beta parameter at index ${k}: ${beta}`);
    }
    if (!(this.eps >= 0)) throw new Error(`invalid epsilon value: ${this.eps}`);
    if (!(this.weightDecay >= 0)) throw new Error(`invalid weightDecay value: ${this.weightDecay}`);
  }

  step(): void {
    const { lr, eps, weightDecay: wd, amsgrad, decoupledWeightDecay } = this;
    const [beta1, beta2] = this.betas;
    this.params.forEach((p, i) => {
      const grad = this.gradientOf(p, i);
      if (grad === null) return;
      let state = this.state.get(p);
      if (state === undefined) {
        state = { step: 0, expAvg: new Float32Array(p.size), expAvgSq: new Float32Array(p.size), maxExpAvgSq: amsgrad ? new Float32Array(p.size) : null };
        this.state.set(p, state);
      }
      state.step += 1;
      const bc1 = 1 - Math.pow(beta1, state.step);
      const sqrtBc2 = Math.sqrt(1 - Math.pow(beta2, state.step));
      const { expAvg: m, expAvgSq: v, maxExpAvgSq: vMax } = state;
      const w = p.data;
      for (let j = 0; j < w.length; j++) {
        let g = grad[j];
        if (decoupledWeightDecay) w[j] *= 1 - lr * wd;
        else g += wd * w[j];
        m[j] = beta1 * m[j] + (1 - beta1) * g;
        v[j] = beta2 * v[j] + (1 - beta2) * g * g;
        let second = v[j];
        if (vMax !== null) second = vMax[j] = Math.max(vMax[j], v[j]);
        w[j] -= (lr * (m[j] / bc1)) / Math.sqrt(second / (sqrtBc2 * sqrtBc2) + eps);
      }
    });
  }
}

class AdamW extends Adam {
  constructor(params: Iterable<Tensor>, options: AdamOptions = {}) {
    super(params, { ...options, weightDecay: options.weightDecay ?? 1e-2 }, true);
  }
}

// %% [markdown]
// ## Learning-rate schedules
//
// A large learning rate makes fast progress early but keeps bouncing around the minimum later;
// a small one settles well but starts slowly. A **schedule** starts large and decays. The
// scheduler changes `optimizer.lr` once per epoch: call `scheduler.step()` after each epoch's
// optimizer steps. With `γ₀` the optimizer's learning rate when the scheduler was created and
// `e` the number of `scheduler.step()` calls so far:
//
// - **StepLR** multiplies the rate by `gamma` every `stepSize` epochs:
//   `γ_e = γ₀ · gamma^⌊e / stepSize⌋` (PyTorch's default `gamma = 0.1`).
// - **CosineAnnealingLR** follows half a cosine from `γ₀` down to `etaMin` over `tMax` epochs
//   (Loshchilov and Hutter, 2017): `γ_e = etaMin + (γ₀ − etaMin)·(1 + cos(π e / tMax)) / 2`
//   (PyTorch's default `etaMin = 0`). After `tMax` epochs the formula climbs back up, as
//   PyTorch's does; use `tMax` = the number of epochs you train.
//
// PyTorch computes both recursively from the previous epoch's rate; these closed forms are the
// ones its documentation gives, and produce the same rates as long as nothing else changes `lr`.
//
// ### Exercise 4: `StepLR.lrAt` and `CosineAnnealingLR.lrAt`
//
// **TODO**: Return the learning rate for epoch `epoch` from the formulas above.
//
// **APPROACH**: `this.baseLr` is `γ₀`. Before you write a formula, say what it must give:
// - StepLR: which epochs share a rate? Check your formula at `e = 0`, `stepSize − 1` and
//   `stepSize` (the visible test uses `stepSize = 2`, `gamma = 0.5`).
// - Cosine: the rate starts at `γ₀`, is halfway between `γ₀` and `etaMin` at `tMax / 2`, reaches
//   `etaMin` at `tMax`, and climbs back after. Which of `(1 + cos)/2` and `(1 − cos)/2` of which
//   angle does that?

// %% nbgrader={"grade": false, "grade_id": "lr-schedules", "locked": false, "schema_version": 3, "solution": true, "task": false}
//| export
/** A learning-rate schedule: `step()` once per epoch sets the optimizer's lr for the next one. */
abstract class LRScheduler {
  readonly optimizer: Optimizer;
  /** The optimizer's learning rate when the scheduler was created. */
  readonly baseLr: number;
  /** Number of `step()` calls so far (the epoch the current lr belongs to). */
  lastEpoch = 0;

  constructor(optimizer: Optimizer) {
    this.optimizer = optimizer;
    this.baseLr = optimizer.lr;
  }

  /** The learning rate of epoch `epoch` (0 is the first). */
  abstract lrAt(epoch: number): number;

  /** Moves to the next epoch and returns its learning rate. */
  step(): number {
    this.lastEpoch += 1;
    this.optimizer.lr = this.lrAt(this.lastEpoch);
    return this.optimizer.lr;
  }
}

/** Multiplies the learning rate by `gamma` every `stepSize` epochs. */
class StepLR extends LRScheduler {
  readonly stepSize: number;
  readonly gamma: number;

  constructor(optimizer: Optimizer, options: { stepSize: number; gamma?: number }) {
    super(optimizer);
    if (!Number.isInteger(options.stepSize) || options.stepSize < 1) {
      throw new Error(`StepLR: stepSize must be a positive integer, got ${options.stepSize}`);
    }
    this.stepSize = options.stepSize;
    this.gamma = options.gamma ?? 0.1;
  }

  lrAt(epoch: number): number {
    // ### BEGIN SOLUTION
    return this.baseLr * Math.pow(this.gamma, Math.floor(epoch / this.stepSize));
    // ### END SOLUTION
  }
}

/** Half a cosine from the base learning rate down to `etaMin` over `tMax` epochs. */
class CosineAnnealingLR extends LRScheduler {
  readonly tMax: number;
  readonly etaMin: number;

  constructor(optimizer: Optimizer, options: { tMax: number; etaMin?: number }) {
    super(optimizer);
    if (!(options.tMax > 0)) throw new Error(`CosineAnnealingLR: tMax must be positive, got ${options.tMax}`);
    this.tMax = options.tMax;
    this.etaMin = options.etaMin ?? 0;
  }

  lrAt(epoch: number): number {
    // ### BEGIN SOLUTION
    const cosine = (1 + Math.cos((Math.PI * epoch) / this.tMax)) / 2;
    return this.etaMin + (this.baseLr - this.etaMin) * cosine;
    // ### END SOLUTION
  }
}

// %% nbgrader={"grade": true, "grade_id": "test-unit-lr-schedules", "locked": true, "points": 3, "schema_version": 3, "solution": false, "task": false}
function testUnitLRSchedules(): void {
  const p = param([1]);
  const sgd = new SGD([p], { lr: 1 });
  const stepLR = new StepLR(sgd, { stepSize: 2, gamma: 0.5 });
  const rates = [sgd.lr];
  for (let e = 0; e < 5; e++) rates.push(stepLR.step());
  assertClose(rates, [1, 1, 0.5, 0.5, 0.25, 0.25], {}, "StepLR halves every 2 epochs");
  assertEqual(sgd.lr, 0.25, "the scheduler sets the optimizer's lr");
  const adam = new Adam([p], { lr: 0.1 });
  const cosine = new CosineAnnealingLR(adam, { tMax: 4, etaMin: 0.02 });
  assertClose(cosine.lrAt(0), 0.1);
  assertClose(cosine.lrAt(2), 0.06, {}, "half way: the mean of start and end");
  assertClose(cosine.lrAt(4), 0.02, {}, "the end is etaMin");
  // ### BEGIN HIDDEN TESTS
  // (1 + cos(π/4))/2 = 0.853553390593; 0.02 + 0.08·0.853553390593 = 0.088284271247.
  assertClose(cosine.step(), 0.088284271247, { rtol: 1e-9 });
  assertClose(cosine.step(), 0.06, { rtol: 1e-9 });
  assertClose(cosine.step(), 0.02 + 0.08 * 0.146446609407, { rtol: 1e-9 });
  assertClose(cosine.step(), 0.02, { rtol: 1e-9 });
  assertClose(cosine.step(), 0.02 + 0.08 * 0.146446609407, { rtol: 1e-9 }, "climbs back after tMax");
  assertEqual(cosine.lastEpoch, 5);
  assertClose(new CosineAnnealingLR(new SGD([p], { lr: 1 }), { tMax: 10 }).lrAt(10), 0, { atol: 1e-12 });
  const defaults = new StepLR(new SGD([p], { lr: 2 }), { stepSize: 3 });
  assertClose([defaults.lrAt(2), defaults.lrAt(3), defaults.lrAt(6)], [2, 0.2, 0.02], { rtol: 1e-12 }, "gamma 0.1");
  assertThrows(() => new StepLR(sgd, { stepSize: 0 }), "stepSize");
  assertThrows(() => new CosineAnnealingLR(sgd, { tMax: 0 }), "tMax");
  {
    // Seeded: StepLR and CosineAnnealingLR with random base rates, step sizes, gammas, periods
    // and floors (the defaults some of the time), stepped for a random number of epochs (past
    // tMax), against the closed forms in float64.
    const r = testRandom("optimizers/lr-schedules");
    const base = Math.fround(r.uniform(0.01, 2));
    const stepSize = r.int(1, 4);
    const gamma = r.bool(0.3) ? undefined : Math.fround(r.uniform(0.1, 0.9));
    const stepOpt = new SGD([param([1])], { lr: base });
    const seededStep = new StepLR(stepOpt, gamma === undefined ? { stepSize } : { stepSize, gamma });
    const stepEpochs = r.int(5, 12);
    const stepRates = [stepOpt.lr];
    for (let e = 0; e < stepEpochs; e++) stepRates.push(seededStep.step());
    /** Oracle: StepLR's rate at each epoch, by PyTorch's recursive form (multiply every stepSize epochs). */
    function stepRates64(epochs: number): number[] {
      const out = [base];
      for (let e = 1; e <= epochs; e++) out.push(e % stepSize === 0 ? out[e - 1] * (gamma ?? 0.1) : out[e - 1]);
      return out;
    }
    assertClose(stepRates, stepRates64(stepEpochs), { rtol: 1e-12, atol: 1e-15 }, `seeded StepLR(stepSize ${stepSize}, gamma ${gamma})`);
    assertClose(stepOpt.lr, stepRates64(stepEpochs)[stepEpochs], { rtol: 1e-12, atol: 1e-15 }, "seeded StepLR sets the optimizer's lr");
    const probe = r.int(0, 40);
    assertClose(seededStep.lrAt(probe), stepRates64(probe)[probe], { rtol: 1e-12, atol: 1e-15 }, `seeded StepLR.lrAt(${probe})`);
    const tMax = r.int(2, 10);
    const etaMin = r.bool(0.3) ? undefined : Math.fround(r.uniform(0, base / 2));
    const cosOpt = new Adam([param([1])], { lr: base });
    const seededCosine = new CosineAnnealingLR(cosOpt, etaMin === undefined ? { tMax } : { tMax, etaMin });
    const cosEpochs = r.int(tMax, 2 * tMax + 2);
    const cosRates = [cosOpt.lr];
    for (let e = 0; e < cosEpochs; e++) cosRates.push(seededCosine.step());
    /** Oracle: the cosine schedule's closed form. */
    const cosine64 = (e: number): number => (etaMin ?? 0) + ((base - (etaMin ?? 0)) * (1 + Math.cos((Math.PI * e) / tMax))) / 2;
    assertClose(cosRates, Array.from({ length: cosEpochs + 1 }, (_, e) => cosine64(e)), { rtol: 1e-9, atol: 1e-12 }, `seeded CosineAnnealingLR(tMax ${tMax}, etaMin ${etaMin})`);
    assertEqual(seededCosine.lastEpoch, cosEpochs, "seeded: one epoch per step()");
  }
  // ### END HIDDEN TESTS
  passed("testUnitLRSchedules");
}
testUnitLRSchedules();

// %%
//| mutation lr-schedules decays at the first epoch of each period: ceil instead of floor
abstract class LRScheduler {
  readonly optimizer: Optimizer;
  readonly baseLr: number;
  lastEpoch = 0;

  constructor(optimizer: Optimizer) {
    this.optimizer = optimizer;
    this.baseLr = optimizer.lr;
  }

  abstract lrAt(epoch: number): number;

  step(): number {
    this.lastEpoch += 1;
    this.optimizer.lr = this.lrAt(this.lastEpoch);
    return this.optimizer.lr;
  }
}

class StepLR extends LRScheduler {
  readonly stepSize: number;
  readonly gamma: number;

  constructor(optimizer: Optimizer, options: { stepSize: number; gamma?: number }) {
    super(optimizer);
    if (!Number.isInteger(options.stepSize) || options.stepSize < 1) {
      throw new Error(`StepLR: stepSize must be a positive integer, got ${options.stepSize}`);
    }
    this.stepSize = options.stepSize;
    this.gamma = options.gamma ?? 0.1;
  }

  lrAt(epoch: number): number {
    return this.baseLr * Math.pow(this.gamma, Math.ceil(epoch / this.stepSize));
  }
}

class CosineAnnealingLR extends LRScheduler {
  readonly tMax: number;
  readonly etaMin: number;

  constructor(optimizer: Optimizer, options: { tMax: number; etaMin?: number }) {
    super(optimizer);
    if (!(options.tMax > 0)) throw new Error(`CosineAnnealingLR: tMax must be positive, got ${options.tMax}`);
    this.tMax = options.tMax;
    this.etaMin = options.etaMin ?? 0;
  }

  lrAt(epoch: number): number {
    return this.etaMin + ((this.baseLr - this.etaMin) * (1 + Math.cos((Math.PI * epoch) / this.tMax))) / 2;
  }
}

// %%
//| mutation lr-schedules runs the cosine the wrong way: (1 − cos)/2 climbs from etaMin to the base rate
abstract class LRScheduler {
  readonly optimizer: Optimizer;
  readonly baseLr: number;
  lastEpoch = 0;

  constructor(optimizer: Optimizer) {
    this.optimizer = optimizer;
    this.baseLr = optimizer.lr;
  }

  abstract lrAt(epoch: number): number;

  step(): number {
    this.lastEpoch += 1;
    this.optimizer.lr = this.lrAt(this.lastEpoch);
    return this.optimizer.lr;
  }
}

class StepLR extends LRScheduler {
  readonly stepSize: number;
  readonly gamma: number;

  constructor(optimizer: Optimizer, options: { stepSize: number; gamma?: number }) {
    super(optimizer);
    if (!Number.isInteger(options.stepSize) || options.stepSize < 1) {
      throw new Error(`StepLR: stepSize must be a positive integer, got ${options.stepSize}`);
    }
    this.stepSize = options.stepSize;
    this.gamma = options.gamma ?? 0.1;
  }

  lrAt(epoch: number): number {
    return this.baseLr * Math.pow(this.gamma, Math.floor(epoch / this.stepSize));
  }
}

class CosineAnnealingLR extends LRScheduler {
  readonly tMax: number;
  readonly etaMin: number;

  constructor(optimizer: Optimizer, options: { tMax: number; etaMin?: number }) {
    super(optimizer);
    if (!(options.tMax > 0)) throw new Error(`CosineAnnealingLR: tMax must be positive, got ${options.tMax}`);
    this.tMax = options.tMax;
    this.etaMin = options.etaMin ?? 0;
  }

  lrAt(epoch: number): number {
    return this.etaMin + ((this.baseLr - this.etaMin) * (1 - Math.cos((Math.PI * epoch) / this.tMax))) / 2;
  }
}

// %%
//| mutation lr-schedules holds the cosine at etaMin after tMax instead of climbing back as PyTorch does
abstract class LRScheduler {
  readonly optimizer: Optimizer;
  readonly baseLr: number;
  lastEpoch = 0;

  constructor(optimizer: Optimizer) {
    this.optimizer = optimizer;
    this.baseLr = optimizer.lr;
  }

  abstract lrAt(epoch: number): number;

  step(): number {
    this.lastEpoch += 1;
    this.optimizer.lr = this.lrAt(this.lastEpoch);
    return this.optimizer.lr;
  }
}

class StepLR extends LRScheduler {
  readonly stepSize: number;
  readonly gamma: number;

  constructor(optimizer: Optimizer, options: { stepSize: number; gamma?: number }) {
    super(optimizer);
    if (!Number.isInteger(options.stepSize) || options.stepSize < 1) {
      throw new Error(`StepLR: stepSize must be a positive integer, got ${options.stepSize}`);
    }
    this.stepSize = options.stepSize;
    this.gamma = options.gamma ?? 0.1;
  }

  lrAt(epoch: number): number {
    return this.baseLr * Math.pow(this.gamma, Math.floor(epoch / this.stepSize));
  }
}

class CosineAnnealingLR extends LRScheduler {
  readonly tMax: number;
  readonly etaMin: number;

  constructor(optimizer: Optimizer, options: { tMax: number; etaMin?: number }) {
    super(optimizer);
    if (!(options.tMax > 0)) throw new Error(`CosineAnnealingLR: tMax must be positive, got ${options.tMax}`);
    this.tMax = options.tMax;
    this.etaMin = options.etaMin ?? 0;
  }

  lrAt(epoch: number): number {
    const e = Math.min(epoch, this.tMax);
    return this.etaMin + ((this.baseLr - this.etaMin) * (1 + Math.cos((Math.PI * e) / this.tMax))) / 2;
  }
}

// %% [markdown]
// ## Warm-up
//
// Adam's first steps are its least reliable. Bias correction makes `v̂₁ = g₁²` exactly, so the
// very first update is `γ · g / |g|`: **every** parameter moves by the full learning rate,
// whatever its gradient, large and meaningful or tiny and mostly noise. For the next few hundred
// steps `v̂` is an average of a handful of squared gradients, noisy itself, and a coordinate whose
// few gradients happened to be small gets a large `1/√v̂` (Liu et al., 2020, showed that the
// variance of this adaptive step size is very large at the start and shrinks only as more
// gradients are averaged). All this happens while the network sits at its random
// initialisation, where gradients are large and say little about where training will go.
// Large, sign-like, noisy steps at that moment throw weights far: the loss spikes, units
// saturate or die, and with large models and learning rates the run diverges.
//
// A **warm-up** starts the learning rate small and raises it linearly to its full value: the
// early steps stay short while `v̂` is unreliable, and by the time the rate is full, `v̂` averages
// many gradients. A common rule of thumb for its length is `2 / (1 − β₂)` steps (2,000 for
// `β₂ = 0.999`), about the time `v` needs to forget its zero start (Ma and Yarats, 2021).
// Transformers are almost always trained with one.
//
// PyTorch's `LinearLR` is that ramp (and, with the factors the other way round, a linear decay),
// with `s = startFactor` (default 1/3), `f = endFactor` (default 1) and `T = totalIters`
// (default 5):
//
// ```
// γ_e = γ₀ · (s + (f − s) · min(e, T) / T)
// ```
//
// Unlike the two schedules above, it changes the rate at once: creating it sets the optimizer's
// rate to `γ₀ · s` (as PyTorch does), so the first epoch or step already runs at the start of the
// ramp. Like every scheduler here it counts its own `step()` calls: call it once per epoch (as
// module 08's `fit` does), or once per optimizer step in your own loop for a warm-up measured in
// steps, the usual choice. PyTorch chains a warm-up and a decay with `SequentialLR`; here, switch
// from one scheduler to the other at the end of the warm-up.
//
// ### Exercise 5: `LinearLR.lrAt`
//
// **TODO**: Return the learning rate of epoch `epoch` from the formula above.
//
// **APPROACH**: Before you write it, say what it must give at `e = 0`, at `e = T` and at
// `e = T + 1`, and check those three on the visible test's numbers (`γ₀ = 1`, `s = 0.25`,
// `f = 1`, `T = 3`: 0.25, 0.5, 0.75, 1, then 1 for ever). A decay (`s = 1`, `f < 1`) must come
// out of the same formula.

// %% nbgrader={"grade": false, "grade_id": "linear-lr", "locked": false, "schema_version": 3, "solution": true, "task": false}
//| export
/** Options of LinearLR (PyTorch's names and defaults, in camelCase). */
interface LinearLROptions {
  startFactor?: number;
  endFactor?: number;
  totalIters?: number;
}

/** Scales the base rate linearly from `startFactor` to `endFactor` over `totalIters` steps, then holds it. */
class LinearLR extends LRScheduler {
  readonly startFactor: number;
  readonly endFactor: number;
  readonly totalIters: number;

  constructor(optimizer: Optimizer, options: LinearLROptions = {}) {
    super(optimizer);
    this.startFactor = options.startFactor ?? 1 / 3;
    this.endFactor = options.endFactor ?? 1;
    this.totalIters = options.totalIters ?? 5;
    if (!(this.startFactor > 0 && this.startFactor <= 1)) {
      throw new Error(`LinearLR: startFactor must be in (0, 1], got ${this.startFactor}`);
    }
    if (!(this.endFactor >= 0 && this.endFactor <= 1)) {
      throw new Error(`LinearLR: endFactor must be in [0, 1], got ${this.endFactor}`);
    }
    if (!Number.isInteger(this.totalIters) || this.totalIters < 1) {
      throw new Error(`LinearLR: totalIters must be a positive integer, got ${this.totalIters}`);
    }
    this.optimizer.lr = this.lrAt(0);
  }

  lrAt(epoch: number): number {
    // ### BEGIN SOLUTION
    const progress = Math.min(epoch, this.totalIters) / this.totalIters;
    return this.baseLr * (this.startFactor + (this.endFactor - this.startFactor) * progress);
    // ### END SOLUTION
  }
}

// %% nbgrader={"grade": true, "grade_id": "test-unit-linear-lr", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
function testUnitLinearLR(): void {
  const p = param([1]);
  const sgd = new SGD([p], { lr: 1 });
  const warm = new LinearLR(sgd, { startFactor: 0.25, totalIters: 3 });
  const rates = [sgd.lr];
  for (let e = 0; e < 4; e++) rates.push(warm.step());
  assertClose(rates, [0.25, 0.5, 0.75, 1, 1], {}, "from a quarter of the rate to all of it over 3 epochs, then held");
  // ### BEGIN HIDDEN TESTS
  const defaults = new LinearLR(new SGD([p], { lr: 0.3 }));
  assertClose([defaults.optimizer.lr, defaults.lrAt(2), defaults.lrAt(5), defaults.lrAt(50)], [0.1, 0.18, 0.3, 0.3], { rtol: 1e-12 }, "PyTorch's defaults: 1/3 to 1 over 5");
  const decay = new LinearLR(new Adam([p], { lr: 1 }), { startFactor: 1, endFactor: 0.1, totalIters: 4 });
  assertClose([0, 1, 2, 3, 4, 5].map((e) => decay.lrAt(e)), [1, 0.775, 0.55, 0.325, 0.1, 0.1], { rtol: 1e-12 }, "a linear decay");
  assertThrows(() => new LinearLR(sgd, { startFactor: 0 }), "startFactor");
  assertThrows(() => new LinearLR(sgd, { endFactor: 1.5 }), "endFactor");
  assertThrows(() => new LinearLR(sgd, { totalIters: 0 }), "totalIters");
  {
    // Seeded: random base rates, factors (warm-up or decay, the defaults some of the time) and
    // lengths, stepped for a random number of epochs past the end; the optimizer's rate after
    // construction and after each step, and lrAt far beyond, against the formula in float64.
    const r = testRandom("optimizers/linear-lr");
    for (let trial = 0; trial < 3; trial++) {
      const base = Math.fround(r.uniform(0.001, 2));
      const warmUp = r.bool();
      const start = r.bool(0.2) ? undefined : warmUp ? Math.fround(r.uniform(0.001, 0.9)) : 1;
      const end = r.bool(0.2) ? undefined : warmUp ? 1 : Math.fround(r.uniform(0, 0.9));
      const total = r.bool(0.2) ? undefined : r.int(1, 12);
      const opt = r.bool() ? new SGD([param([1])], { lr: base }) : new Adam([param([1])], { lr: base });
      const options: LinearLROptions = {};
      if (start !== undefined) options.startFactor = start;
      if (end !== undefined) options.endFactor = end;
      if (total !== undefined) options.totalIters = total;
      const scheduler = new LinearLR(opt, options);
      const epochs = (total ?? 5) + r.int(1, 5);
      const seen = [opt.lr];
      for (let e = 0; e < epochs; e++) seen.push(scheduler.step());
      const probe = r.int(0, 100);
      /** Oracle: PyTorch's closed form for LinearLR, in float64. */
      const linear64 = (e: number): number => base * ((start ?? 1 / 3) + ((end ?? 1) - (start ?? 1 / 3)) * (Math.min(e, total ?? 5) / (total ?? 5)));
      const label = `seeded LinearLR(base ${base}, start ${start}, end ${end}, total ${total})`;
      assertClose(seen, Array.from({ length: epochs + 1 }, (_, e) => linear64(e)), { rtol: 1e-9, atol: 1e-12 }, `${label}: the rate at creation and after each step`);
      assertClose(scheduler.lrAt(probe), linear64(probe), { rtol: 1e-9, atol: 1e-12 }, `${label}: lrAt(${probe})`);
    }
  }
  // ### END HIDDEN TESTS
  passed("testUnitLinearLR");
}
testUnitLinearLR();

// %%
//| mutation linear-lr reaches the end factor one epoch late: divides by totalIters + 1
interface LinearLROptions {
  startFactor?: number;
  endFactor?: number;
  totalIters?: number;
}

class LinearLR extends LRScheduler {
  readonly startFactor: number;
  readonly endFactor: number;
  readonly totalIters: number;

  constructor(optimizer: Optimizer, options: LinearLROptions = {}) {
    super(optimizer);
    this.startFactor = options.startFactor ?? 1 / 3;
    this.endFactor = options.endFactor ?? 1;
    this.totalIters = options.totalIters ?? 5;
    if (!(this.startFactor > 0 && this.startFactor <= 1)) throw new Error(`LinearLR: startFactor must be in (0, 1], got ${this.startFactor}`);
    if (!(this.endFactor >= 0 && this.endFactor <= 1)) throw new Error(`LinearLR: endFactor must be in [0, 1], got ${this.endFactor}`);
    if (!Number.isInteger(this.totalIters) || this.totalIters < 1) throw new Error(`LinearLR: totalIters must be a positive integer, got ${this.totalIters}`);
    this.optimizer.lr = this.lrAt(0);
  }

  lrAt(epoch: number): number {
    return this.baseLr * (this.startFactor + ((this.endFactor - this.startFactor) * Math.min(epoch, this.totalIters + 1)) / (this.totalIters + 1));
  }
}

// %%
//| mutation linear-lr keeps going after totalIters instead of holding the end factor
interface LinearLROptions {
  startFactor?: number;
  endFactor?: number;
  totalIters?: number;
}

class LinearLR extends LRScheduler {
  readonly startFactor: number;
  readonly endFactor: number;
  readonly totalIters: number;

  constructor(optimizer: Optimizer, options: LinearLROptions = {}) {
    super(optimizer);
    this.startFactor = options.startFactor ?? 1 / 3;
    this.endFactor = options.endFactor ?? 1;
    this.totalIters = options.totalIters ?? 5;
    if (!(this.startFactor > 0 && this.startFactor <= 1)) throw new Error(`LinearLR: startFactor must be in (0, 1], got ${this.startFactor}`);
    if (!(this.endFactor >= 0 && this.endFactor <= 1)) throw new Error(`LinearLR: endFactor must be in [0, 1], got ${this.endFactor}`);
    if (!Number.isInteger(this.totalIters) || this.totalIters < 1) throw new Error(`LinearLR: totalIters must be a positive integer, got ${this.totalIters}`);
    this.optimizer.lr = this.lrAt(0);
  }

  lrAt(epoch: number): number {
    return this.baseLr * (this.startFactor + ((this.endFactor - this.startFactor) * epoch) / this.totalIters);
  }
}

// %%
//| mutation linear-lr ramps from 0 instead of from startFactor
interface LinearLROptions {
  startFactor?: number;
  endFactor?: number;
  totalIters?: number;
}

class LinearLR extends LRScheduler {
  readonly startFactor: number;
  readonly endFactor: number;
  readonly totalIters: number;

  constructor(optimizer: Optimizer, options: LinearLROptions = {}) {
    super(optimizer);
    this.startFactor = options.startFactor ?? 1 / 3;
    this.endFactor = options.endFactor ?? 1;
    this.totalIters = options.totalIters ?? 5;
    if (!(this.startFactor > 0 && this.startFactor <= 1)) throw new Error(`LinearLR: startFactor must be in (0, 1], got ${this.startFactor}`);
    if (!(this.endFactor >= 0 && this.endFactor <= 1)) throw new Error(`LinearLR: endFactor must be in [0, 1], got ${this.endFactor}`);
    if (!Number.isInteger(this.totalIters) || this.totalIters < 1) throw new Error(`LinearLR: totalIters must be a positive integer, got ${this.totalIters}`);
    this.optimizer.lr = this.lrAt(0);
  }

  lrAt(epoch: number): number {
    return this.baseLr * this.endFactor * (Math.min(epoch, this.totalIters) / this.totalIters);
  }
}

// %% [markdown]
// The demo trains a small MLP (2-64-64-3) on three spirals with Adam at a deliberately high
// `lr = 0.1`, twice from the same initialisation: once at the full rate from the first step, once
// with a 100-step warm-up (`LinearLR` from 1 %, stepped after every optimizer step). Look at step
// 1 first: without warm-up, every parameter whose gradient is not 0 (a dead ReLU unit's) or tiny
// next to `ε` moves by almost exactly `lr`, whatever its gradient. Then at the loss: without
// warm-up it jumps far above where it started before it comes down.

// %%
await demo("warm-up and Adam's first steps", async () => {
  const rng = new Rng(10);
  const n = 200;
  const xs = new Float32Array(3 * n * 2);
  const ys = new Float32Array(3 * n);
  for (let c = 0; c < 3; c++) {
    for (let i = 0; i < n; i++) {
      const radius = i / n;
      const angle = (c * 2 * Math.PI) / 3 + 4 * radius + 0.2 * rng.normal();
      const k = c * n + i;
      xs[2 * k] = radius * Math.cos(angle);
      xs[2 * k + 1] = radius * Math.sin(angle);
      ys[k] = c;
    }
  }
  const lossFn = new CrossEntropyLoss();
  const rows: { step: number; loss: number; run: string }[] = [];
  for (const warm of [false, true]) {
    const run = warm ? "Adam lr 0.1, 100-step warm-up" : "Adam lr 0.1, no warm-up";
    const model = new Sequential([new Linear(2, 64, { seed: 1 }), new ReLU(), new Linear(64, 64, { seed: 11 }), new ReLU(), new Linear(64, 3, { seed: 21 })]);
    const opt = new Adam(model.parameters(), { lr: 0.1 });
    const scheduler = warm ? new LinearLR(opt, { startFactor: 0.01, totalIters: 100 }) : null;
    const batchRng = new Rng(0);
    let first = 0;
    let firstLr = 0;
    for (let step = 1; step <= 150; step++) {
      const picks = Array.from({ length: 32 }, () => batchRng.int(3 * n));
      const x = new Tensor(Float32Array.from(picks.flatMap((k) => [xs[2 * k], xs[2 * k + 1]])), [32, 2]);
      const y = new Tensor(Float32Array.from(picks.map((k) => ys[k])));
      const before = model.parameters().map((p) => Float32Array.from(p.data));
      opt.zeroGrad();
      const loss = lossFn.forward(model.forward(x), y);
      loss.backward();
      const lrUsed = opt.lr;
      opt.step();
      scheduler?.step();
      rows.push({ step, loss: loss.item(), run });
      if (step === 1) {
        const moves = model.parameters().flatMap((p, i) => Array.from(p.data, (v, j) => Math.abs(v - before[i][j]) / lrUsed));
        first = moves.filter((m) => m > 0.99 && m < 1.01).length / moves.length;
        firstLr = lrUsed;
      }
    }
    const losses = rows.filter((r) => r.run === run).map((r) => r.loss);
    console.log(`${run.padEnd(31)} step 1: ${(100 * first).toFixed(1)}% of the parameters moved by ${firstLr} (±1%); loss ${losses[0].toFixed(3)} at the start, highest ${Math.max(...losses.slice(0, 60)).toFixed(3)} in the first 60 steps, ${losses[149].toFixed(3)} at step 150`);
  }
  await showChart({
    title: "Spirals, Adam at lr 0.1: the first 150 steps",
    width: 480,
    height: 240,
    data: { values: rows },
    mark: "line",
    encoding: {
      x: { field: "step", type: "quantitative" },
      y: { field: "loss", type: "quantitative" },
      color: { field: "run", type: "nominal" },
    },
  });
});

// %% [markdown]
// ## Optimizers at work: a narrow valley
//
// Rosenbrock's function `f(x, y) = (1 − x)² + 100 (y − x²)²` has its minimum at `(1, 1)`, at the
// bottom of a long, curved, narrow valley: the classic test of an optimizer. Starting from
// `(−1.5, 2)`, each optimizer gets 1,000 steps; autograd (module 06) computes the gradients.
//
// **The racers do not share a learning rate, and cannot.** For SGD the learning rate multiplies
// the gradient. Near the minimum the curvature across the valley is about 1,000 (the largest
// eigenvalue of the Hessian `[[802, −400], [−400, 200]]`), and gradient descent on a curvature
// `c` is stable only while `lr < 2 / c`: here about `2e-3`. At `3e-3` SGD diverges (the demo
// runs it: `NaN`). Along the floor of the valley the curvature is only about 0.4, so each SGD step
// shrinks the distance left along it by a fraction `0.4 · lr`, and 1,000 steps at `lr = 1e-3`
// cover about a third of the way. For Adam the learning rate is roughly the **length of a step**
// in each coordinate, whatever the size of the gradient: at `lr = 1e-3` Adam moves each
// coordinate by at most about `1e-3` per step, one unit in 1,000 steps, too little to even
// reach `(1, 1)` from `(−1.5, 2)`, while `lr = 0.1` is a modest step at the scale of this
// problem. So the race runs SGD at `1e-3` and at its limit `2e-3`, momentum and Nesterov at
// `1e-3`, and Adam at SGD's `1e-3` and at its own `0.1`.
//
// Momentum accumulates the small, consistent gradient along the floor (about ten times the
// speed for `μ = 0.9`, as the lesson said) and gets there; Nesterov's look-ahead damps the
// oscillation across the valley. Adam divides each coordinate's step by that coordinate's
// typical gradient, so it needs no tuning against the curvature. Read the ranking with the
// learning rates in mind: SGD with momentum tuned to its own limit (`2e-3`) finishes closer than
// Adam at `0.1` does. Adam's real advantage is that a good learning rate is easy to find and
// carries over from problem to problem, not that it wins every race.

// %%
await demo("Rosenbrock race", async () => {
  const rosenbrock = (x: Tensor, y: Tensor): Tensor =>
    x.neg().add(1).pow(2).add(y.sub(x.pow(2)).pow(2).mul(100)).sum();
  const racers: [string, (params: Tensor[]) => Optimizer][] = [
    ["SGD lr 1e-3", (ps) => new SGD(ps, { lr: 1e-3 })],
    ["SGD lr 2e-3", (ps) => new SGD(ps, { lr: 2e-3 })],
    ["SGD lr 3e-3", (ps) => new SGD(ps, { lr: 3e-3 })],
    ["momentum 0.9, lr 1e-3", (ps) => new SGD(ps, { lr: 1e-3, momentum: 0.9 })],
    ["momentum 0.9, lr 2e-3", (ps) => new SGD(ps, { lr: 2e-3, momentum: 0.9 })],
    ["Nesterov 0.9, lr 1e-3", (ps) => new SGD(ps, { lr: 1e-3, momentum: 0.9, nesterov: true })],
    ["Adam lr 1e-3", (ps) => new Adam(ps, { lr: 1e-3 })],
    ["Adam lr 0.1", (ps) => new Adam(ps, { lr: 0.1 })],
  ];
  const rows: { step: number; loss: number; optimizer: string }[] = [];
  for (const [name, make] of racers) {
    const x = param([-1.5]);
    const y = param([2]);
    const opt = make([x, y]);
    for (let step = 0; step <= 1000; step++) {
      opt.zeroGrad();
      const loss = rosenbrock(x, y);
      const f = loss.item();
      if (step % 20 === 0 && Number.isFinite(f)) rows.push({ step, loss: Math.max(f, 1e-12), optimizer: name });
      if (step === 1000 || !Number.isFinite(f)) {
        const where = Number.isFinite(f) ? `(x, y) = (${x.item().toFixed(3)}, ${y.item().toFixed(3)})  f = ${f.toExponential(2)}` : `diverged at step ${step}`;
        console.log(`${name.padEnd(22)} ${where}`);
        break;
      }
      loss.backward();
      opt.step();
    }
  }
  await showChart({
    title: "Rosenbrock: loss per step (each racer at its own learning rate)",
    width: 480,
    height: 260,
    data: { values: rows },
    mark: "line",
    encoding: {
      x: { field: "step", type: "quantitative" },
      y: { field: "loss", type: "quantitative", scale: { type: "log" } },
      color: { field: "optimizer", type: "nominal" },
    },
  });
});

// %% [markdown]
// ## Reflection
//
// ### Predict, then measure
// Write a number in each of the next two cells **before** you run the measurement after them:
// work it out on paper from the lesson. The predictions are graded by hidden checks, within a
// tolerance.
//
// 1. Milestone 03 trains `Linear(784, 128) → ReLU → Linear(128, 10)` with Adam (no AMSGrad).
//    How many **bytes** of optimizer state does Adam hold once every parameter has taken a step?
// 2. With the default betas and a gradient that never changes, how many times larger than the
//    bias-corrected step would Adam's step be **at step 10** without bias correction? (The
//    lesson worked out step 1.)

// %% nbgrader={"grade": false, "grade_id": "predict-adam-state-bytes", "locked": false, "schema_version": 3, "solution": true, "task": false}
/** Your prediction: bytes of Adam's state for the 784-128-10 MLP. */
function predictedAdamStateBytes(): number {
  // ### BEGIN SOLUTION
  return 2 * 4 * (784 * 128 + 128 + 128 * 10 + 10); // m and v: one float32 each per parameter
  // ### END SOLUTION
}

// %% nbgrader={"grade": false, "grade_id": "predict-uncorrected-step", "locked": false, "schema_version": 3, "solution": true, "task": false}
/** Your prediction: the uncorrected step over the corrected one at step 10. */
function predictedUncorrectedRatio(): number {
  // ### BEGIN SOLUTION
  return (1 - 0.9 ** 10) / Math.sqrt(1 - 0.999 ** 10); // m̂ / √v̂ = (m / √v) · √(1 − β₂ᵗ) / (1 − β₁ᵗ)
  // ### END SOLUTION
}

// %%
await demo("measure the predictions", () => {
  const mlp = new Sequential([new Linear(784, 128, { seed: 1 }), new ReLU(), new Linear(128, 10, { seed: 2 })]);
  const adam = new Adam(mlp.parameters());
  for (const p of mlp.parameters()) setGrad(p, new Array<number>(p.size).fill(0.01));
  adam.step();
  console.log(`Adam's state: ${adam.stateBytes().toLocaleString("en")} bytes (you predicted ${predictedAdamStateBytes().toLocaleString("en")})`);
  // A constant gradient for 10 steps; the step Adam took, and the one m / √v would have given.
  const q = param([0]);
  const probe = new Adam([q], { lr: 1e-3 });
  let taken = 0;
  for (let t = 1; t <= 10; t++) {
    setGrad(q, [0.5]);
    const before = q.data[0];
    probe.step();
    taken = before - q.data[0];
  }
  const s = probe.state.get(q);
  const uncorrected = s === undefined ? Number.NaN : (1e-3 * s.expAvg[0]) / (Math.sqrt(s.expAvgSq[0]) + 1e-8);
  console.log(`step 10: ${taken.toExponential(4)} with bias correction, ${uncorrected.toExponential(4)} without: ${(uncorrected / taken).toFixed(3)} times (you predicted ${predictedUncorrectedRatio().toFixed(3)})`);
});

// %% nbgrader={"grade": true, "grade_id": "test-unit-optimizer-predictions", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
function testUnitOptimizerPredictions(): void {
  // ### BEGIN HIDDEN TESTS
  check("Adam's state for the digits MLP", 1, () => assertPrediction(predictedAdamStateBytes(), 814_160, { rtol: 0.01 }));
  check("the uncorrected step at t = 10", 1, () => assertPrediction(predictedUncorrectedRatio(), 6.528, { rtol: 0.03 }));
  // ### END HIDDEN TESTS
  passed("testUnitOptimizerPredictions");
}
testUnitOptimizerPredictions();

// %%
//| mutation predict-adam-state-bytes counts one running average instead of two
function predictedAdamStateBytes(): number {
  return 4 * (784 * 128 + 128 + 128 * 10 + 10);
}

// %%
//| mutation predict-uncorrected-step takes only v's error (√1000-like), forgetting that m is too small too
function predictedUncorrectedRatio(): number {
  return 1 / Math.sqrt(1 - 0.999 ** 10);
}

// %% [markdown] nbgrader={"grade": true, "grade_id": "explain-loss-scale", "locked": false, "points": 2, "schema_version": 3, "solution": true, "task": false}
// **Question 1.** Multiply Rosenbrock's function by 100: the same valley, the same minimum, every
// gradient 100 times larger. Rerun the race in your head. Which racers change behaviour, how, and
// why not the others? What does that tell you about the units of a learning rate for SGD and for
// Adam?
//
// ### BEGIN SOLUTION
// SGD (plain, momentum, Nesterov) steps are `lr · g`, so every step is 100 times larger: the
// stability limit drops from about `2e-3` to `2e-5`, and all the SGD racers at `1e-3` diverge;
// to get the old behaviour back you must divide their learning rates by 100. Adam steps by
// `lr · m̂ / (√v̂ + ε)`: scaling every gradient by 100 scales `m̂` by 100 and `√v̂` by 100, so the
// step is unchanged (up to `ε`, negligible here) and Adam runs exactly the same race. SGD's
// learning rate has the units of "parameter per unit of gradient" and depends on the loss's
// scale and curvature; Adam's is a step length in the parameters' own units, which is why
// `1e-3` works for so many problems and why a learning rate cannot be copied between the two.
// ### END SOLUTION
//
// ### BEGIN RUBRIC
// 2 points: the SGD racers' steps grow 100 times (diverge at their current rates, need lr / 100),
// Adam is unchanged because the ratio m̂/√v̂ is scale-invariant (up to ε), and the conclusion about
// units (SGD's lr depends on the loss's scale, Adam's is a step length). 1 point: the behaviour of
// one family right with its reason, or both behaviours without reasons.
// ### END RUBRIC

// %% [markdown] nbgrader={"grade": true, "grade_id": "explain-adamw-decay", "locked": false, "points": 2, "schema_version": 3, "solution": true, "task": false}
// **Question 2.** Two weights of the same value `θ = 1` in a model trained with Adam and
// `weightDecay = 0.01`: one always has gradients near 10, the other gradients near 0.001. How much
// does the weight decay shrink each of them per step, roughly, under `Adam` (L2 in the gradient)
// and under `AdamW`? Which behaviour is what weight decay is meant to do, and why?
//
// ### BEGIN SOLUTION
// With L2 in the gradient, `λθ = 0.01` is added to `g` and the sum is divided by `√v̂ ≈ |g + λθ|`.
// For the busy weight the decay is 0.01 next to a gradient of 10: its share of the step is about
// `lr · 0.01 / 10 = 0.001·lr`, almost nothing. For the quiet weight the decay (0.01) dominates
// the gradient (0.001), so the step is close to a full `lr` towards zero, every step: the rarely
// used weight is shrunk hard, the busy one barely. AdamW shrinks both by the same factor,
// `θ ← θ(1 − lr·λ)`, `lr · 0.01` per step here, whatever their gradients. Weight decay is meant
// to pull every weight towards zero in proportion to its size (a prior for small weights), not
// in inverse proportion to how much it is used: AdamW does that, and it also makes `λ` tunable
// apart from the learning rate's adaptive scaling.
// ### END SOLUTION
//
// ### BEGIN RUBRIC
// 2 points: under Adam the decay is divided by √v̂, so the busy weight is hardly decayed and the
// quiet one by about lr per step; under AdamW both shrink by lr·λ·θ; AdamW matches the intent
// (decay proportional to the weight, independent of its gradients). 1 point: the difference
// stated without the two cases worked out, or the cases without which is intended.
// ### END RUBRIC

// %% [markdown] nbgrader={"grade": true, "grade_id": "explain-warmup", "locked": false, "points": 2, "schema_version": 3, "solution": true, "task": false}
// **Question 3.** The warm-up demo trained the same network twice with Adam at `lr = 0.1`. Explain,
// from Adam's update rule, why its first steps were so harmful without a warm-up, and why plain
// SGD at a learning rate that suits it has much less need of one.
//
// ### BEGIN SOLUTION
// At step 1 bias correction gives `m̂ = g` and `v̂ = g²`, so every parameter moves by `lr · g/|g|`:
// a full `lr` (0.1 here) in every coordinate at once, whatever the gradient's size, including
// the many coordinates whose gradients were tiny and meaningless. Over the next steps `v̂` is an
// average of a few squared gradients, so it is noisy and often small, and `1/√v̂` makes steps
// that are large and erratic. Together these moves, made from a random initialisation, threw the
// network to a worse point (the loss rose from 1.13 to about 1.95) before it could recover. SGD's
// step is `lr · g`: small gradients give small steps, so its first steps are only as large as the
// gradients justify, and no statistic needs time to settle. A warm-up keeps Adam's rate small
// until `v̂` averages enough gradients to be trusted (on the order of `1/(1 − β₂)` steps).
// ### END SOLUTION
//
// ### BEGIN RUBRIC
// 2 points: the first step is a sign step of size lr in every coordinate, `v̂` is noisy while it
// averages few gradients (large 1/√v̂), and SGD's steps scale with the gradient so it has no such
// early phase. 1 point: one of the Adam reasons and the contrast with SGD, or both Adam reasons
// without the contrast.
// ### END RUBRIC

// %% [markdown]
// ## Module test

// %% nbgrader={"grade": true, "grade_id": "test-module-optimizers", "locked": true, "points": 4, "schema_version": 3, "solution": false, "task": false}
function testModule(): void {
  // Fit y = 3x − 1 with a Linear(1 → 1) layer: autograd gives the gradients, each optimizer
  // must bring the loss down by a large factor and keep the layer's own tensors.
  const x = new Tensor([[-1], [0], [1], [2]]);
  const y = x.mul(3).sub(1);
  const mse = new MSELoss();
  const makers: [string, (ps: Tensor[]) => Optimizer][] = [
    ["SGD", (ps) => new SGD(ps, { lr: 0.1 })],
    ["SGD + momentum", (ps) => new SGD(ps, { lr: 0.05, momentum: 0.9 })],
    ["Adam", (ps) => new Adam(ps, { lr: 0.1 })],
  ];
  for (const [name, make] of makers) {
    const layer = new Linear(1, 1, { seed: 3 });
    const [weight, bias] = layer.parameters();
    const opt = make(layer.parameters());
    const first = mse.forward(layer.forward(x), y).item();
    let last = first;
    for (let step = 0; step < 100; step++) {
      opt.zeroGrad();
      const loss = mse.forward(layer.forward(x), y);
      loss.backward();
      opt.step();
      last = loss.item();
    }
    assert(last < first / 100, `${name}: loss ${first} -> ${last}`);
    assert(layer.parameters()[0] === weight && layer.parameters()[1] === bias, `${name}: same tensors`);
  }
  // ### BEGIN HIDDEN TESTS
  // One SGD step on the MSE of a Linear layer equals a step computed by hand in float64:
  // ∂/∂w mean((wx + b − y)²) = mean(2(wx + b − y)x), ∂/∂b = mean(2(wx + b − y)).
  const layer = new Linear(1, 1, { seed: 5 });
  const w0 = layer.weight.data[0];
  const b0 = (layer.bias as Tensor).data[0];
  /** Oracle: [w, b] after one SGD step (lr 0.1, weight decay 0.01) on the MSE, by hand in float64. */
  function oneStep64(w: number, b: number): number[] {
    const xs = [-1, 0, 1, 2];
    let gw = 0;
    let gb = 0;
    for (const x1 of xs) {
      const residual = w * x1 + b - (3 * x1 - 1);
      gw += (2 * residual * x1) / xs.length;
      gb += (2 * residual) / xs.length;
    }
    return [w - 0.1 * (gw + 0.01 * w), b - 0.1 * (gb + 0.01 * b)];
  }
  const sgd = new SGD(layer.parameters(), { lr: 0.1, momentum: 0.9, weightDecay: 0.01 });
  sgd.zeroGrad();
  mse.forward(layer.forward(x), y).backward();
  sgd.step();
  assertClose(
    [layer.weight.data[0], (layer.bias as Tensor).data[0]],
    oneStep64(w0, b0),
    { rtol: 1e-5, atol: 1e-6 },
    "a real backward pass followed by one SGD step",
  );
  sgd.zeroGrad();
  assert(layer.weight.grad === null, "zeroGrad after backward");
  {
    // Seeded end to end: a Linear layer of random size and seed, with a random bias, fitted to
    // random data (random inputs and targets, MSE) for a random number of steps by SGD (random
    // momentum, Nesterov or not, weight decay), Adam and AdamW (random hyperparameters); real
    // backward passes feed the optimizers. The losses and the final parameters are checked
    // against the same training computed by hand in float64.
    const r = testRandom("optimizers/module");
    const [count, inF, outF] = [r.int(2, 6), r.int(1, 4), r.int(1, 3)];
    const inputs = r.numbers(count * inF, -2, 2);
    const targets = r.numbers(count * outF, -2, 2);
    interface Run { kind: "SGD" | "Adam" | "AdamW"; lr: number; momentum: number; nesterov: boolean; weightDecay: number; betas: [number, number] }
    /**
     * Oracle: `steps` steps of the run on mean((xW + b − y)²) in float64, from W0 and b0; the loss
     * before each step and the final [W, b]. The gradients by hand: 2/(N·out)·xᵀ(xW + b − y), and
     * the same summed over the rows for b.
     */
    function fit64(run: Run, w0: number[], b0: number[], steps: number): { losses: number[]; params: number[][] } {
      const params = [w0.slice(), b0.slice()];
      const buffers: number[][] = [];
      const m = params.map((p) => p.map(() => 0));
      const v = params.map((p) => p.map(() => 0));
      const losses: number[] = [];
      const scale = 2 / (count * outF);
      for (let t = 1; t <= steps; t++) {
        const [w, b] = params;
        const grads = [w.map(() => 0), b.map(() => 0)];
        let loss = 0;
        for (let n = 0; n < count; n++) {
          for (let o = 0; o < outF; o++) {
            let z = b[o];
            for (let i = 0; i < inF; i++) z += inputs[n * inF + i] * w[i * outF + o];
            const residual = z - targets[n * outF + o];
            loss += (residual * residual) / (count * outF);
            for (let i = 0; i < inF; i++) grads[0][i * outF + o] += scale * residual * inputs[n * inF + i];
            grads[1][o] += scale * residual;
          }
        }
        losses.push(loss);
        params.forEach((p, k) => {
          for (let j = 0; j < p.length; j++) {
            let g = grads[k][j];
            if (run.kind === "AdamW") p[j] -= run.lr * run.weightDecay * p[j];
            else g += run.weightDecay * p[j];
            if (run.kind === "SGD") {
              let d = g;
              if (run.momentum !== 0) {
                buffers[k] ??= [];
                buffers[k][j] = t === 1 ? g : run.momentum * buffers[k][j] + g;
                d = run.nesterov ? g + run.momentum * buffers[k][j] : buffers[k][j];
              }
              p[j] -= run.lr * d;
            } else {
              const [b1, b2] = run.betas;
              m[k][j] = b1 * m[k][j] + (1 - b1) * g;
              v[k][j] = b2 * v[k][j] + (1 - b2) * g * g;
              p[j] -= (run.lr * (m[k][j] / (1 - b1 ** t))) / (Math.sqrt(v[k][j] / (1 - b2 ** t)) + 1e-8);
            }
          }
        });
      }
      return { losses, params };
    }
    for (const kind of ["SGD", "Adam", "AdamW"] as const) {
      const momentum = kind === "SGD" && r.bool(0.75) ? Math.fround(r.uniform(0.5, 0.95)) : 0;
      const run: Run = {
        kind,
        lr: Math.fround(kind === "SGD" ? r.uniform(0.005, 0.05) : r.uniform(0.01, 0.2)),
        momentum,
        nesterov: momentum > 0 && r.bool(),
        weightDecay: r.bool(0.25) ? 0 : Math.fround(r.uniform(0.001, 0.1)),
        betas: [Math.fround(r.uniform(0.8, 0.95)), Math.fround(r.uniform(0.95, 0.999))],
      };
      const steps = r.int(3, 8);
      const layer = new Linear(inF, outF, { seed: r.seed() });
      const bias = layer.bias as Tensor;
      bias.data.set(r.numbers(outF, -1, 1));
      const w0 = Array.from(layer.weight.data);
      const b0 = Array.from(bias.data);
      const opt =
        kind === "SGD"
          ? new SGD(layer.parameters(), { lr: run.lr, momentum, nesterov: run.nesterov, weightDecay: run.weightDecay })
          : kind === "Adam"
            ? new Adam(layer.parameters(), { lr: run.lr, betas: run.betas, weightDecay: run.weightDecay })
            : new AdamW(layer.parameters(), { lr: run.lr, betas: run.betas, weightDecay: run.weightDecay });
      const x = new Tensor(inputs, [count, inF]);
      const y = new Tensor(targets, [count, outF]);
      const losses: number[] = [];
      for (let t = 0; t < steps; t++) {
        opt.zeroGrad();
        const loss = mse.forward(layer.forward(x), y);
        loss.backward();
        opt.step();
        losses.push(loss.item());
      }
      const label = `seeded ${kind} on Linear(${inF}, ${outF}), ${count} examples, ${steps} steps`;
      assertClose(losses, fit64(run, w0, b0, steps).losses, { rtol: 1e-4, atol: 1e-5 }, `${label}: the loss before each step`);
      assertClose([Array.from(layer.weight.data), Array.from(bias.data)], fit64(run, w0, b0, steps).params, { rtol: 1e-4, atol: 1e-5 }, `${label}: the parameters`);
    }
  }
  // ### END HIDDEN TESTS
  passed("testModule (optimizers)");
}
testModule();

// %% [markdown]
// ## Summary
//
// - An optimizer owns a list of parameters, a learning rate and per-parameter **state**, and
//   changes each parameter **in place**, so the model, the graph and the state keep pointing at
//   the same tensors.
// - `zeroGrad()` before each backward pass, because gradients accumulate.
// - **SGD** (PyTorch's rule): weight decay adds `λθ` to the gradient; momentum keeps
//   `b ← μb + (1 − τ)g` (the first `b` is `g`); Nesterov steps with `g + μb`; then `θ ← θ − γ·step`.
// - **Adam** keeps averages of `g` and `g²`, corrects their zero start with `1 − βᵗ`, and steps
//   `γ m̂ / (√v̂ + ε)`: about `γ` per step whatever the gradient's scale. **AdamW** decays the
//   weights directly (`θ ← θ − γλθ`) instead of through the gradient.
// - Without bias correction Adam's first step would be `(1 − β₁)/√(1 − β₂) ≈ 3.2` times too
//   large (the errors of `m` and `v` partly cancel), and up to about 6.6 times around step 12.
// - Schedules (**StepLR**, **CosineAnnealingLR**, **LinearLR**) set `lr` once per `step()`; a
//   linear **warm-up** keeps Adam's early, unreliable steps small until `v̂` has averaged enough
//   gradients.
// - A learning rate belongs to its optimizer: SGD's multiplies the gradient (its limit is
//   `2 / curvature`), Adam's is a step length in the parameters' units.
// - State costs memory: none for SGD, one parameter-sized buffer for momentum, two for Adam.
//
// Module 08 puts a model, a loss, a data loader and an optimizer together into a training loop.
