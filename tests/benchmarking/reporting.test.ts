// Reports, tables and charts of the benchmarking package (generated from module 19): every
// figure comes from the run, the environment is recorded, files are written atomically, and
// the heavy danfojs dependency is only loaded when a table is asked for.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  BenchmarkScenario,
  PerformanceReporter,
  benchmarkChartSpecs,
  dataFrameToHtml,
  describeEnvironment,
  latencyPercentile,
  plotBenchmarkResults,
  summaryRow,
  type BenchmarkResult,
  type EnvironmentInfo,
} from "../../tinytorch-ts/src/perf/benchmarking";

const environment: EnvironmentInfo = {
  cpuModel: "Test CPU 9000",
  cores: 2,
  totalMemoryGb: 24,
  platform: "Linux 6 (x64)",
  nodeVersion: "v20.0.0-test",
  v8Version: "11.3",
  timerResolutionNs: 25,
  timerOverheadNs: 40,
};

const ms = (values: number[]): number[] => values.map((v) => v / 1000);

function results(): Record<string, BenchmarkResult> {
  const arrivals = [0.01, 0.02, 0.03, 0.04, 0.05];
  const serverLatencies = ms([1, 3, 2, 40, 5]);
  return {
    single_stream: {
      scenario: BenchmarkScenario.SINGLE_STREAM,
      latencies: ms([1, 1.1, 0.9, 1.2, 1, 1.05, 0.95, 9, 1, 1.1]),
      throughput: 900,
      accuracy: 0.75,
      metadata: { numQueries: 10, warmup: 20 },
    },
    server: {
      scenario: BenchmarkScenario.SERVER,
      latencies: serverLatencies,
      throughput: 90,
      accuracy: null,
      metadata: { targetQps: 100, achievedQps: 90, latencyBoundS: 0.01, boundMet: false },
      timeline: {
        scheduledS: arrivals,
        issuedS: arrivals,
        completedS: arrivals.map((t, i) => t + serverLatencies[i]),
      },
    },
    offline: {
      scenario: BenchmarkScenario.OFFLINE,
      latencies: ms([20, 21]),
      throughput: 3000,
      accuracy: 0.75,
      metadata: { batchSize: 32, numSamples: 64 },
    },
  };
}

test("importing the package does not load danfojs", () => {
  const loaded = Object.keys(require.cache).some((path) => path.includes("danfojs-node"));
  assert.is(loaded, false);
});

test("summary rows carry interpolated percentiles in ms and the scenario's metric", () => {
  const r = results();
  const row = summaryRow("single_stream", r.single_stream);
  assert.ok(Math.abs(row.p90Ms - latencyPercentile(r.single_stream.latencies, 0.9) * 1e3) < 1e-9);
  assert.is(row.queries, 10);
  assert.is(row.headline, `p90 ${row.p90Ms.toPrecision(3)} ms`);
  assert.match(summaryRow("server", r.server).headline, /at 90 queries\/s \(bound missed\)/);
  assert.is(summaryRow("offline", r.offline).headline, "3000 samples/s");
});

