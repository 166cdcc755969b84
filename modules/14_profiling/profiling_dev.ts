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
// # Module 14: Profiling — where the time and memory go, and when to believe a number
//
// You have built tensors, activations and layers. They work. Are they *fast*? "Fast" is not one
// number: a forward pass spends its time in a few kernels, it touches some amount of memory, and
// each measurement of it wobbles from run to run. This module gives you the instruments to answer
// three questions honestly:
//
// 1. **Where does the work go?** Count parameters and floating-point operations (FLOPs) without
//    running anything, and count the bytes a forward pass really allocates.
// 2. **How long does it take, and can I trust that figure?** Time with warm-up, report robust
//    statistics (median and interquartile range instead of a single mean), and only accept a
//    measurement once consecutive *windows* of it agree.
// 3. **What will happen elsewhere?** Fit *models* of performance — a logistic curve of throughput
//    against batch size, a two-component mixture for token latencies — and use an analytical engine
//    (models, solvers, optimizers, with units checked) to ask "what hardware would I need?".
//
// | you build | what it answers |
// |---|---|
// | `countFlops`, `measureMemory` | how much arithmetic and memory a model needs |
// | `measureLatency`, `rooflinePlacement`, `Profiler` | how fast it runs here, and what limits it |
// | `countBackwardFlops`, `profileTrainingStep` | what a training step costs: forward, backward, optimizer |
// | `ProfilerConfig`, `measureUntilStable`, `profileBatchSweep` | when a measurement is stable; how throughput grows with batch size |
// | `logisticEvalX`, `fitLogistic`, `LogisticModel` | a smooth model of a batch sweep |
// | `itlMeanVar`, `emTwoGaussians`, `ITLMixtureModel` | a model of inter-token latency with its stalls |
// | `RooflineModel`, `RequiredBandwidthSolver`, `CheapestHardwareOptimizer`, `Pipeline` | forward models, inverses and searches, with units |
//
// The profiler lands in `tinytorch-ts/perf/profiling`, the performance models and the engine in
// `tinytorch-ts/perf/modeling`. The benchmarking module (19) builds on both.

// %%
//| default_exp perf.profiling

// %%
//| export
import * as ss from "simple-statistics";
import { Tensor, onTensorAllocated } from "tinytorch-ts/core/tensor";
import { ReLU, Sigmoid, Tanh, GELU, Softmax } from "tinytorch-ts/core/activations";
import { Linear, Dropout, Sequential, countParameters, type Module } from "tinytorch-ts/core/layers";
import { Adam, SGD, type Optimizer } from "tinytorch-ts/optim";
import type { ChartSpec } from "tinytorch-ts/support/chart";

// %%
import { Rng } from "tinytorch-ts/core/tensor";
import {
  assert,
  assertEqual,
  assertClose,
  assertPrediction,
  assertThrows,
  assertShape,
  check,
  passed,
  demo,
  testRandom,
} from "tinytorch-ts/support/testing";
import { showChart } from "tinytorch-ts/support/chart";
import { AvgPool2d, BatchNorm2d, Conv2d, Flatten, MaxPool2d } from "tinytorch-ts/core/conv";

// %% [markdown]
// ## Part 1 — Counting work before running anything
//
// A forward pass through an MLP is mostly matrix multiplication. For a `Linear(in, out)` layer and
// one input row, each of the `out` outputs is a dot product of length `in` (`in` multiplies and
// `in − 1` additions) plus one bias addition: exactly `2·in·out` floating-point operations. An
// element-wise activation costs about one operation per element (we count `exp` or `tanh` as one;
// real hardware spends more on them, which is a known simplification of FLOP counting).
//
// Counting needs shapes: the second layer's cost depends on the first layer's output width. So the
// counter walks a `Sequential` layer by layer and *propagates the shape* as it goes, exactly as the
// data would flow. A shape mismatch found this way is a bug found without running the model.
//
// Two small helpers first: a readable name for any layer, and the list of leaf layers of a
// (possibly nested) `Sequential`.
//
// The profiler knows the layers of modules 02 and 03 by their type. Later layers (module 09's
// convolution, pooling, batch norm and flatten, and whatever comes after) state their own cost
// instead, through two methods, `forwardCost(inputShape)` and `backwardFlops(inputShape,
// inputNeedsGrad)`: the formula lives next to the code it describes, and this module needs no
// list of every layer ever written (nor to import them).

// %% nbgrader={"grade": false, "grade_id": "profiling-helpers", "locked": true, "schema_version": 3, "solution": false, "task": false}
//| export
/** A short, readable name for a layer: `Linear(784→128)`, `ReLU`, `Sequential[3]`. */
function layerName(module: Module): string {
  if (module instanceof Linear) return `Linear(${module.inFeatures}→${module.outFeatures})`;
  if (module instanceof Sequential) return `Sequential[${module.layers.length}]`;
  const own = (module as { describe?: unknown }).describe;
  if (typeof own === "function") return String(own.call(module));
  const ctor = (module as object).constructor;
  return ctor && ctor.name ? ctor.name : "Module";
}

/** The leaf layers of a module, in execution order (nested Sequentials are opened up). */
function leafLayers(module: Module): Module[] {
  if (module instanceof Sequential) return module.layers.flatMap((m) => leafLayers(m));
  return [module];
}

