// Milestone 06: an MLPerf-style table (MLPerf Inference, 2018) of the digits model and what
// modules 15 and 16 make of it, measured with module 19's harness on this machine.
//
// Rows: milestone 03's MLP in float32 (the baseline), the same model in INT8 (module 15), pruned
// to 80% unstructured sparsity, fine-tuned and stored in CSR (module 16), and a small student
// distilled from it (module 16); plus, for reference, the float32 model with its weights packed
// as the INT8 kernel's are, which separates what layout gives from what INT8 gives, and milestone
// 04's CNN, in float32 and INT8, with a student distilled from it. Columns:
// test accuracy, p50/p90 latency of single-digit inference (single stream), samples per second
// in batches of 64 (offline), and the size of the model's real file in bytes.
// Every latency comparison with the baseline is made on interleaved queries and judged by
// module 19's Mann–Whitney U and Welch t tests: a difference inside the noise is reported as
// none. Targets: INT8 within 1 point of the baseline and at least 3.5× smaller; 80% sparsity
// within 1.5 points after fine-tuning; the student within 2 points of its teacher.
//
// Run it with `npx tito milestone 06`; tests/milestones/mlperf.test.ts runs a shortened version.
import { cpus, loadavg } from "node:os";
import { Tensor } from "tinytorch-ts/core/tensor";
import { disableAcceleration, enableAcceleration } from "tinytorch-ts/accel/matmul";
import { disableInt8Simd, enableInt8Simd } from "tinytorch-ts/optimize/quantization";
import {
  collateTensors,
  compareSamples,
  latencyPercentile,
  makeSamples,
  offlineScenario,
  singleStreamScenario,
  timeCall,
  type Sample,
  type StatisticalValidation,
} from "tinytorch-ts/perf/benchmarking";
import { isNotImplemented } from "tinytorch-ts/support/testing";
import { loadDigitSplit } from "./03_mlp_digits";
import { buildRows, type Row, type Rows, type RowsOptions } from "./mlperf-rows";

export interface MlperfOptions extends Partial<RowsOptions> {
  /** Use every `stride`-th digit of each split (tests); 1, the full split, by default. */
  stride?: number;
  /** Timed single-stream queries per row (default 1000). */
  queries?: number;
  /** Interleaved queries (and batches) per comparison with the baseline (default 300, 30). */
  compareQueries?: number;
  compareBatches?: number;
}

/** What was measured for one row. */
export interface Measured {
  row: Row;
  p50S: number;
  p90S: number;
  samplesPerSecond: number;
  /** Against the baseline: single digits (Mann–Whitney, Welch) and batches (Welch, Mann–Whitney). */
  latency?: Comparison;
  batches?: Comparison;
}

export interface Comparison {
  decisive: StatisticalValidation;
  other: StatisticalValidation;
  /** The baseline's median over this row's median (above 1: this row is faster). */
  speedup: number;
  /** "faster", "slower" or "none" (inside the noise, or too small to matter). */
  verdict: "faster" | "slower" | "none";
}

export interface MlperfResult {
  rows: Measured[];
  built: Rows;
  trainSize: number;
  testSize: number;
  floatBackend: string;
  int8Backend: string;
  targets: { name: string; met: boolean }[];
  /** What the CNN rows show (reported, not targets). */
  findings: string[];
  loadAverage: number;
  passed: boolean;
}

const median = (xs: readonly number[]): number => latencyPercentile(xs, 0.5);

/** Times `a` and `b` on the same inputs, alternating which goes first, with module 19's timeCall. */
async function interleaved(
  a: (x: Tensor) => Tensor,
  b: (x: Tensor) => Tensor,
  inputs: readonly Tensor[],
  count: number,
): Promise<[number[], number[]]> {
  const ta: number[] = [];
  const tb: number[] = [];
  for (let i = 0; i < count; i++) {
    const x = inputs[i % inputs.length];
    if (i % 2 === 0) {
      ta.push((await timeCall(a, x)).latencyS);
      tb.push((await timeCall(b, x)).latencyS);
    } else {
      tb.push((await timeCall(b, x)).latencyS);
      ta.push((await timeCall(a, x)).latencyS);
    }
  }
  return [ta, tb];
}

