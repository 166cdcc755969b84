// bench:gpt's TensorFlow.js side, run in a child process (see tfjs-worker.ts): milestone 05's
// GPT written with tfjs-core ops on tfjs-backend-wasm, its variables copied from a tinytorch-ts
// GPT built with the same seed, so both libraries start from the same weights.
import type { Scalar, Tensor as TfTensor } from "@tensorflow/tfjs-core";
import { GPT } from "tinytorch-ts/nn/transformer";
import { MODEL } from "../milestones/05_transformer";
import { loadTf, type Tf } from "./tfjs";
import { serveRequests } from "./tfjs-worker";

export type GptRequest =
  | { kind: "init"; vocabSize: number; batch: number; lr: number }
  | { kind: "step"; x: Float32Array; y: Float32Array };

/** What the worker reports for one training step, measured inside it. */
export interface StepTiming {
  wall: number;
  cpu: number;
  loss: number;
}

/** The same GPT in tfjs-core ops, its variables copied from `model`'s parameters. */
function tfjsStepper(
  tf: Tf,
  model: GPT,
  batch: number,
  lr: number,
): (x: Float32Array, y: Float32Array) => number {
  type T = TfTensor;
  const { dModel: c, numHeads: h, blockSize: t } = MODEL;
  const hd = c / h;
  const vocab = model.config.vocabSize;
  const vars = new Map(model.namedParameters().map(([name, p]) => [name, tf.variable(tf.tensor(p.data, [...p.shape]), true, name.replace(/\./g, "_"))])); // prettier-ignore
  const v = (name: string): T => {
    const found = vars.get(name);
    if (found === undefined) throw new Error(`no parameter ${name}`);
    return found;
  };
  const blocked = new Float32Array(t * t);
  for (let i = 0; i < t; i++) for (let j = i + 1; j < t; j++) blocked[i * t + j] = -1e9;
  const mask = tf.tensor(blocked, [1, t, t]);
  const ln = (x: T, name: string): T => {
    const { mean, variance } = tf.moments(x, 1, true);
    return tf.add(tf.mul(tf.div(tf.sub(x, mean), tf.sqrt(tf.add(variance, 1e-5))), v(`${name}.weight`)), v(`${name}.bias`)); // prettier-ignore
  };
  const linear = (x: T, name: string): T =>
    tf.add(tf.matMul(x, v(`${name}.weight`)), v(`${name}.bias`));
  const gelu = (x: T): T => tf.mul(tf.mul(x, 0.5), tf.add(1, tf.tanh(tf.mul(Math.sqrt(2 / Math.PI), tf.add(x, tf.mul(0.044715, tf.pow(x, 3))))))); // prettier-ignore
  const heads = (x: T, b: number): T => tf.reshape(tf.transpose(tf.reshape(x, [b, t, h, hd]), [0, 2, 1, 3]), [b * h, t, hd]); // prettier-ignore
  const merge = (x: T, b: number): T => tf.reshape(tf.transpose(tf.reshape(x, [b, h, t, hd]), [0, 2, 1, 3]), [b * t, c]); // prettier-ignore
  const forward = (ids: T, b: number): T => {
    // A one-hot product instead of tf.gather: the WASM backend has no kernel for gather's
    // gradient (UnsortedSegmentSum). It costs 2·B·T·V·C FLOPs, about 1% of the step.
    let x = tf.add(
      tf.matMul(tf.cast(tf.oneHot(ids, vocab), "float32"), v("wte.weight")),
      tf.tile(v("wpe.weight"), [b, 1]),
    );
    for (let l = 0; l < model.config.numLayers; l++) {
      const p = `blocks.${l}`;
      const a = ln(x, `${p}.ln1`);
      const [q, k, vv] = ["qProj", "kProj", "vProj"].map((n) =>
        heads(linear(a, `${p}.attn.${n}`), b),
      );
      const weights = tf.softmax(
        tf.add(tf.mul(tf.matMul(q, k, false, true), 1 / Math.sqrt(hd)), mask),
      );
      x = tf.add(x, linear(merge(tf.matMul(weights, vv), b), `${p}.attn.outProj`));
      x = tf.add(x, linear(gelu(linear(ln(x, `${p}.ln2`), `${p}.mlp.fc`)), `${p}.mlp.proj`));
    }
    return linear(ln(x, "lnF"), "lmHead");
  };
  const optimizer = tf.train.adam(lr, 0.9, 0.999, 1e-8);
  const list = [...vars.values()];
  return (x, y) =>
    tf.tidy(() => {
      const ids = tf.tensor1d(Int32Array.from(x), "int32");
      const targets = tf.oneHot(tf.tensor1d(Int32Array.from(y), "int32"), vocab);
      const lossOf = () => tf.losses.softmaxCrossEntropy(targets, forward(ids, batch)) as Scalar;
      const loss = optimizer.minimize(lossOf, true, list) as Scalar;
      return loss.dataSync()[0];
    });
}

async function main(): Promise<void> {
  const tf = await loadTf({ wasm: true, gradients: true });
  if (!(await tf.setBackend("wasm"))) throw new Error("tfjs-backend-wasm did not start");
  let step: ((x: Float32Array, y: Float32Array) => number) | null = null;
  serveRequests((request: GptRequest) => {
    if (request.kind === "init") {
      const model = new GPT({ vocabSize: request.vocabSize, ...MODEL, seed: 0 });
      step = tfjsStepper(tf, model, request.batch, request.lr);
      return Promise.resolve(null);
    }
    if (step === null) return Promise.reject(new Error("step before init"));
    const run = step;
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    const loss = run(request.x, request.y);
    const wall = performance.now() - t0;
    const cpu = process.cpuUsage(cpu0);
    return Promise.resolve({
      wall,
      cpu: (cpu.user + cpu.system) / 1000,
      loss,
    } satisfies StepTiming);
  });
}

main().catch((e: unknown) => {
  console.error(e);
  process.exitCode = 1;
});
