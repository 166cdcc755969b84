// `npm run bench:gpt`: the training step and the generation speed of milestone 05's GPT
// (characters of Moby-Dick, 2 pre-norm blocks, d_model 128, 4 heads, context 64, batch 32),
//
//   1. tinytorch-ts: the package built from the course modules, with module 18's WebAssembly
//      SIMD matmul switched on (as the milestone runs it), AdamW;
//   2. the same model written with TensorFlow.js's ops (@tensorflow/tfjs-core 3.21) on
//      @tensorflow/tfjs-backend-wasm (XNNPACK, one thread), `tf.train.adam`,
//
// in the same run, from the same initial weights, on the same seeded batches, the libraries
// taking turns step by step. Before that, a second tinytorch-ts model from the same seed runs the
// same steps back to back, the way the PyTorch figure was measured: between the alternating
// steps our process idles for tfjs's 2.5 s, and its caches and collector start each step cold. TensorFlow.js runs in a child process with a V8 heap of its own
// (see tfjs-worker.ts), each step timed inside its own process while the other waits.
// Printed: median milliseconds (wall and CPU) per training step and their ratio (goal: at least
// 1.0x tfjs-wasm), the goal of 4x PyTorch (measured in this project: 60-65 ms/step for this
// model, one CPU thread), and tinytorch-ts's tokens per second when
// generating within the context with and without module 17's key/value cache. Two differences
// in tfjs, both of the same cost: its GELU is the tanh approximation (the WASM backend has no
// erf kernel) and its Adam has no decoupled weight decay; and its embedding is a one-hot product
// (no kernel for gather's gradient). The machine may be shared: the load
// average is printed beside the figures.
import { tuneHeapForTraining } from "@tinytorch-ts/core";
import { cpus, loadavg } from "node:os";
import { join } from "node:path";
import type { GptRequest, StepTiming } from "./gpt-tfjs-worker";
import { withTfjsWorker, type TfjsWorker } from "./tfjs-worker";
import { Rng, Tensor } from "tinytorch-ts/core/tensor";
import { AdamW } from "tinytorch-ts/optim";
import { CharTokenizer, loadMobyDick, splitHeldOut } from "tinytorch-ts/text/tokenization";
import { GPT } from "tinytorch-ts/nn/transformer";
import { KVCache } from "tinytorch-ts/nn/kvcache";
import { enableAcceleration, disableAcceleration } from "tinytorch-ts/accel/matmul";
import { MODEL } from "../milestones/05_transformer";

const BATCH = 32;
const WARMUP_STEPS = 4;
const STEPS = Number(process.env.BENCH_GPT_STEPS ?? 20);
const LR = 1e-3;
const PYTORCH_MS = [60, 65];

type Batch = { x: Float32Array; y: Float32Array };

/** Seeded batches of BATCH windows of the training text, shared by both libraries. */
function batches(ids: Float32Array, count: number): Batch[] {
  const rng = new Rng(7);
  const t = MODEL.blockSize;
  return Array.from({ length: count }, () => {
    const x = new Float32Array(BATCH * t);
    const y = new Float32Array(BATCH * t);
    for (let b = 0; b < BATCH; b++) {
      const start = rng.int(ids.length - t - 1);
      x.set(ids.subarray(start, start + t), b * t);
      y.set(ids.subarray(start + 1, start + t + 1), b * t);
    }
    return { x, y };
  });
}

interface Stepper {
  step(batch: Batch): number;
}

function tinytorchStepper(model: GPT): Stepper {
  const optimizer = new AdamW(model.parameters(), { lr: LR });
  const shape = [BATCH, MODEL.blockSize];
  return {
    step({ x, y }) {
      optimizer.zeroGrad();
      const loss = model.loss(new Tensor(x, shape), new Tensor(y, shape));
      loss.backward();
      optimizer.step();
      return loss.item();
    },
  };
}

interface Timing {
  wall: number[];
  cpu: number[];
  loss: number[];
}

function timed(stepper: Stepper, batch: Batch, into: Timing): void {
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  into.loss.push(stepper.step(batch));
  into.wall.push(performance.now() - t0);
  const cpu = process.cpuUsage(cpu0);
  into.cpu.push((cpu.user + cpu.system) / 1000);
}

function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}

/** Tokens per second generating `count` tokens after a one-token prompt (best of `reps`). */
function generationSpeed(model: GPT, count: number, cache: KVCache | undefined, reps = 3): number {
  let best = Infinity;
  for (let r = 0; r < reps; r++) {
    const t0 = performance.now();
    model.generate([0], count, { seed: r, cache });
    best = Math.min(best, (performance.now() - t0) / 1000);
  }
  return count / best;
}

async function main(): Promise<void> {
  await withTfjsWorker(join(__dirname, "gpt-tfjs-worker.ts"), run);
}

