// `npm run bench:benchmarking`: how much the benchmarking harness itself costs, and how well
// the server scenario keeps to its schedule. Prints figures; asserts nothing.
//
// 1. Harness overhead per measured call: single stream over a function that does nothing, so
//    the wall time per query is the harness's own (clock reads, loop, bookkeeping).
// 2. Single-stream throughput for a 1 µs function (busy-waits 1 µs): the ceiling is 1e6/s.
// 3. Server schedule keeping: Poisson arrivals at 1,000 queries/s with a 100 µs model; the lag
//    of each query's issue time behind its scheduled arrival.
// 4. The scheduler alone (waitUntil for deadlines 1 ms ahead), and the median lag with a no-op
//    model at higher rates, for sizing the default server rate.
import { cpus, loadavg } from "node:os";
import {
  calibrateTimerOverheadNs,
  latencyPercentile,
  makeSamples,
  serverScenario,
  singleStreamScenario,
  timerResolutionNs,
  waitUntil,
  type BenchmarkResult,
} from "tinytorch-ts/perf/benchmarking";

function spinNs(ns: number): number {
  const end = process.hrtime.bigint() + BigInt(ns);
  while (process.hrtime.bigint() < end);
  return ns;
}

function lags(result: BenchmarkResult): number[] {
  const tl = result.timeline;
  if (tl === undefined) throw new Error("server result without a timeline");
  return tl.issuedS.map((t, i) => t - tl.scheduledS[i]);
}

const us = (s: number): string => `${(s * 1e6).toFixed(2)} µs`;

async function main(): Promise<void> {
  console.log(
    `benchmarking harness on ${cpus()[0]?.model ?? "unknown CPU"} (${cpus().length} cores), Node ${process.version}`,
  );
  console.log(
    `clock: resolution ${timerResolutionNs()} ns, pair of reads ${calibrateTimerOverheadNs()} ns`,
  );

  console.log(
    `load average (1 min): ${loadavg()[0].toFixed(2)} (figures are noisy above the core count)`,
  );
  const samples = makeSamples([0]);
  const noop = (x: number): number => x;
  const n = 1_000_000;
  const overheads: number[] = [];
  for (let rep = 0; rep < 5; rep++) {
    const r = await singleStreamScenario(noop, samples, { numQueries: n, warmup: 1000 });
    overheads.push((r.metadata.elapsedS as number) / n);
  }
  overheads.sort((a, b) => a - b);
  console.log(
    `harness overhead per measured call: ${(overheads[2] * 1e9).toFixed(1)} ns (median of 5 runs of ${n} no-op queries)`,
  );

  const oneUs = (x: number): number => spinNs(1000) + x;
  const runs: { throughput: number; p50: number }[] = [];
  for (let rep = 0; rep < 5; rep++) {
    const r = await singleStreamScenario(oneUs, samples, { numQueries: 200_000, warmup: 1000 });
    runs.push({ throughput: r.throughput, p50: latencyPercentile(r.latencies, 0.5) });
  }
  runs.sort((a, b) => a.throughput - b.throughput);
  console.log(
    `single-stream throughput, 1 µs function: ${runs[2].throughput.toFixed(0)} queries/s ` +
      `(ideal 1000000; median of 5 runs), measured p50 latency ${(runs[2].p50 * 1e9).toFixed(0)} ns`,
  );

  // The scheduler alone: how late does waitUntil return for a deadline 1 ms away?
  const waits: number[] = [];
  for (let i = 0; i < 1000; i++) {
    const deadline = process.hrtime.bigint() + 1_000_000n;
    waits.push(Number((await waitUntil(deadline)) - deadline) / 1e9);
  }
  console.log(
    `waitUntil, 1000 deadlines 1 ms ahead: lag p50 ${us(latencyPercentile(waits, 0.5))}, ` +
      `p90 ${us(latencyPercentile(waits, 0.9))}, p99 ${us(latencyPercentile(waits, 0.99))}`,
  );

  const model100 = (x: number): number => spinNs(100_000) + x;
  const server = await serverScenario(model100, samples, {
    targetQps: 1000,
    durationS: 5,
    seed: 1,
    latencyBoundS: 0.01,
  });
  const lag = lags(server);
  console.log(
    `server at 1000 queries/s, 100 µs model, ${lag.length} queries: median issue lag ${us(latencyPercentile(lag, 0.5))}, ` +
      `p90 ${us(latencyPercentile(lag, 0.9))}, p99 ${us(latencyPercentile(lag, 0.99))}; ` +
      `achieved ${(server.metadata.achievedQps as number).toFixed(0)} queries/s, p99 latency ${us(server.metadata.p99LatencyS as number)}`,
  );

  for (const qps of [5000, 10000, 20000, 50000]) {
    const r = await serverScenario(noop, samples, { targetQps: qps, durationS: 1, seed: 2 });
    const l = lags(r);
    console.log(
      `server at ${qps} queries/s, no-op model: median issue lag ${us(latencyPercentile(l, 0.5))}, ` +
        `p99 ${us(latencyPercentile(l, 0.99))}, achieved ${(r.metadata.achievedQps as number).toFixed(0)} queries/s`,
    );
  }
}

main().catch((e: unknown) => {
  console.error(e);
  process.exitCode = 1;
});
