// ProfilerConfig, measurement windows, the stability rule and the batch sweep (perf/profiling,
// generated from modules/14_profiling). Timing runs on fake clocks, so nothing here is timed.
import { test } from "uvu";
import * as assert from "uvu/assert";
import {
  MeasurementMode,
  ProfilerConfig,
  ProfilingError,
  isStable,
  measureUntilStable,
  profileBatchSweep,
  runMeasurementWindow,
  type WindowResult,
} from "../../tinytorch-ts/src/perf/profiling";

function windowOf(throughput: number, avgLatencyMs = 2): WindowResult {
  return {
    requests: 5,
    samples: 5,
    durationMs: 10,
    latenciesMs: [avgLatencyMs],
    avgLatencyMs,
    throughput,
  };
}

test("the stability rule accepts a stable series", () => {
  const series = [90, 140, 101, 99, 100, 500];
  let calls = 0;
  const r = measureUntilStable(
    (trial) => {
      calls++;
      return windowOf(series[trial - 1]);
    },
    new ProfilerConfig({ stabilityPercentage: 5, maxTrials: 10 }),
  );
  assert.is(r.trials, 5, "windows 3-5 are within 5% of their mean");
  assert.is(calls, 5, "no window is measured after acceptance");
  assert.equal(
    r.stable.map((w) => w.throughput),
    [101, 99, 100],
  );
  assert.is(r.windows.length, 5);
});

test("the stability rule rejects an unstable series after exactly maxTrials windows", () => {
  for (const maxTrials of [3, 7, 12]) {
    let calls = 0;
    assert.throws(
      () =>
        measureUntilStable(
          () => {
            calls++;
            return windowOf(calls % 2 === 0 ? 100 : 130);
          },
          new ProfilerConfig({ stabilityPercentage: 10, maxTrials }),
        ),
      (e: unknown) =>
        e instanceof ProfilingError &&
        /not stable/.test(e.message) &&
        e.message.includes(String(maxTrials)),
    );
    assert.is(calls, maxTrials);
  }
  // Throughput alone is not enough: the average latency must agree too.
  assert.throws(
    () => measureUntilStable((t) => windowOf(100, 1 + t), new ProfilerConfig({ maxTrials: 6 })),
    /not stable/,
  );
});

test("isStable judges only the last three windows, inclusively, against |mean|", () => {
  assert.is(isStable([1, 2], 10), false);
  assert.is(isStable([5000, 100, 110, 90], 10), true);
  assert.is(isStable([100, 111, 89], 10), false);
  assert.is(isStable([-10, -11, -9], 10), true);
});

test("ProfilerConfig: the seed's defaults, and fromDict({}) equals the constructor's defaults", () => {
  const c = new ProfilerConfig();
  assert.equal(c.toDict(), {
    run_profiling: true,
    batch_sizes: null,
    measurement_mode: MeasurementMode.COUNT_WINDOWS,
    measurement_interval: 5000,
    measurement_request_count: 50,
    stability_percentage: 10,
    max_trials: 10,
    throughput_cutoff_threshold: 0.05,
  });
  assert.equal(ProfilerConfig.fromDict({}).toDict(), c.toDict());
  const custom = ProfilerConfig.fromDict({
    batch_sizes: [1, 4, 16],
    measurement_mode: "TIME_WINDOWS",
    measurement_interval: 250,
    max_trials: 4,
    throughput_cutoff_threshold: null,
  });
  assert.is(custom.measurementMode, MeasurementMode.TIME_WINDOWS, "enum names are accepted");
  assert.is(custom.throughputCutoffThreshold, 0.05, "null means the default");
  assert.equal(ProfilerConfig.fromDict(custom.toDict()).toDict(), custom.toDict(), "round trip");
  assert.equal(ProfilerConfig.fromDict(new Map([["max_trials", 5]])).maxTrials, 5);
});