/** Number of elements of a shape (1 for a scalar shape []). */
function shapeElements(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

/** True for the element-wise activations of module 02 (and Softmax), which cost 1 FLOP/element. */
function isActivation(module: Module): boolean {
  return (
    module instanceof ReLU ||
    module instanceof Sigmoid ||
    module instanceof Tanh ||
    module instanceof GELU ||
    module instanceof Softmax
  );
}

/** A layer that states its own cost: FLOPs and output shape of a forward pass, FLOPs of a backward pass. */
interface CostedLayer extends Module {
  forwardCost(inputShape: readonly number[]): { flops: number; outputShape: number[] };
  backwardFlops(inputShape: readonly number[], inputNeedsGrad: boolean): number;
}

/** True for a layer with its own cost model (module 09's layers and later ones). */
function hasOwnCost(module: Module): module is CostedLayer {
  const m = module as Partial<CostedLayer>;
  return typeof m.forwardCost === "function" && typeof m.backwardFlops === "function";
}

// %% [markdown]
// ### Step 1: `countFlops`
//
// **TODO**: Implement `countFlops(module, inputShape)`, returning `{ flops, outputShape }` for one
// forward pass on an input of shape `inputShape`.
//
// The contract:
// - a `Sequential` costs the sum of its layers, each layer seeing the shape the previous one
//   produced;
// - a `Linear` needs the input's last dimension to be `inFeatures`, otherwise it throws an
//   `Error` whose message contains `shape mismatch`; every other dimension is a batch
//   dimension; its FLOPs are those of the lesson (multiplies, additions and the bias);
// - an activation (`isActivation`) costs one FLOP per element; `Dropout` is profiled as in
//   inference, where it is the identity; both keep the shape;
// - a layer that states its own cost (`hasOwnCost`) is asked (`forwardCost`);
// - any other layer throws an `Error` naming it (`layerName`): guessing would be worse;
// - `outputShape` is a new array, never the caller's.
//
// **APPROACH**:
// 1. Count one output of `Linear(in, out)` by hand: how many multiplies, how many additions
//    (including the bias)? Then one row, then `rows` rows. Check: `Linear(4→3)` on `[2, 4]`
//    is 48.
// 2. What is `rows` for an input of shape `[2, 3, 6]`? For `[6]`?
// 3. Decide the order of your checks: which layer types must be recognised before falling
//    back to "unknown"?
//
// **HINTS**: The layers of a `Sequential` may themselves be `Sequential`s: what does your
// function already know how to do with one?

// %% nbgrader={"grade": false, "grade_id": "count-flops", "locked": false, "schema_version": 3, "solution": true, "task": false}
//| export
interface FlopCount {
  flops: number;
  outputShape: number[];
}

function countFlops(module: Module, inputShape: readonly number[]): FlopCount {
  // ### BEGIN SOLUTION
  if (module instanceof Sequential) {
    let shape = [...inputShape];
    let flops = 0;
    for (const layer of module.layers) {
      const step = countFlops(layer, shape);
      flops += step.flops;
      shape = step.outputShape;
    }
    return { flops, outputShape: shape };
  }
  if (module instanceof Linear) {
    const last = inputShape[inputShape.length - 1];
    if (inputShape.length === 0 || last !== module.inFeatures) {
      throw new Error(
        `countFlops: shape mismatch at ${layerName(module)}: input [${inputShape.join(", ")}] ` +
          `does not end in ${module.inFeatures}`,
      );
    }
    const rows = shapeElements(inputShape.slice(0, -1));
    return {
      flops: 2 * rows * module.inFeatures * module.outFeatures,
      outputShape: [...inputShape.slice(0, -1), module.outFeatures],
    };
  }
  if (isActivation(module)) return { flops: shapeElements(inputShape), outputShape: [...inputShape] };
  if (module instanceof Dropout) return { flops: 0, outputShape: [...inputShape] };
  if (hasOwnCost(module)) return module.forwardCost(inputShape);
  throw new Error(`countFlops: no cost model for ${layerName(module)}`);
  // ### END SOLUTION
}

// %% nbgrader={"grade": true, "grade_id": "test-unit-count-flops", "locked": true, "points": 3, "schema_version": 3, "solution": false, "task": false}
function testUnitCountFlops(): void {
  const linear = new Linear(4, 3, { seed: 1 });
  const one = countFlops(linear, [2, 4]);
  assertEqual(one.flops, 2 * 2 * 4 * 3, "Linear(4→3) on a batch of 2");
  assertShape(one.outputShape, [2, 3], "Linear output shape");
  assertEqual(countFlops(new ReLU(), [2, 3]).flops, 6, "ReLU costs one FLOP per element");
  const mlp = new Sequential([new Linear(8, 16, { seed: 1 }), new ReLU(), new Linear(16, 2, { seed: 2 })]);
  const total = countFlops(mlp, [5, 8]);
  assertEqual(total.flops, 2 * 5 * 8 * 16 + 5 * 16 + 2 * 5 * 16 * 2, "MLP total");
  assertShape(total.outputShape, [5, 2], "MLP output shape");
  // ### BEGIN HIDDEN TESTS
  assertThrows(() => countFlops(mlp, [5, 7]), "shape mismatch", "wrong input width");
  const nested = new Sequential([
    new Sequential([new Linear(3, 5, { seed: 3 }), new Tanh()]),
    new Dropout(0.5, { seed: 1 }),
    new Linear(5, 1, { seed: 4 }),
    new Sigmoid(),
  ]);
  const n = countFlops(nested, [7, 3]);
  assertEqual(n.flops, 2 * 7 * 3 * 5 + 7 * 5 + 0 + 2 * 7 * 5 + 7, "nested Sequential with Dropout");
  assertShape(n.outputShape, [7, 1]);
  assertEqual(countFlops(new Linear(6, 2, { seed: 5 }), [6]).flops, 24, "an unbatched input is one row");
  assertShape(countFlops(new Linear(6, 2, { seed: 5 }), [2, 3, 6]).outputShape, [2, 3, 2]);
  assertEqual(countFlops(new Linear(6, 2, { seed: 5 }), [2, 3, 6]).flops, 2 * 6 * 6 * 2, "3-D input");
  const input = [4, 4];
  countFlops(new Linear(4, 4, { seed: 6 }), input);
  assertEqual(input, [4, 4], "the caller's shape is not modified");
  class Mystery {
    forward(x: Tensor): Tensor {
      return x;
    }
    parameters(): Tensor[] {
      return [];
    }
  }
  assertThrows(() => countFlops(new Mystery(), [1, 2]), "Mystery", "unknown layers are refused");
  // Random MLPs (widths, activations, dropout) on random batch shapes: FLOPs and output shape
  // against the formula, evaluated here from the widths.
  const rf = testRandom("14/count-flops");
  for (let trial = 0; trial < 4; trial++) {
    const widths = Array.from({ length: rf.int(2, 5) }, () => rf.int(1, 64));
    const after = widths.slice(1).map(() => rf.pick(["relu", "tanh", "sigmoid", "gelu", "dropout", "none"]));
    const layers: Module[] = [];
    for (let l = 0; l + 1 < widths.length; l++) {
      layers.push(new Linear(widths[l], widths[l + 1], { seed: l + 1 }));
      const kind = after[l];
      if (kind === "relu") layers.push(new ReLU());
      if (kind === "tanh") layers.push(new Tanh());
      if (kind === "sigmoid") layers.push(new Sigmoid());
      if (kind === "gelu") layers.push(new GELU());
      if (kind === "dropout") layers.push(new Dropout(0.3, { seed: 1 }));
    }
    const batch = rf.shape(rf.int(0, 2), 6);
    const randomMlp = new Sequential(layers);
    const counted = countFlops(randomMlp, [...batch, widths[0]]);
    assertEqual(
      counted.flops,
      widths.slice(1).reduce((total, out, l) => {
        const rows = batch.reduce((a, b) => a * b, 1);
        const activation = after[l] === "none" || after[l] === "dropout" ? 0 : rows * out;
        return total + 2 * rows * widths[l] * out + activation;
      }, 0),
      "a random MLP on a random batch shape",
    );
    assertShape(counted.outputShape, [...batch, widths[widths.length - 1]], "random MLP output shape");
    assertThrows(() => countFlops(randomMlp, [...batch, widths[0] + rf.int(1, 5)]), "shape mismatch", "random wrong input width");
  }
  // Layers that state their own cost (module 09's): random convolutional stacks, FLOPs and output
  // shape from the lesson's formulas evaluated here; then a made-up layer with a random cost.
  const rc = testRandom("14/count-flops/conv");
  for (let trial = 0; trial < 3; trial++) {
    const [n, c, h, w] = [rc.int(1, 4), rc.int(1, 3), rc.int(8, 16), rc.int(8, 16)];
    const [o, k, stride, padding, pool] = [rc.int(1, 6), rc.int(1, 4), rc.int(1, 2), rc.int(0, 1), rc.int(1, 2)];
    const average = rc.bool();
    const ho = Math.floor((h + 2 * padding - k) / stride) + 1;
    const wo = Math.floor((w + 2 * padding - k) / stride) + 1;
    const [hp, wp] = [Math.floor((ho - pool) / pool) + 1, Math.floor((wo - pool) / pool) + 1];
    const stack = new Sequential([new Conv2d(c, o, k, { stride, padding, seed: 1 }), new BatchNorm2d(o), new ReLU(), average ? new AvgPool2d(pool) : new MaxPool2d(pool), new Flatten(), new Linear(o * hp * wp, 10, { seed: 2 })]);
    const counted = countFlops(stack, [n, c, h, w]);
    assertEqual(
      [counted.flops, counted.outputShape],
      [2 * n * o * ho * wo * c * k * k + 2 * n * o * ho * wo + n * o * ho * wo + n * o * hp * wp * (average ? pool * pool : pool * pool - 1) + 2 * n * o * hp * wp * 10, [n, 10]],
      "a random convolutional stack: FLOPs and output shape",
    );
    assertThrows(() => countFlops(stack, [n, c + 1, h, w]), "shape mismatch", "a random convolutional stack, the wrong number of channels");
  }
  const cost = rc.int(1, 1000);
  const made = { forward: (x: Tensor): Tensor => x, parameters: (): Tensor[] => [], forwardCost: (shape: readonly number[]) => ({ flops: cost * shape[0], outputShape: [shape[0], 3] }), backwardFlops: () => 0 }; // prettier-ignore
  const rows = rc.int(1, 9);
  assertEqual(countFlops(made, [rows, 7]), { flops: cost * rows, outputShape: [rows, 3] }, "a layer with its own (random) cost model");
  // ### END HIDDEN TESTS
  passed("testUnitCountFlops");
}
testUnitCountFlops();

// %%
//| mutation count-flops counts multiply-adds (in·out per row) instead of FLOPs
interface FlopCount {
  flops: number;
  outputShape: number[];
}

function countFlops(module: Module, inputShape: readonly number[]): FlopCount {
  if (module instanceof Sequential) {
    let shape = [...inputShape];
    let flops = 0;
    for (const layer of module.layers) {
      const step = countFlops(layer, shape);
      flops += step.flops;
      shape = step.outputShape;
    }
    return { flops, outputShape: shape };
  }
  if (module instanceof Linear) {
    const last = inputShape[inputShape.length - 1];
    if (inputShape.length === 0 || last !== module.inFeatures) {
      throw new Error(
        `countFlops: shape mismatch at ${layerName(module)}: input [${inputShape.join(", ")}] ` +
          `does not end in ${module.inFeatures}`,
      );
    }
    const rows = shapeElements(inputShape.slice(0, -1));
    return {
      flops: rows * module.inFeatures * module.outFeatures,
      outputShape: [...inputShape.slice(0, -1), module.outFeatures],
    };
  }
  if (isActivation(module)) return { flops: shapeElements(inputShape), outputShape: [...inputShape] };
  if (module instanceof Dropout) return { flops: 0, outputShape: [...inputShape] };
  if (hasOwnCost(module)) return module.forwardCost(inputShape);
  throw new Error(`countFlops: no cost model for ${layerName(module)}`);
}

// %%
//| mutation count-flops activations cost nothing
interface FlopCount {
  flops: number;
  outputShape: number[];
}

function countFlops(module: Module, inputShape: readonly number[]): FlopCount {
  if (module instanceof Sequential) {
    let shape = [...inputShape];
    let flops = 0;
    for (const layer of module.layers) {
      const step = countFlops(layer, shape);
      flops += step.flops;
      shape = step.outputShape;
    }
    return { flops, outputShape: shape };
  }
  if (module instanceof Linear) {
    const last = inputShape[inputShape.length - 1];
    if (inputShape.length === 0 || last !== module.inFeatures) {
      throw new Error(
        `countFlops: shape mismatch at ${layerName(module)}: input [${inputShape.join(", ")}] ` +
          `does not end in ${module.inFeatures}`,
      );
    }
    const rows = shapeElements(inputShape.slice(0, -1));
    return {
      flops: 2 * rows * module.inFeatures * module.outFeatures,
      outputShape: [...inputShape.slice(0, -1), module.outFeatures],
    };
  }
  if (isActivation(module)) return { flops: 0, outputShape: [...inputShape] };
  if (module instanceof Dropout) return { flops: 0, outputShape: [...inputShape] };
  if (hasOwnCost(module)) return module.forwardCost(inputShape);
  throw new Error(`countFlops: no cost model for ${layerName(module)}`);
}

// %% [markdown]
// Let us count a small MLP of the kind the earlier modules built. Note how lopsided it is: nearly
// all the arithmetic sits in the first `Linear`, because its input is widest. That is where an
// optimisation would pay off — and where profiling should look first.

// %%
const mlp = new Sequential([
  new Linear(128, 256, { seed: 1 }),
  new ReLU(),
  new Linear(256, 128, { seed: 2 }),
  new ReLU(),
  new Linear(128, 10, { seed: 3 }),
]);

// %%
await demo("counting an MLP", () => {
  let shape: number[] = [32, 128];
  for (const layer of mlp.layers) {
    const c = countFlops(layer, shape);
    console.log(`${layerName(layer).padEnd(18)} ${String(c.flops).padStart(10)} FLOPs  → [${c.outputShape}]`);
    shape = c.outputShape;
  }
  console.log(`total: ${countFlops(mlp, [32, 128]).flops} FLOPs, ${countParameters(mlp)} parameters`);
});

// %% [markdown]
// ## Part 2 — Where the memory goes
//
// Memory comes in two kinds. **Parameters** live as long as the model: their size is known from
// the shapes. **Activations** are the tensors a forward pass creates on the way; they are what
// grows with the batch size, and what runs a device out of memory first.
//
// We could try to read memory use from `process.memoryUsage()` before and after a forward pass,
// but the JavaScript heap is shared with everything else and the garbage collector runs when it
// likes, so such a difference is noisy and can even be negative. Instead we *count*: module 01's
// `onTensorAllocated(cb)` calls `cb` for every tensor constructed while we are subscribed, so we
// see exactly the tensors the forward pass made. Two details:
//
// - A view (e.g. a reshape) may share its storage with another tensor; we count each *buffer* once.
// - We cannot see when the garbage collector frees a tensor, so the **peak** is computed, not
//   observed: during an inference pass through a `Sequential`, what must be alive at once is the
//   current layer's input plus everything that layer allocates (earlier activations are no longer
//   referenced). The peak is the parameters plus the largest such live set.

// %% [markdown]
// ### Step 2: `measureMemory`
//
// **TODO**: Implement `measureMemory(model, input)` returning a `MemoryReport`.
//
// The contract:
// - `parameterBytes`: the bytes of `model.parameters()`, each tensor counted once even when it
//   is listed twice;
// - each leaf layer (`leafLayers(model)`) runs on the previous layer's output while you are
//   subscribed with `onTensorAllocated`, and the subscription ends even when the layer throws
//   (its error reaches the caller);
// - a layer's `allocatedBytes` counts each **buffer** it allocated once; the input's buffer and
//   the parameters' buffers are not activations, even when a layer views them under another
//   shape; `outputBytes` is its output's `nbytes`;
// - `activationBytes` is the sum over the layers, `tensorsAllocated` every tensor constructed
//   during the pass (views included), and `peakBytes` the parameters plus the largest live set,
//   where a layer's live set is its input plus what it allocated.
//
// **APPROACH**:
// 1. Take the test's `known` layer (one 10-float tensor per call, a 5-float parameter listed
//    twice) on a 3-float input and work every figure of the report by hand, for one such layer
//    and for two in a row. Why is the two-layer peak not the sum?
// 2. What data structure tells you that a buffer was counted already, and what must be in it
//    before the first layer runs?
// 3. Where does the unsubscription go so that no path can skip it?
//
// **HINTS**: Two tensors can share one `ArrayBuffer`: `t.data.buffer` identifies the storage,
// `t` only the view.

// %% nbgrader={"grade": false, "grade_id": "measure-memory", "locked": false, "schema_version": 3, "solution": true, "task": false}
//| export
interface LayerMemory {
  name: string;
  allocatedBytes: number;
  outputBytes: number;
}

interface MemoryReport {
  parameterBytes: number;
  activationBytes: number;
  peakBytes: number;
  tensorsAllocated: number;
  layers: LayerMemory[];
}

function measureMemory(model: Module, input: Tensor): MemoryReport {
  // ### BEGIN SOLUTION
  const seenParams = new Set<Tensor>();
  let parameterBytes = 0;
  for (const p of model.parameters()) {
    if (seenParams.has(p)) continue;
    seenParams.add(p);
    parameterBytes += p.nbytes;
  }
  const seenBuffers = new Set<ArrayBufferLike>([input.data.buffer]);
  for (const p of seenParams) seenBuffers.add(p.data.buffer);
  let activationBytes = 0;
  let tensorsAllocated = 0;
  let largestLive = input.nbytes;
  const layers: LayerMemory[] = [];
  let x = input;
  for (const layer of leafLayers(model)) {
    let allocated = 0;
    const unsubscribe = onTensorAllocated((t) => {
      tensorsAllocated++;
      if (seenBuffers.has(t.data.buffer)) return;
      seenBuffers.add(t.data.buffer);
      allocated += t.nbytes;
    });
    let y: Tensor;
    try {
      y = layer.forward(x);
    } finally {
      unsubscribe();
    }
    largestLive = Math.max(largestLive, x.nbytes + allocated);
    activationBytes += allocated;
    layers.push({ name: layerName(layer), allocatedBytes: allocated, outputBytes: y.nbytes });
    x = y;
  }
  return {
    parameterBytes,
    activationBytes,
    peakBytes: parameterBytes + largestLive,
    tensorsAllocated,
    layers,
  };
  // ### END SOLUTION
}

// %% nbgrader={"grade": true, "grade_id": "test-unit-measure-memory", "locked": true, "points": 3, "schema_version": 3, "solution": false, "task": false}
function testUnitMeasureMemory(): void {
  // A layer whose allocations we know exactly: one 10-float tensor per call, one 5-float parameter.
  const weight = new Tensor(new Float32Array(5), [5]);
  const known = {
    forward: (_x: Tensor): Tensor => new Tensor(new Float32Array(10), [10]),
    parameters: (): Tensor[] => [weight, weight],
  };
  const input = new Tensor(new Float32Array(3), [3]);
  const r = measureMemory(known, input);
  assertEqual(r.parameterBytes, 20, "a shared parameter is counted once");
  assertEqual(r.activationBytes, 40, "one 10-float32 tensor allocated");
  assertEqual(r.tensorsAllocated, 1);
  assertEqual(r.peakBytes, 20 + 12 + 40, "parameters + input + allocations");
  const linear = new Linear(4, 3, { seed: 1 });
  const lr = measureMemory(linear, Tensor.zeros([2, 4]));
  assertEqual(lr.parameterBytes, (4 * 3 + 3) * 4, "Linear(4→3) parameters in bytes");
  assert(lr.activationBytes >= 2 * 3 * 4, "at least the output was allocated");
  // ### BEGIN HIDDEN TESTS
  const twoLayers = new Sequential([known, known]);
  const s = measureMemory(twoLayers, input);
  assertEqual(s.activationBytes, 80);
  assertEqual(s.layers.length, 2);
  assertEqual(s.layers[0].allocatedBytes, 40);
  assertEqual(s.layers[1].outputBytes, 40);
  assertEqual(s.peakBytes, 20 + Math.max(12 + 40, 40 + 40), "peak is the largest live set, not the sum");
  const failing = {
    forward: (_x: Tensor): Tensor => {
      throw new Error("boom");
    },
    parameters: (): Tensor[] => [],
  };
  assertThrows(() => measureMemory(failing, input), "boom", "a failing layer's error reaches the caller");
  const mlpSmall = new Sequential([new Linear(8, 16, { seed: 1 }), new ReLU(), new Linear(16, 4, { seed: 2 })]);
  const small = measureMemory(mlpSmall, Tensor.zeros([2, 8]));
  const big = measureMemory(mlpSmall, Tensor.zeros([8, 8]));
  assertEqual(small.parameterBytes, big.parameterBytes, "parameters do not depend on the batch");
  assert(big.activationBytes > small.activationBytes, "activations grow with the batch");
  assert(big.activationBytes >= 4 * (8 * 16 + 8 * 16 + 8 * 4), "every layer output is counted");
  // Random layers with known allocations and (sometimes shared) parameters: every figure of the
  // report from the sizes, computed here.
  const rm = testRandom("14/measure-memory");
  for (let trial = 0; trial < 3; trial++) {
    const inputSize = rm.int(1, 40);
    const plan = Array.from({ length: rm.int(1, 4) }, () => ({
      allocs: Array.from({ length: rm.int(1, 3) }, () => rm.int(1, 50)),
      params: Array.from({ length: rm.int(0, 2) }, () => rm.int(1, 30)),
      sharePrevious: rm.bool(),
    }));
    const paramTensors: Tensor[][] = [];
    const stack = new Sequential(
      plan.map((layer, i) => {
        const own = layer.params.map((size) => new Tensor(new Float32Array(size), [size]));
        const previous = i > 0 && layer.sharePrevious ? paramTensors[i - 1] : [];
        paramTensors.push(own);
        return {
          forward: (_x: Tensor): Tensor => {
            let last = new Tensor(new Float32Array(layer.allocs[0]), [layer.allocs[0]]);
            for (const size of layer.allocs.slice(1)) last = new Tensor(new Float32Array(size), [size]);
            return last;
          },
          parameters: (): Tensor[] => [...own, ...previous, ...own],
        };
      }),
    );
    const report = measureMemory(stack, new Tensor(new Float32Array(inputSize), [inputSize]));
    assertEqual(report.parameterBytes, 4 * plan.reduce((s, layer) => s + layer.params.reduce((a, b) => a + b, 0), 0), "random stack: each parameter once");
    assertEqual(report.activationBytes, 4 * plan.reduce((s, layer) => s + layer.allocs.reduce((a, b) => a + b, 0), 0), "random stack: activations");
    assertEqual(report.tensorsAllocated, plan.reduce((s, layer) => s + layer.allocs.length, 0), "random stack: tensors allocated");
    assertEqual(
      report.layers.map((l) => [l.allocatedBytes, l.outputBytes]),
      plan.map((layer) => [4 * layer.allocs.reduce((a, b) => a + b, 0), 4 * layer.allocs[layer.allocs.length - 1]]),
      "random stack: per-layer rows",
    );
    assertEqual(
      report.peakBytes,
      4 * plan.reduce((s, layer) => s + layer.params.reduce((a, b) => a + b, 0), 0) +
        4 *
          plan.reduce(
            (best, layer, i) =>
              Math.max(best, (i === 0 ? inputSize : plan[i - 1].allocs[plan[i - 1].allocs.length - 1]) + layer.allocs.reduce((a, b) => a + b, 0)),
            inputSize,
          ),
      "random stack: peak = parameters + largest live set",
    );
  }
  // A layer that reads its weight through a view (a convolution reshapes its weight): the view's
  // buffer is the parameter's, not an activation; what the layer allocates is.
  const rv = testRandom("14/measure-memory/views");
  const [weightSize, outputSize] = [rv.int(1, 50), rv.int(1, 50)];
  const viewedWeight = new Tensor(new Float32Array(weightSize), [weightSize]);
  const viewing = {
    forward: (_x: Tensor): Tensor => {
      viewedWeight.reshape(1, weightSize);
      return new Tensor(new Float32Array(outputSize), [outputSize]);
    },
    parameters: (): Tensor[] => [viewedWeight],
  };
  const viewed = measureMemory(new Sequential([viewing]), Tensor.zeros([rv.int(1, 9)]));
  assertEqual([viewed.parameterBytes, viewed.activationBytes], [4 * weightSize, 4 * outputSize], "a parameter viewed under another shape is not an activation");
  // ### END HIDDEN TESTS
  passed("testUnitMeasureMemory");
}
testUnitMeasureMemory();

// %%
//| mutation measure-memory peak is the parameters plus every activation of the pass, as if nothing were ever freed
interface LayerMemory {
  name: string;
  allocatedBytes: number;
  outputBytes: number;
}

interface MemoryReport {
  parameterBytes: number;
  activationBytes: number;
  peakBytes: number;
  tensorsAllocated: number;
  layers: LayerMemory[];
}

function measureMemory(model: Module, input: Tensor): MemoryReport {
  const seenParams = new Set<Tensor>();
  let parameterBytes = 0;
  for (const p of model.parameters()) {
    if (seenParams.has(p)) continue;
    seenParams.add(p);
    parameterBytes += p.nbytes;
  }
  const seenBuffers = new Set<ArrayBufferLike>([input.data.buffer]);
  for (const p of seenParams) seenBuffers.add(p.data.buffer);
  let activationBytes = 0;
  let tensorsAllocated = 0;
  let largestLive = input.nbytes;
  const layers: LayerMemory[] = [];
  let x = input;
  for (const layer of leafLayers(model)) {
    let allocated = 0;
    const unsubscribe = onTensorAllocated((t) => {
      tensorsAllocated++;
      if (seenBuffers.has(t.data.buffer)) return;
      seenBuffers.add(t.data.buffer);
      allocated += t.nbytes;
    });
    let y: Tensor;
    try {
      y = layer.forward(x);
    } finally {
      unsubscribe();
    }
    largestLive = Math.max(largestLive, x.nbytes + allocated);
    activationBytes += allocated;
    layers.push({ name: layerName(layer), allocatedBytes: allocated, outputBytes: y.nbytes });
    x = y;
  }
  return {
    parameterBytes,
    activationBytes,
    peakBytes: parameterBytes + input.nbytes + activationBytes,
    tensorsAllocated,
    layers,
  };
}

// %%
//| mutation measure-memory counts a parameter listed twice twice
interface LayerMemory {
  name: string;
  allocatedBytes: number;
  outputBytes: number;
}

interface MemoryReport {
  parameterBytes: number;
  activationBytes: number;
  peakBytes: number;
  tensorsAllocated: number;
  layers: LayerMemory[];
}

function measureMemory(model: Module, input: Tensor): MemoryReport {
  const seenParams = new Set<Tensor>();
  let parameterBytes = 0;
  for (const p of model.parameters()) {
    seenParams.add(p);
    parameterBytes += p.nbytes;
  }
  const seenBuffers = new Set<ArrayBufferLike>([input.data.buffer]);
  for (const p of seenParams) seenBuffers.add(p.data.buffer);
  let activationBytes = 0;
  let tensorsAllocated = 0;
  let largestLive = input.nbytes;
  const layers: LayerMemory[] = [];
  let x = input;
  for (const layer of leafLayers(model)) {
    let allocated = 0;
    const unsubscribe = onTensorAllocated((t) => {
      tensorsAllocated++;
      if (seenBuffers.has(t.data.buffer)) return;
      seenBuffers.add(t.data.buffer);
      allocated += t.nbytes;
    });
    let y: Tensor;
    try {
      y = layer.forward(x);
    } finally {
      unsubscribe();
    }
    largestLive = Math.max(largestLive, x.nbytes + allocated);
    activationBytes += allocated;
    layers.push({ name: layerName(layer), allocatedBytes: allocated, outputBytes: y.nbytes });
    x = y;
  }
  return {
    parameterBytes,
    activationBytes,
    peakBytes: parameterBytes + largestLive,
    tensorsAllocated,
    layers,
  };
}

// %%
await demo("memory of the MLP", () => {
  for (const batch of [1, 32, 256]) {
    const m = measureMemory(mlp, Tensor.zeros([batch, 128]));
    console.log(
      `batch ${String(batch).padStart(3)}: parameters ${(m.parameterBytes / 1024).toFixed(0)} KiB, ` +
        `activations ${(m.activationBytes / 1024).toFixed(1)} KiB in ${m.tensorsAllocated} tensors, ` +
        `peak ${(m.peakBytes / 1024).toFixed(0)} KiB`,
    );
  }
});

// %% [markdown]
// ## Part 3 — Timing, and what limits the speed
//
// Timing a function looks easy: read a clock, call it, read the clock again. Three things make
// the first answer wrong:
//
// - **Warm-up.** The first calls run in V8's interpreter; only after a few calls does the
//   optimizing compiler kick in. Caches and the allocator also warm up. Discard the first calls.
// - **Noise.** Other processes, the garbage collector and frequency scaling add delays, always
//   positive and sometimes large. A mean is dragged by a single 10 ms pause; the **median** is
//   not. The spread is best described by the **interquartile range** (IQR = p75 − p25), which
//   ignores the worst quarter and the best quarter.
// - **Clock resolution.** `Date.now()` ticks in whole milliseconds. `process.hrtime.bigint()`
//   counts nanoseconds; we use it, converted to milliseconds.
//
// Quantiles here are computed by `simple-statistics` with linear interpolation between order
// statistics (the same rule as numpy's default), not by picking an index.
//
// Every timing function takes an optional **clock**, a function returning milliseconds. In real
// use it is `hrtimeMs`; in tests it can be a fake clock, so that a test checks the arithmetic
// without depending on how busy the machine is.

// %% nbgrader={"grade": false, "grade_id": "latency-types", "locked": true, "schema_version": 3, "solution": false, "task": false}
//| export
/** A monotonic clock in milliseconds. */
type Clock = () => number;

/** Milliseconds from the high-resolution monotonic clock (nanosecond ticks). */
function hrtimeMs(): number {
  return Number(process.hrtime.bigint()) / 1e6;
}

interface LatencyOptions {
  /** Calls made and discarded before measuring (default 3). */
  warmup?: number;
  /** Measured calls (default 20). */
  iterations?: number;
  clock?: Clock;
}

interface LatencyStats {
  samplesMs: number[];
  medianMs: number;
  p25Ms: number;
  p75Ms: number;
  iqrMs: number;
  meanMs: number;
  minMs: number;
  maxMs: number;
}

// %% [markdown]
// ### Step 3: `measureLatency`
//
// **TODO**: Implement `measureLatency(fn, options)`: call `fn` `warmup` times without measuring,
// then `iterations` times, timing each call on its own with `options.clock` (default `hrtimeMs`).
//
// The contract: `warmup` (default 3) must be an integer ≥ 0 and `iterations` (default 20) an
// integer ≥ 1, or an `Error` naming the option is thrown; the warm-up calls are not timed;
// each measured call is timed on its own, by a clock read right before and right after it
// (`options.clock`, default `hrtimeMs`); `samplesMs` keeps the call
// order; the quantiles (p25, median, p75) interpolate as the lesson says; `iqrMs` is p75 − p25;
// mean, min and max of the samples.
//
// **APPROACH**:
// 1. For calls of 2, 9, 4 and 1 ms, work the median, p25, p75 and IQR by hand, with linear
//    interpolation at position (n − 1)·p of the sorted list (you should find an IQR of 3.5).
// 2. Why must each call be timed on its own rather than the whole loop divided by
//    `iterations`? What would the IQR be then?
// 3. Which statistics need the sorted order, and how do you get it without losing the call
//    order?
//
// **HINTS**: simple-statistics has a quantile function for an array that is already sorted.

// %% nbgrader={"grade": false, "grade_id": "measure-latency", "locked": false, "schema_version": 3, "solution": true, "task": false}
//| export
function measureLatency(fn: () => unknown, options: LatencyOptions = {}): LatencyStats {
  // ### BEGIN SOLUTION
  const warmup = options.warmup ?? 3;
  const iterations = options.iterations ?? 20;
  const clock = options.clock ?? hrtimeMs;
  if (!Number.isInteger(warmup) || warmup < 0) {
    throw new Error(`measureLatency: warmup must be an integer >= 0, got ${warmup}`);
  }
  if (!Number.isInteger(iterations) || iterations < 1) {
    throw new Error(`measureLatency: iterations must be an integer >= 1, got ${iterations}`);
  }
  for (let i = 0; i < warmup; i++) fn();
  const samplesMs: number[] = [];
  for (let i = 0; i < iterations; i++) {
    const t0 = clock();
    fn();
    samplesMs.push(clock() - t0);
  }
  const sorted = [...samplesMs].sort((a, b) => a - b);
  const p25Ms = ss.quantileSorted(sorted, 0.25);
  const p75Ms = ss.quantileSorted(sorted, 0.75);
  return {
    samplesMs,
    medianMs: ss.quantileSorted(sorted, 0.5),
    p25Ms,
    p75Ms,
    iqrMs: p75Ms - p25Ms,
    meanMs: ss.mean(sorted),
    minMs: sorted[0],
    maxMs: sorted[sorted.length - 1],
  };
  // ### END SOLUTION
}

// %% nbgrader={"grade": true, "grade_id": "test-unit-measure-latency", "locked": true, "points": 3, "schema_version": 3, "solution": false, "task": false}
/** A fake clock: each call of the returned `work` function advances time by the next duration. */
function scriptedClock(durations: number[]): { clock: Clock; work: () => void; calls: () => number } {
  let now = 1000;
  let i = 0;
  return {
    clock: () => now,
    work: () => {
      now += durations[i % durations.length];
      i++;
    },
    calls: () => i,
  };
}

function testUnitMeasureLatency(): void {
  // Warm-up calls take 100 ms (they must be discarded), measured calls 1..5 ms.
  const fake = scriptedClock([100, 100, 5, 1, 4, 2, 3]);
  const stats = measureLatency(fake.work, { warmup: 2, iterations: 5, clock: fake.clock });
  assertEqual(fake.calls(), 7, "warm-up + measured calls");
  assertEqual(stats.samplesMs, [5, 1, 4, 2, 3], "samples in call order, warm-up excluded");
  assertClose(stats.medianMs, 3);
  assertClose([stats.p25Ms, stats.p75Ms, stats.iqrMs], [2, 4, 2]);
  assertClose([stats.minMs, stats.maxMs, stats.meanMs], [1, 5, 3]);
  // ### BEGIN HIDDEN TESTS
  const fake2 = scriptedClock([1, 2, 3, 10]);
  const s2 = measureLatency(fake2.work, { warmup: 0, iterations: 4, clock: fake2.clock });
  assertClose([s2.p25Ms, s2.medianMs, s2.p75Ms], [1.75, 2.5, 4.75], {}, "interpolated quartiles");
  assertClose(s2.meanMs, 4);
  const fake3 = scriptedClock([7]);
  const s3 = measureLatency(fake3.work, { iterations: 1, clock: fake3.clock });
  assertEqual(fake3.calls(), 4, "default warm-up is 3");
  assertEqual(s3.iqrMs, 0);
  const fake4 = scriptedClock([1]);
  measureLatency(fake4.work, { clock: fake4.clock });
  assertEqual(fake4.calls(), 23, "defaults: 3 warm-up + 20 measured");
  assertThrows(() => measureLatency(() => 0, { iterations: 0 }), "iterations");
  assertThrows(() => measureLatency(() => 0, { warmup: -1 }), "warmup");
  assertThrows(() => measureLatency(() => 0, { iterations: 2.5 }), "iterations");
  // The real clock: a busy wait of 3 ms can never be measured as less than 3 ms.
  const real = measureLatency(
    () => {
      const end = hrtimeMs() + 3;
      while (hrtimeMs() < end) {
        /* spin */
      }
    },
    { warmup: 0, iterations: 3 },
  );
  assert(real.minMs >= 3 && real.minMs < 1000, `hrtime in milliseconds, got ${real.minMs}`);
  // Random scripted durations (whole milliseconds, so the fake clock is exact), warm-up and
  // iteration counts: the samples and their statistics, computed here.
  const rl = testRandom("14/measure-latency");
  const quartile = (values: readonly number[], p: number): number => {
    const sorted = [...values].sort((x, y) => x - y);
    const h = (sorted.length - 1) * p;
    const lo = Math.floor(h);
    return lo + 1 < sorted.length ? sorted[lo] + (h - lo) * (sorted[lo + 1] - sorted[lo]) : sorted[lo];
  };
  for (let trial = 0; trial < 3; trial++) {
    const warmup = rl.int(0, 4);
    const iterations = rl.int(1, 12);
    const durations = Array.from({ length: warmup + iterations }, () => rl.int(1, 60));
    const scripted = scriptedClock(durations);
    const got = measureLatency(scripted.work, { warmup, iterations, clock: scripted.clock });
    assertEqual(scripted.calls(), warmup + iterations, "random counts: warm-up + measured calls");
    assertEqual(got.samplesMs, durations.slice(warmup), "random durations, in call order");
    assertClose(
      [got.p25Ms, got.medianMs, got.p75Ms, got.iqrMs],
      [
        quartile(durations.slice(warmup), 0.25),
        quartile(durations.slice(warmup), 0.5),
        quartile(durations.slice(warmup), 0.75),
        quartile(durations.slice(warmup), 0.75) - quartile(durations.slice(warmup), 0.25),
      ],
      { rtol: 1e-12 },
      "random durations: interpolated quartiles and IQR",
    );
    assertClose(
      [got.meanMs, got.minMs, got.maxMs],
      [durations.slice(warmup).reduce((a, b) => a + b, 0) / iterations, Math.min(...durations.slice(warmup)), Math.max(...durations.slice(warmup))],
      { rtol: 1e-12 },
      "random durations: mean, min, max",
    );
  }
  // ### END HIDDEN TESTS
  passed("testUnitMeasureLatency");
}
testUnitMeasureLatency();

// %%
//| mutation measure-latency times the whole loop and divides by the iterations: every sample the same
function measureLatency(fn: () => unknown, options: LatencyOptions = {}): LatencyStats {
  const warmup = options.warmup ?? 3;
  const iterations = options.iterations ?? 20;
  const clock = options.clock ?? hrtimeMs;
  if (!Number.isInteger(warmup) || warmup < 0) {
    throw new Error(`measureLatency: warmup must be an integer >= 0, got ${warmup}`);
  }
  if (!Number.isInteger(iterations) || iterations < 1) {
    throw new Error(`measureLatency: iterations must be an integer >= 1, got ${iterations}`);
  }
  for (let i = 0; i < warmup; i++) fn();
  const samplesMs: number[] = [];
  const t0 = clock();
  for (let i = 0; i < iterations; i++) fn();
  const each = (clock() - t0) / iterations;
  for (let i = 0; i < iterations; i++) samplesMs.push(each);
  const sorted = [...samplesMs].sort((a, b) => a - b);
  const p25Ms = ss.quantileSorted(sorted, 0.25);
  const p75Ms = ss.quantileSorted(sorted, 0.75);
  return {
    samplesMs,
    medianMs: ss.quantileSorted(sorted, 0.5),
    p25Ms,
    p75Ms,
    iqrMs: p75Ms - p25Ms,
    meanMs: ss.mean(sorted),
    minMs: sorted[0],
    maxMs: sorted[sorted.length - 1],
  };
}

// %%
//| mutation measure-latency quartiles read by index, sorted[floor(p · n)]
function measureLatency(fn: () => unknown, options: LatencyOptions = {}): LatencyStats {
  const warmup = options.warmup ?? 3;
  const iterations = options.iterations ?? 20;
  const clock = options.clock ?? hrtimeMs;
  if (!Number.isInteger(warmup) || warmup < 0) {
    throw new Error(`measureLatency: warmup must be an integer >= 0, got ${warmup}`);
  }
  if (!Number.isInteger(iterations) || iterations < 1) {
    throw new Error(`measureLatency: iterations must be an integer >= 1, got ${iterations}`);
  }
  for (let i = 0; i < warmup; i++) fn();
  const samplesMs: number[] = [];
  for (let i = 0; i < iterations; i++) {
    const t0 = clock();
    fn();
    samplesMs.push(clock() - t0);
  }
  const sorted = [...samplesMs].sort((a, b) => a - b);
  const p25Ms = sorted[Math.floor(0.25 * sorted.length)];
  const p75Ms = sorted[Math.floor(0.75 * sorted.length)];
  return {
    samplesMs,
    medianMs: ss.quantileSorted(sorted, 0.5),
    p25Ms,
    p75Ms,
    iqrMs: p75Ms - p25Ms,
    meanMs: ss.mean(sorted),
    minMs: sorted[0],
    maxMs: sorted[sorted.length - 1],
  };
}

// %%
await demo("latency of the MLP", () => {
  const x = Tensor.randn([32, 128], new Rng(0));
  const cold = measureLatency(() => mlp.forward(x), { warmup: 0, iterations: 5 });
  const warm = measureLatency(() => mlp.forward(x), { warmup: 10, iterations: 30 });
  console.log(`first calls (no warm-up): ${cold.samplesMs.map((t) => t.toFixed(2)).join(", ")} ms`);
  console.log(`after warm-up: median ${warm.medianMs.toFixed(3)} ms, IQR ${warm.iqrMs.toFixed(3)} ms`);
  console.log(`mean ${warm.meanMs.toFixed(3)} ms vs median: the mean is pulled up by the slowest calls`);
});

// %% [markdown]
// ### The roofline: is a kernel limited by arithmetic or by memory?
//
// A processor has two ceilings: how many FLOPs it can do per second (**peak compute**), and how
// many bytes it can move between memory and the cores per second (**bandwidth**). A kernel that
// does `F` FLOPs while moving `B` bytes has an **arithmetic intensity** `I = F / B` (FLOPs per
// byte). It cannot run faster than either ceiling allows:
//
// `attainable FLOP/s = min(peak, I × bandwidth)`
//
// Plotted on log–log axes this is a slanted line (memory-bound) meeting a flat roof
// (compute-bound) at the **ridge point** `I* = peak / bandwidth`. Kernels left of the ridge are
// **memory-bound**: a faster ALU will not help them, moving fewer bytes will. Kernels right of it
// are **compute-bound**.
//
// The ceilings must be those of *this* machine and *this* runtime, so we measure them with two
// micro-benchmarks instead of copying a datasheet:
//
// - **compute**: eight independent multiply–add chains on numbers held in registers (independent
//   so the CPU can overlap them; no memory traffic at all);
// - **bandwidth**: the STREAM "triad" `a[i] = b[i] + s·c[i]` over `Float32Array`s much larger than
//   the caches, counting 12 bytes per element (two reads, one write).
//
// Both run single-threaded in plain JavaScript, as our tensors do, and we keep the best of several
// repetitions (the best run is the one least disturbed). These are the ceilings *our* kernels can
// reach; native SIMD code on all cores would see much higher ones.

// %% nbgrader={"grade": false, "grade_id": "machine-peaks", "locked": true, "schema_version": 3, "solution": false, "task": false}
//| export
interface MachinePeaks {
  /** Attainable FLOP/s of single-threaded JavaScript arithmetic on this machine. */
  peakFlopsPerSecond: number;
  /** Attainable bytes/s of a JavaScript STREAM triad over arrays larger than the caches. */
  bandwidthBytesPerSecond: number;
}

/** Eight independent multiply-add chains: 16 FLOPs per step, all in registers. */
function registerFmaKernel(steps: number): number {
  let a0 = 1.0, a1 = 1.1, a2 = 1.2, a3 = 1.3, a4 = 1.4, a5 = 1.5, a6 = 1.6, a7 = 1.7;
  const m = 0.999999;
  const c = 1e-7;
  for (let i = 0; i < steps; i++) {
    a0 = a0 * m + c;
    a1 = a1 * m + c;
    a2 = a2 * m + c;
    a3 = a3 * m + c;
    a4 = a4 * m + c;
    a5 = a5 * m + c;
    a6 = a6 * m + c;
    a7 = a7 * m + c;
  }
  // Returning the sum keeps the optimizer from deleting the loop.
  return a0 + a1 + a2 + a3 + a4 + a5 + a6 + a7;
}

function streamTriad(a: Float32Array, b: Float32Array, c: Float32Array, s: number): void {
  for (let i = 0; i < a.length; i++) a[i] = b[i] + s * c[i];
}

/**
 * Measures this machine's compute and bandwidth ceilings (best of `repeats` runs each). Takes
 * about a quarter of a second with the defaults.
 */
function measureMachinePeaks(
  options: { repeats?: number; computeSteps?: number; streamElements?: number; clock?: Clock } = {},
): MachinePeaks {
  const repeats = options.repeats ?? 7;
  const steps = options.computeSteps ?? 2_000_000;
  const n = options.streamElements ?? 1 << 22;
  const clock = options.clock ?? hrtimeMs;
  let peak = 0;
  let sink = 0;
  for (let r = 0; r < repeats; r++) {
    const t0 = clock();
    sink += registerFmaKernel(steps);
    const seconds = (clock() - t0) / 1e3;
    if (seconds > 0) peak = Math.max(peak, (16 * steps) / seconds);
  }
  const a = new Float32Array(n);
  const b = new Float32Array(n).fill(1);
  const c = new Float32Array(n).fill(2);
  let bandwidth = 0;
  for (let r = 0; r < repeats; r++) {
    const t0 = clock();
    streamTriad(a, b, c, 0.5);
    const seconds = (clock() - t0) / 1e3;
    if (seconds > 0) bandwidth = Math.max(bandwidth, (12 * n) / seconds);
  }
  if (!(peak > 0 && bandwidth > 0 && Number.isFinite(sink + a[n - 1]))) {
    throw new Error("measureMachinePeaks: the clock did not advance; cannot measure");
  }
  return { peakFlopsPerSecond: peak, bandwidthBytesPerSecond: bandwidth };
}

// %% [markdown]
// ### Step 4: `rooflinePlacement`
//
// **TODO**: Implement `rooflinePlacement(intensity, peaks)`: where a kernel of arithmetic
// intensity `intensity` (FLOP/byte) sits under this machine's roofline.
//
// The contract: an `Error` naming `intensity` unless it is a finite number > 0; the ridge is
// where the two ceilings meet; `attainableFlopsPerSecond` is the roofline's bound at this
// intensity; `bound` is `"memory-bound"` strictly left of the ridge, `"compute-bound"` at the
// ridge and to its right.
//
// **APPROACH**:
// 1. With a peak of 100 GFLOP/s and a bandwidth of 10 GB/s, what limits a kernel of 2 FLOP/B?
//    One of 50? Work both on paper, with units, before you write the formula.
// 2. Sketch the two lines on log–log axes: which of the two ceilings is the roof at a given
//    intensity, the higher one or the lower one? Why?
// 3. At which intensity do they meet, and what unit does it have?
//
// **HINTS**: The units must work out: FLOP/B × B/s = FLOP/s.

// %% nbgrader={"grade": false, "grade_id": "roofline-placement", "locked": false, "schema_version": 3, "solution": true, "task": false}
//| export
type RooflineBound = "memory-bound" | "compute-bound";

interface RooflinePlacement {
  ridgeIntensity: number;
  attainableFlopsPerSecond: number;
  bound: RooflineBound;
}

function rooflinePlacement(intensity: number, peaks: MachinePeaks): RooflinePlacement {
  // ### BEGIN SOLUTION
  if (!(Number.isFinite(intensity) && intensity > 0)) {
    throw new Error(`rooflinePlacement: intensity must be a positive number, got ${intensity}`);
  }
  const ridgeIntensity = peaks.peakFlopsPerSecond / peaks.bandwidthBytesPerSecond;
  return {
    ridgeIntensity,
    attainableFlopsPerSecond: Math.min(
      peaks.peakFlopsPerSecond,
      intensity * peaks.bandwidthBytesPerSecond,
    ),
    bound: intensity < ridgeIntensity ? "memory-bound" : "compute-bound",
  };
  // ### END SOLUTION
}

// %% nbgrader={"grade": true, "grade_id": "test-unit-roofline-placement", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
function testUnitRooflinePlacement(): void {
  const peaks: MachinePeaks = { peakFlopsPerSecond: 100e9, bandwidthBytesPerSecond: 10e9 };
  const low = rooflinePlacement(2, peaks);
  assertClose(low.ridgeIntensity, 10);
  assertClose(low.attainableFlopsPerSecond, 20e9);
  assertEqual(low.bound, "memory-bound");
  const high = rooflinePlacement(50, peaks);
  assertClose(high.attainableFlopsPerSecond, 100e9);
  assertEqual(high.bound, "compute-bound");
  // ### BEGIN HIDDEN TESTS
  assertEqual(rooflinePlacement(10, peaks).bound, "compute-bound", "at the ridge the roof is reached");
  assertClose(rooflinePlacement(9.999, peaks).attainableFlopsPerSecond, 99.99e9);
  const other: MachinePeaks = { peakFlopsPerSecond: 8e9, bandwidthBytesPerSecond: 32e9 };
  assertClose(rooflinePlacement(0.1, other).ridgeIntensity, 0.25);
  assertEqual(rooflinePlacement(0.3, other).bound, "compute-bound");
  assertThrows(() => rooflinePlacement(0, peaks), "intensity");
  assertThrows(() => rooflinePlacement(Number.NaN, peaks), "intensity");
  assertThrows(() => rooflinePlacement(-1, peaks), "intensity");
  // Random machines and intensities (log-uniform over five decades): ridge, attainable rate and
  // bound from the roofline formula, evaluated here.
  const rr = testRandom("14/roofline-placement");
  for (let trial = 0; trial < 6; trial++) {
    const machine: MachinePeaks = {
      peakFlopsPerSecond: 10 ** rr.uniform(9, 12),
      bandwidthBytesPerSecond: 10 ** rr.uniform(9, 11),
    };
    const intensity = 10 ** rr.uniform(-2, 3);
    const placed = rooflinePlacement(intensity, machine);
    assertClose(
      [placed.ridgeIntensity, placed.attainableFlopsPerSecond],
      [
        machine.peakFlopsPerSecond / machine.bandwidthBytesPerSecond,
        Math.min(machine.peakFlopsPerSecond, intensity * machine.bandwidthBytesPerSecond),
      ],
      { rtol: 1e-12 },
      "random machine: ridge and attainable FLOP/s",
    );
    assertEqual(
      placed.bound,
      intensity < machine.peakFlopsPerSecond / machine.bandwidthBytesPerSecond ? "memory-bound" : "compute-bound",
      "random machine: which roof binds",
    );
  }
  assertThrows(() => rooflinePlacement(-rr.uniform(0.1, 100), peaks), "intensity", "a random negative intensity");
  // ### END HIDDEN TESTS
  passed("testUnitRooflinePlacement");
}
testUnitRooflinePlacement();

// %%
//| mutation roofline-placement min and max swapped: the roof is the larger of the two ceilings
type RooflineBound = "memory-bound" | "compute-bound";

interface RooflinePlacement {
  ridgeIntensity: number;
  attainableFlopsPerSecond: number;
  bound: RooflineBound;
}

function rooflinePlacement(intensity: number, peaks: MachinePeaks): RooflinePlacement {
  if (!(Number.isFinite(intensity) && intensity > 0)) {
    throw new Error(`rooflinePlacement: intensity must be a positive number, got ${intensity}`);
  }
  const ridgeIntensity = peaks.peakFlopsPerSecond / peaks.bandwidthBytesPerSecond;
  return {
    ridgeIntensity,
    attainableFlopsPerSecond: Math.max(
      peaks.peakFlopsPerSecond,
      intensity * peaks.bandwidthBytesPerSecond,
    ),
    bound: intensity < ridgeIntensity ? "memory-bound" : "compute-bound",
  };
}

// %%
//| mutation roofline-placement the ridge as bandwidth / peak (bytes per FLOP)
type RooflineBound = "memory-bound" | "compute-bound";

interface RooflinePlacement {
  ridgeIntensity: number;
  attainableFlopsPerSecond: number;
  bound: RooflineBound;
}

function rooflinePlacement(intensity: number, peaks: MachinePeaks): RooflinePlacement {
  if (!(Number.isFinite(intensity) && intensity > 0)) {
    throw new Error(`rooflinePlacement: intensity must be a positive number, got ${intensity}`);
  }
  const ridgeIntensity = peaks.bandwidthBytesPerSecond / peaks.peakFlopsPerSecond;
  return {
    ridgeIntensity,
    attainableFlopsPerSecond: Math.min(
      peaks.peakFlopsPerSecond,
      intensity * peaks.bandwidthBytesPerSecond,
    ),
    bound: intensity < ridgeIntensity ? "memory-bound" : "compute-bound",
  };
}

// %% [markdown]
// ### Putting it together: profiling layers and whole forward passes
//
// `profileLayer` times one layer and computes its achieved GFLOP/s and its arithmetic intensity.
// For the bytes a kernel moves we count its *minimum* traffic: read the input and the parameters
// once, write the output once. Real kernels move more (caches are small), so the true intensity
// is lower than this estimate — keep that in mind when a point sits near the ridge.
//
// `profileForwardPass` profiles every leaf layer (each one fed the previous layer's real output),
// times the whole pass, and places both the kernels and the pass on the roofline. The `Profiler`
// class bundles all of it, measuring the machine's ceilings once.

// %% nbgrader={"grade": false, "grade_id": "profiler", "locked": true, "schema_version": 3, "solution": false, "task": false}
//| export
interface KernelProfile {
  name: string;
  flops: number;
  /** Minimum bytes moved: input + parameters + output, each once. */
  bytes: number;
  medianMs: number;
  iqrMs: number;
  gflopsPerSecond: number;
  /** FLOPs per byte. */
  intensity: number;
  placement: RooflinePlacement;
  outputShape: number[];
}

interface ForwardPassProfile {
  kernels: KernelProfile[];
  total: KernelProfile;
  peaks: MachinePeaks;
}

interface ProfileOptions extends LatencyOptions {
  /** The machine's ceilings; measured when absent. */
  peaks?: MachinePeaks;
}

function uniqueParameterBytes(module: Module): number {
  let bytes = 0;
  for (const p of new Set(module.parameters())) bytes += p.nbytes;
  return bytes;
}

function kernelFromParts(
  name: string,
  flops: number,
  bytes: number,
  latency: LatencyStats,
  peaks: MachinePeaks,
  outputShape: number[],
): KernelProfile {
  const seconds = latency.medianMs / 1e3;
  const intensity = bytes > 0 ? flops / bytes : 0;
  return {
    name,
    flops,
    bytes,
    medianMs: latency.medianMs,
    iqrMs: latency.iqrMs,
    gflopsPerSecond: seconds > 0 ? flops / seconds / 1e9 : 0,
    intensity,
    // A layer without arithmetic (Dropout at inference) has no place on a roofline.
    placement:
      intensity > 0
        ? rooflinePlacement(intensity, peaks)
        : { ridgeIntensity: peaks.peakFlopsPerSecond / peaks.bandwidthBytesPerSecond, attainableFlopsPerSecond: 0, bound: "memory-bound" },
    outputShape,
  };
}

function profileLayer(layer: Module, input: Tensor, options: ProfileOptions = {}): KernelProfile {
  const peaks = options.peaks ?? measureMachinePeaks();
  const output = layer.forward(input);
  const { flops } = countFlops(layer, input.shape);
  const bytes = input.nbytes + uniqueParameterBytes(layer) + output.nbytes;
  const latency = measureLatency(() => layer.forward(input), options);
  return kernelFromParts(layerName(layer), flops, bytes, latency, peaks, [...output.shape]);
}

function profileForwardPass(
  model: Module,
  input: Tensor,
  options: ProfileOptions = {},
): ForwardPassProfile {
  const peaks = options.peaks ?? measureMachinePeaks();
  const kernels: KernelProfile[] = [];
  let x = input;
  for (const layer of leafLayers(model)) {
    kernels.push(profileLayer(layer, x, { ...options, peaks }));
    x = layer.forward(x);
  }
  const flops = kernels.reduce((s, k) => s + k.flops, 0);
  // Unfused layers write each activation to memory and read it back: the pass moves the sum.
  const bytes = kernels.reduce((s, k) => s + k.bytes, 0);
  const latency = measureLatency(() => model.forward(input), options);
  const total = kernelFromParts(`${layerName(model)} (whole pass)`, flops, bytes, latency, peaks, [...x.shape]);
  return { kernels, total, peaks };
}

/** The profiler: counting, memory, latency and roofline placement for models of modules 01-03. */
class Profiler {
  private measuredPeaks: MachinePeaks | undefined;

  constructor(private readonly options: ProfileOptions = {}) {
    this.measuredPeaks = options.peaks;
  }

  /** This machine's ceilings, measured on first use. */
  get peaks(): MachinePeaks {
    this.measuredPeaks ??= measureMachinePeaks();
    return this.measuredPeaks;
  }

  countParameters(model: Module): number {
    return countParameters(model);
  }

  countFlops(model: Module, inputShape: readonly number[]): FlopCount {
    return countFlops(model, inputShape);
  }

  measureMemory(model: Module, input: Tensor): MemoryReport {
    return measureMemory(model, input);
  }

  measureLatency(model: Module, input: Tensor): LatencyStats {
    return measureLatency(() => model.forward(input), this.options);
  }

  profileLayer(layer: Module, input: Tensor): KernelProfile {
    return profileLayer(layer, input, { ...this.options, peaks: this.peaks });
  }

  profileForwardPass(model: Module, input: Tensor): ForwardPassProfile {
    return profileForwardPass(model, input, { ...this.options, peaks: this.peaks });
  }

  /** A plain-text table of a forward-pass profile. */
  static format(profile: ForwardPassProfile): string {
    const rows = [...profile.kernels, profile.total].map(
      (k) =>
        `${k.name.padEnd(30)} ${k.flops.toExponential(2).padStart(9)} ${k.intensity.toFixed(2).padStart(7)} ` +
        `${k.medianMs.toFixed(3).padStart(9)} ${k.gflopsPerSecond.toFixed(2).padStart(8)}  ${k.placement.bound}`,
    );
    const p = profile.peaks;
    return [
      `machine: peak ${(p.peakFlopsPerSecond / 1e9).toFixed(2)} GFLOP/s, bandwidth ${(p.bandwidthBytesPerSecond / 1e9).toFixed(2)} GB/s, ridge ${(p.peakFlopsPerSecond / p.bandwidthBytesPerSecond).toFixed(2)} FLOP/B`,
      `${"kernel".padEnd(30)} ${"FLOPs".padStart(9)} ${"FLOP/B".padStart(7)} ${"median ms".padStart(9)} ${"GFLOP/s".padStart(8)}  bound`,
      ...rows,
    ].join("\n");
  }
}

/** A vega-lite roofline: the two ceilings, and one point per kernel (achieved GFLOP/s). */
function rooflineChartSpec(
  peaks: MachinePeaks,
  kernels: readonly { name: string; intensity: number; gflopsPerSecond: number }[],
  title = "Roofline of this machine",
): ChartSpec {
  const ridge = peaks.peakFlopsPerSecond / peaks.bandwidthBytesPerSecond;
  const placed = kernels.filter((k) => k.intensity > 0 && k.gflopsPerSecond > 0);
  const xs = [ridge, ...placed.map((k) => k.intensity)];
  const lo = Math.min(...xs) / 8;
  const hi = Math.max(...xs) * 8;
  const line = [];
  for (let i = 0; i <= 60; i++) {
    const intensity = lo * Math.pow(hi / lo, i / 60);
    const gflops = Math.min(peaks.peakFlopsPerSecond, intensity * peaks.bandwidthBytesPerSecond) / 1e9;
    line.push({ intensity, gflops });
  }
  const x = { field: "intensity", type: "quantitative", scale: { type: "log" }, title: "arithmetic intensity (FLOP/byte)" };
  const y = { field: "gflops", type: "quantitative", scale: { type: "log" }, title: "GFLOP/s" };
  return {
    title,
    width: 520,
    height: 320,
    layer: [
      { data: { values: line }, mark: { type: "line", color: "#444" }, encoding: { x, y } },
      {
        data: { values: [{ intensity: ridge, gflops: peaks.peakFlopsPerSecond / 1e9 }] },
        mark: { type: "point", shape: "diamond", color: "#444", size: 80 },
        encoding: { x, y },
      },
      {
        data: { values: placed.map((k) => ({ kernel: k.name, intensity: k.intensity, gflops: k.gflopsPerSecond })) },
        mark: { type: "point", filled: true, size: 90 },
        encoding: { x, y, color: { field: "kernel", type: "nominal" }, tooltip: [{ field: "kernel" }] },
      },
    ],
  };
}

// %% [markdown]
// Now the real thing: measure this machine, profile the MLP layer by layer, and place its kernels
// on the roofline. Expect the activations far left (one FLOP per 8 bytes: hopelessly
// memory-bound) and the `Linear` layers further right, their intensity growing with the batch
// size because the weights are read once per batch, not once per row.

// %%
// Filled by the demo below and read by the demos after it. (An object: a cell cannot assign a
// `let` that another cell declared.)
const mlpRun: { peaks?: MachinePeaks; profiler?: Profiler; profile?: ForwardPassProfile } = {};

// %%
await demo("profiling the MLP", () => {
  const peaks = measureMachinePeaks();
  console.log(
    `this machine: ${(peaks.peakFlopsPerSecond / 1e9).toFixed(2)} GFLOP/s peak, ` +
      `${(peaks.bandwidthBytesPerSecond / 1e9).toFixed(2)} GB/s bandwidth`,
  );
  const profiler = new Profiler({ peaks, warmup: 3, iterations: 15 });
  const profile = profiler.profileForwardPass(mlp, Tensor.randn([32, 128], new Rng(1)));
  Object.assign(mlpRun, { peaks, profiler, profile });
  console.log(Profiler.format(profile));
});

// %%
await demo("roofline chart", async () => {
  const mlpProfile = mlpRun.profile;
  const peaks = mlpRun.peaks;
  if (!mlpProfile || !peaks) throw new Error("Not implemented: profile the MLP first");
  const kernels = [...mlpProfile.kernels, mlpProfile.total];
  await showChart(rooflineChartSpec(peaks, kernels, "Roofline: MLP kernels on this machine (batch 32)"));
});

// %% [markdown]
// Reading the chart:
//
// - The **activations** sit on (or near) the slanted line: memory-bound, as predicted. They can
//   even land a little *above* it, because a 32 × 256 tensor fits in the CPU's caches, which are
//   faster than the main memory the triad measured. A roofline has one roof per level of the
//   memory hierarchy; we drew only the lowest.
// - The **`Linear` layers** are to the right of the ridge — compute-bound in principle — yet far
//   *below* the flat roof. Nothing in the hardware stops them: our matrix multiplication's inner
//   loop (index arithmetic, no SIMD, no blocking for the cache) is the limit. The distance to the
//   roof is the room an optimised kernel would have.
// - The **whole pass** usually sits lower than its best layers: it adds the cost of allocating every
//   intermediate tensor and of the garbage collector reclaiming them.

// %% [markdown]
// ### The training step: forward, backward, optimizer
//
// Everything so far timed inference. Training repeats three phases for every batch: the
// **forward** pass (which now also records the graph), the **backward** pass (which computes
// every parameter's gradient), and the **optimizer** step (which updates the parameters). Where
// does a training step spend its time?
//
// A rule of thumb says the backward pass costs about **twice** the forward pass. The reason is
// the `Linear` layer. Its forward pass is one matrix product, `y = x W` (`2·rows·in·out` FLOPs).
// Its backward pass needs two products of the same size: the weight's gradient `∂L/∂W = xᵀ·g`
// and the input's gradient `∂L/∂x = g·Wᵀ`, handed on to the layer below; plus the bias's
// gradient, a sum over the rows (`rows·out`). So a whole training step is about 3× a forward.
//
// The rule has an exception that matters here. The network's **input** needs no gradient: it is
// data, not a parameter. A framework that skips gradients nobody asked for saves the `∂L/∂x`
// product of the first layer. In an MLP on images, the first layer holds most of the FLOPs
// (784 inputs against 128 hidden units), so its backward FLOPs are closer to 1× its forward than
// to 2×.
//
// The other layers cost little: an element-wise activation's backward computes its local
// derivative and multiplies it by the incoming gradient (we count 2 FLOPs per element), and
// dropout multiplies by its mask again (1 FLOP). Every one of them is needed only if some layer
// *below* it has parameters, for the same reason as the input's gradient.
//
// Measured time need not follow the FLOPs. The backward pass also walks the graph, allocates a
// gradient tensor for every intermediate result, adds up gradients that meet, and, in our kernels,
// may transpose matrices before multiplying them. The ratio of the measured times against the
// ratio of the FLOPs tells how much of that overhead there is.
//
// ### Step 4b: `countBackwardFlops`
//
// **TODO**: Implement `countBackwardFlops(module, inputShape)`: the FLOPs of one backward pass
// through `module` for an input of shape `inputShape`.
//
// The contract:
// - the leaf layers (`leafLayers(module)`) are walked in order, each seeing the shape the
//   previous one produced, propagated with `countFlops` (so a wrong input width throws its
//   `shape mismatch` error here too);
// - a layer computes the gradient of its input only when some layer *below* it has
//   parameters (the network's input never needs one);
// - `Linear`: the weight's gradient, the bias's when it has a bias, and the input's when it is
//   needed, each with the FLOPs of the lesson; activations 2 FLOPs per input element and
//   `Dropout` 1, when their input's gradient is needed (0 otherwise);
// - a layer that states its own cost is asked (`backwardFlops(shape, inputNeedsGrad)`); any
//   other layer throws an `Error` naming it, as `countFlops` does.
//
// **APPROACH**:
// 1. Work the test's MLP `Linear(8→16), ReLU, Linear(16→2)` on 5 rows by hand, layer by layer:
//    which gradients does each layer compute, and how many FLOPs is each one?
// 2. What single piece of state, carried from one layer to the next, decides whether a layer
//    computes its input's gradient? When does it change?
// 3. Predict the backward/forward FLOP ratio of the digits MLP (784 → 128 → 10) at any batch
//    size before the demo measures it.
//
// **HINTS**: The shape you need at each layer is its *input's*; `countFlops` gives you the
// next one.

// %% nbgrader={"grade": false, "grade_id": "count-backward-flops", "locked": false, "schema_version": 3, "solution": true, "task": false}
//| export
/** FLOPs of one backward pass: weight, bias and (where needed) input gradients of every layer. */
function countBackwardFlops(module: Module, inputShape: readonly number[]): number {
  // ### BEGIN SOLUTION
  let shape = [...inputShape];
  let inputNeedsGrad = false;
  let flops = 0;
  for (const layer of leafLayers(module)) {
    const { outputShape } = countFlops(layer, shape);
    const elements = shapeElements(shape);
    if (layer instanceof Linear) {
      const product = 2 * shapeElements(shape.slice(0, -1)) * layer.inFeatures * layer.outFeatures;
      flops += product;
      if (layer.bias !== null) flops += shapeElements(outputShape);
      if (inputNeedsGrad) flops += product;
    } else if (isActivation(layer)) {
      if (inputNeedsGrad) flops += 2 * elements;
    } else if (layer instanceof Dropout) {
      if (inputNeedsGrad) flops += elements;
    } else if (hasOwnCost(layer)) {
      flops += layer.backwardFlops(shape, inputNeedsGrad);
    } else {
      throw new Error(`countBackwardFlops: no cost model for ${layerName(layer)}`);
    }
    if (layer.parameters().length > 0) inputNeedsGrad = true;
    shape = outputShape;
  }
  return flops;
  // ### END SOLUTION
}

// %% nbgrader={"grade": true, "grade_id": "test-unit-count-backward-flops", "locked": true, "points": 3, "schema_version": 3, "solution": false, "task": false}
function testUnitCountBackwardFlops(): void {
  // One layer: the weight's gradient (2·2·4·3) and the bias's (2·3); the input needs none.
  assertEqual(countBackwardFlops(new Linear(4, 3, { seed: 1 }), [2, 4]), 48 + 6);
  const mlp = new Sequential([new Linear(8, 16, { seed: 1 }), new ReLU(), new Linear(16, 2, { seed: 2 })]);
  // Linear 1: 1280 + 80; ReLU: 2·80; Linear 2: 320 + 10 + 320 (its input's gradient is needed).
  assertEqual(countBackwardFlops(mlp, [5, 8]), 1280 + 80 + 160 + 320 + 10 + 320);
  // ### BEGIN HIDDEN TESTS
  const nested = new Sequential([
    new Tanh(),
    new Sequential([new Linear(3, 5, { bias: false, seed: 3 }), new Sigmoid()]),
    new Dropout(0.5, { seed: 1 }),
    new Linear(5, 1, { seed: 4 }),
  ]);
  // Tanh first: nothing below it learns, so no gradient; Linear(3→5) without bias: 2·7·3·5;
  // Sigmoid 2·35; Dropout 35; Linear(5→1): 2·7·5 + 7 + 2·7·5.
  assertEqual(countBackwardFlops(nested, [7, 3]), 210 + 70 + 35 + 70 + 7 + 70);
  assertEqual(countBackwardFlops(new Linear(6, 2, { seed: 5 }), [2, 3, 6]), 2 * 6 * 6 * 2 + 12, "3-D input");
  assertEqual(countBackwardFlops(new ReLU(), [4, 4]), 0, "no parameters, nothing to differentiate");
  assertThrows(() => countBackwardFlops(mlp, [5, 7]), "shape mismatch");
  class Mystery {
    forward(x: Tensor): Tensor {
      return x;
    }
    parameters(): Tensor[] {
      return [];
    }
  }
  assertThrows(() => countBackwardFlops(new Sequential([new Mystery()]), [1, 2]), "Mystery");
  const digits = new Sequential([new Linear(784, 128, { seed: 1 }), new ReLU(), new Linear(128, 10, { seed: 2 })]);
  const ratio = countBackwardFlops(digits, [64, 784]) / countFlops(digits, [64, 784]).flops;
  assert(ratio > 1 && ratio < 1.2, `the digits MLP's backward/forward FLOP ratio is ~1.01, got ${ratio}`);
  // Random stacks (a leading activation or not, biases or not, dropout, activations): backward
  // FLOPs from the rules of the lesson, evaluated here from the description.
  const rb = testRandom("14/count-backward-flops");
  for (let trial = 0; trial < 4; trial++) {
    const widths = Array.from({ length: rb.int(2, 5) }, () => rb.int(1, 48));
    const biases = widths.slice(1).map(() => rb.bool());
    const after = widths.slice(1).map(() => rb.pick(["relu", "tanh", "dropout", "none"]));
    const leading = rb.bool();
    const layers: Module[] = leading ? [new Tanh()] : [];
    for (let l = 0; l + 1 < widths.length; l++) {
      layers.push(new Linear(widths[l], widths[l + 1], { bias: biases[l], seed: l + 1 }));
      if (after[l] === "relu") layers.push(new ReLU());
      if (after[l] === "tanh") layers.push(new Tanh());
      if (after[l] === "dropout") layers.push(new Dropout(0.2, { seed: 2 }));
    }
    const rows = rb.int(1, 9);
    assertEqual(
      countBackwardFlops(new Sequential(layers), [rows, widths[0]]),
      widths.slice(1).reduce((total, out, l) => {
        const product = 2 * rows * widths[l] * out;
        const bias = biases[l] ? rows * out : 0;
        const inputGradient = l > 0 ? product : 0;
        const activation = after[l] === "relu" || after[l] === "tanh" ? 2 * rows * out : after[l] === "dropout" ? rows * out : 0;
        return total + product + bias + inputGradient + activation;
      }, 0),
      "a random stack: weight, bias, needed input gradients and activations",
    );
  }
  // A random convolutional stack: each layer states its backward cost (module 09), evaluated
  // here from the lesson's rules: weight product, bias sum, input product when needed; pooling 1
  // per output (max) or k² (average); ReLU 2 per value; batch norm 3 per value, 5 more for dx.
  const rcb = testRandom("14/count-backward-flops/conv");
  for (let trial = 0; trial < 3; trial++) {
    const [n, c, h, w] = [rcb.int(1, 4), rcb.int(1, 3), rcb.int(12, 16), rcb.int(12, 16)];
    const [o, k, stride, padding, pool, o2, k2] = [rcb.int(1, 5), rcb.int(1, 3), rcb.int(1, 2), rcb.int(0, 1), rcb.int(1, 2), rcb.int(1, 5), rcb.int(1, 2)];
    const average = rcb.bool();
    const ho = Math.floor((h + 2 * padding - k) / stride) + 1;
    const wo = Math.floor((w + 2 * padding - k) / stride) + 1;
    const [hp, wp] = [Math.floor((ho - pool) / pool) + 1, Math.floor((wo - pool) / pool) + 1];
    const [h2, w2] = [hp - k2 + 1, wp - k2 + 1];
    const features = o2 * h2 * w2;
    const stack = new Sequential([new Conv2d(c, o, k, { stride, padding, seed: 1 }), average ? new AvgPool2d(pool) : new MaxPool2d(pool), new ReLU(), new Conv2d(o, o2, k2, { seed: 2 }), new BatchNorm2d(o2), new Flatten(), new Linear(features, 10, { seed: 3 })]);
    const conv1 = 2 * n * o * ho * wo * c * k * k;
    const conv2 = 2 * n * o2 * h2 * w2 * o * k2 * k2;
    assertEqual(
      countBackwardFlops(stack, [n, c, h, w]),
      conv1 + n * o * ho * wo + n * o * hp * wp * (average ? pool * pool : 1) + 2 * n * o * hp * wp + 2 * conv2 + n * o2 * h2 * w2 + 8 * n * features + (4 * n * features * 10 + n * 10),
      "a random convolutional stack: every layer's backward FLOPs",
    );
  }
  // ### END HIDDEN TESTS
  passed("testUnitCountBackwardFlops");
}
testUnitCountBackwardFlops();

// %%
//| mutation count-backward-flops the 2× rule everywhere: every Linear computes its input's gradient, the first one included
/** FLOPs of one backward pass: weight, bias and (where needed) input gradients of every layer. */
function countBackwardFlops(module: Module, inputShape: readonly number[]): number {
  let shape = [...inputShape];
  let inputNeedsGrad = false;
  let flops = 0;
  for (const layer of leafLayers(module)) {
    const { outputShape } = countFlops(layer, shape);
    const elements = shapeElements(shape);
    if (layer instanceof Linear) {
      const product = 2 * shapeElements(shape.slice(0, -1)) * layer.inFeatures * layer.outFeatures;
      flops += product;
      if (layer.bias !== null) flops += shapeElements(outputShape);
      flops += product;
    } else if (isActivation(layer)) {
      if (inputNeedsGrad) flops += 2 * elements;
    } else if (layer instanceof Dropout) {
      if (inputNeedsGrad) flops += elements;
    } else if (hasOwnCost(layer)) {
      flops += layer.backwardFlops(shape, inputNeedsGrad);
    } else {
      throw new Error(`countBackwardFlops: no cost model for ${layerName(layer)}`);
    }
    if (layer.parameters().length > 0) inputNeedsGrad = true;
    shape = outputShape;
  }
  return flops;
}

// %%
//| mutation count-backward-flops activations and dropout always differentiated, even with no parameters below them
/** FLOPs of one backward pass: weight, bias and (where needed) input gradients of every layer. */
function countBackwardFlops(module: Module, inputShape: readonly number[]): number {
  let shape = [...inputShape];
  let inputNeedsGrad = false;
  let flops = 0;
  for (const layer of leafLayers(module)) {
    const { outputShape } = countFlops(layer, shape);
    const elements = shapeElements(shape);
    if (layer instanceof Linear) {
      const product = 2 * shapeElements(shape.slice(0, -1)) * layer.inFeatures * layer.outFeatures;
      flops += product;
      if (layer.bias !== null) flops += shapeElements(outputShape);
      if (inputNeedsGrad) flops += product;
    } else if (isActivation(layer)) {
      flops += 2 * elements;
    } else if (layer instanceof Dropout) {
      flops += elements;
    } else if (hasOwnCost(layer)) {
      flops += layer.backwardFlops(shape, inputNeedsGrad);
    } else {
      throw new Error(`countBackwardFlops: no cost model for ${layerName(layer)}`);
    }
    if (layer.parameters().length > 0) inputNeedsGrad = true;
    shape = outputShape;
  }
  return flops;
}

// %% [markdown]
// The profiler for a whole step times each phase separately, in the same iteration: forward (with
// the loss), then `backward()`, then `optimizer.step()`, with the gradients cleared before each
// iteration (outside the timed phases). It reports the median and IQR of each phase, its FLOPs
// and achieved GFLOP/s, and two ratios: backward/forward by measured time and by FLOPs.
//
// An optimizer's FLOPs are a few per parameter: SGD multiplies and subtracts (2), plus 2 for
// weight decay and 3 for momentum (2 more for Nesterov); Adam updates two averages, corrects them
// and divides (13, plus 2 for weight decay). Small against the passes, but it reads and writes
// the parameters and all of the optimizer's state: it is entirely memory-bound.

// %% nbgrader={"grade": false, "grade_id": "training-step-profiler", "locked": true, "schema_version": 3, "solution": false, "task": false}
//| export
/** A loss as the training loop uses it: outputs and targets to a scalar tensor on the graph. */
interface StepLoss {
  forward(outputs: Tensor, targets: Tensor): Tensor;
}

interface PhaseProfile {
  medianMs: number;
  iqrMs: number;
  flops: number;
  gflopsPerSecond: number;
}

interface TrainingStepProfile {
  forward: PhaseProfile;
  backward: PhaseProfile;
  optimizer: PhaseProfile;
  /** Sum of the three medians. */
  stepMs: number;
  /** Measured backward time over forward time (the rule of thumb says about 2). */
  backwardForwardTimeRatio: number;
  /** Backward FLOPs over forward FLOPs. */
  backwardForwardFlopRatio: number;
}

/** FLOPs of one optimizer update per parameter element (see the lesson for the counts). */
function optimizerFlopsPerElement(optimizer: Optimizer): number {
  if (optimizer instanceof SGD) {
    const momentum = optimizer.momentum !== 0 ? 3 + (optimizer.nesterov ? 2 : 0) : 0;
    return 2 + (optimizer.weightDecay !== 0 ? 2 : 0) + momentum;
  }
  if (optimizer instanceof Adam) {
    return 13 + (optimizer.weightDecay !== 0 ? 2 : 0) + (optimizer.amsgrad ? 1 : 0);
  }
  throw new Error(`optimizerFlopsPerElement: no cost model for ${optimizer.constructor.name}`);
}

function phaseProfile(samplesMs: number[], flops: number): PhaseProfile {
  const sorted = [...samplesMs].sort((a, b) => a - b);
  const medianMs = ss.quantileSorted(sorted, 0.5);
  return {
    medianMs,
    iqrMs: ss.quantileSorted(sorted, 0.75) - ss.quantileSorted(sorted, 0.25),
    flops,
    gflopsPerSecond: medianMs > 0 ? flops / (medianMs / 1e3) / 1e9 : 0,
  };
}

/** Times forward (+ loss), backward and the optimizer step of `iterations` training steps. */
function profileTrainingStep(
  model: Module,
  lossFn: StepLoss,
  optimizer: Optimizer,
  inputs: Tensor,
  targets: Tensor,
  options: LatencyOptions = {},
): TrainingStepProfile {
  const warmup = options.warmup ?? 3;
  const iterations = options.iterations ?? 20;
  const clock = options.clock ?? hrtimeMs;
  if (!Number.isInteger(iterations) || iterations < 1) {
    throw new Error(`profileTrainingStep: iterations must be an integer >= 1, got ${iterations}`);
  }
  const samples = { forward: [] as number[], backward: [] as number[], optimizer: [] as number[] };
  for (let i = 0; i < warmup + iterations; i++) {
    optimizer.zeroGrad();
    const t0 = i < warmup ? 0 : clock();
    const loss = lossFn.forward(model.forward(inputs), targets);
    const t1 = i < warmup ? 0 : clock();
    loss.backward();
    const t2 = i < warmup ? 0 : clock();
    optimizer.step();
    if (i < warmup) continue;
    const t3 = clock();
    samples.forward.push(t1 - t0);
    samples.backward.push(t2 - t1);
    samples.optimizer.push(t3 - t2);
  }
  const forwardFlops = countFlops(model, inputs.shape).flops;
  const backwardFlops = countBackwardFlops(model, inputs.shape);
  const elements = optimizer.params.reduce((n, p) => n + p.size, 0);
  const forward = phaseProfile(samples.forward, forwardFlops);
  const backward = phaseProfile(samples.backward, backwardFlops);
  const update = phaseProfile(samples.optimizer, elements * optimizerFlopsPerElement(optimizer));
  return {
    forward,
    backward,
    optimizer: update,
    stepMs: forward.medianMs + backward.medianMs + update.medianMs,
    backwardForwardTimeRatio: forward.medianMs > 0 ? backward.medianMs / forward.medianMs : NaN,
    backwardForwardFlopRatio: forwardFlops > 0 ? backwardFlops / forwardFlops : NaN,
  };
}

/** A plain-text table of a training-step profile. */
function formatTrainingStep(profile: TrainingStepProfile): string {
  const row = (name: string, p: PhaseProfile) =>
    `${name.padEnd(10)} ${p.flops.toExponential(2).padStart(9)} ${p.medianMs.toFixed(3).padStart(9)} ` +
    `${p.iqrMs.toFixed(3).padStart(8)} ${p.gflopsPerSecond.toFixed(2).padStart(8)} ` +
    `${((100 * p.medianMs) / profile.stepMs).toFixed(1).padStart(6)}%`;
  return [
    `${"phase".padEnd(10)} ${"FLOPs".padStart(9)} ${"median ms".padStart(9)} ${"IQR ms".padStart(8)} ${"GFLOP/s".padStart(8)} ${"share".padStart(7)}`,
    row("forward", profile.forward),
    row("backward", profile.backward),
    row("optimizer", profile.optimizer),
    `backward/forward: ${profile.backwardForwardTimeRatio.toFixed(2)}x by time, ` +
      `${profile.backwardForwardFlopRatio.toFixed(2)}x by FLOPs (rule of thumb: about 2x)`,
  ].join("\n");
}

// %% [markdown]
// Two networks, one step each: the MLP above (every layer about the same size), and the
// 784-128-10 MLP of the digits milestone with Adam at batch 64, whose first layer dominates.

// %%
await demo("profiling a training step", () => {
  const mse = { forward: (out: Tensor, target: Tensor) => out.sub(target).pow(2).mean() };
  const x = Tensor.randn([32, 128], new Rng(5));
  const target = Tensor.randn([32, 10], new Rng(6));
  const sgd = new SGD(mlp.parameters(), { lr: 1e-3, momentum: 0.9 });
  const square = profileTrainingStep(mlp, mse, sgd, x, target, { warmup: 3, iterations: 15 });
  console.log(`MLP 128-256-128-10, batch 32, SGD with momentum\n${formatTrainingStep(square)}\n`);
  const digits = new Sequential([new Linear(784, 128, { seed: 1 }), new ReLU(), new Linear(128, 10, { seed: 2 })]);
  const images = Tensor.rand([64, 784], new Rng(7));
  const onehot = new Tensor(Float32Array.from({ length: 640 }, (_, i) => (i % 10 === Math.floor(i / 10) % 10 ? 1 : 0)), [64, 10]);
  const adam = new Adam(digits.parameters());
  const wide = profileTrainingStep(digits, mse, adam, images, onehot, { warmup: 3, iterations: 15 });
  console.log(`MLP 784-128-10, batch 64, Adam\n${formatTrainingStep(wide)}`);
});

// %% [markdown]
// Reading the two tables:
//
// - For the MLP of three similar layers, the FLOP ratio is about 1.5: the second and third layers
//   pay the two products the rule of thumb counts, the first (half of the FLOPs) only one.
// - For the digits MLP the FLOP ratio is about 1.01: the first layer's input gradient, the one
//   product the rule counts that we do not need, is almost all of what the rule assumed.
// - The measured ratio need not match the FLOP ratio, in either direction. The backward pass
//   allocates a gradient for every intermediate tensor, walks the graph and may transpose operands
//   before multiplying; the forward phase here includes the loss and the recording of the graph.
//   Which overhead dominates depends on your implementation; the IQR says whether a difference
//   between the two ratios is real or noise (on a busy machine it is wide).
// - The optimizer step is a small share of the time but a poor GFLOP/s: a few FLOPs per 4-byte
//   parameter and per state value read and written, far left on the roofline.

// %% [markdown]
// ### A convolutional network
//
// Module 09's layers state their own costs, so the same profiler reads the LeNet of milestone 04
// (conv 1→8 5×5, pool, ReLU, conv 8→16 5×5, pool, ReLU, flatten, linear 256→10) on a batch of
// 64 digits. Compare its 5,994 parameters with the MLP's 101,770, and look where its FLOPs and
// its activation memory go: the two convolutions hold nearly all of both, and most of their
// memory is `im2col`'s columns.

// %%
await demo("profiling a LeNet", () => {
  const lenet = new Sequential([new Conv2d(1, 8, 5, { seed: 1 }), new MaxPool2d(2), new ReLU(), new Conv2d(8, 16, 5, { seed: 2 }), new MaxPool2d(2), new ReLU(), new Flatten(), new Linear(256, 10, { seed: 3 })]);
  const digits = Tensor.rand([64, 1, 28, 28], new Rng(8));
  const profiler = mlpRun.profiler;
  if (!profiler) throw new Error("Not implemented: profile the MLP first");
  const memory = measureMemory(lenet, digits);
  console.log(`parameters: ${countParameters(lenet)}; FLOPs: forward ${countFlops(lenet, digits.shape).flops.toExponential(2)}, backward ${countBackwardFlops(lenet, digits.shape).toExponential(2)}`);
  console.log(`activations allocated by the forward pass: ${(memory.activationBytes / 1e6).toFixed(2)} MB`);
  for (const layer of memory.layers) console.log(`  ${layer.name.padEnd(26)} ${(layer.allocatedBytes / 1e6).toFixed(2).padStart(6)} MB allocated, ${(layer.outputBytes / 1e6).toFixed(2).padStart(6)} MB output`);
  console.log(Profiler.format(profiler.profileForwardPass(lenet, digits)));
});

// %% [markdown]
// ## Part 4 — When can a measurement be trusted? Windows, stability, batch sweeps
//
// One timing loop gives one number, and nothing tells you whether the next loop would give the
// same. Inference servers are profiled more carefully (this part follows the design of NVIDIA
// Triton Model Navigator's `ProfilerConfig`):
//
// - Requests are measured in **windows**: either a fixed number of requests per window
//   (`COUNT_WINDOWS`) or a fixed length of time (`TIME_WINDOWS`).
// - A measurement is accepted only when **three consecutive windows agree**: each of their
//   throughputs and average latencies is within `stabilityPercentage` % of the three windows'
//   mean. A machine that is still warming up, or busy with something else, fails this test.
// - If no three consecutive windows agree within `maxTrials` windows, the profiler **stops with
//   an error** rather than report a number it cannot stand behind.
// - Batch sizes are profiled in ascending order, and the sweep **stops when throughput no longer
//   improves** by at least `throughputCutoffThreshold` (a fraction: 0.05 means 5 %).
//
// `ProfilerConfig` carries these settings with Model Navigator's field names and defaults, and
// converts to and from a plain dictionary (snake_case keys, as in a YAML or JSON config file).
//
// *A correction to the original:* Model Navigator's `from_dict` falls back to *different* defaults
// than its constructor (`TIME_WINDOWS` instead of `COUNT_WINDOWS`, no interval or request count,
// and a cutoff of −2 instead of 0.05), so `from_dict({})` and `ProfilerConfig()` disagree. Here a
// missing key always means the constructor's default, and unknown keys are an error instead of
// being silently ignored.

// %% nbgrader={"grade": false, "grade_id": "profiler-config", "locked": true, "schema_version": 3, "solution": false, "task": false}
//| export
enum MeasurementMode {
  TIME_WINDOWS = "time_windows",
  COUNT_WINDOWS = "count_windows",
}

/** The dictionary form of a ProfilerConfig (snake_case, as in config files). */
interface ProfilerConfigDict {
  run_profiling: boolean;
  batch_sizes: number[] | null;
  measurement_mode: MeasurementMode;
  measurement_interval: number;
  measurement_request_count: number;
  stability_percentage: number;
  max_trials: number;
  throughput_cutoff_threshold: number;
}

interface ProfilerConfigFields {
  runProfiling: boolean;
  /** Batch sizes to profile, ascending; null means the model does not batch (profiled at 1). */
  batchSizes: number[] | null;
  measurementMode: MeasurementMode;
  /** Window length in milliseconds (TIME_WINDOWS). */
  measurementInterval: number;
  /** Requests per window (COUNT_WINDOWS). */
  measurementRequestCount: number;
  /** Allowed deviation from the mean of three consecutive windows, in percent. */
  stabilityPercentage: number;
  /** Windows to try before giving up. */
  maxTrials: number;
  /** Minimum relative throughput gain to go on to the next batch size (0.05 = 5 %). */
  throughputCutoffThreshold: number;
}

class ProfilingError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ProfilingError";
  }
}

