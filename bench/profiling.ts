// `npm run bench:profiling`: what module 14's tools cost (perf/profiling and perf/modeling).
//   1. the profiler's own overhead on a forward pass of a small MLP: what measureLatency adds to
//      each measured call (timed on an empty function), as a share of a pass; and measureMemory
//      (allocation hook, layer-by-layer walk) against plain passes, interleaved call by call;
//   2. the logistic fit (grid search + Levenberg-Marquardt) on 30 noisy points;
//   3. the ITL mixture fit (EM with the profile-likelihood search for loc) on 20,000 samples.
// Medians throughout: other processes and the garbage collector only ever add time. The load
// average is printed because it moves every figure.
import { cpus, loadavg } from "node:os";
import { ReLU } from "tinytorch-ts/core/activations";
import { Linear, Sequential } from "tinytorch-ts/core/layers";
import { Rng, Tensor } from "tinytorch-ts/core/tensor";
import { ITLMixtureModel, LogisticModel } from "tinytorch-ts/perf/modeling";
import { hrtimeMs, measureLatency, measureMemory } from "tinytorch-ts/perf/profiling";

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}

function timeIt(fn: () => void): number {
  const t0 = hrtimeMs();
  fn();
  return hrtimeMs() - t0;
}

interface Overhead {
  /** What measureLatency adds per measured call, in nanoseconds. */
  timingNs: number;
  /** The same as a fraction of one forward pass. */
  timing: number;
  /** measureMemory's extra time as a fraction of one forward pass. */
  memory: number;
  /** The same statistic between two plain series: what noise alone gives. */
  noise: number;
  forwardMs: number;
}

function profilerOverhead(): Overhead {
  const model = new Sequential([
    new Linear(128, 256, { seed: 1 }),
    new ReLU(),
    new Linear(256, 128, { seed: 2 }),
    new ReLU(),
    new Linear(128, 10, { seed: 3 }),
  ]);
  const x = Tensor.randn([32, 128], new Rng(0));
  // measureLatency's own cost per call: two clock reads and a push, plus its final statistics
  // spread over the calls. Measured on an empty function, so that nothing else is timed.
  const empty = () => undefined;
  measureLatency(empty, { warmup: 0, iterations: 10_000 });
  const n = 200_000;
  const timingNs = (timeIt(() => measureLatency(empty, { warmup: 0, iterations: n })) / n) * 1e6;
  // measureMemory against plain forward passes, interleaved call by call in rotating order
  // (whichever runs after another tends to meet the garbage it left), so that machine load and
  // garbage collection fall on all series alike.
  for (let i = 0; i < 10; i++) {
    model.forward(x);
    measureMemory(model, x);
  }
  // A second plain series gives the noise floor: plain against plain differs by this much too.
  const plain: number[] = [];
  const plainAgain: number[] = [];
  const hooked: number[] = [];
  const runs = [
    () => plain.push(timeIt(() => model.forward(x))),
    () => hooked.push(timeIt(() => measureMemory(model, x))),
    () => plainAgain.push(timeIt(() => model.forward(x))),
  ];
  for (let i = 0; i < 450; i++) runs[(i + Math.floor(i / 3)) % 3]();
  const forwardMs = median(plain);
  return {
    timingNs,
    timing: timingNs / 1e6 / forwardMs,
    memory: median(hooked) / forwardMs - 1,
    noise: median(plainAgain) / forwardMs - 1,
    forwardMs,
  };
}

function logisticFitMs(): number {
  const truth = new LogisticModel(3000, 4.5, 1.2, 400);
  const times: number[] = [];
  for (let seed = 0; seed < 25; seed++) {
    const rng = new Rng(seed);
    const x = Array.from({ length: 30 }, (_, i) => (10 * i) / 29);
    const y = x.map((xi) => truth.evalX(xi) * (1 + 0.01 * rng.normal()));
    times.push(timeIt(() => LogisticModel.fit(x, y)));
  }
  return median(times.slice(5)); // the first fits include JIT compilation
}

function mixtureFitMs(): number {
  const truth = new ITLMixtureModel({
    loc: 0.015,
    piSteady: 0.85,
    sigmaSteady: 0.3,
    scaleSteady: 0.01,
    piStall: 0.15,
    sigmaStall: 0.6,
    scaleStall: 0.06,
  });
  const times: number[] = [];
  for (let seed = 0; seed < 4; seed++) {
    const rng = new Rng(100 + seed);
    const samples = Array.from({ length: 20_000 }, () => truth.sampleOne(rng));
    times.push(timeIt(() => ITLMixtureModel.fit(samples)));
  }
  return median(times.slice(1)); // the first fit includes JIT compilation
}

const cpu = cpus()[0]?.model ?? "unknown CPU";
const load = loadavg()[0].toFixed(2);
console.log(
  `machine: ${cpus().length} cores (${cpu}), load average ${load}, Node ${process.version}`,
);
const o = profilerOverhead();
const pass = `MLP 128-256-128-10, batch 32, median ${o.forwardMs.toFixed(3)} ms per pass`;
console.log(`profiler overhead on a forward pass (${pass}):`);
const timingShare = (o.timing * 100).toFixed(4);
console.log(`  measureLatency: ${o.timingNs.toFixed(0)} ns per measured call = ${timingShare}%`);
const memoryShare = (o.memory * 100).toFixed(1);
const noise = (o.noise * 100).toFixed(1);
console.log(
  `  measureMemory (allocation hook, layer by layer): ${memoryShare}% (plain vs plain: ${noise}%)`,
);
const logistic = logisticFitMs().toFixed(2);
console.log(`logistic fit, 30 points (grid + Levenberg-Marquardt): ${logistic} ms (median of 20)`);
const mixture = mixtureFitMs().toFixed(0);
console.log(`ITL mixture fit, 20,000 samples (EM + loc search): ${mixture} ms (median of 3)`);
