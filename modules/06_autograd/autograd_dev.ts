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
// # Module 06: Autograd
//
// A network learns by nudging each weight against the gradient of the loss: if raising a
// weight a little raises the loss, lower it. So training needs `dLoss/dw` for every weight `w`,
// and a network has thousands or millions of them. This module computes all of them at once,
// automatically, for any network built from the operations of modules 01 to 04.
//
// ### Why not finite differences?
// The obvious way is to wiggle each weight: `(L(w + h) - L(w - h)) / 2h`. That costs two forward
// passes per weight: for the 100,000 weights of a small digit classifier, 200,000 forward passes
// per step. It is also inexact (`h` too large is biased, `h` too small drowns in rounding). We
// keep it for one job only: checking, in the tests, that the fast method is right.
//
// ### Reverse-mode automatic differentiation
// Every operation we have is simple, and we know its derivative on paper. The **chain rule**
// composes them: if `y = f(x)` and `L` depends on `y`, then `dL/dx = dL/dy * dy/dx`. Reverse
// mode applies it from the loss backwards:
//
// 1. **Forward**, each operation leaves a note on its result (module 01 built this in: the
//    tensor's `gradFn`). The notes form a graph from the inputs to the loss.
// 2. **Backward**, start from `dL/dL = 1` at the loss and visit the graph in reverse
//    topological order: each node receives `dL/d(output)`, and its *backward rule* turns that
//    into `dL/d(input)` for each of its inputs.
// 3. A tensor used by several operations receives several contributions: they **add up**
//    (the multivariable chain rule sums over every path).
//
// One backward pass gives the gradient for every weight, at a cost of about two forward
// passes, whatever the number of weights. That is why every framework does it this way.
//
// ### Where this module lives
// Autograd bolted onto a Tensor that had not planned for it is how a framework ends up with two
// slightly different Tensor APIs; here it was planned from the start. The Tensor of module 01 already has `requiresGrad`, `grad` and `gradFn`,
// already takes notes, and has a `backward()` method that calls `Tensor.backwardPass`. This
// module supplies the two missing pieces: **the backward rule of every operation**, registered
// by name in `Tensor.backwardRules`, and **the backward pass**. Its package file,
// `tinytorch-ts/core/autograd`, is loaded by `tinytorch-ts/core/tensor` itself at its end (module
// 01 declares it with `//| extended_by core.autograd`), so every module from here on gets
// gradients just by importing `Tensor`.
//
// ### What you will learn
// - the backward pass: a topological order of the graph, built without recursion, so a chain
//   of 10,000 operations does not overflow the stack;
// - the backward rules of element-wise operations, broadcasting, matrix multiplication,
//   reductions, shape changes, activations and losses, derived from the shapes and the calculus;
// - how to check a gradient numerically, why the graph must be released after `backward()`, and
//   why a second pass through a released graph must fail loudly (`retainGraph` keeps it);
// - what a backward pass costs: the nodes it visits, the products it computes, the memory the
//   graph holds until it is released (you predict each, then measure it).

// %%
//| default_exp core.autograd

// %%
//| export
import { Tensor, elementwiseKernel, normalizeAxis, shapeSize } from "tinytorch-ts/core/tensor";
import type { GradNode } from "tinytorch-ts/core/tensor";

// %% nbgrader={"grade": false, "grade_id": "autograd-test-helpers", "locked": true, "schema_version": 3, "solution": false, "task": false}
// Notebook-only helpers: assertions and the gradient checker (not part of the package).
import { assert, assertClose, assertEqual, assertPrediction, assertShape, assertThrows, check, demo, passed, testRandom } from "tinytorch-ts/support/testing";
import { matmulKernel, setMatmulBackend } from "tinytorch-ts/core/tensor";
import { Linear, Sequential, Dropout } from "tinytorch-ts/core/layers";
import { ReLU, Sigmoid, Tanh, GELU, Softmax } from "tinytorch-ts/core/activations";
import { MSELoss, CrossEntropyLoss, BinaryCrossEntropyLoss } from "tinytorch-ts/core/losses";

/** Float32-exact pseudo-random values in [-scale, scale), from a seed (tests only). */
function sample(count: number, seed: number, scale = 1): Float64Array {
  const out = new Float64Array(count);
  let state = seed >>> 0;
  for (let i = 0; i < count; i++) {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    out[i] = Math.fround((state / 4294967296 - 0.5) * 2 * scale);
  }
  return out;
}

/**
 * Checks the gradients of `build` at `inputs` against central differences of `reference`, a
 * float64 re-implementation of the same function written by the test (so the student's forward
 * pass is never trusted). A non-scalar output is reduced with fixed random weights `w`:
 * the analytic side calls `out.backward(w)`, the numeric side differentiates `sum(w * f(x))`.
 */
function checkGradients(
  name: string,
  inputs: { shape: number[]; values: Float64Array }[],
  build: (xs: Tensor[]) => Tensor,
  reference: (xs: Float64Array[]) => Float64Array,
  tolerance = { rtol: 2e-3, atol: 2e-4 },
): void {
  const tensors = inputs.map((x) => new Tensor(Float32Array.from(x.values), x.shape).setRequiresGrad());
  const out = build(tensors);
  const weights = sample(out.size, 99);
  const scalar = (xs: Float64Array[]): number => {
    const y = reference(xs);
    let total = 0;
    for (let i = 0; i < y.length; i++) total += (out.shape.length === 0 ? 1 : weights[i]) * y[i];
    return total;
  };
  if (out.shape.length === 0) out.backward();
  else out.backward(new Tensor(Float32Array.from(weights), out.shape));
  const xs = inputs.map((x) => Float64Array.from(x.values));
  inputs.forEach((input, k) => {
    const grad = tensors[k].grad;
    const numeric: number[] = [];
    for (let i = 0; i < input.values.length; i++) {
      const h = 1e-6 * Math.max(1, Math.abs(xs[k][i]));
      const keep = xs[k][i];
      xs[k][i] = keep + h;
      const up = scalar(xs);
      xs[k][i] = keep - h;
      const down = scalar(xs);
      xs[k][i] = keep;
      numeric.push((up - down) / (2 * h));
    }
    // The gradient itself is the record (the grader compares it with the reference's), and its
    // shape: a missing gradient has neither.
    assertShape(grad?.shape ?? [-1], input.shape, `${name}: the shape of input ${k}'s gradient`);
    assertClose(Array.from(grad?.data ?? []), numeric, tolerance, `${name}: d/dx${k} against float64 central differences`);
  });
}

/** Float64 reference kernels for the tests: broadcasting, matmul, reductions, softmax. */
const ref = {
  /** fn(a, b) with numpy broadcasting, in float64. */
  binary(aShape: number[], bShape: number[], a: Float64Array, b: Float64Array, fn: (x: number, y: number) => number): Float64Array {
    const n = Math.max(aShape.length, bShape.length);
    const pad = (s: number[]) => [...new Array<number>(n - s.length).fill(1), ...s];
    const as = pad(aShape);
    const bs = pad(bShape);
    const shape = as.map((d, i) => Math.max(d, bs[i]));
    const out = new Float64Array(shape.reduce((p, d) => p * d, 1));
    const offset = (s: number[], idx: number[]) => idx.reduce((o, v, i) => o * s[i] + (s[i] === 1 ? 0 : v), 0);
    for (let flat = 0; flat < out.length; flat++) {
      const idx: number[] = [];
      let rest = flat;
      for (let i = n - 1; i >= 0; i--) {
        idx[i] = rest % shape[i];
        rest = Math.floor(rest / shape[i]);
      }
      out[flat] = fn(a[offset(as, idx)], b[offset(bs, idx)]);
    }
    return out;
  },
  /** [batch, m, k] @ [batch, k, n] with batch 1 broadcast on either side. */
  matmul(a: Float64Array, b: Float64Array, batch: [number, number], m: number, k: number, n: number): Float64Array {
    const count = Math.max(batch[0], batch[1]);
    const out = new Float64Array(count * m * n);
    for (let t = 0; t < count; t++) {
      const ao = (batch[0] === 1 ? 0 : t) * m * k;
      const bo = (batch[1] === 1 ? 0 : t) * k * n;
      for (let i = 0; i < m; i++)
        for (let j = 0; j < n; j++) {
          let s = 0;
          for (let p = 0; p < k; p++) s += a[ao + i * k + p] * b[bo + p * n + j];
          out[t * m * n + i * n + j] = s;
        }
    }
    return out;
  },
  /** Reduces a [outer, len, inner] view over its middle axis. */
  reduce(x: Float64Array, outer: number, len: number, inner: number, fn: (values: number[]) => number): Float64Array {
    const out = new Float64Array(outer * inner);
    for (let o = 0; o < outer; o++)
      for (let i = 0; i < inner; i++) {
        const values: number[] = [];
        for (let r = 0; r < len; r++) values.push(x[(o * len + r) * inner + i]);
        out[o * inner + i] = fn(values);
      }
    return out;
  },
  /** log(softmax) of each row of a [rows, cols] matrix. */
  logSoftmaxRows(x: Float64Array, rows: number, cols: number): Float64Array {
    const out = new Float64Array(x.length);
    for (let r = 0; r < rows; r++) {
      let max = -Infinity;
      for (let c = 0; c < cols; c++) max = Math.max(max, x[r * cols + c]);
      let sum = 0;
      for (let c = 0; c < cols; c++) sum += Math.exp(x[r * cols + c] - max);
      for (let c = 0; c < cols; c++) out[r * cols + c] = x[r * cols + c] - max - Math.log(sum);
    }
    return out;
  },
};
const sum64 = (values: number[]): number => values.reduce((a, b) => a + b, 0);
const map64 = (x: Float64Array, fn: (v: number) => number): Float64Array => x.map(fn);

// %% [markdown]
// ## Part 1: The backward pass
//
// ### Topological order, without recursion
// The backward rule of a node may run only once its output's gradient is complete, that is, once
// every node that *used* its output has sent its contribution. Reverse topological order
// guarantees this: a node comes after all its inputs in topological order, so in reverse it comes
// before them.
//
// The textbook way is a recursive depth-first search: visit the inputs, then append the node.
// But recursion uses the call stack, and JavaScript's is small (about 10,000 frames in Node):
// a recurrent network unrolled over a long sequence, or simply a loop of 10,000 additions, would
// crash with `RangeError: Maximum call stack size exceeded`. So we keep our own stack: an array of
// `[tensor, nextInputIndex]` frames. A node is appended when all its inputs are done, which is
// exactly the post-order of the recursive version.
//
// Only tensors that require a gradient are part of the graph: a tensor without a note, or with
// `requiresGrad` false, is a leaf or a constant and ends the walk.
//
// ### Exercise 1: `topologicalOrder`
//
// **TODO**: Return every tensor reachable from `root` through `gradFn.inputs` (only those with
// `requiresGrad`), each once, inputs before the tensors computed from them, `root` last.
//
// **APPROACH**:
// 1. Write the recursive version on paper first: visit each input that requires a gradient,
//    then append the node. Where is a suspended call of it "paused"? At some tensor, on some
//    input index: that pair is all a frame of your own stack needs to hold.
// 2. Turn the recursion into a loop over that stack: what does the loop do when the top frame
//    still has an input to look at, and what when it has none left? Which of the two is the
//    moment the recursive version appends the node?
// 3. A node reachable along two paths (the diamond below) must be visited once: when do you
//    mark it, on the way down or on the way back?
//
// **HINTS**:
// - A `Set` of objects compares identities, which is what we want: two tensors with equal values
//   are still two nodes.
// - The test builds a chain of 10,000 additions. If your version recurses, it will fail there.

// %% nbgrader={"grade": false, "grade_id": "topological-order", "locked": false, "schema_version": 3, "solution": true, "task": false}
//| export
/** The tensors `root` depends on (requiresGrad only), inputs first, `root` last; no recursion. */
function topologicalOrder(root: Tensor): Tensor[] {
  // ### BEGIN SOLUTION
  const order: Tensor[] = [];
  const visited = new Set<Tensor>([root]);
  const stack: [Tensor, number][] = [[root, 0]];
  while (stack.length > 0) {
    const frame = stack[stack.length - 1];
    const [tensor, next] = frame;
    const inputs = tensor.gradFn?.inputs ?? [];
    if (next < inputs.length) {
      frame[1] = next + 1;
      const input = inputs[next];
      if (input.requiresGrad && !visited.has(input)) {
        visited.add(input);
        stack.push([input, 0]);
      }
    } else {
      stack.pop();
      order.push(tensor);
    }
  }
  return order;
  // ### END SOLUTION
}

// %% nbgrader={"grade": true, "grade_id": "test-unit-topological-order", "locked": true, "points": 3, "schema_version": 3, "solution": false, "task": false}
function testUnitTopologicalOrder(): void {
  const a = new Tensor([1, 2]).setRequiresGrad();
  const b = a.mul(2);
  const c = a.add(1);
  const d = b.mul(c); // a diamond: a feeds b and c, both feed d
  const order = topologicalOrder(d);
  assertEqual(order.length, 4, "each node once");
  assert(order[order.length - 1] === d, "the root comes last");
  assert(order.indexOf(a) < order.indexOf(b) && order.indexOf(a) < order.indexOf(c), "inputs first");
  // ### BEGIN HIDDEN TESTS
  const constant = new Tensor([5, 5]);
  const e = d.add(constant);
  assert(!topologicalOrder(e).includes(constant), "constants are not part of the graph");
  assertEqual(topologicalOrder(a), [a], "a leaf alone");
  let x = new Tensor([0]).setRequiresGrad();
  const start = x;
  for (let i = 0; i < 10000; i++) x = x.add(1);
  const deep = topologicalOrder(x);
  assertEqual(deep.length, 10001, "a chain of 10,000 operations");
  assert(deep[0] === start && deep[10000] === x, "chain in order");
  const twice = a.mul(a);
  assertEqual(topologicalOrder(twice).length, 2, "an input used twice is visited once");
  {
    // Seeded: a random graph of leaves (some of them constants) and operations. The order holds
    // exactly the nodes that require a gradient and are reachable from the root, each once,
    // inputs before the nodes computed from them; and a chain of random length over 10,000.
    const r = testRandom("autograd/topological-order");
    const nodes: Tensor[] = [];
    const inputsOf: number[][] = []; // the test's own record of the graph
    const leafWants: boolean[] = [];
    const leafCount = r.int(2, 5);
    for (let i = 0; i < leafCount; i++) {
      const leaf = new Tensor(r.numbers(3));
      if (i === 0 || r.bool(0.6)) leaf.setRequiresGrad();
      nodes.push(leaf);
      inputsOf.push([]);
      leafWants.push(leaf.requiresGrad);
    }
    const opCount = r.int(5, 40);
    for (let i = 0; i <= opCount; i++) {
      // The last operation uses leaf 0, so the root requires a gradient.
      const a = i === opCount ? nodes.length - 1 : r.int(0, nodes.length - 1);
      const b = i === opCount ? 0 : r.int(0, nodes.length - 1);
      nodes.push(r.bool() ? nodes[a].add(nodes[b]) : nodes[a].mul(nodes[b]));
      inputsOf.push([a, b]);
    }
    /** Oracle: the indices of the nodes that require a gradient and are reachable from the last. */
    function reachable(graph: number[][], leaves: boolean[]): number[] {
      const wants: boolean[] = [];
      graph.forEach((ins, i) => wants.push(ins.length === 0 ? leaves[i] : ins.some((j) => wants[j])));
      const seen = new Set<number>([graph.length - 1]);
      const todo = [graph.length - 1];
      while (todo.length > 0) {
        for (const j of graph[todo.pop() as number]) {
          if (wants[j] && !seen.has(j)) {
            seen.add(j);
            todo.push(j);
          }
        }
      }
      return [...seen].sort((p, q) => p - q);
    }
    const root = nodes[nodes.length - 1];
    const seededOrder = topologicalOrder(root);
    const at = new Map(seededOrder.map((t, i) => [t, i]));
    assertEqual(seededOrder.map((t) => nodes.indexOf(t)).sort((p, q) => p - q), reachable(inputsOf, leafWants), "seeded graph: the nodes of the order");
    assert(seededOrder[seededOrder.length - 1] === root, "seeded graph: the root comes last");
    const inputsFirst = inputsOf.every((ins, i) => {
      const self = at.get(nodes[i]);
      return self === undefined || ins.every((j) => (at.get(nodes[j]) ?? -1) < self);
    });
    assert(inputsFirst, "seeded graph: inputs come before the nodes computed from them");
    const depth = r.int(10000, 12000);
    const every = r.int(2, 9);
    const base = new Tensor([1]).setRequiresGrad();
    let chain = base;
    for (let i = 1; i <= depth; i++) chain = i % every === 0 ? chain.add(base) : chain.add(1);
    const chainOrder = topologicalOrder(chain);
    assertEqual(chainOrder.length, depth + 1, "seeded chain: every node once");
    assert(chainOrder[0] === base && chainOrder[depth] === chain, "seeded chain: in order");
  }
  // ### END HIDDEN TESTS
  passed("testUnitTopologicalOrder");
}
testUnitTopologicalOrder();

// %%
//| mutation topological-order appends a node when it is first reached (pre-order), before its inputs
function topologicalOrder(root: Tensor): Tensor[] {
  const order: Tensor[] = [];
  const visited = new Set<Tensor>([root]);
  const stack: Tensor[] = [root];
  while (stack.length > 0) {
    const tensor = stack.pop() as Tensor;
    order.push(tensor);
    for (const input of tensor.gradFn?.inputs ?? []) {
      if (input.requiresGrad && !visited.has(input)) {
        visited.add(input);
        stack.push(input);
      }
    }
  }
  return order.reverse();
}

// %%
//| mutation topological-order follows every input, constants that need no gradient included
function topologicalOrder(root: Tensor): Tensor[] {
  const order: Tensor[] = [];
  const visited = new Set<Tensor>([root]);
  const stack: [Tensor, number][] = [[root, 0]];
  while (stack.length > 0) {
    const frame = stack[stack.length - 1];
    const [tensor, next] = frame;
    const inputs = tensor.gradFn?.inputs ?? [];
    if (next < inputs.length) {
      frame[1] = next + 1;
      if (!visited.has(inputs[next])) {
        visited.add(inputs[next]);
        stack.push([inputs[next], 0]);
      }
    } else {
      stack.pop();
      order.push(tensor);
    }
  }
  return order;
}

// %% [markdown]
// ### Accumulating, and releasing the graph
// With the order in hand, the pass is a loop. It keeps a map from each tensor to the gradient
// received so far. For each tensor, last to first:
//
// - if it is a **leaf** (no `gradFn`), its gradient is added into `tensor.grad` (which may already
//   hold a gradient from an earlier `backward()`: gradients accumulate until an optimiser's
//   `zeroGrad()` clears them, which is what lets you add up several mini-batches);
// - otherwise its rule, `Tensor.backwardRules.get(gradFn.op)`, gives one gradient per input, and
//   each one that is not `null` and whose input requires a gradient is **added** to that input's
//   entry in the map;
// - then its note is dropped: the graph is **released** (`release(tensor)`, given below, sets
//   `gradFn = null` and remembers that it did). Each note holds its inputs, and through them
//   every intermediate tensor of the forward pass. Kept, 1,000 training steps would keep 1,000
//   graphs alive. Intermediate tensors get no `.grad`; only leaves do.
//
// ### A released graph cannot be walked twice
// Once its note is dropped, a released tensor looks just like a leaf: `requiresGrad`, no
// `gradFn`. A second `backward()` through it would stop there, put a gradient into that
// intermediate tensor's `.grad` where nobody looks, and give the real leaves behind it nothing,
// without a word: a **silently wrong gradient**, the worst kind of bug a training loop can have
// (the loss still falls a little, so nothing looks broken). PyTorch refuses instead:
//
// > RuntimeError: Trying to backward through the graph a second time (or directly access saved
// > tensors after they have already been freed). Saved intermediate values of the graph are freed
// > when you call .backward() or autograd.grad(). Specify retain_graph=True if you need to
// > backward through the graph a second time or if you need to access saved tensors after
// > calling backward.
//
// PyTorch frees the tensors each node saved for its rule, so it complains when a second pass
// needs one of them; ours drops each note whole, so *any* second pass through a released tensor
// is refused. The pass looks for a released tensor in the order before it changes anything, and
// throws `RELEASED_GRAPH_ERROR` (given below), which starts with PyTorch's words and says what
// to do. The classic way to meet it: carrying a tensor computed from the parameters (an RNN's
// hidden state, a running average) from one training step into the next without `detach()`.
//
// When you do need a graph twice (two losses that share a trunk, say), keep it:
// `backward(loss, { retainGraph: true })` walks the graph without releasing it, like PyTorch's
// `loss.backward(retain_graph=True)`. Module 01's `loss.backward(gradient)` predates autograd's
// options, so they come in through the function form, as in PyTorch's
// `torch.autograd.backward(loss, retain_graph=True)`. The last pass should release (no option),
// or the graph lives as long as anything holds the loss.
//
// The backward rules themselves compute with tensor operations, and those must not take notes:
// the pass turns `Tensor.gradEnabled` off while it runs, and back to what it was at the end even
// if a rule throws (`try`/`finally`).
//
// ### Exercise 2: `backwardPass`
//
// **TODO**: Implement the pass described above: accumulate into the leaves, release the graph
// unless `options.retainGraph` is set, refuse a released graph, and take no notes while the
// rules run.
//
// **APPROACH**:
// 1. The seed is the gradient of `root` with respect to itself. Without `gradient` it is defined
//    only for a tensor of one element (what is its value?); with one, its shape must be the
//    root's. Refuse the rest with an `Error` that says what is wrong: `does not require a
//    gradient` (`root.requiresGrad` is false), `one element` (no gradient for a larger tensor),
//    or both shapes (`gradient of shape [2] for a tensor of shape [3]`).
// 2. Take the order; if any tensor in it `wasReleased`, throw `new Error(RELEASED_GRAPH_ERROR)`
//    before a single gradient is written anywhere.
// 3. Walk the order from the root down, with a map of the gradients collected so far (`accumulate`,
//    given, adds a contribution). Which tensors end with a `.grad`? Which get released, and
//    when may they not be?
// 4. Note-taking is off for the walk and back to what it was afterwards, whatever happens.
//
// **HINTS**:
// - What goes into a leaf's `.grad` must be a buffer of its own. The rule of `a + b` hands the
//   *same* tensor to both inputs, and an optimiser that scales one gradient in place (module 08's
//   clipping does) must not scale the other; nor may it scale the tensor the caller passed as
//   `gradient`. Which Tensor method gives a copy?
// - A rule with no registered entry is a bug worth naming: throw `no backward rule for 'sigmoid'`.
// - If a rule's result carried a note, `p.grad` would hold a graph of its own: memory that is
//   never released, and a second-order graph nobody asked for. The test looks at `p.grad.gradFn`.

