// Milestone 05: the Transformer (Vaswani et al., 2017), as a GPT (Radford et al., 2018), built
// only from the tinytorch-ts package the user has (in a student bundle: their own exported code).
//
// A character-level GPT (2 pre-norm blocks, d_model 128, 4 heads, context 64; modules 10-13)
// trained with AdamW (module 07) on the first 90% of Moby-Dick's characters (module 10's corpus),
// with module 18's WebAssembly SIMD matmul switched on, and measured on the last 10%.
// Target: a held-out loss of at most 1.85 nats per character within 5 minutes of training
// (CPU time of this process, which is the wall time on an idle machine). Beside it, a count
// bigram model with add-one smoothing on the same held-out text (about 2.41), and a sample from
// a fixed seed before and after training, generated with module 17's key/value cache. In a
// notebook it also plots the losses and one attention map.
//
// Run it with `npx tito milestone 05`; tests/milestones/transformer.test.ts checks a short run,
// and `npm run bench:gpt` measures the training step against TensorFlow.js.
import { cpus, loadavg } from "node:os";
import { Rng, Tensor } from "tinytorch-ts/core/tensor";
import { noGrad } from "tinytorch-ts/core/autograd";
import { AdamW } from "tinytorch-ts/optim";
import { clipGradNorm } from "tinytorch-ts/training";
import { CharTokenizer, loadMobyDick, splitHeldOut } from "tinytorch-ts/text/tokenization";
import { GPT } from "tinytorch-ts/nn/transformer";
import { KVCache } from "tinytorch-ts/nn/kvcache";
import { enableAcceleration, disableAcceleration } from "tinytorch-ts/accel/matmul";
import { showChart, type ChartSpec } from "tinytorch-ts/support/chart";
import { inNotebook } from "tinytorch-ts/support/display";
import { isNotImplemented } from "tinytorch-ts/support/testing";

/** The milestone's model: characters in, 2 blocks of width 128 with 4 heads, context 64. */
export const MODEL = { dModel: 128, numHeads: 4, numLayers: 2, blockSize: 64 };

export interface TransformerOptions {
  /** CPU seconds of training (default 300: five minutes). */
  budgetSeconds?: number;
  /** Stop after this many steps at most (default: none, the budget decides). */
  maxSteps?: number;
  batchSize?: number;
  /** The peak learning rate, reached after a short warm-up and annealed by a cosine. */
  lr?: number;
  seed?: number;
  /** Another model size (tests); the milestone's by default. */
  model?: Partial<typeof MODEL>;
  /** Use module 18's accelerated matmul (default true). */
  accelerate?: boolean;
  /** Measure the held-out loss on its first `probeChars` characters every `probeEvery` steps. */
  probeEvery?: number;
  probeChars?: number;
  /** Called after every step with its record (a progress line, a live chart). */
  onStep?: (record: StepRecord) => void;
  /** Characters of the generated samples (default 240). */
  sampleChars?: number;
  /** Measure the final held-out loss on its first `heldOutChars` characters (default: all). */
  heldOutChars?: number;
  /** The held-out loss to reach (default 1.85 nats per character). */
  target?: number;
}

/**
 * A short run that checks the whole path in seconds (a small model, 150 steps), judged against
 * its own target: `TINYTORCH_MILESTONE_SMOKE=1 npx tito milestone 05` (the bundle test runs it
 * so; tests/milestones/transformer.test.ts checks the same run in the kit).
 */
export const SMOKE: TransformerOptions = {
  model: { dModel: 32, numHeads: 2, numLayers: 1, blockSize: 32 },
  batchSize: 16,
  maxSteps: 150,
  budgetSeconds: Infinity,
  probeEvery: 75,
  probeChars: 4096,
  heldOutChars: 16_384,
  sampleChars: 40,
  target: 2.9,
};

export interface StepRecord {
  step: number;
  cpuSeconds: number;
  trainLoss: number;
  /** The loss on the first probeChars held-out characters, at probe steps. */
  probeLoss?: number;
}

