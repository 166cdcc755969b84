// Milestone 04: the LeNet-style CNN learns on a quarter of the digits split in two epochs (the
// full run, 96% within 120 s, is `npx tito milestone 04`; `npm run bench:conv` times it); its
// report and charts; and module 09's convolution through module 18's SIMD kernel, forward and
// backward, agrees with module 01's kernel and sends every product through the switch.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { renderChart } from "tinytorch-ts/support/chart";
// The built package, as the milestone imports it, so that the switch reaches its Tensor.
import { Tensor, setMatmulBackend } from "tinytorch-ts/core/tensor";
import { matmulBackward } from "tinytorch-ts/core/autograd";
import { Conv2d, windowKernelSlot } from "tinytorch-ts/core/conv";
import { disableAcceleration, enableAcceleration } from "tinytorch-ts/accel/matmul";
import {
  featureMapsSpec,
  filtersSpec,
  formatCnnReport,
  leNet,
  trainCnn,
} from "../../milestones/04_cnn_digits";

test("a short run learns: loss falls, accuracy well above chance, every test digit counted", async () => {
  let result;
  try {
    result = await trainCnn({ stride: 4, epochs: 2, timeBudgetSeconds: Infinity });
  } finally {
    disableAcceleration();
  }
  assert.is(result.backend, "wasm-simd");
  assert.is(result.epochs.length, 2);
  assert.ok(result.epochs[1].trainLoss < 0.6 * result.epochs[0].trainLoss, `loss ${result.epochs.map((e) => e.trainLoss)}`); // prettier-ignore
  assert.ok(result.testAccuracy >= 0.75, `test accuracy ${result.testAccuracy} after two epochs on 2,000 digits`); // prettier-ignore
  const total = result.confusion.flat().reduce((a, b) => a + b, 0);
  assert.is(total, result.testSize, "every test image is in the confusion matrix");
  const diagonal = result.confusion.reduce((s, row, d) => s + row[d], 0);
  assert.is(diagonal / result.testSize, result.testAccuracy, "the diagonal is the accuracy");
  const report = formatCnnReport(result);
  assert.match(report, /epoch\s+train s \(cpu\)\s+train loss\s+train acc\s+test acc/);
  assert.match(report, /confusion matrix/);
  assert.match(
    report,
    /FAILED: below the target/,
    "two epochs on a quarter of the data is not the milestone",
  );
});

test("the filters and one digit's feature maps render as SVG heatmaps", async () => {
  const model = leNet(3);
  const filters = await renderChart(filtersSpec(model));
  assert.match(filters.svg, /^<svg/);
  assert.match(filters.svg, /filter 8/);
  const digit = Tensor.rand([1, 1, 28, 28], 4);
  const maps = await renderChart(featureMapsSpec(model, digit));
  assert.match(maps.svg, /the digit/);
  assert.match(maps.svg, /conv1 map 8/);
  assert.ok(
    maps.svg.length + JSON.stringify(maps.spec).length < 800_000,
    "small enough for a notebook output (tito run cuts at 1 MB)",
  );
  assert.match(maps.svg, /conv2 map 16/);
});

test("a convolution through the SIMD kernels: same output and gradients; the forward product through the backend, the backward through the switch's rule", async () => {
  const conv = new Conv2d(3, 5, 3, { stride: 2, padding: 1, seed: 7 });
  (conv.bias as Tensor).data.set([0.5, -1, 2, 0, 1]);
  const x = Tensor.randn([2, 3, 9, 7], 8);
  const g = Tensor.randn([2, 5, 5, 4], 9);
  const run = () => {
    conv.weight.grad = null;
    (conv.bias as Tensor).grad = null;
    const input = x.clone().setRequiresGrad();
    const y = conv.forward(input);
    y.backward(g);
    return [y, input.grad, conv.weight.grad, (conv.bias as Tensor).grad].map((t) =>
      Array.from((t as Tensor).data),
    );
  };
  disableAcceleration();
  const plain = run();
  const status = await enableAcceleration();
  let products = 0;
  let fast: number[][] = [];
  try {
    assert.is(status.backend, "wasm-simd");
    const simd = setMatmulBackend(null);
    if (simd === null) throw new Error("no backend installed");
    setMatmulBackend((a, b) => {
      products++;
      return simd(a, b);
    });
    assert.is.not(Tensor.backwardRules.get("matmul"), matmulBackward, "the switch's matmul rule");
    assert.ok(windowKernelSlot.im2col && windowKernelSlot.col2im, "the window kernels installed");
    fast = run();
  } finally {
    disableAcceleration();
  }
  assert.is(products, 1, "W2d @ cols forward");
  assert.is(Tensor.backwardRules.get("matmul"), matmulBackward, "module 06's rule back");
  assert.is(windowKernelSlot.im2col, null, "module 09's im2col back");
  plain.forEach((values, i) => {
    values.forEach((v, e) => {
      const w = fast[i][e];
      assert.ok(
        Math.abs(v - w) <= 1e-4 + 1e-4 * Math.abs(v),
        `tensor ${i}, element ${e}: ${v} plain, ${w} SIMD`,
      );
    });
  });
});

test.run();
