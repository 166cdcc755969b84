// Statistical behaviour of the benchmarking package (generated from module 19): published
// worked examples, the false-positive rate of an A/A test, the power to detect a real shift,
// the coverage of t intervals, and the percentile definition.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { Rng } from "../../tinytorch-ts/src/core/tensor";
import {
  BenchmarkScenario,
  compareSamples,
  latencyPercentile,
  mannWhitneyU,
  mlperfMinQueries,
  summarizeLatencies,
  validateBenchmarkResult,
  welchTTest,
  type BenchmarkResult,
} from "../../tinytorch-ts/src/perf/benchmarking";

/** Rounds to 4 significant digits, the precision the published values are compared at. */
const sig4 = (x: number): number => Number(x.toPrecision(4));

const normals = (rng: Rng, n: number, mean: number, sd: number): number[] =>
  Array.from({ length: n }, () => mean + sd * rng.normal());

// Student's sleep data, R `datasets::sleep` (Cushny & Peebles 1905; Student 1908), extra hours
// of sleep under drug 1 and drug 2.
const sleep1 = [0.7, -1.6, -0.2, -1.2, -0.1, 3.4, 3.7, 0.8, 0.0, 2.0];
const sleep2 = [1.9, 0.8, 1.1, 0.1, -0.1, 4.4, 5.5, 1.6, 4.6, 3.4];
const oneToTen = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10];
const sevenToTwenty = [7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20];

test("Welch p-values match published worked examples to 4 significant digits", () => {
  // R's documentation example, `t.test(1:10, y = c(7:20))` (stats::t.test help page), prints
  // "t = -5.4349, df = 21.982, p-value = 1.855e-05" and the 95% CI -11.052802 -4.947198.
  const a = welchTTest(oneToTen, sevenToTwenty);
  assert.is(sig4(a.pValue), 1.855e-5);
  assert.is(sig4(a.t), sig4(-5.4349));
  assert.is(sig4(a.df), sig4(21.982));
  assert.ok(Math.abs(a.confidenceInterval[0] - -11.052802) < 1e-6);
  assert.ok(Math.abs(a.confidenceInterval[1] - -4.947198) < 1e-6);
  // The same help page's outlier example, `t.test(1:10, y = c(7:20, 200))`:
  // "t = -1.6329, df = 14.165, p-value = 0.1245".
  const b = welchTTest(oneToTen, [...sevenToTwenty, 200]);
  assert.is(sig4(b.pValue), 0.1245);
  assert.is(sig4(b.t), sig4(-1.6329));
  assert.is(sig4(b.df), sig4(14.165));
  // Welch test on the sleep data, as printed in the afex package's documented example
  // (https://rdrr.io/github/singmann/afex/src/examples/examples.compare.R):
  // "Welch t -1.861 17.78 0.07939" (statistic, df, p).
  const c = welchTTest(sleep1, sleep2);
  assert.is(sig4(c.pValue), 0.07939);
  assert.is(Number(c.t.toFixed(3)), -1.861);
  assert.is(Number(c.df.toFixed(2)), 17.78);
});

test("Mann–Whitney U with ties matches R's wilcox.test on the sleep data", () => {
  // Same afex example: "stats::Wilcoxon W 25.500 ... 0.06933" (continuity-corrected normal
  // approximation, as R uses with ties) and "coin::Wilcoxon Z -1.854" (uncorrected z).
  const m = mannWhitneyU(sleep1, sleep2);
  assert.is(m.u, 25.5);
  assert.is(sig4(m.pValue), 0.06933);
  assert.is(
    Number(mannWhitneyU(sleep1, sleep2, { continuityCorrection: false }).z.toFixed(3)),
    -1.854,
  );
});

test("A/A test: 500 repetitions at α = 0.05 are significant 3–7% of the time", () => {
  const rng = new Rng(20240519);
  let welchHits = 0;
  let rankHits = 0;
  for (let rep = 0; rep < 500; rep++) {
    const a = normals(rng, 30, 10, 1);
    const b = normals(rng, 30, 10, 1);
    if (compareSamples(a, b).isSignificant) welchHits++;
    // Latency-like skewed data for the rank test: log-normal.
    const la = normals(rng, 30, 0, 0.5).map(Math.exp);
    const lb = normals(rng, 30, 0, 0.5).map(Math.exp);
    if (compareSamples(la, lb, { method: "mann-whitney" }).isSignificant) rankHits++;
  }
  const welchRate = welchHits / 500;
  const rankRate = rankHits / 500;
  assert.ok(welchRate >= 0.03 && welchRate <= 0.07, `Welch false-positive rate ${welchRate}`);
  assert.ok(rankRate >= 0.03 && rankRate <= 0.07, `Mann–Whitney false-positive rate ${rankRate}`);
});