export interface TransformerResult {
  model: typeof MODEL;
  batchSize: number;
  backend: string;
  parameters: number;
  trainChars: number;
  heldOutChars: number;
  vocabSize: number;
  steps: StepRecord[];
  trainingSeconds: number;
  trainingWallSeconds: number;
  loadAverage: number;
  heldOutLoss: number;
  bigramLoss: number;
  sampleBefore: string;
  sampleAfter: string;
  target: number;
  budgetSeconds: number;
  passed: boolean;
  /** Attention weights of the last block's first head on a held-out passage (for the map). */
  attention: { text: string; weights: number[][] };
}

/** Mean negative log-likelihood (nats) of each held-out character given the one before it,
 * under bigram counts of the training text with add-one (Laplace) smoothing. */
export function bigramLoss(
  train: ArrayLike<number>,
  heldOut: ArrayLike<number>,
  vocabSize: number,
): number {
  const counts = new Float64Array(vocabSize * vocabSize);
  const rows = new Float64Array(vocabSize);
  for (let i = 0; i + 1 < train.length; i++) {
    counts[train[i] * vocabSize + train[i + 1]] += 1;
    rows[train[i]] += 1;
  }
  let nll = 0;
  for (let i = 0; i + 1 < heldOut.length; i++) {
    const [a, b] = [heldOut[i], heldOut[i + 1]];
    nll -= Math.log((counts[a * vocabSize + b] + 1) / (rows[a] + vocabSize));
  }
  return nll / (heldOut.length - 1);
}

/** The model's mean loss over `ids` cut into consecutive windows of blockSize + 1 characters. */
export function heldOutLoss(model: GPT, ids: Float32Array, batchSize = 64): number {
  const t = model.config.blockSize;
  const windows = Math.floor((ids.length - 1) / t);
  let total = 0;
  let count = 0;
  model.eval();
  noGrad(() => {
    for (let first = 0; first < windows; first += batchSize) {
      const n = Math.min(batchSize, windows - first);
      const x = new Float32Array(n * t);
      const y = new Float32Array(n * t);
      for (let w = 0; w < n; w++) {
        x.set(ids.subarray((first + w) * t, (first + w + 1) * t), w * t);
        y.set(ids.subarray((first + w) * t + 1, (first + w + 1) * t + 1), w * t);
      }
      total += model.loss(new Tensor(x, [n, t]), new Tensor(y, [n, t])).item() * n * t;
      count += n * t;
    }
  });
  model.train();
  return total / count;
}

function cpuSeconds(since: NodeJS.CpuUsage): number {
  const used = process.cpuUsage(since);
  return (used.user + used.system) / 1e6;
}