/** Both tests on the same samples; `method` decides, and only a non-negligible effect counts. */
export function judge(base: number[], row: number[], method: "welch" | "mann-whitney"): Comparison {
  const other = method === "welch" ? "mann-whitney" : "welch";
  const decisive = compareSamples(base, row, { method });
  const second = compareSamples(base, row, { method: other });
  // Mann–Whitney's effect size is the rank-biserial correlation, Welch's Hedges' g.
  const effect = method === "welch" ? Math.abs(decisive.hedgesG) >= 0.2 : Math.abs(decisive.rankBiserial) >= 0.1; // prettier-ignore
  const speedup = median(base) / median(row);
  const verdict = !decisive.isSignificant || !effect ? "none" : speedup > 1 ? "faster" : "slower";
  return { decisive, other: second, speedup, verdict };
}

async function measure(
  rows: Row[],
  digits: Sample<Tensor>[],
  o: MlperfOptions,
): Promise<Measured[]> {
  const inputs = digits.map((s) => s.input);
  const batches = Array.from({ length: Math.ceil(inputs.length / 64) }, (_, b) =>
    collateTensors(inputs.slice(b * 64, (b + 1) * 64)),
  );
  const out: Measured[] = [];
  for (const row of rows) {
    const single = await singleStreamScenario(row.run, digits, { numQueries: o.queries ?? 1000, warmup: 50 }); // prettier-ignore
    const offline = await offlineScenario(row.run, digits, { batchSize: 64, collate: collateTensors }); // prettier-ignore
    const m: Measured = {
      row,
      p50S: latencyPercentile(single.latencies, 0.5),
      p90S: latencyPercentile(single.latencies, 0.9),
      samplesPerSecond: offline.throughput,
    };
    if (row.against) {
      const base = row.against.run;
      const [b1, r1] = await interleaved(base, row.run, inputs, o.compareQueries ?? 300);
      m.latency = judge(b1, r1, "mann-whitney");
      const [b64, r64] = await interleaved(base, row.run, batches, o.compareBatches ?? 30);
      m.batches = judge(b64, r64, "welch");
    }
    out.push(m);
  }
  return out;
}