// %% nbgrader={"grade": false, "grade_id": "accumulate", "locked": true, "schema_version": 3, "solution": false, "task": false}
//| export
/** Adds `g` to the gradient collected for `tensor` (in place when the buffer is ours). */
function accumulate(grads: Map<Tensor, Tensor>, tensor: Tensor, g: Tensor): void {
  const previous = grads.get(tensor);
  if (previous === undefined) {
    grads.set(tensor, g);
  } else {
    grads.set(tensor, previous.add(g));
  }
}

/** What a pass through a released graph throws: PyTorch's words, then what to do here. */
const RELEASED_GRAPH_ERROR =
  "Trying to backward through the graph a second time (or directly access saved tensors after " +
  "they have already been freed): an earlier backward pass released this graph. Pass " +
  "{ retainGraph: true } to the earlier pass (backward(loss, { retainGraph: true })) to walk it " +
  "again, run the forward pass again, or detach() a tensor you carry from one step to the next.";

/** The tensors whose note a backward pass dropped. A WeakSet: it keeps none of them alive. */
const releasedTensors = new WeakSet<Tensor>();

/** Drops the note of `tensor` (its part of the graph is released) and remembers that it did. */
function release(tensor: Tensor): void {
  tensor.gradFn = null;
  releasedTensors.add(tensor);
}

/** Whether a backward pass released the note that `tensor` had. */
function wasReleased(tensor: Tensor): boolean {
  return releasedTensors.has(tensor);
}

/** Options of a backward pass. */
interface BackwardOptions {
  /** Keep the graph, so that it can be walked again (PyTorch's `retain_graph=True`). */
  retainGraph?: boolean;
}

// %% nbgrader={"grade": false, "grade_id": "backward-pass", "locked": false, "schema_version": 3, "solution": true, "task": false}
//| export
/**
 * Accumulates d(root)/d(leaf) into `leaf.grad` for every leaf; releases the graph unless
 * `options.retainGraph`; refuses a graph that an earlier pass released.
 */
function backwardPass(root: Tensor, gradient?: Tensor, options: BackwardOptions = {}): void {
  // ### BEGIN SOLUTION
  if (!root.requiresGrad) {
    throw new Error("backward(): this tensor does not require a gradient (no input had requiresGrad)");
  }
  let seed: Tensor;
  if (gradient === undefined) {
    if (root.size !== 1) {
      throw new Error(`backward() without a gradient needs one element, got shape [${root.shape.join(", ")}]`);
    }
    seed = Tensor.ones(root.shape);
  } else {
    const same = gradient.ndim === root.ndim && gradient.shape.every((d, i) => d === root.shape[i]);
    if (!same) {
      throw new Error(`backward(): gradient of shape [${gradient.shape.join(", ")}] for a tensor of shape [${root.shape.join(", ")}]`);
    }
    seed = gradient.detach();
  }
  const order = topologicalOrder(root);
  if (order.some(wasReleased)) throw new Error(RELEASED_GRAPH_ERROR);
  const grads = new Map<Tensor, Tensor>([[root, seed]]);
  const wasEnabled = Tensor.gradEnabled;
  Tensor.gradEnabled = false;
  try {
    for (let k = order.length - 1; k >= 0; k--) {
      const tensor = order[k];
      const g = grads.get(tensor);
      grads.delete(tensor);
      const node = tensor.gradFn;
      if (node === null) {
        // A leaf's gradient owns its buffer: a rule may hand the same tensor to two inputs,
        // and an optimiser may scale gradients in place.
        if (g !== undefined) tensor.grad = tensor.grad === null ? g.clone() : tensor.grad.add(g);
        continue;
      }
      if (!options.retainGraph) release(tensor);
      if (g === undefined) continue;
      const rule = Tensor.backwardRules.get(node.op);
      if (rule === undefined) throw new Error(`no backward rule for '${node.op}'`);
      const inputGrads = rule(g, node, tensor);
      node.inputs.forEach((input, i) => {
        const ig = inputGrads[i];
        if (ig !== null && ig !== undefined && input.requiresGrad) accumulate(grads, input, ig);
      });
    }
  } finally {
    Tensor.gradEnabled = wasEnabled;
  }
  // ### END SOLUTION
}

// %% [markdown]
// The Tensor of module 01 calls `Tensor.backwardPass` from its `backward()` method. Installing
// ours is one assignment. The same cell gives `backward(root, options)`, the function form with
// options, and the **no-grad scope**: evaluation (computing accuracy on test data, say) needs no
// gradients, and taking notes would only cost memory. `noGrad(() => model.forward(x))` runs the
// function with note-taking off, and restores the previous setting afterwards, even if the
// function throws. (It ends when the function returns: do not pass an `async` function and
// expect the awaited part to be covered.)

// %% nbgrader={"grade": false, "grade_id": "install-backward", "locked": true, "schema_version": 3, "solution": false, "task": false}
//| export
Tensor.backwardPass = backwardPass;

/**
 * The backward pass with options, PyTorch's `torch.autograd.backward(root, gradient,
 * retain_graph)`: `backward(loss, { retainGraph: true })` keeps the graph for another pass;
 * `gradient` is what `loss.backward(gradient)` takes.
 */
function backward(root: Tensor, options: BackwardOptions & { gradient?: Tensor } = {}): void {
  backwardPass(root, options.gradient, { retainGraph: options.retainGraph });
}

/** Runs `fn` with gradient recording off (evaluation): no graph is built, then restores it. */
function noGrad<T>(fn: () => T): T {
  const previous = Tensor.gradEnabled;
  Tensor.gradEnabled = false;
  try {
    return fn();
  } finally {
    Tensor.gradEnabled = previous;
  }
}

/** Shorthand for registering backward rules by operation name. */
function registerRules(rules: Record<string, (grad: Tensor, node: GradNode, output: Tensor) => (Tensor | null)[]>): void {
  for (const [op, rule] of Object.entries(rules)) Tensor.backwardRules.set(op, rule);
}

// %% [markdown]
// No operation has a rule yet (you write them from Part 2 on), so the test of your pass brings
// two of its own: `test.mul`, an element-wise product, and `test.add`, a sum whose rule hands
// the same tensor to both inputs.

// %% nbgrader={"grade": true, "grade_id": "test-unit-backward-pass", "locked": true, "points": 4, "schema_version": 3, "solution": false, "task": false}
function testUnitBackwardPass(): void {
  registerRules({
    "test.mul": (g, node) => [g.mul(node.inputs[1]), g.mul(node.inputs[0])],
    "test.add": (g) => [g, g],
  });
  /** a * b and a + b element by element (same shapes), recorded as the test's own operations. */
  const tmul = (a: Tensor, b: Tensor): Tensor => Tensor.record(new Tensor(a.data.map((v, i) => v * b.data[i]), a.shape), "test.mul", [a, b]);
  const tadd = (a: Tensor, b: Tensor): Tensor => Tensor.record(new Tensor(a.data.map((v, i) => v + b.data[i]), a.shape), "test.add", [a, b]);
  const a = new Tensor([1, 2]).setRequiresGrad();
  const b = new Tensor([3, 4]).setRequiresGrad();
  const y = tadd(tmul(a, b), a); // a is used twice
  y.backward(new Tensor([1, 10]));
  assertEqual([a.grad?.toArray(), b.grad?.toArray()], [[4, 50], [1, 20]], "dy/da = b + 1 and dy/db = a, times the seed [1, 10]");
  assertEqual(y.gradFn === null, true, "the graph is released");
  assertThrows(() => y.backward(new Tensor([1, 1])), "Trying to backward through the graph a second time", "a second pass through a released graph");
  // ### BEGIN HIDDEN TESTS
  assertEqual([a.grad?.toArray(), b.grad?.toArray()], [[4, 50], [1, 20]], "a refused pass changes no gradient");
  assertEqual([a.grad?.requiresGrad, a.grad?.gradFn === null, b.grad?.requiresGrad, b.grad?.gradFn === null], [false, true, false, true], "gradients carry no graph of their own");
  assertEqual(Tensor.gradEnabled, true, "recording is back on after the pass");
  // What the rules see, and what a failing rule leaves behind.
  let seenInRule: boolean | null = null;
  registerRules({
    "test.spy": (g) => {
      seenInRule = Tensor.gradEnabled;
      return [g];
    },
    "test.fail": () => {
      throw new Error("test rule failed");
    },
  });
  const s = new Tensor([1]).setRequiresGrad();
  Tensor.record(new Tensor([1]), "test.spy", [s]).backward();
  assertEqual(seenInRule, false, "no notes are taken while the rules run");
  assertThrows(() => Tensor.record(new Tensor([1]), "test.fail", [s]).backward(), "test rule failed", "a rule that throws");
  assertEqual(Tensor.gradEnabled, true, "recording is back on after a rule threw");
  assertThrows(() => Tensor.record(new Tensor([1]), "test.unknown", [s]).backward(), "no backward rule for 'test.unknown'", "an operation without a rule");
  assertEqual(Tensor.gradEnabled, true, "recording is back on after a missing rule");
  const inside = noGrad(() => {
    Tensor.record(new Tensor([1]), "test.spy", [s]);
    return Tensor.gradEnabled;
  });
  assertEqual([inside, Tensor.gradEnabled], [false, true], "noGrad switches recording off and back on");
  // The checks before the walk.
  assertThrows(() => new Tensor([1]).backward(), "does not require a gradient", "a tensor that requires no gradient");
  assertThrows(() => tmul(a, b).backward(), "one element", "no gradient for a tensor of two elements");
  assertThrows(() => tmul(a, b).backward(new Tensor([1, 2, 3])), "shape", "a gradient of another shape");
  // Each leaf owns its gradient: test.add hands one tensor to both inputs.
  const p1 = new Tensor([1, 2]).setRequiresGrad();
  const p2 = new Tensor([3, 4]).setRequiresGrad();
  const seed = new Tensor([5, 6]);
  tadd(p1, p2).backward(seed);
  assertEqual([p1.grad?.data !== p2.grad?.data, p1.grad?.data !== seed.data], [true, true], "each leaf owns its gradient's buffer");
  {
    // Seeded: a random graph of test.mul and test.add over vectors of a random length, leaves of
    // which some need no gradient, backward from a random seed: every leaf's gradient against
    // float64 central differences. Then passes with retainGraph a random number of times, one
    // that releases, one that is refused (nothing changes), and a released intermediate tensor
    // used by a new graph (refused before anything is written).
    const r = testRandom("autograd/backward-pass");
    const len = r.int(1, 4);
    const leafCount = r.int(2, 4);
    const values = Array.from({ length: leafCount }, () => r.numbers(len, -1.5, 1.5));
    const wants = values.map((_, i) => i === 0 || r.bool(0.7));
    const ops: [boolean, number, number][] = []; // [isMul, input, input] over leaves, then nodes
    const opCount = r.int(3, 9);
    for (let k = 0; k < opCount; k++) {
      const top = leafCount + k - 1;
      ops.push([r.bool(), k === opCount - 1 ? top : r.int(0, top), k === opCount - 1 ? 0 : r.int(0, top)]);
    }
    const upstream = r.numbers(len, -2, 2);
    const leaves = values.map((v, i) => new Tensor(v).setRequiresGrad(wants[i]));
    const build = (): Tensor => {
      const nodes = leaves.slice();
      for (const [isMul, i, j] of ops) nodes.push(isMul ? tmul(nodes[i], nodes[j]) : tadd(nodes[i], nodes[j]));
      return nodes[nodes.length - 1];
    };
    /** Oracle: d/d(leaf) of sum(upstream * graph(leaves)) by float64 central differences. */
    function graphGradients64(): number[][] {
      const f = (xs: number[][]): number => {
        const nodes = xs.map((v) => v.slice());
        for (const [isMul, i, j] of ops) nodes.push(nodes[i].map((v, e) => (isMul ? v * nodes[j][e] : v + nodes[j][e])));
        return nodes[nodes.length - 1].reduce((t, v, e) => t + upstream[e] * v, 0);
      };
      return values.map((v, i) => {
        if (!wants[i]) return [];
        return v.map((keep, e) => {
          const h = 1e-6 * Math.max(1, Math.abs(keep));
          const xs = values.map((w) => w.slice());
          xs[i][e] = keep + h;
          const up = f(xs);
          xs[i][e] = keep - h;
          return (up - f(xs)) / (2 * h);
        });
      });
    }
    const root = build();
    const passes = r.int(1, 3);
    // A leaf that needs a gradient but is not in the graph has none: it counts as zeros.
    const gradOf = () => leaves.map((t, i) => Array.from(t.grad?.data ?? new Float32Array(wants[i] ? len : 0)));
    for (let k = 0; k < passes; k++) backward(root, { gradient: new Tensor(upstream), retainGraph: true });
    const label = `seeded graph of ${opCount} operations on ${leafCount} leaves of length ${len}`;
    assertClose(gradOf(), graphGradients64().map((g) => g.map((v) => v * passes)), { rtol: 2e-3, atol: 2e-4 }, `${label}: ${passes} pass(es) with retainGraph`);
    assertEqual(root.gradFn !== null, true, `${label}: retainGraph keeps the graph`);
    root.backward(new Tensor(upstream));
    assertClose(gradOf(), graphGradients64().map((g) => g.map((v) => v * (passes + 1))), { rtol: 2e-3, atol: 2e-4 }, `${label}: one more pass, which releases`);
    assertThrows(() => root.backward(new Tensor(upstream)), "Trying to backward through the graph a second time", `${label}: then a pass is refused`);
    assertClose(gradOf(), graphGradients64().map((g) => g.map((v) => v * (passes + 1))), { rtol: 2e-3, atol: 2e-4 }, `${label}: and changes nothing`);
    // A shared trunk h = x * w under two heads: the first pass retains the trunk, the second
    // walks it and releases it, a third head over it is refused before anything is written.
    const xv = r.numbers(len, -1, 1);
    const wv = r.numbers(len, -1, 1);
    const hv = r.numbers(len, -1, 1);
    const u2 = r.numbers(len, -2, 2);
    const x = new Tensor(xv).setRequiresGrad();
    const w = new Tensor(wv).setRequiresGrad();
    const head = new Tensor(hv).setRequiresGrad();
    const other = new Tensor(r.numbers(len, -1, 1)).setRequiresGrad();
    const h = tmul(x, w);
    backward(tadd(h, x), { gradient: new Tensor(upstream), retainGraph: true });
    tmul(h, head).backward(new Tensor(u2));
    /** Oracle: [dx, dw, dhead] of sum(upstream * (x w + x)) + sum(u2 * x w head), by hand in float64. */
    function trunk64(): number[][] {
      return [
        xv.map((_, e) => upstream[e] * (wv[e] + 1) + u2[e] * wv[e] * hv[e]),
        xv.map((_, e) => upstream[e] * xv[e] + u2[e] * xv[e] * hv[e]),
        xv.map((_, e) => u2[e] * xv[e] * wv[e]),
      ];
    }
    assertClose([x, w, head].map((t) => Array.from(t.grad?.data ?? [])), trunk64(), { rtol: 1e-5, atol: 1e-6 }, "seeded shared trunk: the first head retained it, the second walked it");
    assertThrows(() => tmul(h, other).backward(new Tensor(upstream)), "Trying to backward through the graph a second time", "seeded shared trunk: a third head after the trunk was released");
    assertEqual(other.grad === null, true, "seeded shared trunk: the refused pass wrote nothing");
  }
  // ### END HIDDEN TESTS
  passed("testUnitBackwardPass");
}
testUnitBackwardPass();

// %%
//| mutation backward-pass never switches note-taking off, so every gradient carries a graph
function backwardPass(root: Tensor, gradient?: Tensor, options: BackwardOptions = {}): void {
  if (!root.requiresGrad) throw new Error("backward(): this tensor does not require a gradient");
  if (gradient === undefined && root.size !== 1) throw new Error(`backward() without a gradient needs one element, got shape [${root.shape.join(", ")}]`);
  if (gradient !== undefined && gradient.shape.join() !== root.shape.join()) throw new Error(`backward(): gradient of shape [${gradient.shape.join(", ")}] for a tensor of shape [${root.shape.join(", ")}]`);
  const order = topologicalOrder(root);
  if (order.some(wasReleased)) throw new Error(RELEASED_GRAPH_ERROR);
  const grads = new Map<Tensor, Tensor>([[root, gradient === undefined ? Tensor.ones(root.shape) : gradient.detach()]]);
  for (let k = order.length - 1; k >= 0; k--) {
    const tensor = order[k];
    const g = grads.get(tensor);
    const node = tensor.gradFn;
    if (node === null) {
      if (g !== undefined) tensor.grad = tensor.grad === null ? g.clone() : tensor.grad.add(g);
      continue;
    }
    if (!options.retainGraph) release(tensor);
    if (g === undefined) continue;
    const rule = Tensor.backwardRules.get(node.op);
    if (rule === undefined) throw new Error(`no backward rule for '${node.op}'`);
    const inputGrads = rule(g, node, tensor);
    node.inputs.forEach((input, i) => {
      const ig = inputGrads[i];
      if (ig && input.requiresGrad) accumulate(grads, input, ig);
    });
  }
}

// %%
//| mutation backward-pass switches note-taking off and on again without finally, so a rule that throws leaves it off
function backwardPass(root: Tensor, gradient?: Tensor, options: BackwardOptions = {}): void {
  if (!root.requiresGrad) throw new Error("backward(): this tensor does not require a gradient");
  if (gradient === undefined && root.size !== 1) throw new Error(`backward() without a gradient needs one element, got shape [${root.shape.join(", ")}]`);
  if (gradient !== undefined && gradient.shape.join() !== root.shape.join()) throw new Error(`backward(): gradient of shape [${gradient.shape.join(", ")}] for a tensor of shape [${root.shape.join(", ")}]`);
  const order = topologicalOrder(root);
  if (order.some(wasReleased)) throw new Error(RELEASED_GRAPH_ERROR);
  const grads = new Map<Tensor, Tensor>([[root, gradient === undefined ? Tensor.ones(root.shape) : gradient.detach()]]);
  const wasEnabled = Tensor.gradEnabled;
  Tensor.gradEnabled = false;
  for (let k = order.length - 1; k >= 0; k--) {
    const tensor = order[k];
    const g = grads.get(tensor);
    const node = tensor.gradFn;
    if (node === null) {
      if (g !== undefined) tensor.grad = tensor.grad === null ? g.clone() : tensor.grad.add(g);
      continue;
    }
    if (!options.retainGraph) release(tensor);
    if (g === undefined) continue;
    const rule = Tensor.backwardRules.get(node.op);
    if (rule === undefined) throw new Error(`no backward rule for '${node.op}'`);
    const inputGrads = rule(g, node, tensor);
    node.inputs.forEach((input, i) => {
      const ig = inputGrads[i];
      if (ig && input.requiresGrad) accumulate(grads, input, ig);
    });
  }
  Tensor.gradEnabled = wasEnabled;
}