test("the report states the environment, the figures and findings derived from them", () => {
  const r = results();
  const report = new PerformanceReporter().generateProjectReport(r, {
    modelName: "Tiny",
    environment,
  });
  assert.match(report, /^# Tiny: performance report/);
  for (const fact of [
    "Test CPU 9000",
    "2 logical cores",
    "v20.0.0-test",
    "V8 11.3",
    "resolution 25 ns",
  ]) {
    assert.ok(report.includes(fact), fact);
  }
  const p90 = summaryRow("single_stream", r.single_stream).p90Ms.toPrecision(3);
  assert.ok(report.includes(`| ${p90} |`), "the run's own p90 is in the table");
  assert.match(report, /server: p99 \S+ ms misses the 10\.0 ms bound/);
  assert.match(report, /achieved 90 of 100 queries\/s/);
  assert.match(report, /Offline throughput is 3\.33× single-stream throughput/);
  assert.match(report, /fewer than the 24576 needed for a p90/);
  assert.match(report, /R type 7/);
  // No sentence of fixed praise: a report of different figures reads differently.
  const other = results();
  other.server.metadata = { ...other.server.metadata, boundMet: true, achievedQps: 100 };
  const second = new PerformanceReporter().generateProjectReport(other, { environment });
  assert.match(second, /meets the 10\.0 ms bound at 100 queries\/s/);
  assert.throws(() => new PerformanceReporter().generateProjectReport({}, { environment }));
});

test("describeEnvironment measures the machine and the clock", () => {
  const env = describeEnvironment();
  assert.is(env.nodeVersion, process.version);
  assert.ok(env.cores >= 1 && env.cpuModel.length > 0);
  assert.ok(env.timerResolutionNs > 0 && Number.isFinite(env.timerResolutionNs));
  // The median of back-to-back readings, in whole nanoseconds: a reading of the clock costs
  // tens of nanoseconds, never a millisecond (a unit slip, µs or s, would show here).
  const o = env.timerOverheadNs;
  assert.ok(Number.isInteger(o) && o >= 0 && o < 1e6, `a clock reading cannot cost ${o} ns`);
});

test("the DataFrame table has one row per scenario and renders as escaped HTML", () => {
  const reporter = new PerformanceReporter();
  const df = reporter.toTable(results());
  assert.equal(df.shape, [3, 9]);
  assert.equal(df.columns.slice(0, 3), ["scenario", "queries", "mean_ms"]);
  const html = dataFrameToHtml(df);
  assert.match(html, /^<table><thead><tr><th>scenario<\/th>/);
  assert.is((html.match(/<tr>/g) ?? []).length, 4);
  assert.match(html, /<td>single_stream<\/td>/);
  const shown = reporter.showTable(results());
  assert.equal(shown.shape, [3, 9]);
});

test("saveReport writes atomically and replaces an earlier report", () => {
  const dir = mkdtempSync(join(tmpdir(), "bench-report-"));
  try {
    const reporter = new PerformanceReporter();
    const path = join(dir, "report.md");
    reporter.saveReport("first", path);
    reporter.saveReport("second", path);
    assert.is(readFileSync(path, "utf8"), "second");
    assert.equal(readdirSync(dir), ["report.md"], "no temporary file left behind");
    assert.throws(() => reporter.saveReport("x", join(dir, "missing", "report.md")));
    assert.equal(readdirSync(dir), ["report.md"]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("chart specs: histogram with percentile rules, server latency by arrival time", () => {
  const r = results();
  const charts = benchmarkChartSpecs(r);
  const hist = charts.latencyHistogram as {
    layer: { data: { values: { label?: string; ms: number }[] } }[];
  };
  const rules = hist.layer[1].data.values;
  assert.equal(
    rules.map((v) => v.label),
    ["p50", "p90", "p99"],
  );
  assert.ok(Math.abs(rules[1].ms - latencyPercentile(r.single_stream.latencies, 0.9) * 1e3) < 1e-9);
  const timeline = charts.serverTimeline as {
    layer: { data: { values: { arrivalS?: number; ms: number }[] } }[];
  };
  const points = timeline.layer[0].data.values;
  // Points in arrival order with their own latencies: the 40 ms spike stays at t = 0.04 s.
  assert.equal(
    points.map((p) => p.arrivalS),
    [0.01, 0.02, 0.03, 0.04, 0.05],
  );
  assert.ok(Math.abs(points[3].ms - 40) < 1e-9);
  assert.ok(Math.abs(timeline.layer[1].data.values[0].ms - 10) < 1e-9, "bound rule at 10 ms");
  const bars = (charts.throughput as { data: { values: { scenario: string }[] } }).data.values;
  assert.equal(
    bars.map((b) => b.scenario),
    ["single_stream", "server", "offline"],
  );
  assert.throws(() => benchmarkChartSpecs({}));
});

test("large runs are summarised so chart specs stay small", () => {
  const n = 20000;
  const latencies = Array.from({ length: n }, (_, i) =>
    i % 1000 === 0 ? 0.05 : 0.001 + (i % 7) * 1e-5,
  );
  const scheduledS = Array.from({ length: n }, (_, i) => i / 10000);
  const charts = benchmarkChartSpecs({
    single: {
      scenario: BenchmarkScenario.SINGLE_STREAM,
      latencies,
      throughput: 1,
      accuracy: null,
      metadata: {},
    },
    server: {
      scenario: BenchmarkScenario.SERVER,
      latencies,
      throughput: 1,
      accuracy: null,
      metadata: { targetQps: 10000, latencyBoundS: 0.01 },
      timeline: { scheduledS, issuedS: scheduledS, completedS: scheduledS },
    },
  });
  const bins = (charts.latencyHistogram as { layer: { data: { values: { count?: number }[] } }[] })
    .layer[0].data.values;
  const drawn = bins.reduce((sum, b) => sum + (b.count ?? 0), 0);
  const title = (charts.latencyHistogram as { title: string }).title;
  const beyond = Number(/; (\d+) above/.exec(title)?.[1] ?? 0);
  assert.is(drawn + beyond, n, "every query is either drawn or counted in the title");
  assert.is(beyond, 20, "the 20 slow queries lie beyond p99.5");
  const lines = (
    charts.serverTimeline as { layer: { data: { values: { series: string; ms: number }[] } }[] }
  ).layer[0].data.values;
  assert.ok(lines.length <= 300, `${lines.length} summary points`);
  assert.equal([...new Set(lines.map((v) => v.series))], ["p50", "p99", "max"]);
  assert.ok(
    lines.some((v) => v.series === "max" && Math.abs(v.ms - 50) < 1e-9),
    "spikes survive",
  );
  assert.ok(JSON.stringify(charts).length < 100_000);
});

test("plotBenchmarkResults renders SVG and writes .svg and .vl.json files", async () => {
  const dir = mkdtempSync(join(tmpdir(), "bench-charts-"));
  try {
    await plotBenchmarkResults(results(), { outDir: dir });
    for (const name of ["latencyHistogram", "serverTimeline", "throughput"]) {
      assert.ok(existsSync(join(dir, `${name}.svg`)), name);
      assert.match(readFileSync(join(dir, `${name}.svg`), "utf8"), /<svg/);
      const spec = JSON.parse(readFileSync(join(dir, `${name}.vl.json`), "utf8")) as {
        $schema: string;
      };
      assert.match(spec.$schema, /vega-lite\/v5/);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