/** Builds, measures and judges every row. */
export async function runMlperf(o: MlperfOptions = {}): Promise<MlperfResult> {
  const rowsOptions: RowsOptions = {
    epochs: o.epochs ?? 8,
    fineTuneEpochs: o.fineTuneEpochs ?? 2,
    studentEpochs: o.studentEpochs ?? 8,
    studentHidden: o.studentHidden ?? 64,
    cnnEpochs: o.cnnEpochs ?? 4,
    sparsity: o.sparsity ?? 0.8,
    temperature: o.temperature ?? 2,
    alpha: o.alpha ?? 0.5,
    seed: o.seed ?? 0,
  };
  const split = loadDigitSplit(o.stride ?? 1);
  const floatBackend = (await enableAcceleration()).backend;
  const int8Backend = (await enableInt8Simd()).backend;
  try {
    const built = buildRows(split, rowsOptions);
    const pixels = split.test.images.data;
    const testInputs = Array.from(
      { length: split.test.labels.size },
      (_, i) => new Tensor(pixels.slice(i * 784, (i + 1) * 784), [1, 784]),
    );
    const digits = makeSamples(testInputs, Array.from(split.test.labels.data));
    const cnn = built.cnn ? [built.cnn.float, built.cnn.int8, built.cnn.student] : [];
    const ordered = [built.baseline, built.packed, built.int8, built.sparse, built.student, ...cnn];
    const rows = await measure(ordered, digits, o);
    const b = built.baseline;
    const findings: string[] = [];
    const targets = [
      { name: `INT8 within 1 point of the baseline (${points(built.int8.accuracy - b.accuracy)}) and at least 3.5× smaller (${(b.bytes / built.int8.bytes).toFixed(2)}×)`, met: built.int8.accuracy >= b.accuracy - 0.01 && b.bytes / built.int8.bytes >= 3.5 }, // prettier-ignore
      { name: `${Math.round(100 * rowsOptions.sparsity)}% sparse within 1.5 points after fine-tuning (${points(built.sparse.accuracy - b.accuracy)}; ${points(built.prunedAccuracy - b.accuracy)} before it)`, met: built.sparse.accuracy >= b.accuracy - 0.015 }, // prettier-ignore
      { name: `the student within 2 points of its teacher (${points(built.student.accuracy - b.accuracy)}; ${pct(built.studentAloneAccuracy)} trained alone)`, met: built.student.accuracy >= b.accuracy - 0.02 }, // prettier-ignore
    ];
    if (built.cnn) {
      const c = built.cnn;
      findings.push(
        `CNN in INT8: ${points(c.int8.accuracy - c.float.accuracy)} from its float32 accuracy, ${(c.float.bytes / c.int8.bytes).toFixed(2)}× smaller (per-channel scales weigh more in its small layers)`, // prettier-ignore
        `student of the CNN: ${points(c.student.accuracy - c.float.accuracy)} from its teacher, ${points(c.student.accuracy - built.student.accuracy)} from the MLP's student`, // prettier-ignore
      );
    }
    return {
      rows,
      built,
      findings,
      trainSize: split.train.labels.size,
      testSize: split.test.labels.size,
      floatBackend,
      int8Backend,
      targets,
      loadAverage: loadavg()[0],
      passed: targets.every((t) => t.met),
    };
  } finally {
    disableAcceleration();
    disableInt8Simd();
  }
}

function pct(x: number): string {
  return `${(100 * x).toFixed(2)}%`;
}

function points(d: number): string {
  return `${d >= 0 ? "+" : "−"}${Math.abs(100 * d).toFixed(2)} points`;
}

function us(seconds: number): string {
  return (1e6 * seconds).toFixed(1);
}

function comparisonLine(name: string, c: Comparison, decisive: string, other: string): string {
  const p = (v: StatisticalValidation): string => (v.pValue < 0.001 ? "p < 0.001" : `p = ${v.pValue.toFixed(3)}`); // prettier-ignore
  const effect = decisive === "U" ? `r = ${c.decisive.rankBiserial.toFixed(2)}` : `g = ${c.decisive.hedgesG.toFixed(2)}`; // prettier-ignore
  const what =
    c.verdict === "none"
      ? "no difference (inside the noise)"
      : `${c.verdict}: median ${c.speedup >= 1 ? `${c.speedup.toFixed(2)}× lower` : `${(1 / c.speedup).toFixed(2)}× higher`}`;
  return `  ${name.padEnd(46)} ${what} (${decisive} ${p(c.decisive)}, ${effect}; ${other} ${p(c.other)})`;
}