async function run(tfjs: TfjsWorker): Promise<void> {
  const status = await enableAcceleration();
  try {
    const { train } = splitHeldOut(loadMobyDick().text);
    const tok = CharTokenizer.fromText(train);
    const ids = Float32Array.from(tok.encode(train));
    const model = new GPT({ vocabSize: tok.vocabSize, ...MODEL, seed: 0 });
    const ours = tinytorchStepper(model);
    // the same GPT (same seed) rebuilt in the worker, its weights copied into tfjs variables
    await tfjs.call({ kind: "init", vocabSize: tok.vocabSize, batch: BATCH, lr: LR } satisfies GptRequest); // prettier-ignore
    const work = batches(ids, WARMUP_STEPS + STEPS);
    const loadBefore = loadavg()[0];
    const steady: Timing = { wall: [], cpu: [], loss: [] };
    const twin = tinytorchStepper(new GPT({ vocabSize: tok.vocabSize, ...MODEL, seed: 0 }));
    process.stdout.write(
      `training ${WARMUP_STEPS} + ${STEPS} steps with tinytorch-ts back to back `,
    );
    for (const [i, batch] of work.entries()) {
      timed(twin, batch, i < WARMUP_STEPS ? { wall: [], cpu: [], loss: [] } : steady);
      process.stdout.write(".");
    }
    console.log("");
    const oursTime: Timing = { wall: [], cpu: [], loss: [] };
    const theirsTime: Timing = { wall: [], cpu: [], loss: [] };
    process.stdout.write(
      `training ${WARMUP_STEPS} + ${STEPS} steps with each library, alternating `,
    );
    for (const [i, batch] of work.entries()) {
      const warmUp = i < WARMUP_STEPS;
      timed(ours, batch, warmUp ? { wall: [], cpu: [], loss: [] } : oursTime);
      const t = await tfjs.call<StepTiming>({ kind: "step", ...batch } satisfies GptRequest);
      if (!warmUp) {
        theirsTime.wall.push(t.wall);
        theirsTime.cpu.push(t.cpu);
        theirsTime.loss.push(t.loss);
      }
      process.stdout.write(".");
    }
    console.log("\n");
    const params = model.parameters().reduce((n, p) => n + p.size, 0);
    const gen = { uncached: generationSpeed(model, MODEL.blockSize - 1, undefined), cached: generationSpeed(model, MODEL.blockSize - 1, new KVCache(model)) }; // prettier-ignore
    const loadAfter = loadavg()[0];
    console.log(
      `machine: ${cpus().length} cores (${cpus()[0]?.model ?? "unknown CPU"}), Node ${process.version}`,
    );
    console.log(`load average (1 min): ${loadBefore.toFixed(2)} before, ${loadAfter.toFixed(2)} after (above ${cpus().length}, wall-clock figures are inflated; CPU time much less so)`); // prettier-ignore
    console.log(`GPT: ${MODEL.numLayers} blocks, d_model ${MODEL.dModel}, ${MODEL.numHeads} heads, context ${MODEL.blockSize}, vocabulary ${tok.vocabSize}, ${params.toLocaleString("en")} parameters; batch ${BATCH}; tinytorch-ts matmul: ${status.backend}\n`); // prettier-ignore
    const row = (name: string, t: Timing) =>
      `${name.padEnd(40)} ${median(t.wall).toFixed(1).padStart(12)} ${median(t.cpu).toFixed(1).padStart(9)} ${Math.min(...t.wall).toFixed(1).padStart(8)} ${t.loss[t.loss.length - 1].toFixed(3).padStart(11)}`; // prettier-ignore
    console.log(`${"".padEnd(40)} ${"ms/step".padStart(12)} ${"(CPU ms)".padStart(9)} ${"best".padStart(8)} ${"last loss".padStart(11)}`); // prettier-ignore
    console.log(row("tinytorch-ts (accelerated), AdamW", oursTime));
    console.log(row("tfjs-core ops on tfjs-backend-wasm, Adam", theirsTime));
    console.log(row(`tinytorch-ts, ${STEPS} steps back to back`, steady));
    const byWall = median(theirsTime.wall) / median(oursTime.wall);
    const byCpu = median(theirsTime.cpu) / median(oursTime.cpu);
    console.log(`\ntinytorch-ts speed relative to tfjs-wasm: ${byWall.toFixed(2)}x by wall time, ${byCpu.toFixed(2)}x by CPU time (goal: >= 1.0x)`); // prettier-ignore
    const vsTorch = (ms: number) =>
      `${(ms / PYTORCH_MS[1]).toFixed(1)}-${(ms / PYTORCH_MS[0]).toFixed(1)}x`;
    console.log(`against PyTorch 1.13 on one CPU thread (${PYTORCH_MS.join("-")} ms/step, measured in this project; goal: within 4x, <= ${4 * PYTORCH_MS[0]}-${4 * PYTORCH_MS[1]} ms):`); // prettier-ignore
    console.log(`  back to back: ${vsTorch(median(steady.wall))} by wall time, ${vsTorch(median(steady.cpu))} by CPU time (the collector's threads included)`); // prettier-ignore
    console.log(`  alternating with tfjs: ${vsTorch(median(oursTime.wall))} by wall time, ${vsTorch(median(oursTime.cpu))} by CPU time`); // prettier-ignore
    console.log(`generation, ${MODEL.blockSize - 1} tokens after a 1-token prompt (within the context): ${gen.uncached.toFixed(0)} tokens/s without the cache, ${gen.cached.toFixed(0)} tokens/s with module 17's KVCache (${(gen.cached / gen.uncached).toFixed(1)}x)`); // prettier-ignore
  } finally {
    disableAcceleration();
  }
}

// Both libraries train with the heap setting the kit's milestone runner uses (core's training-heap.ts).
tuneHeapForTraining();
main().catch((e: unknown) => {
  console.error(e);
  process.exitCode = 1;
});