// %%
//| mutation backward-pass walks a released graph as if its released tensors were leaves (a silently wrong gradient)
function backwardPass(root: Tensor, gradient?: Tensor, options: BackwardOptions = {}): void {
  if (!root.requiresGrad) throw new Error("backward(): this tensor does not require a gradient");
  if (gradient === undefined && root.size !== 1) throw new Error(`backward() without a gradient needs one element, got shape [${root.shape.join(", ")}]`);
  if (gradient !== undefined && gradient.shape.join() !== root.shape.join()) throw new Error(`backward(): gradient of shape [${gradient.shape.join(", ")}] for a tensor of shape [${root.shape.join(", ")}]`);
  const order = topologicalOrder(root);
  const grads = new Map<Tensor, Tensor>([[root, gradient === undefined ? Tensor.ones(root.shape) : gradient.detach()]]);
  const wasEnabled = Tensor.gradEnabled;
  Tensor.gradEnabled = false;
  try {
    for (let k = order.length - 1; k >= 0; k--) {
      const tensor = order[k];
      const g = grads.get(tensor);
      const node = tensor.gradFn;
      if (node === null) {
        if (g !== undefined) tensor.grad = tensor.grad === null ? g.clone() : tensor.grad.add(g);
        continue;
      }
      if (!options.retainGraph) release(tensor);
      if (g === undefined) continue;
      const rule = Tensor.backwardRules.get(node.op);
      if (rule === undefined) throw new Error(`no backward rule for '${node.op}'`);
      const inputGrads = rule(g, node, tensor);
      node.inputs.forEach((input, i) => {
        const ig = inputGrads[i];
        if (ig && input.requiresGrad) accumulate(grads, input, ig);
      });
    }
  } finally {
    Tensor.gradEnabled = wasEnabled;
  }
}

// %%
//| mutation backward-pass refuses a released root but walks into a released tensor further down
function backwardPass(root: Tensor, gradient?: Tensor, options: BackwardOptions = {}): void {
  if (!root.requiresGrad) throw new Error("backward(): this tensor does not require a gradient");
  if (gradient === undefined && root.size !== 1) throw new Error(`backward() without a gradient needs one element, got shape [${root.shape.join(", ")}]`);
  if (gradient !== undefined && gradient.shape.join() !== root.shape.join()) throw new Error(`backward(): gradient of shape [${gradient.shape.join(", ")}] for a tensor of shape [${root.shape.join(", ")}]`);
  if (wasReleased(root)) throw new Error(RELEASED_GRAPH_ERROR);
  const order = topologicalOrder(root);
  const grads = new Map<Tensor, Tensor>([[root, gradient === undefined ? Tensor.ones(root.shape) : gradient.detach()]]);
  const wasEnabled = Tensor.gradEnabled;
  Tensor.gradEnabled = false;
  try {
    for (let k = order.length - 1; k >= 0; k--) {
      const tensor = order[k];
      const g = grads.get(tensor);
      const node = tensor.gradFn;
      if (node === null) {
        if (g !== undefined) tensor.grad = tensor.grad === null ? g.clone() : tensor.grad.add(g);
        continue;
      }
      if (!options.retainGraph) release(tensor);
      if (g === undefined) continue;
      const rule = Tensor.backwardRules.get(node.op);
      if (rule === undefined) throw new Error(`no backward rule for '${node.op}'`);
      const inputGrads = rule(g, node, tensor);
      node.inputs.forEach((input, i) => {
        const ig = inputGrads[i];
        if (ig && input.requiresGrad) accumulate(grads, input, ig);
      });
    }
  } finally {
    Tensor.gradEnabled = wasEnabled;
  }
}

// %%
//| mutation backward-pass releases the graph even when asked to retain it
function backwardPass(root: Tensor, gradient?: Tensor, _options: BackwardOptions = {}): void {
  if (!root.requiresGrad) throw new Error("backward(): this tensor does not require a gradient");
  if (gradient === undefined && root.size !== 1) throw new Error(`backward() without a gradient needs one element, got shape [${root.shape.join(", ")}]`);
  if (gradient !== undefined && gradient.shape.join() !== root.shape.join()) throw new Error(`backward(): gradient of shape [${gradient.shape.join(", ")}] for a tensor of shape [${root.shape.join(", ")}]`);
  const order = topologicalOrder(root);
  if (order.some(wasReleased)) throw new Error(RELEASED_GRAPH_ERROR);
  const grads = new Map<Tensor, Tensor>([[root, gradient === undefined ? Tensor.ones(root.shape) : gradient.detach()]]);
  const wasEnabled = Tensor.gradEnabled;
  Tensor.gradEnabled = false;
  try {
    for (let k = order.length - 1; k >= 0; k--) {
      const tensor = order[k];
      const g = grads.get(tensor);
      const node = tensor.gradFn;
      if (node === null) {
        if (g !== undefined) tensor.grad = tensor.grad === null ? g.clone() : tensor.grad.add(g);
        continue;
      }
      release(tensor);
      if (g === undefined) continue;
      const rule = Tensor.backwardRules.get(node.op);
      if (rule === undefined) throw new Error(`no backward rule for '${node.op}'`);
      const inputGrads = rule(g, node, tensor);
      node.inputs.forEach((input, i) => {
        const ig = inputGrads[i];
        if (ig && input.requiresGrad) accumulate(grads, input, ig);
      });
    }
  } finally {
    Tensor.gradEnabled = wasEnabled;
  }
}

// %%
//| mutation backward-pass stores the collected gradient itself in a leaf's .grad (no copy), so leaves share buffers
function backwardPass(root: Tensor, gradient?: Tensor, options: BackwardOptions = {}): void {
  if (!root.requiresGrad) throw new Error("backward(): this tensor does not require a gradient");
  if (gradient === undefined && root.size !== 1) throw new Error(`backward() without a gradient needs one element, got shape [${root.shape.join(", ")}]`);
  if (gradient !== undefined && gradient.shape.join() !== root.shape.join()) throw new Error(`backward(): gradient of shape [${gradient.shape.join(", ")}] for a tensor of shape [${root.shape.join(", ")}]`);
  const order = topologicalOrder(root);
  if (order.some(wasReleased)) throw new Error(RELEASED_GRAPH_ERROR);
  const grads = new Map<Tensor, Tensor>([[root, gradient === undefined ? Tensor.ones(root.shape) : gradient.detach()]]);
  const wasEnabled = Tensor.gradEnabled;
  Tensor.gradEnabled = false;
  try {
    for (let k = order.length - 1; k >= 0; k--) {
      const tensor = order[k];
      const g = grads.get(tensor);
      const node = tensor.gradFn;
      if (node === null) {
        if (g !== undefined) tensor.grad = tensor.grad === null ? g : tensor.grad.add(g);
        continue;
      }
      if (!options.retainGraph) release(tensor);
      if (g === undefined) continue;
      const rule = Tensor.backwardRules.get(node.op);
      if (rule === undefined) throw new Error(`no backward rule for '${node.op}'`);
      const inputGrads = rule(g, node, tensor);
      node.inputs.forEach((input, i) => {
        const ig = inputGrads[i];
        if (ig && input.requiresGrad) accumulate(grads, input, ig);
      });
    }
  } finally {
    Tensor.gradEnabled = wasEnabled;
  }
}

// %% [markdown]
// ## Part 2: Element-wise rules and broadcasting
//
// For `out = a + b`, each output element depends on one element of `a` with slope 1, so
// `dL/da = dL/dout`. For `a * b`, the slope with respect to `a` is `b`: `dL/da = dL/dout * b`.
// Each rule is one line of calculus. The only subtlety is **broadcasting**.
//
// If `a` has shape `[3, 4]` and `b` shape `[4]`, the forward pass read each element of `b` three
// times (once per row). Each of those reads passed a contribution to the loss, so `b`'s
// gradient is the sum of `dL/dout` over the rows: an array of shape `[4]`. In general, a
// gradient computed at the broadcast shape must be **summed back** to the operand's own shape:
//
// - over the leading axes the operand did not have (`[3, 4]` → `[4]`: sum over axis 0);
// - over every axis where the operand had size 1 (`[3, 1]` from `[3, 4]`: sum over axis 1,
//   keeping it).
//
// ### Exercise 3: `sumToShape`
//
// **TODO**: Reduce `grad` (a broadcast shape) to `shape` by summing, as described above.
//
// **APPROACH**:
// 1. Line the two shapes up the way broadcasting did (numpy aligns them at the right). Which
//    axes of `grad` have no counterpart in `shape` at all? Every element along them was a read
//    of the same operand element: what do you do with their gradients?
// 2. Of the axes both have, which ones did the operand stretch? Sum those too, but keep them (as
//    size 1) so that the axes after them stay where they are.
// 3. When the shapes are already equal, nothing was broadcast: return `grad` itself. A 0-d
//    target (`[]`) has no axes to keep: make sure the result has exactly `shape`.
//
// **HINTS**:
// - Work `[2, 3, 4] → [3, 1]` by hand first: which axes are summed, and which is kept?
// - `reshape` can merge several leading axes into one, so that a single `sum` removes them all.

// %% nbgrader={"grade": false, "grade_id": "sum-to-shape", "locked": false, "schema_version": 3, "solution": true, "task": false}
//| export
/** Sums a gradient of a broadcast shape back to the operand's `shape`. */
function sumToShape(grad: Tensor, shape: readonly number[]): Tensor {
  // ### BEGIN SOLUTION
  const same = grad.ndim === shape.length && grad.shape.every((d, i) => d === shape[i]);
  if (same) return grad;
  let g = grad;
  const lead = g.ndim - shape.length;
  if (lead > 0) g = g.reshape([shapeSize(g.shape.slice(0, lead)), ...g.shape.slice(lead)]).sum(0);
  for (let i = 0; i < shape.length; i++) {
    if (shape[i] === 1 && g.shape[i] !== 1) g = g.sum(i, true);
  }
  return g.reshape(shape.slice());
  // ### END SOLUTION
}

// %% nbgrader={"grade": true, "grade_id": "test-unit-sum-to-shape", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
function testUnitSumToShape(): void {
  const g = new Tensor([
    [1, 2, 3],
    [4, 5, 6],
  ]);
  assertEqual(sumToShape(g, [3]).toArray(), [5, 7, 9], "leading axis");
  assertEqual(sumToShape(g, [2, 1]).toArray(), [[6], [15]], "size-1 axis");
  assertEqual(sumToShape(g, []).toArray(), 21, "to a scalar");
  // ### BEGIN HIDDEN TESTS
  assert(sumToShape(g, [2, 3]) === g, "same shape: unchanged");
  assertEqual(sumToShape(g, [1, 3]).toArray(), [[5, 7, 9]]);
  assertEqual(sumToShape(g, [1, 1]).toArray(), [[21]]);
  const g4 = Tensor.ones([2, 3, 4, 5]);
  assertShape(sumToShape(g4, [3, 1, 5]).shape, [3, 1, 5]);
  assertClose(sumToShape(g4, [3, 1, 5]).toArray(), Tensor.full([3, 1, 5], 8).toArray());
  assertShape(sumToShape(g4, [1, 3, 4, 1]).shape, [1, 3, 4, 1]);
  {
    // Seeded: random broadcast shapes summed back to random operand shapes, against float64 sums.
    const r = testRandom("autograd/sum-to-shape");
    /** Oracle: `values` of shape `from` summed to `to` in float64 (leading axes, then size-1 axes). */
    function sumTo64(values: number[], from: number[], to: number[]): number[] {
      const lead = from.length - to.length;
      const out = new Array<number>(to.reduce((p, d) => p * d, 1)).fill(0);
      values.forEach((v, flat) => {
        let rest = flat;
        let offset = 0;
        let stride = 1;
        for (let axis = from.length - 1; axis >= lead; axis--) {
          const d = to[axis - lead];
          offset += (d === 1 ? 0 : rest % from[axis]) * stride;
          stride *= d;
          rest = Math.floor(rest / from[axis]);
        }
        out[offset] += v;
      });
      return out;
    }
    for (let trial = 0; trial < 6; trial++) {
      const target = r.shape(r.int(0, 3), 4).map((d) => (r.bool(0.4) ? 1 : d));
      const lead = r.shape(r.int(0, 2), 3);
      const full = [...lead, ...target.map((d) => (d === 1 ? r.int(1, 4) : d))];
      const values = r.numbers(shapeSize(full), -2, 2);
      const summed = sumToShape(new Tensor(Float32Array.from(values), full), target);
      const label = `seeded: [${full.join(", ")}] to [${target.join(", ")}]`;
      assertShape(summed.shape, target, label);
      assertClose(Array.from(summed.data), sumTo64(values, full, target), { rtol: 1e-5, atol: 1e-4 }, label);
    }
  }
  // ### END HIDDEN TESTS
  passed("testUnitSumToShape");
}
testUnitSumToShape();

// %%
//| mutation sum-to-shape sums the leading axes away but forgets the operand's size-1 axes
function sumToShape(grad: Tensor, shape: readonly number[]): Tensor {
  let g = grad;
  const lead = g.ndim - shape.length;
  if (lead > 0) g = g.reshape([shapeSize(g.shape.slice(0, lead)), ...g.shape.slice(lead)]).sum(0);
  return g.shape.join() === shape.join() ? g : g.reshape(shape.slice());
}

// %%
//| mutation sum-to-shape aligns the shapes at the left, summing the trailing axes instead of the leading ones
function sumToShape(grad: Tensor, shape: readonly number[]): Tensor {
  let g = grad;
  while (g.ndim > shape.length) g = g.sum(g.ndim - 1);
  for (let i = 0; i < shape.length; i++) {
    if (shape[i] === 1 && g.shape[i] !== 1) g = g.sum(i, true);
  }
  return g.reshape(shape.slice());
}

// %% [markdown]
// ### The element-wise rules
// With `g = dL/dout` and the output `out`, for each operation (`sumToShape` applied to every
// result, since any of them may have been broadcast):
//
// | op | `dL/da` | `dL/db` |
// |---|---|---|
// | `a + b` | `g` | `g` |
// | `a - b` | `g` | `-g` |
// | `a * b` | `g * b` | `g * a` |
// | `a / b` | `g / b` | `-g * a / b²` = `-g * out / b` |
// | `a ** b` | `g * b * a^(b-1)` | `g * out * ln a` |
// | `maximum(a, b)` | `g` where `a > b`, half of it at ties | the rest |
//
// and for one input: `-a` gives `-g`; `exp` gives `g * out`; `log` gives `g / a`; `sqrt` gives
// `g / (2 out)`; `abs` gives `g * sign(a)` (0 at 0, where it has no slope).
//
// Rules return `null` for an input that does not require a gradient, so no time is spent on
// gradients nobody asked for (a number operand, the data of a batch).
//
// The tests of this part call `backward(gradient)` with a tensor of ones rather than
// `sum().backward()`: the rule of `sum` is your exercise in Part 4, and every test here runs
// only on rules you have written by then.
//
// ### Exercise 4: the rules of `mul` and `div`
//
// **TODO**: Complete `mulBackward` and `divBackward` from the table. The others are given.
//
// **HINTS**:
// - `need(node, i)` tells whether input `i` requires a gradient.
// - Check each result's shape: `g` has the broadcast shape of the output, not the input's.
// - For `a / b`, differentiate `a · b⁻¹` with respect to `b` on paper; which of the saved
//   tensors (`a`, `b`, the output `out`) gives the cheapest form?

// %% nbgrader={"grade": false, "grade_id": "elementwise-rules", "locked": false, "schema_version": 3, "solution": true, "task": false}
//| export
/** Whether input `i` of the node wants a gradient. */
function need(node: GradNode, i: number): boolean {
  return node.inputs[i].requiresGrad;
}

function mulBackward(grad: Tensor, node: GradNode): (Tensor | null)[] {
  const [a, b] = node.inputs;
  // ### BEGIN SOLUTION
  return [
    need(node, 0) ? sumToShape(grad.mul(b), a.shape) : null,
    need(node, 1) ? sumToShape(grad.mul(a), b.shape) : null,
  ];
  // ### END SOLUTION
}

function divBackward(grad: Tensor, node: GradNode, out: Tensor): (Tensor | null)[] {
  const [a, b] = node.inputs;
  // ### BEGIN SOLUTION
  return [
    need(node, 0) ? sumToShape(grad.div(b), a.shape) : null,
    need(node, 1) ? sumToShape(grad.mul(out).div(b).neg(), b.shape) : null,
  ];
  // ### END SOLUTION
}

// %% nbgrader={"grade": false, "grade_id": "elementwise-rules-given", "locked": true, "schema_version": 3, "solution": false, "task": false}
//| export
/** fn(x, y) element by element with broadcasting, as a tensor (no note: used inside rules). */
function zip(x: Tensor, y: Tensor, fn: (a: number, b: number) => number): Tensor {
  const r = elementwiseKernel(x, y, fn);
  return new Tensor(r.data, r.shape);
}

registerRules({
  add: (g, node) => [
    need(node, 0) ? sumToShape(g, node.inputs[0].shape) : null,
    need(node, 1) ? sumToShape(g, node.inputs[1].shape) : null,
  ],
  sub: (g, node) => [
    need(node, 0) ? sumToShape(g, node.inputs[0].shape) : null,
    need(node, 1) ? sumToShape(g.neg(), node.inputs[1].shape) : null,
  ],
  mul: mulBackward,
  div: divBackward,
  pow: (g, node, out) => {
    const [a, b] = node.inputs;
    return [
      need(node, 0) ? sumToShape(g.mul(b).mul(a.pow(b.sub(1))), a.shape) : null,
      need(node, 1) ? sumToShape(g.mul(out).mul(a.log()), b.shape) : null,
    ];
  },
  maximum: (g, node) => {
    const [a, b] = node.inputs;
    const toA = zip(a, b, (x, y) => (x > y || Number.isNaN(x) ? 1 : x === y ? 0.5 : 0));
    return [
      need(node, 0) ? sumToShape(g.mul(toA), a.shape) : null,
      need(node, 1) ? sumToShape(g.mul(toA.neg().add(1)), b.shape) : null,
    ];
  },
  neg: (g) => [g.neg()],
  exp: (g, _node, out) => [g.mul(out)],
  log: (g, node) => [g.div(node.inputs[0])],
  sqrt: (g, _node, out) => [g.div(out.mul(2))],
  abs: (g, node) => [g.mul(node.inputs[0].map(Math.sign))],
  clone: (g) => [g],
});