const PROFILER_CONFIG_KEYS: Record<keyof ProfilerConfigDict, keyof ProfilerConfigFields> = {
  run_profiling: "runProfiling",
  batch_sizes: "batchSizes",
  measurement_mode: "measurementMode",
  measurement_interval: "measurementInterval",
  measurement_request_count: "measurementRequestCount",
  stability_percentage: "stabilityPercentage",
  max_trials: "maxTrials",
  throughput_cutoff_threshold: "throughputCutoffThreshold",
};

class ProfilerConfig implements ProfilerConfigFields {
  runProfiling = true;
  batchSizes: number[] | null = null;
  measurementMode = MeasurementMode.COUNT_WINDOWS;
  measurementInterval = 5000;
  measurementRequestCount = 50;
  stabilityPercentage = 10;
  maxTrials = 10;
  throughputCutoffThreshold = 0.05;

  constructor(init: Partial<ProfilerConfigFields> = {}) {
    for (const [key, value] of Object.entries(init)) {
      if (value === undefined) continue;
      if (!Object.values(PROFILER_CONFIG_KEYS).includes(key as keyof ProfilerConfigFields)) {
        throw new ProfilingError(`ProfilerConfig: unknown field '${key}'`);
      }
      (this as Record<string, unknown>)[key] = Array.isArray(value) ? [...value] : value;
    }
    this.validate();
  }

  private validate(): void {
    const bad = (what: string): never => {
      throw new ProfilingError(`ProfilerConfig: ${what}`);
    };
    if (typeof this.runProfiling !== "boolean") bad("runProfiling must be a boolean");
    if (this.batchSizes !== null) {
      if (!Array.isArray(this.batchSizes) || this.batchSizes.length === 0) {
        bad("batchSizes must be null or a non-empty array");
      }
      for (const b of this.batchSizes ?? []) {
        if (!Number.isInteger(b) || b < 1) bad(`batch sizes must be integers >= 1, got ${b}`);
      }
    }
    if (!Object.values(MeasurementMode).includes(this.measurementMode)) {
      bad(`measurementMode must be one of ${Object.values(MeasurementMode).join(", ")}`);
    }
    if (!(Number.isFinite(this.measurementInterval) && this.measurementInterval > 0)) {
      bad("measurementInterval must be a positive number of milliseconds");
    }
    if (!Number.isInteger(this.measurementRequestCount) || this.measurementRequestCount < 1) {
      bad("measurementRequestCount must be an integer >= 1");
    }
    if (!(Number.isFinite(this.stabilityPercentage) && this.stabilityPercentage > 0)) {
      bad("stabilityPercentage must be a positive number");
    }
    if (!Number.isInteger(this.maxTrials) || this.maxTrials < 3) {
      bad("maxTrials must be an integer >= 3: stability needs three windows");
    }
    if (!Number.isFinite(this.throughputCutoffThreshold)) {
      bad("throughputCutoffThreshold must be a finite number");
    }
  }

  /** From a dictionary with the seed's snake_case keys; missing or null keys take the defaults. */
  static fromDict(
    dict: Partial<ProfilerConfigDict> | Record<string, unknown> | Map<string, unknown>,
  ): ProfilerConfig {
    const entries = dict instanceof Map ? [...dict.entries()] : Object.entries(dict);
    const init: Record<string, unknown> = {};
    for (const [key, value] of entries) {
      const field = PROFILER_CONFIG_KEYS[key as keyof ProfilerConfigDict];
      if (field === undefined) throw new ProfilingError(`ProfilerConfig.fromDict: unknown key '${key}'`);
      if (value === null && key !== "batch_sizes") continue;
      if (key === "measurement_mode" && typeof value === "string") {
        const byName = MeasurementMode[value as keyof typeof MeasurementMode];
        init[field] = byName ?? value;
        continue;
      }
      init[field] = value;
    }
    return new ProfilerConfig(init as Partial<ProfilerConfigFields>);
  }

  toDict(): ProfilerConfigDict {
    return {
      run_profiling: this.runProfiling,
      batch_sizes: this.batchSizes === null ? null : [...this.batchSizes],
      measurement_mode: this.measurementMode,
      measurement_interval: this.measurementInterval,
      measurement_request_count: this.measurementRequestCount,
      stability_percentage: this.stabilityPercentage,
      max_trials: this.maxTrials,
      throughput_cutoff_threshold: this.throughputCutoffThreshold,
    };
  }
}

/** What one measurement window saw. */
interface WindowResult {
  requests: number;
  /** requests × batch size */
  samples: number;
  durationMs: number;
  latenciesMs: number[];
  avgLatencyMs: number;
  /** samples per second */
  throughput: number;
}

/** Runs one window of requests: a fixed count, or as many as fit in the interval (at least one). */
function runMeasurementWindow(
  request: () => unknown,
  batchSize: number,
  config: ProfilerConfig,
  clock: Clock = hrtimeMs,
): WindowResult {
  const latenciesMs: number[] = [];
  const start = clock();
  const timeLimited = config.measurementMode === MeasurementMode.TIME_WINDOWS;
  for (;;) {
    const t0 = clock();
    request();
    const t1 = clock();
    latenciesMs.push(t1 - t0);
    if (timeLimited ? t1 - start >= config.measurementInterval : latenciesMs.length >= config.measurementRequestCount) {
      break;
    }
  }
  const durationMs = clock() - start;
  const samples = latenciesMs.length * batchSize;
  return {
    requests: latenciesMs.length,
    samples,
    durationMs,
    latenciesMs,
    avgLatencyMs: ss.mean(latenciesMs),
    throughput: durationMs > 0 ? samples / (durationMs / 1e3) : Number.POSITIVE_INFINITY,
  };
}

// %% [markdown]
// ### Step 5: the stability rule
//
// **TODO**: Implement `isStable(values, stabilityPercentage)` and
// `measureUntilStable(runWindow, config)`.
//
// The contract:
// - `isStable(values, pct)`: false with fewer than 3 values; otherwise true when **each** of the
//   last three values is within `pct / 100 × |m|` of their mean `m` (inclusive);
// - `measureUntilStable(runWindow, config)` calls `runWindow(trial)` for trial = 1, 2, … and
//   stops at the first trial after which the throughputs **and** the average latencies of the
//   windows so far are both stable, returning every window, the three stable ones and the
//   number of trials; it never calls `runWindow` more than `config.maxTrials` times, and when
//   that many windows pass without agreement it throws a `ProfilingError` whose message says
//   the measurement was `not stable` and after how many windows.
//
// **APPROACH**:
// 1. Apply the rule by hand to `[100, 105, 95]` and `[100, 130, 95]` at 10 %, and to
//    `[500, 1, 100, 101, 99]` at 5 %. What would a rule that compared only the *last* window
//    with the mean say about `[130, 90, 110]`?
// 2. Why both throughput and latency? Think of a window whose throughput is steady while its
//    latency drifts upwards.
// 3. Plan the loop so that the number of windows run is exactly what the contract says in both
//    outcomes.
//
// **HINTS**: On a real server each window costs seconds: count your calls.

// %% nbgrader={"grade": false, "grade_id": "stability-windows", "locked": false, "schema_version": 3, "solution": true, "task": false}
//| export
interface StableMeasurement {
  windows: WindowResult[];
  stable: WindowResult[];
  trials: number;
}

function isStable(values: readonly number[], stabilityPercentage: number): boolean {
  // ### BEGIN SOLUTION
  if (values.length < 3) return false;
  const last = values.slice(-3);
  const mean = (last[0] + last[1] + last[2]) / 3;
  const allowed = (stabilityPercentage / 100) * Math.abs(mean);
  return last.every((v) => Math.abs(v - mean) <= allowed);
  // ### END SOLUTION
}

function measureUntilStable(
  runWindow: (trial: number) => WindowResult,
  config: ProfilerConfig,
): StableMeasurement {
  // ### BEGIN SOLUTION
  const windows: WindowResult[] = [];
  for (let trial = 1; trial <= config.maxTrials; trial++) {
    windows.push(runWindow(trial));
    const throughputs = windows.map((w) => w.throughput);
    const latencies = windows.map((w) => w.avgLatencyMs);
    if (
      isStable(throughputs, config.stabilityPercentage) &&
      isStable(latencies, config.stabilityPercentage)
    ) {
      return { windows, stable: windows.slice(-3), trials: trial };
    }
  }
  const recent = windows
    .slice(-3)
    .map((w) => w.throughput.toFixed(1))
    .join(", ");
  throw new ProfilingError(
    `measurement not stable within ${config.stabilityPercentage}% after ${config.maxTrials} windows ` +
      `(last throughputs: ${recent})`,
  );
  // ### END SOLUTION
}

// %% nbgrader={"grade": true, "grade_id": "test-unit-stability-windows", "locked": true, "points": 3, "schema_version": 3, "solution": false, "task": false}
/** A synthetic window with a given throughput and average latency. */
function syntheticWindow(throughput: number, avgLatencyMs = 1): WindowResult {
  return { requests: 10, samples: 10, durationMs: 10, latenciesMs: [avgLatencyMs], avgLatencyMs, throughput };
}

function testUnitStabilityWindows(): void {
  assertEqual(isStable([100, 105, 95], 10), true);
  assertEqual(isStable([100, 130, 95], 10), false);
  assertEqual(isStable([100, 100], 10), false, "two windows are not enough");
  assertEqual(isStable([500, 1, 100, 101, 99], 5), true, "only the last three count");
  const series = [100, 50, 100, 99, 101, 100];
  let calls = 0;
  const ok = measureUntilStable(
    (trial) => {
      calls++;
      return syntheticWindow(series[trial - 1]);
    },
    new ProfilerConfig({ stabilityPercentage: 10, maxTrials: 10 }),
  );
  assertEqual(ok.trials, 5, "stable once windows 3-5 agree");
  assertEqual(calls, 5, "no window after the measurement became stable");
  assertEqual(ok.stable.map((w) => w.throughput), [100, 99, 101]);
  // ### BEGIN HIDDEN TESTS
  let unstableCalls = 0;
  assertThrows(
    () =>
      measureUntilStable(
        (trial) => {
          unstableCalls++;
          return syntheticWindow(trial % 2 === 0 ? 200 : 100);
        },
        new ProfilerConfig({ maxTrials: 6 }),
      ),
    "not stable",
  );
  assertEqual(unstableCalls, 6, "exactly maxTrials windows before giving up");
  // Stable throughput but wandering latency is not stable.
  assertThrows(
    () =>
      measureUntilStable(
        (trial) => syntheticWindow(100, trial * 10),
        new ProfilerConfig({ maxTrials: 5 }),
      ),
    "not stable",
  );
  assertEqual(isStable([100, 110, 90], 10), true, "within the bound, inclusive");
  assertEqual(isStable([100, 111, 89], 10), false);
  assertEqual(isStable([-100, -105, -95], 10), true, "the bound uses |mean|");
  const first = measureUntilStable(() => syntheticWindow(42), new ProfilerConfig({ maxTrials: 3 }));
  assertEqual(first.trials, 3);
  assertEqual(first.windows.length, 3);
  // Random triples against the rule (computed here), and random window series: a noisy start,
  // then windows that must agree, so the trial where the measurement settles is known here.
  const rs = testRandom("14/stability-windows");
  const stableOf = (values: readonly number[], pct: number): boolean => {
    if (values.length < 3) return false;
    const last = values.slice(-3);
    const m = (last[0] + last[1] + last[2]) / 3;
    return last.every((v) => Math.abs(v - m) <= (pct / 100) * Math.abs(m));
  };
  for (let trial = 0; trial < 6; trial++) {
    const base = rs.uniform(-150, 150);
    const wobble = rs.uniform(0, 0.25);
    const values = Array.from({ length: rs.int(1, 6) }, () => base * (1 + rs.uniform(-wobble, wobble)));
    const pct = rs.uniform(1, 20);
    assertEqual(isStable(values, pct), stableOf(values, pct), "random values and percentage");
  }
  for (let trial = 0; trial < 3; trial++) {
    const pct = rs.uniform(2, 20);
    const noisy = Array.from({ length: rs.int(0, 5) }, () => [rs.uniform(10, 1000), rs.uniform(0.1, 10)]);
    const base = [rs.uniform(10, 1000), rs.uniform(0.1, 10)];
    const settled = Array.from({ length: 3 + rs.int(0, 3) }, () => [
      base[0] * (1 + rs.uniform(-pct / 300, pct / 300)),
      base[1] * (1 + rs.uniform(-pct / 300, pct / 300)),
    ]);
    const series = [...noisy, ...settled];
    let used = 0;
    const got = measureUntilStable(
      (t) => {
        used++;
        return syntheticWindow(series[t - 1][0], series[t - 1][1]);
      },
      new ProfilerConfig({ stabilityPercentage: pct, maxTrials: Math.max(3, series.length) }),
    );
    const settledAt = (): number => {
      for (let t = 3; t <= series.length; t++) {
        const windows = series.slice(0, t);
        if (stableOf(windows.map((w) => w[0]), pct) && stableOf(windows.map((w) => w[1]), pct)) return t;
      }
      return -1;
    };
    assertEqual([got.trials, used, got.windows.length], [settledAt(), settledAt(), settledAt()], "random series: the first trial whose last three windows agree");
    assertEqual(
      got.stable.map((w) => [w.throughput, w.avgLatencyMs]),
      series.slice(settledAt() - 3, settledAt()),
      "random series: the three agreeing windows",
    );
  }
  const giveUpAfter = rs.int(3, 9);
  const low = rs.uniform(10, 500);
  let tries = 0;
  assertThrows(
    () =>
      measureUntilStable(
        (t) => {
          tries++;
          return syntheticWindow(t % 2 === 0 ? 2 * low : low);
        },
        new ProfilerConfig({ maxTrials: giveUpAfter, stabilityPercentage: rs.uniform(1, 20) }),
      ),
    "not stable",
    "random alternating series",
  );
  assertEqual(tries, giveUpAfter, "random maxTrials: exactly that many windows");
  // ### END HIDDEN TESTS
  passed("testUnitStabilityWindows");
}
testUnitStabilityWindows();

// %%
//| mutation stability-windows checks only the last window against the mean of the last three
interface StableMeasurement {
  windows: WindowResult[];
  stable: WindowResult[];
  trials: number;
}

function isStable(values: readonly number[], stabilityPercentage: number): boolean {
  if (values.length < 3) return false;
  const last = values.slice(-3);
  const mean = (last[0] + last[1] + last[2]) / 3;
  const allowed = (stabilityPercentage / 100) * Math.abs(mean);
  return Math.abs(last[2] - mean) <= allowed;
}

function measureUntilStable(
  runWindow: (trial: number) => WindowResult,
  config: ProfilerConfig,
): StableMeasurement {
  const windows: WindowResult[] = [];
  for (let trial = 1; trial <= config.maxTrials; trial++) {
    windows.push(runWindow(trial));
    const throughputs = windows.map((w) => w.throughput);
    const latencies = windows.map((w) => w.avgLatencyMs);
    if (
      isStable(throughputs, config.stabilityPercentage) &&
      isStable(latencies, config.stabilityPercentage)
    ) {
      return { windows, stable: windows.slice(-3), trials: trial };
    }
  }
  const recent = windows
    .slice(-3)
    .map((w) => w.throughput.toFixed(1))
    .join(", ");
  throw new ProfilingError(
    `measurement not stable within ${config.stabilityPercentage}% after ${config.maxTrials} windows ` +
      `(last throughputs: ${recent})`,
  );
}

// %%
//| mutation stability-windows stable as soon as the throughputs agree, whatever the latencies do
interface StableMeasurement {
  windows: WindowResult[];
  stable: WindowResult[];
  trials: number;
}

function isStable(values: readonly number[], stabilityPercentage: number): boolean {
  if (values.length < 3) return false;
  const last = values.slice(-3);
  const mean = (last[0] + last[1] + last[2]) / 3;
  const allowed = (stabilityPercentage / 100) * Math.abs(mean);
  return last.every((v) => Math.abs(v - mean) <= allowed);
}

function measureUntilStable(
  runWindow: (trial: number) => WindowResult,
  config: ProfilerConfig,
): StableMeasurement {
  const windows: WindowResult[] = [];
  for (let trial = 1; trial <= config.maxTrials; trial++) {
    windows.push(runWindow(trial));
    const throughputs = windows.map((w) => w.throughput);
    const latencies = windows.map((w) => w.avgLatencyMs);
    if (
      isStable(throughputs, config.stabilityPercentage) &&
      latencies.length > 0
    ) {
      return { windows, stable: windows.slice(-3), trials: trial };
    }
  }
  const recent = windows
    .slice(-3)
    .map((w) => w.throughput.toFixed(1))
    .join(", ");
  throw new ProfilingError(
    `measurement not stable within ${config.stabilityPercentage}% after ${config.maxTrials} windows ` +
      `(last throughputs: ${recent})`,
  );
}