test("a 10% mean shift at n = 200 with 5% noise is detected at least 90% of the time", () => {
  const rng = new Rng(7);
  let detected = 0;
  const reps = 200;
  for (let rep = 0; rep < reps; rep++) {
    const a = normals(rng, 200, 1.0, 0.05);
    const b = normals(rng, 200, 1.1, 0.055);
    const v = compareSamples(a, b);
    if (v.isSignificant && v.meanB > v.meanA) detected++;
  }
  assert.ok(detected / reps >= 0.9, `power ${detected / reps}`);
});

test("the seed's made-up p-value would fail the A/A check; ours stays a probability", () => {
  // With equal means the original formula returned 2 (t = 0): not a probability at all.
  const same = compareSamples([1, 2, 3, 4], [1, 2, 3, 4]);
  assert.ok(same.pValue <= 1 && same.pValue >= 0);
  assert.is(same.isSignificant, false);
});

test("95% t intervals of the mean cover the true mean about 95% of the time at n = 5", () => {
  // z = 1.96 would give about 88% coverage at n = 5; the t quantile (2.776 at 4 df) gives 95%.
  const rng = new Rng(11);
  let covered = 0;
  const reps = 2000;
  for (let rep = 0; rep < reps; rep++) {
    const latencies = normals(rng, 5, 0.01, 0.002);
    const result: BenchmarkResult = {
      scenario: BenchmarkScenario.SINGLE_STREAM,
      latencies,
      throughput: 1,
      accuracy: null,
      metadata: {},
    };
    const [lo, hi] = validateBenchmarkResult(result, { minSamples: 1 }).meanConfidenceInterval;
    if (lo <= 0.01 && 0.01 <= hi) covered++;
  }
  const coverage = covered / reps;
  assert.ok(coverage > 0.93 && coverage < 0.97, `coverage ${coverage}`);
});

test("Welch intervals at 90% and 99% use the matching t quantiles", () => {
  const w90 = welchTTest(sleep1, sleep2, 0.9);
  const w99 = welchTTest(sleep1, sleep2, 0.99);
  const width = (w: { confidenceInterval: [number, number] }): number =>
    w.confidenceInterval[1] - w.confidenceInterval[0];
  assert.ok(width(w90) < width(welchTTest(sleep1, sleep2)) && width(w99) > width(w90));
  assert.is(sig4(w90.pValue), sig4(w99.pValue));
});

test("percentiles interpolate linearly (R type 7 / numpy default)", () => {
  assert.ok(Math.abs(latencyPercentile(oneToTen, 0.9) - 9.1) < 1e-12);
  // numpy.percentile([1..9, 1000], 99) = 910.81
  assert.ok(Math.abs(latencyPercentile([1, 2, 3, 4, 5, 6, 7, 8, 9, 1000], 0.99) - 910.81) < 1e-9);
  const s = summarizeLatencies([5, 1, 4, 2, 3]);
  assert.equal([s.p50, s.min, s.max], [3, 1, 5]);
  assert.ok(Math.abs(s.p90 - 4.6) < 1e-12);
  assert.throws(() => latencyPercentile([], 0.5));
});

test("MLPerf minimum query counts reproduce the published 24,576 and 270,336", () => {
  assert.equal(mlperfMinQueries(0.9, 0.99), { exact: 23886, rounded: 24576 });
  assert.equal(mlperfMinQueries(0.99, 0.99), { exact: 262742, rounded: 270336 });
  assert.throws(() => mlperfMinQueries(0, 0.99));
});

test("outliers use interpolated quartiles and both fences", () => {
  const result: BenchmarkResult = {
    scenario: BenchmarkScenario.SINGLE_STREAM,
    latencies: [0.001, 10, 10, 10, 11, 11, 11, 10, 10, 100],
    throughput: 1,
    accuracy: null,
    metadata: {},
  };
  const v = validateBenchmarkResult(result, { minSamples: 1 });
  assert.is(v.q1, 10);
  assert.is(v.q3, 11);
  assert.is(v.outliers, 2);
});

test("verdicts need significance and size: a huge sample makes a tiny shift significant", () => {
  const rng = new Rng(3);
  const a = normals(rng, 20000, 1, 0.1);
  const b = normals(rng, 20000, 1.005, 0.1);
  const v = compareSamples(a, b);
  assert.ok(v.isSignificant, `p = ${v.pValue}`);
  assert.ok(Math.abs(v.hedgesG) < 0.2);
  assert.match(v.recommendation, /negligible/);
  const faster = compareSamples(normals(rng, 50, 1, 0.05), normals(rng, 50, 0.8, 0.05));
  assert.match(faster.recommendation, /B is better/);
  const throughput = compareSamples(normals(rng, 50, 100, 5), normals(rng, 50, 80, 5), {
    lowerIsBetter: false,
  });
  assert.match(throughput.recommendation, /B is worse/);
});

test.run();
