// The exported losses against values computed by hand from their definitions.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { Tensor } from "../../tinytorch-ts/src/core/tensor";
import {
  BinaryCrossEntropyLoss,
  CrossEntropyLoss,
  MSELoss,
  logSoftmax,
} from "../../tinytorch-ts/src/core/losses";

const near = (a: number, b: number, tol = 1e-5): void =>
  assert.ok(Math.abs(a - b) <= tol * Math.max(1, Math.abs(b)), `${a} vs ${b}`);

test("MSELoss: mean squared difference, 0-d, shapes must match", () => {
  const loss = new MSELoss().forward(new Tensor([1, 2, 3]), new Tensor([1, 2, 5]));
  assert.equal(loss.shape, []);
  near(loss.item(), 4 / 3);
  assert.throws(() => new MSELoss().forward(Tensor.zeros([4, 1]), Tensor.zeros([4])), /\[4, 1\]/);
});

test("logSoftmax is exact where log(softmax) would give -Infinity", () => {
  const y = logSoftmax(new Tensor([[1000, 0]]));
  assert.equal(Array.from(y.data), [0, -1000]);
  const z = logSoftmax(new Tensor([2, 1, 0.1]));
  near(z.data[0], -0.41703);
  near(z.exp().sum().item(), 1);
});

test("CrossEntropyLoss on integer labels", () => {
  const ce = new CrossEntropyLoss();
  near(ce.forward(new Tensor([[2, 1, 0.1]]), [0]).item(), 0.41703);
  near(ce.forward(Tensor.zeros([3, 10]), [0, 5, 9]).item(), Math.log(10));
  near(ce.forward(new Tensor([[1000, 0]]), [1]).item(), 1000);
  near(ce.forward(new Tensor([[1000, 0]]), new Tensor([0])).item(), 0);
  assert.throws(() => ce.forward(Tensor.zeros([2, 3]), [0, 3]), /label 3 at position 1/);
  assert.throws(() => ce.forward(Tensor.zeros([2, 3]), [0]), /2 rows of logits but 1 labels/);
  assert.throws(() => ce.forward(Tensor.zeros([3]), [0]), /\[N, C\]/);
});

test("BinaryCrossEntropyLoss clamps probabilities", () => {
  const bce = new BinaryCrossEntropyLoss();
  near(bce.forward(new Tensor([0.9, 0.2]), new Tensor([1, 0])).item(), 0.16425203);
  const worst = bce.forward(new Tensor([0, 1]), new Tensor([1, 0])).item();
  assert.ok(Number.isFinite(worst));
  near(worst, -Math.log(1e-7), 1e-4);
  assert.throws(() => bce.forward(Tensor.zeros([2]), Tensor.zeros([2, 1])), /same shape/);
});

test.run();