// %% nbgrader={"grade": true, "grade_id": "test-unit-elementwise-rules", "locked": true, "points": 4, "schema_version": 3, "solution": false, "task": false}
function testUnitElementwiseRules(): void {
  const a = new Tensor([1, 2, 3]).setRequiresGrad();
  const b = new Tensor([4, 5, 6]).setRequiresGrad();
  a.mul(b).backward(Tensor.ones([3])); // dL/d(a*b) = 1 for every element
  assertEqual(a.grad?.toArray(), [4, 5, 6], "d(a*b)/da = b");
  assertEqual(b.grad?.toArray(), [1, 2, 3], "d(a*b)/db = a");
  const x = new Tensor([2]).setRequiresGrad();
  x.mul(x).backward(new Tensor([1]));
  assertEqual(x.grad?.toArray(), [4], "x used twice: gradients add up (d(x*x)/dx = 2x)");
  // ### BEGIN HIDDEN TESTS
  const shapeA = [2, 3];
  const shapeB = [3];
  const va = sample(6, 1);
  const vb = sample(3, 2).map((v) => v + (v >= 0 ? 1 : -1)); // away from 0 for division
  const pairs: [string, (p: Tensor, q: Tensor) => Tensor, (p: number, q: number) => number][] = [
    ["mul", (p, q) => p.mul(q), (p, q) => p * q],
    ["div", (p, q) => p.div(q), (p, q) => p / q],
    ["add", (p, q) => p.add(q), (p, q) => p + q],
    ["sub", (p, q) => p.sub(q), (p, q) => p - q],
  ];
  for (const [name, op, fn] of pairs) {
    checkGradients(`${name} broadcast [2,3]x[3]`, [{ shape: shapeA, values: va }, { shape: shapeB, values: vb }],
      ([p, q]) => op(p, q), ([p, q]) => ref.binary(shapeA, shapeB, p, q, fn));
    checkGradients(`${name} broadcast [3,1]x[1,2]`, [{ shape: [3, 1], values: vb }, { shape: [1, 2], values: sample(2, 3).map((v) => v + 2) }],
      ([p, q]) => op(p, q), ([p, q]) => ref.binary([3, 1], [1, 2], p, q, fn));
  }
  checkGradients("div by a scalar tensor", [{ shape: [2, 2], values: sample(4, 4) }, { shape: [], values: Float64Array.of(Math.fround(1.5)) }],
    ([p, q]) => p.div(q), ([p, q]) => ref.binary([2, 2], [], p, q, (s, t) => s / t));
  checkGradients("reuse: x*x + x/3", [{ shape: [4], values: sample(4, 5) }],
    ([p]) => p.mul(p).add(p.div(3)), ([p]) => map64(p, (v) => v * v + v / 3));
  const c = new Tensor([3]).setRequiresGrad();
  c.mul(2).backward(new Tensor([1]));
  c.mul(2).backward(new Tensor([1]));
  assertEqual(c.grad?.toArray(), [4], "backward() twice accumulates into .grad");
  const frozen = new Tensor([1, 2]);
  const w = new Tensor([3, 4]).setRequiresGrad();
  frozen.mul(w).backward(Tensor.ones([2]));
  assertEqual(frozen.grad, null, "a tensor without requiresGrad gets no gradient");
  const p1 = new Tensor([1, 2]).setRequiresGrad();
  const p2 = new Tensor([3, 4]).setRequiresGrad();
  const seed = Tensor.ones([2]);
  p1.add(p2).backward(seed);
  assert(p1.grad !== null && p2.grad !== null && p1.grad.data !== p2.grad.data, "each leaf owns its gradient");
  assert(p1.grad.data !== seed.data, "not the caller's buffer either");
  {
    // Seeded: mul, div, add and sub on random broadcasting shape pairs and values, then a
    // composite that reuses both inputs with number operands, against float64 central differences.
    const r = testRandom("autograd/elementwise-rules");
    type In = { shape: number[]; values: Float64Array };
    const tol = { rtol: 2e-3, atol: 2e-4 };
    /** The gradients backward() leaves on each input of `build`, its output weighted by sample(size, 99). */
    const backprop = (inputs: In[], build: (xs: Tensor[]) => Tensor) => {
      const xs = inputs.map((x) => new Tensor(Float32Array.from(x.values), x.shape).setRequiresGrad());
      const out = build(xs);
      out.backward(new Tensor(Float32Array.from(sample(out.size, 99)), out.shape));
      return { shapes: xs.map((x) => x.grad?.shape ?? null), values: xs.map((x) => Array.from(x.grad?.data ?? [])) };
    };
    /** Oracle: float64 central differences of sum(w · reference(xs)), w = sample(size, 99), for every input. */
    function centralDiff(inputs: In[], reference: (xs: Float64Array[]) => Float64Array): number[][] {
      const xs = inputs.map((x) => Float64Array.from(x.values));
      const f = (): number => {
        const y = reference(xs);
        const w = sample(y.length, 99);
        let total = 0;
        for (let i = 0; i < y.length; i++) total += w[i] * y[i];
        return total;
      };
      return xs.map((x) => {
        const out: number[] = [];
        for (let i = 0; i < x.length; i++) {
          const keep = x[i];
          const h = 1e-6 * Math.max(1, Math.abs(keep));
          x[i] = keep + h;
          const up = f();
          x[i] = keep - h;
          const down = f();
          x[i] = keep;
          out.push((up - down) / (2 * h));
        }
        return out;
      });
    }
    /** Oracle: the float64 operation of each name. */
    function float64Op(op: string): (p: number, q: number) => number {
      if (op === "mul") return (p, q) => p * q;
      if (op === "div") return (p, q) => p / q;
      if (op === "add") return (p, q) => p + q;
      return (p, q) => p - q;
    }
    /** Two shapes that broadcast together: either may have size-1 axes, fewer axes, or none. */
    const broadcastPair = (): [number[], number[]] => {
      const rank = r.int(1, 3);
      const out = r.shape(rank, 4, 2);
      const a = out.map((d) => (r.bool(0.3) ? 1 : d));
      const b = out.map((d) => (r.bool(0.3) ? 1 : d));
      return [a.slice(r.int(0, rank)), b.slice(r.int(0, rank))];
    };
    /** Random values of a shape; `away` keeps them in ±[0.5, 2] (a divisor). */
    const operand = (shape: number[], away: boolean): In => ({
      shape,
      values: Float64Array.from(r.numbers(shapeSize(shape), away ? 0.5 : -2, 2), (v) => (away && r.bool() ? -v : v)),
    });
    const ops: [string, (p: Tensor, q: Tensor) => Tensor][] = [
      ["mul", (p, q) => p.mul(q)],
      ["div", (p, q) => p.div(q)],
      ["add", (p, q) => p.add(q)],
      ["sub", (p, q) => p.sub(q)],
    ];
    for (const [name, op] of ops) {
      const [sa, sb] = broadcastPair();
      const ins = [operand(sa, false), operand(sb, true)];
      const got = backprop(ins, ([p, q]) => op(p, q));
      const label = `seeded ${name}: [${sa.join(", ")}] with [${sb.join(", ")}]`;
      assertEqual(got.shapes, [sa, sb], `${label}: gradient shapes`);
      assertClose(got.values, centralDiff(ins, ([p, q]) => ref.binary(sa, sb, p, q, float64Op(name))), tol, label);
    }
    const [ca, cb] = broadcastPair();
    const cins = [operand(ca, true), operand(cb, true)];
    const c1 = Math.fround(r.uniform(-2, 2));
    const c2 = Math.fround(r.uniform(0.5, 2));
    const composite = backprop(cins, ([p, q]) => p.mul(q).add(p.div(q)).sub(p.mul(c1)).div(c2).add(q.mul(q)));
    const clabel = `seeded (p*q + p/q - c1*p)/c2 + q*q: [${ca.join(", ")}] with [${cb.join(", ")}]`;
    assertEqual(composite.shapes, [ca, cb], `${clabel}: gradient shapes`);
    assertClose(composite.values, centralDiff(cins, ([p, q]) => ref.binary(ca, cb, p, q, (s, t) => (s * t + s / t - s * c1) / c2 + t * t)), tol, clabel);
  }
  // ### END HIDDEN TESTS
  passed("testUnitElementwiseRules");
}
testUnitElementwiseRules();

// %%
//| mutation elementwise-rules drops the minus sign of a / b's gradient with respect to b
function need(node: GradNode, i: number): boolean {
  return node.inputs[i].requiresGrad;
}

function mulBackward(grad: Tensor, node: GradNode): (Tensor | null)[] {
  const [a, b] = node.inputs;
  return [need(node, 0) ? sumToShape(grad.mul(b), a.shape) : null, need(node, 1) ? sumToShape(grad.mul(a), b.shape) : null];
}

function divBackward(grad: Tensor, node: GradNode, out: Tensor): (Tensor | null)[] {
  const [a, b] = node.inputs;
  return [need(node, 0) ? sumToShape(grad.div(b), a.shape) : null, need(node, 1) ? sumToShape(grad.mul(out).div(b), b.shape) : null];
}

// %%
//| mutation elementwise-rules forgets to sum the product's gradient back to a broadcast operand's shape
function need(node: GradNode, i: number): boolean {
  return node.inputs[i].requiresGrad;
}

function mulBackward(grad: Tensor, node: GradNode): (Tensor | null)[] {
  const [a, b] = node.inputs;
  return [need(node, 0) ? grad.mul(b) : null, need(node, 1) ? grad.mul(a) : null];
}

function divBackward(grad: Tensor, node: GradNode, out: Tensor): (Tensor | null)[] {
  const [a, b] = node.inputs;
  return [need(node, 0) ? sumToShape(grad.div(b), a.shape) : null, need(node, 1) ? sumToShape(grad.mul(out).div(b).neg(), b.shape) : null];
}

// %% [markdown]
// ## Part 3: Matrix multiplication
//
// For `C = A @ B` with `A` of shape `[m, k]` and `B` of shape `[k, n]`, each `C[i][j] =
// sum_p A[i][p] B[p][j]`. Collect the slopes: `A[i][p]` appears in every `C[i][j]` of row `i`,
// multiplied by `B[p][j]`. So `dL/dA[i][p] = sum_j dL/dC[i][j] · B[p][j]`, a sum over `j` of a
// row of `dL/dC` times a row of `B`: a matrix product. Which one? **Derive it from the shapes**:
// `dL/dA` must have `A`'s shape `[m, k]`, and the only ingredients are `dL/dC` (`[m, n]`) and `B`
// (`[k, n]`). There is exactly one way to multiply those two (transposing one of them) into an
// `[m, k]`, and it is the right one; the same reasoning gives `dL/dB` (`[k, n]`) from `A` and
// `dL/dC`. So the backward pass of a matmul is two matmuls of the same size as the forward one:
// it costs twice the forward pass, and uses the fast kernel of module 01 rather than a loop per
// element.
//
// `matmul` also accepts 1-D operands and batches. The rule handles them by reducing to the 2-D
// case: a 1-D `a` of shape `[k]` was treated as `[1, k]`, and a 1-D `b` as `[k, 1]`; the
// incoming gradient is reshaped to the `[..., m, n]` it would have had, the two products are
// computed batch by batch (a batched `matmul` does that), and `sumToShape` adds up the batches
// that an operand was broadcast over (a weight matrix `[k, n]` used for every element of a batch
// `[B, m, k]` collects `B` contributions).
//
// ### Exercise 5: `matmulBackward`
//
// **TODO**: Return the gradients of both operands, for 1-D, 2-D and batched operands.
//
// **APPROACH**:
// 1. Write the 2-D rule first, from the shapes as above; check it by hand on `[[1, 2], [3, 4]] @
//    [[5, 6], [7, 8]]` with `dL/dC` all ones (the visible test's numbers).
// 2. Promote 1-D operands to the 2-D shapes `matmul` gave them. Which shape did the gradient
//    then lose? Reshape `grad` so that it has the `[..., m, n]` of the promoted product.
// 3. After the products, an operand that was broadcast over batches has a gradient with more
//    batches than it has: you wrote the function that fixes that. Finally, give each gradient
//    its operand's own shape back.
//
// **HINTS**:
// - `transpose()` swaps the last two axes, also of a batched tensor.
// - How many trailing axes of `grad` belong to the product, and how many to the batch? It
//   depends on which operands were 1-D.

// %% nbgrader={"grade": false, "grade_id": "matmul-backward", "locked": false, "schema_version": 3, "solution": true, "task": false}
//| export
/** dA = dC @ Bᵀ and dB = Aᵀ @ dC, for 1-D, 2-D and broadcast batched operands. */
function matmulBackward(grad: Tensor, node: GradNode): (Tensor | null)[] {
  const [a, b] = node.inputs;
  // ### BEGIN SOLUTION
  const k = a.shape[a.ndim - 1];
  const a2 = a.ndim === 1 ? a.reshape(1, k) : a;
  const b2 = b.ndim === 1 ? b.reshape(k, 1) : b;
  const m = a2.shape[a2.ndim - 2];
  const n = b2.shape[b2.ndim - 1];
  const dropped = (a.ndim === 1 ? 0 : 1) + (b.ndim === 1 ? 0 : 1);
  const batch = grad.shape.slice(0, grad.ndim - dropped);
  const g = grad.reshape([...batch, m, n]);
  return [
    need(node, 0) ? sumToShape(g.matmul(b2.transpose()), a2.shape).reshape(a.shape) : null,
    need(node, 1) ? sumToShape(a2.transpose().matmul(g), b2.shape).reshape(b.shape) : null,
  ];
  // ### END SOLUTION
}

registerRules({ matmul: matmulBackward });

// %% nbgrader={"grade": true, "grade_id": "test-unit-matmul-backward", "locked": true, "points": 4, "schema_version": 3, "solution": false, "task": false}
function testUnitMatmulBackward(): void {
  const a = new Tensor([
    [1, 2],
    [3, 4],
  ]).setRequiresGrad();
  const b = new Tensor([
    [5, 6],
    [7, 8],
  ]).setRequiresGrad();
  a.matmul(b).backward(Tensor.ones([2, 2]));
  assertEqual(a.grad?.toArray(), [[11, 15], [11, 15]], "dA = 1 @ Bᵀ");
  assertEqual(b.grad?.toArray(), [[4, 4], [6, 6]], "dB = Aᵀ @ 1");
  // ### BEGIN HIDDEN TESTS
  const cases: [number[], number[], [number, number], number, number, number][] = [
    [[3, 4], [4, 2], [1, 1], 3, 4, 2],
    [[2, 3, 4], [4, 5], [2, 1], 3, 4, 5], // weight broadcast over the batch
    [[3, 4], [2, 4, 5], [1, 2], 3, 4, 5], // the other direction
    [[2, 3, 4], [2, 4, 2], [2, 2], 3, 4, 2],
  ];
  cases.forEach(([sa, sb, batch, m, k, n], i) => {
    checkGradients(`matmul ${JSON.stringify(sa)} @ ${JSON.stringify(sb)}`,
      [{ shape: sa, values: sample(shapeSize(sa), 10 + i) }, { shape: sb, values: sample(shapeSize(sb), 20 + i) }],
      ([p, q]) => p.matmul(q), ([p, q]) => ref.matmul(p, q, batch, m, k, n));
  });
  checkGradients("matmul [4] @ [4, 3]", [{ shape: [4], values: sample(4, 30) }, { shape: [4, 3], values: sample(12, 31) }],
    ([p, q]) => p.matmul(q), ([p, q]) => ref.matmul(p, q, [1, 1], 1, 4, 3));
  checkGradients("matmul [3, 4] @ [4]", [{ shape: [3, 4], values: sample(12, 32) }, { shape: [4], values: sample(4, 33) }],
    ([p, q]) => p.matmul(q), ([p, q]) => ref.matmul(p, q, [1, 1], 3, 4, 1));
  checkGradients("matmul [4] @ [4]", [{ shape: [4], values: sample(4, 34) }, { shape: [4], values: sample(4, 35) }],
    ([p, q]) => p.matmul(q), ([p, q]) => ref.matmul(p, q, [1, 1], 1, 4, 1));
  const data = new Tensor([[1, 2]]);
  const w = new Tensor([[1], [1]]).setRequiresGrad();
  data.matmul(w).backward(Tensor.ones([1, 1]));
  assertEqual(data.grad, null, "the data needs no gradient");
  assertEqual(w.grad?.toArray(), [[1], [2]]);
  {
    // Seeded: random sizes for 2-D, batched (either side broadcast) and 1-D products, against
    // float64 central differences.
    const r = testRandom("autograd/matmul-backward");
    type In = { shape: number[]; values: Float64Array };
    const tol = { rtol: 2e-3, atol: 2e-4 };
    /** The gradients backward() leaves on each input of `build`, its output weighted by sample(size, 99). */
    const backprop = (inputs: In[], build: (xs: Tensor[]) => Tensor) => {
      const xs = inputs.map((x) => new Tensor(Float32Array.from(x.values), x.shape).setRequiresGrad());
      const out = build(xs);
      out.backward(new Tensor(Float32Array.from(sample(out.size, 99)), out.shape));
      return { shapes: xs.map((x) => x.grad?.shape ?? null), values: xs.map((x) => Array.from(x.grad?.data ?? [])) };
    };
    /** Oracle: float64 central differences of sum(w · reference(xs)), w = sample(size, 99), for every input. */
    function centralDiff(inputs: In[], reference: (xs: Float64Array[]) => Float64Array): number[][] {
      const xs = inputs.map((x) => Float64Array.from(x.values));
      const f = (): number => {
        const y = reference(xs);
        const w = sample(y.length, 99);
        let total = 0;
        for (let i = 0; i < y.length; i++) total += w[i] * y[i];
        return total;
      };
      return xs.map((x) => {
        const out: number[] = [];
        for (let i = 0; i < x.length; i++) {
          const keep = x[i];
          const h = 1e-6 * Math.max(1, Math.abs(keep));
          x[i] = keep + h;
          const up = f();
          x[i] = keep - h;
          const down = f();
          x[i] = keep;
          out.push((up - down) / (2 * h));
        }
        return out;
      });
    }
    /** Oracle: a @ b in float64 for these shapes (1-D operands promoted; one batch axis at most). */
    function matmul64(sa: number[], sb: number[], p: Float64Array, q: Float64Array): Float64Array {
      const a2 = sa.length === 1 ? [1, ...sa] : sa;
      const b2 = sb.length === 1 ? [...sb, 1] : sb;
      const batch: [number, number] = [a2.length === 3 ? a2[0] : 1, b2.length === 3 ? b2[0] : 1];
      return ref.matmul(p, q, batch, a2[a2.length - 2], a2[a2.length - 1], b2[b2.length - 1]);
    }
    const [m, k, n, batch] = [r.int(1, 5), r.int(1, 5), r.int(1, 5), r.int(2, 3)];
    const pairs: [number[], number[]][] = [
      [[m, k], [k, n]],
      [[batch, m, k], [k, n]], // a weight shared by the batch
      [[m, k], [batch, k, n]],
      [[batch, m, k], [batch, k, n]],
      [[k], [k, n]],
      [[m, k], [k]],
      [[k], [k]],
    ];
    for (const [sa, sb] of pairs) {
      const ins: In[] = [sa, sb].map((s) => ({ shape: s, values: Float64Array.from(r.numbers(shapeSize(s), -2, 2)) }));
      const got = backprop(ins, ([p, q]) => p.matmul(q));
      const label = `seeded matmul [${sa.join(", ")}] @ [${sb.join(", ")}]`;
      assertEqual(got.shapes, [sa, sb], `${label}: gradient shapes`);
      assertClose(got.values, centralDiff(ins, ([p, q]) => matmul64(sa, sb, p, q)), tol, label);
    }
  }
  // ### END HIDDEN TESTS
  passed("testUnitMatmulBackward");
}
testUnitMatmulBackward();

// %%
//| mutation matmul-backward multiplies the gradient by B instead of Bᵀ: a missing transpose
function matmulBackward(grad: Tensor, node: GradNode): (Tensor | null)[] {
  const [a, b] = node.inputs;
  const k = a.shape[a.ndim - 1];
  const a2 = a.ndim === 1 ? a.reshape(1, k) : a;
  const b2 = b.ndim === 1 ? b.reshape(k, 1) : b;
  const m = a2.shape[a2.ndim - 2];
  const n = b2.shape[b2.ndim - 1];
  const dropped = (a.ndim === 1 ? 0 : 1) + (b.ndim === 1 ? 0 : 1);
  const g = grad.reshape([...grad.shape.slice(0, grad.ndim - dropped), m, n]);
  const da = g.matmul(b2);
  const db = a2.transpose().matmul(g);
  return [
    need(node, 0) ? sumToShape(da, a2.shape).reshape(a.shape) : null,
    need(node, 1) ? sumToShape(db, b2.shape).reshape(b.shape) : null,
  ];
}

registerRules({ matmul: matmulBackward });

// %%
//| mutation matmul-backward averages a weight's gradient over the batch it was broadcast to, instead of summing it
function matmulBackward(grad: Tensor, node: GradNode): (Tensor | null)[] {
  const [a, b] = node.inputs;
  const k = a.shape[a.ndim - 1];
  const a2 = a.ndim === 1 ? a.reshape(1, k) : a;
  const b2 = b.ndim === 1 ? b.reshape(k, 1) : b;
  const m = a2.shape[a2.ndim - 2];
  const n = b2.shape[b2.ndim - 1];
  const dropped = (a.ndim === 1 ? 0 : 1) + (b.ndim === 1 ? 0 : 1);
  const g = grad.reshape([...grad.shape.slice(0, grad.ndim - dropped), m, n]);
  const da = g.matmul(b2.transpose());
  const db = a2.transpose().matmul(g);
  const dbShared = db.ndim > b2.ndim ? db.reshape([-1, ...b2.shape]).mean(0) : db;
  return [
    need(node, 0) ? sumToShape(da, a2.shape).reshape(a.shape) : null,
    need(node, 1) ? dbShared.reshape(b.shape) : null,
  ];
}

registerRules({ matmul: matmulBackward });

// %% [markdown]
// ## Part 4: Reductions and shape changes
//
// `sum` over an axis adds `len` elements into one: each of them has slope 1, so each receives
// the output's gradient. The backward rule **copies the gradient back along the reduced axis**.
// If the sum dropped the axis (`keepdims` false), put it back as size 1 first, and broadcasting
// does the copying. `mean` is `sum` divided by a number, which the rules already cover.
//
// `max` passes the gradient only to the element that won (slope 1 there, 0 elsewhere: moving a
// loser a little does not change the max). With ties we split it equally between the winners, as
// PyTorch does for a full reduction. `min` is the same.
//
// ### Exercise 6: `sumBackward`
//
// **TODO**: Return the gradient of the input of `sum(axis, keepdims)`.
//
// **APPROACH**: derive it from what the forward pass did. `node.args.axis` (null: every axis)
// and `node.args.keepdims` say how `x` was reduced; `grad` has the shape of the result.
// 1. Each element of `x` was added, with slope 1, into exactly one element of the result. So
//    what must the gradient of every element of `x` along the reduced axis be?
// 2. `grad` can be broadcast back to `x.shape` only if its axes line up with `x`'s. When
//    `keepdims` was false, the reduced axis is missing from `grad`: where must it go back, and
//    with what size? The helpers below give you that shape (`keptShape`) and the broadcast
//    (`expandTo`).
//
// **HINTS**:
// - Test your idea on `x` of shape `[2, 3]`, `sum(1)`: `grad` has shape `[2]`. Why does
//   broadcasting `[2]` against `[2, 3]` go wrong, and what fixes it?

// %% nbgrader={"grade": false, "grade_id": "reduction-helpers", "locked": true, "schema_version": 3, "solution": false, "task": false}
//| export
/** The shape of a reduction's result with `keepdims`: the reduced axis (or every axis) set to 1. */
function keptShape(shape: readonly number[], axis: number | null | undefined): number[] {
  if (axis === null || axis === undefined) return shape.map(() => 1);
  const ax = normalizeAxis(axis, shape.length);
  return shape.map((d, i) => (i === ax ? 1 : d));
}

/** `g` broadcast to `shape`, as a new contiguous tensor. */
function expandTo(g: Tensor, shape: readonly number[]): Tensor {
  return zip(Tensor.zeros(shape), g, (_, y) => y);
}

