// `npm run bench:accel`: the matmul kernels of module 18 (tinytorch-ts/accel/matmul) side
// by side, in one process, with TensorFlow.js's CPU and WASM backends as yardsticks
// (@tensorflow/tfjs-backend-cpu and -wasm 3.21, devDependencies used only here).
//
//   1. float32 matmul of square matrices at 128, 256 and 512, median GFLOP/s (2n^3 FLOPs per
//      product, allocation of the output included everywhere) of: module 01's loop (what
//      Tensor.matmul runs today), each step of module 18 (i-k-j over views, cache-blocked,
//      register-blocked, WebAssembly SIMD), the package's fastest path (Tensor.matmul after
//      enableAcceleration), tfjs-backend-cpu and tfjs-backend-wasm (one thread, SIMD).
//   2. the ratio of the fastest path to tfjs-wasm (goal: at least 1 at 512) and of the
//      register-blocked kernel to the i-k-j loop (goal: at least 3);
//   3. each kernel's place on this machine's roofline at 512: its intensity per access (FLOPs
//      per byte its innermost loop loads and stores), the roof it is under and the share of that
//      roof it reaches. Roofs are measured as module 14 does (register multiply-add chains; the
//      STREAM triad), for scalar JavaScript and for WebAssembly SIMD, with the triad on arrays
//      that fit in L1, where these kernels' inner loops find their operands.
//   4. milestone 03's digits MLP: seconds per epoch and test accuracy, with module 01's kernels
//      and with enableAcceleration() (3 epochs each on the full split, one run after the other).
//
// The machine may be shared, so all implementations are interleaved round by round and each
// figure is the median of the rounds (best in parentheses).
import { cpus, loadavg } from "node:os";
import { loadTf, type Tf } from "./tfjs";
// From the built package (run `npm run build` first), as milestone 03 imports it: one copy of
// the Tensor class, so the switch reaches the milestone's layers too.
import { Tensor, matmul2dInto } from "tinytorch-ts/core/tensor";
import { measureMachinePeaks, rooflinePlacement } from "tinytorch-ts/perf/profiling";
import { trainDigits } from "../milestones/03_mlp_digits";
import {
  type MatmulKernel2d,
  type MatrixView,
  type SimdKernel,
  disableAcceleration,
  enableAcceleration,
  loadSimdKernel,
  matmulBlocked,
  matmulIkj,
  matmulRegisterBlocked,
  matmulSimd,
  matrixView,
  measureCacheRoofs,
} from "tinytorch-ts/accel/matmul";

type TfTensor = ReturnType<Tf["tensor2d"]>;

interface Entry {
  name: string;
  /** FLOPs per byte loaded or stored by the innermost loop (see module 18); 0: not ours. */
  intensity: number;
  simd: boolean;
  /** Runs once; async only to switch tfjs backends, which happens before the clock starts. */
  prepare?: () => Promise<void>;
  run: () => void;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}

function viewKernel(kernel: MatmulKernel2d, a: MatrixView, b: MatrixView, n: number): () => void {
  return () => kernel(a, b, new Float32Array(n * n), 0);
}

