// Milestone 01: the perceptron (Rosenblatt, 1958), built only from the tinytorch-ts package the
// user has (in a student bundle: their own exported code), imported by name: Tensor and Rng
// (module 01), Sigmoid (02), Linear (03) and BinaryCrossEntropyLoss (04).
//
// The data set is made in code and linearly separable by construction: points drawn uniformly
// from a square, labelled by the side of a fixed line they fall on, with a margin around the
// line left empty. The perceptron convergence theorem (Novikoff, 1962) then guarantees that the
// perceptron rule stops making mistakes on the training set after at most (R / margin)^2
// updates, where R bounds the length of the inputs.
//
// Run it with `npx tito milestone 01`; `npm test` checks it (tests/milestones/).
import { Rng, Tensor } from "tinytorch-ts/core/tensor";
import { Sigmoid } from "tinytorch-ts/core/activations";
import { Linear } from "tinytorch-ts/core/layers";
import { BinaryCrossEntropyLoss } from "tinytorch-ts/core/losses";

/** A labelled data set: inputs [n, 2] and labels [n, 1] in {0, 1}. */
export interface Dataset {
  inputs: Tensor;
  labels: Tensor;
}

/** The line that separates the classes: label 1 where a*x + b*y + c > 0. */
export const TRUE_BOUNDARY = { a: 1.5, b: -1, c: 0.2 } as const;

/**
 * `n` points in [-1, 1]^2, labelled 1 on the positive side of TRUE_BOUNDARY and 0 on the other,
 * with no point closer to the line than `margin` (distance measured perpendicular to it).
 */
export function makeSeparableData(n: number, seed: number, margin = 0.1): Dataset {
  const rng = new Rng(seed);
  const { a, b, c } = TRUE_BOUNDARY;
  const norm = Math.hypot(a, b);
  const inputs = new Float32Array(n * 2);
  const labels = new Float32Array(n);
  let count = 0;
  while (count < n) {
    const x = rng.next() * 2 - 1;
    const y = rng.next() * 2 - 1;
    const distance = (a * x + b * y + c) / norm;
    if (Math.abs(distance) < margin) continue; // keep the margin empty
    inputs[2 * count] = x;
    inputs[2 * count + 1] = y;
    labels[count] = distance > 0 ? 1 : 0;
    count++;
  }
  return { inputs: new Tensor(inputs, [n, 2]), labels: new Tensor(labels, [n, 1]) };
}

/** The perceptron: a Linear(2 -> 1) layer whose score is thresholded at 0. */
export class Perceptron {
  readonly layer: Linear;

  constructor(seed: number) {
    this.layer = new Linear(2, 1, { seed });
  }

  /** Raw scores x @ w + b, shape [n, 1]. */
  scores(inputs: Tensor): Tensor {
    return this.layer.forward(inputs);
  }

  /** Hard predictions in {0, 1}: 1 where the score is positive. */
  predict(inputs: Tensor): Tensor {
    return this.scores(inputs).map((s) => (s > 0 ? 1 : 0));
  }
}

/** Fraction of rows where the prediction equals the label. */
export function accuracy(model: Perceptron, data: Dataset): number {
  const predictions = model.predict(data.inputs);
  let right = 0;
  for (let i = 0; i < predictions.size; i++) {
    if (predictions.data[i] === data.labels.data[i]) right++;
  }
  return predictions.size === 0 ? 0 : right / predictions.size;
}

export interface EpochRecord {
  epoch: number;
  mistakes: number;
  accuracy: number;
  /** Binary cross-entropy of sigmoid(score): a smooth view of how confident the model is. */
  loss: number;
}

export interface TrainOptions {
  epochs?: number;
  learningRate?: number;
}

/**
 * The batch perceptron rule: for every misclassified example, move the weights towards it
 * (label 1) or away from it (label 0). In matrix form, with error e = labels - predictions
 * (entries -1, 0 or 1): w += lr * X^T e and b += lr * sum(e). Stops after an epoch without
 * mistakes.
 */