// %% nbgrader={"grade": false, "grade_id": "sum-backward", "locked": false, "schema_version": 3, "solution": true, "task": false}
//| export
/** The gradient of sum(axis, keepdims): copied back along the reduced axis. */
function sumBackward(grad: Tensor, node: GradNode): (Tensor | null)[] {
  const x = node.inputs[0];
  // ### BEGIN SOLUTION
  return [expandTo(grad.reshape(keptShape(x.shape, node.args.axis)), x.shape)];
  // ### END SOLUTION
}

// %% nbgrader={"grade": false, "grade_id": "shape-rules", "locked": true, "schema_version": 3, "solution": false, "task": false}
//| export
/** max and min: the gradient goes to the elements equal to the result, split between ties. */
function extremumBackward(grad: Tensor, node: GradNode, out: Tensor): (Tensor | null)[] {
  const x = node.inputs[0];
  const kept = keptShape(x.shape, node.args.axis);
  const winners = zip(x, out.reshape(kept), (v, best) => (v === best || (v !== v && best !== best) ? 1 : 0));
  const count = winners.sum(node.args.axis ?? null, true);
  return [winners.mul(grad.reshape(kept)).div(count)];
}

/** Adds `grad` into a zero tensor of `shape` at the cross product of per-axis index lists. */
function scatterSlice(grad: Tensor, shape: readonly number[], indices: readonly (readonly number[])[]): Tensor {
  const out = new Float32Array(shapeSize(shape));
  const strides = new Tensor(out, shape).strides;
  const position = new Array<number>(indices.length).fill(0);
  for (let o = 0; o < grad.size; o++) {
    let offset = 0;
    for (let axis = 0; axis < indices.length; axis++) offset += indices[axis][position[axis]] * strides[axis];
    out[offset] += grad.data[o];
    for (let axis = indices.length - 1; axis >= 0; axis--) {
      if (++position[axis] < indices[axis].length) break;
      position[axis] = 0;
    }
  }
  return new Tensor(out, shape);
}

/** gather's rule: each picked element's gradient is added back where it was picked from. */
function gatherBackward(grad: Tensor, node: GradNode): (Tensor | null)[] {
  const x = node.inputs[0];
  const index = node.args.saved?.[0];
  const ax = node.args.axis ?? 0;
  if (index === undefined) throw new Error("gather: the index was not saved");
  const out = new Float32Array(x.size);
  const len = x.shape[ax];
  const inner = shapeSize(x.shape.slice(ax + 1));
  const picks = index.shape[ax];
  for (let o = 0; o < grad.size; o++) {
    const outer = Math.floor(o / (inner * picks));
    out[(outer * len + index.data[o]) * inner + (o % inner)] += grad.data[o];
  }
  return [new Tensor(out, x.shape)];
}

registerRules({
  sum: sumBackward,
  max: extremumBackward,
  min: extremumBackward,
  reshape: (g, node) => [g.reshape(node.inputs[0].shape)],
  permute: (g, node) => {
    const axes = node.args.axes ?? [];
    const inverse = axes.map((_, d) => axes.indexOf(d));
    return [g.permute(inverse)];
  },
  slice: (g, node) => [scatterSlice(g, node.inputs[0].shape, node.args.indices ?? [])],
  gather: gatherBackward,
});

// %% nbgrader={"grade": true, "grade_id": "test-unit-reductions", "locked": true, "points": 4, "schema_version": 3, "solution": false, "task": false}
function testUnitReductions(): void {
  const x = new Tensor([
    [1, 2, 3],
    [4, 5, 6],
  ]).setRequiresGrad();
  x.sum(1).mul(new Tensor([1, 10])).sum().backward();
  assertEqual(x.grad?.toArray(), [[1, 1, 1], [10, 10, 10]], "sum(1): copied along the axis");
  const y = new Tensor([[1, 2, 3]]).setRequiresGrad();
  y.sum().backward();
  assertEqual(y.grad?.toArray(), [[1, 1, 1]], "sum of everything");
  // ### BEGIN HIDDEN TESTS
  const shape = [2, 3, 4];
  const v = sample(24, 40);
  const along = (axis: number, fn: (values: number[]) => number) => (xs: Float64Array[]) => {
    const outer = shape.slice(0, axis).reduce((p, d) => p * d, 1);
    const inner = shape.slice(axis + 1).reduce((p, d) => p * d, 1);
    return ref.reduce(xs[0], outer, shape[axis], inner, fn);
  };
  const mean64 = (values: number[]) => sum64(values) / values.length;
  const max64 = (values: number[]) => Math.max(...values);
  const min64 = (values: number[]) => Math.min(...values);
  for (const axis of [0, 1, 2]) {
    for (const keepdims of [false, true]) {
      const tag = `axis ${axis}, keepdims ${keepdims}`;
      checkGradients(`sum ${tag}`, [{ shape, values: v }], ([p]) => p.sum(axis, keepdims), along(axis, sum64));
      checkGradients(`mean ${tag}`, [{ shape, values: v }], ([p]) => p.mean(axis, keepdims), along(axis, mean64));
      checkGradients(`max ${tag}`, [{ shape, values: v }], ([p]) => p.max(axis, keepdims), along(axis, max64));
      checkGradients(`min ${tag}`, [{ shape, values: v }], ([p]) => p.min(axis, keepdims), along(axis, min64));
    }
  }
  checkGradients("sum all, keepdims", [{ shape, values: v }], ([p]) => p.sum(null, true), (xs) => Float64Array.of(sum64([...xs[0]])));
  checkGradients("mean all", [{ shape, values: v }], ([p]) => p.mean(), (xs) => Float64Array.of(mean64([...xs[0]])));
  checkGradients("max all", [{ shape, values: v }], ([p]) => p.max(), (xs) => Float64Array.of(max64([...xs[0]])));
  checkGradients("keepdims sum broadcast back: x - mean(x)", [{ shape: [3, 4], values: sample(12, 41) }],
    ([p]) => p.sub(p.mean(1, true)).mul(p), (xs) => {
      const out = new Float64Array(12);
      for (let r = 0; r < 3; r++) {
        let m = 0;
        for (let c = 0; c < 4; c++) m += xs[0][r * 4 + c] / 4;
        for (let c = 0; c < 4; c++) out[r * 4 + c] = (xs[0][r * 4 + c] - m) * xs[0][r * 4 + c];
      }
      return out;
    });
  const tie = new Tensor([2, 5, 5]).setRequiresGrad();
  tie.max().backward();
  assertClose(tie.grad?.toArray() ?? [], [0, 0.5, 0.5], {}, "ties split the gradient");
  {
    // Seeded: sum, mean, max and min of a random shape over a random axis (negative ones too),
    // with and without keepdims, a full reduction, x - mean(x) along a random axis, and a max
    // tied at random positions. Values are distinct and well apart, so max and min have one winner.
    const r = testRandom("autograd/reductions");
    type In = { shape: number[]; values: Float64Array };
    const tol = { rtol: 2e-3, atol: 2e-4 };
    /** The gradients backward() leaves on each input of `build`, its output weighted by sample(size, 99). */
    const backprop = (inputs: In[], build: (xs: Tensor[]) => Tensor) => {
      const xs = inputs.map((x) => new Tensor(Float32Array.from(x.values), x.shape).setRequiresGrad());
      const out = build(xs);
      out.backward(new Tensor(Float32Array.from(sample(out.size, 99)), out.shape));
      return { shapes: xs.map((x) => x.grad?.shape ?? null), values: xs.map((x) => Array.from(x.grad?.data ?? [])) };
    };
    /** Oracle: float64 central differences of sum(w · reference(xs)), w = sample(size, 99), for every input. */
    function centralDiff(inputs: In[], reference: (xs: Float64Array[]) => Float64Array): number[][] {
      const xs = inputs.map((x) => Float64Array.from(x.values));
      const f = (): number => {
        const y = reference(xs);
        const w = sample(y.length, 99);
        let total = 0;
        for (let i = 0; i < y.length; i++) total += w[i] * y[i];
        return total;
      };
      return xs.map((x) => {
        const out: number[] = [];
        for (let i = 0; i < x.length; i++) {
          const keep = x[i];
          const h = 1e-6 * Math.max(1, Math.abs(keep));
          x[i] = keep + h;
          const up = f();
          x[i] = keep - h;
          const down = f();
          x[i] = keep;
          out.push((up - down) / (2 * h));
        }
        return out;
      });
    }
    const rank = r.int(1, 3);
    const shape = r.shape(rank, 4, 2);
    const count = shapeSize(shape);
    const distinct = (): In => ({
      shape,
      values: Float64Array.from(r.shuffled(Array.from({ length: count }, (_, i) => i)), (i) => Math.fround(-2 + (4 * (i + r.uniform(0.2, 0.8))) / count)),
    });
    const reduceBy = (p: Tensor, op: string, axis: number | null, keepdims: boolean): Tensor =>
      op === "sum" ? p.sum(axis, keepdims) : op === "mean" ? p.mean(axis, keepdims) : op === "max" ? p.max(axis, keepdims) : p.min(axis, keepdims);
    /** Oracle: the float64 reduction `op` of `x` (of `shape`) over `axis` (every axis when null). */
    function reduce64(x: Float64Array, op: string, axis: number | null): Float64Array {
      const fn = (values: number[]): number =>
        op === "sum" ? sum64(values) : op === "mean" ? sum64(values) / values.length : op === "max" ? Math.max(...values) : Math.min(...values);
      if (axis === null) return Float64Array.of(fn([...x]));
      const ax = axis < 0 ? axis + shape.length : axis;
      return ref.reduce(x, shapeSize(shape.slice(0, ax)), shape[ax], shapeSize(shape.slice(ax + 1)), fn);
    }
    for (const op of ["sum", "mean", "max", "min"]) {
      const axis = r.int(-rank, rank - 1);
      const keepdims = r.bool();
      const ins = [distinct()];
      const got = backprop(ins, ([p]) => reduceBy(p, op, axis, keepdims));
      const label = `seeded ${op}(${axis}, ${keepdims}) of [${shape.join(", ")}]`;
      assertEqual(got.shapes, [shape], `${label}: gradient shape`);
      assertClose(got.values, centralDiff(ins, ([p]) => reduce64(p, op, axis)), tol, label);
    }
    const allOp = r.pick(["sum", "mean", "max", "min"]);
    const allKeep = r.bool();
    const all = [distinct()];
    assertClose(backprop(all, ([p]) => reduceBy(p, allOp, null, allKeep)).values, centralDiff(all, ([p]) => reduce64(p, allOp, null)), tol, `seeded ${allOp} of everything`);
    const centerAxis = r.int(0, rank - 1);
    const centered = [distinct()];
    /** Oracle: (x - mean(x, axis)) * x in float64. */
    function centered64(x: Float64Array): Float64Array {
      const means = reduce64(x, "mean", centerAxis);
      const inner = shapeSize(shape.slice(centerAxis + 1));
      const len = shape[centerAxis];
      return x.map((v, i) => (v - means[Math.floor(i / (inner * len)) * inner + (i % inner)]) * v);
    }
    assertClose(backprop(centered, ([p]) => p.sub(p.mean(centerAxis, true)).mul(p)).values, centralDiff(centered, ([p]) => centered64(p)), tol, `seeded x - mean(x, ${centerAxis}, keepdims)`);
    const length = r.int(3, 8);
    const winners = r.shuffled(Array.from({ length }, (_, i) => i)).slice(0, r.int(2, length));
    const top = Math.fround(r.uniform(1, 2));
    const tied = new Tensor(Array.from({ length }, (_, i) => (winners.includes(i) ? top : Math.fround(r.uniform(-1, 0.9))))).setRequiresGrad();
    tied.max().backward();
    assertClose(Array.from(tied.grad?.data ?? []), Array.from({ length }, (_, i) => (winners.includes(i) ? 1 / winners.length : 0)), {}, "seeded ties split the gradient");
  }
  // ### END HIDDEN TESTS
  passed("testUnitReductions");
}
testUnitReductions();

// %%
//| mutation sum-backward broadcasts the gradient without putting the reduced axis back first
function sumBackward(grad: Tensor, node: GradNode): (Tensor | null)[] {
  const x = node.inputs[0];
  return [expandTo(grad, x.shape)];
}

// %%
//| mutation sum-backward divides by the number of elements summed, as if it were mean's rule
function sumBackward(grad: Tensor, node: GradNode): (Tensor | null)[] {
  const x = node.inputs[0];
  const kept = keptShape(x.shape, node.args.axis);
  const count = shapeSize(x.shape) / shapeSize(kept);
  return [expandTo(grad.reshape(kept), x.shape).div(count)];
}

// %% [markdown]
// Shape changes move numbers without changing them, so their rules move the gradient back:
// `reshape` reshapes it to the input's shape; `permute(axes)` applies the inverse permutation
// (`transpose` is a permute); `slice` adds each gradient element back at the position it was
// read from, into zeros elsewhere (an unread element had no effect on the loss); `gather`,
// which picks one element per line (the score of a label, say), does the same along its axis.
// These rules were given in the cell above; the test checks them all.

// %% nbgrader={"grade": true, "grade_id": "test-unit-shape-rules", "locked": true, "points": 3, "schema_version": 3, "solution": false, "task": false}
function testUnitShapeRules(): void {
  const x = new Tensor([
    [1, 2, 3],
    [4, 5, 6],
  ]).setRequiresGrad();
  x.transpose().mul(new Tensor([[1, 2], [3, 4], [5, 6]])).sum().backward();
  assertEqual(x.grad?.toArray(), [[1, 3, 5], [2, 4, 6]], "transpose: gradient transposed back");
  // ### BEGIN HIDDEN TESTS
  const v = sample(24, 50);
  checkGradients("reshape", [{ shape: [2, 3, 4], values: v }], ([p]) => p.reshape(4, 6).mul(p.reshape(4, 6)), (xs) => map64(xs[0], (t) => t * t));
  checkGradients("permute [2,0,1]", [{ shape: [2, 3, 4], values: v }], ([p]) => p.permute([2, 0, 1]), (xs) => {
    const out = new Float64Array(24);
    let o = 0;
    for (let k = 0; k < 4; k++) for (let i = 0; i < 2; i++) for (let j = 0; j < 3; j++) out[o++] = xs[0][i * 12 + j * 4 + k];
    return out;
  });
  checkGradients("slice [:, 1, ::2]", [{ shape: [2, 3, 4], values: v }], ([p]) => p.slice(null, 1, [null, null, 2]), (xs) => {
    const out = new Float64Array(4);
    let o = 0;
    for (let i = 0; i < 2; i++) for (let k = 0; k < 4; k += 2) out[o++] = xs[0][i * 12 + 4 + k];
    return out;
  });
  const index = new Tensor([[2, 0], [1, 1], [0, 2]]);
  checkGradients("gather axis 1, repeated index", [{ shape: [3, 3], values: sample(9, 51) }], ([p]) => p.gather(1, index), (xs) => {
    const out = new Float64Array(6);
    for (let r = 0; r < 3; r++) for (let c = 0; c < 2; c++) out[r * 2 + c] = xs[0][r * 3 + index.data[r * 2 + c]];
    return out;
  });
  checkGradients("get(1) then clone", [{ shape: [2, 3], values: sample(6, 52) }], ([p]) => p.get(1).clone(), (xs) => xs[0].slice(3, 6));
  checkGradients("unary chain", [{ shape: [5], values: sample(5, 53).map((t) => Math.fround(Math.abs(t) + 0.5)) }],
    ([p]) => p.sqrt().add(p.log()).sub(p.exp()).add(p.neg().abs()).add(p.pow(3)),
    (xs) => map64(xs[0], (t) => Math.sqrt(t) + Math.log(t) - Math.exp(t) + Math.abs(-t) + t ** 3));
  checkGradients("pow with a tensor exponent, maximum", [{ shape: [4], values: sample(4, 54).map((t) => Math.fround(t + 2)) }, { shape: [4], values: sample(4, 55) }],
    ([p, q]) => p.pow(q).add(p.maximum(q.mul(3))), ([p, q]) => ref.binary([4], [4], p, q, (s, t) => s ** t + Math.max(s, 3 * t)));
  {
    // Seeded: reshape, permute, transpose, slice, gather, get, a unary chain and pow/maximum on
    // random shapes, axes, slices, indices and values, against float64 central differences.
    const r = testRandom("autograd/shape-rules");
    type In = { shape: number[]; values: Float64Array };
    const tol = { rtol: 2e-3, atol: 2e-4 };
    /** The gradients backward() leaves on each input of `build`, its output weighted by sample(size, 99). */
    const backprop = (inputs: In[], build: (xs: Tensor[]) => Tensor) => {
      const xs = inputs.map((x) => new Tensor(Float32Array.from(x.values), x.shape).setRequiresGrad());
      const out = build(xs);
      out.backward(new Tensor(Float32Array.from(sample(out.size, 99)), out.shape));
      return { shapes: xs.map((x) => x.grad?.shape ?? null), values: xs.map((x) => Array.from(x.grad?.data ?? [])) };
    };
    /** Oracle: float64 central differences of sum(w · reference(xs)), w = sample(size, 99), for every input. */
    function centralDiff(inputs: In[], reference: (xs: Float64Array[]) => Float64Array): number[][] {
      const xs = inputs.map((x) => Float64Array.from(x.values));
      const f = (): number => {
        const y = reference(xs);
        const w = sample(y.length, 99);
        let total = 0;
        for (let i = 0; i < y.length; i++) total += w[i] * y[i];
        return total;
      };
      return xs.map((x) => {
        const out: number[] = [];
        for (let i = 0; i < x.length; i++) {
          const keep = x[i];
          const h = 1e-6 * Math.max(1, Math.abs(keep));
          x[i] = keep + h;
          const up = f();
          x[i] = keep - h;
          const down = f();
          x[i] = keep;
          out.push((up - down) / (2 * h));
        }
        return out;
      });
    }
    const values = (shape: number[], lo = -2, hi = 2): In => ({ shape, values: Float64Array.from(r.numbers(shapeSize(shape), lo, hi)) });
    /** Oracle: element i of the result reads element source(i) of the input. */
    const pick64 = (x: Float64Array, sources: number[]): Float64Array => Float64Array.from(sources, (s) => x[s]);
    /** Oracle: the flat input positions of each element of a permutation of `shape` by `axes`. */
    function permuted(shape: number[], axes: number[]): number[] {
      const strides = shape.map((_, i) => shapeSize(shape.slice(i + 1)));
      const outShape = axes.map((a) => shape[a]);
      const out: number[] = [];
      for (let flat = 0; flat < shapeSize(outShape); flat++) {
        let rest = flat;
        let source = 0;
        for (let d = outShape.length - 1; d >= 0; d--) {
          source += (rest % outShape[d]) * strides[axes[d]];
          rest = Math.floor(rest / outShape[d]);
        }
        out.push(source);
      }
      return out;
    }
    const s3 = r.shape(3, 4, 1);
    const reshaped = values(s3);
    const newShape = r.bool() ? [s3[0] * s3[1], s3[2]] : [s3[0], s3[1] * s3[2]];
    const weights = Float64Array.from(r.numbers(shapeSize(s3), -2, 2));
    const g1 = backprop([reshaped], ([p]) => p.reshape(newShape).mul(new Tensor(Float32Array.from(weights), newShape)).mul(p.reshape(newShape)));
    assertClose(g1.values, centralDiff([reshaped], ([p]) => p.map((t, i) => t * weights[i] * t)), tol, `seeded reshape [${s3.join(", ")}] to [${newShape.join(", ")}]`);
    const axes = r.shuffled([0, 1, 2]);
    const permIn = values(s3);
    assertClose(backprop([permIn], ([p]) => p.permute(axes)).values, centralDiff([permIn], ([p]) => pick64(p, permuted(s3, axes))), tol, `seeded permute [${axes.join(", ")}] of [${s3.join(", ")}]`);
    const s2 = r.shape(2, 5, 1);
    const transIn = values(s2);
    assertClose(backprop([transIn], ([p]) => p.transpose()).values, centralDiff([transIn], ([p]) => pick64(p, permuted(s2, [1, 0]))), tol, `seeded transpose of [${s2.join(", ")}]`);
    // A random slice: per axis the whole axis, one index (maybe negative), or start:stop:step.
    const sliced = r.shape(3, 5, 1);
    const specs: (number | null | [number, number, number])[] = sliced.map((d) => {
      const kind = r.int(0, 2);
      if (kind === 0) return null;
      const start = r.int(0, d - 1);
      if (kind === 1) return r.bool() ? start - d : start;
      return [start, r.int(start + 1, d), r.int(1, 2)];
    });
    /** Oracle: the flat input positions the slice reads, in order. */
    function sliceSources(shape: number[], spec: (number | null | [number, number, number])[]): number[] {
      const lists = shape.map((d, axis) => {
        const s = spec[axis];
        if (s === null) return Array.from({ length: d }, (_, i) => i);
        if (typeof s === "number") return [s < 0 ? s + d : s];
        const out: number[] = [];
        for (let i = s[0]; i < s[1]; i += s[2]) out.push(i);
        return out;
      });
      let sources = [0];
      lists.forEach((list, axis) => {
        const stride = shapeSize(shape.slice(axis + 1));
        sources = sources.flatMap((base) => list.map((i) => base + i * stride));
      });
      return sources;
    }
    const sliceIn = values(sliced);
    assertClose(backprop([sliceIn], ([p]) => p.slice(...specs)).values, centralDiff([sliceIn], ([p]) => pick64(p, sliceSources(sliced, specs))), tol, `seeded slice ${JSON.stringify(specs)} of [${sliced.join(", ")}]`);
    // gather along a random axis with random (repeated) indices.
    const [rows, cols, picks] = [r.int(1, 4), r.int(2, 5), r.int(1, 4)];
    const gatherAxis = r.int(0, 1);
    const indexShape = gatherAxis === 1 ? [rows, picks] : [picks, cols];
    const indexValues = Array.from({ length: shapeSize(indexShape) }, () => r.int(0, (gatherAxis === 1 ? cols : rows) - 1));
    const gatherIn = values([rows, cols]);
    /** Oracle: the flat input positions gather reads. */
    const gatherSources = (): number[] =>
      indexValues.map((k, o) => (gatherAxis === 1 ? Math.floor(o / picks) * cols + k : k * cols + (o % cols)));
    assertClose(backprop([gatherIn], ([p]) => p.gather(gatherAxis, new Tensor(indexValues, indexShape))).values, centralDiff([gatherIn], ([p]) => pick64(p, gatherSources())), tol, `seeded gather axis ${gatherAxis} of [${rows}, ${cols}]`);
    const row = r.int(0, rows - 1);
    const getIn = values([rows, cols]);
    assertClose(backprop([getIn], ([p]) => p.get(row).clone()).values, centralDiff([getIn], ([p]) => p.slice(row * cols, (row + 1) * cols)), tol, `seeded get(${row}) then clone`);
    const exponent = Math.fround(r.uniform(1.5, 3.5));
    const unaryIn = values([r.int(2, 8)], 0.5, 2.5);
    assertClose(
      backprop([unaryIn], ([p]) => p.sqrt().add(p.log()).sub(p.exp()).add(p.neg().abs()).add(p.pow(exponent))).values,
      centralDiff([unaryIn], ([p]) => p.map((t) => Math.sqrt(t) + Math.log(t) - Math.exp(t) + Math.abs(-t) + t ** exponent)),
      tol,
      `seeded unary chain, exponent ${exponent}`,
    );
    // pow with a tensor exponent and maximum, the two sides kept away from ties.
    const len = r.int(2, 8);
    const base = values([len], 1.5, 3);
    const other: In = { shape: [len], values: Float64Array.from(base.values, (b) => {
      let t = Math.fround(r.uniform(-1, 1));
      while (Math.abs(b - Math.fround(3 * t)) < 0.05) t = Math.fround(r.uniform(-1, 1));
      return t;
    }) };
    assertClose(
      backprop([base, other], ([p, q]) => p.pow(q).add(p.maximum(q.mul(3)))).values,
      centralDiff([base, other], ([p, q]) => ref.binary([len], [len], p, q, (s, t) => s ** t + Math.max(s, 3 * t))),
      tol,
      "seeded pow with a tensor exponent, maximum",
    );
  }
  // ### END HIDDEN TESTS
  passed("testUnitShapeRules");
}
testUnitShapeRules();

