// `npm run bench:optimize`: what modules 15 and 16 buy in time, on this machine, in one run.
//
//   1. matmul GOP/s (a multiply-add is 2 operations) at the shapes of milestone 06's digits MLP,
//      [m, 784] · [784, 128] and [m, 128] · [128, 10] for one digit (m = 1) and a batch of 64:
//      module 15's INT8 kernel (gemmI8, i32x4.dot_i16x8_s) against its float32 twin (gemmF32, the
//      same loop on f32x4, weights resident in WebAssembly memory), module 18's float32 SIMD
//      kernel (which packs both operands on every call), module 01's loop behind Tensor.matmul,
//      and the TypeScript INT8 and float32 loops of module 15;
//   2. the conversion around the INT8 kernel: quantizing one 784-pixel input in TypeScript and
//      in WebAssembly SIMD, and one digit through the whole quantized MLP either way;
//   3. module 16's CSR sparse × dense (csrMatmul) against the dense float32 SIMD kernels, on the
//      784 × 128 layer at 50, 80, 90 and 95% sparsity, for m = 1 and 64.
//
// Every figure is the median of 15 interleaved rounds (best in parentheses), each timing about
// 4 ms long whatever the kernel: the machine may be shared, so the load average is printed at
// the start and the end.
import { cpus, loadavg } from "node:os";
import { Tensor } from "tinytorch-ts/core/tensor";
import { Linear, Sequential } from "tinytorch-ts/core/layers";
import { ReLU } from "tinytorch-ts/core/activations";
import { noGrad } from "tinytorch-ts/core/autograd";
import { loadSimdKernel, matmulSimd, matrixView } from "tinytorch-ts/accel/matmul";
import {
  int8Backend,
  loadInt8SimdKernel,
  matmulInt8,
  matmulPackedF32,
  packModel,
  quantize,
  quantizeModel,
  simdMatmulF32,
  simdMatmulInt8,
  simdQuantize,
  disableInt8Simd,
  enableInt8Simd,
} from "tinytorch-ts/optimize/quantization";
import { applyMasks, csrMatmul, magnitudeMask, toCSR } from "tinytorch-ts/optimize/compression";

const ROUNDS = 15;
/** Each timing lasts about this long, whatever the kernel: on a shared machine a long timing is
 * more likely to be preempted, and a fast kernel timed briefly would look better than it is. */
const TIMING_MS = 4;

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[s.length >> 1];
}

/** Interleaved rounds: each round times every kernel once (about TIMING_MS); ms per call. */
function race(kernels: [string, () => void][]): Map<string, number[]> {
  const times = new Map(kernels.map(([name]) => [name, [] as number[]]));
  // Warm-up (compiled, weights resident), then as many calls per timing as fill TIMING_MS.
  const reps = kernels.map(([, run]) => {
    run();
    const t0 = performance.now();
    run();
    return Math.max(1, Math.round(TIMING_MS / Math.max(1e-3, performance.now() - t0)));
  });
  for (let round = 0; round < ROUNDS; round++) {
    kernels.forEach(([name, run], k) => {
      const t0 = performance.now();
      for (let r = 0; r < reps[k]; r++) run();
      times.get(name)?.push((performance.now() - t0) / reps[k]);
    });
  }
  return times;
}

function codes(count: number, seed: number): Int8Array {
  return Int8Array.from(Tensor.rand([count], seed).data, (u) => Math.floor(256 * u) - 128);
}

async function matmuls(): Promise<void> {
  const i8 = (await loadInt8SimdKernel()).kernel;
  const f18 = (await loadSimdKernel()).kernel;
  if (!i8 || !f18) throw new Error("bench:optimize needs WebAssembly SIMD");
  const int8Simd = simdMatmulInt8(i8);
  const f32Simd = simdMatmulF32(i8);
  console.log("1. matmul, GOP/s: median of interleaved rounds (best)");
  for (const [m, k, n] of [
    [1, 784, 128],
    [64, 784, 128],
    [1, 128, 10],
    [64, 128, 10],
  ]) {
    const a = codes(m * k, 1);
    const wT = codes(n * k, 2); // weights [out, in], as QuantizedLinear stores them
    const af = Float32Array.from(a, (v) => v / 128);
    const wTf = Float32Array.from(wT, (v) => v / 128);
    const w = new Float32Array(k * n); // [in, out] for the kernels that take it that way
    for (let j = 0; j < n; j++) for (let p = 0; p < k; p++) w[p * n + j] = wTf[j * k + p];
    const x = new Tensor(af, [m, k]);
    const wTensor = new Tensor(w, [k, n]);
    const outI = new Int32Array(m * n);
    const outF = new Float32Array(m * n);
    const kernels: [string, () => void][] = [
      ["INT8 SIMD (gemmI8)", () => int8Simd(a, m, k, wT, n, outI)],
      ["float32 SIMD twin (gemmF32)", () => f32Simd(af, m, k, wTf, n, outF)],
      ["float32 SIMD, module 18", () => matmulSimd(f18, matrixView(af, m, k), matrixView(w, k, n), new Float32Array(m * n), 0)], // prettier-ignore
      ["float32, module 01 loop", () => x.matmul(wTensor)],
      ["INT8 TypeScript", () => matmulInt8(a, m, k, wT, n, outI)],
      ["float32 TypeScript twin", () => matmulPackedF32(af, m, k, wTf, n, outF)],
    ];
    const times = race(kernels);
    console.log(`  [${m}, ${k}] · [${k}, ${n}]`);
    const gops = (ms: number): string => ((2 * m * k * n) / (ms * 1e6)).toFixed(2);
    for (const [name] of kernels) {
      const t = times.get(name) ?? [];
      console.log(
        `    ${name.padEnd(30)} ${gops(median(t)).padStart(7)} (${gops(Math.min(...t))})`,
      );
    }
    const ratio = median(times.get(kernels[1][0]) ?? []) / median(times.get(kernels[0][0]) ?? []);
    const vs18 = median(times.get(kernels[2][0]) ?? []) / median(times.get(kernels[0][0]) ?? []);
    console.log(`    INT8 SIMD / float32 twin: ${ratio.toFixed(2)}×; INT8 SIMD / module 18: ${vs18.toFixed(2)}×`); // prettier-ignore
  }
}

