// The four MLPerf scenarios of the benchmarking package (generated from module 19). Timing
// assertions here are lower bounds implied by the work a model does (a model that spins 4 ms
// cannot answer in less) or exact figures on a virtual clock, never speed expectations that a
// loaded machine could break; speed is reported by bench/benchmarking.ts.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { setTimeout as sleep } from "node:timers/promises";
import { Tensor } from "../../tinytorch-ts/src/core/tensor";
import {
  BenchmarkScenario,
  TinyTorchPerf,
  collateTensors,
  latencyPercentile,
  makeSamples,
  multiStreamScenario,
  offlineScenario,
  poissonArrivals,
  serverScenario,
  singleStreamScenario,
} from "../../tinytorch-ts/src/perf/benchmarking";
import { withVirtualClock } from "./virtual-clock";

/** Busy-waits `ms` milliseconds: a synchronous model with a known minimum service time. */
function spin(ms: number): number {
  const end = process.hrtime.bigint() + BigInt(Math.round(ms * 1e6));
  while (process.hrtime.bigint() < end);
  return ms;
}

test("single stream: one latency per query, in query order, warm-up untimed", async () => {
  let calls = 0;
  const r = await withVirtualClock((advance) =>
    singleStreamScenario(
      (ms: number): number => {
        calls++;
        advance(ms);
        return ms;
      },
      makeSamples([2, 0.2, 0.2, 0.2]),
      { numQueries: 8, warmup: 3 },
    ),
  );
  assert.is(r.scenario, BenchmarkScenario.SINGLE_STREAM);
  assert.is(calls, 11);
  assert.equal(
    r.latencies.map((s) => Math.round(s * 1e7) / 1e4),
    [2, 0.2, 0.2, 0.2, 2, 0.2, 0.2, 0.2],
    "in query order, slow queries in their place, not sorted",
  );
  assert.is(r.accuracy, null);
  assert.ok((r.metadata.timerOverheadNs as number) >= 0);
});

test("single stream scores class indices and score rows, and awaits async models", async () => {
  const echo = await singleStreamScenario((x: number) => x, makeSamples([0, 1, 2], [0, 1, 0]), {
    numQueries: 30,
    warmup: 0,
  });
  assert.ok(Math.abs((echo.accuracy ?? 0) - 20 / 30) < 1e-12);
  const rows = makeSamples([new Tensor([[0, 5, 1]]), new Tensor([[9, 0, 1]])], [1, 2]);
  const scored = await singleStreamScenario((x: Tensor) => x, rows, { numQueries: 4, warmup: 0 });
  assert.is(scored.accuracy, 0.5);
  const later = await singleStreamScenario(
    async (x: number) => {
      await sleep(3);
      return x;
    },
    makeSamples([1], [1]),
    { numQueries: 3, warmup: 0 },
  );
  assert.ok(later.latencies.every((l) => l >= 0.002));
  assert.is(later.accuracy, 1);
});

test("single stream rejects an empty dataset and a zero query count", async () => {
  await rejects(() => singleStreamScenario((x: number) => x, [], {}));
  await rejects(() => singleStreamScenario((x: number) => x, makeSamples([1]), { numQueries: 0 }));
});

test("Poisson arrivals: seeded, exponential gaps at the requested rate", () => {
  const a = poissonArrivals(2000, { durationS: 4, seed: 5 });
  assert.equal(poissonArrivals(2000, { durationS: 4, seed: 5 }), a);
  assert.ok(a.length > 7600 && a.length < 8400, `${a.length} arrivals`);
  const gaps = a.map((t, i) => (i === 0 ? t : t - a[i - 1]));
  const mean = gaps.reduce((s, g) => s + g, 0) / gaps.length;
  const sd = Math.sqrt(gaps.reduce((s, g) => s + (g - mean) ** 2, 0) / (gaps.length - 1));
  assert.ok(Math.abs(mean * 2000 - 1) < 0.05, `mean gap ${mean}`);
  assert.ok(Math.abs(sd / mean - 1) < 0.1, `coefficient of variation ${sd / mean}`);
  assert.is(poissonArrivals(10, { count: 7 }).length, 7);
  assert.throws(() => poissonArrivals(0));
});

test("server: queries follow the Poisson schedule and are never issued early", async () => {
  const r = await serverScenario((x: number) => x, makeSamples([3], [3]), {
    targetQps: 500,
    durationS: 0.3,
    seed: 9,
    latencyBoundS: 0.5,
  });
  const expected = poissonArrivals(500, { durationS: 0.3, seed: 9 });
  const tl = r.timeline;
  assert.ok(tl);
  assert.equal(tl.scheduledS, expected);
  assert.ok(tl.issuedS.every((t, i) => t >= expected[i] - 1e-6));
  assert.ok(tl.completedS[tl.completedS.length - 1] >= expected[expected.length - 1]);
  assert.is(r.accuracy, 1);
  assert.is(r.metadata.numQueries, expected.length);
  // Whether the bound is met depends on the machine; that it is judged on the p99 does not.
  assert.is(r.metadata.boundMet, latencyPercentile(r.latencies, 0.99) <= 0.5);
});

