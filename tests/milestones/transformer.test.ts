// Milestone 05 on a short run: a small GPT (1 block, d_model 32, context 32) trained for 150
// steps of 16 sequences with the milestone's own loop falls far below the loss of an untrained
// model (ln 81 ≈ 4.39 nats per character), close to the bigram baseline; the baseline is the
// add-one count model the test computes itself; the report, the samples (generated with the
// key/value cache) and both charts are there. The full run (the milestone's model, 5 minutes,
// held-out <= 1.85) is `npx tito milestone 05`; tests never assert on time.
import { test } from "uvu";
import * as assert from "uvu/assert";
import {
  SMOKE,
  attentionChartSpec,
  bigramLoss,
  formatTransformerReport,
  lossChartSpec,
  trainTransformer,
} from "../../milestones/05_transformer";
import { renderChart } from "tinytorch-ts/support/chart";
import { CharTokenizer, loadMobyDick, splitHeldOut } from "tinytorch-ts/text/tokenization";

test("the bigram baseline is add-one smoothed counts, about 2.41 nats per character", () => {
  const { train, heldOut } = splitHeldOut(loadMobyDick().text);
  const tok = CharTokenizer.fromText(train);
  const [a, b] = [tok.encode(train), tok.encode(heldOut)];
  const pairs = new Map<string, number>();
  const firsts = new Map<number, number>();
  for (let i = 0; i + 1 < a.length; i++) {
    pairs.set(`${a[i]} ${a[i + 1]}`, (pairs.get(`${a[i]} ${a[i + 1]}`) ?? 0) + 1);
    firsts.set(a[i], (firsts.get(a[i]) ?? 0) + 1);
  }
  let nll = 0;
  for (let i = 0; i + 1 < b.length; i++) {
    const count = pairs.get(`${b[i]} ${b[i + 1]}`) ?? 0;
    nll -= Math.log((count + 1) / ((firsts.get(b[i]) ?? 0) + tok.vocabSize));
  }
  const expected = nll / (b.length - 1);
  const got = bigramLoss(Float32Array.from(a), Float32Array.from(b), tok.vocabSize);
  assert.ok(Math.abs(got - expected) < 1e-9, `${got} vs ${expected}`);
  assert.ok(Math.abs(got - 2.41) < 0.01, `${got}`);
});

test("a short run of a small GPT learns: far below the untrained loss, near the bigram", async () => {
  const result = await trainTransformer(SMOKE);
  assert.is(result.steps.length, 150);
  assert.is(result.vocabSize, 81);
  const first = result.steps[0].trainLoss;
  assert.ok(first > 4 && first < 5, `the untrained loss ${first} is near ln 81 = 4.39`);
  assert.ok(result.heldOutLoss < 2.9, `held-out loss after 150 steps: ${result.heldOutLoss}`);
  assert.ok(result.passed, "the smoke run meets its own target");
  assert.ok(result.heldOutLoss < result.bigramLoss + 0.5, `${result.heldOutLoss} vs bigram ${result.bigramLoss}`); // prettier-ignore
  assert.is(result.steps.filter((s) => s.probeLoss !== undefined).length, 2);
  for (const s of [result.sampleBefore, result.sampleAfter]) assert.ok(s.startsWith("Call me Ishmael. ") && s.length === 17 + 40, s); // prettier-ignore
  const report = formatTransformerReport(result);
  assert.match(report, /held-out loss: \d\.\d{4} nats\/char \(target <= 2\.9\)/); // the smoke run's own target
  assert.match(report, /count bigram model with add-one smoothing, same held-out text: 2\.\d{4}/);
  assert.match(report, /sample before training/);
  assert.is(result.attention.weights.length, 32);
  const rowSums = result.attention.weights.map((row) => row.reduce((s, w) => s + w, 0));
  assert.ok(
    rowSums.every((s) => Math.abs(s - 1) < 1e-4),
    "each query's weights sum to 1",
  );
  assert.ok(result.attention.weights[0].slice(1).every((w) => w === 0), "the first character sees only itself"); // prettier-ignore
  for (const spec of [lossChartSpec(result), attentionChartSpec(result)]) {
    const { svg } = await renderChart(spec);
    assert.match(svg, /^<svg/);
  }
});

test.run();