// %% [markdown]
// ### Step 6: `profileBatchSweep`
//
// Bigger batches amortise per-call overhead (allocating result tensors, looping, dispatch) over
// more samples, so throughput rises with batch size — until the hardware is saturated, after
// which a bigger batch only adds latency. The sweep finds that knee.
//
// **TODO**: Implement `profileBatchSweep(model, makeBatch, config, options)`.
//
// The contract:
// - if `config.runProfiling` is false, nothing runs: `{ profiles: [], skipped: true,
//   stopReason: null }`;
// - batch sizes `config.batchSizes ?? [1]`, ascending, each once;
// - for each size, `makeBatch(size)` once; a request is one forward call on that batch (the
//   model is a function or has a `forward` method); `options.warmup ?? 3` untimed requests,
//   then `measureUntilStable` over windows from `runMeasurementWindow(request, size, config,
//   clock)` with `clock = options.clock ?? hrtimeMs`;
// - a profile summarises the **three stable windows** together: all their latencies give the
//   average, the sample standard deviation (0 for a single request) and p50/p90/p95/p99
//   (interpolated as in Step 3); throughput is their samples over their total duration in
//   seconds; `requestCount` their requests; `trials` the windows used;
// - from the second size on, the gain is (throughput − previous) / previous; below
//   `config.throughputCutoffThreshold` the sweep keeps this profile and stops, with a
//   `stopReason` that names the batch size and the word `cutoff`.
//
// **APPROACH**:
// 1. Which figures come from the three stable windows only, and why not from every window run
//    (warm-up windows included)?
// 2. A sweep over sizes 1, 2, 4, 8 measures throughputs 100, 180, 185, 300 with a cutoff of
//    0.05: which profiles are returned, and what is the stop reason?
// 3. Write the request as a closure over the batch, so the window runner can call it.
//
// **HINTS**: a sample standard deviation needs at least two values; the durations of the
// windows are in milliseconds.

// %% nbgrader={"grade": false, "grade_id": "batch-sweep", "locked": false, "schema_version": 3, "solution": true, "task": false}
//| export
interface BatchProfile {
  batchSize: number;
  requestCount: number;
  trials: number;
  latencyAvgMs: number;
  latencyStdMs: number;
  latencyP50Ms: number;
  latencyP90Ms: number;
  latencyP95Ms: number;
  latencyP99Ms: number;
  /** samples per second */
  throughput: number;
}

interface BatchSweepResult {
  profiles: BatchProfile[];
  skipped: boolean;
  /** Why the sweep ended before the last batch size, or null. */
  stopReason: string | null;
}

/** A model for the sweep: a function of the batch, or anything with `forward(batch)`. */
type BatchModel<B> = ((batch: B) => unknown) | { forward(batch: B): unknown };

function profileBatchSweep<B>(
  model: BatchModel<B>,
  makeBatch: (batchSize: number) => B,
  config: ProfilerConfig = new ProfilerConfig(),
  options: { clock?: Clock; warmup?: number } = {},
): BatchSweepResult {
  // ### BEGIN SOLUTION
  if (!config.runProfiling) return { profiles: [], skipped: true, stopReason: null };
  const clock = options.clock ?? hrtimeMs;
  const warmup = options.warmup ?? 3;
  const sizes = [...new Set(config.batchSizes ?? [1])].sort((a, b) => a - b);
  const profiles: BatchProfile[] = [];
  let stopReason: string | null = null;
  for (const batchSize of sizes) {
    const batch = makeBatch(batchSize);
    const request =
      typeof model === "function" ? () => model(batch) : () => model.forward(batch);
    for (let i = 0; i < warmup; i++) request();
    const measured = measureUntilStable(
      () => runMeasurementWindow(request, batchSize, config, clock),
      config,
    );
    const latencies = measured.stable.flatMap((w) => w.latenciesMs).sort((a, b) => a - b);
    const samples = measured.stable.reduce((s, w) => s + w.samples, 0);
    const durationMs = measured.stable.reduce((s, w) => s + w.durationMs, 0);
    const profile: BatchProfile = {
      batchSize,
      requestCount: measured.stable.reduce((s, w) => s + w.requests, 0),
      trials: measured.trials,
      latencyAvgMs: ss.mean(latencies),
      latencyStdMs: latencies.length > 1 ? ss.sampleStandardDeviation(latencies) : 0,
      latencyP50Ms: ss.quantileSorted(latencies, 0.5),
      latencyP90Ms: ss.quantileSorted(latencies, 0.9),
      latencyP95Ms: ss.quantileSorted(latencies, 0.95),
      latencyP99Ms: ss.quantileSorted(latencies, 0.99),
      throughput: durationMs > 0 ? samples / (durationMs / 1e3) : Number.POSITIVE_INFINITY,
    };
    const previous = profiles[profiles.length - 1];
    profiles.push(profile);
    if (previous) {
      const gain = (profile.throughput - previous.throughput) / previous.throughput;
      if (gain < config.throughputCutoffThreshold) {
        stopReason =
          `batch ${batchSize}: throughput rose ${(gain * 100).toFixed(1)}% over batch ` +
          `${previous.batchSize}, below the ${(config.throughputCutoffThreshold * 100).toFixed(1)}% cutoff`;
        break;
      }
    }
  }
  return { profiles, skipped: false, stopReason };
  // ### END SOLUTION
}

// %% nbgrader={"grade": true, "grade_id": "test-unit-batch-sweep", "locked": true, "points": 4, "schema_version": 3, "solution": false, "task": false}
/** A fake clock and a model that "takes" 1 + 0.25·batch ms per call on it. */
function virtualServer(costMs: (batchSize: number) => number): {
  clock: Clock;
  model: (batch: number[]) => number;
  calls: () => number;
} {
  let now = 0;
  let calls = 0;
  return {
    clock: () => now,
    model: (batch: number[]) => {
      calls++;
      now += costMs(batch.length);
      return batch.length;
    },
    calls: () => calls,
  };
}

function testUnitBatchSweep(): void {
  const server = virtualServer((b) => 1 + 0.25 * b);
  const config = new ProfilerConfig({
    batchSizes: [8, 1, 2, 4, 16],
    measurementRequestCount: 5,
    throughputCutoffThreshold: 0.05,
  });
  const result = profileBatchSweep(server.model, (n) => new Array<number>(n).fill(0), config, {
    clock: server.clock,
  });
  assertEqual(result.skipped, false);
  assertEqual(result.profiles.map((p) => p.batchSize), [1, 2, 4, 8, 16], "ascending order");
  assertEqual(result.stopReason, null, "throughput still grows by > 5% at 16");
  const b4 = result.profiles[2];
  assertClose(b4.latencyAvgMs, 2);
  assertClose([b4.latencyP50Ms, b4.latencyP99Ms, b4.latencyStdMs], [2, 2, 0]);
  assertClose(b4.throughput, 4 / 0.002, { rtol: 1e-9 }, "samples per second");
  assertEqual(b4.requestCount, 15, "three stable windows of five requests");
  assertEqual(b4.trials, 3);
  // ### BEGIN HIDDEN TESTS
  const server2 = virtualServer((b) => 1 + 0.25 * b);
  const wide = new ProfilerConfig({
    batchSizes: [1, 2, 4, 8, 16, 32, 64, 128, 256],
    measurementRequestCount: 4,
    throughputCutoffThreshold: 0.05,
  });
  const r2 = profileBatchSweep({ forward: server2.model }, (n) => new Array<number>(n).fill(0), wide, {
    clock: server2.clock,
    warmup: 2,
  });
  // Throughput b/(1+0.25b): +11% at 32, +5.9% at 64, +3% at 128 -> stop at 128, never run 256.
  assertEqual(r2.profiles.map((p) => p.batchSize), [1, 2, 4, 8, 16, 32, 64, 128]);
  assert(r2.stopReason !== null && r2.stopReason.includes("128") && r2.stopReason.includes("cutoff"), `stopReason: ${r2.stopReason}`);
  assertEqual(server2.calls(), 8 * (2 + 3 * 4), "warm-up + three windows per batch size, nothing more");
  // Percentiles and spread over all requests of the stable windows.
  let k = 0;
  const jitter = [1, 2, 3, 4];
  let now = 0;
  const r3 = profileBatchSweep(
    () => {
      now += jitter[k++ % 4];
    },
    () => 0,
    new ProfilerConfig({ measurementRequestCount: 4, stabilityPercentage: 1 }),
    { clock: () => now, warmup: 0 },
  );
  const p = r3.profiles[0];
  assertEqual(p.batchSize, 1, "null batchSizes profiles batch size 1");
  assertClose([p.latencyAvgMs, p.latencyP50Ms, p.latencyP90Ms], [2.5, 2.5, 4]);
  assertClose(p.latencyStdMs, Math.sqrt(15 / 11), { rtol: 1e-9 }, "sample standard deviation");
  assertClose(p.latencyP95Ms, 4);
  const skipped = profileBatchSweep(() => 0, () => 0, new ProfilerConfig({ runProfiling: false }));
  assertEqual(skipped.skipped, true);
  assertEqual(skipped.profiles.length, 0);
  const wobbly = virtualServer((b) => b * (1 + Math.random()));
  assertThrows(
    () =>
      profileBatchSweep(wobbly.model, (n) => new Array<number>(n).fill(0), new ProfilerConfig({ batchSizes: [4], stabilityPercentage: 0.001, measurementRequestCount: 3 }), { clock: wobbly.clock }),
    "not stable",
  );
  // A random virtual server (cost c0 + c1·batch, in quarter and sixteenth milliseconds, so the
  // fake clock is exact), random batch sizes, request counts, warm-up and cutoff: the sizes
  // profiled, where the sweep stops, each throughput and the number of calls, computed here.
  const rw = testRandom("14/batch-sweep");
  for (let trial = 0; trial < 3; trial++) {
    const c0 = rw.int(1, 16) / 4;
    const c1 = rw.int(1, 16) / 16;
    const sizes = rw.shuffled([1, 2, 3, 4, 6, 8, 12, 16, 24, 32, 48, 64, 96, 128]).slice(0, rw.int(2, 8));
    const requests = rw.int(1, 6);
    const warm = rw.int(0, 3);
    const cutoff = rw.uniform(-0.05, 0.4);
    const vs = virtualServer((b) => c0 + c1 * b);
    const got = profileBatchSweep(
      vs.model,
      (n) => new Array<number>(n).fill(0),
      new ProfilerConfig({ batchSizes: sizes, measurementRequestCount: requests, throughputCutoffThreshold: cutoff }),
      { clock: vs.clock, warmup: warm },
    );
    const sweepOf = (): { sizes: number[]; stopped: boolean } => {
      const ascending = [...sizes].sort((a, b) => a - b);
      for (let i = 1; i < ascending.length; i++) {
        const before = (ascending[i - 1] / (c0 + c1 * ascending[i - 1])) * 1e3;
        const now = (ascending[i] / (c0 + c1 * ascending[i])) * 1e3;
        if ((now - before) / before < cutoff) return { sizes: ascending.slice(0, i + 1), stopped: true };
      }
      return { sizes: ascending, stopped: false };
    };
    assertEqual(got.profiles.map((p) => p.batchSize), sweepOf().sizes, "random sweep: sizes profiled, ascending, until the cutoff");
    assertEqual(got.stopReason !== null && got.stopReason.includes("cutoff"), sweepOf().stopped, "random sweep: a stop reason exactly when it stopped early");
    assertClose(
      got.profiles.map((p) => [p.throughput, p.latencyAvgMs, p.latencyP99Ms, p.latencyStdMs]),
      sweepOf().sizes.map((b) => [(b / (c0 + c1 * b)) * 1e3, c0 + c1 * b, c0 + c1 * b, 0]),
      { rtol: 1e-9, atol: 1e-12 },
      "random sweep: throughput and latency of each size",
    );
    assertEqual(got.profiles.map((p) => [p.requestCount, p.trials]), sweepOf().sizes.map(() => [3 * requests, 3]), "random sweep: three stable windows each");
    assertEqual(vs.calls(), sweepOf().sizes.length * (warm + 3 * requests), "random sweep: warm-up and three windows per size, nothing more");
  }
  // Latencies that cycle through a random list: the statistics of the three stable windows.
  const cycle = Array.from({ length: rw.int(1, 4) }, () => rw.int(1, 16) / 4);
  const repeats = rw.int(1, 3);
  let position = 0;
  let clockNow = 0;
  const cycled = profileBatchSweep(
    () => {
      clockNow += cycle[position++ % cycle.length];
    },
    () => 0,
    new ProfilerConfig({ measurementRequestCount: cycle.length * repeats }),
    { clock: () => clockNow, warmup: rw.int(0, 3) },
  );
  const cycleLatencies = Array.from({ length: 3 * repeats }, () => cycle).flat().sort((a, b) => a - b);
  const cyclePct = (p: number): number => {
    const h = (cycleLatencies.length - 1) * p;
    const lo = Math.floor(h);
    return lo + 1 < cycleLatencies.length ? cycleLatencies[lo] + (h - lo) * (cycleLatencies[lo + 1] - cycleLatencies[lo]) : cycleLatencies[lo];
  };
  const q = cycled.profiles[0];
  assertClose(
    [q.latencyAvgMs, q.latencyP50Ms, q.latencyP90Ms, q.latencyP95Ms, q.latencyP99Ms],
    [cycleLatencies.reduce((a, b) => a + b, 0) / cycleLatencies.length, cyclePct(0.5), cyclePct(0.9), cyclePct(0.95), cyclePct(0.99)],
    { rtol: 1e-9, atol: 1e-12 },
    "random cycle: average and percentiles over the stable windows",
  );
  assertClose(
    q.latencyStdMs,
    cycleLatencies.length > 1 ? Math.sqrt(cycleLatencies.reduce((s, v) => s + (v - cycleLatencies.reduce((a, b) => a + b, 0) / cycleLatencies.length) ** 2, 0) / (cycleLatencies.length - 1)) : 0,
    { rtol: 1e-9, atol: 1e-12 },
    "random cycle: sample standard deviation",
  );
  assertClose(q.throughput, (cycleLatencies.length / cycleLatencies.reduce((a, b) => a + b, 0)) * 1e3, { rtol: 1e-9 }, "random cycle: samples per second");
  // ### END HIDDEN TESTS
  passed("testUnitBatchSweep");
}
testUnitBatchSweep();

// %%
//| mutation batch-sweep stops only when throughput falls, not when its gain is below the cutoff
interface BatchProfile {
  batchSize: number;
  requestCount: number;
  trials: number;
  latencyAvgMs: number;
  latencyStdMs: number;
  latencyP50Ms: number;
  latencyP90Ms: number;
  latencyP95Ms: number;
  latencyP99Ms: number;
  /** samples per second */
  throughput: number;
}

interface BatchSweepResult {
  profiles: BatchProfile[];
  skipped: boolean;
  /** Why the sweep ended before the last batch size, or null. */
  stopReason: string | null;
}

/** A model for the sweep: a function of the batch, or anything with `forward(batch)`. */
type BatchModel<B> = ((batch: B) => unknown) | { forward(batch: B): unknown };

function profileBatchSweep<B>(
  model: BatchModel<B>,
  makeBatch: (batchSize: number) => B,
  config: ProfilerConfig = new ProfilerConfig(),
  options: { clock?: Clock; warmup?: number } = {},
): BatchSweepResult {
  if (!config.runProfiling) return { profiles: [], skipped: true, stopReason: null };
  const clock = options.clock ?? hrtimeMs;
  const warmup = options.warmup ?? 3;
  const sizes = [...new Set(config.batchSizes ?? [1])].sort((a, b) => a - b);
  const profiles: BatchProfile[] = [];
  let stopReason: string | null = null;
  for (const batchSize of sizes) {
    const batch = makeBatch(batchSize);
    const request =
      typeof model === "function" ? () => model(batch) : () => model.forward(batch);
    for (let i = 0; i < warmup; i++) request();
    const measured = measureUntilStable(
      () => runMeasurementWindow(request, batchSize, config, clock),
      config,
    );
    const latencies = measured.stable.flatMap((w) => w.latenciesMs).sort((a, b) => a - b);
    const samples = measured.stable.reduce((s, w) => s + w.samples, 0);
    const durationMs = measured.stable.reduce((s, w) => s + w.durationMs, 0);
    const profile: BatchProfile = {
      batchSize,
      requestCount: measured.stable.reduce((s, w) => s + w.requests, 0),
      trials: measured.trials,
      latencyAvgMs: ss.mean(latencies),
      latencyStdMs: latencies.length > 1 ? ss.sampleStandardDeviation(latencies) : 0,
      latencyP50Ms: ss.quantileSorted(latencies, 0.5),
      latencyP90Ms: ss.quantileSorted(latencies, 0.9),
      latencyP95Ms: ss.quantileSorted(latencies, 0.95),
      latencyP99Ms: ss.quantileSorted(latencies, 0.99),
      throughput: durationMs > 0 ? samples / (durationMs / 1e3) : Number.POSITIVE_INFINITY,
    };
    const previous = profiles[profiles.length - 1];
    profiles.push(profile);
    if (previous) {
      const gain = (profile.throughput - previous.throughput) / previous.throughput;
      if (gain < 0) {
        stopReason =
          `batch ${batchSize}: throughput rose ${(gain * 100).toFixed(1)}% over batch ` +
          `${previous.batchSize}, below the ${(config.throughputCutoffThreshold * 100).toFixed(1)}% cutoff`;
        break;
      }
    }
  }
  return { profiles, skipped: false, stopReason };
}

// %%
//| mutation batch-sweep percentiles read by index, sorted[floor(p · n)], not interpolated
interface BatchProfile {
  batchSize: number;
  requestCount: number;
  trials: number;
  latencyAvgMs: number;
  latencyStdMs: number;
  latencyP50Ms: number;
  latencyP90Ms: number;
  latencyP95Ms: number;
  latencyP99Ms: number;
  /** samples per second */
  throughput: number;
}

interface BatchSweepResult {
  profiles: BatchProfile[];
  skipped: boolean;
  /** Why the sweep ended before the last batch size, or null. */
  stopReason: string | null;
}

/** A model for the sweep: a function of the batch, or anything with `forward(batch)`. */
type BatchModel<B> = ((batch: B) => unknown) | { forward(batch: B): unknown };

function profileBatchSweep<B>(
  model: BatchModel<B>,
  makeBatch: (batchSize: number) => B,
  config: ProfilerConfig = new ProfilerConfig(),
  options: { clock?: Clock; warmup?: number } = {},
): BatchSweepResult {
  if (!config.runProfiling) return { profiles: [], skipped: true, stopReason: null };
  const clock = options.clock ?? hrtimeMs;
  const warmup = options.warmup ?? 3;
  const sizes = [...new Set(config.batchSizes ?? [1])].sort((a, b) => a - b);
  const profiles: BatchProfile[] = [];
  let stopReason: string | null = null;
  for (const batchSize of sizes) {
    const batch = makeBatch(batchSize);
    const request =
      typeof model === "function" ? () => model(batch) : () => model.forward(batch);
    for (let i = 0; i < warmup; i++) request();
    const measured = measureUntilStable(
      () => runMeasurementWindow(request, batchSize, config, clock),
      config,
    );
    const latencies = measured.stable.flatMap((w) => w.latenciesMs).sort((a, b) => a - b);
    const samples = measured.stable.reduce((s, w) => s + w.samples, 0);
    const durationMs = measured.stable.reduce((s, w) => s + w.durationMs, 0);
    const profile: BatchProfile = {
      batchSize,
      requestCount: measured.stable.reduce((s, w) => s + w.requests, 0),
      trials: measured.trials,
      latencyAvgMs: ss.mean(latencies),
      latencyStdMs: latencies.length > 1 ? ss.sampleStandardDeviation(latencies) : 0,
      latencyP50Ms: latencies[Math.floor(0.5 * latencies.length)],
      latencyP90Ms: latencies[Math.floor(0.9 * latencies.length)],
      latencyP95Ms: latencies[Math.floor(0.95 * latencies.length)],
      latencyP99Ms: latencies[Math.min(latencies.length - 1, Math.floor(0.99 * latencies.length))],
      throughput: durationMs > 0 ? samples / (durationMs / 1e3) : Number.POSITIVE_INFINITY,
    };
    const previous = profiles[profiles.length - 1];
    profiles.push(profile);
    if (previous) {
      const gain = (profile.throughput - previous.throughput) / previous.throughput;
      if (gain < config.throughputCutoffThreshold) {
        stopReason =
          `batch ${batchSize}: throughput rose ${(gain * 100).toFixed(1)}% over batch ` +
          `${previous.batchSize}, below the ${(config.throughputCutoffThreshold * 100).toFixed(1)}% cutoff`;
        break;
      }
    }
  }
  return { profiles, skipped: false, stopReason };
}

// %% [markdown]
// Let us sweep a small MLP for real. A window of 20 requests at batch size 1 lasts a fraction of a
// millisecond, so a single garbage-collector pause or a context switch decides its throughput; we
// use **time windows** of 100 ms instead, which average such events out. For the curve fit in the
// next part we want every batch size, so this sweep disables the cutoff (a negative threshold
// never stops); afterwards we check where the default 5 % cutoff *would* have stopped it.
//
// This notebook may run on a shared machine (a course server, a CI runner), so we accept windows
// within 20 % of each other instead of the default 10 %. Even so, a busy machine may never give
// three agreeing windows: then the profiler refuses to report a number, and the cell says so.
// That is the profiler working, not failing — rerun it when the machine is quieter.

// %%
const sweepModel = new Sequential([
  new Linear(32, 32, { seed: 7 }),
  new ReLU(),
  new Linear(32, 32, { seed: 8 }),
  new ReLU(),
  new Linear(32, 8, { seed: 9 }),
]);
const sweepConfig = ProfilerConfig.fromDict({
  batch_sizes: [1, 2, 4, 8, 16, 32, 64, 128, 256],
  measurement_mode: "time_windows",
  measurement_interval: 100,
  stability_percentage: 20,
  max_trials: 12,
  throughput_cutoff_threshold: -1,
});
console.log(sweepConfig.toDict());
// Filled by the demo below, read by the fit further down.
const sweepRun: { result?: BatchSweepResult } = {};

// %%
await demo("batch sweep", () => {
  const rng = new Rng(3);
  let sweep: BatchSweepResult;
  try {
    sweep = profileBatchSweep(sweepModel, (n) => Tensor.randn([n, 32], rng), sweepConfig);
    sweepRun.result = sweep;
  } catch (e) {
    if (!(e instanceof ProfilingError)) throw e;
    console.log(`No stable measurement on this machine right now: ${e.message}`);
    return;
  }
  for (const p of sweep.profiles) {
    console.log(
      `batch ${String(p.batchSize).padStart(4)}: ${p.throughput.toFixed(0).padStart(7)} samples/s, ` +
        `p50 ${p.latencyP50Ms.toFixed(3)} ms, p99 ${p.latencyP99Ms.toFixed(3)} ms ` +
        `(${p.requestCount} requests, ${p.trials} windows)`,
    );
  }
  const profiles = sweep.profiles;
  const defaultCutoff = new ProfilerConfig().throughputCutoffThreshold;
  const stop = profiles.findIndex(
    (p, i) => i > 0 && (p.throughput - profiles[i - 1].throughput) / profiles[i - 1].throughput < defaultCutoff,
  );
  console.log(
    stop < 0
      ? `with the default ${defaultCutoff * 100}% cutoff the sweep would have run to the end`
      : `with the default ${defaultCutoff * 100}% cutoff the sweep would have stopped at batch ${profiles[stop].batchSize}`,
  );
});

// %% [markdown]
// ## Part 5 — Models of performance
//
// Measurements answer "how fast is it at the points I measured?". A **model** answers the
// questions in between and beyond: what throughput at batch 48? how fast does latency grow at
// batch 200? what will the average token latency be across 64 replicas? The rest of this module
// builds such models (after the `mlenergy-data` modeling toolkit) and an analytical engine to
// reason with them. This code goes to the second package file, `tinytorch-ts/perf/modeling`.

// %%
//| export perf.modeling
import * as ss from "simple-statistics";
import normalLogpdf from "@stdlib/stats-base-dists-normal-logpdf";
import lognormalPdf from "@stdlib/stats-base-dists-lognormal-pdf";
import { create, all, type MathJsInstance, type Unit } from "mathjs";
import { existsSync, readdirSync, readFileSync, realpathSync, statSync } from "node:fs";
import { dirname, isAbsolute, join, relative, resolve } from "node:path";
import { Rng } from "tinytorch-ts/core/tensor";
import type { ChartSpec } from "tinytorch-ts/support/chart";

// %% [markdown]
// ### A logistic curve for batch sweeps
//
// Throughput against batch size has a familiar shape when the batch size is put on a log scale:
// flat at small batches (overhead dominates), a rise, and a plateau (the hardware is saturated).
// A four-parameter logistic in `x = log2(batch)` describes it:
//
// `y = b0 + L · σ(k · (x − x0))`, with `σ(z) = 1 / (1 + e^(−z))`
//
// - `b0` is the lower asymptote, `b0 + L` the upper one (so `L ≥ 0` is the amplitude);
// - `x0` is the midpoint (at batch `2^x0` the curve is half-way between them);
// - `k` is the steepness; its sign gives the direction (negative `k` falls, e.g. for a per-sample
//   latency).
//
// Because `σ(−z) = 1 − σ(z)`, the curve `(b0, L, k)` is the same as `(b0 + L, −L, −k)`: two
// parameter sets, one curve. A fit may land on either, so we always report the one with `L ≥ 0`.
// (mlenergy-data documents `b0` as "the lower asymptote" and `L` as "upper minus lower"; that is
// true only of this canonical form: with `L < 0`, `b0` is the *upper* asymptote.)
//
// Its slope is `dy/dx = L · k · σ(z) · (1 − σ(z))` — handy to ask where extra batching stops
// paying off. Computing `σ` naively overflows for large negative `z` (`e^(−z)` becomes `Infinity`,
// which still gives the right answer, 0, but `e^z/(1+e^z)` for large positive `z` gives
// `Infinity/Infinity = NaN`), so use the form that only ever exponentiates a non-positive number.

// %% [markdown]
// ### Step 7: `logisticEvalX` and `logisticDerivX`
//
// **TODO**: Implement the curve and its derivative with respect to `x`.
//
// The contract: `logisticEvalX(p, x)` is the curve above and `logisticDerivX(p, x)` its
// derivative with respect to `x`; both must stay finite for any finite `z`, however large.
//
// **APPROACH**:
// 1. Differentiate `b0 + L·σ(k(x − x0))` with respect to `x` yourself, using σ'(z) = σ(z)(1 − σ(z)).
// 2. Evaluate `1 / (1 + e^(−z))` and `e^z / (1 + e^z)` at z = ±800 on paper (or in a cell):
//    which form breaks on which side? Write one sigmoid that chooses the safe form by the
//    sign of z.
// 3. Check the derivative against a central difference `(f(x + h) − f(x − h)) / 2h`.
//
// **HINTS**: One small helper used by both functions keeps them consistent.

// %% nbgrader={"grade": false, "grade_id": "logistic-curve", "locked": false, "schema_version": 3, "solution": true, "task": false}
//| export perf.modeling
interface LogisticParams {
  /** Amplitude: upper asymptote minus lower asymptote. */
  L: number;
  /** Midpoint on the x axis (x = log2 batch). */
  x0: number;
  /** Steepness. */
  k: number;
  /** Lower asymptote (baseline). */
  b0: number;
}

function stableSigmoid(z: number): number {
  // ### BEGIN SOLUTION
  if (z >= 0) return 1 / (1 + Math.exp(-z));
  const e = Math.exp(z);
  return e / (1 + e);
  // ### END SOLUTION
}

function logisticEvalX(p: LogisticParams, x: number): number {
  // ### BEGIN SOLUTION
  return p.b0 + p.L * stableSigmoid(p.k * (x - p.x0));
  // ### END SOLUTION
}

function logisticDerivX(p: LogisticParams, x: number): number {
  // ### BEGIN SOLUTION
  const s = stableSigmoid(p.k * (x - p.x0));
  return p.L * p.k * s * (1 - s);
  // ### END SOLUTION
}

// %% nbgrader={"grade": true, "grade_id": "test-unit-logistic-curve", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
function testUnitLogisticCurve(): void {
  const p: LogisticParams = { L: 1000, x0: 4, k: 1.5, b0: 200 };
  assertClose(logisticEvalX(p, 4), 700, {}, "half-way at the midpoint");
  assertClose(logisticEvalX(p, 40), 1200, {}, "upper asymptote b0 + L");
  assertClose(logisticEvalX(p, -40), 200, {}, "lower asymptote b0");
  assertClose(logisticDerivX(p, 4), (1000 * 1.5) / 4, {}, "slope L·k/4 at the midpoint");
  // ### BEGIN HIDDEN TESTS
  const h = 1e-5;
  for (const x of [0, 2.5, 4.2, 7]) {
    const numeric = (logisticEvalX(p, x + h) - logisticEvalX(p, x - h)) / (2 * h);
    assertClose(logisticDerivX(p, x), numeric, { rtol: 1e-5, atol: 1e-6 }, `slope at ${x}`);
  }
  const steep: LogisticParams = { L: 1, x0: 0, k: 1000, b0: 0 };
  assertClose(logisticEvalX(steep, 5), 1, {}, "no NaN for very large z");
  assertClose(logisticEvalX(steep, -5), 0, {}, "no NaN for very negative z");
  assertClose(logisticDerivX(steep, 5), 0, {}, "slope is finite far from the midpoint");
  const falling: LogisticParams = { L: 10, x0: 1, k: -2, b0: 5 };
  assert(logisticEvalX(falling, 0) > logisticEvalX(falling, 3), "negative k falls");
  assert(logisticDerivX(falling, 1) < 0);
  assertClose(logisticEvalX({ L: 2, x0: 1, k: 1, b0: 0 }, 1 + Math.log(3)), 1.5, { rtol: 1e-9 }, "σ(ln 3) = 3/4");
  // Random curves (rising and falling, any scale) at random points, including far tails: value
  // and slope from the formula, evaluated here.
  const rc = testRandom("14/logistic-curve");
  const sigmoidOf = (z: number): number => (z >= 0 ? 1 / (1 + Math.exp(-z)) : Math.exp(z) / (1 + Math.exp(z)));
  for (let trial = 0; trial < 4; trial++) {
    const curve: LogisticParams = {
      L: 10 ** rc.uniform(-3, 4),
      x0: rc.uniform(-3, 10),
      k: (rc.bool() ? 1 : -1) * 10 ** rc.uniform(-1, 1.5),
      b0: rc.uniform(-100, 100),
    };
    for (const x of Array.from({ length: 4 }, () => curve.x0 + rc.uniform(-40, 40) / Math.abs(curve.k))) {
      assertClose(
        logisticEvalX(curve, x),
        curve.b0 + curve.L * sigmoidOf(curve.k * (x - curve.x0)),
        { rtol: 1e-9, atol: 1e-9 * (Math.abs(curve.b0) + curve.L) },
        "a random curve's value",
      );
      assertClose(
        logisticDerivX(curve, x),
        curve.L * curve.k * sigmoidOf(curve.k * (x - curve.x0)) * (1 - sigmoidOf(curve.k * (x - curve.x0))),
        { rtol: 1e-6, atol: 1e-9 * curve.L * Math.abs(curve.k) },
        "a random curve's slope",
      );
    }
  }
  // ### END HIDDEN TESTS
  passed("testUnitLogisticCurve");
}
testUnitLogisticCurve();

// %%
//| mutation logistic-curve the naive sigmoid e^z / (1 + e^z) for every z
interface LogisticParams {
  /** Amplitude: upper asymptote minus lower asymptote. */
  L: number;
  /** Midpoint on the x axis (x = log2 batch). */
  x0: number;
  /** Steepness. */
  k: number;
  /** Lower asymptote (baseline). */
  b0: number;
}

function stableSigmoid(z: number): number {
  const e = Math.exp(z);
  return e / (1 + e);
}

function logisticEvalX(p: LogisticParams, x: number): number {
  return p.b0 + p.L * stableSigmoid(p.k * (x - p.x0));
}

function logisticDerivX(p: LogisticParams, x: number): number {
  const s = stableSigmoid(p.k * (x - p.x0));
  return p.L * p.k * s * (1 - s);
}

// %%
//| mutation logistic-curve derivative without the inner factor k
interface LogisticParams {
  /** Amplitude: upper asymptote minus lower asymptote. */
  L: number;
  /** Midpoint on the x axis (x = log2 batch). */
  x0: number;
  /** Steepness. */
  k: number;
  /** Lower asymptote (baseline). */
  b0: number;
}

function stableSigmoid(z: number): number {
  if (z >= 0) return 1 / (1 + Math.exp(-z));
  const e = Math.exp(z);
  return e / (1 + e);
}

function logisticEvalX(p: LogisticParams, x: number): number {
  return p.b0 + p.L * stableSigmoid(p.k * (x - p.x0));
}

function logisticDerivX(p: LogisticParams, x: number): number {
  const s = stableSigmoid(p.k * (x - p.x0));
  return p.L * s * (1 - s);
}

// %% [markdown]
// ### Fitting the curve: a coarse grid, then least squares
//
// Fitting four parameters to a handful of points by plain least squares is fragile: start from a
// bad guess and Levenberg–Marquardt slides into a flat valley (say, a curve so steep it is a step)
// and stays there. A robust recipe:
//
// 1. **Coarse grid over the non-linear parameters** `(x0, k)`. For fixed `(x0, k)` the model is
//    *linear* in `b0` and `L` (`y = b0 + L·s` with `s = σ(k(x − x0))` known), so the best `b0`, `L`
//    come from an ordinary linear regression of `y` on `s` — no guessing needed. Keep the grid
//    point with the smallest squared error.
// 2. **Refine all four** from there with Levenberg–Marquardt. We use the maintained
//    `ml-levenberg-marquardt` package rather than writing our own solver.
//
// One practical detail: the solver stops when the squared error falls below a fixed tolerance.
// Latencies in seconds have tiny squared errors, throughputs in the thousands huge ones, so we fit
// on *standardised* data (`(y − mean) / std`) and convert `b0` and `L` back afterwards.

// %% nbgrader={"grade": false, "grade_id": "levenberg-marquardt-binding", "locked": true, "schema_version": 3, "solution": false, "task": false}
//| export perf.modeling
// ml-levenberg-marquardt ships only an ES module whose types are reachable through its
// package.json "exports" map, which the classic Node resolution used by tslab (and by this kit's
// CommonJS build) does not read. Node 20 can require() it, so we load it that way and declare the
// part of its API we use.
interface LevenbergMarquardtOptions {
  initialValues: number[];
  minValues?: number[];
  maxValues?: number[];
  damping?: number;
  maxIterations?: number;
  errorTolerance?: number;
  improvementThreshold?: number;
  jacobianFunction?: (params: number[]) => (x: number) => number[];
}
type LevenbergMarquardtFn = (
  data: { x: number[]; y: number[] },
  model: (params: number[]) => (x: number) => number,
  options: LevenbergMarquardtOptions,
) => { parameterValues: number[]; parameterError: number; iterations: number };

type LevenbergMarquardtModule = { levenbergMarquardt: LevenbergMarquardtFn };
// eslint-disable-next-line @typescript-eslint/no-require-imports
const lmPackage = require("ml-levenberg-marquardt") as LevenbergMarquardtModule;
const levenbergMarquardt = lmPackage.levenbergMarquardt;

// %% [markdown]
// ### Step 8: `fitLogistic`
//
// **TODO**: Implement `fitLogistic(x, y)` returning `LogisticParams`.
//
// The contract:
// - errors: different lengths (a message saying how many `x values` and `y values`), fewer
//   than `4 points`, values that are not `finite` numbers, `x` values all `equal`;
// - flat data (no spread in `y`) give `L = 0`, `b0` = their mean (and `x0`, `k` anything finite);
// - otherwise the best least-squares curve, reported in the canonical form `L ≥ 0`;
// - the fit must recover a noise-free curve whose midpoint lies inside the data to a part in a
//   thousand, whether it rises or falls, at the scale of thousands of samples per second or of
//   milliseconds; and a curve with 1 % noise on 30 points to within 5 %.
//
// **APPROACH**: Design the recipe of the lesson yourself; the choices are yours.
// 1. Standardising `y`: what does it do to `b0` and `L`, and how do you undo it at the end?
// 2. The grid over `(x0, k)`: how far beyond the data may the midpoint sensibly lie? What range
//    of steepness can the data distinguish, given their span (a `k` so large that the curve is a
//    step between two data points fits as well as any steeper one)? Include both signs.
// 3. For one grid point, the best `b0` and `L` are a linear regression of `y` on `s`: which
//    simple-statistics function gives them?
// 4. The refinement: give `levenbergMarquardt` the model, a starting point, bounds that keep the
//    midpoint and the steepness where the grid looked, and the Jacobian (derive it: the partial
//    derivatives of `b0 + L·σ(k(x − x0))` with respect to `L`, `x0`, `k`, `b0`). Read the
//    package's options and pick its damping, iteration limit and tolerance; check your choice
//    on the test cases. When may the refined parameters be worse than the grid's, and what do
//    you do then?
//
// **HINTS**: Reuse `logisticEvalX` and your stable sigmoid. The mirrored parameters of the
// lesson convert any fit to the canonical form.

// %% nbgrader={"grade": false, "grade_id": "fit-logistic", "locked": false, "schema_version": 3, "solution": true, "task": false}
//| export perf.modeling
function logisticSquaredError(p: LogisticParams, x: readonly number[], y: readonly number[]): number {
  let sse = 0;
  for (let i = 0; i < x.length; i++) sse += (logisticEvalX(p, x[i]) - y[i]) ** 2;
  return sse;
}

