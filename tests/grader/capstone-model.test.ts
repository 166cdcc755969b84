// The capstone's model file as the grader meets it, without a kernel: the reference package's
// decoder refuses every malformed file with the file and a JSON path; a model comes back
// computing what it computed; the file beside the notebook is read by the submissions folder's
// rules (no links, one link, a size cap); the grader's measuring process measures a small model,
// and reports an invalid or a missing file as such, at 0 points. The students' own code is
// nowhere here: only the reference package and data.
import { linkSync, mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { Tensor } from "tinytorch-ts/core/tensor";
import { ReLU } from "tinytorch-ts/core/activations";
import { Linear, Sequential } from "tinytorch-ts/core/layers";
import { noGrad } from "tinytorch-ts/core/autograd";
import { AvgPool2d, BatchNorm2d, Conv2d, Flatten, MaxPool2d } from "tinytorch-ts/core/conv";
import { quantizeModel } from "tinytorch-ts/optimize/quantization";
import { applyMasks, globalMagnitudeMasks, sparsifyModel } from "tinytorch-ts/optimize/compression";
import { CapstoneFileError, decodeCapstoneModel, encodeCapstoneModel, type CapstoneHeader } from "tinytorch-ts/capstone"; // prettier-ignore
import { capstoneHash, measureCapstone, readCapstoneModel } from "../../grader/src/capstone";
import { findSubmissions, type Submission } from "../../grader/src/submissions-folder";

const mlp = () => new Sequential([new Linear(784, 8, { seed: 1 }), new ReLU(), new Linear(8, 10, { seed: 2 })]); // prettier-ignore

/** A model file from a header object and a weights section, as a student's encoder might write. */
function fileOf(header: unknown, section: Uint8Array = new Uint8Array(0)): Uint8Array {
  const json = new TextEncoder().encode(JSON.stringify(header));
  const start = Math.ceil((12 + json.length) / 4) * 4;
  const bytes = new Uint8Array(start + section.length);
  bytes.set(new TextEncoder().encode("TTCAP01\n"));
  new DataView(bytes.buffer).setUint32(8, json.length, true);
  bytes.set(json, 12);
  bytes.set(section, start);
  return bytes;
}

/** The header and section of a good file, to damage one thing at a time. */
function parts(model: Sequential = mlp()): { header: CapstoneHeader; section: Uint8Array } {
  const bytes = encodeCapstoneModel(model);
  const n = new DataView(bytes.buffer).getUint32(8, true);
  const header = JSON.parse(new TextDecoder().decode(bytes.subarray(12, 12 + n))) as CapstoneHeader;
  return { header, section: bytes.subarray(Math.ceil((12 + n) / 4) * 4) };
}

function problemsOf(bytes: Uint8Array): string[] {
  try {
    decodeCapstoneModel(bytes, "capstone.ttm");
  } catch (e) {
    assert.instance(e, CapstoneFileError);
    return (e as CapstoneFileError).problems;
  }
  throw new Error("the file was accepted");
}

test("a malformed header is refused with the file and the JSON path of each problem", () => {
  const { header, section } = parts();
  const edit = (
    f: (h: Record<string, unknown> & { layers: Array<Record<string, unknown>> }) => void,
  ) => {
    const h = JSON.parse(JSON.stringify(header)) as Record<string, unknown> & { layers: Array<Record<string, unknown>> }; // prettier-ignore
    f(h);
    return problemsOf(fileOf(h, section));
  };
  assert.equal(edit((h) => (h.layers[0].inFeatures = "784")), ["capstone.ttm: $.layers[0].inFeatures: must be integer"]); // prettier-ignore
  assert.equal(edit((h) => (h.layers[1].type = "lstm")), ['capstone.ttm: $.layers[1].type: unknown layer type "lstm"; the format has linear, conv2d, maxpool2d, avgpool2d, batchnorm2d, flatten, relu, sigmoid, tanh, gelu, quantized_linear, quantized_conv2d, sparse_linear']); // prettier-ignore
  assert.equal(edit((h) => (h.layers[2].activation = "relu")), ["capstone.ttm: $.layers[2].activation: unknown property (a typo?)"]); // prettier-ignore
  assert.equal(
    edit((h) => delete h.accelerate),
    ['capstone.ttm: $: missing property "accelerate"'],
  );
  assert.equal(edit((h) => (h.input = "pixels")), ['capstone.ttm: $.input: must be one of "rows", "images"']); // prettier-ignore
  assert.equal(edit((h) => (h.claimedAccuracy = 0.999)), ["capstone.ttm: $.claimedAccuracy: unknown property (a typo?)"]); // prettier-ignore
  assert.equal(edit((h) => ((h.layers[0].weight as Record<string, unknown>).dtype = "int8")), ['capstone.ttm: $.layers[0].weight.dtype: must be "float32"']); // prettier-ignore
});

test("the layout, the lengths and the shapes are checked before anything is built", () => {
  const { header, section } = parts();
  type Editable = { layers: Array<Record<string, number> & { bias: { offset: number } }> };
  const h = () => JSON.parse(JSON.stringify(header)) as Editable;
  assert.match(problemsOf(new TextEncoder().encode("not a model at all"))[0], /^capstone\.ttm: not a capstone model file/); // prettier-ignore
  const cut = encodeCapstoneModel(mlp());
  assert.match(problemsOf(cut.subarray(0, cut.length - 8))[0], /^capstone\.ttm: \$\.layers\[2\]\.bias: ends at byte \d+ of a weights section of \d+ bytes$/); // prettier-ignore
  const padded = new Uint8Array(cut.length + 4);
  padded.set(cut);
  assert.match(problemsOf(padded)[0], /weights section has \d+ bytes; its arrays end at \d+, so it should have \d+/); // prettier-ignore
  assert.match(
    problemsOf(cut.subarray(0, 40))[0],
    /the header says it has \d+ bytes, but the file ends/,
  );
  const gap = h();
  gap.layers[0].bias.offset += 4;
  assert.match(problemsOf(fileOf(gap, section)).join("\n"), /\$\.layers\[0\]\.bias\.offset: \d+, but the array before it ends at byte/); // prettier-ignore
  const short = h();
  short.layers[2].outFeatures = 9;
  assert.match(problemsOf(fileOf(short, section)).join("\n"), /\$\.layers\[2\]\.weight\.length: 80 elements; a linear of these sizes has 72/); // prettier-ignore
  // A network that does not end in 10 scores, and one whose layers do not fit together.
  const nine = encodeCapstoneModel(new Sequential([new Linear(784, 9, { seed: 1 })]));
  assert.equal(problemsOf(nine), ["capstone.ttm: $.layers: the network ends in [9] per digit; it must end in 10 scores"]); // prettier-ignore
  const misfit = encodeCapstoneModel(new Sequential([new Linear(784, 8, { seed: 1 }), new Linear(9, 10, { seed: 2 })])); // prettier-ignore
  assert.match(problemsOf(misfit)[0], /\$\.layers\[1\]: a linear of 9 inputs, but the layer before gives \[8\] per digit/); // prettier-ignore
  const images = encodeCapstoneModel(new Sequential([new Conv2d(1, 2, 3, { seed: 1 }), new Linear(784, 10, { seed: 2 })])); // prettier-ignore
  assert.match(problemsOf(images)[0], /\$\.layers\[1\]: a linear of 784 inputs, but the layer before gives \[2, 26, 26\]/); // prettier-ignore
  // The work a file may ask for is capped (a convolution this wide costs 10^9 multiply-adds).
  const costly = encodeCapstoneModel(new Sequential([new Conv2d(1, 32, 7, { padding: 3, seed: 1 }), new Conv2d(32, 256, 5, { padding: 2, seed: 1 }), new AvgPool2d(28), new Flatten(), new Linear(256, 10, { seed: 2 })])); // prettier-ignore
  const macs = 32 * 784 * 49 + 256 * 784 * 32 * 25 + 256 * 10;
  assert.equal(problemsOf(costly), [`capstone.ttm: $.layers: ${macs} multiply-adds per digit, over the limit of 20000000`]); // prettier-ignore
});

test("every layer of the format comes back computing what it computed", () => {
  const x = Tensor.rand([3, 1, 28, 28], 4);
  const cnn = new Sequential([new Conv2d(1, 4, 3, { stride: 2, padding: 1, seed: 3 }), new BatchNorm2d(4), new ReLU(), new MaxPool2d(2), new AvgPool2d(2, { stride: 1 }), new Flatten(), new Linear(4 * 6 * 6, 10, { seed: 5 })]); // prettier-ignore
  const bn = cnn.layers[1] as BatchNorm2d;
  bn.runningMean.data.set([0.1, -0.2, 0.3, 0]);
  bn.runningVar.data.set([0.5, 2, 1, 1.5]);
  const pruned = mlp();
  const weights = pruned.layers
    .filter((l): l is Linear => l instanceof Linear)
    .map((l) => l.weight);
  applyMasks(weights, globalMagnitudeMasks(weights, 0.8));
  const rows = Tensor.rand([3, 784], 6);
  const cases: Array<[string, Sequential, Tensor]> = [
    ["float CNN", cnn, x],
    ["INT8 CNN", quantizeModel(cnn, [x]), x],
    ["float MLP", mlp(), rows],
    ["INT8 MLP", quantizeModel(mlp(), [rows]), rows],
    ["sparse MLP", sparsifyModel(pruned), rows],
  ];
  for (const [name, model, input] of cases) {
    model.eval();
    const back = decodeCapstoneModel(encodeCapstoneModel(model), `${name}.ttm`);
    const want = Array.from(noGrad(() => model.forward(input)).data);
    assert.equal(Array.from(noGrad(() => back.model.forward(input)).data), want, name);
  }
});

const work = mkdtempSync(join(tmpdir(), "tito-capstone-"));

test("the model file is read by the submissions folder's rules", () => {
  const subs = join(work, "subs");
  const file = encodeCapstoneModel(mlp());
  const notebook = '{"nbformat":4,"nbformat_minor":5,"metadata":{},"cells":[]}';
  for (const s of ["ana", "ben", "cy", "di", "ed"]) {
    mkdirSync(join(subs, s), { recursive: true });
    writeFileSync(join(subs, s, "20_capstone.ipynb"), notebook);
  }
  writeFileSync(join(subs, "ana", "capstone.ttm"), file);
  writeFileSync(join(subs, "lone.ipynb"), notebook);
  symlinkSync(join(subs, "ana", "capstone.ttm"), join(subs, "ben", "capstone.ttm"));
  linkSync(join(subs, "ana", "capstone.ttm"), join(subs, "cy", "capstone.ttm"));
  writeFileSync(join(subs, "di", "capstone.ttm"), new Uint8Array(100_000));
  const found = new Map(findSubmissions(subs, "20_capstone").map((s) => [s.student, s]));
  const read = (who: string) =>
    readCapstoneModel(found.get(who) as Submission, "capstone.ttm", 64 * 1024);
  // ana's file is hard-linked by cy's, so it has two links now: refused like cy's.
  assert.match(read("ana").problem ?? "", /hard link/);
  assert.match(
    read("ben").problem ?? "",
    /^capstone\.ttm is a symbolic link, not a regular file: not followed$/,
  );
  assert.match(read("cy").problem ?? "", /hard link shared with another file/);
  assert.match(
    read("di").problem ?? "",
    /^capstone\.ttm is 97\.7 KiB, over the limit of 64 KiB: not read$/,
  );
  assert.is(read("ed").problem, "no capstone.ttm in the submission folder");
  assert.match(read("lone").problem ?? "", /a lone notebook has no model file/);
  writeFileSync(join(subs, "ed", "capstone.ttm"), file);
  const ed = read("ed");
  assert.equal(ed.bytes?.length, file.length);
  // A new model alone is a new attempt; the same files hash the same.
  assert.is(capstoneHash(notebook, ed), capstoneHash(notebook, read("ed")));
  assert.is.not(capstoneHash(notebook, ed), capstoneHash(notebook, { name: "capstone.ttm", bytes: Buffer.from(encodeCapstoneModel(new Sequential([new Linear(784, 10, { seed: 9 })]))) })); // prettier-ignore
});

test("the grader's process measures a model file; an invalid or missing one earns nothing", async () => {
  const quick = { queries: 40, rounds: 2, testStride: 50 };
  const good = await measureCapstone({ name: "capstone.ttm", bytes: Buffer.from(encodeCapstoneModel(mlp(), { accelerate: true })) }, quick); // prettier-ignore
  assert.is(good.status, "measured", good.reason);
  const m = good.measurement;
  assert.ok(m, "a measurement");
  assert.is(m.bytes, good.modelBytes);
  assert.is(m.testSize, 41);
  assert.is(m.queries, 40);
  assert.is(m.accelerate, true);
  assert.ok(
    m.accuracy.value <= Math.min(m.cleanAccuracy, m.perturbedAccuracy) + 1e-12,
    "the lower accuracy counts",
  );
  assert.ok(
    m.relativeLatency.low <= m.relativeLatency.value &&
      m.relativeLatency.value <= m.relativeLatency.high,
  );
  assert.equal(
    good.events.map((e) => e.event),
    ["latency", "size", "accuracy", "all-round"],
  );
  // An untrained MLP is far below the floor: only the accuracy event (a latency budget) can be met.
  for (const e of good.events.filter((e) => e.event !== "accuracy")) {
    assert.is(e.met, false);
    assert.match(e.reason, /^measured by the grader: accuracy .* < 95\.0%$/);
  }
  const damaged = encodeCapstoneModel(mlp());
  damaged[20] = 0xff;
  const invalid = await measureCapstone(
    { name: "capstone.ttm", bytes: Buffer.from(damaged) },
    quick,
  );
  assert.is(invalid.status, "invalid");
  assert.match(
    invalid.reason ?? "",
    /^the model file cannot be read: capstone\.ttm: the header is not UTF-8 JSON/,
  );
  assert.ok(invalid.events.every((e) => e.points === 0 && e.maxPoints === 2 && !e.met));
  const missing = await measureCapstone({
    name: "capstone.ttm",
    problem: "no capstone.ttm in the submission folder",
  });
  assert.is(missing.status, "missing");
  assert.equal(missing.events.map((e) => [e.points, e.reason]), Array(4).fill([0, "no capstone.ttm in the submission folder"])); // prettier-ignore
});

test.run();
