// `npm run bench:tensor`: speed of the lesson's tensor kernels, from the generated package
// (tinytorch-ts/src/core/tensor.ts, built from modules/01_tensor), measured in the same run as
// TensorFlow.js's CPU backend (@tensorflow/tfjs-core + @tensorflow/tfjs-backend-cpu, plain
// JavaScript like ours; a devDependency used only as the yardstick).
//
//   1. float32 matmul of square matrices at 128, 256 and 512: GFLOP/s (2n^3 FLOPs per product,
//      output allocation included on both sides). Target: the lesson's loop at least as fast as
//      tfjs at 512; the ratio is printed.
//   2. element-wise add of 1024x1024 float32 tensors, without broadcasting (b is 1024x1024) and
//      with it (b is a row of 1024): GB/s of memory traffic, counting each input byte read and
//      each output byte written once.
//
// The machine may be shared, so measurements of the two libraries are interleaved (ours, tfjs,
// ours, tfjs, ...) and each figure is the median of the repetitions; the best is shown too.
import { cpus, loadavg } from "node:os";
import { loadTf, type Tf } from "./tfjs";
import { Tensor } from "tinytorch-ts/core/tensor";

interface Stats {
  median: number;
  best: number;
}

function stats(samples: number[]): Stats {
  const sorted = [...samples].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  const median = sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
  return { median, best: sorted[0] };
}

function timeOnce(fn: () => void): number {
  const t0 = process.hrtime.bigint();
  fn();
  return Number(process.hrtime.bigint() - t0) / 1e6;
}

/**
 * Runs each labelled function `warmup` times, then alternates them until every one has `reps`
 * samples and at least `minMs` of total time. Returns milliseconds per call.
 */
function interleaved(
  fns: Record<string, () => void>,
  reps: number,
  minMs: number,
  warmup = 2,
): Record<string, Stats> {
  const names = Object.keys(fns);
  for (const name of names) for (let i = 0; i < warmup; i++) fns[name]();
  const samples: Record<string, number[]> = Object.fromEntries(names.map((n) => [n, []]));
  const total = (name: string): number => samples[name].reduce((a, b) => a + b, 0);
  while (names.some((n) => samples[n].length < reps || total(n) < minMs)) {
    for (const name of names) samples[name].push(timeOnce(fns[name]));
  }
  return Object.fromEntries(names.map((n) => [n, stats(samples[n])]));
}

function seededData(n: number, seed: number): Float32Array {
  return Tensor.rand([n], seed).data;
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i] - b[i]));
  return worst;
}

function benchMatmul(tf: Tf): { ratioAt512: number } {
  console.log("matmul, float32, square n x n (median GFLOP/s; best in parentheses)");
  console.log("     n   tinytorch-ts (i-k-j)         tfjs-backend-cpu     ratio ours/tfjs");
  let ratioAt512 = NaN;
  for (const n of [128, 256, 512]) {
    const a = new Tensor(seededData(n * n, 1), [n, n]);
    const b = new Tensor(seededData(n * n, 2), [n, n]);
    const ta = tf.tensor2d(a.data, [n, n]);
    const tb = tf.tensor2d(b.data, [n, n]);
    // Same numbers from both, up to float32 rounding order: we are timing real work.
    const check = tf.matMul(ta, tb);
    const diff = maxAbsDiff(a.matmul(b).data, check.dataSync());
    check.dispose();
    if (diff > 1e-3 * n) throw new Error(`matmul results differ at n=${n}: max |diff| ${diff}`);
    const reps = n >= 512 ? 7 : 15;
    const r = interleaved(
      {
        ours: () => {
          a.matmul(b);
        },
        tfjs: () => {
          const c = tf.matMul(ta, tb);
          c.dataSync();
          c.dispose();
        },
      },
      reps,
      300,
    );
    ta.dispose();
    tb.dispose();
    const gflops = (ms: number): number => (2 * n ** 3) / (ms * 1e6);
    const ours = gflops(r.ours.median);
    const theirs = gflops(r.tfjs.median);
    const ratio = ours / theirs;
    if (n === 512) ratioAt512 = ratio;
    const cell = (s: Stats): string =>
      `${gflops(s.median).toFixed(2)} (${gflops(s.best).toFixed(2)})`.padEnd(20);
    console.log(
      `${String(n).padStart(6)}   ${cell(r.ours)}         ${cell(r.tfjs)} ${ratio.toFixed(2)}x`,
    );
  }
  return { ratioAt512 };
}

function benchAdd(tf: Tf): void {
  const rows = 1024;
  const cols = 1024;
  const size = rows * cols;
  console.log(
    `\nelement-wise add, float32, ${rows}x${cols} (median GB/s; best in parentheses; ` +
      "bytes = inputs read + output written)",
  );
  console.log(`  ${"case".padEnd(36)} ${"tinytorch-ts".padEnd(24)}tfjs-backend-cpu`);
  const a = new Tensor(seededData(size, 3), [rows, cols]);
  const cases: [string, Tensor, number][] = [
    [
      "same shape  [1024,1024]+[1024,1024]",
      new Tensor(seededData(size, 4), [rows, cols]),
      12 * size,
    ],
    [
      "broadcast   [1024,1024]+[1024]",
      new Tensor(seededData(cols, 5), [cols]),
      8 * size + 4 * cols,
    ],
  ];
  for (const [name, b, bytes] of cases) {
    const ta = tf.tensor(a.data, a.shape);
    const tb = tf.tensor(b.data, b.shape);
    const r = interleaved(
      {
        ours: () => {
          a.add(b);
        },
        tfjs: () => {
          const c = tf.add(ta, tb);
          c.dataSync();
          c.dispose();
        },
      },
      15,
      300,
    );
    ta.dispose();
    tb.dispose();
    const gbps = (ms: number): number => bytes / (ms * 1e6);
    const cell = (s: Stats): string =>
      `${gbps(s.median).toFixed(2)} (${gbps(s.best).toFixed(2)})`.padEnd(24);
    console.log(`  ${name.padEnd(36)} ${cell(r.ours)}${cell(r.tfjs)}`.trimEnd());
  }
}

async function main(): Promise<void> {
  const tf = await loadTf();
  console.log(
    `bench:tensor  node ${process.version}, ${cpus().length} x ${cpus()[0]?.model ?? "cpu"}, ` +
      `load average ${loadavg()
        .map((l) => l.toFixed(2))
        .join(" ")}, tfjs ${tf.version_core} (backend ${tf.getBackend()})\n`,
  );
  const { ratioAt512 } = benchMatmul(tf);
  const verdict = ratioAt512 >= 1 ? "meets" : "MISSES";
  console.log(
    `\nat 512: the lesson's loop runs at ${ratioAt512.toFixed(2)}x tfjs-backend-cpu ` +
      `(${verdict} the target of at least 1.00x)`,
  );
  benchAdd(tf);
}

main().catch((e: unknown) => {
  console.error(e);
  process.exitCode = 1;
});
