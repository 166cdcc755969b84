// Module 14's profiler on module 09's layers (milestone 04's LeNet): parameters, forward and
// backward FLOPs from each layer's own cost model, and the activation memory measureMemory
// counts layer by layer, every figure against the formulas written out here.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { Tensor } from "../../tinytorch-ts/src/core/tensor";
import { ReLU } from "../../tinytorch-ts/src/core/activations";
import { Linear, Sequential, countParameters } from "../../tinytorch-ts/src/core/layers";
import { Conv2d, Flatten, MaxPool2d } from "../../tinytorch-ts/src/core/conv";
import {
  countBackwardFlops,
  countFlops,
  measureMemory,
} from "../../tinytorch-ts/src/perf/profiling";

const N = 4;
const lenet = () =>
  new Sequential([
    new Conv2d(1, 8, 5, { seed: 1 }),
    new MaxPool2d(2),
    new ReLU(),
    new Conv2d(8, 16, 5, { seed: 2 }),
    new MaxPool2d(2),
    new ReLU(),
    new Flatten(),
    new Linear(256, 10, { seed: 3 }),
  ]);

test("parameters and FLOPs: the convolutions state their own costs", () => {
  const model = lenet();
  assert.is(countParameters(model), 8 * 25 + 8 + 16 * 8 * 25 + 16 + 256 * 10 + 10);
  const conv1 = 2 * N * 8 * 24 * 24 * 25;
  const conv2 = 2 * N * 16 * 8 * 8 * 8 * 25;
  const pools = N * 8 * 12 * 12 * 3 + N * 16 * 4 * 4 * 3;
  const relus = N * 8 * 12 * 12 + N * 16 * 4 * 4;
  const forward = countFlops(model, [N, 1, 28, 28]);
  assert.equal(forward, { flops: conv1 + pools + relus + conv2 + 2 * N * 256 * 10, outputShape: [N, 10] }); // prettier-ignore
  // Backward: conv1 needs no input gradient (the images), every later layer does.
  const backward = [
    conv1 + N * 8 * 24 * 24, // conv1: the weight's product, the bias's sum
    N * 8 * 12 * 12 + 2 * N * 8 * 12 * 12, // pool (one routed add per output), ReLU (2 per value)
    2 * conv2 + N * 16 * 8 * 8, // conv2: the weight's and the input's products, the bias's sum
    N * 16 * 4 * 4 + 2 * N * 16 * 4 * 4, // pool, ReLU
    2 * (2 * N * 256 * 10) + N * 10, // linear: weight, input, bias
  ].reduce((a, b) => a + b, 0);
  assert.is(countBackwardFlops(model, [N, 1, 28, 28]), backward);
});

test("activation memory, layer by layer: im2col's columns dominate, views and weights are not counted", () => {
  const model = lenet();
  const report = measureMemory(model, Tensor.rand([N, 1, 28, 28], 4));
  assert.is(report.parameterBytes, 4 * countParameters(model));
  const bytes = (...sizes: number[]) => 4 * sizes.reduce((a, b) => a + b, 0);
  assert.equal(
    report.layers.map((l) => [l.name, l.allocatedBytes, l.outputBytes]),
    [
      // columns [N, 25, 576], the product [N, 8, 576], the biased copy (reshaped in place)
      ["Conv2d(1→8, 5×5)", bytes(N * 25 * 576, N * 8 * 576, N * 8 * 576), bytes(N * 8 * 576)],
      ["MaxPool2d", bytes(N * 8 * 144), bytes(N * 8 * 144)],
      ["ReLU", bytes(N * 8 * 144), bytes(N * 8 * 144)],
      ["Conv2d(8→16, 5×5)", bytes(N * 200 * 64, N * 16 * 64, N * 16 * 64), bytes(N * 16 * 64)],
      ["MaxPool2d", bytes(N * 16 * 16), bytes(N * 256)],
      ["ReLU", bytes(N * 256), bytes(N * 256)],
      ["Flatten", 0, bytes(N * 256)],
      ["Linear(256→10)", bytes(N * 10, N * 10), bytes(N * 10)],
    ],
  );
});

test.run();