/** Trains the milestone's GPT within the budget and measures it on the held-out tenth. */
export async function trainTransformer(
  options: TransformerOptions = {},
): Promise<TransformerResult> {
  const budget = options.budgetSeconds ?? 300;
  const batchSize = options.batchSize ?? 32;
  const peakLr = options.lr ?? 4e-3;
  const seed = options.seed ?? 0;
  const { train, heldOut } = splitHeldOut(loadMobyDick().text);
  const tok = CharTokenizer.fromText(train);
  const trainIds = Float32Array.from(tok.encode(train));
  const heldIds = Float32Array.from(tok.encode(heldOut));
  const finalIds =
    options.heldOutChars === undefined ? heldIds : heldIds.subarray(0, options.heldOutChars);
  const probeIds = heldIds.subarray(0, options.probeChars ?? 8192);
  const size = { ...MODEL, ...options.model };
  const model = new GPT({ vocabSize: tok.vocabSize, ...size, seed });
  const backend =
    options.accelerate === false ? "module 01's kernel" : (await enableAcceleration()).backend;
  try {
    const optimizer = new AdamW(model.parameters(), {
      lr: peakLr,
      betas: [0.9, 0.99],
      weightDecay: 0.01,
    });
    const prompt = tok.encode("Call me Ishmael. ");
    const sampleChars = options.sampleChars ?? 240;
    const sample = (): string => tok.decode(model.generate(prompt, sampleChars, { seed, temperature: 0.8, cache: new KVCache(model) })); // prettier-ignore
    const sampleBefore = sample();
    const rng = new Rng(seed + 1);
    const t = size.blockSize;
    const steps: StepRecord[] = [];
    let trainingSeconds = 0;
    let wall = 0;
    const warmup = 20;
    for (let step = 1; options.maxSteps === undefined || step <= options.maxSteps; step++) {
      if (trainingSeconds >= budget) break;
      const x = new Float32Array(batchSize * t);
      const y = new Float32Array(batchSize * t);
      for (let b = 0; b < batchSize; b++) {
        const start = rng.int(trainIds.length - t - 1);
        x.set(trainIds.subarray(start, start + t), b * t);
        y.set(trainIds.subarray(start + 1, start + t + 1), b * t);
      }
      // Warm up linearly, then a cosine from the peak to a tenth of it over the time budget.
      const done = Math.min(1, trainingSeconds / budget);
      const schedule = 0.1 + 0.45 * (1 + Math.cos(Math.PI * done));
      optimizer.lr = peakLr * Math.min(1, step / warmup) * schedule;
      const cpu = process.cpuUsage();
      const t0 = performance.now();
      optimizer.zeroGrad();
      const loss = model.loss(new Tensor(x, [batchSize, t]), new Tensor(y, [batchSize, t]));
      loss.backward();
      clipGradNorm(optimizer.params, 1);
      optimizer.step();
      trainingSeconds += cpuSeconds(cpu);
      wall += (performance.now() - t0) / 1000;
      const record: StepRecord = { step, cpuSeconds: trainingSeconds, trainLoss: loss.item() };
      if (options.probeEvery !== undefined && step % options.probeEvery === 0)
        record.probeLoss = heldOutLoss(model, probeIds);
      steps.push(record);
      options.onStep?.(record);
    }
    const attentionText = heldOut.slice(0, t);
    noGrad(() => model.forward(new Tensor([tok.encode(attentionText)])));
    const last = model.blocks[model.blocks.length - 1].attn.lastWeights;
    const weights = Array.from({ length: t }, (_, i) =>
      Array.from(last?.data.subarray(i * t, (i + 1) * t) ?? []),
    );
    const heldOutFinal = heldOutLoss(model, finalIds);
    const target = options.target ?? 1.85;
    return {
      model: size,
      batchSize,
      backend,
      parameters: model.parameters().reduce((n, p) => n + p.size, 0),
      trainChars: train.length,
      heldOutChars: finalIds.length,
      vocabSize: tok.vocabSize,
      steps,
      trainingSeconds,
      trainingWallSeconds: wall,
      loadAverage: loadavg()[0],
      heldOutLoss: heldOutFinal,
      bigramLoss: bigramLoss(trainIds, finalIds, tok.vocabSize),
      sampleBefore,
      sampleAfter: sample(),
      target,
      budgetSeconds: budget,
      passed: heldOutFinal <= target && trainingSeconds <= budget * 1.01,
      attention: { text: attentionText, weights },
    };
  } finally {
    if (options.accelerate !== false) disableAcceleration();
  }
}

export function formatTransformerReport(r: TransformerResult): string {
  const size = r.model;
  const lines = [
    `Milestone 05: a character-level GPT (${size.numLayers} blocks, d_model ${size.dModel}, ${size.numHeads} heads, context ${size.blockSize}) learns Moby-Dick`,
    `data: ${r.trainChars.toLocaleString("en")} training and ${r.heldOutChars.toLocaleString("en")} held-out characters, ${r.vocabSize} distinct; ${r.parameters.toLocaleString("en")} parameters; AdamW; matmul: ${r.backend}`,
    `sample before training (seed 0): ${JSON.stringify(r.sampleBefore)}`,
    "",
    "  step   cpu s  train loss  held-out (probe)",
  ];
  const shown = r.steps.filter(
    (s, i) => s.probeLoss !== undefined || i === r.steps.length - 1 || s.step % 100 === 0,
  );
  for (const s of shown) {
    lines.push(`${String(s.step).padStart(6)} ${s.cpuSeconds.toFixed(1).padStart(7)} ${s.trainLoss.toFixed(4).padStart(11)} ${s.probeLoss === undefined ? "" : s.probeLoss.toFixed(4).padStart(17)}`); // prettier-ignore
  }
  lines.push(
    "",
    `sample after training (seed 0, temperature 0.8): ${JSON.stringify(r.sampleAfter)}`,
    "",
    `training: ${r.steps.length} steps of ${r.batchSize} sequences in ${r.trainingSeconds.toFixed(1)} s of CPU (budget ${r.budgetSeconds} s), ` +
      `${r.trainingWallSeconds.toFixed(1)} s wall-clock at load average ${r.loadAverage.toFixed(2)} on ${cpus().length} cores`,
    `held-out loss: ${r.heldOutLoss.toFixed(4)} nats/char (target <= ${r.target})`,
    `count bigram model with add-one smoothing, same held-out text: ${r.bigramLoss.toFixed(4)} nats/char`,
    r.passed
      ? "PASSED"
      : "FAILED: the held-out loss is above the target, or training took more than the budget",
  );
  return lines.join("\n");
}

