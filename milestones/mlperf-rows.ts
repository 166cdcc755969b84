// The models of milestone 06, built from the package (in a student bundle: the student's own
// modules): milestone 03's digits MLP as the float32 baseline, then the same model quantized to
// INT8 (module 15), pruned to 80% and fine-tuned (module 16), and a small student distilled from
// it (module 16). Each row carries what the table needs: how to run it on one batch, its
// accuracy on the test split, and its size as the bytes of its real file.
import { Tensor } from "tinytorch-ts/core/tensor";
import { ReLU } from "tinytorch-ts/core/activations";
import { Linear, Sequential } from "tinytorch-ts/core/layers";
import { CrossEntropyLoss } from "tinytorch-ts/core/losses";
import { noGrad } from "tinytorch-ts/core/autograd";
import { DataLoader, TensorDataset } from "tinytorch-ts/data";
import { Adam, CosineAnnealingLR } from "tinytorch-ts/optim";
import { encodeCheckpoint, trainEpoch } from "tinytorch-ts/training";
import { encodeQuantizedModel, packModel, quantizeModel } from "tinytorch-ts/optimize/quantization";
import {
  applyMasks,
  distillEpoch,
  encodeSparseModel,
  globalMagnitudeMasks,
  maskedTrainEpoch,
  sparsifyModel,
} from "tinytorch-ts/optimize/compression";
import { digitsMlp, type DigitSet } from "./03_mlp_digits";
import { asImages, leNet } from "./04_cnn_digits";

export interface RowsOptions {
  /** Epochs of the baseline (milestone 03's recipe: Adam 3e-3, cosine schedule, batch 64). */
  epochs: number;
  /** Epochs of masked fine-tuning after pruning. */
  fineTuneEpochs: number;
  /** Epochs of distillation of the student. */
  studentEpochs: number;
  /** Hidden units of the distilled students (784-h-10). */
  studentHidden: number;
  /** Epochs of milestone 04's CNN (its recipe); 0 leaves the CNN rows out. */
  cnnEpochs: number;
  sparsity: number;
  temperature: number;
  alpha: number;
  seed: number;
}

/** One row of the table: a model and what is known about it before timing. */
export interface Row {
  name: string;
  /** The model's forward pass on a batch [n, 784] (inference mode, no graph). */
  run: (x: Tensor) => Tensor;
  accuracy: number;
  bytes: number;
  /** What its size is the size of (which file format). */
  file: string;
  /** A reference row: shown for comparison, not one of the milestone's targets. */
  reference?: boolean;
  /** The float32 model this row is compared with (none for the float32 models themselves). */
  against?: Row;
}

export interface Rows {
  baseline: Row;
  packed: Row;
  int8: Row;
  sparse: Row;
  student: Row;
  /** Measured sparsity of the pruned model's weights. */
  sparsity: number;
  /** Test accuracy of the pruned model before fine-tuning. */
  prunedAccuracy: number;
  /** Test accuracy of the student trained alone for as many epochs (what distillation adds). */
  studentAloneAccuracy: number;
  /** Milestone 04's CNN, its INT8 copy and a student distilled from it (unless cnnEpochs is 0). */
  cnn?: { float: Row; int8: Row; student: Row };
}

function loaderOf(train: DigitSet, seed: number): DataLoader {
  return new DataLoader(new TensorDataset(train.images, train.labels), {
    batchSize: 64,
    shuffle: true,
    seed,
  });
}

/** Fraction of the test digits a forward function classifies correctly. */
export function accuracyOf(run: (x: Tensor) => Tensor, test: DigitSet): number {
  const logits = run(test.images);
  const classes = logits.shape[1];
  let right = 0;
  for (let i = 0; i < logits.shape[0]; i++) {
    let best = 0;
    for (let c = 1; c < classes; c++) {
      if (logits.data[i * classes + c] > logits.data[i * classes + best]) best = c;
    }
    if (best === test.labels.data[i]) right++;
  }
  return right / logits.shape[0];
}

/** An inference function of a model: eval mode, no graph. */
function inference(model: Sequential): (x: Tensor) => Tensor {
  model.eval();
  return (x) => noGrad(() => model.forward(x));
}