export function trainPerceptron(
  model: Perceptron,
  data: Dataset,
  options: TrainOptions = {},
): EpochRecord[] {
  const epochs = options.epochs ?? 100;
  const lr = options.learningRate ?? 0.1;
  const sigmoid = new Sigmoid();
  const bce = new BinaryCrossEntropyLoss();
  const history: EpochRecord[] = [];
  const inputsT = data.inputs.transpose(); // [2, n], computed once
  for (let epoch = 1; epoch <= epochs; epoch++) {
    const scores = model.scores(data.inputs);
    const predictions = scores.map((s) => (s > 0 ? 1 : 0));
    const errors = data.labels.sub(predictions); // [n, 1]
    const mistakes = errors.abs().sum().item();
    const loss = bce.forward(sigmoid.forward(scores), data.labels).item();
    history.push({ epoch, mistakes, accuracy: 1 - mistakes / data.labels.size, loss });
    if (mistakes === 0) break;
    const layer = model.layer;
    layer.weight = layer.weight.add(inputsT.matmul(errors).mul(lr));
    if (layer.bias) layer.bias = layer.bias.add(errors.sum(0).mul(lr));
  }
  return history;
}

export interface MilestoneResult {
  trainAccuracy: number;
  testAccuracy: number;
  epochs: number;
  history: EpochRecord[];
  weight: number[];
  bias: number;
  /** The accuracy the milestone must reach on the held-out test set. */
  target: number;
  passed: boolean;
}

export interface MilestoneOptions {
  trainSize?: number;
  testSize?: number;
  seed?: number;
  epochs?: number;
}

/** Builds the data, trains the perceptron and measures it on fresh test data. */
export function runPerceptronMilestone(options: MilestoneOptions = {}): MilestoneResult {
  const seed = options.seed ?? 1;
  const train = makeSeparableData(options.trainSize ?? 200, seed);
  const test = makeSeparableData(options.testSize ?? 200, seed + 1000);
  const model = new Perceptron(seed);
  const history = trainPerceptron(model, train, { epochs: options.epochs ?? 100 });
  const trainAccuracy = accuracy(model, train);
  const testAccuracy = accuracy(model, test);
  const target = 0.95;
  return {
    trainAccuracy,
    testAccuracy,
    epochs: history.length,
    history,
    weight: Array.from(model.layer.weight.data),
    bias: model.layer.bias ? model.layer.bias.item() : 0,
    target,
    passed: trainAccuracy >= target && testAccuracy >= target,
  };
}

/** The milestone's report, as printed by `tito milestone 01`. */
export function formatMilestoneReport(result: MilestoneResult): string {
  const lines = ["Milestone 01: the perceptron", ""];
  const shown = result.history.filter(
    (h, i) => i < 5 || i === result.history.length - 1 || h.epoch % 10 === 0,
  );
  lines.push("epoch  mistakes  accuracy  BCE(sigmoid(score))");
  for (const h of shown) {
    lines.push(
      `${String(h.epoch).padStart(5)}  ${String(h.mistakes).padStart(8)}  ` +
        `${(100 * h.accuracy).toFixed(1).padStart(7)}%  ${h.loss.toFixed(4).padStart(10)}`,
    );
  }
  const [w1, w2] = result.weight;
  const { a, b, c } = TRUE_BOUNDARY;
  lines.push(
    "",
    `learned boundary: ${w1.toFixed(3)}*x + ${w2.toFixed(3)}*y + ${result.bias.toFixed(3)} = 0`,
    `true boundary:    ${a}*x + ${b}*y + ${c} = 0 (any positive multiple is the same line)`,
    `train accuracy:   ${(100 * result.trainAccuracy).toFixed(1)}% after ${result.epochs} epoch(s)`,
    `test accuracy:    ${(100 * result.testAccuracy).toFixed(1)}% (target ${100 * result.target}%)`,
    result.passed ? "PASSED" : "FAILED: below the target accuracy",
  );
  return lines.join("\n");
}

/** The modules it runs on, in course order: `tito milestone` checks they are exported first. */
export const needs = ["01_tensor", "02_activations", "03_layers", "04_losses"];

/** One-line description shown by `tito milestone --list`. */
export const title = "the perceptron: a linear classifier on a separable data set";

/** The entry point of `tito milestone 01`: runs the milestone and returns its report. */
export function runMilestone(): { passed: boolean; report: string } {
  const result = runPerceptronMilestone();
  return { passed: result.passed, report: formatMilestoneReport(result) };
}

if (require.main === module) {
  const { passed, report } = runMilestone();
  console.log(report);
  process.exitCode = passed ? 0 : 1;
}