function fitLogistic(x: readonly number[], y: readonly number[]): LogisticParams {
  // ### BEGIN SOLUTION
  if (x.length !== y.length) throw new Error(`fitLogistic: ${x.length} x values but ${y.length} y values`);
  if (x.length < 4) throw new Error(`fitLogistic: need at least 4 points, got ${x.length}`);
  if (![...x, ...y].every(Number.isFinite)) throw new Error("fitLogistic: values must be finite numbers");
  const xMin = Math.min(...x);
  const xMax = Math.max(...x);
  const span = xMax - xMin;
  if (!(span > 0)) throw new Error("fitLogistic: x values are all equal");
  const mean = ss.mean([...y]);
  const sd = ss.standardDeviation([...y]);
  if (!(sd > 0)) return { L: 0, x0: ss.mean([...x]), k: 1, b0: mean };
  const ys = y.map((v) => (v - mean) / sd);

  let best: LogisticParams = { L: 0, x0: (xMin + xMax) / 2, k: 1, b0: 0 };
  let bestError = logisticSquaredError(best, x, ys);
  const magnitudes = [0.25, 0.5, 1, 2, 4, 8, 16].map((m) => (m * 4) / span);
  for (let i = 0; i < 25; i++) {
    const x0 = xMin - span / 4 + (i * (1.5 * span)) / 24;
    for (const magnitude of magnitudes) {
      for (const k of [magnitude, -magnitude]) {
        const s = x.map((xi) => stableSigmoid(k * (xi - x0)));
        if (Math.max(...s) - Math.min(...s) < 1e-9) continue;
        const line = ss.linearRegression(s.map((si, j) => [si, ys[j]]));
        const candidate = { L: line.m, x0, k, b0: line.b };
        const err = logisticSquaredError(candidate, x, ys);
        if (err < bestError) {
          best = candidate;
          bestError = err;
        }
      }
    }
  }

  const refined = levenbergMarquardt(
    { x: [...x], y: ys },
    ([L, x0, k, b0]) => (xi) => logisticEvalX({ L, x0, k, b0 }, xi),
    {
      initialValues: [best.L, best.x0, best.k, best.b0],
      // The midpoint stays within the grid's range and the steepness within twice its largest
      // value: when the data show only half of the curve, the other half is unidentifiable and
      // an unbounded solver walks off to absurd asymptotes that fit the points no better.
      minValues: [-Number.MAX_VALUE, xMin - span / 4, -2 * magnitudes[magnitudes.length - 1], -Number.MAX_VALUE],
      maxValues: [Number.MAX_VALUE, xMax + span / 4, 2 * magnitudes[magnitudes.length - 1], Number.MAX_VALUE],
      maxIterations: 200,
      errorTolerance: 1e-12,
      damping: 1e-2,
      jacobianFunction:
        ([L, x0, k]) =>
        (xi) => {
          const s = stableSigmoid(k * (xi - x0));
          const ds = s * (1 - s);
          return [s, -L * k * ds, L * (xi - x0) * ds, 1];
        },
    },
  );
  const [L, x0, k, b0] = refined.parameterValues;
  const candidate = { L, x0, k, b0 };
  const fitted =
    [L, x0, k, b0].every(Number.isFinite) && logisticSquaredError(candidate, x, ys) <= bestError
      ? candidate
      : best;
  const result = { L: fitted.L * sd, x0: fitted.x0, k: fitted.k, b0: fitted.b0 * sd + mean };
  return result.L >= 0 ? result : { L: -result.L, x0: result.x0, k: -result.k, b0: result.b0 + result.L };
  // ### END SOLUTION
}

// %% nbgrader={"grade": true, "grade_id": "test-unit-fit-logistic", "locked": true, "points": 4, "schema_version": 3, "solution": false, "task": false}
function testUnitFitLogistic(): void {
  const truth: LogisticParams = { L: 3000, x0: 4.5, k: 1.2, b0: 400 };
  const x = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10];
  const exact = fitLogistic(x, x.map((xi) => logisticEvalX(truth, xi)));
  assertClose([exact.L, exact.x0, exact.k, exact.b0], [truth.L, truth.x0, truth.k, truth.b0], { rtol: 1e-3 }, "noise-free data");
  assertThrows(() => fitLogistic([1, 2, 3], [1, 2, 3]), "4 points");
  // ### BEGIN HIDDEN TESTS
  const rng = new Rng(11);
  const xs: number[] = [];
  const ys: number[] = [];
  for (let i = 0; i < 30; i++) {
    const xi = (i * 10) / 29;
    xs.push(xi);
    ys.push(logisticEvalX(truth, xi) * (1 + 0.01 * rng.normal()));
  }
  const noisy = fitLogistic(xs, ys);
  assertClose([noisy.L, noisy.x0, noisy.k, noisy.b0], [truth.L, truth.x0, truth.k, truth.b0], { rtol: 0.05 }, "1% noise, 30 points");
  // A falling curve at a tiny scale (latency per sample in seconds) must fit just as well.
  const falling: LogisticParams = { L: 0.004, x0: 3, k: -0.9, b0: 0.001 };
  const f = fitLogistic(x, x.map((xi) => logisticEvalX(falling, xi)));
  assertClose([f.L, f.x0, f.k, f.b0], [falling.L, falling.x0, falling.k, falling.b0], { rtol: 1e-3, atol: 1e-9 }, "small-scale falling curve");
  // The mirrored parameters (b0 + L, −L, −k) draw the same curve; the fit reports L >= 0.
  const mirrored = fitLogistic(xs, xs.map((xi) => logisticEvalX({ L: -truth.L, x0: truth.x0, k: -truth.k, b0: truth.b0 + truth.L }, xi)));
  assertClose([mirrored.L, mirrored.k, mirrored.b0], [truth.L, truth.k, truth.b0], { rtol: 1e-3 }, "canonical form");
  const flat = fitLogistic([1, 2, 3, 4], [5, 5, 5, 5]);
  assertClose([flat.L, flat.b0], [0, 5]);
  assertThrows(() => fitLogistic([1, 2, 3, 4], [1, 2, 3]), "y values");
  assertThrows(() => fitLogistic([1, 2, 3, 4], [1, 2, Number.NaN, 4]), "finite");
  assertThrows(() => fitLogistic([2, 2, 2, 2], [1, 2, 3, 4]), "equal");
  // Random curves (amplitude, midpoint inside the data, steepness of either sign, baseline)
  // sampled without noise on random points: the fit recovers the curve and its parameters.
  const rl = testRandom("14/fit-logistic");
  for (let trial = 0; trial < 3; trial++) {
    const hidden: LogisticParams = {
      L: rl.uniform(50, 5000),
      x0: rl.uniform(3, 7),
      k: (rl.bool() ? 1 : -1) * rl.uniform(0.6, 2),
      b0: rl.uniform(-500, 1000),
    };
    const points = rl.int(11, 25);
    const xs = Array.from({ length: points }, (_, i) => (10 * i) / (points - 1) + rl.uniform(-0.1, 0.1));
    const fit = fitLogistic(xs, xs.map((x) => logisticEvalX(hidden, x)));
    assertClose([fit.L, fit.b0], [hidden.L, hidden.b0], { rtol: 2e-3, atol: 2e-3 * hidden.L }, "a random noise-free curve: amplitude and baseline");
    assertClose([fit.x0, fit.k], [hidden.x0, hidden.k], { rtol: 2e-3, atol: 2e-3 }, "a random noise-free curve: midpoint and steepness");
    const probes = Array.from({ length: 5 }, () => rl.uniform(0, 10));
    assertClose(
      probes.map((x) => logisticEvalX(fit, x)),
      probes.map((x) => hidden.b0 + hidden.L / (1 + Math.exp(-hidden.k * (x - hidden.x0)))),
      { rtol: 0, atol: 1e-3 * hidden.L },
      "a random noise-free curve: the fitted curve between the points",
    );
  }
  // ### END HIDDEN TESTS
  passed("testUnitFitLogistic");
}
testUnitFitLogistic();

// %%
//| mutation fit-logistic forgets to undo the standardisation of L and b0
function logisticSquaredError(p: LogisticParams, x: readonly number[], y: readonly number[]): number {
  let sse = 0;
  for (let i = 0; i < x.length; i++) sse += (logisticEvalX(p, x[i]) - y[i]) ** 2;
  return sse;
}

function fitLogistic(x: readonly number[], y: readonly number[]): LogisticParams {
  if (x.length !== y.length) throw new Error(`fitLogistic: ${x.length} x values but ${y.length} y values`);
  if (x.length < 4) throw new Error(`fitLogistic: need at least 4 points, got ${x.length}`);
  if (![...x, ...y].every(Number.isFinite)) throw new Error("fitLogistic: values must be finite numbers");
  const xMin = Math.min(...x);
  const xMax = Math.max(...x);
  const span = xMax - xMin;
  if (!(span > 0)) throw new Error("fitLogistic: x values are all equal");
  const mean = ss.mean([...y]);
  const sd = ss.standardDeviation([...y]);
  if (!(sd > 0)) return { L: 0, x0: ss.mean([...x]), k: 1, b0: mean };
  const ys = y.map((v) => (v - mean) / sd);

  let best: LogisticParams = { L: 0, x0: (xMin + xMax) / 2, k: 1, b0: 0 };
  let bestError = logisticSquaredError(best, x, ys);
  const magnitudes = [0.25, 0.5, 1, 2, 4, 8, 16].map((m) => (m * 4) / span);
  for (let i = 0; i < 25; i++) {
    const x0 = xMin - span / 4 + (i * (1.5 * span)) / 24;
    for (const magnitude of magnitudes) {
      for (const k of [magnitude, -magnitude]) {
        const s = x.map((xi) => stableSigmoid(k * (xi - x0)));
        if (Math.max(...s) - Math.min(...s) < 1e-9) continue;
        const line = ss.linearRegression(s.map((si, j) => [si, ys[j]]));
        const candidate = { L: line.m, x0, k, b0: line.b };
        const err = logisticSquaredError(candidate, x, ys);
        if (err < bestError) {
          best = candidate;
          bestError = err;
        }
      }
    }
  }

  const refined = levenbergMarquardt(
    { x: [...x], y: ys },
    ([L, x0, k, b0]) => (xi) => logisticEvalX({ L, x0, k, b0 }, xi),
    {
      initialValues: [best.L, best.x0, best.k, best.b0],
      // The midpoint stays within the grid's range and the steepness within twice its largest
      // value: when the data show only half of the curve, the other half is unidentifiable and
      // an unbounded solver walks off to absurd asymptotes that fit the points no better.
      minValues: [-Number.MAX_VALUE, xMin - span / 4, -2 * magnitudes[magnitudes.length - 1], -Number.MAX_VALUE],
      maxValues: [Number.MAX_VALUE, xMax + span / 4, 2 * magnitudes[magnitudes.length - 1], Number.MAX_VALUE],
      maxIterations: 200,
      errorTolerance: 1e-12,
      damping: 1e-2,
      jacobianFunction:
        ([L, x0, k]) =>
        (xi) => {
          const s = stableSigmoid(k * (xi - x0));
          const ds = s * (1 - s);
          return [s, -L * k * ds, L * (xi - x0) * ds, 1];
        },
    },
  );
  const [L, x0, k, b0] = refined.parameterValues;
  const candidate = { L, x0, k, b0 };
  const fitted =
    [L, x0, k, b0].every(Number.isFinite) && logisticSquaredError(candidate, x, ys) <= bestError
      ? candidate
      : best;
  const result = { L: fitted.L, x0: fitted.x0, k: fitted.k, b0: fitted.b0 };
  return result.L >= 0 ? result : { L: -result.L, x0: result.x0, k: -result.k, b0: result.b0 + result.L };
}

// %%
//| mutation fit-logistic reports the fit as found, without the canonical form L ≥ 0
function logisticSquaredError(p: LogisticParams, x: readonly number[], y: readonly number[]): number {
  let sse = 0;
  for (let i = 0; i < x.length; i++) sse += (logisticEvalX(p, x[i]) - y[i]) ** 2;
  return sse;
}

function fitLogistic(x: readonly number[], y: readonly number[]): LogisticParams {
  if (x.length !== y.length) throw new Error(`fitLogistic: ${x.length} x values but ${y.length} y values`);
  if (x.length < 4) throw new Error(`fitLogistic: need at least 4 points, got ${x.length}`);
  if (![...x, ...y].every(Number.isFinite)) throw new Error("fitLogistic: values must be finite numbers");
  const xMin = Math.min(...x);
  const xMax = Math.max(...x);
  const span = xMax - xMin;
  if (!(span > 0)) throw new Error("fitLogistic: x values are all equal");
  const mean = ss.mean([...y]);
  const sd = ss.standardDeviation([...y]);
  if (!(sd > 0)) return { L: 0, x0: ss.mean([...x]), k: 1, b0: mean };
  const ys = y.map((v) => (v - mean) / sd);

  let best: LogisticParams = { L: 0, x0: (xMin + xMax) / 2, k: 1, b0: 0 };
  let bestError = logisticSquaredError(best, x, ys);
  const magnitudes = [0.25, 0.5, 1, 2, 4, 8, 16].map((m) => (m * 4) / span);
  for (let i = 0; i < 25; i++) {
    const x0 = xMin - span / 4 + (i * (1.5 * span)) / 24;
    for (const magnitude of magnitudes) {
      for (const k of [magnitude, -magnitude]) {
        const s = x.map((xi) => stableSigmoid(k * (xi - x0)));
        if (Math.max(...s) - Math.min(...s) < 1e-9) continue;
        const line = ss.linearRegression(s.map((si, j) => [si, ys[j]]));
        const candidate = { L: line.m, x0, k, b0: line.b };
        const err = logisticSquaredError(candidate, x, ys);
        if (err < bestError) {
          best = candidate;
          bestError = err;
        }
      }
    }
  }

  const refined = levenbergMarquardt(
    { x: [...x], y: ys },
    ([L, x0, k, b0]) => (xi) => logisticEvalX({ L, x0, k, b0 }, xi),
    {
      initialValues: [best.L, best.x0, best.k, best.b0],
      // The midpoint stays within the grid's range and the steepness within twice its largest
      // value: when the data show only half of the curve, the other half is unidentifiable and
      // an unbounded solver walks off to absurd asymptotes that fit the points no better.
      minValues: [-Number.MAX_VALUE, xMin - span / 4, -2 * magnitudes[magnitudes.length - 1], -Number.MAX_VALUE],
      maxValues: [Number.MAX_VALUE, xMax + span / 4, 2 * magnitudes[magnitudes.length - 1], Number.MAX_VALUE],
      maxIterations: 200,
      errorTolerance: 1e-12,
      damping: 1e-2,
      jacobianFunction:
        ([L, x0, k]) =>
        (xi) => {
          const s = stableSigmoid(k * (xi - x0));
          const ds = s * (1 - s);
          return [s, -L * k * ds, L * (xi - x0) * ds, 1];
        },
    },
  );
  const [L, x0, k, b0] = refined.parameterValues;
  const candidate = { L, x0, k, b0 };
  const fitted =
    [L, x0, k, b0].every(Number.isFinite) && logisticSquaredError(candidate, x, ys) <= bestError
      ? candidate
      : best;
  const result = { L: fitted.L * sd, x0: fitted.x0, k: fitted.k, b0: fitted.b0 * sd + mean };
  return result;
}

// %% [markdown]
// `LogisticModel` wraps the parameters with the methods the rest of the kit uses: `evalX` at a
// continuous `x`, `derivWrtX`, `eval(batch)` at a batch size (converted to `log2`), `fit`, and
// `toDict`/`fromDict` so fitted curves can be saved with results.

// %% nbgrader={"grade": false, "grade_id": "logistic-model", "locked": true, "schema_version": 3, "solution": false, "task": false}
//| export perf.modeling
/** Reads a finite number from a dict-like value (numbers, or numeric strings as found in CSVs). */
function readNumber(dict: Record<string, unknown> | Map<string, unknown>, keys: string[], what: string): number {
  for (const key of keys) {
    const raw = dict instanceof Map ? dict.get(key) : dict[key];
    if (raw === undefined || raw === null) continue;
    const value = typeof raw === "string" && raw.trim() !== "" ? Number(raw) : raw;
    if (typeof value !== "number" || !Number.isFinite(value)) {
      throw new Error(`${what}: '${key}' must be a finite number, got ${JSON.stringify(raw)}`);
    }
    return value;
  }
  throw new Error(`${what}: missing '${keys[0]}'`);
}

class LogisticModel implements LogisticParams {
  constructor(
    readonly L: number,
    readonly x0: number,
    readonly k: number,
    readonly b0: number,
  ) {}

  /** y at a continuous x (typically log2 of the batch size). */
  evalX(x: number): number {
    return logisticEvalX(this, x);
  }

  /** dy/dx at a continuous x. */
  derivWrtX(x: number): number {
    return logisticDerivX(this, x);
  }

  /** y at a batch size (x = log2 batch). */
  eval(batch: number): number {
    if (!(batch > 0)) throw new Error(`LogisticModel.eval: batch must be positive, got ${batch}`);
    return this.evalX(Math.log2(batch));
  }

  /** Coarse grid search + Levenberg–Marquardt least squares (see `fitLogistic`). */
  static fit(x: readonly number[], y: readonly number[]): LogisticModel {
    const p = fitLogistic(x, y);
    return new LogisticModel(p.L, p.x0, p.k, p.b0);
  }

  /** Convenience: fit against batch sizes rather than log2 values. */
  static fitBatches(batchSizes: readonly number[], y: readonly number[]): LogisticModel {
    return LogisticModel.fit(batchSizes.map((b) => Math.log2(b)), y);
  }

  toDict(): { L: number; x0: number; k: number; b0: number } {
    return { L: this.L, x0: this.x0, k: this.k, b0: this.b0 };
  }

  static fromDict(dict: Record<string, unknown> | Map<string, unknown>): LogisticModel {
    const what = "LogisticModel.fromDict";
    return new LogisticModel(
      readNumber(dict, ["L"], what),
      readNumber(dict, ["x0"], what),
      readNumber(dict, ["k"], what),
      readNumber(dict, ["b0"], what),
    );
  }
}

// %% [markdown]
// With a model of the sweep we can read off what the raw points only hint at: the throughput
// ceiling `b0 + L`, the batch size at the midpoint `2^x0`, and where the slope per doubling of
// the batch falls below, say, 5 % of the ceiling — a reasoned choice of batch size.

// %% nbgrader={"grade": false, "grade_id": "sweep-chart", "locked": true, "schema_version": 3, "solution": false, "task": false}
//| export perf.modeling
/** Measured points of a batch sweep, with an optional fitted logistic drawn through them. */
function batchSweepChartSpec(
  points: readonly { batchSize: number; value: number }[],
  curve: LogisticModel | null,
  options: { title?: string; yTitle?: string } = {},
): ChartSpec {
  const x = { field: "batchSize", type: "quantitative", scale: { type: "log", base: 2 }, title: "batch size" };
  const y = { field: "value", type: "quantitative", title: options.yTitle ?? "throughput (samples/s)" };
  const layers: Record<string, unknown>[] = [
    {
      data: { values: points.map((p) => ({ batchSize: p.batchSize, value: p.value, series: "measured" })) },
      mark: { type: "point", filled: true, size: 70 },
      encoding: { x, y, color: { field: "series", type: "nominal", title: null } },
    },
  ];
  if (curve && points.length > 0) {
    const lo = Math.log2(Math.min(...points.map((p) => p.batchSize)));
    const hi = Math.log2(Math.max(...points.map((p) => p.batchSize)));
    const values = [];
    for (let i = 0; i <= 80; i++) {
      const xv = lo + ((hi - lo) * i) / 80;
      values.push({ batchSize: 2 ** xv, value: curve.evalX(xv), series: "logistic fit" });
    }
    layers.push({
      data: { values },
      mark: { type: "line" },
      encoding: { x, y, color: { field: "series", type: "nominal", title: null } },
    });
  }
  return { title: options.title ?? "Batch sweep", width: 520, height: 300, layer: layers };
}

// %%
await demo("fitting the sweep", async () => {
  const sweep = sweepRun.result;
  if (!sweep) {
    console.log("(no batch sweep to fit: see the sweep cell above)");
    return;
  }
  const batches = sweep.profiles.map((p) => p.batchSize);
  if (batches.length < 4) {
    console.log(`only ${batches.length} batch sizes were measured; a 4-parameter fit needs 4`);
    return;
  }
  const throughputModel = LogisticModel.fitBatches(batches, sweep.profiles.map((p) => p.throughput));
  console.log("throughput model:", throughputModel.toDict());
  const small = throughputModel.k > 0 ? throughputModel.b0 : throughputModel.b0 + throughputModel.L;
  const large = throughputModel.k > 0 ? throughputModel.b0 + throughputModel.L : throughputModel.b0;
  const logs = batches.map((b) => Math.log2(b));
  if (throughputModel.x0 >= Math.min(...logs) && throughputModel.x0 <= Math.max(...logs)) {
    console.log(
      `throughput goes from ≈ ${small.toFixed(0)} (small batches) to ≈ ${large.toFixed(0)} samples/s ` +
        `(large batches), half-way at batch ≈ ${(2 ** throughputModel.x0).toFixed(1)}`,
    );
  } else {
    // Only part of the S is in the data: the asymptote on the far side is an extrapolation.
    console.log(
      `the midpoint (batch ≈ ${(2 ** throughputModel.x0).toFixed(2)}) lies outside the sweep: the data ` +
        `show only part of the curve, so its asymptotes (${small.toFixed(0)} and ${large.toFixed(0)}) are extrapolations`,
    );
  }
  for (const b of [3, 48, 96]) console.log(`predicted at batch ${b}: ${throughputModel.eval(b).toFixed(0)} samples/s`);
  // R² says how much of the variation between batch sizes the curve explains. A low value means
  // the sweep is not logistic (on a busy machine, or when large batches spill out of the caches
  // and throughput falls again): look at the chart before trusting a prediction.
  const measured = sweep.profiles.map((p) => p.throughput);
  const mean = ss.mean(measured);
  const residual = sweep.profiles.reduce((s, p) => s + (p.throughput - throughputModel.eval(p.batchSize)) ** 2, 0);
  const total = measured.reduce((s, v) => s + (v - mean) ** 2, 0);
  console.log(`R² of the fit: ${(1 - residual / total).toFixed(3)}`);
  await showChart(
    batchSweepChartSpec(
      sweep.profiles.map((p) => ({ batchSize: p.batchSize, value: p.throughput })),
      throughputModel,
      { title: "Batch sweep of a small MLP, with a fitted logistic" },
    ),
  );
});

// %% [markdown]
// ### Inter-token latency: a mixture with stalls
//
// A language-model server produces tokens one step at a time; the **inter-token latency** (ITL) is
// the gap between consecutive tokens of a stream. Most steps are routine ("steady"), but now and
// then a step also does extra work — another request's prompt is processed, memory is
// reorganised, the garbage collector runs — and every stream in the batch waits ("stall"). The
// histogram of ITLs is therefore **bimodal and skewed**, and no single mean-and-standard-deviation
// describes it.
//
// The `mlenergy-data` toolkit models it as two **log-normal** components sharing one offset:
//
// `ITL = loc + scale_c · exp(σ_c · Z)`, `Z ~ N(0, 1)`, where component `c` is *steady* with
// probability `π_steady` and *stall* with probability `π_stall`.
//
// `loc` is the floor no step can beat; `scale_c` is the component's median above that floor;
// `σ_c` its spread on a log scale. Its moments are known in closed form. For one log-normal
// component `W = scale · e^(σZ)`:
//
// `E[W] = scale · e^(σ²/2)`, `E[W²] = scale² · e^(2σ²)`.
//
// For the mixture (weights normalised to sum to 1), with `loc` shifting the mean but not the spread:
//
// `mean = loc + Σ π_c E[W_c]`, `variance = Σ π_c E[W_c²] − (Σ π_c E[W_c])²`.

// %% nbgrader={"grade": false, "grade_id": "itl-params", "locked": true, "schema_version": 3, "solution": false, "task": false}
//| export perf.modeling
interface ItlMixtureParams {
  /** Offset shared by both components (seconds). */
  loc: number;
  piSteady: number;
  sigmaSteady: number;
  /** Median of the steady component above `loc` (seconds). */
  scaleSteady: number;
  piStall: number;
  sigmaStall: number;
  scaleStall: number;
}

/** Any seeded generator with uniform `next()` in [0, 1) and standard-normal `normal()` (e.g. Rng). */
interface RandomSource {
  next(): number;
  normal(): number;
}

// %% [markdown]
// ### Step 9: `itlMeanVar`
//
// **TODO**: Implement `itlMeanVar(p)` returning `[mean, variance]` of the mixture, analytically.
//
// The contract: the weights are normalised to sum to 1; a negative weight or two zero weights
// throw an `Error`; the result is `[mean, variance]` from the closed forms above, with the
// variance never negative.
//
// **APPROACH**:
// 1. Derive `E[W]` and `E[W²]` of one component from the moment generating function of a
//    normal, `E[e^(tZ)] = e^(t²/2)` (which `t` gives each?).
// 2. For a mixture, which moments add up with the weights, and how does the variance follow?
//    Why does `loc` appear in the mean but not in the variance?
// 3. Check yourself on a degenerate mixture: both components equal, or σ = 0.
//
// **HINTS**: A variance computed as a difference of two close numbers can come out as
// `-1e-20`.

// %% nbgrader={"grade": false, "grade_id": "itl-mean-var", "locked": false, "schema_version": 3, "solution": true, "task": false}
//| export perf.modeling
function itlMeanVar(p: ItlMixtureParams): [number, number] {
  // ### BEGIN SOLUTION
  if (p.piSteady < 0 || p.piStall < 0 || !(p.piSteady + p.piStall > 0)) {
    throw new Error(`itlMeanVar: weights must be >= 0 and not both 0 (got ${p.piSteady}, ${p.piStall})`);
  }
  const total = p.piSteady + p.piStall;
  const components = [
    { w: p.piSteady / total, sigma: p.sigmaSteady, scale: p.scaleSteady },
    { w: p.piStall / total, sigma: p.sigmaStall, scale: p.scaleStall },
  ];
  let m1 = 0;
  let m2 = 0;
  for (const c of components) {
    m1 += c.w * c.scale * Math.exp((c.sigma * c.sigma) / 2);
    m2 += c.w * c.scale * c.scale * Math.exp(2 * c.sigma * c.sigma);
  }
  return [p.loc + m1, Math.max(0, m2 - m1 * m1)];
  // ### END SOLUTION
}

// %% nbgrader={"grade": true, "grade_id": "test-unit-itl-mean-var", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
function testUnitItlMeanVar(): void {
  // One component only (π_stall = 0): the log-normal's textbook moments plus the offset.
  const single: ItlMixtureParams = { loc: 0.5, piSteady: 1, sigmaSteady: 0.5, scaleSteady: 2, piStall: 0, sigmaStall: 1, scaleStall: 9 };
  const [m, v] = itlMeanVar(single);
  assertClose(m, 0.5 + 2 * Math.exp(0.125), { rtol: 1e-12 });
  assertClose(v, 4 * (Math.exp(0.25) - 1) * Math.exp(0.25), { rtol: 1e-12 });
  // ### BEGIN HIDDEN TESTS
  // Two point masses (σ = 0) at 1 and 3 with weights 3:1 -> mean 1.5, variance 0.75.
  const twoPoints: ItlMixtureParams = { loc: 0, piSteady: 3, sigmaSteady: 0, scaleSteady: 1, piStall: 1, sigmaStall: 0, scaleStall: 3 };
  assertClose(itlMeanVar(twoPoints), [1.5, 0.75], { rtol: 1e-12 }, "weights are normalised");
  const shifted = itlMeanVar({ ...twoPoints, loc: 10 });
  assertClose(shifted, [11.5, 0.75], { rtol: 1e-12 }, "loc shifts the mean only");
  const mixed: ItlMixtureParams = { loc: 0.01, piSteady: 0.9, sigmaSteady: 0.3, scaleSteady: 0.02, piStall: 0.1, sigmaStall: 0.7, scaleStall: 0.2 };
  const e1 = 0.9 * 0.02 * Math.exp(0.045) + 0.1 * 0.2 * Math.exp(0.245);
  const e2 = 0.9 * 0.0004 * Math.exp(0.18) + 0.1 * 0.04 * Math.exp(0.98);
  assertClose(itlMeanVar(mixed), [0.01 + e1, e2 - e1 * e1], { rtol: 1e-10 });
  assertThrows(() => itlMeanVar({ ...mixed, piSteady: 0, piStall: 0 }), "weights");
  assertThrows(() => itlMeanVar({ ...mixed, piSteady: -0.1 }), "weights");
  // Random mixtures (unnormalised weights, any offset): mean and variance from the closed form,
  // evaluated here.
  const ri = testRandom("14/itl-mean-var");
  for (let trial = 0; trial < 5; trial++) {
    const mix: ItlMixtureParams = {
      loc: ri.uniform(0, 0.05),
      piSteady: ri.uniform(0.01, 5),
      sigmaSteady: ri.uniform(0, 1),
      scaleSteady: ri.uniform(0.001, 0.05),
      piStall: ri.bool(0.2) ? 0 : ri.uniform(0.01, 5),
      sigmaStall: ri.uniform(0, 1.2),
      scaleStall: ri.uniform(0.02, 0.5),
    };
    const steadyShare = mix.piSteady / (mix.piSteady + mix.piStall);
    const firstMoment = steadyShare * mix.scaleSteady * Math.exp(mix.sigmaSteady ** 2 / 2) + (1 - steadyShare) * mix.scaleStall * Math.exp(mix.sigmaStall ** 2 / 2);
    const secondMoment = steadyShare * mix.scaleSteady ** 2 * Math.exp(2 * mix.sigmaSteady ** 2) + (1 - steadyShare) * mix.scaleStall ** 2 * Math.exp(2 * mix.sigmaStall ** 2);
    assertClose(itlMeanVar(mix), [mix.loc + firstMoment, Math.max(0, secondMoment - firstMoment * firstMoment)], { rtol: 1e-9, atol: 1e-15 }, "a random mixture's mean and variance");
  }
  // ### END HIDDEN TESTS
  passed("testUnitItlMeanVar");
}
testUnitItlMeanVar();

// %%
//| mutation itl-mean-var the mixture's variance as the weighted sum of the components' variances (forgets the spread between their means)
function itlMeanVar(p: ItlMixtureParams): [number, number] {
  if (p.piSteady < 0 || p.piStall < 0 || !(p.piSteady + p.piStall > 0)) {
    throw new Error(`itlMeanVar: weights must be >= 0 and not both 0 (got ${p.piSteady}, ${p.piStall})`);
  }
  const total = p.piSteady + p.piStall;
  const components = [
    { w: p.piSteady / total, sigma: p.sigmaSteady, scale: p.scaleSteady },
    { w: p.piStall / total, sigma: p.sigmaStall, scale: p.scaleStall },
  ];
  let m1 = 0;
  let m2 = 0;
  for (const c of components) {
    m1 += c.w * c.scale * Math.exp((c.sigma * c.sigma) / 2);
    m2 += c.w * c.scale * c.scale * Math.exp(2 * c.sigma * c.sigma);
  }
  let within = 0;
  for (const c of components) within += c.w * (c.scale * c.scale * Math.exp(2 * c.sigma * c.sigma) - (c.scale * Math.exp((c.sigma * c.sigma) / 2)) ** 2);
  return [p.loc + m1, Math.max(0, within + 0 * m2)];
}

// %%
//| mutation itl-mean-var E[W²] as scale² · e^(σ²) instead of e^(2σ²)
function itlMeanVar(p: ItlMixtureParams): [number, number] {
  if (p.piSteady < 0 || p.piStall < 0 || !(p.piSteady + p.piStall > 0)) {
    throw new Error(`itlMeanVar: weights must be >= 0 and not both 0 (got ${p.piSteady}, ${p.piStall})`);
  }
  const total = p.piSteady + p.piStall;
  const components = [
    { w: p.piSteady / total, sigma: p.sigmaSteady, scale: p.scaleSteady },
    { w: p.piStall / total, sigma: p.sigmaStall, scale: p.scaleStall },
  ];
  let m1 = 0;
  let m2 = 0;
  for (const c of components) {
    m1 += c.w * c.scale * Math.exp((c.sigma * c.sigma) / 2);
    m2 += c.w * c.scale * c.scale * Math.exp(c.sigma * c.sigma);
  }
  return [p.loc + m1, Math.max(0, m2 - m1 * m1)];
}

// %% [markdown]
// ### Fitting the mixture: EM on the shifted logs
//
// If we knew `loc`, then `y = log(ITL − loc)` would be a mixture of two **Gaussians** (a log-normal
// is a Gaussian on the log scale), and Gaussian mixtures are fitted by **expectation–
// maximisation** (EM), which alternates two easy steps until the likelihood stops improving:
//
// - **E-step**: for every point, the *responsibility* of each component — the posterior
//   probability that the point came from it: `r_ic ∝ w_c · N(y_i; μ_c, σ_c)`.
// - **M-step**: re-estimate each component from the points, weighted by responsibility:
//   `w_c = mean_i r_ic`, `μ_c = Σ r_ic y_i / Σ r_ic`, `σ_c² = Σ r_ic (y_i − μ_c)² / Σ r_ic`.
//
// Two numerical cautions. Densities of far-away points underflow to 0, so compute in **log space**
// (`@stdlib`'s `normal-logpdf`) and normalise with the log-sum-exp trick. And a component can
// collapse onto a single point (σ → 0, likelihood → ∞), so put a small floor under σ.
//
// We do not know `loc`. The original toolkit fixes it; we estimate it too, by **profile
// likelihood**: for each candidate `loc` below the smallest sample, run EM on the logs and score
// the fit by the likelihood of the *original* data (the log-likelihood of the logs minus `Σ y_i`,
// the Jacobian of the log transform); keep the best `loc`. That search is provided below; the EM
// at its heart is your exercise.

// %% [markdown]
// ### Step 10: `emTwoGaussians`
//
// **TODO**: Implement EM for a two-component Gaussian mixture on the values `y`.
//
// The contract:
// - at least 4 finite values, or an `Error`;
// - a floor under every σ of `max(1e-3 · sd, 1e-12)`, `sd` the values' (population) standard
//   deviation;
// - the start: `options.init` when given, else means at the 25 % and 90 % quantiles, both σ
//   `max(sd / 2, floor)`, weights `[0.7, 0.3]`;
// - iterations of the E-step and M-step of the lesson, at most `maxIterations` (default 500),
//   stopping when the log-likelihood improves by less than `tolerance · (1 + |LL|)` (default
//   `1e-8`);
// - the result: components ordered by mean (smaller first), the final log-likelihood and the
//   number of iterations.
//
// **APPROACH**:
// 1. Write the E-step's responsibility of component c for one point in log space: what do you
//    subtract so that the two responsibilities sum to 1 without ever computing a density that
//    underflows? That same quantity, summed over the points, is the log-likelihood.
// 2. The M-step's three formulas weight every point by its responsibility. What should happen
//    when a component's total responsibility is (almost) zero?
// 3. Why does the log-likelihood never decrease from one iteration to the next, and what does
//    it mean if yours does?
//
// **HINTS**: `normalLogpdf.factory(μ, σ)` returns a function of `y` alone, faster in an inner
// loop.

// %% nbgrader={"grade": false, "grade_id": "itl-em", "locked": false, "schema_version": 3, "solution": true, "task": false}
//| export perf.modeling
interface TwoGaussians {
  weights: [number, number];
  means: [number, number];
  sigmas: [number, number];
}

interface TwoGaussianFit extends TwoGaussians {
  logLikelihood: number;
  iterations: number;
}

function emTwoGaussians(
  y: readonly number[],
  options: { init?: TwoGaussians; maxIterations?: number; tolerance?: number } = {},
): TwoGaussianFit {
  // ### BEGIN SOLUTION
  const n = y.length;
  if (n < 4 || !y.every(Number.isFinite)) {
    throw new Error(`emTwoGaussians: need at least 4 finite values, got ${n}`);
  }
  const maxIterations = options.maxIterations ?? 500;
  const tolerance = options.tolerance ?? 1e-8;
  const sd = ss.standardDeviation([...y]);
  const floor = Math.max(1e-3 * sd, 1e-12);
  const sorted = [...y].sort((a, b) => a - b);
  const w = options.init ? [...options.init.weights] : [0.7, 0.3];
  const mu = options.init
    ? [...options.init.means]
    : [ss.quantileSorted(sorted, 0.25), ss.quantileSorted(sorted, 0.9)];
  const sigma = options.init
    ? options.init.sigmas.map((s) => Math.max(s, floor))
    : [Math.max(sd / 2, floor), Math.max(sd / 2, floor)];
  let previous = Number.NEGATIVE_INFINITY;
  let logLikelihood = Number.NEGATIVE_INFINITY;
  let iterations = 0;
  while (iterations < maxIterations) {
    iterations++;
    // E-step: responsibilities of component 0, in log space. (The library's factory gives a
    // log-density specialised to one component, which is faster than passing μ and σ each time.)
    const logW0 = Math.log(w[0]);
    const logW1 = Math.log(w[1]);
    const logpdf0 = normalLogpdf.factory(mu[0], sigma[0]);
    const logpdf1 = normalLogpdf.factory(mu[1], sigma[1]);
    logLikelihood = 0;
    // The M-step's sums are gathered in the same pass: counts, Σ r·y and Σ r·y² per component.
    let n0 = 0;
    let s0 = 0;
    let q0 = 0;
    let s1 = 0;
    let q1 = 0;
    for (let i = 0; i < n; i++) {
      const yi = y[i];
      const l0 = logW0 + logpdf0(yi);
      const l1 = logW1 + logpdf1(yi);
      // log(e^l0 + e^l1) without overflow: the larger term plus log1p of the ratio.
      const lse = l0 > l1 ? l0 + Math.log1p(Math.exp(l1 - l0)) : l1 + Math.log1p(Math.exp(l0 - l1));
      const r = Math.exp(l0 - lse);
      logLikelihood += lse;
      n0 += r;
      s0 += r * yi;
      q0 += r * yi * yi;
      s1 += (1 - r) * yi;
      q1 += (1 - r) * yi * yi;
    }
    // M-step: weights, means, and variances as E[y²] − μ² (clamped at the floor).
    const counts = [n0, n - n0];
    const sums = [s0, s1];
    const squares = [q0, q1];
    for (let c = 0; c < 2; c++) {
      w[c] = counts[c] / n;
      if (counts[c] < 1e-9) continue;
      mu[c] = sums[c] / counts[c];
      const variance = squares[c] / counts[c] - mu[c] * mu[c];
      sigma[c] = Math.max(Math.sqrt(Math.max(variance, 0)), floor);
    }
    if (Math.abs(logLikelihood - previous) <= tolerance * (1 + Math.abs(logLikelihood))) break;
    previous = logLikelihood;
  }
  const order = mu[0] <= mu[1] ? [0, 1] : [1, 0];
  return {
    weights: [w[order[0]], w[order[1]]],
    means: [mu[order[0]], mu[order[1]]],
    sigmas: [sigma[order[0]], sigma[order[1]]],
    logLikelihood,
    iterations,
  };
  // ### END SOLUTION
}

