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
// - what optimizer state costs: Adam keeps two extra numbers for every parameter.

// %%
//| default_exp optim

// %%
//| export
import { Tensor } from "tinytorch-ts/core/tensor";

// %% nbgrader={"grade": false, "grade_id": "optimizers-test-helpers", "locked": true, "schema_version": 3, "solution": false, "task": false}
// Notebook-only imports (not part of the package).
import { assert, assertClose, assertEqual, assertThrows, demo, passed, testRandom } from "tinytorch-ts/support/testing";
import { showChart } from "tinytorch-ts/support/chart";
import { Linear } from "tinytorch-ts/core/layers";
import { MSELoss } from "tinytorch-ts/core/losses";

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
// **TODO**: Set the gradient of every parameter to `null`.
//
// **APPROACH**: loop over `this.params` and assign `p.grad = null`.

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
// **APPROACH**: for each parameter `p` (index `i`) in `this.params`:
// 1. `const grad = this.gradientOf(p, i)`; skip `p` when it is `null`.
// 2. If momentum is used, fetch the buffer from `this.state.get(p)`; when there is none, this
//    is step 1: create a `Float32Array` copy of the (weight-decayed) gradient and store it with
//    `this.state.set(p, { momentumBuffer })`.
// 3. For every element `j`: `d = grad[j] + λ·p.data[j]` (the weight decay); update the buffer
//    (except on step 1) and pick `d` as the formula says; then `p.data[j] -= lr·d`.
//
// **HINTS**:
// - Read `p.data[j]` for the weight decay **before** writing the new value.
// - Update `p.data` in place; never assign a new tensor to the parameter.

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
// undoes exactly that (`0.1·g / (1 − 0.9) = g`), and `1 − β₂ᵗ` does the same for `v`. Without
// it the first steps would be far too large, since `v` (with `β₂ = 0.999`) starts 1000 times too
// small, and `1/√v` about 30 times too large.
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
// **Cost.** Two state arrays per parameter (three with AMSGrad): for the 784-128-10 MLP of the
// milestone, 101,770 parameters take 407 KB and Adam adds 814 KB. For large models, optimizer
// state is often the largest block of training memory.
//
// ### Exercise 3: `Adam.step`
//
// **TODO**: Implement the algorithm above, including `amsgrad` and the decoupled weight decay
// that `AdamW` switches on (`this.decoupledWeightDecay`).
//
// **APPROACH**: for each parameter `p` (index `i`) with a gradient:
// 1. Fetch its state, or create `{ step: 0, expAvg, expAvgSq, maxExpAvgSq }` with zero-filled
//    `Float32Array`s the size of `p` (`maxExpAvgSq` only when `amsgrad`, else `null`).
// 2. `state.step += 1`; compute `bc1 = 1 − β₁^step` and `bc2 = 1 − β₂^step`.
// 3. For every element `j`: apply the weight decay (decoupled: `p.data[j] *= 1 − lr·λ`;
//    otherwise `g += λ·p.data[j]`), update `m` and `v`, pick `v` or its running maximum, and
//    `p.data[j] -= lr · (m / bc1) / (√(v / bc2) + eps)`.
//
// **HINTS**:
// - `β^step` is `Math.pow(beta, state.step)`; compute it once per parameter, not per element.
// - With a constant gradient `g`, bias correction makes `m̂ = g` and `v̂ = g²` exactly, so every
//   step moves the parameter by almost exactly `lr`: a good check of your code.

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
  for (const amsgrad of [false, true]) {
    for (const decoupled of [false, true]) {
      const init = [0.5, -1.5, 2];
      const grads = [
        [1, -2, 0.5],
        [0.1, -0.1, 3],
        [0.01, 1, -2],
        [2, 0.5, 0.1],
        [-1, 0.2, 0.05],
        [0.3, -0.3, 0],
      ];
      const lr = 0.05;
      const [b1, b2] = [0.8, 0.95];
      const eps = 1e-6;
      const wd = 0.2;
      const theta = init.slice();
      const m = [0, 0, 0];
      const v = [0, 0, 0];
      const vmax = [0, 0, 0];
      for (let t = 1; t <= grads.length; t++) {
        for (let j = 0; j < 3; j++) {
          let g = grads[t - 1][j];
          if (decoupled) theta[j] = theta[j] - lr * wd * theta[j];
          else g = g + wd * theta[j];
          m[j] = b1 * m[j] + (1 - b1) * g;
          v[j] = b2 * v[j] + (1 - b2) * g * g;
          const mHat = m[j] / (1 - b1 ** t);
          vmax[j] = Math.max(vmax[j], v[j]);
          const vHat = (amsgrad ? vmax[j] : v[j]) / (1 - b2 ** t);
          theta[j] = theta[j] - (lr * mHat) / (Math.sqrt(vHat) + eps);
        }
      }
      const x = param(init);
      const options = { lr, betas: [b1, b2] as const, eps, weightDecay: wd, amsgrad };
      const opt = decoupled ? new AdamW([x], options) : new Adam([x], options);
      for (const g of grads) {
        setGrad(x, g);
        opt.step();
      }
      assertClose(Array.from(x.data), theta, { rtol: 1e-5, atol: 1e-6 }, `amsgrad ${amsgrad}, decoupled ${decoupled}`);
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
// **APPROACH**: `this.baseLr` is `γ₀`; use `Math.floor`, `Math.pow`, `Math.cos` and `Math.PI`.

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

// %% [markdown]
// ## Optimizers at work: a narrow valley
//
// Rosenbrock's function `f(x, y) = (1 − x)² + 100 (y − x²)²` has its minimum at `(1, 1)`, at the
// bottom of a long, curved, narrow valley: the classic test of an optimizer. Starting from
// `(−1.5, 2)`, each optimizer gets 1,000 steps; autograd (module 06) computes the gradients.
// Across the valley the function is steep, along it nearly flat. Plain SGD needs a learning rate
// small enough not to be thrown across the valley, and with it crawls along the floor: after
// 1,000 steps it is still far from `(1, 1)`. Momentum accumulates the small, consistent gradient
// along the floor and gets there; Nesterov's look-ahead a little faster. Adam divides each
// coordinate's step by that coordinate's typical gradient, so the flat direction gets steps as
// large as the steep one: with the same budget it ends closest.

// %%
await demo("Rosenbrock race", async () => {
  const rosenbrock = (x: Tensor, y: Tensor): Tensor =>
    x.neg().add(1).pow(2).add(y.sub(x.pow(2)).pow(2).mul(100)).sum();
  const racers: [string, (params: Tensor[]) => Optimizer][] = [
    ["SGD lr 1e-3", (ps) => new SGD(ps, { lr: 1e-3 })],
    ["SGD momentum 0.9", (ps) => new SGD(ps, { lr: 1e-3, momentum: 0.9 })],
    ["SGD Nesterov 0.9", (ps) => new SGD(ps, { lr: 1e-3, momentum: 0.9, nesterov: true })],
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
      if (step % 20 === 0) rows.push({ step, loss: Math.max(loss.item(), 1e-8), optimizer: name });
      if (step === 1000) {
        console.log(`${name.padEnd(18)} (x, y) = (${x.item().toFixed(3)}, ${y.item().toFixed(3)})  f = ${loss.item().toExponential(2)}`);
        break;
      }
      loss.backward();
      opt.step();
    }
  }
  await showChart({
    title: "Rosenbrock: loss per step",
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
  const xs = [-1, 0, 1, 2];
  const ys = xs.map((v) => 3 * v - 1);
  let gw = 0;
  let gb = 0;
  for (let k = 0; k < 4; k++) {
    const r = w0 * xs[k] + b0 - ys[k];
    gw += (2 * r * xs[k]) / 4;
    gb += (2 * r) / 4;
  }
  const sgd = new SGD(layer.parameters(), { lr: 0.1, momentum: 0.9, weightDecay: 0.01 });
  sgd.zeroGrad();
  mse.forward(layer.forward(x), y).backward();
  sgd.step();
  assertClose(
    [layer.weight.data[0], (layer.bias as Tensor).data[0]],
    [w0 - 0.1 * (gw + 0.01 * w0), b0 - 0.1 * (gb + 0.01 * b0)],
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
// - Schedules (**StepLR**, **CosineAnnealingLR**) set `lr` once per epoch.
// - State costs memory: none for SGD, one parameter-sized buffer for momentum, two for Adam.
//
// Module 08 puts a model, a loss, a data loader and an optimizer together into a training loop.