test("server: queueing delay counts in latency when the model cannot keep up", async () => {
  // 4 ms per query at 500 queries/s: the queue grows by about 2 ms per query.
  const r = await serverScenario(spin, makeSamples([4]), {
    targetQps: 500,
    numQueries: 100,
    seed: 2,
    warmup: 0,
  });
  const tl = r.timeline;
  assert.ok(tl);
  const last = r.latencies.length - 1;
  assert.ok(tl.completedS[last] >= 100 * 0.004 - 1e-3, "all the work happened");
  assert.ok(
    r.latencies[last] >= 0.4 - tl.scheduledS[last] - 1e-3,
    "latency from the scheduled arrival",
  );
  assert.is(r.metadata.boundMet, false);
  assert.ok((r.metadata.achievedQps as number) <= 250.5);
});

test("server: async queries overlap instead of queueing behind each other", async () => {
  let inFlight = 0;
  let mostInFlight = 0;
  const r = await serverScenario(
    async (x: number) => {
      mostInFlight = Math.max(mostInFlight, ++inFlight);
      await sleep(5);
      inFlight--;
      return x;
    },
    makeSamples([1], [1]),
    { targetQps: 400, numQueries: 80, seed: 3, warmup: 0 },
  );
  // Queries arrive every 2.5 ms on average and each waits 5 ms: issued without waiting for the
  // previous answer, several are in flight at once (however slowly the machine runs them).
  assert.ok(mostInFlight >= 2, `at most ${mostInFlight} query in flight`);
  assert.ok(r.latencies.every((l) => l >= 0.004));
  assert.is(r.accuracy, 1);
});

test("offline: batches through collate, throughput in samples", async () => {
  const sizes: number[] = [];
  const rows = Array.from({ length: 10 }, (_, i) => new Tensor([[i % 3 === 0 ? 1 : 0, 0.5]]));
  const targets = rows.map((_, i) => (i % 3 === 0 ? 0 : 1));
  const r = await offlineScenario(
    (x: Tensor) => {
      sizes.push(x.shape[0]);
      return x;
    },
    makeSamples(rows, targets),
    { batchSize: 4, collate: collateTensors, warmup: 0 },
  );
  assert.equal(sizes, [4, 4, 2]);
  assert.is(r.latencies.length, 3);
  assert.is(r.accuracy, 1);
  assert.is(r.metadata.numSamples, 10);
  const slow = await offlineScenario(spin, makeSamples([1]), {
    batchSize: 4,
    numSamples: 8,
    warmup: 0,
  });
  assert.ok(slow.throughput <= 8 / 0.0079);
});

test("collateTensors stacks [1, F] rows into [B, F]", () => {
  const t = collateTensors([new Tensor([[1, 2]]), new Tensor([[3, 4]])]);
  assert.equal(t.shape, [2, 2]);
  assert.equal(Array.from(t.data), [1, 2, 3, 4]);
  assert.throws(() => collateTensors([]));
  assert.throws(() => collateTensors([new Tensor([[1, 2]]), new Tensor([[1, 2, 3]])]));
});

test("multi-stream: N consecutive samples per query, p99 per query", async () => {
  const seen: number[][] = [];
  const r = await multiStreamScenario(
    (xs: number[]) => {
      seen.push([...xs]);
      return xs;
    },
    makeSamples([[0], [1], [2]], [0, 1, 0]),
    { samplesPerQuery: 2, numQueries: 3, collate: (xs) => xs.flat(), warmup: 0 },
  );
  assert.equal(seen, [
    [0, 1],
    [2, 0],
    [1, 2],
  ]);
  assert.ok(Math.abs((r.accuracy ?? 0) - 4 / 6) < 1e-12);
  assert.is(r.metadata.p99LatencyS, latencyPercentile(r.latencies, 0.99));
  const t = await multiStreamScenario(spin, makeSamples([1]), {
    samplesPerQuery: 3,
    numQueries: 2,
    warmup: 0,
  });
  assert.ok(t.latencies.every((l) => l >= 0.0029));
});

test("TinyTorchPerf runs every scenario, validates each, and interleaves comparisons", async () => {
  const perf = new TinyTorchPerf<number>();
  await rejects(() => perf.runSingleStream());
  perf.setModel((x: number) => x).setDataset(makeSamples([0, 1], [0, 1]));
  const all = await perf.runAllScenarios({ quick: true, targetQps: 2000 });
  assert.equal(Object.keys(all).sort(), ["multi_stream", "offline", "server", "single_stream"]);
  assert.is(all.server.metadata.targetQps, 2000);
  assert.is(perf.results.single_stream.validation.requiredSamples, 24576);
  const order: string[] = [];
  const a = (x: number): number => {
    order.push("A");
    spin(0.05);
    return x;
  };
  const b = (x: number): number => {
    order.push("B");
    spin(1);
    return x;
  };
  // Ranks, not means: a query preempted on a busy machine is an outlier a rank test ignores.
  const cmp = await perf.compareModels(a, b, { numQueries: 30, warmup: 1, method: "mann-whitney" });
  assert.equal(order.slice(2, 6), ["A", "B", "B", "A"]);
  assert.ok(cmp.isSignificant && cmp.rankBiserial < -0.5);
  assert.match(perf.generateReport("echo"), /# echo: performance report/);
});

async function rejects(fn: () => Promise<unknown>): Promise<void> {
  let threw = false;
  try {
    await fn();
  } catch {
    threw = true;
  }
  assert.ok(threw, "expected a rejection");
}

test.run();
