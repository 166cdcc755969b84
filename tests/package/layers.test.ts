// The exported layers: shapes, initialisation scale and seeds, dropout semantics, containers.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { Tensor } from "../../tinytorch-ts/src/core/tensor";
import { ReLU } from "../../tinytorch-ts/src/core/activations";
import {
  Dropout,
  Layer,
  Linear,
  type Module,
  Sequential,
  countParameters,
} from "../../tinytorch-ts/src/core/layers";

test("Linear computes x @ W + b with W of shape [in, out]", () => {
  const layer = new Linear(3, 2, { seed: 0 });
  assert.equal(layer.weight.shape, [3, 2]);
  assert.equal(layer.bias?.shape, [2]);
  layer.weight = new Tensor([
    [1, 0],
    [0, 1],
    [1, 1],
  ]);
  layer.bias = new Tensor([10, 20]);
  assert.equal(layer.forward(new Tensor([[1, 2, 3]])).toArray(), [[14, 25]]);
  assert.equal(layer.forward(new Tensor([1, 2, 3])).toArray(), [14, 25], "one example, 1-D");
  assert.throws(() => layer.forward(Tensor.ones([4, 5])), /\[4, 5\]/);
});

test("Linear initialisation: seeded, zero bias, std sqrt(1/in)", () => {
  const a = new Linear(400, 60, { seed: 5 });
  const b = new Linear(400, 60, { seed: 5 });
  assert.equal(Array.from(a.weight.data), Array.from(b.weight.data));
  assert.ok(
    Array.from(new Linear(400, 60, { seed: 6 }).weight.data).join() !==
      Array.from(a.weight.data).join(),
  );
  const std = Math.sqrt(a.weight.pow(2).mean().item());
  assert.ok(Math.abs(std - 0.05) < 0.0025, `std ${std}`);
  assert.equal(Array.from(a.bias?.data ?? []), new Array(60).fill(0));
  const noBias = new Linear(4, 2, { bias: false });
  assert.is(noBias.bias, null);
  assert.is(noBias.parameters().length, 1);
  assert.throws(() => new Linear(0, 2), /positive integer/);
});

test("Dropout: inverted scaling in training, identity in eval", () => {
  const x = Tensor.ones([50, 50]);
  const drop = new Dropout(0.25, { seed: 1 });
  const y = drop.forward(x);
  const kept = Array.from(y.data).filter((v) => v !== 0);
  assert.ok(kept.every((v) => Math.abs(v - 1 / 0.75) < 1e-6));
  assert.ok(Math.abs(kept.length / y.size - 0.75) < 0.04, `kept ${kept.length}`);
  assert.ok(drop.eval().forward(x) === x);
  assert.ok(new Dropout(0).forward(x) === x);
  assert.ok(Array.from(new Dropout(1).forward(x).data).every((v) => v === 0));
  assert.throws(() => new Dropout(2), /\[0, 1\]/);
  const d1 = new Dropout(0.5, { seed: 3 }).forward(x);
  const d2 = new Dropout(0.5, { seed: 3 }).forward(x);
  assert.equal(Array.from(d1.data), Array.from(d2.data), "seeded masks repeat");
});

test("Sequential chains modules, gathers parameters and switches modes", () => {
  const l1 = new Linear(4, 8, { seed: 0 });
  const drop = new Dropout(0.5, { seed: 0 });
  const l2 = new Linear(8, 3, { seed: 1 });
  const model = new Sequential([l1, new ReLU(), drop, l2]);
  const x = Tensor.randn([5, 4], 2);
  model.eval();
  assert.not.ok(drop.training);
  const expected = l2.forward(new ReLU().forward(l1.forward(x)));
  assert.equal(Array.from(model.forward(x).data), Array.from(expected.data));
  assert.is(model.parameters().length, 4);
  assert.ok(model.parameters()[0] === l1.weight);
  model.train();
  assert.ok(drop.training);
  assert.ok(model instanceof Layer);
  const custom: Module = { forward: (t) => t.neg(), parameters: () => [] };
  assert.equal(new Sequential([custom]).forward(new Tensor([1])).toArray(), [-1]);
});

test("countParameters counts each distinct tensor once", () => {
  assert.is(countParameters(new Linear(784, 128)), 784 * 128 + 128);
  const shared = new Linear(3, 3);
  assert.is(countParameters(new Sequential([shared, new ReLU(), shared])), 12);
  assert.is(countParameters(new ReLU()), 0);
});

test.run();