/** The losses during training: train loss per step, held-out probe loss where measured. */
export function lossChartSpec(r: TransformerResult): ChartSpec {
  const rows = r.steps.flatMap((s) => [
    { step: s.step, split: "training batch", loss: s.trainLoss },
    ...(s.probeLoss === undefined ? [] : [{ step: s.step, split: "held-out", loss: s.probeLoss }]),
  ]);
  return {
    title: "Milestone 05: loss (nats per character)",
    data: { values: rows },
    mark: { type: "line" },
    encoding: {
      x: { field: "step", type: "quantitative" },
      y: { field: "loss", type: "quantitative", scale: { zero: false } },
      color: { field: "split", type: "nominal" },
    },
    width: 480,
    height: 260,
  };
}

/** One head's attention on a held-out passage: row = query character, column = key character. */
export function attentionChartSpec(r: TransformerResult): ChartSpec {
  const chars = Array.from(r.attention.text);
  const label = (i: number): string => `${String(i).padStart(2, "0")} ${chars[i] === "\n" ? "⏎" : chars[i] === " " ? "␣" : chars[i]}`; // prettier-ignore
  const rows = r.attention.weights.flatMap((row, i) => row.map((w, j) => ({ query: label(i), key: label(j), weight: w }))); // prettier-ignore
  return {
    title: "Last block, head 0: where each character looks",
    data: { values: rows },
    mark: "rect",
    encoding: {
      x: { field: "key", type: "ordinal", sort: null, axis: { labelFontSize: 7 } },
      y: { field: "query", type: "ordinal", sort: null, axis: { labelFontSize: 7 } },
      color: { field: "weight", type: "quantitative", scale: { scheme: "blues" } },
    },
    width: 480,
    height: 480,
  };
}

/** One-line description shown by `tito milestone --list`. */
export const title =
  "a character-level GPT learns Moby-Dick (held-out <= 1.85 nats/char in 5 min of training)";

/** The entry point of `tito milestone 05`; in a notebook, the losses and an attention map too. */
export async function runMilestone(
  options: TransformerOptions = {},
): Promise<{ passed: boolean; report: string }> {
  // prettier-ignore
  try {
    const smoke = process.env.TINYTORCH_MILESTONE_SMOKE === "1";
    const result = await trainTransformer({ probeEvery: 100, ...(smoke ? SMOKE : {}), ...options });
    if (inNotebook()) {
      await showChart(lossChartSpec(result));
      await showChart(attentionChartSpec(result));
    }
    const note = smoke ? "\n(a smoke run: TINYTORCH_MILESTONE_SMOKE=1, a small model for 150 steps)" : "";
    return { passed: result.passed, report: formatTransformerReport(result) + note };
  } catch (e) {
    if (!isNotImplemented(e)) throw e;
    return {
      passed: false,
      report: `Milestone 05 needs modules 01-08, 10-13, 17 and 18 completed and exported: ${(e as Error).message}`, // prettier-ignore
    };
  }
}

if (require.main === module) {
  void runMilestone().then(({ passed, report }) => {
    console.log(report);
    process.exitCode = passed ? 0 : 1;
  });
}