// %% nbgrader={"grade": true, "grade_id": "test-unit-itl-em", "locked": true, "points": 4, "schema_version": 3, "solution": false, "task": false}
function testUnitItlEm(): void {
  const rng = new Rng(5);
  const y: number[] = [];
  for (let i = 0; i < 4000; i++) y.push(rng.next() < 0.8 ? -4 + 0.2 * rng.normal() : -2 + 0.5 * rng.normal());
  const fit = emTwoGaussians(y);
  assertClose(fit.weights, [0.8, 0.2], { rtol: 0.1 }, "weights");
  assertClose(fit.means, [-4, -2], { rtol: 0.05 }, "means, smaller first");
  assertClose(fit.sigmas, [0.2, 0.5], { rtol: 0.1 }, "sigmas");
  assertThrows(() => emTwoGaussians([1, 2, 3]), "at least 4");
  // ### BEGIN HIDDEN TESTS
  assertClose(fit.weights[0] + fit.weights[1], 1, { rtol: 1e-9 }, "weights sum to 1");
  assert(fit.iterations > 1 && fit.iterations < 500, `EM should converge, took ${fit.iterations}`);
  // Reversed initialisation must still report the smaller mean first.
  const reversed = emTwoGaussians(y, { init: { weights: [0.5, 0.5], means: [-1, -5], sigmas: [1, 1] } });
  assertClose(reversed.means, [-4, -2], { rtol: 0.05 }, "ordered by mean");
  // The log-likelihood is the mixture's: compare with a direct computation at the fitted values.
  let ll = 0;
  for (const v of y) {
    let p = 0;
    for (let c = 0; c < 2; c++) {
      const z = (v - fit.means[c]) / fit.sigmas[c];
      p += (fit.weights[c] * Math.exp(-0.5 * z * z)) / (fit.sigmas[c] * Math.sqrt(2 * Math.PI));
    }
    ll += Math.log(p);
  }
  assertClose(fit.logLikelihood, ll, { rtol: 1e-4 }, "log-likelihood");
  const one = emTwoGaussians(y, { maxIterations: 1 });
  assertEqual(one.iterations, 1, "maxIterations is respected");
  // Far-away points must not produce NaN (log-space E-step).
  const far = emTwoGaussians([0, 0.1, 0.2, 1e4, 1e4 + 0.1, 1e4 + 0.2]);
  assert(far.means.every(Number.isFinite) && far.sigmas.every((s) => s > 0), "finite fit for separated data");
  assertClose(far.weights, [0.5, 0.5], { rtol: 1e-6 });
  assertThrows(() => emTwoGaussians([1, 2, Number.NaN, 4, 5]), "finite");
  // Random well-separated mixtures (weights, means, spreads, size) drawn here: EM recovers
  // them within a few standard errors; maxIterations caps a random count.
  const re = testRandom("14/itl-em");
  for (let trial = 0; trial < 2; trial++) {
    const wLow = re.uniform(0.25, 0.75);
    const sLow = re.uniform(0.1, 0.6);
    const sHigh = re.uniform(0.1, 0.6);
    const mLow = re.uniform(-6, 0);
    const mHigh = mLow + 5 * Math.max(sLow, sHigh) + re.uniform(0, 3);
    const n = re.int(1500, 3000);
    const y = Array.from({ length: n }, () => (re.bool(wLow) ? re.normal(mLow, sLow) : re.normal(mHigh, sHigh)));
    const fit = emTwoGaussians(y);
    assertClose(fit.weights, [wLow, 1 - wLow], { rtol: 0, atol: 0.07 }, "a random mixture: weights");
    assertClose(fit.means, [mLow, mHigh], { rtol: 0, atol: 0.3 * Math.max(sLow, sHigh) }, "a random mixture: means, smaller first");
    assertClose(fit.sigmas, [sLow, sHigh], { rtol: 0.25, atol: 0 }, "a random mixture: sigmas");
    const cap = re.int(1, 5);
    assertEqual(emTwoGaussians(y, { maxIterations: cap, tolerance: 0 }).iterations, cap, "a random iteration cap");
  }
  // ### END HIDDEN TESTS
  passed("testUnitItlEm");
}
testUnitItlEm();

// %%
//| mutation itl-em never updates the weights: they stay at their starting values
interface TwoGaussians {
  weights: [number, number];
  means: [number, number];
  sigmas: [number, number];
}

interface TwoGaussianFit extends TwoGaussians {
  logLikelihood: number;
  iterations: number;
}

function emTwoGaussians(
  y: readonly number[],
  options: { init?: TwoGaussians; maxIterations?: number; tolerance?: number } = {},
): TwoGaussianFit {
  const n = y.length;
  if (n < 4 || !y.every(Number.isFinite)) {
    throw new Error(`emTwoGaussians: need at least 4 finite values, got ${n}`);
  }
  const maxIterations = options.maxIterations ?? 500;
  const tolerance = options.tolerance ?? 1e-8;
  const sd = ss.standardDeviation([...y]);
  const floor = Math.max(1e-3 * sd, 1e-12);
  const sorted = [...y].sort((a, b) => a - b);
  const w = options.init ? [...options.init.weights] : [0.7, 0.3];
  const mu = options.init
    ? [...options.init.means]
    : [ss.quantileSorted(sorted, 0.25), ss.quantileSorted(sorted, 0.9)];
  const sigma = options.init
    ? options.init.sigmas.map((s) => Math.max(s, floor))
    : [Math.max(sd / 2, floor), Math.max(sd / 2, floor)];
  let previous = Number.NEGATIVE_INFINITY;
  let logLikelihood = Number.NEGATIVE_INFINITY;
  let iterations = 0;
  while (iterations < maxIterations) {
    iterations++;
    // E-step: responsibilities of component 0, in log space. (The library's factory gives a
    // log-density specialised to one component, which is faster than passing μ and σ each time.)
    const logW0 = Math.log(w[0]);
    const logW1 = Math.log(w[1]);
    const logpdf0 = normalLogpdf.factory(mu[0], sigma[0]);
    const logpdf1 = normalLogpdf.factory(mu[1], sigma[1]);
    logLikelihood = 0;
    // The M-step's sums are gathered in the same pass: counts, Σ r·y and Σ r·y² per component.
    let n0 = 0;
    let s0 = 0;
    let q0 = 0;
    let s1 = 0;
    let q1 = 0;
    for (let i = 0; i < n; i++) {
      const yi = y[i];
      const l0 = logW0 + logpdf0(yi);
      const l1 = logW1 + logpdf1(yi);
      // log(e^l0 + e^l1) without overflow: the larger term plus log1p of the ratio.
      const lse = l0 > l1 ? l0 + Math.log1p(Math.exp(l1 - l0)) : l1 + Math.log1p(Math.exp(l0 - l1));
      const r = Math.exp(l0 - lse);
      logLikelihood += lse;
      n0 += r;
      s0 += r * yi;
      q0 += r * yi * yi;
      s1 += (1 - r) * yi;
      q1 += (1 - r) * yi * yi;
    }
    // M-step: weights, means, and variances as E[y²] − μ² (clamped at the floor).
    const counts = [n0, n - n0];
    const sums = [s0, s1];
    const squares = [q0, q1];
    for (let c = 0; c < 2; c++) {
      if (counts[c] < 1e-9) continue;
      mu[c] = sums[c] / counts[c];
      const variance = squares[c] / counts[c] - mu[c] * mu[c];
      sigma[c] = Math.max(Math.sqrt(Math.max(variance, 0)), floor);
    }
    if (Math.abs(logLikelihood - previous) <= tolerance * (1 + Math.abs(logLikelihood))) break;
    previous = logLikelihood;
  }
  const order = mu[0] <= mu[1] ? [0, 1] : [1, 0];
  return {
    weights: [w[order[0]], w[order[1]]],
    means: [mu[order[0]], mu[order[1]]],
    sigmas: [sigma[order[0]], sigma[order[1]]],
    logLikelihood,
    iterations,
  };
}

// %%
//| mutation itl-em σ from the unweighted spread of all the values instead of the responsibility-weighted one
interface TwoGaussians {
  weights: [number, number];
  means: [number, number];
  sigmas: [number, number];
}

interface TwoGaussianFit extends TwoGaussians {
  logLikelihood: number;
  iterations: number;
}

function emTwoGaussians(
  y: readonly number[],
  options: { init?: TwoGaussians; maxIterations?: number; tolerance?: number } = {},
): TwoGaussianFit {
  const n = y.length;
  if (n < 4 || !y.every(Number.isFinite)) {
    throw new Error(`emTwoGaussians: need at least 4 finite values, got ${n}`);
  }
  const maxIterations = options.maxIterations ?? 500;
  const tolerance = options.tolerance ?? 1e-8;
  const sd = ss.standardDeviation([...y]);
  const floor = Math.max(1e-3 * sd, 1e-12);
  const sorted = [...y].sort((a, b) => a - b);
  const w = options.init ? [...options.init.weights] : [0.7, 0.3];
  const mu = options.init
    ? [...options.init.means]
    : [ss.quantileSorted(sorted, 0.25), ss.quantileSorted(sorted, 0.9)];
  const sigma = options.init
    ? options.init.sigmas.map((s) => Math.max(s, floor))
    : [Math.max(sd / 2, floor), Math.max(sd / 2, floor)];
  let previous = Number.NEGATIVE_INFINITY;
  let logLikelihood = Number.NEGATIVE_INFINITY;
  let iterations = 0;
  while (iterations < maxIterations) {
    iterations++;
    // E-step: responsibilities of component 0, in log space. (The library's factory gives a
    // log-density specialised to one component, which is faster than passing μ and σ each time.)
    const logW0 = Math.log(w[0]);
    const logW1 = Math.log(w[1]);
    const logpdf0 = normalLogpdf.factory(mu[0], sigma[0]);
    const logpdf1 = normalLogpdf.factory(mu[1], sigma[1]);
    logLikelihood = 0;
    // The M-step's sums are gathered in the same pass: counts, Σ r·y and Σ r·y² per component.
    let n0 = 0;
    let s0 = 0;
    let q0 = 0;
    let s1 = 0;
    let q1 = 0;
    for (let i = 0; i < n; i++) {
      const yi = y[i];
      const l0 = logW0 + logpdf0(yi);
      const l1 = logW1 + logpdf1(yi);
      // log(e^l0 + e^l1) without overflow: the larger term plus log1p of the ratio.
      const lse = l0 > l1 ? l0 + Math.log1p(Math.exp(l1 - l0)) : l1 + Math.log1p(Math.exp(l0 - l1));
      const r = Math.exp(l0 - lse);
      logLikelihood += lse;
      n0 += r;
      s0 += r * yi;
      q0 += r * yi * yi;
      s1 += (1 - r) * yi;
      q1 += (1 - r) * yi * yi;
    }
    // M-step: weights, means, and variances as E[y²] − μ² (clamped at the floor).
    const counts = [n0, n - n0];
    const sums = [s0, s1];
    const squares = [q0, q1];
    for (let c = 0; c < 2; c++) {
      w[c] = counts[c] / n;
      if (counts[c] < 1e-9) continue;
      mu[c] = sums[c] / counts[c];
      const variance = ss.variance([...y]);
      sigma[c] = Math.max(Math.sqrt(Math.max(variance, 0)), floor);
    }
    if (Math.abs(logLikelihood - previous) <= tolerance * (1 + Math.abs(logLikelihood))) break;
    previous = logLikelihood;
  }
  const order = mu[0] <= mu[1] ? [0, 1] : [1, 0];
  return {
    weights: [w[order[0]], w[order[1]]],
    means: [mu[order[0]], mu[order[1]]],
    sigmas: [sigma[order[0]], sigma[order[1]]],
    logLikelihood,
    iterations,
  };
}

// %% [markdown]
// `ITLMixtureModel` puts it together: the seven parameters, `meanVar`, sampling, the density (for
// charts), the profile-likelihood fit, and `toDict`/`fromDict` (which also accepts the
// `itl_mix_`-prefixed keys of the CSV files the original toolkit writes).
//
// `sampleAvg` answers a capacity-planning question: with `n` replicas each producing a token, what
// is their *average* ITL? For a few replicas we draw them exactly; above `exactThreshold` the
// central limit theorem makes the average nearly normal with the mixture's mean and variance / n,
// and one normal draw replaces `n` mixture draws.

// %% nbgrader={"grade": false, "grade_id": "itl-mixture-model", "locked": true, "schema_version": 3, "solution": false, "task": false}
//| export perf.modeling
const ITL_MIX_KEYS: [keyof ItlMixtureParams, string][] = [
  ["loc", "loc"],
  ["piSteady", "pi_steady"],
  ["sigmaSteady", "sigma_steady"],
  ["scaleSteady", "scale_steady"],
  ["piStall", "pi_stall"],
  ["sigmaStall", "sigma_stall"],
  ["scaleStall", "scale_stall"],
];

/** Fits EM on log(x - loc) and scores it by the log-likelihood of x itself. */
function itlProfileFit(
  sorted: readonly number[],
  loc: number,
  init?: TwoGaussians,
  tolerance = 1e-6,
): { loc: number; fit: TwoGaussianFit; score: number } {
  const logs = sorted.map((v) => Math.log(v - loc));
  const fit = emTwoGaussians(logs, { init, tolerance, maxIterations: 300 });
  let jacobian = 0;
  for (const l of logs) jacobian += l;
  return { loc, fit, score: fit.logLikelihood - jacobian };
}

class ITLMixtureModel implements ItlMixtureParams {
  readonly loc: number;
  readonly piSteady: number;
  readonly sigmaSteady: number;
  readonly scaleSteady: number;
  readonly piStall: number;
  readonly sigmaStall: number;
  readonly scaleStall: number;

  constructor(p: ItlMixtureParams) {
    for (const [field] of ITL_MIX_KEYS) {
      if (!Number.isFinite(p[field])) throw new Error(`ITLMixtureModel: ${field} must be a finite number`);
    }
    if (p.sigmaSteady < 0 || p.sigmaStall < 0 || p.scaleSteady <= 0 || p.scaleStall <= 0) {
      throw new Error("ITLMixtureModel: sigmas must be >= 0 and scales > 0");
    }
    this.loc = p.loc;
    this.piSteady = p.piSteady;
    this.sigmaSteady = p.sigmaSteady;
    this.scaleSteady = p.scaleSteady;
    this.piStall = p.piStall;
    this.sigmaStall = p.sigmaStall;
    this.scaleStall = p.scaleStall;
    itlMeanVar(this); // validates the weights
  }

  /** Analytical [mean, variance] in seconds (see `itlMeanVar`). */
  meanVar(): [number, number] {
    return itlMeanVar(this);
  }

  /** One ITL draw, in seconds. */
  sampleOne(rng: RandomSource): number {
    const steady = rng.next() * (this.piSteady + this.piStall) < this.piSteady;
    const sigma = steady ? this.sigmaSteady : this.sigmaStall;
    const scale = steady ? this.scaleSteady : this.scaleStall;
    return this.loc + scale * Math.exp(sigma * rng.normal());
  }

  /** The average ITL over `nReplicas` replicas: exact up to `exactThreshold`, normal beyond. */
  sampleAvg(options: { nReplicas: number; rng: RandomSource; exactThreshold?: number }): number {
    const n = options.nReplicas;
    const threshold = options.exactThreshold ?? 30;
    if (!(n > 0)) return Number.NaN;
    if (!Number.isInteger(n)) throw new Error(`sampleAvg: nReplicas must be an integer, got ${n}`);
    if (n <= threshold) {
      let sum = 0;
      for (let i = 0; i < n; i++) sum += this.sampleOne(options.rng);
      return sum / n;
    }
    const [mean, variance] = this.meanVar();
    return mean + Math.sqrt(variance / n) * options.rng.normal();
  }

  /** Probability density at x (per second). */
  density(x: number): number {
    if (!(x > this.loc)) return 0;
    const total = this.piSteady + this.piStall;
    const d = x - this.loc;
    return (
      (this.piSteady / total) * lognormalPdf(d, Math.log(this.scaleSteady), Math.max(this.sigmaSteady, 1e-12)) +
      (this.piStall / total) * lognormalPdf(d, Math.log(this.scaleStall), Math.max(this.sigmaStall, 1e-12))
    );
  }

  /**
   * Fits the mixture to ITL samples (seconds): EM on log(x − loc) for each candidate loc below the
   * smallest sample, keeping the loc of highest likelihood (a coarse log-spaced grid, then a
   * golden-section search). `maxSamples` subsamples first, reproducibly from `seed`.
   */
  static fit(samples: readonly number[], options: { maxSamples?: number | null; seed?: number } = {}): ITLMixtureModel {
    const finite = samples.filter((v) => Number.isFinite(v));
    if (finite.length < 10) throw new Error(`ITLMixtureModel.fit: need at least 10 finite samples, got ${finite.length}`);
    let data = finite;
    const maxSamples = options.maxSamples ?? null;
    if (maxSamples !== null && maxSamples < data.length) {
      if (!Number.isInteger(maxSamples) || maxSamples < 10) throw new Error("ITLMixtureModel.fit: maxSamples must be an integer >= 10");
      const rng = new Rng(options.seed ?? 0);
      const copy = [...data];
      for (let i = 0; i < maxSamples; i++) {
        const j = i + Math.floor(rng.next() * (copy.length - i));
        [copy[i], copy[j]] = [copy[j], copy[i]];
      }
      data = copy.slice(0, maxSamples);
    }
    const sorted = [...data].sort((a, b) => a - b);
    const min = sorted[0];
    const spread = ss.quantileSorted(sorted, 0.5) - min;
    if (!(spread > 0)) throw new Error("ITLMixtureModel.fit: samples have no spread above their minimum");
    // Candidate offsets loc = min − spread·2^j. Warm-start each EM from the previous solution.
    let best: ReturnType<typeof itlProfileFit> | undefined;
    let bestJ = 0;
    let init: TwoGaussians | undefined;
    for (let j = -10; j <= 3; j++) {
      const candidate = itlProfileFit(sorted, min - spread * 2 ** j, init);
      init = candidate.fit;
      if (!best || candidate.score > best.score) {
        best = candidate;
        bestJ = j;
      }
    }
    // Golden-section search on j in [bestJ − 1, bestJ + 1].
    const phi = (Math.sqrt(5) - 1) / 2;
    let lo = bestJ - 1;
    let hi = bestJ + 1;
    const at = (j: number) => itlProfileFit(sorted, min - spread * 2 ** j, best?.fit);
    let c = at(hi - phi * (hi - lo));
    let d = at(lo + phi * (hi - lo));
    let cj = hi - phi * (hi - lo);
    let dj = lo + phi * (hi - lo);
    for (let iter = 0; iter < 10; iter++) {
      if (c.score > d.score) {
        hi = dj;
        dj = cj;
        d = c;
        cj = hi - phi * (hi - lo);
        c = at(cj);
      } else {
        lo = cj;
        cj = dj;
        c = d;
        dj = lo + phi * (hi - lo);
        d = at(dj);
      }
    }
    for (const candidate of [c, d]) if (best && candidate.score > best.score) best = candidate;
    if (!best) throw new Error("ITLMixtureModel.fit: no candidate offset could be fitted");
    const final = itlProfileFit(sorted, best.loc, best.fit, 1e-10);
    const f = final.fit;
    return new ITLMixtureModel({
      loc: final.loc,
      piSteady: f.weights[0],
      sigmaSteady: f.sigmas[0],
      scaleSteady: Math.exp(f.means[0]),
      piStall: f.weights[1],
      sigmaStall: f.sigmas[1],
      scaleStall: Math.exp(f.means[1]),
    });
  }

  toDict(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const [field, key] of ITL_MIX_KEYS) out[key] = this[field];
    return out;
  }

  /** From a dict (or Map) with snake_case keys, optionally prefixed `itl_mix_`. */
  static fromDict(dict: Record<string, unknown> | Map<string, unknown>): ITLMixtureModel {
    const p = {} as ItlMixtureParams;
    for (const [field, key] of ITL_MIX_KEYS) {
      p[field] = readNumber(dict, [key, `itl_mix_${key}`], "ITLMixtureModel.fromDict");
    }
    return new ITLMixtureModel(p);
  }
}

/**
 * A histogram of ITL samples with the fitted mixture density drawn over it. The x axis is
 * logarithmic (ms), with bins of equal width in log10, because the steady and the stall
 * components are an order of magnitude apart; the y axis is therefore the density per decade,
 * and the model's density is converted the same way: f(log10 x) = f(x) · x · ln 10.
 */
function itlHistogramChartSpec(
  samples: readonly number[],
  model: ITLMixtureModel | null,
  options: { bins?: number; title?: string } = {},
): ChartSpec {
  const sorted = [...samples].filter((v) => Number.isFinite(v) && v > 0).sort((a, b) => a - b);
  if (sorted.length === 0) throw new Error("itlHistogramChartSpec: no positive samples");
  const bins = options.bins ?? 50;
  const lo = Math.log10(sorted[0]);
  const hi = Math.log10(ss.quantileSorted(sorted, 0.995));
  const width = (hi - lo) / bins || 1e-9;
  const counts = new Array<number>(bins).fill(0);
  for (const v of sorted) {
    const u = Math.log10(v);
    if (u <= hi) counts[Math.min(bins - 1, Math.floor((u - lo) / width))]++;
  }
  const bars = counts.map((count, i) => ({
    start: 10 ** (lo + i * width) * 1e3,
    end: 10 ** (lo + (i + 1) * width) * 1e3,
    density: count / sorted.length / width,
  }));
  const x = {
    field: "start",
    type: "quantitative",
    scale: { type: "log" },
    title: "inter-token latency (ms, log scale)",
  };
  const layers: Record<string, unknown>[] = [
    {
      data: { values: bars },
      mark: { type: "bar", opacity: 0.55, color: "#4c78a8" },
      encoding: {
        x,
        x2: { field: "end" },
        y: { field: "density", type: "quantitative", title: "density per decade" },
        y2: { datum: 0 },
      },
    },
  ];
  if (model) {
    const curve = [];
    for (let i = 0; i <= 300; i++) {
      const v = 10 ** (lo + ((hi - lo) * i) / 300);
      curve.push({ start: v * 1e3, density: model.density(v) * v * Math.LN10 });
    }
    layers.push({
      data: { values: curve },
      mark: { type: "line", color: "#e45756", strokeWidth: 2 },
      encoding: { x, y: { field: "density", type: "quantitative" } },
    });
  }
  return { title: options.title ?? "Inter-token latency", width: 520, height: 300, layer: layers };
}

// %% [markdown]
// Now real inter-token latencies. The cell below is a toy continuous-batching server: each step
// decodes one token for each of 8 active streams through a small network; with probability 0.1
// a new request joins and its 48-token prompt is processed in the same step, so every stream
// waits longer for that token. We time each step with `hrtimeMs` — the ITLs are measured, not
// drawn from a distribution.

// %%
function generateInterTokenLatencies(tokens: number, rng: Rng): number[] {
  const decoder = new Sequential([new Linear(64, 128, { seed: 21 }), new GELU(), new Linear(128, 64, { seed: 22 })]);
  const streams = Tensor.randn([8, 64], rng);
  const prompt = Tensor.randn([48, 64], rng);
  for (let i = 0; i < 20; i++) decoder.forward(streams); // warm-up
  const itls: number[] = [];
  let last = hrtimeMs();
  for (let t = 0; t < tokens; t++) {
    decoder.forward(streams);
    if (rng.next() < 0.1) decoder.forward(prompt);
    const now = hrtimeMs();
    itls.push((now - last) / 1e3);
    last = now;
  }
  return itls;
}
// Filled by the demo below, read by the one after it.
const itls: number[] = [];

// %%
await demo("measuring inter-token latencies", () => {
  itls.splice(0, itls.length, ...generateInterTokenLatencies(2000, new Rng(42)));
  console.log(
    `${itls.length} ITLs: median ${(ss.median(itls) * 1e3).toFixed(3)} ms, ` +
      `p99 ${(ss.quantile(itls, 0.99) * 1e3).toFixed(3)} ms, max ${(Math.max(...itls) * 1e3).toFixed(3)} ms`,
  );
});

// %%
await demo("fitting the ITL mixture", async () => {
  if (itls.length === 0) throw new Error("Not implemented: measure the inter-token latencies first");
  const itlModel = ITLMixtureModel.fit(itls, { maxSamples: 20000, seed: 0 });
  console.log(itlModel.toDict());
  const [mean, variance] = itlModel.meanVar();
  console.log(
    `model mean ${(mean * 1e3).toFixed(3)} ms (measured ${(ss.mean(itls) * 1e3).toFixed(3)} ms), ` +
      `sd ${(Math.sqrt(variance) * 1e3).toFixed(3)} ms (measured ${(ss.standardDeviation(itls) * 1e3).toFixed(3)} ms)`,
  );
  console.log(`stall probability ≈ ${(itlModel.piStall * 100).toFixed(1)}% (the server used 10%)`);
  await showChart(itlHistogramChartSpec(itls, itlModel, { title: "Measured ITLs with the fitted mixture density" }));
  const rng = new Rng(9);
  for (const n of [1, 8, 64, 512]) {
    const draws = Array.from({ length: 2000 }, () => itlModel.sampleAvg({ nReplicas: n, rng }));
    console.log(
      `average over ${String(n).padStart(3)} replicas: p50 ${(ss.median(draws) * 1e3).toFixed(3)} ms, ` +
        `p99 ${(ss.quantile(draws, 0.99) * 1e3).toFixed(3)} ms`,
    );
  }
});

// %% [markdown]
// ## Part 6 — An analytical engine: models, solvers, optimizers
//
// Profiling tells you what happened on this machine. To reason about *other* machines and other
// targets you need analytical tools, and it pays to be strict about what kind of tool each one is.
// Following the three-tier contract of the MLSys·im engine:
//
// | tier | the maths | example |
// |---|---|---|
// | **`BaseModel`** | forward: `Y = f(X)` for one fixed state, no choices | roofline latency of a workload on a machine |
// | **`BaseSolver`** | inverse: `X = f⁻¹(Y)` for a target | bandwidth needed to hit a latency target |
// | **`BaseOptimizer`** | search: `min f(x)` over a space, subject to constraints; must call models | cheapest accelerator that meets the target |
//
// Every tool declares what it **`requires`** (input names) and what it **`produces`** (output
// names, each with a unit or a plain type). That declaration is what lets a `Pipeline` wire tools
// together, and lets the engine **check dimensions**: a result declared in `s` must be a time,
// `flop/s` a compute rate. Quantities are `mathjs` units, with a `flop` unit added (with the usual
// prefixes: `Gflop/s`, `Tflop/s`). Mixing up GB/s and GFLOP/s, or bytes and bits, becomes an error
// instead of a silently wrong answer.

// %% nbgrader={"grade": false, "grade_id": "engine-base", "locked": true, "schema_version": 3, "solution": false, "task": false}
//| export perf.modeling
/** A private mathjs instance with a `flop` unit (prefixable: Gflop, Tflop, GFLOP...). */
const perfMath: MathJsInstance = create(all);
perfMath.createUnit("flop", { prefixes: "short", aliases: ["flops", "FLOP", "FLOPs"] });

/** A physical quantity (a mathjs Unit). */
type Quantity = Unit;

/** `quantity(19.5, "Tflop/s")`, `quantity(2039, "GB/s")`, `quantity(5, "ms")`. */
function quantity(value: number, unitText: string): Quantity {
  return perfMath.unit(value, unitText);
}

class DimensionError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "DimensionError";
  }
}

/** Returns `value` as a quantity of the same dimensions as `unitText`, or throws DimensionError. */
function expectDimension(value: unknown, unitText: string, what: string): Quantity {
  if (!perfMath.isUnit(value)) {
    throw new DimensionError(`${what}: expected a quantity in ${unitText}, got ${typeof value}`);
  }
  // A unit made by another mathjs instance does not know `flop`: re-read it in ours.
  const q = value instanceof perfMath.Unit ? value : perfMath.unit(String(value as unknown));
  if (!q.equalBase(perfMath.unit(unitText))) {
    throw new DimensionError(`${what}: expected dimensions of ${unitText}, got ${q.formatUnits()}`);
  }
  return q;
}

const PLAIN_TYPES = new Set(["number", "string", "boolean", "object"]);

type ResolverKind = "model" | "solver" | "optimizer";
type Inputs = Record<string, unknown>;
type Outputs = Record<string, unknown>;

/**
 * The common contract. `requires` names the inputs; `produces` maps each output to a unit
 * ("s", "flop/s", "GB/s") or a plain type ("number", "string", "boolean", "object"). Call
 * `run(inputs)`: it checks the inputs are present, calls `solve`, and checks every declared output
 * is there with the right dimensions.
 */
abstract class Resolver<I extends Inputs = Inputs, O extends Outputs = Outputs> {
  abstract readonly kind: ResolverKind;
  abstract readonly requires: readonly string[];
  abstract readonly produces: Readonly<Record<string, string>>;
  abstract solve(inputs: I): O;

  get name(): string {
    return this.constructor.name;
  }

  run(inputs: Inputs): O {
    const missing = this.requires.filter((key) => inputs[key] === undefined);
    if (missing.length > 0) throw new Error(`${this.name}: missing input(s) ${missing.join(", ")}`);
    const picked: Inputs = {};
    for (const key of this.requires) picked[key] = inputs[key];
    const result = this.solve(picked as I);
    checkOutputs(this.name, this.kind, this.produces, result);
    return result;
  }
}

function checkOutputs(name: string, kind: ResolverKind, produces: Readonly<Record<string, string>>, result: unknown): void {
  if (result === null || typeof result !== "object") throw new Error(`${name}: solve must return an object`);
  const out = result as Outputs;
  if (kind === "optimizer") {
    for (const key of ["objectiveValue", "bestConfig", "totalSearched"]) {
      if (!(key in produces)) throw new Error(`${name}: an optimizer must declare '${key}' in produces`);
    }
  }
  for (const [key, spec] of Object.entries(produces)) {
    const value = out[key];
    if (value === undefined) throw new Error(`${name}: declared output '${key}' is missing`);
    if (PLAIN_TYPES.has(spec)) {
      if (typeof value !== spec || value === null) {
        throw new Error(`${name}: output '${key}' should be a ${spec}, got ${value === null ? "null" : typeof value}`);
      }
    } else {
      expectDimension(value, spec, `${name}.${key}`);
    }
  }
}

/** Forward physics: one fixed state in, metrics out. No loops over options. */
abstract class BaseModel<I extends Inputs = Inputs, O extends Outputs = Outputs> extends Resolver<I, O> {
  readonly kind = "model" as const;
}

/** Inversion: a target in, the parameter that achieves it out. */
abstract class BaseSolver<I extends Inputs = Inputs, O extends Outputs = Outputs> extends Resolver<I, O> {
  readonly kind = "solver" as const;
}

/** The fields every optimizer result carries. */
interface OptimizerResult extends Outputs {
  objectiveValue: number;
  bestConfig: Record<string, unknown>;
  totalSearched: number;
}

/** Search: evaluates candidates with models and returns the best under the constraints. */
abstract class BaseOptimizer<I extends Inputs = Inputs, O extends OptimizerResult = OptimizerResult> extends Resolver<I, O> {
  readonly kind = "optimizer" as const;
}

/** What runs: total FLOPs and bytes moved by one execution (e.g. one forward pass). */
interface Workload {
  name: string;
  flops: Quantity;
  bytes: Quantity;
}

interface HardwareSpec {
  name: string;
  /** Peak dense FP32 rate (our tensors are float32). */
  peakFlops: Quantity;
  /** Peak dense FP16 tensor-core rate, where the vendor publishes one (not used by the models). */
  peakFp16Flops: Quantity | null;
  bandwidth: Quantity;
  tdp: Quantity | null;
  /** Launch list price in USD where the vendor announced one; null otherwise. */
  priceUsd: number | null;
  source: string;
}

function makeWorkload(name: string, flops: number, bytes: number): Workload {
  return { name, flops: quantity(flops, "flop"), bytes: quantity(bytes, "B") };
}

// %% [markdown]
// ### A catalogue of real accelerators
//
// The optimizer needs candidates. These are published vendor figures (peak, dense, no sparsity;
// FP32 is the non-tensor vector rate). Prices are given only where the vendor announced a launch
// list price — datacenter parts have none, so they carry `null` and a price-minimising search skips
// them, as the original engine does. The last entry is *this* machine, with the ceilings measured
// earlier in this notebook (price 0: you already own it).
//
// | accelerator | FP32 | FP16 tensor (dense) | bandwidth | power | launch price | source |
// |---|---|---|---|---|---|---|
// | NVIDIA T4 | 8.1 TFLOP/s | 65 TFLOP/s | 320 GB/s | 70 W | — | NVIDIA T4 datasheet |
// | NVIDIA L4 | 30.3 TFLOP/s | 121 TFLOP/s (242 with sparsity) | 300 GB/s | 72 W | — | NVIDIA L4 datasheet |
// | NVIDIA A100 80GB SXM | 19.5 TFLOP/s | 312 TFLOP/s | 2,039 GB/s | 400 W | — | NVIDIA A100 datasheet |
// | NVIDIA H100 SXM | 67 TFLOP/s | 989 TFLOP/s (1,979 with sparsity) | 3,350 GB/s | 700 W | — | NVIDIA H100 datasheet |
// | NVIDIA GeForce RTX 4080 (16 GB) | 48.7 TFLOP/s | — | 716.8 GB/s | 320 W | $1,199 | NVIDIA launch announcement (Sept 2022) |
// | NVIDIA GeForce RTX 4090 | 82.6 TFLOP/s | — | 1,008 GB/s | 450 W | $1,599 | NVIDIA launch announcement (Sept 2022) |
//
// Where a cell says "—" the figure is not used here and we did not want to quote one we had not
// checked. Datasheet peaks are ceilings, not promises: sustained rates are lower.

// %% nbgrader={"grade": false, "grade_id": "accelerator-catalogue", "locked": true, "schema_version": 3, "solution": false, "task": false}
//| export perf.modeling
function acceleratorSpec(
  name: string,
  fp32Tflops: number,
  fp16Tflops: number | null,
  bandwidthGBs: number,
  tdpW: number | null,
  priceUsd: number | null,
  source: string,
): HardwareSpec {
  return {
    name,
    peakFlops: quantity(fp32Tflops, "Tflop/s"),
    peakFp16Flops: fp16Tflops === null ? null : quantity(fp16Tflops, "Tflop/s"),
    bandwidth: quantity(bandwidthGBs, "GB/s"),
    tdp: tdpW === null ? null : quantity(tdpW, "W"),
    priceUsd,
    source,
  };
}

/** Published vendor figures; see the table above for what each number is. */
const ACCELERATOR_CATALOGUE: readonly HardwareSpec[] = [
  acceleratorSpec("NVIDIA T4", 8.1, 65, 320, 70, null, "NVIDIA T4 Tensor Core GPU datasheet"),
  acceleratorSpec("NVIDIA L4", 30.3, 121, 300, 72, null, "NVIDIA L4 Tensor Core GPU datasheet"),
  acceleratorSpec("NVIDIA A100 80GB SXM", 19.5, 312, 2039, 400, null, "NVIDIA A100 Tensor Core GPU datasheet"),
  acceleratorSpec("NVIDIA H100 SXM", 67, 989, 3350, 700, null, "NVIDIA H100 Tensor Core GPU datasheet"),
  acceleratorSpec("NVIDIA GeForce RTX 4080 16GB", 48.7, null, 716.8, 320, 1199, "NVIDIA GeForce RTX 40 series launch, Sept 2022"),
  acceleratorSpec("NVIDIA GeForce RTX 4090", 82.6, null, 1008, 450, 1599, "NVIDIA GeForce RTX 40 series launch, Sept 2022"),
];

