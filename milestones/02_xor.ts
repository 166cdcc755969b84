// Milestone 02: XOR (Minsky and Papert, 1969), built only from the tinytorch-ts package the user
// has (in a student bundle: their own exported code): Tensor (01), Sigmoid and Tanh (02), Linear
// and Sequential (03), BinaryCrossEntropyLoss (04), autograd (06), SGD (07), trainEpoch (08).
//
// XOR is the smallest problem a single-layer perceptron cannot solve: no line separates
// {(0,1), (1,0)} from {(0,0), (1,1)}. Suppose w1·x + w2·y + b were positive on the first two
// points and not on the last two. Adding the first two inequalities gives w1 + w2 + 2b > 0;
// adding the last two gives w1 + w2 + 2b <= 0. So every linear classifier gets at least one of
// the four points wrong: 75% is its ceiling. One hidden layer removes the limit: trained by
// backpropagation, a 2-4-1 MLP learns XOR exactly.
//
// Run it with `npx tito milestone 02`; tests/milestones/xor.test.ts checks it.
import { Tensor } from "tinytorch-ts/core/tensor";
import { Sigmoid, Tanh } from "tinytorch-ts/core/activations";
import { Linear, Sequential } from "tinytorch-ts/core/layers";
import { BinaryCrossEntropyLoss } from "tinytorch-ts/core/losses";
import { SGD } from "tinytorch-ts/optim";
import { evaluate, trainEpoch, type Batch } from "tinytorch-ts/training";
import { isNotImplemented } from "tinytorch-ts/support/testing";

/** The four XOR points and their labels, as one batch: inputs [4, 2], targets [4, 1]. */
export function xorBatch(): Batch {
  return [
    new Tensor([
      [0, 0],
      [0, 1],
      [1, 0],
      [1, 1],
    ]),
    new Tensor([[0], [1], [1], [0]]),
  ];
}

export interface XorRun {
  name: string;
  /** Accuracy on the four points after training (0.25 per point). */
  accuracy: number;
  loss: number;
  epochs: number;
  /** Predicted probabilities of label 1 for (0,0), (0,1), (1,0), (1,1). */
  outputs: number[];
}

/** Trains `model` on XOR with full-batch SGD and binary cross-entropy. */
function train(name: string, model: Sequential, epochs: number, lr: number): XorRun {
  const batch = xorBatch();
  const loss = new BinaryCrossEntropyLoss();
  const optimizer = new SGD(model.parameters(), { lr, momentum: 0.9 });
  for (let epoch = 0; epoch < epochs; epoch++) trainEpoch(model, [batch], loss, optimizer);
  const final = evaluate(model, [batch], loss);
  model.eval();
  const outputs = Array.from(model.forward(batch[0]).data);
  return { name, accuracy: final.accuracy, loss: final.loss, epochs, outputs };
}

/** A single-layer perceptron with a sigmoid output: one line through the plane. */
export function trainPerceptron(seed = 0, epochs = 500): XorRun {
  const model = new Sequential([new Linear(2, 1, { seed }), new Sigmoid()]);
  return train("single-layer perceptron 2-1", model, epochs, 0.5);
}

/** A two-layer MLP: two inputs, four tanh hidden units, one sigmoid output. */
export function trainMlp(seed = 0, epochs = 500): XorRun {
  const model = new Sequential([
    new Linear(2, 4, { seed }),
    new Tanh(),
    new Linear(4, 1, { seed: seed + 1 }),
    new Sigmoid(),
  ]);
  return train("two-layer MLP 2-4-1", model, epochs, 0.5);
}

export interface XorResult {
  perceptron: XorRun;
  mlp: XorRun;
  passed: boolean;
}

/** The milestone: the perceptron stays at or below 75%, the MLP reaches 100%. */
export function runXorMilestone(seed = 0): XorResult {
  const perceptron = trainPerceptron(seed);
  const mlp = trainMlp(seed);
  return { perceptron, mlp, passed: perceptron.accuracy <= 0.75 && mlp.accuracy === 1 };
}

function describe(run: XorRun): string[] {
  const points = ["(0,0)", "(0,1)", "(1,0)", "(1,1)"];
  return [
    `${run.name}: accuracy ${(100 * run.accuracy).toFixed(0)}%, BCE ${run.loss.toFixed(4)} after ${run.epochs} epochs`,
    ...run.outputs.map(
      (p, i) => `  ${points[i]} -> P(1) = ${p.toFixed(3)}  (label ${[0, 1, 1, 0][i]})`,
    ),
  ];
}

export function formatXorReport(result: XorResult): string {
  return [
    "Milestone 02: XOR",
    "",
    ...describe(result.perceptron),
    "  No line separates XOR: the best a single layer can do is 3 of 4 points (75%).",
    "",
    ...describe(result.mlp),
    "",
    result.passed
      ? "PASSED: the perceptron cannot learn XOR; one hidden layer trained by backpropagation can."
      : "FAILED: expected the perceptron at <= 75% and the MLP at 100%.",
  ].join("\n");
}

/** The modules it runs on, in course order: `tito milestone` checks they are exported first. */
export const needs = [
  "01_tensor",
  "02_activations",
  "03_layers",
  "04_losses",
  "06_autograd",
  "07_optimizers",
  "08_training",
];

/** One-line description shown by `tito milestone --list`. */
export const title =
  "XOR: a perceptron fails, a two-layer MLP trained with autograd and SGD succeeds";

/** The entry point of `tito milestone 02`. */
export function runMilestone(): { passed: boolean; report: string } {
  try {
    const result = runXorMilestone();
    return { passed: result.passed, report: formatXorReport(result) };
  } catch (e) {
    if (!isNotImplemented(e)) throw e;
    return {
      passed: false,
      report: `Milestone 02 needs modules 01-08 completed and exported: ${(e as Error).message}`,
    };
  }
}

if (require.main === module) {
  const { passed, report } = runMilestone();
  console.log(report);
  process.exitCode = passed ? 0 : 1;
}
