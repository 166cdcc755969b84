// `npm run bench:run`: what running notebooks costs on this machine.
//   1. kernel start: spawn to a verified kernel_info round trip (tslab loads TypeScript);
//   2. per-cell cost: 100 trivial cells in one kernel (compile + run + protocol round trip);
//   3. throughput: notebooks per minute for a 30-cell notebook with --jobs 1 and --jobs 2,
//      kernel start-ups included (started ahead by runNotebooks);
//   4. overhead: a batch of 20 such notebooks on pre-started kernels, wall time divided by the
//      sum of their cells' execution times (target < 1.3x with --jobs 1).
import { cpus, loadavg } from "node:os";
import { KIT_ROOT } from "@tinytorch-ts/core";
import { KernelClient } from "@tinytorch-ts/core/kernel";
import {
  TSLAB_KERNELSPEC,
  TSLAB_LANGUAGE_INFO,
  writeIpynb,
  type Cell,
  type Notebook,
} from "@tinytorch-ts/core/notebook";
import { KernelPool, kernelFactory, runNotebook, runNotebooks } from "@tinytorch-ts/core/run";

const start = { cwd: KIT_ROOT };

function stats(xs: number[]): { mean: number; median: number; min: number; max: number } {
  const s = [...xs].sort((a, b) => a - b);
  const mean = s.reduce((a, b) => a + b, 0) / s.length;
  return { mean, median: s[Math.floor(s.length / 2)], min: s[0], max: s[s.length - 1] };
}

const ms = (x: number) => `${x.toFixed(1)} ms`;

/** A 30-cell notebook in the style of a lesson: definitions, small computations, prints. */
function lessonNotebook(variant: number): Notebook {
  const cells: Cell[] = [];
  const code = (source: string) =>
    cells.push({
      cell_type: "code",
      id: `c${cells.length}`,
      metadata: {},
      source,
      execution_count: null,
      outputs: [],
    });
  for (let i = 0; i < 10; i++) {
    code(
      `function f${i}(xs: number[]): number {\n  let s = 0;\n  for (const x of xs) s += x * ${i + 1};\n  return s;\n}`,
    );
    code(
      `const data${i} = Array.from({ length: 20000 }, (_, k) => (k * ${variant + i + 1}) % 97);\nconsole.log("sum", f${i}(data${i}));`,
    );
    code(
      `class Acc${i} {\n  total = 0;\n  add(v: number): this {\n    this.total += v;\n    return this;\n  }\n}\nnew Acc${i}().add(${i}).add(f${i}([1, 2, 3])).total`,
    );
  }
  return {
    nbformat: 4,
    nbformat_minor: 5,
    metadata: { kernelspec: { ...TSLAB_KERNELSPEC }, language_info: { ...TSLAB_LANGUAGE_INFO } },
    cells,
  };
}

async function kernelStart(): Promise<void> {
  const times: number[] = [];
  for (let i = 0; i < 5; i++) {
    const k = await KernelClient.start(start);
    times.push(k.startupMs);
    await k.shutdown();
  }
  const s = stats(times);
  console.log(
    `kernel start (5 sequential): median ${ms(s.median)}, mean ${ms(s.mean)}, min ${ms(s.min)}, max ${ms(s.max)}`,
  );
}

async function cellCost(): Promise<void> {
  const k = await KernelClient.start(start);
  try {
    await k.execute("let counter = 0;");
    const times: number[] = [];
    for (let i = 0; i < 100; i++) {
      const run = await k.execute("counter += 1", { timeoutMs: 10_000 });
      if (run.status !== "ok") throw new Error(`trivial cell failed: ${run.reason}`);
      times.push(run.durationMs);
    }
    const s = stats(times);
    console.log(
      `per-cell cost (100 trivial cells): median ${ms(s.median)}, mean ${ms(s.mean)}, min ${ms(s.min)}, max ${ms(s.max)}`,
    );
  } finally {
    await k.shutdown();
  }
}

async function throughput(jobs: number, count: number): Promise<void> {
  const items = Array.from({ length: count }, (_, i) => lessonNotebook(i));
  let failed = 0;
  const t0 = performance.now();
  await runNotebooks(
    items,
    async (nb, kernel) => {
      const run = await runNotebook(nb, { kernel });
      if (!run.ok) failed++;
      writeIpynb(run.notebook);
    },
    { jobs, start },
  );
  const wall = performance.now() - t0;
  const perMin = (count / wall) * 60_000;
  console.log(
    `--jobs ${jobs}: ${count} notebooks of 30 cells in ${(wall / 1000).toFixed(1)} s, kernel starts included = ${perMin.toFixed(1)} notebooks/min${failed ? ` (${failed} FAILED)` : ""}`,
  );
}

async function overhead(jobs: number, count: number): Promise<void> {
  const pool = new KernelPool({ size: count, factory: kernelFactory(start), refill: false });
  await pool.whenReady();
  const items = Array.from({ length: count }, (_, i) => lessonNotebook(i));
  let cellTime = 0;
  let failed = 0;
  let next = 0;
  const t0 = performance.now();
  const worker = async () => {
    while (next < items.length) {
      const nb = items[next++];
      const kernel = await pool.acquire();
      const run = await runNotebook(nb, { kernel });
      pool.release(kernel);
      if (!run.ok) failed++;
      for (const c of run.cells) cellTime += c.durationMs;
      writeIpynb(run.notebook);
    }
  };
  await Promise.all(Array.from({ length: jobs }, worker));
  const wall = performance.now() - t0;
  await pool.close();
  console.log(
    `batch of ${count} on pre-started kernels, --jobs ${jobs}: wall ${(wall / 1000).toFixed(2)} s, cells ${(cellTime / 1000).toFixed(2)} s, ratio ${(wall / cellTime).toFixed(3)}x${jobs === 1 ? " (target < 1.3x)" : " (cells overlap across jobs)"}${failed ? ` (${failed} FAILED)` : ""}`,
  );
}

async function main(): Promise<void> {
  const load = () => loadavg()[0].toFixed(1);
  console.log(
    `bench:run on ${cpus().length} cores, Node ${process.version}, load average ${load()}`,
  );
  await kernelStart();
  await cellCost();
  await throughput(1, 8);
  await throughput(2, 8);
  await overhead(1, 20);
  await overhead(2, 20);
  console.log(
    `load average at the end: ${load()} (other processes on the machine skew the figures)`,
  );
}

main().catch((e: unknown) => {
  console.error(e);
  process.exitCode = 1;
});