// %% [markdown]
// ## Part 5: Activations and losses
//
// The activations of module 02 compute their values element by element with `map`, which takes
// no note, and then record themselves as one operation (`"relu"`, `"sigmoid"`, ...). The rule of
// such an operation receives `g = dL/dy` and returns `g · f'(x)`, element by element. It may read
// the input `x` (`node.inputs[0]`) or the output `y` (its third argument), whichever makes the
// derivative cheaper to compute.
//
// ReLU is the worked example. `relu(x) = max(0, x)` has slope 1 where `x > 0` and 0 elsewhere
// (at 0 itself it has none; we take 0, as PyTorch does). So its rule passes `g` where the input
// was positive and 0 elsewhere: `zip(g, x, (gv, v) => (v > 0 ? gv : 0))`, in the cell after the
// exercise. The three others are yours to derive.
//
// Softmax is built from `max`, `sub`, `exp`, `sum` and `div`, so it needs no rule of its own:
// the graph of those five operations differentiates it. The same goes for the MSE loss
// (`sub`, `mul`, `mean`).
//
// ### Exercise 7: the rules of Sigmoid, Tanh and GELU
//
// **TODO**: Derive the derivative of each activation on paper, then write its rule.
//
// **APPROACH**:
// 1. Sigmoid, `σ(x) = 1 / (1 + e^(−x))`. Differentiate it, then rewrite the result using only
//    `y = σ(x)` (what is `1 − σ(x)`?). A slope written with `y` costs one multiplication per
//    element and no `exp`: the forward pass already paid for that.
// 2. Tanh, `tanh(x) = (eˣ − e^(−x)) / (eˣ + e^(−x))`. The quotient rule gives a fraction; write
//    it, too, in terms of `y = tanh(x)`.
// 3. GELU, `x · Φ(x)`, where `Φ` is the standard normal distribution function (`normalCdf`,
//    given, is module 02's approximation). It is a product: use the product rule, with
//    `Φ'(x) = φ(x) = e^(−x²/2) / √(2π)`, the standard normal density. Here no rewriting in `y`
//    helps: read the input.
//
// **HINTS**:
// - `zip(g, t, fn)` (given in Part 2) applies `fn` element by element, with broadcasting, and
//   takes no note.
// - Check your derivatives at 0 before you code them: `σ'(0) = 1/4`, `tanh'(0) = 1`,
//   `GELU'(0) = 1/2`. The visible test checks exactly these.

// %% nbgrader={"grade": false, "grade_id": "normal-cdf", "locked": true, "schema_version": 3, "solution": false, "task": false}
//| export
/**
 * Φ(x), the standard normal distribution function, for GELU's rule. This file may import only
 * module 01 (it is loaded with the Tensor, also where the grader withholds module 02), so it has
 * its own erf: the same Abramowitz and Stegun formula (7.1.26) as module 02's.
 */
function normalCdf(x: number): number {
  const a = Math.abs(x / Math.SQRT2);
  const t = 1 / (1 + 0.3275911 * a);
  const poly = t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429))));
  const erfAbs = 1 - poly * Math.exp(-a * a);
  return 0.5 * (1 + (x < 0 ? -erfAbs : erfAbs));
}

// %% nbgrader={"grade": false, "grade_id": "activation-backward", "locked": false, "schema_version": 3, "solution": true, "task": false}
//| export
/** Sigmoid's rule, from its output y = σ(x). */
function sigmoidBackward(grad: Tensor, _node: GradNode, y: Tensor): (Tensor | null)[] {
  // ### BEGIN SOLUTION
  return [zip(grad, y, (g, v) => g * v * (1 - v))];
  // ### END SOLUTION
}

/** Tanh's rule, from its output y = tanh(x). */
function tanhBackward(grad: Tensor, _node: GradNode, y: Tensor): (Tensor | null)[] {
  // ### BEGIN SOLUTION
  return [zip(grad, y, (g, v) => g * (1 - v * v))];
  // ### END SOLUTION
}

/** GELU's rule, from its input x: the product rule on x · Φ(x). */
function geluBackward(grad: Tensor, node: GradNode): (Tensor | null)[] {
  const x = node.inputs[0];
  // ### BEGIN SOLUTION
  const density = (v: number) => Math.exp(-0.5 * v * v) / Math.sqrt(2 * Math.PI);
  return [zip(grad, x, (g, v) => g * (normalCdf(v) + v * density(v)))];
  // ### END SOLUTION
}

// %% nbgrader={"grade": false, "grade_id": "activation-rules", "locked": true, "schema_version": 3, "solution": false, "task": false}
//| export
/** ReLU's rule: the gradient where the input was positive, 0 where it was not (NaN included). */
function reluBackward(g: Tensor, node: GradNode): (Tensor | null)[] {
  // Not `x > 0 ? g : 0` per element: on real activations that comparison is a coin toss, and
  // every wrong guess of the branch predictor costs more than the arithmetic. Here the
  // comparison becomes a mask of bits (all ones or none) over g's bits: no branch to guess.
  const x = node.inputs[0].data;
  const dx = new Float32Array(g.size);
  const gBits = new Int32Array(g.data.buffer, g.data.byteOffset, g.size);
  const dxBits = new Int32Array(dx.buffer);
  for (let i = 0; i < dx.length; i++) dxBits[i] = gBits[i] & -Number(x[i] > 0);
  return [new Tensor(dx, g.shape)];
}

registerRules({
  relu: reluBackward,
  sigmoid: sigmoidBackward,
  tanh: tanhBackward,
  gelu: geluBackward,
});

// %% nbgrader={"grade": true, "grade_id": "test-unit-activation-rules", "locked": true, "points": 3, "schema_version": 3, "solution": false, "task": false}
function testUnitActivationRules(): void {
  /** The slope of an activation at `v`, through backward(). */
  const slopeAt = (layer: { forward(t: Tensor): Tensor }, v: number): number => {
    const t = new Tensor([v]).setRequiresGrad();
    layer.forward(t).backward(new Tensor([1]));
    return t.grad?.item() ?? Number.NaN;
  };
  assertClose([slopeAt(new Sigmoid(), 0), slopeAt(new Tanh(), 0), slopeAt(new GELU(), 0)], [0.25, 1, 0.5], { rtol: 1e-4, atol: 1e-6 }, "σ'(0), tanh'(0) and GELU'(0)");
  // ### BEGIN HIDDEN TESTS
  const x = { shape: [3, 4], values: sample(12, 60, 3) };
  const sig = (t: number) => 1 / (1 + Math.exp(-t));
  const erf64 = (t: number) => {
    // Abramowitz and Stegun 7.1.26, in float64: the test's own copy.
    const a = Math.abs(t);
    const s = 1 / (1 + 0.3275911 * a);
    const e = 1 - s * (0.254829592 + s * (-0.284496736 + s * (1.421413741 + s * (-1.453152027 + s * 1.061405429)))) * Math.exp(-a * a);
    return t < 0 ? -e : e;
  };
  checkGradients("ReLU", [x], ([p]) => new ReLU().forward(p), (xs) => map64(xs[0], (t) => Math.max(0, t)));
  checkGradients("Sigmoid", [x], ([p]) => new Sigmoid().forward(p), (xs) => map64(xs[0], sig));
  checkGradients("Tanh", [x], ([p]) => new Tanh().forward(p), (xs) => map64(xs[0], Math.tanh));
  checkGradients("GELU", [x], ([p]) => new GELU().forward(p), (xs) => map64(xs[0], (t) => 0.5 * t * (1 + erf64(t / Math.SQRT2))), { rtol: 5e-3, atol: 1e-3 });
  assertClose([slopeAt(new Sigmoid(), 40), slopeAt(new Sigmoid(), -40), slopeAt(new Tanh(), 30)], [0, 0, 0], { atol: 1e-12 }, "saturated: finite, and 0");
  {
    // Seeded: ReLU, Sigmoid, Tanh and GELU on random [N, C] inputs (away from ReLU's kink),
    // backward from random upstream gradients, against float64 central differences.
    const r = testRandom("autograd/activation-rules");
    type In = { shape: number[]; values: Float64Array };
    const tol = { rtol: 2e-3, atol: 2e-4 };
    /** The gradients backward() leaves on each input of `build`, its output weighted by sample(size, 99). */
    const backprop = (inputs: In[], build: (xs: Tensor[]) => Tensor) => {
      const xs = inputs.map((x) => new Tensor(Float32Array.from(x.values), x.shape).setRequiresGrad());
      const out = build(xs);
      out.backward(new Tensor(Float32Array.from(sample(out.size, 99)), out.shape));
      return { shapes: xs.map((x) => x.grad?.shape ?? null), values: xs.map((x) => Array.from(x.grad?.data ?? [])) };
    };
    /** Oracle: float64 central differences of sum(w · reference(xs)), w = sample(size, 99), for every input. */
    function centralDiff(inputs: In[], reference: (xs: Float64Array[]) => Float64Array): number[][] {
      const xs = inputs.map((x) => Float64Array.from(x.values));
      const f = (): number => {
        const y = reference(xs);
        const w = sample(y.length, 99);
        let total = 0;
        for (let i = 0; i < y.length; i++) total += w[i] * y[i];
        return total;
      };
      return xs.map((x) => {
        const out: number[] = [];
        for (let i = 0; i < x.length; i++) {
          const keep = x[i];
          const h = 1e-6 * Math.max(1, Math.abs(keep));
          x[i] = keep + h;
          const up = f();
          x[i] = keep - h;
          const down = f();
          x[i] = keep;
          out.push((up - down) / (2 * h));
        }
        return out;
      });
    }
    const [rows, cols] = [r.int(2, 5), r.int(2, 5)];
    const shape = [rows, cols];
    // Away from 0, where ReLU has a kink.
    const inputs: In = { shape, values: Float64Array.from(r.numbers(rows * cols, 0.05, 4), (v) => (r.bool() ? -v : v)) };
    const sig64 = (t: number) => 1 / (1 + Math.exp(-t));
    /** Oracle: erf (Abramowitz and Stegun 7.1.26) in float64. */
    function erfOracle(t: number): number {
      const a = Math.abs(t);
      const s = 1 / (1 + 0.3275911 * a);
      const e = 1 - s * (0.254829592 + s * (-0.284496736 + s * (1.421413741 + s * (-1.453152027 + s * 1.061405429)))) * Math.exp(-a * a);
      return t < 0 ? -e : e;
    }
    const activations: [string, (p: Tensor) => Tensor][] = [
      ["ReLU", (p) => new ReLU().forward(p)],
      ["Sigmoid", (p) => new Sigmoid().forward(p)],
      ["Tanh", (p) => new Tanh().forward(p)],
    ];
    /** Oracle: each activation in float64. */
    function activation64(name: string): (t: number) => number {
      if (name === "ReLU") return (t) => Math.max(0, t);
      if (name === "Sigmoid") return sig64;
      return Math.tanh;
    }
    for (const [name, layer] of activations) {
      assertClose(backprop([inputs], ([p]) => layer(p)).values, centralDiff([inputs], ([p]) => p.map(activation64(name))), tol, `seeded ${name} of [${shape.join(", ")}]`);
    }
    assertClose(
      backprop([inputs], ([p]) => new GELU().forward(p)).values,
      centralDiff([inputs], ([p]) => p.map((t) => 0.5 * t * (1 + erfOracle(t / Math.SQRT2)))),
      { rtol: 5e-3, atol: 1e-3 },
      "seeded GELU",
    );
  }
  // ### END HIDDEN TESTS
  passed("testUnitActivationRules");
}
testUnitActivationRules();

// %%
//| mutation activation-backward takes sigmoid's slope y(1 − y) at the input x instead of the output y
function sigmoidBackward(grad: Tensor, node: GradNode): (Tensor | null)[] {
  return [zip(grad, node.inputs[0], (g, v) => g * v * (1 - v))];
}

function tanhBackward(grad: Tensor, _node: GradNode, y: Tensor): (Tensor | null)[] {
  return [zip(grad, y, (g, v) => g * (1 - v * v))];
}

function geluBackward(grad: Tensor, node: GradNode): (Tensor | null)[] {
  const density = (v: number) => Math.exp(-0.5 * v * v) / Math.sqrt(2 * Math.PI);
  return [zip(grad, node.inputs[0], (g, v) => g * (normalCdf(v) + v * density(v)))];
}

// %%
//| mutation activation-backward writes tanh's slope as 1 − y instead of 1 − y²
function sigmoidBackward(grad: Tensor, _node: GradNode, y: Tensor): (Tensor | null)[] {
  return [zip(grad, y, (g, v) => g * v * (1 - v))];
}

function tanhBackward(grad: Tensor, _node: GradNode, y: Tensor): (Tensor | null)[] {
  return [zip(grad, y, (g, v) => g * (1 - v))];
}

function geluBackward(grad: Tensor, node: GradNode): (Tensor | null)[] {
  const density = (v: number) => Math.exp(-0.5 * v * v) / Math.sqrt(2 * Math.PI);
  return [zip(grad, node.inputs[0], (g, v) => g * (normalCdf(v) + v * density(v)))];
}

// %%
//| mutation activation-backward forgets the product rule's x·φ(x) term: GELU's slope taken as Φ(x)
function sigmoidBackward(grad: Tensor, _node: GradNode, y: Tensor): (Tensor | null)[] {
  return [zip(grad, y, (g, v) => g * v * (1 - v))];
}

function tanhBackward(grad: Tensor, _node: GradNode, y: Tensor): (Tensor | null)[] {
  return [zip(grad, y, (g, v) => g * (1 - v * v))];
}

function geluBackward(grad: Tensor, node: GradNode): (Tensor | null)[] {
  return [zip(grad, node.inputs[0], (g, v) => g * normalCdf(v))];
}

// %% [markdown]
// ### Softmax and cross-entropy together
// Cross-entropy of logits `z` and label `y` is `-log softmax(z)_y`. Through five separate rules,
// its backward pass would allocate a dozen temporary tensors. Done on paper, it collapses:
//
// ```
// dL/dz_i = softmax(z)_i - [i = y]          (per example; divided by N for the mean)
// ```
//
// "The predicted probabilities minus the one-hot label": cheap, and exact even when a
// probability underflows to 0, where the separate rules would compute `0 * Infinity`. The loss
// of module 04 therefore records one `"crossEntropy"` node whose input is the logits, saving the
// labels and the log-probabilities it computed anyway. Binary cross-entropy does the same:
// `d/dp = (p - t) / (p (1 - p))` per element, divided by N, and 0 where `p` was clamped.
//
// Both formulas give `dL/dz` for `L` = **this loss**. The rule, like every rule, receives `grad`:
// the gradient of whatever the backward pass started from with respect to this loss's output. It
// is 1 only when `backward()` starts right at this loss. Scale the loss first (a weighted sum of
// two losses, the loss divided by the number of micro-batches in module 08's gradient
// accumulation, mixed-precision loss scaling) and `grad` is that factor: the chain rule says
// the result must be multiplied by it.
//
// ### Exercise 8: `crossEntropyBackward`
//
// **TODO**: Return the gradient of the logits, for the mean cross-entropy over the batch, times
// the upstream gradient `grad`.
//
// **APPROACH**:
// 1. Read what the forward pass saved (`node.args.saved`): the labels (one class index per row)
//    and the log-probabilities (`[N, C]`, the logits' shape). Which of the two gives you
//    `softmax(z)` without computing a softmax again?
// 2. Build `softmax(z) - onehot(y)`: which single element of each row does the one-hot label
//    change?
// 3. The loss is the **mean** over the `N` rows: what does that do to each row's gradient? And
//    where does `grad` go?
//
// **HINTS**:
// - The loss is a scalar, so `grad` has one element: `grad.item()`.
// - A tensor an operation returns is freshly allocated: writing into its `data` changes nothing
//   else.
// - Work out `loss.mul(4).backward()` for logits `[[0, 0]]` and label 1 with the chain rule
//   before you run it: the visible test does exactly that.

// %% nbgrader={"grade": false, "grade_id": "cross-entropy-backward", "locked": false, "schema_version": 3, "solution": true, "task": false}
//| export
/** The fused softmax + cross-entropy rule: (softmax(z) - onehot(y)) * g / N. */
function crossEntropyBackward(grad: Tensor, node: GradNode): (Tensor | null)[] {
  const saved = node.args.saved ?? [];
  const labels = saved[0];
  const logProbs = saved[1];
  // ### BEGIN SOLUTION
  const [n, c] = logProbs.shape;
  const probs = logProbs.exp();
  for (let i = 0; i < n; i++) probs.data[i * c + labels.data[i]] -= 1;
  return [probs.mul(grad.item() / n)];
  // ### END SOLUTION
}

// %% nbgrader={"grade": false, "grade_id": "loss-rules", "locked": true, "schema_version": 3, "solution": false, "task": false}
//| export
/** BCE of clamped probabilities: (p - t) / (p (1 - p)) / N where p was inside the clamp. */
function binaryCrossEntropyBackward(grad: Tensor, node: GradNode): (Tensor | null)[] {
  const p = node.inputs[0];
  const [targets, clamped] = node.args.saved ?? [];
  const scale = grad.item() / p.size;
  const out = new Float32Array(p.size);
  for (let i = 0; i < out.length; i++) {
    const q = clamped.data[i];
    if (q !== p.data[i]) continue; // clamped: flat there
    out[i] = (scale * (q - targets.data[i])) / (q * (1 - q));
  }
  return [new Tensor(out, p.shape)];
}

registerRules({
  crossEntropy: crossEntropyBackward,
  binaryCrossEntropy: binaryCrossEntropyBackward,
});

