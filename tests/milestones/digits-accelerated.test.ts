// Milestone 03 with module 18's switch on: the digits MLP trained through the WebAssembly SIMD
// matmul (forward and backward, since the backward pass multiplies through Tensor.matmul too)
// learns as well as with module 01's kernels. Same seed, same batches: only the order of the
// float32 sums differs, so the accuracies agree within run-to-run noise, not bit for bit.
// (Seconds per epoch with and without the switch: `npm run bench:accel`.)
import { test } from "uvu";
import * as assert from "uvu/assert";
import { trainDigits } from "../../milestones/03_mlp_digits";
// The package as the milestone imports it (the build's dist/): a copy of the sources under
// tinytorch-ts/src would have its own Tensor class, and its switch would not reach the milestone.
import { disableAcceleration, enableAcceleration } from "tinytorch-ts/accel/matmul";
import { setMatmulBackend } from "tinytorch-ts/core/tensor";

test("the digits MLP reaches the same accuracy with the accelerated matmul as without it", async () => {
  const options = { epochs: 3, stride: 4, timeBudgetSeconds: Infinity };
  disableAcceleration();
  const plain = trainDigits(options);
  const status = await enableAcceleration();
  let fast;
  try {
    assert.is(status.backend, "wasm-simd");
    const installed = setMatmulBackend(null);
    assert.ok(installed, "the milestone's Tensor.matmul has a backend installed");
    setMatmulBackend(installed);
    fast = trainDigits(options);
  } finally {
    disableAcceleration();
  }
  assert.is(fast.epochs.length, 3);
  for (let e = 0; e < 3; e++) {
    const a = plain.epochs[e];
    const b = fast.epochs[e];
    assert.ok(
      Math.abs(a.testAccuracy - b.testAccuracy) <= 0.02,
      `epoch ${e + 1}: test accuracy ${a.testAccuracy} without, ${b.testAccuracy} with`,
    );
    assert.ok(Math.abs(a.trainLoss - b.trainLoss) <= 0.02 * a.trainLoss, `epoch ${e + 1} loss`);
  }
  assert.ok(fast.testAccuracy >= 0.85, `accelerated test accuracy ${fast.testAccuracy}`);
  // Deterministic inputs, different kernel: the float32 sums round differently, so an identical
  // loss would mean the switch did not reach the milestone's layers.
  assert.is.not(fast.epochs[0].trainLoss, plain.epochs[0].trainLoss, "the SIMD kernel ran");
});

test.run();
