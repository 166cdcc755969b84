// ITLMixtureModel (perf/modeling, generated from modules/14_profiling): analytical moments
// against sampling, the EM + profile-likelihood fit, sampleAvg, and serialisation.
import { test } from "uvu";
import * as assert from "uvu/assert";
import * as ss from "simple-statistics";
import { ITLMixtureModel, emTwoGaussians } from "../../tinytorch-ts/src/perf/modeling";
import { Rng } from "../../tinytorch-ts/src/core/tensor";

// Rare, long stalls: the shape measured inter-token latencies have.
const truth = new ITLMixtureModel({
  loc: 0.015,
  piSteady: 0.85,
  sigmaSteady: 0.3,
  scaleSteady: 0.01,
  piStall: 0.15,
  sigmaStall: 0.6,
  scaleStall: 0.06,
});

// Two well-separated, evenly weighted components: a light-tailed mixture whose sample variance
// over 200,000 draws has a standard error of about 0.2% (the variance of a sample variance grows
// with the kurtosis; `truth` above has a kurtosis near 30, which puts ±1.2% on it).
const balanced = new ITLMixtureModel({
  loc: 0.005,
  piSteady: 0.6,
  sigmaSteady: 0.1,
  scaleSteady: 0.01,
  piStall: 0.4,
  sigmaStall: 0.1,
  scaleStall: 0.03,
});

function within(actual: number, expected: number, rel: number, what: string): void {
  const err = Math.abs(actual - expected) / Math.abs(expected);
  assert.ok(err <= rel, `${what}: ${actual} vs ${expected} (${(err * 100).toFixed(2)}% off)`);
}

test("meanVar matches the sample mean and variance of 200,000 draws within 1%", () => {
  const rng = new Rng(2024);
  const draws = Array.from({ length: 200_000 }, () => balanced.sampleOne(rng));
  const [mean, variance] = balanced.meanVar();
  within(ss.mean(draws), mean, 0.01, "mean");
  within(ss.variance(draws), variance, 0.01, "variance");
  // The heavy-tailed model: its mean is pinned down just as well.
  const heavy = Array.from({ length: 200_000 }, () => truth.sampleOne(rng));
  within(ss.mean(heavy), truth.meanVar()[0], 0.01, "mean of the heavy-tailed mixture");
});

test("the fit recovers weights and sigmas within 10% from 20,000 samples", () => {
  for (const seed of [7, 8]) {
    const rng = new Rng(seed);
    const draws = Array.from({ length: 20_000 }, () => truth.sampleOne(rng));
    const fit = ITLMixtureModel.fit(draws);
    within(fit.piSteady, truth.piSteady, 0.1, `seed ${seed} piSteady`);
    within(fit.piStall, truth.piStall, 0.1, `seed ${seed} piStall`);
    within(fit.sigmaSteady, truth.sigmaSteady, 0.1, `seed ${seed} sigmaSteady`);
    within(fit.sigmaStall, truth.sigmaStall, 0.1, `seed ${seed} sigmaStall`);
    assert.ok(fit.loc < Math.min(...draws), "loc lies below every sample");
  }
});

test("fit subsamples reproducibly with maxSamples and seed", () => {
  const rng = new Rng(3);
  const draws = Array.from({ length: 5000 }, () => truth.sampleOne(rng));
  const a = ITLMixtureModel.fit(draws, { maxSamples: 1000, seed: 1 }).toDict();
  const b = ITLMixtureModel.fit(draws, { maxSamples: 1000, seed: 1 }).toDict();
  const c = ITLMixtureModel.fit(draws, { maxSamples: 1000, seed: 2 }).toDict();
  assert.equal(a, b);
  assert.not.equal(a, c);
  assert.throws(() => ITLMixtureModel.fit([1, 2, 3]), /at least 10/);
  assert.throws(() => ITLMixtureModel.fit(new Array(20).fill(0.01)), /no spread/);
});

test("sampleAvg: NaN without replicas, exact up to the threshold, normal with mean and var/n above", () => {
  const rng = new Rng(11);
  assert.ok(Number.isNaN(truth.sampleAvg({ nReplicas: 0, rng })));
  assert.ok(Number.isNaN(truth.sampleAvg({ nReplicas: -3, rng })));
  const [mean, variance] = truth.meanVar();
  for (const n of [4, 30, 31, 200]) {
    const avgs = Array.from({ length: 40_000 }, () => truth.sampleAvg({ nReplicas: n, rng }));
    within(ss.mean(avgs), mean, 0.01, `mean of averages over ${n}`);
    within(ss.variance(avgs), variance / n, 0.06, `variance of averages over ${n}`);
  }
  // Exactly at the threshold the average is exact: its skew shows (a normal would have none).
  const exact = Array.from({ length: 20_000 }, () =>
    truth.sampleAvg({ nReplicas: 2, rng, exactThreshold: 2 }),
  );
  assert.ok(ss.sampleSkewness(exact) > 1, "two-replica averages stay skewed");
  const clt = Array.from({ length: 20_000 }, () =>
    truth.sampleAvg({ nReplicas: 2, rng, exactThreshold: 1 }),
  );
  assert.ok(Math.abs(ss.sampleSkewness(clt)) < 0.1, "above the threshold the draw is normal");
});

test("toDict/fromDict round-trip, with or without the itl_mix_ prefix", () => {
  const d = truth.toDict();
  assert.equal(Object.keys(d), [
    "loc",
    "pi_steady",
    "sigma_steady",
    "scale_steady",
    "pi_stall",
    "sigma_stall",
    "scale_stall",
  ]);
  assert.equal(ITLMixtureModel.fromDict(d).toDict(), d);
  const prefixed = Object.fromEntries(
    Object.entries(d).map(([k, v]) => [`itl_mix_${k}`, String(v)]),
  );
  assert.equal(ITLMixtureModel.fromDict(prefixed).toDict(), d);
  assert.throws(() => ITLMixtureModel.fromDict({ ...d, pi_stall: undefined }), /pi_stall/);
  assert.throws(() => ITLMixtureModel.fromDict({ ...d, pi_steady: 0, pi_stall: 0 }), /weights/);
});

test("density integrates to 1 and is 0 below loc", () => {
  assert.is(truth.density(0.01), 0);
  let total = 0;
  const dx = 1e-5;
  for (let x = truth.loc + dx / 2; x < 2; x += dx) total += truth.density(x) * dx;
  assert.ok(Math.abs(total - 1) < 1e-3, `integral ${total}`);
});

test("EM orders components by mean and survives far-apart clusters", () => {
  const rng = new Rng(5);
  const y = Array.from({ length: 3000 }, () =>
    rng.next() < 0.3 ? 5 + 0.1 * rng.normal() : 1 + 0.3 * rng.normal(),
  );
  const fit = emTwoGaussians(y);
  assert.ok(fit.means[0] < fit.means[1]);
  within(fit.weights[0], 0.7, 0.05, "weight of the lower cluster");
  const far = emTwoGaussians([0, 0.1, 0.2, 1e6, 1e6 + 0.1, 1e6 + 0.2]);
  assert.ok(far.means.every(Number.isFinite) && far.sigmas.every((s) => s > 0));
});

test.run();
