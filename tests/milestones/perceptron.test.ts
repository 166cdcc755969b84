// Milestone 01: the perceptron built from the exported package reaches its accuracy target on a
// linearly separable data set, and that result comes from training.
import { test } from "uvu";
import * as assert from "uvu/assert";
import {
  Perceptron,
  TRUE_BOUNDARY,
  accuracy,
  makeSeparableData,
  runMilestone,
  runPerceptronMilestone,
  trainPerceptron,
} from "../../milestones/01_perceptron";

test("the data set is linearly separable by construction, with both classes present", () => {
  const data = makeSeparableData(300, 4);
  const { a, b, c } = TRUE_BOUNDARY;
  let ones = 0;
  for (let i = 0; i < 300; i++) {
    const x = data.inputs.data[2 * i];
    const y = data.inputs.data[2 * i + 1];
    const side = a * x + b * y + c > 0 ? 1 : 0;
    assert.is(side, data.labels.data[i], `point ${i} is on its label's side`);
    assert.ok(Math.abs(a * x + b * y + c) / Math.hypot(a, b) >= 0.1 - 1e-6, "margin");
    ones += side;
  }
  assert.ok(ones > 50 && ones < 250, `class balance ${ones}/300`);
});

test("the milestone reaches its target on held-out data", () => {
  const result = runPerceptronMilestone();
  assert.ok(result.passed, `train ${result.trainAccuracy}, test ${result.testAccuracy}`);
  assert.ok(result.testAccuracy >= result.target);
  assert.is(result.trainAccuracy, 1, "separable data: the perceptron rule converges");
  assert.match(runMilestone().report, /test accuracy/);
});

test("accuracy comes from training, not from the initial weights", () => {
  const data = makeSeparableData(200, 1);
  const model = new Perceptron(1);
  const before = accuracy(model, data);
  const history = trainPerceptron(model, data);
  assert.ok(before < 0.95, `untrained accuracy ${before}`);
  assert.is(history[history.length - 1].mistakes, 0);
  assert.is(accuracy(model, data), 1);
  const weights = Array.from(model.layer.weight.data);
  assert.ok(weights[0] > 0 && weights[1] < 0, "learned boundary has the true orientation");
});

test("it works for other seeds too", () => {
  for (const seed of [2, 3, 7]) {
    const r = runPerceptronMilestone({ seed });
    assert.ok(r.passed, `seed ${seed}: test accuracy ${r.testAccuracy}`);
  }
});

test.run();