async function conversion(): Promise<void> {
  const i8 = (await loadInt8SimdKernel()).kernel;
  if (!i8) return;
  console.log("2. the conversion around the INT8 kernel, µs: median of interleaved rounds (best)");
  const pixels = Tensor.rand([784], 3).data;
  const p = { scale: 1 / 255, zeroPoint: -128 };
  const viaSimd = simdQuantize(i8);
  const one = race([["quantize 784 values, TypeScript", () => quantize(pixels, p)], ["quantize 784 values, SIMD", () => viaSimd(pixels, p)]]); // prettier-ignore
  const mlp = new Sequential([new Linear(784, 128, { seed: 0 }), new ReLU(), new Linear(128, 10, { seed: 1 })]).eval(); // prettier-ignore
  await enableInt8Simd();
  const simdQuantizer = int8Backend.quantize;
  const q = quantizeModel(mlp, [Tensor.rand([64, 784], 4)]).eval();
  const packed = packModel(mlp).eval();
  const digit = new Tensor(pixels, [1, 784]);
  const whole = noGrad(() =>
    race([
      ["float32 MLP, packed (gemmF32)", () => packed.forward(digit)],
      ["INT8 MLP, TypeScript quantize", () => ((int8Backend.quantize = null), q.forward(digit))],
      ["INT8 MLP, SIMD quantize", () => ((int8Backend.quantize = simdQuantizer), q.forward(digit))], // prettier-ignore
    ]),
  );
  disableInt8Simd();
  for (const [name, t] of [...one, ...whole]) {
    console.log(`    ${name.padEnd(32)} ${(1000 * median(t)).toFixed(2).padStart(8)} (${(1000 * Math.min(...t)).toFixed(2)})`); // prettier-ignore
  }
}

async function sparse(): Promise<void> {
  const i8 = (await loadInt8SimdKernel()).kernel;
  const f18 = (await loadSimdKernel()).kernel;
  if (!i8 || !f18) return;
  const f32Simd = simdMatmulF32(i8);
  console.log("3. CSR sparse × dense (csrMatmul) against dense float32 SIMD, 784 × 128, µs per call: median (best)"); // prettier-ignore
  const w = new Linear(784, 128, { seed: 5 }).weight.data; // [in, out]
  const wT = new Float32Array(128 * 784);
  for (let p = 0; p < 784; p++) for (let j = 0; j < 128; j++) wT[j * 784 + p] = w[p * 128 + j];
  for (const m of [1, 64]) {
    const x = Tensor.rand([m, 784], 6).data;
    const xT = new Float32Array(784 * m);
    for (let i = 0; i < m; i++) for (let p = 0; p < 784; p++) xT[p * m + i] = x[i * 784 + p];
    const out = new Float32Array(m * 128);
    const kernels: [string, () => void][] = [
      ["dense SIMD twin (gemmF32)", () => f32Simd(x, m, 784, wT, 128, out)],
      ["dense SIMD, module 18", () => matmulSimd(f18, matrixView(x, m, 784), matrixView(w, 784, 128), new Float32Array(m * 128), 0)], // prettier-ignore
    ];
    for (const s of [0.5, 0.8, 0.9, 0.95]) {
      const pruned = Float32Array.from(wT);
      applyMasks([new Tensor(pruned, [128, 784])], [magnitudeMask(pruned, s)]);
      const csr = toCSR(pruned, 128, 784);
      kernels.push([`CSR at ${100 * s}% sparse`, () => csrMatmul(csr, xT, m)]);
    }
    const times = race(kernels);
    const dense = median(times.get(kernels[0][0]) ?? []);
    console.log(`  m = ${m}`);
    for (const [name] of kernels) {
      const t = times.get(name) ?? [];
      const note = name.startsWith("CSR") ? `  ${(dense / median(t)).toFixed(2)}× the dense twin's speed` : ""; // prettier-ignore
      console.log(`    ${name.padEnd(28)} ${(1000 * median(t)).toFixed(2).padStart(9)} (${(1000 * Math.min(...t)).toFixed(2)})${note}`); // prettier-ignore
    }
  }
}

async function main(): Promise<void> {
  const start = loadavg()[0];
  console.log(`bench:optimize on ${cpus()[0]?.model ?? "?"} × ${cpus().length}, Node ${process.version}, load average ${start.toFixed(2)} at the start`); // prettier-ignore
  await matmuls();
  await conversion();
  await sparse();
  console.log(`load average ${loadavg()[0].toFixed(2)} at the end`);
}

void main();
