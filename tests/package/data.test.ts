// The exported data pipeline (tinytorch-ts/data): datasets, the seeded DataLoader, and the
// deterministic per-digit MNIST split.
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { Tensor } from "../../tinytorch-ts/src/core/tensor";
import {
  DataLoader,
  type Dataset,
  TensorDataset,
  loadDigits,
  splitPerDigit,
  takeRows,
} from "../../tinytorch-ts/src/data";

const firstColumn = (t: Tensor): number[] =>
  Array.from({ length: t.shape[0] }, (_, i) => t.data[(i * t.size) / t.shape[0]]);

const data = new TensorDataset(Tensor.arange(23).reshape(23, 1), Tensor.arange(23));

test("every example exactly once per epoch, shuffled differently each epoch", () => {
  const loader = new DataLoader(data, { batchSize: 5, shuffle: true, seed: 3 });
  const epochs = [0, 1, 2].map(() => [...loader].flatMap(([x]) => firstColumn(x)));
  for (const order of epochs) {
    assert.equal(
      [...order].sort((a, b) => a - b),
      Array.from({ length: 23 }, (_, i) => i),
    );
  }
  assert.is.not(epochs[0]?.join(), epochs[1]?.join());
  const again = new DataLoader(data, { batchSize: 5, shuffle: true, seed: 3 });
  assert.equal(
    [0, 1, 2].map(() => [...again].flatMap(([x]) => firstColumn(x))),
    epochs,
    "same seed, same epochs",
  );
  assert.equal(takeRows(Tensor.zeros([2, 3]), []).shape, [0, 3]);
});

test("dropLast, batch sizes, and a batch larger than the data", () => {
  assert.equal(
    [...new DataLoader(data, { batchSize: 5 })].map(([x]) => x.shape[0]),
    [5, 5, 5, 5, 3],
  );
  assert.equal(
    [...new DataLoader(data, { batchSize: 5, dropLast: true })].map(([x]) => x.shape[0]),
    [5, 5, 5, 5],
  );
  assert.equal(
    [...new DataLoader(data, { batchSize: 100 })].map(([x]) => x.shape[0]),
    [23],
  );
  assert.is([...new DataLoader(data, { batchSize: 100, dropLast: true })].length, 0);
  assert.throws(() => new DataLoader(data, { batchSize: 0 }), /batchSize/);
});

test("a dataset without getBatch is stacked from get()", () => {
  const ds: Dataset = { length: 3, get: (i) => [new Tensor([i, -i]), new Tensor(i)] };
  const [x, y] = [...new DataLoader(ds, { batchSize: 3 })][0] ?? [];
  assert.equal(x?.toArray(), [
    [0, -0],
    [1, -1],
    [2, -2],
  ]);
  assert.equal(y?.toArray(), [0, 1, 2]);
});

test("splitPerDigit: per class, the first 80% train", () => {
  const a = Float32Array.from({ length: 10 }, (_, i) => i);
  const b = Float32Array.from({ length: 5 }, (_, i) => 100 + i);
  const { train, test: held } = splitPerDigit([a, b], 0.8, 1);
  assert.equal(Array.from(train.x.data), [0, 1, 2, 3, 4, 5, 6, 7, 100, 101, 102, 103]);
  assert.equal(Array.from(held.x.data), [8, 9, 104]);
  assert.equal(Array.from(held.y.data), [0, 0, 1]);
});

test("MNIST: 10,000 digits read deterministically from the mnist package", () => {
  const { train, test: held } = loadDigits();
  assert.is(train.length, 7996);
  assert.is(held.length, 2004);
  assert.equal(train.x.shape, [7996, 784]);
  const folder = join(dirname(require.resolve("mnist/package.json")), "src", "digits");
  const nine = (JSON.parse(readFileSync(join(folder, "9.json"), "utf8")) as { data: number[] })
    .data;
  const count = nine.length / 784;
  const lastTest = held.x.get(held.length - 1);
  assert.equal(Array.from(lastTest.data), Array.from(Float32Array.from(nine.slice(-784))));
  assert.is(held.y.get(held.length - 1).item(), 9);
  assert.is(count - Math.floor(count * 0.8), 196);
  assert.ok(train.x.max().item() <= 1 && train.x.min().item() >= 0);
});

test.run();