/** A copy of an MLP with new Linear layers holding the same numbers (the baseline stays as is). */
function copyMlp(model: Sequential): Sequential {
  return new Sequential(
    model.layers.map((layer) => {
      if (!(layer instanceof Linear)) return layer;
      const copy = new Linear(layer.inFeatures, layer.outFeatures, { seed: 0 });
      copy.weight = new Tensor(Float32Array.from(layer.weight.data), layer.weight.shape);
      copy.weight.setRequiresGrad();
      if (layer.bias !== null) {
        copy.bias = new Tensor(Float32Array.from(layer.bias.data), layer.bias.shape);
        copy.bias.setRequiresGrad();
      }
      return copy;
    }),
  );
}

/** `count` batches of 64 training digits spread over every digit, for calibration. */
function calibrationBatches(train: DigitSet, count = 8): Tensor[] {
  const n = train.labels.size;
  const size = Math.min(64, n);
  return Array.from({ length: count }, (_, b) => {
    const data = new Float32Array(size * 784);
    for (let r = 0; r < size; r++) {
      const row = ((b * size + r) * 7919) % n;
      data.set(train.images.data.subarray(row * 784, (row + 1) * 784), r * 784);
    }
    return new Tensor(data, [size, 784]);
  });
}

/** Trains milestone 03's MLP (its recipe) for `epochs`. */
export function trainBaseline(train: DigitSet, epochs: number, seed: number): Sequential {
  const model = digitsMlp(seed);
  const optimizer = new Adam(model.parameters(), { lr: 3e-3 });
  const schedule = new CosineAnnealingLR(optimizer, { tMax: epochs });
  const loader = loaderOf(train, seed);
  for (let e = 0; e < epochs; e++) {
    trainEpoch(model, loader, new CrossEntropyLoss(), optimizer);
    schedule.step();
  }
  return model;
}

function studentOf(o: RowsOptions): Sequential {
  return new Sequential([
    new Linear(784, o.studentHidden, { seed: o.seed + 7 }),
    new ReLU(),
    new Linear(o.studentHidden, 10, { seed: o.seed + 8 }),
  ]);
}

/** A student distilled from `teacher` (a forward function on [n, 784] rows). */
function distilled(train: DigitSet, teacher: (x: Tensor) => Tensor, o: RowsOptions): Sequential {
  const student = studentOf(o);
  const optimizer = new Adam(student.parameters(), { lr: 3e-3 });
  const schedule = new CosineAnnealingLR(optimizer, { tMax: o.studentEpochs });
  const options = { temperature: o.temperature, alpha: o.alpha };
  for (let e = 0; e < o.studentEpochs; e++) {
    distillEpoch(student, { forward: teacher }, loaderOf(train, o.seed + 200 + e), optimizer, options); // prettier-ignore
    schedule.step();
  }
  return student;
}

/** Milestone 04's CNN (its recipe: Adam 2e-3, cosine schedule, batch 64), in INT8, and its student. */
function cnnRows(split: { train: DigitSet; test: DigitSet }, o: RowsOptions): Rows["cnn"] {
  const { train, test } = split;
  const cnn = leNet(o.seed);
  const optimizer = new Adam(cnn.parameters(), { lr: 2e-3 });
  const schedule = new CosineAnnealingLR(optimizer, { tMax: o.cnnEpochs });
  const images = new DataLoader(new TensorDataset(asImages(train.images), train.labels), {
    batchSize: 64,
    shuffle: true,
    seed: o.seed,
  });
  for (let e = 0; e < o.cnnEpochs; e++) {
    trainEpoch(cnn, images, new CrossEntropyLoss(), optimizer);
    schedule.step();
  }
  const floatNet = inference(cnn);
  const float = (x: Tensor): Tensor => floatNet(asImages(x));
  const calibration = calibrationBatches(train).map(asImages);
  const q = quantizeModel(cnn, calibration);
  const int8Net = inference(q);
  const int8 = (x: Tensor): Tensor => int8Net(asImages(x));
  const student = inference(distilled(train, float, o));
  const floatRow: Row = {
    name: "CNN float32 (milestone 04)",
    run: float,
    accuracy: accuracyOf(float, test),
    bytes: encodeCheckpoint(cnn.parameters()).length,
    file: "module 08 checkpoint",
  };
  return {
    float: floatRow,
    int8: {
      name: "CNN INT8",
      run: int8,
      accuracy: accuracyOf(int8, test),
      bytes: encodeQuantizedModel(q).length,
      file: "module 15 INT8 file",
      against: floatRow,
    },
    student: {
      name: `student 784-${o.studentHidden}-10 of the CNN`,
      run: student,
      accuracy: accuracyOf(student, test),
      bytes: encodeCheckpoint(studentOf(o).parameters()).length,
      file: "module 08 checkpoint",
      against: floatRow,
    },
  };
}