/** This machine as a catalogue entry, from measured ceilings (see measureMachinePeaks). */
function measuredMachineSpec(peaks: { peakFlopsPerSecond: number; bandwidthBytesPerSecond: number }): HardwareSpec {
  return {
    name: "this machine (measured, 1 JS thread)",
    peakFlops: quantity(peaks.peakFlopsPerSecond, "flop/s"),
    peakFp16Flops: null,
    bandwidth: quantity(peaks.bandwidthBytesPerSecond, "B/s"),
    tdp: null,
    priceUsd: 0,
    source: "measured in this notebook",
  };
}

// %% [markdown]
// ### Step 11: a model, a solver and an optimizer
//
// **TODO**: Implement `solve` for the three resolvers below.
//
// The contract:
// 1. `RooflineModel.solve({ workload, hardware })` checks the dimensions with
//    `expectDimension` (`flop`, `B`, `flop/s`, `B/s`) and returns the compute time and the
//    memory time (in `s`), the roofline `latency` (the time the slower of the two takes),
//    `intensity` (in `flop/B`), `ridgeIntensity`, `attainableFlops` (in `Gflop/s`, the roof at
//    this intensity) and `bound` (`"memory-bound"` strictly below the ridge, else
//    `"compute-bound"`).
// 2. `RequiredBandwidthSolver.solve({ workload, targetLatency })` inverts the model: the least
//    `requiredBandwidth` (in `GB/s`) and `requiredFlops` (in `Gflop/s`) for which the latency
//    is at most the target, which must be positive. (The original engine's solver divides only the *weight* bytes by
//    the target; that ignores the activations and the compute ceiling, so hardware it declares
//    sufficient can still miss the target.)
// 3. `CheapestHardwareOptimizer.solve({ workload, targetLatency, catalogue })` evaluates
//    `new RooflineModel().run(...)` on each entry; an entry is feasible when its latency is at
//    most the target, and `feasible` lists the names of all such entries; the best is the
//    feasible entry with the smallest objective (`this.objective`: `"priceUsd"`, or
//    `"tdpWatts"` from `tdp` in W), entries whose objective is `null` left out of that
//    choice, ties going to the lower latency; it returns its objective as `objectiveValue`,
//    `bestConfig: { hardware: name }`, `totalSearched` (entries in the catalogue), `feasible`
//    and `predictedLatency` (its latency), and throws an `Error` saying `no hardware` meets
//    the target when nothing qualifies.
//
// **APPROACH**:
// 1. For a workload of 2 Gflop and 1 GB on 100 Tflop/s and 1 TB/s, compute both times, the
//    latency, the intensity and the ridge by hand, with units.
// 2. Invert: the latency is the larger of two times, each proportional to 1 / a ceiling. For
//    which ceilings is it at most a target?
// 3. The optimizer is a filter and a minimum: write down which entries the test's catalogue
//    keeps before coding it.
//
// **HINTS**: Quantities divide with `perfMath.divide(a, b) as Quantity`, convert with
// `q.to("s")`, compare with `perfMath.smaller(a, b)`, and give numbers with `q.toNumber("s")`.

// %% nbgrader={"grade": false, "grade_id": "engine-resolvers", "locked": false, "schema_version": 3, "solution": true, "task": false}
//| export perf.modeling
interface RooflineResult extends Outputs {
  latency: Quantity;
  computeTime: Quantity;
  memoryTime: Quantity;
  intensity: Quantity;
  ridgeIntensity: Quantity;
  attainableFlops: Quantity;
  bound: "memory-bound" | "compute-bound";
}

class RooflineModel extends BaseModel<{ workload: Workload; hardware: HardwareSpec }, RooflineResult> {
  readonly requires = ["workload", "hardware"];
  readonly produces = {
    latency: "s",
    computeTime: "s",
    memoryTime: "s",
    intensity: "flop/B",
    ridgeIntensity: "flop/B",
    attainableFlops: "flop/s",
    bound: "string",
  };

  solve({ workload, hardware }: { workload: Workload; hardware: HardwareSpec }): RooflineResult {
    // ### BEGIN SOLUTION
    const flops = expectDimension(workload.flops, "flop", "workload.flops");
    const bytes = expectDimension(workload.bytes, "B", "workload.bytes");
    const peak = expectDimension(hardware.peakFlops, "flop/s", `${hardware.name} peakFlops`);
    const bandwidth = expectDimension(hardware.bandwidth, "B/s", `${hardware.name} bandwidth`);
    const computeTime = (perfMath.divide(flops, peak) as Quantity).to("s");
    const memoryTime = (perfMath.divide(bytes, bandwidth) as Quantity).to("s");
    const intensity = (perfMath.divide(flops, bytes) as Quantity).to("flop/B");
    const ridgeIntensity = (perfMath.divide(peak, bandwidth) as Quantity).to("flop/B");
    const memoryCeiling = (perfMath.multiply(intensity, bandwidth) as Quantity).to("Gflop/s");
    const peakG = peak.to("Gflop/s");
    return {
      latency: perfMath.smaller(computeTime, memoryTime) ? memoryTime : computeTime,
      computeTime,
      memoryTime,
      intensity,
      ridgeIntensity,
      attainableFlops: perfMath.smaller(memoryCeiling, peakG) ? memoryCeiling : peakG,
      bound: perfMath.smaller(intensity, ridgeIntensity) ? "memory-bound" : "compute-bound",
    };
    // ### END SOLUTION
  }
}

interface RequiredBandwidthResult extends Outputs {
  requiredBandwidth: Quantity;
  requiredFlops: Quantity;
}

class RequiredBandwidthSolver extends BaseSolver<{ workload: Workload; targetLatency: Quantity }, RequiredBandwidthResult> {
  readonly requires = ["workload", "targetLatency"];
  readonly produces = { requiredBandwidth: "B/s", requiredFlops: "flop/s" };

  solve({ workload, targetLatency }: { workload: Workload; targetLatency: Quantity }): RequiredBandwidthResult {
    // ### BEGIN SOLUTION
    const t = expectDimension(targetLatency, "s", "targetLatency");
    if (!(t.toNumber("s") > 0)) throw new Error("RequiredBandwidthSolver: targetLatency must be positive");
    const bytes = expectDimension(workload.bytes, "B", "workload.bytes");
    const flops = expectDimension(workload.flops, "flop", "workload.flops");
    return {
      requiredBandwidth: (perfMath.divide(bytes, t) as Quantity).to("GB/s"),
      requiredFlops: (perfMath.divide(flops, t) as Quantity).to("Gflop/s"),
    };
    // ### END SOLUTION
  }
}

interface CheapestHardwareResult extends OptimizerResult {
  feasible: string[];
  predictedLatency: Quantity;
}

class CheapestHardwareOptimizer extends BaseOptimizer<
  { workload: Workload; targetLatency: Quantity; catalogue: readonly HardwareSpec[] },
  CheapestHardwareResult
> {
  readonly requires = ["workload", "targetLatency", "catalogue"];
  readonly produces = {
    objectiveValue: "number",
    bestConfig: "object",
    totalSearched: "number",
    feasible: "object",
    predictedLatency: "s",
  };

  constructor(readonly objective: "priceUsd" | "tdpWatts" = "priceUsd") {
    super();
  }

  solve({
    workload,
    targetLatency,
    catalogue,
  }: {
    workload: Workload;
    targetLatency: Quantity;
    catalogue: readonly HardwareSpec[];
  }): CheapestHardwareResult {
    // ### BEGIN SOLUTION
    const target = expectDimension(targetLatency, "s", "targetLatency");
    const model = new RooflineModel();
    const feasible: string[] = [];
    let best: { name: string; value: number; latency: Quantity } | undefined;
    for (const hardware of catalogue) {
      const { latency } = model.run({ workload, hardware });
      if (perfMath.larger(latency, target)) continue;
      feasible.push(hardware.name);
      const value =
        this.objective === "priceUsd"
          ? hardware.priceUsd
          : hardware.tdp === null
            ? null
            : hardware.tdp.toNumber("W");
      if (value === null) continue;
      if (!best || value < best.value || (value === best.value && perfMath.smaller(latency, best.latency))) {
        best = { name: hardware.name, value, latency };
      }
    }
    if (!best) {
      throw new Error(
        `CheapestHardwareOptimizer: no hardware with a known ${this.objective} meets ${target.toString()} for ${workload.name}`,
      );
    }
    return {
      objectiveValue: best.value,
      bestConfig: { hardware: best.name },
      totalSearched: catalogue.length,
      feasible,
      predictedLatency: best.latency,
    };
    // ### END SOLUTION
  }
}

// %% nbgrader={"grade": true, "grade_id": "test-unit-engine-resolvers", "locked": true, "points": 4, "schema_version": 3, "solution": false, "task": false}
function testUnitEngineResolvers(): void {
  const toy = acceleratorSpec("toy", 1, null, 100, 50, 10, "test");
  // 2 GFLOP and 1 GB: compute 2 ms at 1 Tflop/s, memory 10 ms at 100 GB/s -> memory-bound, 10 ms.
  const w = makeWorkload("toy workload", 2e9, 1e9);
  const r = new RooflineModel().run({ workload: w, hardware: toy });
  assertClose(r.latency.toNumber("ms"), 10, { rtol: 1e-9 });
  assertClose(r.computeTime.toNumber("ms"), 2, { rtol: 1e-9 });
  assertClose(r.intensity.toNumber("flop/B"), 2, { rtol: 1e-9 });
  assertClose(r.ridgeIntensity.toNumber("flop/B"), 10, { rtol: 1e-9 });
  assertClose(r.attainableFlops.toNumber("Gflop/s"), 200, { rtol: 1e-9 });
  assertEqual(r.bound, "memory-bound");
  const s = new RequiredBandwidthSolver().run({ workload: w, targetLatency: quantity(5, "ms") });
  assertClose(s.requiredBandwidth.toNumber("GB/s"), 200, { rtol: 1e-9 });
  assertClose(s.requiredFlops.toNumber("Gflop/s"), 400, { rtol: 1e-9 });
  // ### BEGIN HIDDEN TESTS
  const computeHeavy = makeWorkload("dense", 1e12, 1e8);
  const c = new RooflineModel().run({ workload: computeHeavy, hardware: toy });
  assertEqual(c.bound, "compute-bound");
  assertClose(c.latency.toNumber("s"), 1, { rtol: 1e-9 });
  assertClose(c.attainableFlops.toNumber("Tflop/s"), 1, { rtol: 1e-9 });
  // Units are checked: bandwidth given in GFLOP/s instead of GB/s is refused.
  const wrong = { ...toy, bandwidth: quantity(100, "Gflop/s") };
  assertThrows(() => new RooflineModel().run({ workload: w, hardware: wrong }), "B/s");
  assertThrows(() => new RequiredBandwidthSolver().run({ workload: w, targetLatency: quantity(5, "GB") }), "targetLatency");
  // The solver inverts the model: hardware with exactly the required figures meets the target.
  const exact = acceleratorSpec("exact", s.requiredFlops.toNumber("Tflop/s"), null, s.requiredBandwidth.toNumber("GB/s"), null, null, "test");
  assertClose(new RooflineModel().run({ workload: w, hardware: exact }).latency.toNumber("ms"), 5, { rtol: 1e-9 });
  const catalogue = [
    acceleratorSpec("slow-cheap", 0.1, null, 10, 30, 100, "test"),
    acceleratorSpec("fast-pricey", 100, null, 2000, 400, 5000, "test"),
    acceleratorSpec("fast-unpriced", 100, null, 2000, 300, null, "test"),
    acceleratorSpec("mid", 10, null, 500, 150, 900, "test"),
  ];
  const o = new CheapestHardwareOptimizer().run({ workload: w, targetLatency: quantity(5, "ms"), catalogue });
  assertEqual(o.bestConfig, { hardware: "mid" });
  assertEqual(o.objectiveValue, 900);
  assertEqual(o.totalSearched, 4);
  assertEqual([...o.feasible].sort(), ["fast-pricey", "fast-unpriced", "mid"]);
  const p = new CheapestHardwareOptimizer("tdpWatts").run({ workload: w, targetLatency: quantity(5, "ms"), catalogue });
  assertEqual(p.bestConfig, { hardware: "mid" });
  const q = new CheapestHardwareOptimizer("tdpWatts").run({ workload: w, targetLatency: quantity(0.6, "ms"), catalogue });
  assertEqual(q.bestConfig, { hardware: "fast-unpriced" }, "lowest power among the fast ones");
  assertThrows(
    () => new CheapestHardwareOptimizer().run({ workload: w, targetLatency: quantity(1, "us"), catalogue }),
    "no hardware",
  );
  // Random workloads and accelerators: the roofline, its inverse and the cheapest feasible entry
  // of a random catalogue (one entry always fast enough), from the formulas, evaluated here.
  const rn = testRandom("14/engine-resolvers");
  for (let trial = 0; trial < 3; trial++) {
    const flops = 10 ** rn.uniform(6, 13);
    const bytes = 10 ** rn.uniform(5, 11);
    const tflops = 10 ** rn.uniform(-1, 2);
    const gbs = 10 ** rn.uniform(1, 3.5);
    const work = makeWorkload("random workload", flops, bytes);
    const rig = acceleratorSpec("random", tflops, null, gbs, null, null, "test");
    const got = new RooflineModel().run({ workload: work, hardware: rig });
    assertClose(
      [got.computeTime.toNumber("s"), got.memoryTime.toNumber("s"), got.latency.toNumber("s")],
      [flops / (tflops * 1e12), bytes / (gbs * 1e9), Math.max(flops / (tflops * 1e12), bytes / (gbs * 1e9))],
      { rtol: 1e-9 },
      "random roofline: times",
    );
    assertClose(
      [got.intensity.toNumber("flop/B"), got.ridgeIntensity.toNumber("flop/B"), got.attainableFlops.toNumber("Gflop/s")],
      [flops / bytes, (tflops * 1e12) / (gbs * 1e9), Math.min(tflops * 1e3, ((flops / bytes) * gbs * 1e9) / 1e9)],
      { rtol: 1e-9 },
      "random roofline: intensity, ridge, attainable",
    );
    assertEqual(got.bound, flops / bytes < (tflops * 1e12) / (gbs * 1e9) ? "memory-bound" : "compute-bound", "random roofline: bound");
    const targetMs = 10 ** rn.uniform(-2, 2);
    const need = new RequiredBandwidthSolver().run({ workload: work, targetLatency: quantity(targetMs, "ms") });
    assertClose(
      [need.requiredBandwidth.toNumber("GB/s"), need.requiredFlops.toNumber("Gflop/s")],
      [bytes / (targetMs * 1e-3) / 1e9, flops / (targetMs * 1e-3) / 1e9],
      { rtol: 1e-9 },
      "random target: required bandwidth and compute",
    );
    const entries = Array.from({ length: rn.int(2, 6) }, (_, i) => ({
      name: `acc-${i}`,
      tflops: 10 ** rn.uniform(-1, 2),
      gbs: 10 ** rn.uniform(1, 3.5),
      watts: rn.bool(0.8) ? rn.int(20, 700) : null,
      price: rn.bool(0.7) ? rn.int(50, 20000) : null,
    }));
    entries.push({ name: "always-fast", tflops: (2 * flops) / (targetMs * 1e-3) / 1e12, gbs: (2 * bytes) / (targetMs * 1e-3) / 1e9, watts: 900, price: 50000 });
    const catalogue = entries.map((e) => acceleratorSpec(e.name, e.tflops, null, e.gbs, e.watts, e.price, "test"));
    const objective = rn.pick(["priceUsd", "tdpWatts"] as const);
    const best = new CheapestHardwareOptimizer(objective).run({ workload: work, targetLatency: quantity(targetMs, "ms"), catalogue });
    const cheapest = () => {
      const ok = entries.filter((e) => Math.max(flops / (e.tflops * 1e12), bytes / (e.gbs * 1e9)) <= targetMs * 1e-3);
      const costed = ok.filter((e) => (objective === "priceUsd" ? e.price : e.watts) !== null);
      const value = (e: (typeof entries)[number]): number => (objective === "priceUsd" ? e.price : e.watts) as number;
      const min = Math.min(...costed.map(value));
      const first = costed
        .filter((e) => value(e) === min)
        .sort((a, b) => Math.max(flops / (a.tflops * 1e12), bytes / (a.gbs * 1e9)) - Math.max(flops / (b.tflops * 1e12), bytes / (b.gbs * 1e9)))[0];
      return { names: ok.map((e) => e.name).sort(), hardware: first.name, value: min };
    };
    assertEqual(
      [best.bestConfig, best.objectiveValue, best.totalSearched],
      [{ hardware: cheapest().hardware }, cheapest().value, entries.length],
      "random catalogue: the cheapest feasible entry",
    );
    assertEqual([...best.feasible].sort(), cheapest().names, "random catalogue: the feasible entries");
  }
  // ### END HIDDEN TESTS
  passed("testUnitEngineResolvers");
}
testUnitEngineResolvers();

// %%
//| mutation engine-resolvers the roofline latency as the sum of the compute and memory times
interface RooflineResult extends Outputs {
  latency: Quantity;
  computeTime: Quantity;
  memoryTime: Quantity;
  intensity: Quantity;
  ridgeIntensity: Quantity;
  attainableFlops: Quantity;
  bound: "memory-bound" | "compute-bound";
}

class RooflineModel extends BaseModel<{ workload: Workload; hardware: HardwareSpec }, RooflineResult> {
  readonly requires = ["workload", "hardware"];
  readonly produces = {
    latency: "s",
    computeTime: "s",
    memoryTime: "s",
    intensity: "flop/B",
    ridgeIntensity: "flop/B",
    attainableFlops: "flop/s",
    bound: "string",
  };

  solve({ workload, hardware }: { workload: Workload; hardware: HardwareSpec }): RooflineResult {
    const flops = expectDimension(workload.flops, "flop", "workload.flops");
    const bytes = expectDimension(workload.bytes, "B", "workload.bytes");
    const peak = expectDimension(hardware.peakFlops, "flop/s", `${hardware.name} peakFlops`);
    const bandwidth = expectDimension(hardware.bandwidth, "B/s", `${hardware.name} bandwidth`);
    const computeTime = (perfMath.divide(flops, peak) as Quantity).to("s");
    const memoryTime = (perfMath.divide(bytes, bandwidth) as Quantity).to("s");
    const intensity = (perfMath.divide(flops, bytes) as Quantity).to("flop/B");
    const ridgeIntensity = (perfMath.divide(peak, bandwidth) as Quantity).to("flop/B");
    const memoryCeiling = (perfMath.multiply(intensity, bandwidth) as Quantity).to("Gflop/s");
    const peakG = peak.to("Gflop/s");
    return {
      latency: (perfMath.add(computeTime, memoryTime) as Quantity).to("s"),
      computeTime,
      memoryTime,
      intensity,
      ridgeIntensity,
      attainableFlops: perfMath.smaller(memoryCeiling, peakG) ? memoryCeiling : peakG,
      bound: perfMath.smaller(intensity, ridgeIntensity) ? "memory-bound" : "compute-bound",
    };
  }
}

interface RequiredBandwidthResult extends Outputs {
  requiredBandwidth: Quantity;
  requiredFlops: Quantity;
}

class RequiredBandwidthSolver extends BaseSolver<{ workload: Workload; targetLatency: Quantity }, RequiredBandwidthResult> {
  readonly requires = ["workload", "targetLatency"];
  readonly produces = { requiredBandwidth: "B/s", requiredFlops: "flop/s" };

  solve({ workload, targetLatency }: { workload: Workload; targetLatency: Quantity }): RequiredBandwidthResult {
    const t = expectDimension(targetLatency, "s", "targetLatency");
    if (!(t.toNumber("s") > 0)) throw new Error("RequiredBandwidthSolver: targetLatency must be positive");
    const bytes = expectDimension(workload.bytes, "B", "workload.bytes");
    const flops = expectDimension(workload.flops, "flop", "workload.flops");
    return {
      requiredBandwidth: (perfMath.divide(bytes, t) as Quantity).to("GB/s"),
      requiredFlops: (perfMath.divide(flops, t) as Quantity).to("Gflop/s"),
    };
  }
}

interface CheapestHardwareResult extends OptimizerResult {
  feasible: string[];
  predictedLatency: Quantity;
}

class CheapestHardwareOptimizer extends BaseOptimizer<
  { workload: Workload; targetLatency: Quantity; catalogue: readonly HardwareSpec[] },
  CheapestHardwareResult
> {
  readonly requires = ["workload", "targetLatency", "catalogue"];
  readonly produces = {
    objectiveValue: "number",
    bestConfig: "object",
    totalSearched: "number",
    feasible: "object",
    predictedLatency: "s",
  };

  constructor(readonly objective: "priceUsd" | "tdpWatts" = "priceUsd") {
    super();
  }

  solve({
    workload,
    targetLatency,
    catalogue,
  }: {
    workload: Workload;
    targetLatency: Quantity;
    catalogue: readonly HardwareSpec[];
  }): CheapestHardwareResult {
    const target = expectDimension(targetLatency, "s", "targetLatency");
    const model = new RooflineModel();
    const feasible: string[] = [];
    let best: { name: string; value: number; latency: Quantity } | undefined;
    for (const hardware of catalogue) {
      const { latency } = model.run({ workload, hardware });
      if (perfMath.larger(latency, target)) continue;
      feasible.push(hardware.name);
      const value =
        this.objective === "priceUsd"
          ? hardware.priceUsd
          : hardware.tdp === null
            ? null
            : hardware.tdp.toNumber("W");
      if (value === null) continue;
      if (!best || value < best.value || (value === best.value && perfMath.smaller(latency, best.latency))) {
        best = { name: hardware.name, value, latency };
      }
    }
    if (!best) {
      throw new Error(
        `CheapestHardwareOptimizer: no hardware with a known ${this.objective} meets ${target.toString()} for ${workload.name}`,
      );
    }
    return {
      objectiveValue: best.value,
      bestConfig: { hardware: best.name },
      totalSearched: catalogue.length,
      feasible,
      predictedLatency: best.latency,
    };
  }
}

// %%
//| mutation engine-resolvers the attainable rate as the larger of the two ceilings
interface RooflineResult extends Outputs {
  latency: Quantity;
  computeTime: Quantity;
  memoryTime: Quantity;
  intensity: Quantity;
  ridgeIntensity: Quantity;
  attainableFlops: Quantity;
  bound: "memory-bound" | "compute-bound";
}

class RooflineModel extends BaseModel<{ workload: Workload; hardware: HardwareSpec }, RooflineResult> {
  readonly requires = ["workload", "hardware"];
  readonly produces = {
    latency: "s",
    computeTime: "s",
    memoryTime: "s",
    intensity: "flop/B",
    ridgeIntensity: "flop/B",
    attainableFlops: "flop/s",
    bound: "string",
  };

  solve({ workload, hardware }: { workload: Workload; hardware: HardwareSpec }): RooflineResult {
    const flops = expectDimension(workload.flops, "flop", "workload.flops");
    const bytes = expectDimension(workload.bytes, "B", "workload.bytes");
    const peak = expectDimension(hardware.peakFlops, "flop/s", `${hardware.name} peakFlops`);
    const bandwidth = expectDimension(hardware.bandwidth, "B/s", `${hardware.name} bandwidth`);
    const computeTime = (perfMath.divide(flops, peak) as Quantity).to("s");
    const memoryTime = (perfMath.divide(bytes, bandwidth) as Quantity).to("s");
    const intensity = (perfMath.divide(flops, bytes) as Quantity).to("flop/B");
    const ridgeIntensity = (perfMath.divide(peak, bandwidth) as Quantity).to("flop/B");
    const memoryCeiling = (perfMath.multiply(intensity, bandwidth) as Quantity).to("Gflop/s");
    const peakG = peak.to("Gflop/s");
    return {
      latency: perfMath.smaller(computeTime, memoryTime) ? memoryTime : computeTime,
      computeTime,
      memoryTime,
      intensity,
      ridgeIntensity,
      attainableFlops: perfMath.smaller(memoryCeiling, peakG) ? peakG : memoryCeiling,
      bound: perfMath.smaller(intensity, ridgeIntensity) ? "memory-bound" : "compute-bound",
    };
  }
}

interface RequiredBandwidthResult extends Outputs {
  requiredBandwidth: Quantity;
  requiredFlops: Quantity;
}

class RequiredBandwidthSolver extends BaseSolver<{ workload: Workload; targetLatency: Quantity }, RequiredBandwidthResult> {
  readonly requires = ["workload", "targetLatency"];
  readonly produces = { requiredBandwidth: "B/s", requiredFlops: "flop/s" };

  solve({ workload, targetLatency }: { workload: Workload; targetLatency: Quantity }): RequiredBandwidthResult {
    const t = expectDimension(targetLatency, "s", "targetLatency");
    if (!(t.toNumber("s") > 0)) throw new Error("RequiredBandwidthSolver: targetLatency must be positive");
    const bytes = expectDimension(workload.bytes, "B", "workload.bytes");
    const flops = expectDimension(workload.flops, "flop", "workload.flops");
    return {
      requiredBandwidth: (perfMath.divide(bytes, t) as Quantity).to("GB/s"),
      requiredFlops: (perfMath.divide(flops, t) as Quantity).to("Gflop/s"),
    };
  }
}

interface CheapestHardwareResult extends OptimizerResult {
  feasible: string[];
  predictedLatency: Quantity;
}

class CheapestHardwareOptimizer extends BaseOptimizer<
  { workload: Workload; targetLatency: Quantity; catalogue: readonly HardwareSpec[] },
  CheapestHardwareResult
> {
  readonly requires = ["workload", "targetLatency", "catalogue"];
  readonly produces = {
    objectiveValue: "number",
    bestConfig: "object",
    totalSearched: "number",
    feasible: "object",
    predictedLatency: "s",
  };

  constructor(readonly objective: "priceUsd" | "tdpWatts" = "priceUsd") {
    super();
  }

  solve({
    workload,
    targetLatency,
    catalogue,
  }: {
    workload: Workload;
    targetLatency: Quantity;
    catalogue: readonly HardwareSpec[];
  }): CheapestHardwareResult {
    const target = expectDimension(targetLatency, "s", "targetLatency");
    const model = new RooflineModel();
    const feasible: string[] = [];
    let best: { name: string; value: number; latency: Quantity } | undefined;
    for (const hardware of catalogue) {
      const { latency } = model.run({ workload, hardware });
      if (perfMath.larger(latency, target)) continue;
      feasible.push(hardware.name);
      const value =
        this.objective === "priceUsd"
          ? hardware.priceUsd
          : hardware.tdp === null
            ? null
            : hardware.tdp.toNumber("W");
      if (value === null) continue;
      if (!best || value < best.value || (value === best.value && perfMath.smaller(latency, best.latency))) {
        best = { name: hardware.name, value, latency };
      }
    }
    if (!best) {
      throw new Error(
        `CheapestHardwareOptimizer: no hardware with a known ${this.objective} meets ${target.toString()} for ${workload.name}`,
      );
    }
    return {
      objectiveValue: best.value,
      bestConfig: { hardware: best.name },
      totalSearched: catalogue.length,
      feasible,
      predictedLatency: best.latency,
    };
  }
}

// %% [markdown]
// ### Composing tools: a `Pipeline` with callbacks
//
// Real questions chain tools: *profile* a workload, *model* its latency on a machine, *solve* for
// the bandwidth a target needs, *search* the catalogue. A `Pipeline` runs resolvers in order and
// passes every output forward: a later stage may require anything given as input or produced by
// an earlier stage. Because each stage declares `requires` and `produces`, the pipeline can check
// the whole chain **before running anything** and name the missing input, instead of failing
// half-way through an expensive run.
//
// Callbacks observe the run without changing it (logging to a file or an experiment tracker):
// each registered callback's `onStageEnd(stageName, result)` is called after every stage.

// %% [markdown]
// ### Step 12: `Pipeline.run`
//
// **TODO**: Implement `run(inputs)` returning each stage's result keyed by `stageName(i)`.
//
// The contract: before any stage runs, the chain is checked: a stage that `requires` a name
// neither given in `inputs` nor produced by an earlier stage makes `run` throw a
// `PipelineError` naming the stage and the missing inputs (an input whose value is
// `undefined` counts as not given). Then every stage runs in order on a
// context holding the inputs and every earlier output; its result is stored under
// `stageName(i)` and its fields join the context; every callback's `onStageEnd(name, result)`
// is called after each stage.
//
// **APPROACH**:
// 1. On paper, a pipeline of two stages where the second requires something nobody produces:
//    what must have run when the error is thrown? (Nothing.)
// 2. The check needs no stage to run: what does it know about each stage without running it?
// 3. In what order do the result, the context and the callbacks get updated after a stage?
//
// **HINTS**: A stage's outputs may overwrite an input of the same name for the stages after it.

// %% nbgrader={"grade": false, "grade_id": "pipeline", "locked": false, "schema_version": 3, "solution": true, "task": false}
//| export perf.modeling
class PipelineError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "PipelineError";
  }
}

interface PipelineCallback {
  onStageEnd(stageName: string, result: Outputs): void;
}

class Pipeline {
  private readonly callbacks: PipelineCallback[] = [];

  constructor(readonly stages: readonly Resolver[]) {}

  registerCallback(callback: PipelineCallback): this {
    this.callbacks.push(callback);
    return this;
  }

  /** The result key of stage i: its class name, with `#2`, `#3`... for repeats. */
  stageName(i: number): string {
    const name = this.stages[i].name;
    const earlier = this.stages.slice(0, i).filter((s) => s.name === name).length;
    return earlier === 0 ? name : `${name}#${earlier + 1}`;
  }

  run(inputs: Inputs): Record<string, Outputs> {
    // ### BEGIN SOLUTION
    const available = new Set(Object.keys(inputs).filter((k) => inputs[k] !== undefined));
    this.stages.forEach((stage, i) => {
      const missing = stage.requires.filter((key) => !available.has(key));
      if (missing.length > 0) {
        throw new PipelineError(
          `stage ${i + 1} (${this.stageName(i)}) requires ${missing.join(", ")}, which no input or earlier stage provides`,
        );
      }
      for (const key of Object.keys(stage.produces)) available.add(key);
    });
    const context: Inputs = { ...inputs };
    const results: Record<string, Outputs> = {};
    this.stages.forEach((stage, i) => {
      const name = this.stageName(i);
      const result = stage.run(context);
      results[name] = result;
      Object.assign(context, result);
      for (const callback of this.callbacks) callback.onStageEnd(name, result);
    });
    return results;
    // ### END SOLUTION
  }
}

// %% nbgrader={"grade": true, "grade_id": "test-unit-pipeline", "locked": true, "points": 3, "schema_version": 3, "solution": false, "task": false}
/** A tiny model for tests: doubles `x` (a length) into `y`. */
class DoubleLength extends BaseModel<{ x: Quantity }, { y: Quantity }> {
  readonly requires = ["x"];
  readonly produces = { y: "m" };
  solve({ x }: { x: Quantity }): { y: Quantity } {
    return { y: perfMath.multiply(x, 2) as Quantity };
  }
}

/** Needs `y` (from DoubleLength) and gives the time to cover it at `speed`. */
class TravelTime extends BaseModel<{ y: Quantity; speed: Quantity }, { time: Quantity }> {
  readonly requires = ["y", "speed"];
  readonly produces = { time: "s" };
  solve({ y, speed }: { y: Quantity; speed: Quantity }): { time: Quantity } {
    return { time: (perfMath.divide(y, speed) as Quantity).to("s") };
  }
}

function testUnitPipeline(): void {
  const seen: string[] = [];
  const pipeline = new Pipeline([new DoubleLength(), new TravelTime()]).registerCallback({
    onStageEnd: (name) => seen.push(name),
  });
  const results = pipeline.run({ x: quantity(3, "m"), speed: quantity(2, "m/s") });
  assertClose((results.DoubleLength.y as Quantity).toNumber("m"), 6);
  assertClose((results.TravelTime.time as Quantity).toNumber("s"), 3, {}, "outputs flow forward");
  assertEqual(seen, ["DoubleLength", "TravelTime"], "callbacks after each stage");
  // ### BEGIN HIDDEN TESTS
  let ran = 0;
  class Counting extends DoubleLength {
    override solve(inputs: { x: Quantity }): { y: Quantity } {
      ran++;
      return super.solve(inputs);
    }
  }
  assertThrows(
    () => new Pipeline([new Counting(), new TravelTime()]).run({ x: quantity(1, "m") }),
    "speed",
    "missing input named",
  );
  assertEqual(ran, 0, "nothing runs when the chain is incomplete");
  assertThrows(() => new Pipeline([new TravelTime(), new DoubleLength()]).run({ x: quantity(1, "m"), speed: quantity(1, "m/s") }), "TravelTime", "order matters: y is produced too late");
  const twice = new Pipeline([new DoubleLength(), new DoubleLength()]).run({ x: quantity(1, "m") });
  assertEqual(Object.keys(twice), ["DoubleLength", "DoubleLength#2"]);
  const log: [string, number][] = [];
  new Pipeline([new DoubleLength()])
    .registerCallback({ onStageEnd: (n, r) => log.push([n, (r.y as Quantity).toNumber("m")]) })
    .registerCallback({ onStageEnd: (n) => log.push([n + "!", 0]) })
    .run({ x: quantity(2, "m") });
  assertEqual(log, [["DoubleLength", 4], ["DoubleLength!", 0]], "every callback, in order");
  // A stage whose output has the wrong dimension is caught by its own run().
  class BadUnits extends BaseModel<{ x: Quantity }, { y: Quantity }> {
    readonly requires = ["x"];
    readonly produces = { y: "s" };
    solve({ x }: { x: Quantity }): { y: Quantity } {
      return { y: x };
    }
  }
  assertThrows(() => new Pipeline([new BadUnits()]).run({ x: quantity(1, "m") }), "BadUnits.y");
  const inputs = { x: quantity(1, "m"), speed: quantity(1, "m/s") };
  new Pipeline([new DoubleLength(), new TravelTime()]).run(inputs);
  assertEqual(Object.keys(inputs), ["x", "speed"], "the caller's inputs are not modified");
  // A random chain (k doublings of x, then travel time) on random inputs: outputs flow forward,
  // stage names count repeats, and every callback sees every stage in order.
  const rp = testRandom("14/pipeline");
  for (let trial = 0; trial < 3; trial++) {
    const doublings = rp.int(1, 4);
    const x = rp.uniform(0.1, 100);
    const speed = rp.uniform(0.1, 50);
    const names: string[] = [];
    const chain = new Pipeline([...Array.from({ length: doublings }, () => new DoubleLength()), new TravelTime()]).registerCallback({
      onStageEnd: (name) => names.push(name),
    });
    const out = chain.run({ x: quantity(x, "m"), speed: quantity(speed, "m/s") });
    assertEqual(
      Object.keys(out),
      [...Array.from({ length: doublings }, (_, i) => (i === 0 ? "DoubleLength" : `DoubleLength#${i + 1}`)), "TravelTime"],
      "random chain: stage names",
    );
    assertEqual(names, Object.keys(out), "random chain: one callback per stage, in order");
    assertClose(
      Object.values(out).map((r) => ("y" in r ? (r.y as Quantity).toNumber("m") : (r.time as Quantity).toNumber("s"))),
      [...Array.from({ length: doublings }, () => 2 * x), (2 * x) / speed],
      { rtol: 1e-9 },
      "random chain: each stage reads the context, TravelTime the doubled length",
    );
  }
  // ### END HIDDEN TESTS
  passed("testUnitPipeline");
}
testUnitPipeline();

// %%
//| mutation pipeline checks each stage only when it is reached, after the earlier stages have run
class PipelineError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "PipelineError";
  }
}

interface PipelineCallback {
  onStageEnd(stageName: string, result: Outputs): void;
}

class Pipeline {
  private readonly callbacks: PipelineCallback[] = [];

  constructor(readonly stages: readonly Resolver[]) {}

  registerCallback(callback: PipelineCallback): this {
    this.callbacks.push(callback);
    return this;
  }

  /** The result key of stage i: its class name, with `#2`, `#3`... for repeats. */
  stageName(i: number): string {
    const name = this.stages[i].name;
    const earlier = this.stages.slice(0, i).filter((s) => s.name === name).length;
    return earlier === 0 ? name : `${name}#${earlier + 1}`;
  }

  run(inputs: Inputs): Record<string, Outputs> {
    const available = new Set(Object.keys(inputs).filter((k) => inputs[k] !== undefined));
    const context: Inputs = { ...inputs };
    const results: Record<string, Outputs> = {};
    this.stages.forEach((stage, i) => {
      const missing = stage.requires.filter((key) => !available.has(key));
      if (missing.length > 0) {
        throw new PipelineError(
          `stage ${i + 1} (${this.stageName(i)}) requires ${missing.join(", ")}, which no input or earlier stage provides`,
        );
      }
      for (const key of Object.keys(stage.produces)) available.add(key);
      const name = this.stageName(i);
      const result = stage.run(context);
      results[name] = result;
      Object.assign(context, result);
      for (const callback of this.callbacks) callback.onStageEnd(name, result);
    });
    return results;
  }
}

// %%
//| mutation pipeline the callbacks are told once, after the last stage
class PipelineError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "PipelineError";
  }
}

interface PipelineCallback {
  onStageEnd(stageName: string, result: Outputs): void;
}

class Pipeline {
  private readonly callbacks: PipelineCallback[] = [];

