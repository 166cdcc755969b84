// Production tools of the benchmarking package (generated from module 19): pipeline stage
// profiling, real resource monitoring, seeded A/B tests, direction-aware regression detection
// and the queueing-based capacity plan.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { setTimeout as sleep } from "node:timers/promises";
import {
  ProductionBenchmarkingProfiler,
  capacityPlanningReport,
  detectPerformanceRegression,
  inferDirection,
  makeSamples,
  monitorResourceUtilization,
  profileEndToEndPipeline,
  runAbTest,
  setupAbTest,
} from "../../tinytorch-ts/src/perf/benchmarking";
import { near, withVirtualClock } from "./virtual-clock";

function spin(ms: number): void {
  const end = process.hrtime.bigint() + BigInt(Math.round(ms * 1e6));
  while (process.hrtime.bigint() < end);
}

test("regressions follow each metric's direction", () => {
  const r = detectPerformanceRegression(
    { p99_latency_ms: 12, throughput: 70, accuracy: 0.95, peak_rss_bytes: 100 },
    { p99_latency_ms: 10, throughput: 100, accuracy: 0.9, peak_rss_bytes: 100 },
  );
  assert.equal(
    r.regressions.map((x) => [x.metric, Math.round(x.changePercent)]),
    [
      ["p99_latency_ms", 20],
      ["throughput", -30],
    ],
  );
  assert.equal(
    r.unchanged.map((x) => x.metric),
    ["accuracy", "peak_rss_bytes"],
  );
  assert.is(r.alertLevel, "critical");
  const better = detectPerformanceRegression(
    { throughput: 200, latency_s: 0.5 },
    { throughput: 100, latency_s: 1 },
  );
  assert.is(better.regressions.length, 0);
  assert.is(better.improvements.length, 2);
  assert.is(better.alertLevel, "none");
});

test("direction inference, explicit directions, unknown and one-sided metrics", () => {
  assert.is(inferDirection("requests_per_s"), "higher-is-better");
  assert.is(inferDirection("QPS"), "higher-is-better");
  assert.is(inferDirection("p90_latency_s"), "lower-is-better");
  assert.is(inferDirection("error_rate"), "lower-is-better");
  assert.is(inferDirection("widgets"), null);
  const r = detectPerformanceRegression(
    { widgets: 5, score: 2, new_metric: 1 },
    { widgets: 1, score: 1, old_metric: 1 },
    { directions: { score: "higher-is-better" }, threshold: 0.5 },
  );
  assert.equal(r.unclassified, ["widgets"]);
  assert.equal(r.missing, ["new_metric", "old_metric"]);
  assert.equal(
    r.improvements.map((x) => x.metric),
    ["score"],
  );
  assert.throws(() => detectPerformanceRegression({ latency_s: Infinity }, { latency_s: 1 }));
});

test("pipeline profiling times each stage and names the bottleneck", async () => {
  const p = await withVirtualClock((advance) =>
    profileEndToEndPipeline(
      (x: number) => {
        advance(1);
        return x + 1;
      },
      makeSamples([1, 2, 3, 4, 5]),
      {
        preprocess: (x) => {
          advance(0.5);
          return x;
        },
        postprocess: (y) => {
          advance(2 + Number(y)); // 4 to 8 ms: the inputs are 1..5, the model adds one
          return y;
        },
      },
    ),
  );
  assert.is(p.samples, 5);
  assert.is(p.bottleneck, "postprocess");
  near(p.stages.preprocess.mean, 0.0005);
  near(p.stages.inference.mean, 0.001);
  near(p.stages.postprocess.mean, 0.006);
  near(p.stages.postprocess.max, 0.008);
  near(p.stages.endToEnd.mean, 0.0075, "the stages add up: none overlaps another");
  assert.ok(p.stages.postprocess.p95 > 0.007 && p.stages.postprocess.p95 <= 0.008 + 1e-12);
  assert.ok(p.memory.rssAfterBytes > 0 && p.memory.heapSizeLimitBytes > p.memory.peakHeapUsedBytes);
});

