// LogisticModel (perf/modeling, generated from modules/14_profiling): evaluation, the
// grid + Levenberg-Marquardt fit, and serialisation.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { LogisticModel, fitLogistic, logisticEvalX } from "../../tinytorch-ts/src/perf/modeling";
import { Rng } from "../../tinytorch-ts/src/core/tensor";

function within(actual: number, expected: number, rel: number, what: string): void {
  const err = Math.abs(actual - expected) / Math.abs(expected);
  assert.ok(err <= rel, `${what}: ${actual} vs ${expected} (${(err * 100).toFixed(2)}% off)`);
}

/** 30 points over log2(batch) in [0, 10] with multiplicative gaussian noise. */
function noisyCurve(
  truth: LogisticModel,
  noise: number,
  seed: number,
): { x: number[]; y: number[] } {
  const rng = new Rng(seed);
  const x: number[] = [];
  const y: number[] = [];
  for (let i = 0; i < 30; i++) {
    const xi = (10 * i) / 29;
    x.push(xi);
    y.push(truth.evalX(xi) * (1 + noise * rng.normal()));
  }
  return { x, y };
}

test("the fit recovers known parameters from noisy synthetic data within 5%", () => {
  const cases = [
    new LogisticModel(3000, 4.5, 1.2, 400), // throughput: rises and saturates
    new LogisticModel(180, 6, 0.8, 60), // power in watts: a gentler rise
    new LogisticModel(0.004, 3, -0.9, 0.001), // per-sample latency in seconds: falls
  ];
  // 30 points with 0.5% multiplicative noise; the throughput curve also with 1% noise. (The
  // steepness k is the least determined parameter: at 1% noise its error has an rms near 2.4%
  // for the gentler curves, so 5% would be only two standard errors there.)
  const runs: [LogisticModel, number][] = [
    ...cases.map((c): [LogisticModel, number] => [c, 0.005]),
    [cases[0], 0.01],
  ];
  for (const [i, [truth, noise]] of runs.entries()) {
    for (const seed of [1, 2, 3]) {
      const { x, y } = noisyCurve(truth, noise, 100 * i + seed);
      const fit = LogisticModel.fit(x, y);
      within(fit.L, truth.L, 0.05, `run ${i} seed ${seed} L`);
      within(fit.x0, truth.x0, 0.05, `run ${i} seed ${seed} x0`);
      within(fit.k, truth.k, 0.05, `run ${i} seed ${seed} k`);
      within(fit.b0, truth.b0, 0.05, `run ${i} seed ${seed} b0`);
    }
  }
});

test("a fit reports the canonical form with L >= 0 (the mirrored parameters draw the same curve)", () => {
  const x = [0, 1, 2, 3, 4, 5, 6, 7, 8];
  const y = x.map((xi) => logisticEvalX({ L: -500, x0: 4, k: -1, b0: 700 }, xi));
  const fit = fitLogistic(x, y);
  assert.ok(
    Math.abs(fit.L - 500) < 0.5 && Math.abs(fit.k - 1) < 1e-3 && Math.abs(fit.b0 - 200) < 0.5,
    JSON.stringify(fit),
  );
});

test("half a curve: the midpoint stays near the data instead of running off", () => {
  // A sweep measured in this kit's notebook (samples/s at batch 1..256): only the saturating
  // half of a logistic is visible, so the lower asymptote is not identified by the data. Without
  // bounds the solver moved the midpoint to x0 ≈ -10 (batch 1/1000) with asymptotes of millions.
  const batches = [1, 2, 4, 8, 16, 32, 64, 128, 256];
  const measured = [22410, 34391, 50236, 61267, 59656, 64903, 64973, 70636, 73433];
  const fit = LogisticModel.fitBatches(batches, measured);
  const span = 8;
  assert.ok(fit.x0 >= -span / 4 - 1e-9 && fit.x0 <= 8 + span / 4 + 1e-9, `x0 ${fit.x0}`);
  for (const [i, b] of batches.entries()) within(fit.eval(b), measured[i], 0.1, `batch ${b}`);
});

test("eval(batch) is evalX(log2 batch); derivWrtX matches a finite difference", () => {
  const m = new LogisticModel(1000, 3, 1.5, 100);
  assert.ok(Math.abs(m.eval(8) - m.evalX(3)) < 1e-9);
  assert.ok(Math.abs(m.evalX(3) - 600) < 1e-9, "half-way at the midpoint");
  for (const x of [0, 2, 3, 5.5, 9]) {
    const h = 1e-5;
    const numeric = (m.evalX(x + h) - m.evalX(x - h)) / (2 * h);
    assert.ok(Math.abs(m.derivWrtX(x) - numeric) < 1e-4 * (1 + Math.abs(numeric)), `slope at ${x}`);
  }
  assert.throws(() => m.eval(0), /positive/);
  const steep = new LogisticModel(1, 0, 1e4, 0);
  assert.is(steep.evalX(3), 1);
  assert.is(steep.evalX(-3), 0);
});

test("toDict/fromDict round-trip; fromDict accepts numeric strings and a Map, rejects garbage", () => {
  const m = new LogisticModel(12.5, 2.25, 0.75, -3);
  assert.equal(LogisticModel.fromDict(m.toDict()).toDict(), m.toDict());
  const fromCsv = LogisticModel.fromDict({ L: "12.5", x0: "2.25", k: "0.75", b0: "-3" });
  assert.equal(fromCsv.toDict(), m.toDict());
  assert.equal(LogisticModel.fromDict(new Map(Object.entries(m.toDict()))).toDict(), m.toDict());
  assert.throws(() => LogisticModel.fromDict({ L: 1, x0: 2, k: 3 }), /missing 'b0'/);
  assert.throws(
    () => LogisticModel.fromDict({ L: "abc", x0: 2, k: 3, b0: 1 }),
    /'L' must be a finite number/,
  );
});

test("fit rejects inputs it cannot fit", () => {
  assert.throws(() => fitLogistic([1, 2, 3], [1, 2, 3]), /at least 4/);
  assert.throws(() => fitLogistic([1, 2, 3, 4], [1, 2, 3]), /y values/);
  assert.throws(() => fitLogistic([1, 2, 3, 4], [1, Number.NaN, 3, 4]), /finite/);
  assert.throws(() => fitLogistic([3, 3, 3, 3], [1, 2, 3, 4]), /equal/);
  const flat = fitLogistic([1, 2, 3, 4], [7, 7, 7, 7]);
  assert.equal([flat.L, flat.b0], [0, 7]);
});

test.run();