test("ProfilerConfig refuses unknown keys and impossible values", () => {
  assert.throws(() => ProfilerConfig.fromDict({ max_trails: 5 }), /unknown key 'max_trails'/);
  assert.throws(() => ProfilerConfig.fromDict({ measurement_mode: "windows" }), /measurementMode/);
  assert.throws(() => new ProfilerConfig({ maxTrials: 2 }), /three windows/);
  assert.throws(() => new ProfilerConfig({ batchSizes: [1, 0] }), /batch sizes/);
  assert.throws(() => new ProfilerConfig({ batchSizes: [] }), /non-empty/);
  assert.throws(
    () => new ProfilerConfig({ measurementRequestCount: 2.5 }),
    /measurementRequestCount/,
  );
  assert.throws(() => new ProfilerConfig({ stabilityPercentage: 0 }), /stabilityPercentage/);
  assert.throws(() => new ProfilerConfig({ measurementInterval: -1 }), /measurementInterval/);
});

test("a time window runs requests until the interval has elapsed; a count window runs N", () => {
  let now = 0;
  const request = () => {
    now += 3;
  };
  const timed = runMeasurementWindow(
    request,
    4,
    new ProfilerConfig({ measurementMode: MeasurementMode.TIME_WINDOWS, measurementInterval: 10 }),
    () => now,
  );
  assert.is(timed.requests, 4, "3, 6, 9 ms are short of 10; the fourth request ends at 12");
  assert.is(timed.durationMs, 12);
  assert.is(timed.samples, 16);
  assert.ok(Math.abs(timed.throughput - 16 / 0.012) < 1e-6);
  const counted = runMeasurementWindow(
    request,
    2,
    new ProfilerConfig({ measurementRequestCount: 7 }),
    () => now,
  );
  assert.is(counted.requests, 7);
  assert.equal(counted.latenciesMs, new Array(7).fill(3));
  assert.is(counted.avgLatencyMs, 3);
});

test("the sweep goes in ascending order and stops when throughput stops improving by the cutoff", () => {
  let now = 0;
  let calls = 0;
  // Latency 2 ms + 0.5 ms per sample: throughput b / (2 + 0.5 b) per ms saturates at 2000/s.
  const model = { forward: (batch: number[]) => ((now += 2 + 0.5 * batch.length), calls++) };
  const r = profileBatchSweep(
    model,
    (n) => new Array<number>(n).fill(0),
    new ProfilerConfig({
      batchSizes: [64, 2, 1, 8, 4, 16, 32, 2],
      measurementRequestCount: 3,
      throughputCutoffThreshold: 0.1,
    }),
    { clock: () => now, warmup: 1 },
  );
  // Gains: 2: +67%, 4: +50%, 8: +33%, 16: +20%, 32: +11%, 64: +5.9% -> stop at 64.
  assert.equal(
    r.profiles.map((p) => p.batchSize),
    [1, 2, 4, 8, 16, 32, 64],
  );
  assert.ok(r.stopReason !== null && r.stopReason.includes("batch 64"), String(r.stopReason));
  assert.is(calls, 7 * (1 + 9), "one warm-up and three windows of three per size");
  const b8 = r.profiles[3];
  assert.is(b8.latencyP50Ms, 6);
  assert.is(b8.latencyP99Ms, 6);
  assert.is(b8.latencyStdMs, 0);
  assert.is(b8.requestCount, 9);
  assert.ok(Math.abs(b8.throughput - 8 / 0.006) < 1e-6);
});

test("runProfiling=false skips the sweep; a model that never settles fails loudly", () => {
  let called = false;
  const skipped = profileBatchSweep(
    () => (called = true),
    () => 0,
    new ProfilerConfig({ runProfiling: false }),
  );
  assert.equal(skipped, { profiles: [], skipped: true, stopReason: null });
  assert.is(called, false);
  let now = 0;
  let i = 0;
  assert.throws(
    () =>
      profileBatchSweep(
        () => (now += i++ % 3 === 0 ? 10 : 1),
        () => 0,
        new ProfilerConfig({ measurementRequestCount: 1, maxTrials: 9 }),
        {
          clock: () => now,
        },
      ),
    /not stable/,
  );
});

test.run();