/** Builds every row of the table (training, quantizing, pruning, distilling). */
export function buildRows(split: { train: DigitSet; test: DigitSet }, o: RowsOptions): Rows {
  const { train, test } = split;
  const model = trainBaseline(train, o.epochs, o.seed);
  const float = inference(model);
  const baseline: Row = {
    name: "float32 baseline 784-128-10",
    run: float,
    accuracy: accuracyOf(float, test),
    bytes: encodeCheckpoint(model.parameters()).length,
    file: "module 08 checkpoint",
  };
  const packedRun = inference(packModel(model));
  const packed: Row = {
    name: "float32, packed weights",
    run: packedRun,
    accuracy: accuracyOf(packedRun, test),
    bytes: baseline.bytes,
    file: "module 08 checkpoint",
    reference: true,
    against: baseline,
  };
  const q = quantizeModel(model, calibrationBatches(train));
  const int8Run = inference(q);
  const int8: Row = {
    name: "INT8, per-channel weights",
    run: int8Run,
    accuracy: accuracyOf(int8Run, test),
    bytes: encodeQuantizedModel(q).length,
    file: "module 15 INT8 file",
    against: baseline,
  };
  // Global magnitude pruning of the weight matrices, then masked fine-tuning at a lower rate.
  const pruned = copyMlp(model);
  const weights = pruned.layers.filter((l): l is Linear => l instanceof Linear).map((l) => l.weight); // prettier-ignore
  const masks = globalMagnitudeMasks(weights, o.sparsity);
  applyMasks(weights, masks);
  const prunedAccuracy = accuracyOf(inference(pruned), test);
  const maskMap = new Map(weights.map((w, i) => [w, masks[i]] as const));
  const fineTune = new Adam(pruned.parameters(), { lr: 1e-3 });
  for (let e = 0; e < o.fineTuneEpochs; e++) {
    maskedTrainEpoch(pruned, maskMap, loaderOf(train, o.seed + 100 + e), new CrossEntropyLoss(), fineTune); // prettier-ignore
  }
  const zeros = weights.reduce((n, w) => n + w.data.filter((v) => v === 0).length, 0);
  const total = weights.reduce((n, w) => n + w.size, 0);
  const sparseModel = sparsifyModel(pruned);
  const sparseRun = inference(sparseModel);
  const sparse: Row = {
    name: `${Math.round(100 * o.sparsity)}% sparse, fine-tuned (CSR)`,
    run: sparseRun,
    accuracy: accuracyOf(sparseRun, test),
    bytes: encodeSparseModel(sparseModel).length,
    file: "module 16 CSR file",
    against: baseline,
  };
  // The student, from the same initial weights with and without the teacher.
  const student = distilled(train, inference(model), o);
  const alone = studentOf(o);
  const aloneOptimizer = new Adam(alone.parameters(), { lr: 3e-3 });
  const aloneSchedule = new CosineAnnealingLR(aloneOptimizer, { tMax: o.studentEpochs });
  for (let e = 0; e < o.studentEpochs; e++) {
    trainEpoch(alone, loaderOf(train, o.seed + 200 + e), new CrossEntropyLoss(), aloneOptimizer);
    aloneSchedule.step();
  }
  const studentRun = inference(student);
  return {
    baseline,
    packed,
    int8,
    sparse,
    student: {
      name: `distilled student 784-${o.studentHidden}-10`,
      run: studentRun,
      accuracy: accuracyOf(studentRun, test),
      bytes: encodeCheckpoint(student.parameters()).length,
      file: "module 08 checkpoint",
      against: baseline,
    },
    sparsity: zeros / total,
    prunedAccuracy,
    studentAloneAccuracy: accuracyOf(inference(alone), test),
    ...(o.cnnEpochs > 0 ? { cnn: cnnRows(split, o) } : {}),
  };
}