export function formatMlperfReport(r: MlperfResult): string {
  const lines = [
    "Milestone 06: MLPerf-style inference table of the digits model (after MLPerf Inference, 2018)",
    `data: ${r.trainSize} training and ${r.testSize} test digits; baseline: milestone 03's MLP and recipe`,
    `kernels: float32 rows on ${r.floatBackend === "wasm-simd" ? "module 18's WebAssembly SIMD matmul" : "module 18's TypeScript fallback"}, ` +
      `INT8 and packed rows on ${r.int8Backend === "wasm-simd" ? "module 15's WebAssembly SIMD kernels" : "module 15's TypeScript kernels"}, CSR on csrMatmul (TypeScript)`,
    "",
    `${"model".padEnd(36)} ${"accuracy".padStart(8)} ${"p50 µs".padStart(8)} ${"p90 µs".padStart(8)} ${"samples/s".padStart(10)} ${"bytes".padStart(8)}  file`, // prettier-ignore
  ];
  for (const m of r.rows) {
    const name = `${m.row.reference ? "(ref) " : ""}${m.row.name}`;
    lines.push(
      `${name.padEnd(36)} ${pct(m.row.accuracy).padStart(8)} ${us(m.p50S).padStart(8)} ${us(m.p90S).padStart(8)} ` +
        `${Math.round(m.samplesPerSecond).toLocaleString("en-US").padStart(10)} ${m.row.bytes.toLocaleString("en-US").padStart(8)}  ${m.row.file}`,
    );
  }
  const compared = r.rows.filter((m) => m.latency && m.batches);
  const label = (m: Measured): string => `${m.row.name} vs ${m.row.against === r.rows[0].row ? "baseline" : "CNN float32"}`; // prettier-ignore
  lines.push("", "single digits against each row's float32 model (interleaved queries; Mann–Whitney U decides, Welch's t shown):"); // prettier-ignore
  for (const m of compared) lines.push(comparisonLine(label(m), m.latency as Comparison, "U", "Welch")); // prettier-ignore
  lines.push("batches of 64 against each row's float32 model (interleaved batches; Welch's t decides, Mann–Whitney U shown):"); // prettier-ignore
  for (const m of compared) lines.push(comparisonLine(label(m), m.batches as Comparison, "Welch", "U")); // prettier-ignore
  lines.push("", `sparsity of the pruned weights: ${pct(r.built.sparsity)}`, "targets:");
  for (const t of r.targets) lines.push(`  ${t.met ? "met    " : "MISSED "} ${t.name}`);
  if (r.findings.length > 0) lines.push("also measured:", ...r.findings.map((f) => `  ${f}`));
  lines.push(
    "",
    `load average ${r.loadAverage.toFixed(2)} at the end, on ${cpus().length} cores (timings on a busy machine are slower and noisier: the tests' verdicts say which differences are real)`, // prettier-ignore
    r.passed ? "PASSED" : "FAILED: a target was missed",
  );
  return lines.join("\n");
}

/** The modules it runs on, in course order: `tito milestone` checks they are exported first. */
export const needs = [
  "01_tensor",
  "02_activations",
  "03_layers",
  "04_losses",
  "05_dataloader",
  "06_autograd",
  "07_optimizers",
  "08_training",
  "09_convolutions",
  "15_quantization",
  "16_compression",
  "18_acceleration",
  "19_benchmarking",
];

/** One-line description shown by `tito milestone --list`. */
export const title =
  "MLPerf-style table of the digits models: float32, INT8, 80% sparse, distilled (modules 15, 16, 19)";

/**
 * A smoke run (`TINYTORCH_MILESTONE_SMOKE=1 npx tito milestone 06`): every row built and measured
 * on every fifth digit with short training, in seconds; its figures are not the milestone's.
 */
export const smokeOptions: MlperfOptions = {
  stride: 5,
  epochs: 2,
  fineTuneEpochs: 1,
  studentEpochs: 4,
  cnnEpochs: 1,
  queries: 60,
  compareQueries: 40,
  compareBatches: 4,
};

/** The entry point of `tito milestone 06`. */
export async function runMilestone(
  options: MlperfOptions = {},
): Promise<{ passed: boolean; report: string }> {
  try {
    const result = await runMlperf(options);
    return { passed: result.passed, report: formatMlperfReport(result) };
  } catch (e) {
    if (!isNotImplemented(e)) throw e;
    return {
      passed: false,
      report: `Milestone 06 needs modules 01-09, 15, 16, 18 and 19 completed and exported: ${(e as Error).message}`,
    };
  }
}

if (require.main === module) {
  void runMilestone().then(({ passed, report }) => {
    console.log(report);
    process.exitCode = passed ? 0 : 1;
  });
}
