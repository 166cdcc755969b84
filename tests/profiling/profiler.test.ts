// The profiler (perf/profiling, generated from modules/14_profiling) on models built from the
// core modules: FLOP counting, memory from real allocations, latency statistics on a fake clock,
// roofline placement, and the charts.
import { test } from "uvu";
import * as assert from "uvu/assert";
import {
  Profiler,
  countFlops,
  measureLatency,
  measureMachinePeaks,
  measureMemory,
  rooflineChartSpec,
  rooflinePlacement,
  type MachinePeaks,
} from "../../tinytorch-ts/src/perf/profiling";
import {
  ITLMixtureModel,
  LogisticModel,
  batchSweepChartSpec,
  itlHistogramChartSpec,
} from "../../tinytorch-ts/src/perf/modeling";
import { Tensor, Rng } from "../../tinytorch-ts/src/core/tensor";
import { ReLU, Tanh } from "../../tinytorch-ts/src/core/activations";
import { Dropout, Linear, Sequential } from "../../tinytorch-ts/src/core/layers";
import { renderChart } from "../../tinytorch-ts/src/support/chart";

const mlp = () =>
  new Sequential([
    new Linear(12, 24, { seed: 1 }),
    new ReLU(),
    new Dropout(0.1, { seed: 2 }),
    new Linear(24, 3, { seed: 3 }),
    new Tanh(),
  ]);

test("countFlops propagates shapes through a Sequential", () => {
  const r = countFlops(mlp(), [5, 12]);
  assert.is(r.flops, 2 * 5 * 12 * 24 + 5 * 24 + 0 + 2 * 5 * 24 * 3 + 5 * 3);
  assert.equal(r.outputShape, [5, 3]);
  assert.throws(() => countFlops(mlp(), [5, 11]), /shape mismatch/);
});

test("measureMemory counts the tensors a forward pass really allocates", () => {
  const model = mlp();
  const input = Tensor.zeros([4, 12]);
  const m = measureMemory(model, input);
  assert.is(m.parameterBytes, (12 * 24 + 24 + 24 * 3 + 3) * 4);
  assert.is(m.layers.length, 5);
  // Each layer allocates at least its output (Dropout at inference may return its input).
  assert.ok(m.layers[0].allocatedBytes >= 4 * 24 * 4);
  assert.ok(m.activationBytes >= 4 * (4 * 24 + 4 * 24 + 4 * 3 + 4 * 3));
  assert.ok(m.peakBytes >= m.parameterBytes + input.nbytes);
  assert.ok(m.peakBytes <= m.parameterBytes + input.nbytes + m.activationBytes);
  const bigger = measureMemory(model, Tensor.zeros([64, 12]));
  assert.ok(bigger.activationBytes > m.activationBytes);
  assert.is(bigger.parameterBytes, m.parameterBytes);
});

test("measureLatency: warm-up discarded, interpolated quartiles, on a fake clock", () => {
  let now = 0;
  let calls = 0;
  const durations = [50, 50, 4, 1, 3, 2, 10];
  const s = measureLatency(
    () => {
      now += durations[calls++];
    },
    { warmup: 2, iterations: 5, clock: () => now },
  );
  assert.is(calls, 7);
  assert.equal(s.samplesMs, [4, 1, 3, 2, 10]);
  assert.is(s.medianMs, 3);
  assert.equal([s.p25Ms, s.p75Ms, s.iqrMs], [2, 4, 2]);
  assert.is(s.meanMs, 4);
  assert.throws(() => measureLatency(() => 0, { iterations: 0 }), /iterations/);
});

test("roofline placement and a profile of a whole pass with fixed ceilings", () => {
  const peaks: MachinePeaks = { peakFlopsPerSecond: 4e9, bandwidthBytesPerSecond: 2e9 };
  assert.equal(rooflinePlacement(1, peaks), {
    ridgeIntensity: 2,
    attainableFlopsPerSecond: 2e9,
    bound: "memory-bound",
  });
  assert.is(rooflinePlacement(3, peaks).bound, "compute-bound");
  const profiler = new Profiler({ peaks, warmup: 1, iterations: 3 });
  const model = mlp();
  const p = profiler.profileForwardPass(model, Tensor.randn([16, 12], new Rng(1)));
  assert.equal(
    p.kernels.map((k) => k.name),
    ["Linear(12→24)", "ReLU", "Dropout", "Linear(24→3)", "Tanh"],
  );
  assert.is(p.total.flops, countFlops(model, [16, 12]).flops);
  const relu = p.kernels[1];
  assert.is(relu.bytes, 2 * 16 * 24 * 4, "an activation reads and writes each element once");
  assert.is(relu.intensity, 1 / 8);
  assert.is(relu.placement.bound, "memory-bound");
  const first = p.kernels[0];
  assert.is(first.bytes, (16 * 12 + 12 * 24 + 24 + 16 * 24) * 4);
  assert.ok(first.medianMs >= 0 && first.iqrMs >= 0);
  assert.is(profiler.countParameters(model), 12 * 24 + 24 + 24 * 3 + 3);
});

test("measureMachinePeaks measures positive, finite ceilings", () => {
  const peaks = measureMachinePeaks({ repeats: 2, computeSteps: 100_000, streamElements: 1 << 16 });
  assert.ok(Number.isFinite(peaks.peakFlopsPerSecond) && peaks.peakFlopsPerSecond > 0);
  assert.ok(Number.isFinite(peaks.bandwidthBytesPerSecond) && peaks.bandwidthBytesPerSecond > 0);
  assert.throws(
    () => measureMachinePeaks({ repeats: 1, computeSteps: 10, streamElements: 16, clock: () => 0 }),
    /clock/,
  );
});

test("the three charts render to SVG with their data", async () => {
  const peaks: MachinePeaks = { peakFlopsPerSecond: 8e9, bandwidthBytesPerSecond: 4e9 };
  const roof = await renderChart(
    rooflineChartSpec(peaks, [
      { name: "Linear", intensity: 20, gflopsPerSecond: 0.6 },
      { name: "ReLU", intensity: 0.125, gflopsPerSecond: 0.05 },
    ]),
  );
  assert.ok(roof.svg.startsWith("<svg") && roof.svg.includes("ReLU"));
  const sweep = await renderChart(
    batchSweepChartSpec(
      [1, 2, 4, 8, 16].map((b) => ({ batchSize: b, value: 100 * b })),
      new LogisticModel(1000, 3, 1, 100),
      { title: "sweep" },
    ),
  );
  assert.ok(sweep.svg.includes("logistic fit"));
  const model = new ITLMixtureModel({
    loc: 0.001,
    piSteady: 0.9,
    sigmaSteady: 0.2,
    scaleSteady: 0.001,
    piStall: 0.1,
    sigmaStall: 0.3,
    scaleStall: 0.01,
  });
  const rng = new Rng(4);
  const itl = await renderChart(
    itlHistogramChartSpec(
      Array.from({ length: 500 }, () => model.sampleOne(rng)),
      model,
    ),
  );
  assert.ok(itl.svg.includes("<path") && itl.svg.includes("inter-token latency (ms, log scale)"));
  assert.throws(() => itlHistogramChartSpec([], null), /no positive samples/);
});

test.run();
