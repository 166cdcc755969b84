// bench:conv's TensorFlow.js side, run in a child process (see tfjs-worker.ts): the per-layer
// conv2d timings and milestone 04's CNN in tfjs-core ops with tf.train.adam on
// tfjs-backend-wasm, from the same initial weights and on the same epochs as tinytorch-ts's.
import type { Scalar, Tensor4D } from "@tensorflow/tfjs-core";
import { loadDigitSplit } from "../milestones/03_mlp_digits";
import { leNet } from "../milestones/04_cnn_digits";
import { convBackward, layerTensors, tfjsCnn } from "./conv-tfjs";
import { gatherRows } from "./epoch-orders";
import { loadTf, type Tf } from "./tfjs";
import { serveRequests } from "./tfjs-worker";

export type ConvRequest =
  | { kind: "layer"; index: number }
  | { kind: "epoch"; order: Uint32Array; batch: number; lr: number }
  | { kind: "accuracy" };

function millis(fn: () => void): number {
  const t0 = performance.now();
  fn();
  return performance.now() - t0;
}

/** One layer's forward and backward in ms, on the tensors bench:conv builds (same seeds). */
function layerRunner(tf: Tf, index: number): () => { forward: number; backward: number } {
  const { layer, conv, x, dy } = layerTensors(index);
  const [n, c, h, w] = layer.shape;
  const [ho, wo] = [dy.shape[2], dy.shape[3]];
  const tx = tf.transpose(tf.tensor4d(x.data, [n, c, h, w]), [0, 2, 3, 1]) as Tensor4D;
  const tw = tf.transpose(tf.tensor4d(conv.weight.data, [layer.out, c, layer.k, layer.k]), [2, 3, 1, 0]) as Tensor4D; // prettier-ignore
  const tdy = tf.transpose(tf.tensor4d(dy.data, [n, layer.out, ho, wo]), [0, 2, 3, 1]) as Tensor4D;
  return () => ({
    forward: millis(() => tf.conv2d(tx, tw, 1, "valid").dispose()),
    backward: millis(() => convBackward(tf, tx, tw, tdy).forEach((t) => t.dispose())),
  });
}

async function main(): Promise<void> {
  const tf = await loadTf({ wasm: true, gradients: true });
  if (!(await tf.setBackend("wasm"))) throw new Error("tfjs-backend-wasm did not start");
  const { train, test } = loadDigitSplit();
  const { variables, forward } = tfjsCnn(tf, leNet(0));
  const layers = new Map<number, () => { forward: number; backward: number }>();
  let optimizer: ReturnType<Tf["train"]["adam"]> | null = null;

  function epoch(order: Uint32Array, batch: number, lr: number): { wall: number; cpu: number } {
    optimizer ??= tf.train.adam(lr, 0.9, 0.999, 1e-8);
    const adam = optimizer;
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    for (let start = 0; start < order.length; start += batch) {
      const end = Math.min(order.length, start + batch);
      const labels = gatherRows(train.labels.data, 1, order, start, end);
      tf.tidy(() => {
        const x = tf.tensor4d(gatherRows(train.images.data, 784, order, start, end), [end - start, 28, 28, 1]); // prettier-ignore
        const y = tf.oneHot(tf.tensor1d(Int32Array.from(labels), "int32"), 10);
        adam.minimize(
          () => tf.losses.softmaxCrossEntropy(y, forward(x)) as Scalar,
          false,
          variables,
        );
      });
    }
    const wall = (performance.now() - t0) / 1000;
    const cpu = process.cpuUsage(cpu0);
    return { wall, cpu: (cpu.user + cpu.system) / 1e6 };
  }

  function accuracy(): number {
    let right = 0;
    for (let start = 0; start < test.labels.size; start += 500) {
      const end = Math.min(test.labels.size, start + 500);
      const predicted = tf.tidy(
        () =>
        tf.argMax(forward(tf.tensor4d(test.images.data.subarray(start * 784, end * 784), [end - start, 28, 28, 1])), 1).dataSync(), // prettier-ignore
      );
      for (let i = 0; i < predicted.length; i++)
        if (predicted[i] === test.labels.data[start + i]) right++;
    }
    return right / test.labels.size;
  }

  serveRequests((request: ConvRequest) => {
    if (request.kind === "layer") {
      if (!layers.has(request.index)) layers.set(request.index, layerRunner(tf, request.index));
      return Promise.resolve((layers.get(request.index) as () => unknown)());
    }
    if (request.kind === "epoch")
      return Promise.resolve(epoch(request.order, request.batch, request.lr));
    return Promise.resolve(accuracy());
  });
}

main().catch((e: unknown) => {
  console.error(e);
  process.exitCode = 1;
});