// %% nbgrader={"grade": true, "grade_id": "test-unit-losses", "locked": true, "points": 4, "schema_version": 3, "solution": false, "task": false}
function testUnitLosses(): void {
  const logits = new Tensor([[0, 0]]).setRequiresGrad();
  new CrossEntropyLoss().forward(logits, [1]).backward();
  assertClose(logits.grad?.toArray() ?? [], [[0.5, -0.5]], {}, "softmax minus one-hot");
  const scaled = new Tensor([[0, 0]]).setRequiresGrad();
  new CrossEntropyLoss().forward(scaled, [1]).mul(4).backward();
  assertClose(scaled.grad?.toArray() ?? [], [[2, -2]], {}, "a loss scaled by 4 before backward(): the upstream gradient is 4");
  // ### BEGIN HIDDEN TESTS
  const x = { shape: [3, 4], values: sample(12, 60, 3) };
  const sig = (t: number) => 1 / (1 + Math.exp(-t));
  checkGradients("Softmax", [x], ([p]) => new Softmax().forward(p), (xs) => map64(ref.logSoftmaxRows(xs[0], 3, 4), Math.exp));
  checkGradients("Softmax axis 0", [x], ([p]) => new Softmax(0).forward(p), (xs) => {
    const t = new Float64Array(12);
    for (let r = 0; r < 3; r++) for (let c = 0; c < 4; c++) t[c * 3 + r] = xs[0][r * 4 + c];
    const s = map64(ref.logSoftmaxRows(t, 4, 3), Math.exp);
    const out = new Float64Array(12);
    for (let r = 0; r < 3; r++) for (let c = 0; c < 4; c++) out[r * 4 + c] = s[c * 3 + r];
    return out;
  });
  const labels = [3, 0, 2];
  const ce = (xs: Float64Array[]) => {
    const lp = ref.logSoftmaxRows(xs[0], 3, 4);
    return Float64Array.of(-labels.reduce((s, y, i) => s + lp[i * 4 + y], 0) / 3);
  };
  checkGradients("CrossEntropyLoss", [x], ([p]) => new CrossEntropyLoss().forward(p, labels), ce);
  checkGradients("CrossEntropyLoss with a Tensor of labels", [x], ([p]) => new CrossEntropyLoss().forward(p, new Tensor(labels)), ce);
  checkGradients("softmax then log then gather: the unfused path", [x],
    ([p]) => new Softmax().forward(p).log().gather(1, new Tensor([[3], [0], [2]])).mean().neg(), ce);
  const big = { shape: [2, 3], values: Float64Array.from([200, -200, 0, 0, 300, -300]) };
  const bigLabels = [1, 2];
  const logitsBig = new Tensor(Float32Array.from(big.values), big.shape).setRequiresGrad();
  new CrossEntropyLoss().forward(logitsBig, bigLabels).backward();
  assertClose(logitsBig.grad?.toArray() ?? [], [[0.5, -0.5, 0], [0, 0.5, -0.5]], { atol: 1e-6 }, "finite for huge logits");
  const targets = new Tensor([[1, 0, 1, 0], [0, 1, 1, 0], [1, 1, 0, 0]]);
  const probs = { shape: [3, 4], values: map64(sample(12, 61, 2), (t) => Math.fround(sig(t))) };
  checkGradients("BinaryCrossEntropyLoss", [probs], ([p]) => new BinaryCrossEntropyLoss().forward(p, targets), (xs) => {
    let total = 0;
    for (let i = 0; i < 12; i++) total += targets.data[i] * Math.log(xs[0][i]) + (1 - targets.data[i]) * Math.log(1 - xs[0][i]);
    return Float64Array.of(-total / 12);
  });
  const goal = sample(12, 62);
  checkGradients("MSELoss", [x], ([p]) => new MSELoss().forward(p, new Tensor(Float32Array.from(goal), [3, 4])), (xs) => {
    let total = 0;
    for (let i = 0; i < 12; i++) total += (xs[0][i] - goal[i]) ** 2;
    return Float64Array.of(total / 12);
  });
  {
    // Seeded: softmax along a random axis, cross-entropy with random labels (fused and unfused,
    // and from a random upstream gradient), binary cross-entropy with random targets and MSE, on
    // random [N, C] inputs.
    const r = testRandom("autograd/activations-losses");
    type In = { shape: number[]; values: Float64Array };
    const tol = { rtol: 2e-3, atol: 2e-4 };
    /** The gradients backward() leaves on each input of `build`, its output weighted by sample(size, 99). */
    const backprop = (inputs: In[], build: (xs: Tensor[]) => Tensor) => {
      const xs = inputs.map((x) => new Tensor(Float32Array.from(x.values), x.shape).setRequiresGrad());
      const out = build(xs);
      out.backward(new Tensor(Float32Array.from(sample(out.size, 99)), out.shape));
      return { shapes: xs.map((x) => x.grad?.shape ?? null), values: xs.map((x) => Array.from(x.grad?.data ?? [])) };
    };
    /** Oracle: float64 central differences of sum(w · reference(xs)), w = sample(size, 99), for every input. */
    function centralDiff(inputs: In[], reference: (xs: Float64Array[]) => Float64Array): number[][] {
      const xs = inputs.map((x) => Float64Array.from(x.values));
      const f = (): number => {
        const y = reference(xs);
        const w = sample(y.length, 99);
        let total = 0;
        for (let i = 0; i < y.length; i++) total += w[i] * y[i];
        return total;
      };
      return xs.map((x) => {
        const out: number[] = [];
        for (let i = 0; i < x.length; i++) {
          const keep = x[i];
          const h = 1e-6 * Math.max(1, Math.abs(keep));
          x[i] = keep + h;
          const up = f();
          x[i] = keep - h;
          const down = f();
          x[i] = keep;
          out.push((up - down) / (2 * h));
        }
        return out;
      });
    }
    const [rows, cols] = [r.int(2, 5), r.int(2, 5)];
    const shape = [rows, cols];
    const logits: In = { shape, values: Float64Array.from(r.numbers(rows * cols, 0.05, 3), (v) => (r.bool() ? -v : v)) };
    /** Oracle: softmax of a [rows, cols] matrix along `axis` in float64. */
    function softmax64(x: Float64Array, axis: number): Float64Array {
      if (axis === 1 || axis === -1) return ref.logSoftmaxRows(x, rows, cols).map(Math.exp);
      const t = new Float64Array(rows * cols);
      for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) t[j * rows + i] = x[i * cols + j];
      const s = ref.logSoftmaxRows(t, cols, rows).map(Math.exp);
      return x.map((_, o) => s[(o % cols) * rows + Math.floor(o / cols)]);
    }
    const labels = Array.from({ length: rows }, () => r.int(0, cols - 1));
    /** Oracle: mean cross-entropy of the rows of `x` with `labels`, in float64. */
    function ce64(x: Float64Array): Float64Array {
      const lp = ref.logSoftmaxRows(x, rows, cols);
      return Float64Array.of(-labels.reduce((s, y, i) => s + lp[i * cols + y], 0) / rows);
    }
    const softmaxAxis = r.pick([0, 1, -1]);
    assertClose(backprop([logits], ([p]) => new Softmax(softmaxAxis).forward(p)).values, centralDiff([logits], ([p]) => softmax64(p, softmaxAxis)), tol, `seeded Softmax(${softmaxAxis})`);
    assertClose(backprop([logits], ([p]) => new CrossEntropyLoss().forward(p, labels)).values, centralDiff([logits], ([p]) => ce64(p)), tol, `seeded CrossEntropyLoss, labels ${labels.join(", ")}`);
    assertClose(backprop([logits], ([p]) => new CrossEntropyLoss().forward(p, new Tensor(labels))).values, centralDiff([logits], ([p]) => ce64(p)), tol, "seeded CrossEntropyLoss with a Tensor of labels");
    const picked = new Tensor(labels.map((y) => [y]));
    assertClose(backprop([logits], ([p]) => new Softmax().forward(p).log().gather(1, picked).mean().neg()).values, centralDiff([logits], ([p]) => ce64(p)), tol, "seeded softmax, log, gather: the unfused path");
    const probs: In = { shape, values: Float64Array.from(r.numbers(rows * cols, 0.05, 0.95)) };
    const targets = Array.from({ length: rows * cols }, () => (r.bool() ? 1 : 0));
    assertClose(
      backprop([probs], ([p]) => new BinaryCrossEntropyLoss().forward(p, new Tensor(targets, shape))).values,
      centralDiff([probs], ([p]) => Float64Array.of(-p.reduce((s, q, i) => s + targets[i] * Math.log(q) + (1 - targets[i]) * Math.log(1 - q), 0) / p.length)),
      tol,
      "seeded BinaryCrossEntropyLoss",
    );
    const goal = r.numbers(rows * cols, -2, 2);
    assertClose(
      backprop([logits], ([p]) => new MSELoss().forward(p, new Tensor(goal, shape))).values,
      centralDiff([logits], ([p]) => Float64Array.of(p.reduce((s, q, i) => s + (q - goal[i]) ** 2, 0) / p.length)),
      tol,
      "seeded MSELoss",
    );
    // Backward from a random upstream gradient straight into the loss, and through a random
    // scale: the gradient of the logits is the upstream times the loss's own.
    const upstream = Math.fround(r.uniform(0.5, 3) * (r.bool() ? -1 : 1));
    const factor = Math.fround(r.uniform(0.1, 4));
    const fromUpstream = new Tensor(Float32Array.from(logits.values), shape).setRequiresGrad();
    new CrossEntropyLoss().forward(fromUpstream, labels).backward(new Tensor(upstream));
    const throughScale = new Tensor(Float32Array.from(logits.values), shape).setRequiresGrad();
    new CrossEntropyLoss().forward(throughScale, labels).mul(factor).backward();
    /** Oracle: d(c · mean cross-entropy)/d(logits) by float64 central differences. */
    // (centralDiff weighs a scalar output by sample(1, 99); divided out here.)
    const scaledCe64 = (c: number): number[] => centralDiff([logits], ([p]) => ce64(p).map((v) => (c * v) / sample(1, 99)[0]))[0];
    assertClose(Array.from(fromUpstream.grad?.data ?? []), scaledCe64(upstream), tol, `seeded cross-entropy, backward from an upstream gradient of ${upstream}`);
    assertClose(Array.from(throughScale.grad?.data ?? []), scaledCe64(factor), tol, `seeded cross-entropy scaled by ${factor} before backward()`);
  }
  // ### END HIDDEN TESTS
  passed("testUnitLosses");
}
testUnitLosses();

// %%
//| mutation cross-entropy-backward ignores the upstream gradient: (softmax − onehot) / N whatever grad is
function crossEntropyBackward(grad: Tensor, node: GradNode): (Tensor | null)[] {
  const [labels, logProbs] = node.args.saved ?? [];
  const [n, c] = logProbs.shape;
  const probs = logProbs.exp();
  for (let i = 0; i < n; i++) probs.data[i * c + labels.data[i]] -= 1;
  return [probs.mul(1 / n)];
}

// %%
//| mutation cross-entropy-backward forgets that the loss is a mean: no division by N
function crossEntropyBackward(grad: Tensor, node: GradNode): (Tensor | null)[] {
  const [labels, logProbs] = node.args.saved ?? [];
  const [n, c] = logProbs.shape;
  const probs = logProbs.exp();
  for (let i = 0; i < n; i++) probs.data[i * c + labels.data[i]] -= 1;
  return [probs.mul(grad.item())];
}

// %% [markdown]
// ## Part 6: Layers, evaluation, and memory
//
// Nothing more is needed for the layers of module 03: `Linear` is a `matmul` and an `add`, whose
// rules you have; its `weight` and `bias` are created with `requiresGrad` set, so they are the
// leaves that collect gradients. `Dropout` in training multiplies by a random mask of zeros and
// `1/(1-p)` (a `mul` with a constant), and in evaluation returns its input unchanged.
// `Sequential` just chains forwards.
//
// Three habits keep training correct and lean:
//
// - **Evaluate inside `noGrad`.** Without it, every evaluation batch builds a graph that nobody
//   will walk.
// - **`detach()`** a tensor to use its value as a constant (a target computed by the network
//   itself, say): no gradient flows through it.
// - **Release the graph.** `backward()` drops every note it walked, so the intermediate tensors
//   of a step become garbage as soon as the step ends. A training loop therefore uses the same
//   memory at step 1,000 as at step 1. The kit's own tests train a 784-128-10 network for 1,000
//   steps and check that the heap, measured after garbage collection, does not grow. A graph
//   walked with `retainGraph` is released by the next pass without it; after that, any pass
//   through it throws "Trying to backward through the graph a second time".
//
// The cell below trains a tiny network by hand (plain gradient descent: `w -= lr * w.grad`),
// which is all an optimiser is. Module 07 does this properly.

// %%
await demo("fitting y = 3x - 1 with gradient descent", () => {
  const layer = new Linear(1, 1, { seed: 0 });
  const xs = Tensor.arange(-1, 1, 0.1).reshape(-1, 1);
  const ys = xs.mul(3).sub(1);
  const loss = new MSELoss();
  for (let step = 0; step <= 100; step++) {
    const l = loss.forward(layer.forward(xs), ys);
    for (const p of layer.parameters()) p.zeroGrad();
    l.backward();
    for (const p of layer.parameters()) {
      const g = p.grad;
      if (g === null) continue;
      for (let i = 0; i < p.size; i++) p.data[i] -= 0.3 * g.data[i];
    }
    if (step % 25 === 0) console.log(`step ${String(step).padStart(3)}  loss ${l.item().toFixed(6)}`);
  }
  console.log(`learned w = ${layer.weight.item().toFixed(4)}, b = ${layer.bias?.item().toFixed(4)}`);
});

// %% nbgrader={"grade": true, "grade_id": "test-unit-layers-and-memory", "locked": true, "points": 4, "schema_version": 3, "solution": false, "task": false}
function testUnitLayersAndMemory(): void {
  const net = new Sequential([new Linear(3, 4, { seed: 1 }), new ReLU(), new Linear(4, 2, { seed: 2 })]);
  for (const p of net.parameters()) assert(p.requiresGrad, "parameters require gradients");
  const x = new Tensor([[1, -2, 0.5]]);
  const out = net.forward(x);
  out.sum().backward();
  for (const p of net.parameters()) assert(p.grad !== null, "every parameter got a gradient");
  assertEqual(out.gradFn, null, "the graph is released after backward()");
  const evaluated = noGrad(() => net.forward(x));
  assertEqual(evaluated.gradFn, null, "noGrad builds no graph");
  assert(Tensor.gradEnabled, "noGrad restores recording");
  // ### BEGIN HIDDEN TESTS
  const mid = net.forward(x);
  const loss = mid.mul(mid).sum();
  const order = topologicalOrder(loss);
  loss.backward();
  for (const t of order) assertEqual(t.gradFn, null, "every note is dropped");
  assertClose(evaluated.toArray(), net.forward(x).toArray(), {}, "noGrad computes the same values");
  try {
    noGrad(() => {
      throw new Error("boom");
    });
  } catch {
    // expected
  }
  assert(Tensor.gradEnabled, "noGrad restores recording after an error");
  const w = new Tensor([1, 2]).setRequiresGrad();
  const d = w.mul(2).detach();
  assert(!d.requiresGrad && d.gradFn === null, "detach cuts the graph");
  let threw = false;
  try {
    w.mul(2).backward();
  } catch {
    threw = true;
  }
  assert(threw, "backward() without a gradient needs a scalar");
  threw = false;
  try {
    new Tensor([1]).backward();
  } catch {
    threw = true;
  }
  assert(threw, "backward() on a tensor that requires no gradient");
  // Linear, Dropout and Sequential against float64 references.
  const lin = new Linear(3, 2, { seed: 3 });
  const wv = Float64Array.from(lin.weight.data);
  checkGradients("Linear input gradient", [{ shape: [2, 3], values: sample(6, 70) }], ([p]) => lin.forward(p), (xs) => {
    const y = ref.matmul(xs[0], wv, [1, 1], 2, 3, 2);
    return y;
  });
  for (const p of lin.parameters()) p.zeroGrad();
  const xin = new Tensor([[1, 2, 3], [-1, 0, 2]]);
  lin.forward(xin).sum().backward();
  assertClose(lin.weight.grad?.toArray() ?? [], [[0, 0], [2, 2], [5, 5]], {}, "dW = xᵀ @ 1");
  assertClose(lin.bias?.grad?.toArray() ?? [], [2, 2], {}, "db sums over the batch");
  const drop = new Dropout(0.5, { seed: 4 });
  const din = new Tensor([1, 1, 1, 1, 1, 1, 1, 1]).setRequiresGrad();
  const dout = drop.forward(din);
  dout.sum().backward();
  assertClose(din.grad?.toArray() ?? [], Array.from(dout.data), {}, "dropout: the gradient is the mask");
  drop.eval();
  const din2 = new Tensor([1, 2]).setRequiresGrad();
  drop.forward(din2).sum().backward();
  assertEqual(din2.grad?.toArray(), [1, 1], "dropout in eval mode: identity");
  const seq = new Sequential([new Linear(4, 3, { seed: 5 }), new Tanh(), new Linear(3, 2, { seed: 6 })]);
  const [l1, , l2] = seq.layers as [Linear, unknown, Linear];
  const w1 = Float64Array.from(l1.weight.data);
  const w2 = Float64Array.from(l2.weight.data);
  checkGradients("Sequential input gradient", [{ shape: [2, 4], values: sample(8, 71) }], ([p]) => seq.forward(p), (xs) => {
    const h = map64(ref.matmul(xs[0], w1, [1, 1], 2, 4, 3), Math.tanh);
    return ref.matmul(h, w2, [1, 1], 2, 3, 2);
  });
  {
    // Seeded: a Linear and a Linear-Tanh-Linear of random sizes and seeds, with random inputs and
    // biases: the gradients of the input and of every parameter against float64 central
    // differences; and Dropout with a random rate and seed: the gradient is the mask.
    const r = testRandom("autograd/layers-and-memory");
    type In = { shape: number[]; values: Float64Array };
    const tol = { rtol: 2e-3, atol: 2e-4 };
    /** The gradients backward() leaves on each input of `build`, its output weighted by sample(size, 99). */
    const backprop = (inputs: In[], build: (xs: Tensor[]) => Tensor) => {
      const xs = inputs.map((x) => new Tensor(Float32Array.from(x.values), x.shape).setRequiresGrad());
      const out = build(xs);
      out.backward(new Tensor(Float32Array.from(sample(out.size, 99)), out.shape));
      return { shapes: xs.map((x) => x.grad?.shape ?? null), values: xs.map((x) => Array.from(x.grad?.data ?? [])) };
    };
    /** Oracle: float64 central differences of sum(w · reference(xs)), w = sample(size, 99), for every input. */
    function centralDiff(inputs: In[], reference: (xs: Float64Array[]) => Float64Array): number[][] {
      const xs = inputs.map((x) => Float64Array.from(x.values));
      const f = (): number => {
        const y = reference(xs);
        const w = sample(y.length, 99);
        let total = 0;
        for (let i = 0; i < y.length; i++) total += w[i] * y[i];
        return total;
      };
      return xs.map((x) => {
        const out: number[] = [];
        for (let i = 0; i < x.length; i++) {
          const keep = x[i];
          const h = 1e-6 * Math.max(1, Math.abs(keep));
          x[i] = keep + h;
          const up = f();
          x[i] = keep - h;
          const down = f();
          x[i] = keep;
          out.push((up - down) / (2 * h));
        }
        return out;
      });
    }
    const random = (shape: number[]): In => ({ shape, values: Float64Array.from(r.numbers(shapeSize(shape), -1.5, 1.5)) });
    /** Oracle: x @ w + b for a [rows, inner] x and [inner, outer] w, in float64. */
    const affine64 = (x: Float64Array, w: Float64Array, b: Float64Array, rows: number, inner: number, outer: number): Float64Array =>
      ref.matmul(x, w, [1, 1], rows, inner, outer).map((v, i) => v + b[i % outer]);
    const [batch, inF, outF] = [r.int(1, 4), r.int(1, 5), r.int(1, 5)];
    const seededLinear = new Linear(inF, outF, { seed: r.seed() });
    const linIns = [random([batch, inF]), { shape: [inF, outF], values: Float64Array.from(seededLinear.weight.data) }, random([outF])];
    const linGot = backprop(linIns, ([p, w, b]) => {
      seededLinear.weight = w;
      seededLinear.bias = b;
      return seededLinear.forward(p);
    });
    const linLabel = `seeded Linear(${inF}, ${outF}), batch ${batch}`;
    assertEqual(linGot.shapes, [[batch, inF], [inF, outF], [outF]], `${linLabel}: gradient shapes`);
    assertClose(linGot.values, centralDiff(linIns, ([p, w, b]) => affine64(p, w, b, batch, inF, outF)), tol, `${linLabel}: input, weight and bias`);
    const hidden = r.int(1, 5);
    const seededSeq = new Sequential([new Linear(inF, hidden, { seed: r.seed() }), new Tanh(), new Linear(hidden, outF, { seed: r.seed() })]);
    const [first, , second] = seededSeq.layers as [Linear, unknown, Linear];
    const seqIns = [random([batch, inF]), { shape: [inF, hidden], values: Float64Array.from(first.weight.data) }, random([hidden]), { shape: [hidden, outF], values: Float64Array.from(second.weight.data) }, random([outF])];
    const seqGot = backprop(seqIns, ([p, w1, b1, w2, b2]) => {
      [first.weight, first.bias, second.weight, second.bias] = [w1, b1, w2, b2];
      return seededSeq.forward(p);
    });
    assertClose(
      seqGot.values,
      centralDiff(seqIns, ([p, w1, b1, w2, b2]) => affine64(affine64(p, w1, b1, batch, inF, hidden).map(Math.tanh), w2, b2, batch, hidden, outF)),
      tol,
      `seeded Sequential ${inF}-${hidden}-${outF}: input and every parameter`,
    );
    const rate = Math.round(r.uniform(0.1, 0.8) * 100) / 100;
    const size = r.int(8, 24);
    const dropout = new Dropout(rate, { seed: r.seed() });
    const ones = Tensor.ones([size]).setRequiresGrad();
    const dropped = dropout.forward(ones);
    const upstream = r.numbers(size, -2, 2);
    dropped.backward(new Tensor(upstream));
    assertClose(Array.from(ones.grad?.data ?? []), upstream.map((u, i) => u * dropped.data[i]), {}, `seeded Dropout(${rate}): the gradient is the mask`);
    // The Sequential's graph, kept for a second pass and then released: walked twice, its
    // gradients double; a third pass is refused.
    const probe = new Tensor(r.numbers(batch * inF, -1, 1), [batch, inF]);
    for (const p of seededSeq.parameters()) p.zeroGrad();
    const kept = seededSeq.forward(probe).sum();
    backward(kept, { retainGraph: true });
    const once = seededSeq.parameters().map((p) => Array.from(p.grad?.data ?? []));
    kept.backward();
    assertClose(seededSeq.parameters().map((p) => Array.from(p.grad?.data ?? [])), once.map((g) => g.map((v) => 2 * v)), { rtol: 1e-5, atol: 1e-6 }, "seeded Sequential: a retained graph walked twice doubles every gradient");
    assertThrows(() => kept.backward(), "Trying to backward through the graph a second time", "seeded Sequential: a third pass, after the second released the graph");
  }
  // ### END HIDDEN TESTS
  passed("testUnitLayersAndMemory");
}
testUnitLayersAndMemory();