function entries(n: number, tf: Tf, simd: SimdKernel, tensors: TfTensor[]): Entry[] {
  const a = new Tensor(Tensor.rand([n * n], 1).data, [n, n]);
  const b = new Tensor(Tensor.rand([n * n], 2).data, [n, n]);
  const av = matrixView(a.data, n, n);
  const bv = matrixView(b.data, n, n);
  const tfPair = (backend: string): Entry => {
    const pair: TfTensor[] = [];
    return {
      name: `tfjs-backend-${backend}`,
      intensity: 0,
      simd: backend === "wasm",
      prepare: async () => {
        await tf.setBackend(backend);
        if (pair.length === 0) {
          // Created under their own backend and kept: no transfer between backends is timed.
          pair.push(tf.tensor2d(a.data, [n, n]), tf.tensor2d(b.data, [n, n]));
          tensors.push(...pair);
        }
      },
      run: () => {
        const c = tf.matMul(pair[0], pair[1]);
        c.dataSync();
        c.dispose();
      },
    };
  };
  const simdKernel: MatmulKernel2d = (x, y, out, offset) => matmulSimd(simd, x, y, out, offset);
  return [
    {
      name: "module 01 loop (Tensor.matmul)",
      intensity: 8 / 24,
      simd: false,
      run: () => matmul2dInto(a.data, 0, b.data, 0, new Float32Array(n * n), 0, n, n, n),
    },
    { name: "1. i-k-j over views", intensity: 2 / 12, simd: false, run: viewKernel(matmulIkj, av, bv, n) }, // prettier-ignore
    { name: "2. cache-blocked", intensity: 2 / 12, simd: false, run: viewKernel(matmulBlocked, av, bv, n) }, // prettier-ignore
    { name: "3. register-blocked 4x4", intensity: 32 / 32, simd: false, run: viewKernel(matmulRegisterBlocked, av, bv, n) }, // prettier-ignore
    { name: "4. wasm-simd 4x8", intensity: 64 / 48, simd: true, run: viewKernel(simdKernel, av, bv, n) }, // prettier-ignore
    {
      name: "fastest: accelerated Tensor.matmul",
      intensity: 64 / 48,
      simd: true,
      prepare: async () => {
        await enableAcceleration();
      },
      run: () => {
        a.matmul(b);
      },
    },
    tfPair("cpu"),
    tfPair("wasm"),
  ];
}

/** Median and best GFLOP/s of every entry, interleaved round by round. */
async function measure(list: Entry[], n: number, rounds: number): Promise<Map<string, number[]>> {
  const ms = new Map(list.map((e) => [e.name, [] as number[]]));
  for (let round = -1; round < rounds; round++) {
    for (const e of list) {
      if (e.prepare) await e.prepare();
      const t0 = process.hrtime.bigint();
      e.run();
      const elapsed = Number(process.hrtime.bigint() - t0) / 1e6;
      disableAcceleration();
      if (round >= 0) ms.get(e.name)?.push(elapsed); // round -1 warms up
    }
  }
  const gflops = (t: number): number => (2 * n ** 3) / (t * 1e6);
  return new Map([...ms].map(([name, t]) => [name, [gflops(median(t)), gflops(Math.min(...t))]]));
}