test("resource monitor reports real CPU, memory and event-loop figures", async () => {
  const cpuBefore = process.cpuUsage();
  const busy = await monitorResourceUtilization(() => spin(2), { durationS: 0.3, intervalMs: 50 });
  const cpuSpent = process.cpuUsage(cpuBefore);
  const idle = await monitorResourceUtilization(() => sleep(10), {
    durationS: 0.3,
    intervalMs: 50,
  });
  assert.ok(busy.samples.length >= 3);
  // Event-loop utilisation counts wall time inside callbacks: a spinning callback stays "active"
  // however often the OS preempts it, so busy > idle holds on a loaded machine too.
  assert.ok(
    busy.meanEventLoopUtilization > idle.meanEventLoopUtilization,
    `${busy.meanEventLoopUtilization} vs ${idle.meanEventLoopUtilization}`,
  );
  // CPU: the samples' CPU time adds up to what the process's own counter saw around the call
  // (only the call's set-up and return fall outside the samples). A random or wall-clock figure
  // would not; load changes how much CPU the spin gets, not this bookkeeping.
  let previousS = 0;
  let reportedUs = 0;
  for (const s of busy.samples) {
    reportedUs += (s.cpuPercent / 100) * (s.timeS - previousS) * 1e6;
    previousS = s.timeS;
  }
  const measuredUs = cpuSpent.user + cpuSpent.system;
  assert.ok(reportedUs > 0, "the spinning workload used CPU");
  assert.ok(
    reportedUs <= measuredUs + 1000 && reportedUs >= measuredUs - 20_000,
    `samples add up to ${reportedUs} µs of CPU; the process counted ${measuredUs} µs`,
  );
  assert.ok(
    busy.samples.every(
      (s) => s.rssMb > 1 && s.eventLoopUtilization >= 0 && s.eventLoopUtilization <= 1,
    ),
  );
  assert.ok(busy.samples.every((s, i) => i === 0 || s.timeS > busy.samples[i - 1].timeS));
  assert.ok(busy.peakRssMb >= Math.max(...busy.samples.map((s) => s.rssMb)) - 1e-9);
});

test("A/B tests split traffic with a seeded generator and compare the arms", async () => {
  const data = makeSamples([1, 2, 3]);
  const run = (advance: (ms: number) => void) => {
    const fast = (x: number): number => {
      advance(0.5 + x / 100);
      return x;
    };
    const slow = (x: number): number => {
      advance(2 + x / 100);
      return x;
    };
    return { fast, slow };
  };
  const [first, again] = await withVirtualClock(async (advance) => {
    const { fast, slow } = run(advance);
    const config = () => setupAbTest(slow, fast, { trafficSplit: 0.3, seed: 4 });
    return [
      await runAbTest(config(), data, { numRequests: 200 }),
      await runAbTest(config(), data, { numRequests: 200 }),
    ];
  });
  assert.is(first.a.requests, again.a.requests, "same seed, same split");
  assert.ok(
    first.a.requests > 35 && first.a.requests < 85,
    `${first.a.requests} of 200 to A at 30%`,
  );
  assert.is(first.a.requests + first.b.requests, 200);
  assert.ok(first.a.meanLatencyS > 0.002 && first.b.meanLatencyS < 0.0006);
  assert.ok(first.comparison !== null && first.comparison.isSignificant);
  assert.match(first.recommendation, /B is faster/);
  let calls = 0;
  const flaky = (x: number): number => {
    if (++calls % 4 === 0) throw new Error("boom");
    return x;
  };
  const identity = (x: number): number => x;
  const broken = await runAbTest(setupAbTest(identity, flaky, { seed: 1 }), data, {
    numRequests: 200,
  });
  assert.ok(broken.b.errors > 0 && broken.b.errorRate > 0.1);
  assert.match(broken.recommendation, /Do not roll out B/);
  assert.throws(() => setupAbTest(identity, flaky, { trafficSplit: 1 }));
});

test("capacity plan uses utilisation and the M/M/1 response time", () => {
  const report = capacityPlanningReport(
    { requestRate: 100, serviceTimeS: 0.005 },
    { growth: 1.5, targetUtilization: 0.7 },
  );
  assert.match(report, /Utilisation per instance: 50\.0%; M\/M\/1 mean response time 10\.0 ms/);
  assert.match(report, /utilisation 75\.0%, mean response time 20\.0 ms/);
  assert.match(report, /Instances needed to stay at 70% utilisation: 2 \(add 1\)/);
  const saturated = capacityPlanningReport({ requestRate: 300, serviceTimeS: 0.005 });
  assert.match(saturated, /unbounded/);
  assert.throws(() => capacityPlanningReport({ requestRate: 0, serviceTimeS: 0.005 }));
});

test("ProductionBenchmarkingProfiler exposes the original API", async () => {
  const profiler = new ProductionBenchmarkingProfiler();
  const config = profiler.setupAbTestingFramework(
    (x: number) => x,
    (x: number) => x,
    0.5,
    2,
  );
  const result = await profiler.runAbTest(config, makeSamples([1]), 50);
  assert.is(profiler.abTests.length, 1);
  assert.is(result.a.requests + result.b.requests, 50);
  assert.match(
    profiler.generateCapacityPlanningReport({ requestRate: 10, serviceTimeS: 0.01 }),
    /Capacity planning/,
  );
  assert.is(profiler.detectPerformanceRegression({ qps: 50 }, { qps: 100 }).regressions.length, 1);
});

test.run();