  constructor(readonly stages: readonly Resolver[]) {}

  registerCallback(callback: PipelineCallback): this {
    this.callbacks.push(callback);
    return this;
  }

  /** The result key of stage i: its class name, with `#2`, `#3`... for repeats. */
  stageName(i: number): string {
    const name = this.stages[i].name;
    const earlier = this.stages.slice(0, i).filter((s) => s.name === name).length;
    return earlier === 0 ? name : `${name}#${earlier + 1}`;
  }

  run(inputs: Inputs): Record<string, Outputs> {
    const available = new Set(Object.keys(inputs).filter((k) => inputs[k] !== undefined));
    this.stages.forEach((stage, i) => {
      const missing = stage.requires.filter((key) => !available.has(key));
      if (missing.length > 0) {
        throw new PipelineError(
          `stage ${i + 1} (${this.stageName(i)}) requires ${missing.join(", ")}, which no input or earlier stage provides`,
        );
      }
      for (const key of Object.keys(stage.produces)) available.add(key);
    });
    const context: Inputs = { ...inputs };
    const results: Record<string, Outputs> = {};
    this.stages.forEach((stage, i) => {
      const name = this.stageName(i);
      const result = stage.run(context);
      results[name] = result;
      Object.assign(context, result);
      if (i === this.stages.length - 1) for (const callback of this.callbacks) callback.onStageEnd(name, result);
    });
    return results;
  }
}

// %% [markdown]
// ### Plugins: tools from installed packages
//
// You should not have to edit this package to add a tool. A package can declare resolvers in its
// `package.json`, and the `ResolverRegistry` discovers them in the `node_modules` folders it is
// given (by default those above the current directory, as Node's own module resolution walks):
//
// ```json
// {
//   "name": "my-perf-tools",
//   "tinytorch-ts": { "plugins": { "power_efficiency": "./dist/power.js#PowerEfficiencyModel" } }
// }
// ```
//
// Each entry maps a name to `file#ExportName` (the file relative to the package; without `#` the
// module itself). A plugin class needs `requires`, `produces` and `solve`, and may extend
// `BaseModel` and friends; a plain class is wrapped so that `run()` checks it like any other.
// A broken plugin is reported in `registry.errors` and skipped — one bad package must not stop the
// others from loading. Loading a plugin runs its code, so install only packages you trust.

// %% nbgrader={"grade": false, "grade_id": "resolver-registry", "locked": true, "schema_version": 3, "solution": false, "task": false}
//| export perf.modeling
type ResolverFactory = () => Resolver;

interface ResolverEntry {
  create: ResolverFactory;
  source: string;
}

/** A resolver from a plugin that does not extend Resolver: checked like any other. */
class PluginResolver extends Resolver {
  readonly kind: ResolverKind;
  readonly requires: readonly string[];
  readonly produces: Readonly<Record<string, string>>;

  constructor(
    private readonly inner: ResolverShape,
    private readonly pluginName: string,
  ) {
    super();
    this.kind = inner.kind === "solver" || inner.kind === "optimizer" ? inner.kind : "model";
    this.requires = [...inner.requires];
    this.produces = { ...inner.produces };
  }

  override get name(): string {
    return this.pluginName;
  }

  solve(inputs: Inputs): Outputs {
    return this.inner.solve(inputs);
  }
}

/** What a plugin class must provide to be used as a resolver. */
interface ResolverShape {
  solve(inputs: Inputs): Outputs;
  requires: readonly string[];
  produces: Record<string, string>;
  kind?: unknown;
}

function isResolverShape(value: unknown): value is ResolverShape {
  if (value === null || typeof value !== "object") return false;
  const v = value as Record<string, unknown>;
  return (
    typeof v.solve === "function" &&
    Array.isArray(v.requires) &&
    v.requires.every((r) => typeof r === "string") &&
    v.produces !== null &&
    typeof v.produces === "object" &&
    Object.values(v.produces as object).every((p) => typeof p === "string")
  );
}

/** node_modules folders from `start` up to the root, nearest first. */
function nodeModulesAbove(start: string): string[] {
  const dirs: string[] = [];
  let dir = resolve(start);
  for (;;) {
    const candidate = join(dir, "node_modules");
    if (existsSync(candidate)) dirs.push(candidate);
    const parent = dirname(dir);
    if (parent === dir) return dirs;
    dir = parent;
  }
}

class ResolverRegistry {
  private readonly entries = new Map<string, ResolverEntry>();
  /** Problems met while discovering plugins (the plugin is skipped). */
  readonly errors: string[] = [];

  /** A registry holding this module's three example resolvers. */
  static withBuiltins(): ResolverRegistry {
    return new ResolverRegistry()
      .register("roofline", () => new RooflineModel())
      .register("required_bandwidth", () => new RequiredBandwidthSolver())
      .register("cheapest_hardware", () => new CheapestHardwareOptimizer());
  }

  register(name: string, create: ResolverFactory, source = "built-in"): this {
    if (this.entries.has(name)) throw new Error(`ResolverRegistry: '${name}' is already registered`);
    this.entries.set(name, { create, source });
    return this;
  }

  create(name: string): Resolver {
    const entry = this.entries.get(name);
    if (!entry) throw new Error(`ResolverRegistry: no resolver named '${name}' (known: ${[...this.entries.keys()].join(", ")})`);
    return entry.create();
  }

  /** Every registered resolver with its kind, contract and where it came from. */
  listAvailable(): Record<string, { kind: ResolverKind; requires: string[]; produces: Record<string, string>; source: string }> {
    const out: Record<string, { kind: ResolverKind; requires: string[]; produces: Record<string, string>; source: string }> = {};
    for (const [name, entry] of this.entries) {
      const r = entry.create();
      out[name] = { kind: r.kind, requires: [...r.requires], produces: { ...r.produces }, source: entry.source };
    }
    return out;
  }

  /** Loads the plugins declared by packages in `nodeModulesDirs`; returns the names registered. */
  discover(options: { nodeModulesDirs?: string[] } = {}): string[] {
    const found: string[] = [];
    for (const dir of options.nodeModulesDirs ?? nodeModulesAbove(process.cwd())) {
      for (const pkgDir of this.packagesIn(dir)) found.push(...this.loadPackage(pkgDir));
    }
    return found;
  }

  private packagesIn(nodeModules: string): string[] {
    const out: string[] = [];
    let names: string[] = [];
    try {
      names = readdirSync(nodeModules).sort();
    } catch {
      return out;
    }
    for (const name of names) {
      if (name.startsWith(".")) continue;
      const full = join(nodeModules, name);
      if (name.startsWith("@")) {
        try {
          for (const inner of readdirSync(full).sort()) out.push(join(full, inner));
        } catch {
          /* not a directory */
        }
      } else out.push(full);
    }
    return out;
  }

  private loadPackage(pkgDir: string): string[] {
    const manifestPath = join(pkgDir, "package.json");
    let manifest: Record<string, unknown>;
    try {
      if (!statSync(manifestPath).isFile()) return [];
      manifest = JSON.parse(readFileSync(manifestPath, "utf8")) as Record<string, unknown>;
    } catch {
      return [];
    }
    const section = manifest["tinytorch-ts"] as { plugins?: unknown } | undefined;
    if (!section || typeof section !== "object" || section.plugins === undefined) return [];
    const pkgName = typeof manifest.name === "string" ? manifest.name : pkgDir;
    if (section.plugins === null || typeof section.plugins !== "object") {
      this.errors.push(`${pkgName}: "tinytorch-ts".plugins must be an object`);
      return [];
    }
    const registered: string[] = [];
    for (const [name, spec] of Object.entries(section.plugins as Record<string, unknown>)) {
      try {
        this.loadPlugin(pkgDir, pkgName, name, spec);
        registered.push(name);
      } catch (e) {
        this.errors.push(`${pkgName}: plugin '${name}': ${e instanceof Error ? e.message : String(e)}`);
      }
    }
    return registered;
  }

  private loadPlugin(pkgDir: string, pkgName: string, name: string, spec: unknown): void {
    if (typeof spec !== "string" || spec.trim() === "") throw new Error("expected \"file#ExportName\"");
    const [file, exportName] = spec.split("#");
    const root = realpathSync(pkgDir);
    const target = realpathSync(resolve(root, file));
    const rel = relative(root, target);
    if (rel.startsWith("..") || isAbsolute(rel)) throw new Error(`${file} is outside the package`);
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const loaded = require(target) as Record<string, unknown>;
    const exported = exportName ? loaded[exportName] : loaded;
    if (typeof exported !== "function") throw new Error(`${exportName ?? file} is not a class`);
    const Ctor = exported as new () => unknown;
    const create = (): Resolver => {
      const instance = new Ctor();
      if (instance instanceof Resolver) return instance;
      if (!isResolverShape(instance)) throw new Error("needs requires (string[]), produces (object) and solve()");
      return new PluginResolver(instance, name);
    };
    create(); // fail now, at discovery, rather than at first use
    this.register(name, create, pkgName);
  }
}

// %% [markdown]
// ### The engine at work: this machine, a latency target, and the catalogue
//
// Let us turn the MLP's measured profile into a workload and ask the engine three questions:
// what does the roofline model predict here (and how does that compare with the measured
// latency)? What bandwidth and compute would a 0.05 ms target need? Which catalogue entry is the
// cheapest — and which the most frugal in power — that meets it? A callback prints each stage as
// it ends. Finally, a plugin package is created in a temporary folder and discovered.

// %%
await demo("the engine", () => {
  const mlpProfile = mlpRun.profile;
  const peaks = mlpRun.peaks;
  if (!mlpProfile || !peaks) throw new Error("Not implemented: profile the MLP first");
  const work = makeWorkload("MLP forward, batch 32", mlpProfile.total.flops, mlpProfile.total.bytes);
  const here = measuredMachineSpec(peaks);
  const predicted = new RooflineModel().run({ workload: work, hardware: here });
  console.log(
    `roofline prediction on this machine: ${predicted.latency.to("ms").format({ precision: 3 })} (${predicted.bound}); ` +
      `measured median ${mlpProfile.total.medianMs.toFixed(3)} ms`,
  );
  const target = quantity(0.05, "ms");
  const pipeline = new Pipeline([new RooflineModel(), new RequiredBandwidthSolver(), new CheapestHardwareOptimizer()]);
  pipeline.registerCallback({
    onStageEnd: (stage, result) => {
      const shown = Object.entries(result)
        .filter(([, v]) => perfMath.isUnit(v) || typeof v !== "object")
        .map(([k, v]) => `${k}=${perfMath.isUnit(v) ? (v as Quantity).format({ precision: 3 }) : String(v)}`);
      console.log(`  [${stage}] ${shown.join(", ")}`);
    },
  });
  const catalogue = [...ACCELERATOR_CATALOGUE, here];
  const results = pipeline.run({ workload: work, hardware: here, targetLatency: target, catalogue });
  console.log("cheapest by launch price:", results.CheapestHardwareOptimizer.bestConfig);
  const frugal = new CheapestHardwareOptimizer("tdpWatts").run({ workload: work, targetLatency: target, catalogue });
  console.log(`lowest power meeting ${target.format({ precision: 3 })}:`, frugal.bestConfig, `${frugal.objectiveValue} W`);
});

// %%
await demo("plugin discovery", () => {
  const { mkdtempSync, mkdirSync, writeFileSync, rmSync } = require("node:fs") as typeof import("node:fs");
  const os = require("node:os") as typeof import("node:os");
  const root = mkdtempSync(join(os.tmpdir(), "tt-plugins-"));
  try {
    const pkg = join(root, "node_modules", "tt-power-tools");
    mkdirSync(pkg, { recursive: true });
    writeFileSync(
      join(pkg, "package.json"),
      JSON.stringify({ name: "tt-power-tools", "tinytorch-ts": { plugins: { energy_per_pass: "./index.js#EnergyModel" } } }),
    );
    writeFileSync(
      join(pkg, "index.js"),
      [
        "class EnergyModel {",
        "  constructor() { this.requires = ['latency', 'power']; this.produces = { energy: 'J' }; }",
        "  solve({ latency, power }) { return { energy: latency.multiply(power).to('mJ') }; }",
        "}",
        "module.exports = { EnergyModel };",
      ].join("\n"),
    );
    const registry = ResolverRegistry.withBuiltins();
    console.log("discovered:", registry.discover({ nodeModulesDirs: [join(root, "node_modules")] }));
    console.log("available:", Object.keys(registry.listAvailable()));
    const energy = registry.create("energy_per_pass").run({ latency: quantity(2, "ms"), power: quantity(72, "W") });
    console.log(`2 ms at 72 W (an L4's power limit) costs ${(energy.energy as Quantity).toString()}`);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

// %% [markdown]
// ## Reflection
//
// ### Predict, then measure
//
// Write each number in its cell **before** you run the measurement below them.
//
// 1. **A FLOP count.** How many FLOPs does one forward pass of the digits MLP
//    (`Linear(784→128)`, `ReLU`, `Linear(128→10)`) take on a batch of 64?
// 2. **A roof.** On a machine with a compute peak of 100 GFLOP/s and a bandwidth of 20 GB/s, at
//    most how many GFLOP/s can `Linear(784→128)` reach on a **single** input row, if it moves
//    its minimum traffic (the input and the parameters read once, the output written once, all
//    float32)?
// 3. **A model.** A batch sweep was fitted with `L = 3000` samples/s, `x0 = 4.5`, `k = 1.2`,
//    `b0 = 400`. What throughput does the curve predict at batch **48**?
// 4. **An estimate** (not graded: you will compare it with the measurement in Question 1). How
//    many times less time *per sample* does `Linear(784→128)` take on a batch of 64 than on a
//    single row, on this machine?

// %% nbgrader={"grade": false, "grade_id": "predict-digits-flops", "locked": false, "schema_version": 3, "solution": true, "task": false}
/** Your prediction: FLOPs of one forward pass of the digits MLP on a batch of 64. */
function predictedDigitsFlops(): number {
  // ### BEGIN SOLUTION
  // 2·64·784·128 (first Linear) + 64·128 (ReLU) + 2·64·128·10 (second Linear).
  return 2 * 64 * 784 * 128 + 64 * 128 + 2 * 64 * 128 * 10;
  // ### END SOLUTION
}

// %% nbgrader={"grade": false, "grade_id": "predict-single-row-roof", "locked": false, "schema_version": 3, "solution": true, "task": false}
/** Your prediction: GFLOP/s attainable by Linear(784→128) on one row, 100 GFLOP/s and 20 GB/s. */
function predictedSingleRowGflops(): number {
  // ### BEGIN SOLUTION
  // 2·784·128 FLOPs on 4·(784 + 784·128 + 128 + 128) bytes: I ≈ 0.49 FLOP/B, left of the ridge
  // (5 FLOP/B), so the roof is I × 20 GB/s ≈ 9.9 GFLOP/s: the weights' bytes dominate.
  const intensity = (2 * 784 * 128) / (4 * (784 + 784 * 128 + 128 + 128));
  return Math.min(100, intensity * 20);
  // ### END SOLUTION
}

// %% nbgrader={"grade": false, "grade_id": "predict-batch-48", "locked": false, "schema_version": 3, "solution": true, "task": false}
/** Your prediction: samples/s of the curve L 3000, x0 4.5, k 1.2, b0 400 at batch 48. */
function predictedThroughputAt48(): number {
  // ### BEGIN SOLUTION
  // x = log2(48) ≈ 5.585: y = 400 + 3000 / (1 + e^(−1.2 · 1.085)) ≈ 2758.
  return 400 + 3000 / (1 + Math.exp(-1.2 * (Math.log2(48) - 4.5)));
  // ### END SOLUTION
}

// %%
/** Your estimate (not graded): per-sample time on 1 row / per-sample time on 64. Replace the 0. */
const predictedBatchGain = 0;

// %%
await demo("measure the predictions", () => {
  const digits = new Sequential([new Linear(784, 128, { seed: 1 }), new ReLU(), new Linear(128, 10, { seed: 2 })]);
  console.log(`digits MLP on 64 rows: ${countFlops(digits, [64, 784]).flops.toLocaleString("en")} FLOPs (you predicted ${predictedDigitsFlops().toLocaleString("en")})`);
  const layer = new Linear(784, 128, { seed: 1 });
  const bytes = (rows: number): number => 4 * (rows * 784 + 784 * 128 + 128 + rows * 128);
  const machine: MachinePeaks = { peakFlopsPerSecond: 100e9, bandwidthBytesPerSecond: 20e9 };
  for (const rows of [1, 64]) {
    const place = rooflinePlacement(countFlops(layer, [rows, 784]).flops / bytes(rows), machine);
    console.log(`Linear(784→128) on ${rows} row(s), under 100 GFLOP/s and 20 GB/s: ${(place.attainableFlopsPerSecond / 1e9).toFixed(2)} GFLOP/s, ${place.bound}`);
  }
  console.log(`(you predicted ${predictedSingleRowGflops()} GFLOP/s for one row)`);
  const curve = new LogisticModel(3000, 4.5, 1.2, 400);
  console.log(`the curve at batch 48: ${curve.eval(48).toFixed(0)} samples/s (you predicted ${predictedThroughputAt48().toFixed(0)})`);
  const one = Tensor.randn([1, 784], new Rng(1));
  const many = Tensor.randn([64, 784], new Rng(2));
  const single = measureLatency(() => layer.forward(one), { warmup: 20, iterations: 200 });
  const batched = measureLatency(() => layer.forward(many), { warmup: 5, iterations: 40 });
  const gain = single.medianMs / (batched.medianMs / 64);
  console.log(`per sample: ${(1000 * single.medianMs).toFixed(1)} µs alone, ${((1000 * batched.medianMs) / 64).toFixed(1)} µs in a batch of 64: ${gain.toFixed(1)}x (you estimated ${predictedBatchGain}x)`);
});

// %% nbgrader={"grade": true, "grade_id": "test-unit-profiling-predictions", "locked": true, "points": 3, "schema_version": 3, "solution": false, "task": false}
function testUnitProfilingPredictions(): void {
  // ### BEGIN HIDDEN TESTS
  check("the digits MLP's FLOPs", 1, () => {
    assertPrediction(predictedDigitsFlops(), 2 * 64 * 784 * 128 + 64 * 128 + 2 * 64 * 128 * 10, { rtol: 0.02 }, "FLOPs of a forward pass on 64 rows");
  });
  check("one row's roof", 1, () => {
    const intensity = (2 * 784 * 128) / (4 * (784 + 784 * 128 + 128 + 128));
    assertPrediction(predictedSingleRowGflops(), Math.min(100, 20 * intensity), { rtol: 0.05 }, "GFLOP/s of Linear(784→128) on one row");
  });
  check("the curve at batch 48", 1, () => {
    assertPrediction(predictedThroughputAt48(), 400 + 3000 / (1 + Math.exp(-1.2 * (Math.log2(48) - 4.5))), { rtol: 0.03 }, "samples/s at batch 48");
  });
  // ### END HIDDEN TESTS
  passed("testUnitProfilingPredictions");
}
testUnitProfilingPredictions();

// %%
//| mutation predict-digits-flops counts multiply-adds, not FLOPs
function predictedDigitsFlops(): number {
  return 64 * 784 * 128 + 64 * 128 + 64 * 128 * 10;
}

// %%
//| mutation predict-single-row-roof takes the larger ceiling: min and max swapped
function predictedSingleRowGflops(): number {
  const intensity = (2 * 784 * 128) / (4 * (784 + 784 * 128 + 128 + 128));
  return Math.max(100, intensity * 20);
}

// %%
//| mutation predict-single-row-roof counts the input and output bytes but not the weights
function predictedSingleRowGflops(): number {
  const intensity = (2 * 784 * 128) / (4 * (784 + 128));
  return Math.min(100, intensity * 20);
}

// %%
//| mutation predict-batch-48 puts the batch size into the curve instead of log2(batch)
function predictedThroughputAt48(): number {
  return 400 + 3000 / (1 + Math.exp(-1.2 * (48 - 4.5)));
}

// %%
//| mutation predict-batch-48 the natural logarithm of the batch instead of log2
function predictedThroughputAt48(): number {
  return 400 + 3000 / (1 + Math.exp(-1.2 * (Math.log(48) - 4.5)));
}

// %% [markdown] nbgrader={"grade": true, "grade_id": "explain-batch-gain", "locked": false, "points": 2, "schema_version": 3, "solution": true, "task": false}
// **Question 1.** Compare your estimate of the per-sample gain of batching with the
// measurement, and with what your roofline prediction suggests (one row is memory-bound, 64
// rows are not). Why does batching help, and why is the measured gain not the roofline's ratio?
//
// ### BEGIN SOLUTION
// On one row, `Linear(784→128)` reads its 401 KB of weights to do 200 kFLOP: about 0.5 FLOP per
// byte, far left of any machine's ridge, so it is limited by moving the weights. A batch of 64
// reads the same weights once for 64 rows: 64 times the FLOPs for little more traffic, about 20
// FLOP/B, to the right of the ridge; the roofline allows up to ten times the FLOP rate on the
// example machine, so up to ten times less time per sample. Measured, the gain differs for two
// reasons. On one row most of the time is fixed cost per call (allocating the output tensor,
// shape checks, recording, the bias loop), which batching divides by 64, so the measured gain
// can exceed what the traffic alone explains; and module 01's i-k-j loop streams the weights
// again for every row of the batch rather than reusing them from a register or cache tile, so
// our kernel does not get the reuse the roofline's minimum traffic assumes, and it runs far
// below the roof at either size: the scalar loop's own speed limits it. The roofline bounds
// what is possible; the measurement shows what this implementation does.
// ### END SOLUTION
//
// ### BEGIN RUBRIC
// 2 points: one row is memory-bound because the weights dominate the traffic (intensity ≈ 0.5)
// while a batch reuses them (intensity grows with the rows), so batching can raise the FLOP
// rate; and the measured gain differs because of per-call overhead amortised by the batch and/or
// because our kernel does not reuse the weights as the minimum-traffic model assumes. 1 point:
// only one of the two.
// ### END RUBRIC

// %% [markdown] nbgrader={"grade": true, "grade_id": "explain-stability-rule", "locked": false, "points": 2, "schema_version": 3, "solution": true, "task": false}
// **Question 2.** The profiler accepts a measurement only when three consecutive windows agree
// in throughput **and** latency. What could go wrong if it averaged every window instead, or
// checked only that the last window is close to the mean of the last three? And what kind of
// bad measurement can the rule *not* detect?
//
// ### BEGIN SOLUTION
// Averaging every window mixes the warm-up (interpreter, cold caches, first allocations) and any
// disturbance into the figure, and gives a number even when the system never settled: the mean
// of a drifting series describes no state the system was in. Requiring three consecutive windows
// to agree accepts a figure only once the system has settled, and refuses (after `maxTrials`)
// to report one that never did. Checking only the last window against the mean lets a series
// such as 130, 90, 110 pass: the last window sits on the mean while the other two are 20% away,
// so the measurement is accepted in the middle of an oscillation. Latency must agree too: a queue
// can grow with a steady throughput (latency drifting upwards at the same rate of completions).
// What the rule cannot detect is a steady but unrepresentative state: a machine throttled or
// shared with another job for the whole measurement, a cache that is always warm because the same
// input repeats, a benchmark the optimizer has partly removed. Three windows agreeing shows the
// number is repeatable here and now, not that it is the right number.
// ### END SOLUTION
//
// ### BEGIN RUBRIC
// 2 points: averaging includes warm-up/transients and reports unsettled systems; the last-window
// check accepts oscillating series (an example), and latency matters as well as throughput; and
// one thing the rule cannot catch (a steady but wrong or unrepresentative state). 1 point: two of
// these three.
// ### END RUBRIC

// %% [markdown] nbgrader={"grade": true, "grade_id": "explain-log2-batch", "locked": false, "points": 2, "schema_version": 3, "solution": true, "task": false}
// **Question 3.** The logistic is fitted against `x = log2(batch)`, not against the batch size.
// Why? Describe what a fit in linear batch size would get wrong on a sweep over 1, 2, 4, …, 256,
// and how your third prediction shows it.
//
// ### BEGIN SOLUTION
// Batch sizes are swept geometrically, and throughput changes by similar amounts per doubling:
// the overhead amortised per sample falls like 1/batch, so the rise and the approach to the
// plateau happen over decades, evenly spread in log2(batch). In log2 the points are evenly
// spaced and one sigmoid describes the rise with a meaningful midpoint (batch 2^x0) and
// steepness per doubling. In linear batch size, eight of the nine points of 1…256 sit below 130:
// the curve would have to rise within the first few units and be flat for the rest, so the fit is
// dominated by a step near zero, the midpoint and steepness lose their meaning, and
// interpolating between 64 and 128 is driven by one or two points. Plugging the batch itself into
// a curve fitted in log2 makes the same mistake in the other direction: at batch 48 the
// argument is 48 instead of 5.58, so the curve is already on its plateau (3,400 samples/s
// instead of about 2,758), overestimating by a quarter.
// ### END SOLUTION
//
// ### BEGIN RUBRIC
// 2 points: throughput varies per doubling (overhead ∝ 1/batch), so log2 spaces the geometric
// sweep evenly and gives parameters a meaning; a linear fit crowds the points near zero / turns
// into a step / misplaces the midpoint; and the batch-48 example (48 instead of log2 48 lands on
// the plateau). 1 point: two of the three.
// ### END RUBRIC

// %% [markdown]
// ## Module test
//
// The final test runs the pieces together the way the benchmarking module will: profile a model,
// sweep a (virtual) server, fit the sweep, fit and use an ITL mixture, and ask the engine a
// question about the result.

// %% nbgrader={"grade": true, "grade_id": "test-module-profiling", "locked": true, "points": 5, "schema_version": 3, "solution": false, "task": false}
function testModule(): void {
  // Profile a model with fixed (fake) ceilings so the test does not depend on this machine.
  const model = new Sequential([new Linear(16, 32, { seed: 1 }), new ReLU(), new Linear(32, 4, { seed: 2 })]);
  const fakePeaks: MachinePeaks = { peakFlopsPerSecond: 1e9, bandwidthBytesPerSecond: 1e9 };
  const p = new Profiler({ peaks: fakePeaks, warmup: 1, iterations: 3 });
  assertEqual(p.countParameters(model), 16 * 32 + 32 + 32 * 4 + 4);
  assertEqual(p.countFlops(model, [8, 16]).flops, 2 * 8 * 16 * 32 + 8 * 32 + 2 * 8 * 32 * 4);
  const profile = p.profileForwardPass(model, Tensor.zeros([8, 16]));
  assertEqual(profile.kernels.map((k) => k.name), ["Linear(16→32)", "ReLU", "Linear(32→4)"]);
  assertEqual(profile.kernels[1].placement.bound, "memory-bound", "ReLU: 1 FLOP per 8 bytes");
  assertEqual(profile.total.flops, p.countFlops(model, [8, 16]).flops);
  assert(p.measureMemory(model, Tensor.zeros([8, 16])).parameterBytes === (16 * 32 + 32 + 32 * 4 + 4) * 4);
  // ### BEGIN HIDDEN TESTS
  // Sweep a virtual server whose throughput follows a known logistic, then fit it back.
  const truth = new LogisticModel(3000, 4, 1.5, 500);
  let now = 0;
  const sweepResult = profileBatchSweep(
    (batch: number) => {
      now += (batch / truth.eval(batch)) * 1e3;
    },
    (b) => b,
    new ProfilerConfig({
      batchSizes: [1, 2, 4, 8, 16, 32, 64, 128, 256],
      measurementRequestCount: 3,
      throughputCutoffThreshold: -1,
    }),
    { clock: () => now, warmup: 0 },
  );
  assertEqual(sweepResult.profiles.length, 9, "a negative cutoff never stops the sweep");
  const fitted = LogisticModel.fitBatches(
    sweepResult.profiles.map((q) => q.batchSize),
    sweepResult.profiles.map((q) => q.throughput),
  );
  assertClose(fitted.eval(48), truth.eval(48), { rtol: 1e-3 }, "the fitted sweep predicts unseen batch sizes");
  assertClose(LogisticModel.fromDict(fitted.toDict()).eval(10), fitted.eval(10), { rtol: 1e-12 });
  // An ITL mixture: fit, then the analytical mean agrees with the samples.
  const itlTruth = new ITLMixtureModel({ loc: 0.01, piSteady: 0.9, sigmaSteady: 0.25, scaleSteady: 0.02, piStall: 0.1, sigmaStall: 0.4, scaleStall: 0.15 });
  const rng = new Rng(123);
  const draws = Array.from({ length: 5000 }, () => itlTruth.sampleOne(rng));
  const itlFit = ITLMixtureModel.fit(draws);
  assertClose(itlFit.piStall, 0.1, { rtol: 0.25 });
  assertClose(itlFit.meanVar()[0], ss.mean(draws), { rtol: 0.02 });
  const roundTrip = ITLMixtureModel.fromDict(Object.fromEntries(Object.entries(itlFit.toDict()).map(([k, v]) => [`itl_mix_${k}`, v])));
  assertClose(roundTrip.meanVar(), itlFit.meanVar(), { rtol: 1e-12 });
  assert(Number.isNaN(itlFit.sampleAvg({ nReplicas: 0, rng })));
  // The engine on the profiled workload.
  const work = makeWorkload("test", profile.total.flops, profile.total.bytes);
  const needed = new RequiredBandwidthSolver().run({ workload: work, targetLatency: quantity(1, "ms") });
  assertClose(needed.requiredBandwidth.toNumber("B/s"), profile.total.bytes / 1e-3, { rtol: 1e-9 });
  const registry = ResolverRegistry.withBuiltins();
  assertEqual(Object.keys(registry.listAvailable()), ["roofline", "required_bandwidth", "cheapest_hardware"]);
  const out = new Pipeline([registry.create("roofline")]).run({ workload: work, hardware: measuredMachineSpec(fakePeaks) });
  assertClose((out.RooflineModel.latency as Quantity).toNumber("s"), Math.max(profile.total.flops, profile.total.bytes) / 1e9, { rtol: 1e-9 });
  // A training step under a scripted clock: forward 2 ms, backward 5 ms, optimizer 1 ms.
  const increments = [2, 5, 1, 0];
  let tick = 0;
  let calls = 0;
  const scripted = (): number => {
    const t = tick;
    tick += increments[calls++ % 4];
    return t;
  };
  const mseLoss = { forward: (o: Tensor, t: Tensor) => o.sub(t).pow(2).mean() };
  const sgd = new SGD(model.parameters(), { lr: 0.01, momentum: 0.9 });
  const step = profileTrainingStep(model, mseLoss, sgd, Tensor.ones([8, 16]), Tensor.zeros([8, 4]), {
    warmup: 2,
    iterations: 5,
    clock: scripted,
  });
  assertEqual(calls, 20, "the clock is read 4 times per measured step, never during warm-up");
  assertEqual([step.forward.medianMs, step.backward.medianMs, step.optimizer.medianMs, step.stepMs], [2, 5, 1, 8]);
  assertClose(step.backwardForwardTimeRatio, 2.5);
  assertEqual(step.forward.flops, p.countFlops(model, [8, 16]).flops);
  assertEqual(step.backward.flops, countBackwardFlops(model, [8, 16]));
  assertEqual(step.optimizer.flops, (16 * 32 + 32 + 32 * 4 + 4) * 5, "SGD with momentum: 5 FLOPs per parameter");
  assertClose(step.backwardForwardFlopRatio, step.backward.flops / step.forward.flops);
  assertClose(step.forward.gflopsPerSecond, step.forward.flops / 2e-3 / 1e9);
  assert(model.parameters()[0].grad !== null, "the step really ran backward");
  // Seeded, end to end: a random MLP profiled with fixed ceilings, and a training step under a
  // random scripted clock, against counts and times computed here.
  const rmod = testRandom("14/module");
  const [dIn, dHidden, dOut, batchRows] = [rmod.int(2, 24), rmod.int(2, 24), rmod.int(1, 8), rmod.int(1, 9)];
  const randomModel = new Sequential([new Linear(dIn, dHidden, { seed: 3 }), new ReLU(), new Linear(dHidden, dOut, { seed: 4 })]);
  const randomProfile = p.profileForwardPass(randomModel, Tensor.ones([batchRows, dIn]));
  assertEqual(randomProfile.kernels.map((k) => k.name), [`Linear(${dIn}→${dHidden})`, "ReLU", `Linear(${dHidden}→${dOut})`], "random MLP: kernels");
  assertEqual(
    randomProfile.kernels.map((k) => k.flops),
    [2 * batchRows * dIn * dHidden, batchRows * dHidden, 2 * batchRows * dHidden * dOut],
    "random MLP: FLOPs per kernel",
  );
  assertEqual(
    randomProfile.kernels.map((k) => k.placement.bound),
    [
      (2 * batchRows * dIn * dHidden) / (4 * (batchRows * dIn + dIn * dHidden + dHidden + batchRows * dHidden)) < 1 ? "memory-bound" : "compute-bound",
      "memory-bound",
      (2 * batchRows * dHidden * dOut) / (4 * (batchRows * dHidden + dHidden * dOut + dOut + batchRows * dOut)) < 1 ? "memory-bound" : "compute-bound",
    ],
    "random MLP: roofline placement with ridge 1 FLOP/B",
  );
  assertEqual(p.measureMemory(randomModel, Tensor.ones([batchRows, dIn])).parameterBytes, 4 * (dIn * dHidden + dHidden + dHidden * dOut + dOut), "random MLP: parameter bytes");
  const phases = [rmod.int(1, 20), rmod.int(1, 40), rmod.int(1, 10)];
  let randomTick = 0;
  let randomReads = 0;
  const randomClock = (): number => {
    const t = randomTick;
    randomTick += [...phases, 0][randomReads++ % 4];
    return t;
  };
  const momentum = rmod.bool() ? 0.9 : 0;
  const decay = rmod.bool() ? 1e-4 : 0;
  const randomSteps = rmod.int(1, 6);
  const randomStep = profileTrainingStep(
    randomModel,
    mseLoss,
    new SGD(randomModel.parameters(), { lr: 0.01, momentum, weightDecay: decay }),
    Tensor.ones([batchRows, dIn]),
    Tensor.zeros([batchRows, dOut]),
    { warmup: rmod.int(0, 3), iterations: randomSteps, clock: randomClock },
  );
  assertEqual(randomReads, 4 * randomSteps, "random steps: 4 clock reads per measured step");
  assertEqual(
    [randomStep.forward.medianMs, randomStep.backward.medianMs, randomStep.optimizer.medianMs, randomStep.stepMs],
    [phases[0], phases[1], phases[2], phases[0] + phases[1] + phases[2]],
    "random phases: medians and step time",
  );
  assertEqual(
    [randomStep.forward.flops, randomStep.backward.flops, randomStep.optimizer.flops],
    [
      2 * batchRows * dIn * dHidden + batchRows * dHidden + 2 * batchRows * dHidden * dOut,
      2 * batchRows * dIn * dHidden + batchRows * dHidden + 2 * batchRows * dHidden + 2 * (2 * batchRows * dHidden * dOut) + batchRows * dOut,
      (dIn * dHidden + dHidden + dHidden * dOut + dOut) * (2 + (decay !== 0 ? 2 : 0) + (momentum !== 0 ? 3 : 0)),
    ],
    "random MLP: forward, backward and optimizer FLOPs",
  );
  // ### END HIDDEN TESTS
  passed("testModule");
}
testModule();

// %% [markdown]
// ## Summary
//
// You built the instruments and the models:
//
// - **Counting** (`countFlops`, `measureMemory`): FLOPs from shapes propagated layer by layer;
//   parameter, activation and peak bytes from the tensors a pass really allocates.
// - **Timing** (`measureLatency`): warm-up, a nanosecond clock, median and IQR rather than a mean.
// - **Training steps** (`countBackwardFlops`, `profileTrainingStep`): forward, backward and
//   optimizer timed apart; backward costs about 2× forward by FLOPs for a layer whose input needs a
//   gradient, and about 1× for the first layer, whose input is data.
// - **The roofline** (`measureMachinePeaks`, `rooflinePlacement`, `Profiler`): this machine's
//   measured ceilings, and each kernel's arithmetic intensity deciding whether it is memory- or
//   compute-bound. In our JavaScript tensors the activations are always memory-bound and a
//   `Linear` layer's intensity grows with the batch size.
// - **Trustworthy measurements** (`ProfilerConfig`, `measureUntilStable`, `profileBatchSweep`):
//   windows by count or time, acceptance only when three consecutive windows agree, an error after
//   `maxTrials`, and a sweep that stops when throughput stops paying for bigger batches.
// - **Models** (`LogisticModel`, `ITLMixtureModel`): a logistic fitted by grid search plus
//   Levenberg–Marquardt; a two-log-normal mixture with analytical moments, CLT sampling for many
//   replicas, and an EM fit whose offset is chosen by profile likelihood.
// - **An engine** (`BaseModel`, `BaseSolver`, `BaseOptimizer`, `Pipeline`, `ResolverRegistry`):
//   forward models, inverses and searches with declared inputs and outputs, units checked by
//   mathjs, pipelines checked before they run, and plugins discovered from `package.json`.
//
// Two lessons to keep: a number without its spread and its stability check is an anecdote, and a
// model is only as good as the measurements it was fitted to — always plot the fit over the data.
// Next, module 19 uses these pieces to benchmark models MLPerf-style, with the statistics to
// compare them.