// %% [markdown]
// ## Reflection
//
// ### Predict, then measure
// Write a number in each of the next three cells **before** you run the measurement after them:
// work it out from this module's lesson, on paper, not by running code. The predictions are
// graded by hidden checks, within a tolerance.
//
// Take milestone 03's digit classifier, `Linear(784, 128) → ReLU → Linear(128, 10)` with
// `CrossEntropyLoss`, and one training step on a batch `x` of 64 images (`x` needs no gradient):
//
// 1. How many tensors does `topologicalOrder(loss)` hold, parameters included: how many nodes
//    does `loss.backward()` visit? (Look at what `Linear.forward` computes.)
// 2. How many matrix products does `loss.backward()` compute? The forward pass computes 2.
// 3. How many bytes of element data do the tensors of that order hold, **parameters excluded**
//    (the outputs of the operations, loss included)? This is what the graph keeps alive until
//    `backward()` releases it, every step.

// %% nbgrader={"grade": false, "grade_id": "predict-backward-nodes", "locked": false, "schema_version": 3, "solution": true, "task": false}
/** Your prediction: the number of tensors in topologicalOrder(loss). */
function predictedBackwardNodes(): number {
  // ### BEGIN SOLUTION
  return 10; // 4 parameters + matmul, add (per Linear) + relu + the loss
  // ### END SOLUTION
}

// %% nbgrader={"grade": false, "grade_id": "predict-backward-matmuls", "locked": false, "schema_version": 3, "solution": true, "task": false}
/** Your prediction: matrix products computed by loss.backward(). */
function predictedBackwardMatmuls(): number {
  // ### BEGIN SOLUTION
  return 3; // dW2 = hᵀg and dh = g W2ᵀ for the second layer; only dW1 = xᵀg for the first (x needs none)
  // ### END SOLUTION
}

// %% nbgrader={"grade": false, "grade_id": "predict-graph-bytes", "locked": false, "schema_version": 3, "solution": true, "task": false}
/** Your prediction: bytes of the non-parameter tensors of the graph. */
function predictedGraphBytes(): number {
  // ### BEGIN SOLUTION
  return 4 * (3 * 64 * 128 + 2 * 64 * 10 + 1); // matmul, add, relu [64, 128]; matmul, add [64, 10]; the loss
  // ### END SOLUTION
}

// %%
await demo("measure the predictions", () => {
  const mlp = new Sequential([new Linear(784, 128, { seed: 1 }), new ReLU(), new Linear(128, 10, { seed: 2 })]);
  const x = Tensor.rand([64, 784], 3);
  const labels = Array.from({ length: 64 }, (_, i) => i % 10);
  const loss = new CrossEntropyLoss().forward(mlp.forward(x), labels);
  const order = topologicalOrder(loss);
  const params = new Set(mlp.parameters());
  const bytes = order.filter((t) => !params.has(t)).reduce((total, t) => total + t.nbytes, 0);
  const ops = order.map((t) => (params.has(t) ? "parameter" : (t.gradFn?.op ?? "?"))).join(", ");
  let products = 0;
  const previous = setMatmulBackend((a, b) => {
    products++;
    return (previous ?? matmulKernel)(a, b);
  });
  try {
    loss.backward();
  } finally {
    setMatmulBackend(previous);
  }
  console.log(`nodes visited:        ${order.length} (you predicted ${predictedBackwardNodes()})`);
  console.log(`products in backward: ${products} (you predicted ${predictedBackwardMatmuls()})`);
  console.log(`graph bytes:          ${bytes.toLocaleString("en")} (you predicted ${predictedGraphBytes().toLocaleString("en")})`);
  console.log(`the order: ${ops}`);
});

// %% nbgrader={"grade": true, "grade_id": "test-unit-autograd-predictions", "locked": true, "points": 3, "schema_version": 3, "solution": false, "task": false}
function testUnitAutogradPredictions(): void {
  // ### BEGIN HIDDEN TESTS
  check("the nodes a backward pass visits", 1, () => assertPrediction(predictedBackwardNodes(), 10, { rtol: 0, atol: 0 }));
  check("the products a backward pass computes", 1, () => assertPrediction(predictedBackwardMatmuls(), 3, { rtol: 0, atol: 0 }));
  check("the bytes a graph holds until it is released", 1, () => assertPrediction(predictedGraphBytes(), 103_428, { rtol: 0.02 }));
  // ### END HIDDEN TESTS
  passed("testUnitAutogradPredictions");
}
testUnitAutogradPredictions();

// %%
//| mutation predict-backward-nodes counts the operations but not the parameters
function predictedBackwardNodes(): number {
  return 6;
}

// %%
//| mutation predict-backward-matmuls counts two products per matmul, also for the input that needs no gradient
function predictedBackwardMatmuls(): number {
  return 4;
}

// %%
//| mutation predict-graph-bytes counts elements instead of bytes
function predictedGraphBytes(): number {
  return 3 * 64 * 128 + 2 * 64 * 10 + 1;
}

// %% [markdown] nbgrader={"grade": true, "grade_id": "explain-backward-cost", "locked": false, "points": 2, "schema_version": 3, "solution": true, "task": false}
// **Question 1.** The rule of thumb says a backward pass costs about twice the forward pass. Count
// the FLOPs of the forward and the backward products of the step above (a product `[m, k] @ [k,
// n]` costs `2mkn`) and explain why, for this network, the ratio is close to 1 and not 2. For
// which layers of a network does the rule of thumb hold?
//
// ### BEGIN SOLUTION
// Forward: `2·64·784·128 ≈ 12.85 M` for the first layer plus `2·64·128·10 ≈ 0.16 M` for the
// second, about 13.0 M FLOPs. Backward: `dW1 = xᵀ g` costs `2·784·64·128 ≈ 12.85 M`, `dW2 = hᵀ g`
// and `dh = g W2ᵀ` cost 0.16 M each: about 13.2 M, a ratio of about 1.01. The product that would
// double the cost, `dx = g W1ᵀ` (12.85 M), is never computed, because `x` needs no gradient, and
// the first layer holds almost all the FLOPs. The rule of thumb holds for a layer whose input
// needs a gradient (every layer after the first): it computes both `dW` and `dx`, two products
// the size of its forward one. In a deep network that is nearly every layer, so the ratio tends
// to 2.
// ### END SOLUTION
//
// ### BEGIN RUBRIC
// 2 points: both FLOP counts roughly right (about 13 M each, ratio about 1), the skipped `dx` of
// the first layer named as the reason (x needs no gradient, and that layer dominates the cost),
// and the rule of thumb tied to layers whose input needs a gradient (two products each). 1 point:
// the right reason without the counts, or the counts without the reason.
// ### END RUBRIC

// %% [markdown] nbgrader={"grade": true, "grade_id": "explain-released-graph", "locked": false, "points": 2, "schema_version": 3, "solution": true, "task": false}
// **Question 2.** A network has a shared trunk `h = trunk(x)` and two heads with their own losses.
// A classmate calls `loss1.backward()` and then `loss2.backward()`. With this module's pass the
// second call throws `Trying to backward through the graph a second time`. An older pass, which
// treated a released tensor as a leaf, ran without complaint. What gradient did the trunk's
// weights get from the older pass, and what was missing? Give two correct fixes and what each
// costs.
//
// ### BEGIN SOLUTION
// The first pass released the trunk's notes, so the second pass stopped at `h`, as if it were a
// leaf: it put `dloss2/dh` into `h.grad`, where nothing reads it, and the trunk's weights got only
// `dloss1/dW`. The whole contribution of the second head to the trunk was lost, silently; the
// loss still fell (the heads and half the trunk's signal still trained), so nothing looked wrong.
// Fix 1: `backward(loss1, { retainGraph: true })`, then `loss2.backward()`: correct, but the
// trunk's graph stays alive until the second pass and the trunk is walked twice. Fix 2 (better):
// `loss1.add(loss2).backward()`: one pass, the sum's rule hands both heads' gradients into the
// same walk of the trunk, nothing needs to be retained.
// ### END SOLUTION
//
// ### BEGIN RUBRIC
// 2 points: the trunk's weights got only the first loss's gradient (the second head's
// contribution stopped at h), it was silent, and two valid fixes with their cost (retainGraph:
// memory kept and the trunk walked twice; summing the losses: one pass). 1 point: the lost
// contribution without both fixes, or the fixes without what was lost.
// ### END RUBRIC

// %% [markdown] nbgrader={"grade": true, "grade_id": "explain-gradient-check", "locked": false, "points": 2, "schema_version": 3, "solution": true, "task": false}
// **Question 3.** The hidden tests compare your gradients with central differences of a
// **float64 re-implementation written in the test**, not of your own forward pass, and not in
// float32. Why each choice? Give a bug that a check against your own forward pass would miss, and
// say what goes wrong with `(f(x + h) − f(x − h)) / 2h` in float32 with `h = 1e-6`.
//
// ### BEGIN SOLUTION
// Differentiating your own forward pass only checks that the rule matches *that* function: a
// bug in the forward pass (a wrong constant in GELU, a softmax along the wrong axis, a broadcast
// that silently reads the wrong element) gives a consistent but wrong pair, and the check passes.
// An independent implementation cannot share the bug. Float32 has a relative precision of about
// 1.2e-7: `x + 1e-6` for `x` near 1 is rounded to a multiple of 1.2e-7, and `f(x + h) − f(x − h)`
// is a difference of two nearly equal numbers, each off by about 1e-7 · |f|, so the quotient can
// be off by 10 to 100 %. In float64 (precision 2.2e-16) the same rounding is about 1e-10 of the
// result, far below the tolerance.
// ### END SOLUTION
//
// ### BEGIN RUBRIC
// 2 points: a concrete forward-pass bug that a self-consistent check misses (the check would only
// confirm the rule of the wrong function), and float32 cancellation explained (h near the
// float32 resolution, a difference of nearly equal rounded values). 1 point: one of the two.
// ### END RUBRIC

// %% [markdown]
// ## Module test

// %% nbgrader={"grade": true, "grade_id": "test-module-autograd", "locked": true, "points": 5, "schema_version": 3, "solution": false, "task": false}
function testModule(): void {
  // A two-layer classifier: one gradient step lowers the loss.
  const net = new Sequential([new Linear(4, 8, { seed: 7 }), new ReLU(), new Linear(8, 3, { seed: 8 })]);
  const x = Tensor.randn([6, 4], 9);
  const labels = [0, 1, 2, 0, 1, 2];
  const lossFn = new CrossEntropyLoss();
  const before = lossFn.forward(net.forward(x), labels);
  before.backward();
  for (const p of net.parameters()) {
    const g = p.grad;
    assert(g !== null, "gradient present");
    for (let i = 0; i < p.size; i++) p.data[i] -= 0.1 * g.data[i];
  }
  const after = noGrad(() => lossFn.forward(net.forward(x), labels));
  assert(after.item() < before.item(), "a step against the gradient lowers the loss");
  // ### BEGIN HIDDEN TESTS
  // The whole network's gradient against finite differences, through the fused loss.
  const small = new Sequential([new Linear(3, 4, { seed: 10 }), new Sigmoid(), new Linear(4, 3, { seed: 11 })]);
  const [s1, , s2] = small.layers as [Linear, unknown, Linear];
  const b1 = Float64Array.from(s1.bias?.data ?? []);
  const w2 = Float64Array.from(s2.weight.data);
  const b2 = Float64Array.from(s2.bias?.data ?? []);
  const xin = Float64Array.from(Tensor.randn([5, 3], 12).data);
  const ys = [0, 2, 1, 1, 0];
  checkGradients("MLP + cross-entropy, weight 1", [{ shape: [3, 4], values: Float64Array.from(s1.weight.data) }],
    ([w]) => {
      s1.weight = w;
      return lossFn.forward(small.forward(new Tensor(Float32Array.from(xin), [5, 3])), ys);
    },
    ([w]) => {
      const h = ref.matmul(xin, w, [1, 1], 5, 3, 4).map((v, i) => 1 / (1 + Math.exp(-(v + b1[i % 4]))));
      const z = ref.matmul(h, w2, [1, 1], 5, 4, 3).map((v, i) => v + b2[i % 3]);
      const lp = ref.logSoftmaxRows(z, 5, 3);
      return Float64Array.of(-ys.reduce((s, y, i) => s + lp[i * 3 + y], 0) / 5);
    });
  // Reuse across branches and a deep chain, together.
  checkGradients("deep chain of 10,000 operations", [{ shape: [2], values: Float64Array.of(0.5, -0.25) }], ([p]) => {
    let y = p;
    for (let i = 0; i < 5000; i++) y = y.mul(1.0001).add(p.mul(0.0001));
    return y;
  }, ([p]) => {
    const out = Float64Array.from(p);
    for (let i = 0; i < 5000; i++) for (let j = 0; j < 2; j++) out[j] = out[j] * Math.fround(1.0001) + p[j] * Math.fround(0.0001);
    return out;
  }, { rtol: 5e-3, atol: 1e-3 });
  {
    // Seeded end to end: an MLP (Linear-Tanh-Linear) of random sizes and seeds on Tensor.randn
    // inputs with random labels: the gradient of the cross-entropy with respect to the input and
    // every parameter, against float64 central differences; and a chain of random length and
    // coefficients that reuses its input at every step.
    const r = testRandom("autograd/module");
    type In = { shape: number[]; values: Float64Array };
    const tol = { rtol: 2e-3, atol: 2e-4 };
    /** The gradients backward() leaves on each input of `build`, its output weighted by sample(size, 99). */
    const backprop = (inputs: In[], build: (xs: Tensor[]) => Tensor) => {
      const xs = inputs.map((x) => new Tensor(Float32Array.from(x.values), x.shape).setRequiresGrad());
      const out = build(xs);
      out.backward(new Tensor(Float32Array.from(sample(out.size, 99)), out.shape));
      return { shapes: xs.map((x) => x.grad?.shape ?? null), values: xs.map((x) => Array.from(x.grad?.data ?? [])) };
    };
    /** Oracle: float64 central differences of sum(w · reference(xs)), w = sample(size, 99), for every input. */
    function centralDiff(inputs: In[], reference: (xs: Float64Array[]) => Float64Array): number[][] {
      const xs = inputs.map((x) => Float64Array.from(x.values));
      const f = (): number => {
        const y = reference(xs);
        const w = sample(y.length, 99);
        let total = 0;
        for (let i = 0; i < y.length; i++) total += w[i] * y[i];
        return total;
      };
      return xs.map((x) => {
        const out: number[] = [];
        for (let i = 0; i < x.length; i++) {
          const keep = x[i];
          const h = 1e-6 * Math.max(1, Math.abs(keep));
          x[i] = keep + h;
          const up = f();
          x[i] = keep - h;
          const down = f();
          x[i] = keep;
          out.push((up - down) / (2 * h));
        }
        return out;
      });
    }
    const [count, inF, hidden, classes] = [r.int(2, 6), r.int(2, 4), r.int(2, 5), r.int(2, 4)];
    const first = new Linear(inF, hidden, { seed: r.seed() });
    const second = new Linear(hidden, classes, { seed: r.seed() });
    const mlp = new Sequential([first, new Tanh(), second]);
    const labels = Array.from({ length: count }, () => r.int(0, classes - 1));
    const bias = (n: number): In => ({ shape: [n], values: Float64Array.from(r.numbers(n, -0.5, 0.5)) });
    const ins: In[] = [
      { shape: [count, inF], values: Float64Array.from(Tensor.randn([count, inF], r.seed()).data) },
      { shape: [inF, hidden], values: Float64Array.from(first.weight.data) },
      bias(hidden),
      { shape: [hidden, classes], values: Float64Array.from(second.weight.data) },
      bias(classes),
    ];
    /** Oracle: the mean cross-entropy of the MLP in float64. */
    function mlpLoss64([xs, w1, b1, w2, b2]: Float64Array[]): Float64Array {
      const h = ref.matmul(xs, w1, [1, 1], count, inF, hidden).map((v, i) => Math.tanh(v + b1[i % hidden]));
      const z = ref.matmul(h, w2, [1, 1], count, hidden, classes).map((v, i) => v + b2[i % classes]);
      const lp = ref.logSoftmaxRows(z, count, classes);
      return Float64Array.of(-labels.reduce((s, y, i) => s + lp[i * classes + y], 0) / count);
    }
    const got = backprop(ins, ([xs, w1, b1, w2, b2]) => {
      [first.weight, first.bias, second.weight, second.bias] = [w1, b1, w2, b2];
      return lossFn.forward(mlp.forward(xs), labels);
    });
    const label = `seeded MLP ${inF}-${hidden}-${classes}, batch ${count}, labels ${labels.join(", ")}`;
    assertEqual(got.shapes, ins.map((x) => x.shape), `${label}: gradient shapes`);
    assertClose(got.values, centralDiff(ins, mlpLoss64), tol, label);
    const steps = r.int(2000, 4000);
    const decay = Math.fround(r.uniform(0.9995, 1.0005));
    const mix = Math.fround(r.uniform(-1e-3, 1e-3));
    const start: In = { shape: [2], values: Float64Array.from(r.numbers(2, -1, 1)) };
    assertClose(
      backprop([start], ([p]) => {
        let y = p;
        for (let i = 0; i < steps; i++) y = y.mul(decay).add(p.mul(mix));
        return y;
      }).values,
      centralDiff([start], ([p]) => {
        const out = Float64Array.from(p);
        for (let i = 0; i < steps; i++) for (let j = 0; j < 2; j++) out[j] = out[j] * decay + p[j] * mix;
        return out;
      }),
      { rtol: 5e-3, atol: 1e-3 },
      `seeded chain of ${steps} steps`,
    );
  }
  // ### END HIDDEN TESTS
  passed("testModule (autograd)");
}
testModule();

// %% [markdown]
// ## Summary
//
// - **Reverse mode** computes the gradient of one loss with respect to every weight in one
//   backward pass, at about twice the cost of the forward pass, however many weights there are.
// - The forward pass leaves a **note** on each result (`gradFn`: operation, inputs, arguments);
//   the Tensor of module 01 takes them, and only when an input requires a gradient.
// - The backward pass visits the notes in **reverse topological order**, found with an explicit
//   stack so that depth is not limited by the call stack, **adds up** the contributions of a
//   tensor used several times, stores gradients on the leaves, and **drops** the notes so the
//   graph's memory is freed. A second pass through a released graph **throws** (as PyTorch
//   does) instead of silently treating released tensors as leaves; `backward(loss, {
//   retainGraph: true })` keeps a graph that must be walked twice.
// - **Broadcasting** in the forward pass becomes **summing** in the backward pass
//   (`sumToShape`); a reduction's backward pass copies the gradient back along the axis.
// - A matmul's backward pass is **two matmuls** with a transposed operand: `dA = dC Bᵀ`,
//   `dB = Aᵀ dC`, which the shapes alone determine; a backward pass costs about twice the
//   forward one, less where an input needs no gradient.
// - Every rule multiplies by the **upstream gradient** it receives: it is 1 only when the pass
//   starts at that very tensor.
// - **Fusing** softmax and cross-entropy turns a dozen temporaries into "probabilities minus the
//   one-hot label", which is also the numerically safe form.
// - Gradients are checked against **central finite differences in float64**, computed from an
//   independent implementation: the only test that cannot share a bug with the code under test.
//
// Module 07 turns `p.grad` into updates: SGD with momentum, Adam and AdamW.