async function main(): Promise<void> {
  const tf = await loadTf({ wasm: true });
  const load = await loadSimdKernel();
  if (!load.kernel) throw new Error(`the SIMD kernel did not load: ${load.reason}`);
  const simd = load.kernel;
  console.log(
    `bench:accel  node ${process.version}, ${cpus().length} x ${cpus()[0]?.model ?? "cpu"}, ` +
      `load average ${loadavg()
        .map((l) => l.toFixed(2))
        .join(
          " ",
        )}, tfjs ${tf.version_core} (wasm SIMD ${tf.env().getBool("WASM_HAS_SIMD_SUPPORT")}, one thread)\n`,
  );
  const sizes = [128, 256, 512];
  const results = new Map<number, Map<string, number[]>>();
  const tensors: TfTensor[] = [];
  for (const n of sizes) {
    results.set(n, await measure(entries(n, tf, simd, tensors), n, n >= 512 ? 9 : 15));
  }
  for (const t of tensors) t.dispose();
  const names = [...(results.get(128)?.keys() ?? [])];
  console.log("matmul, float32, n x n: median GFLOP/s (best)");
  console.log(`${"".padEnd(36)}${sizes.map((n) => `n=${n}`.padEnd(18)).join("")}`);
  for (const name of names) {
    const cells = sizes.map((n) => {
      const [med, best] = results.get(n)?.get(name) ?? [NaN, NaN];
      return `${med.toFixed(2)} (${best.toFixed(2)})`.padEnd(18);
    });
    console.log(`${name.padEnd(36)}${cells.join("")}`.trimEnd());
  }
  const at512 = results.get(512);
  const get = (name: string): number => at512?.get(name)?.[0] ?? NaN;
  const vsTf = get("fastest: accelerated Tensor.matmul") / get("tfjs-backend-wasm");
  const vsIkj = get("3. register-blocked 4x4") / get("1. i-k-j over views");
  const vsLesson =
    get("fastest: accelerated Tensor.matmul") / get("module 01 loop (Tensor.matmul)");
  const verdict = (ok: boolean): string => (ok ? "meets" : "MISSES");
  console.log(
    `\nat 512: fastest / tfjs-backend-wasm = ${vsTf.toFixed(2)}x (${verdict(vsTf >= 1)} the goal of 1.00x); ` +
      `register-blocked / i-k-j = ${vsIkj.toFixed(2)}x (${verdict(vsIkj >= 3)} the goal of 3x); ` +
      `fastest / module 01 = ${vsLesson.toFixed(1)}x`,
  );

  const memory = measureMachinePeaks();
  const roofs = measureCacheRoofs(memory.peakFlopsPerSecond, simd);
  const simdRoof = roofs.simd;
  if (!simdRoof) throw new Error("no SIMD roof measured");
  const gb = (x: number): string => (x / 1e9).toFixed(2);
  console.log(
    `\nroofline at 512 (module 14's measurements; kernels work from L1, so the triad is measured there too):\n` +
      `  scalar JS: peak ${gb(memory.peakFlopsPerSecond)} GFLOP/s, triad ${gb(roofs.scalar.bandwidthBytesPerSecond)} GB/s in L1 ` +
      `(${gb(memory.bandwidthBytesPerSecond)} GB/s from memory)\n` +
      `  WASM SIMD: peak ${gb(simdRoof.peakFlopsPerSecond)} GFLOP/s, triad ${gb(simdRoof.bandwidthBytesPerSecond)} GB/s in L1`,
  );
  console.log(
    `${"kernel".padEnd(36)}${"FLOP/B".padEnd(9)}${"bound".padEnd(15)}roof GFLOP/s  reached`,
  );
  for (const e of entries(512, tf, simd, [])) {
    if (e.intensity === 0) continue;
    const place = rooflinePlacement(e.intensity, e.simd ? simdRoof : roofs.scalar);
    const roof = place.attainableFlopsPerSecond / 1e9;
    console.log(
      `${e.name.padEnd(36)}${e.intensity.toFixed(2).padEnd(9)}${place.bound.padEnd(15)}` +
        `${roof.toFixed(2).padEnd(13)}${((100 * get(e.name)) / roof).toFixed(0)}%`,
    );
  }
  await benchDigits(3);
  console.log(
    `\nload average at the end: ${loadavg()
      .map((l) => l.toFixed(2))
      .join(" ")}`,
  );
}

/** Milestone 03's MLP on the full digit split, epochs alternating without and with the switch. */
async function benchDigits(epochs: number): Promise<void> {
  const runs: Record<string, { seconds: number[]; accuracy: number }> = {};
  for (const accelerated of [false, true]) {
    if (accelerated) await enableAcceleration();
    const result = trainDigits({ epochs, timeBudgetSeconds: Infinity });
    disableAcceleration();
    runs[accelerated ? "accelerated" : "module 01"] = {
      seconds: result.epochs.map((e) => e.trainSeconds),
      accuracy: result.testAccuracy,
    };
  }
  console.log(
    `\ndigits MLP (milestone 03: 784-128-10, Adam, batch 64, ${epochs} epochs on the 8,000-image split):`,
  );
  for (const [name, r] of Object.entries(runs)) {
    console.log(
      `  ${name.padEnd(12)} ${median(r.seconds).toFixed(2)} s per epoch (median; ` +
        `${r.seconds.map((x) => x.toFixed(2)).join(", ")}), test accuracy ${(100 * r.accuracy).toFixed(1)}%`,
    );
  }
  const speedup = median(runs["module 01"].seconds) / median(runs.accelerated.seconds);
  console.log(`  speed-up per epoch: ${speedup.toFixed(2)}x`);
}

main().catch((e: unknown) => {
  console.error(e);
  process.exitCode = 1;
});
