// Runs jobs on a fixed number of workers. The queue is ordered longest first and each worker
// takes the next job as soon as it is free, so the long kernel files start at once, one per
// worker, and the short files fill in around them (longest-processing-time scheduling).
// Every job is its own process group: a timeout or Ctrl-C kills the job and any kernel it started.
import { spawn, type ChildProcess } from "node:child_process";
import type { Job } from "./jobs";

export interface JobResult {
  job: Job;
  seconds: number;
  /** Exit code, or null when a signal ended it. */
  code: number | null;
  signal: NodeJS.Signals | null;
  /** stdout and stderr, interleaved as they arrived. */
  output: string;
  timedOut: boolean;
  spawnError?: string;
}

export interface PoolOptions {
  workers: number;
  cwd: string;
  env: (job: Job) => NodeJS.ProcessEnv;
  timeoutMs: number;
  /** Called once per job as it finishes, in finishing order. */
  onDone: (result: JobResult) => void;
}

const OUTPUT_LIMIT = 64 * 1024 * 1024;
const running = new Set<ChildProcess>();

function killGroup(child: ChildProcess): void {
  if (child.pid === undefined) return;
  try {
    process.kill(-child.pid, "SIGKILL");
  } catch {
    // Already gone.
  }
}

/** Kills every running job (on Ctrl-C, so no kernel outlives the runner). */
export function killAll(): void {
  for (const child of running) killGroup(child);
}

export function runJob(
  job: Job,
  opts: Omit<PoolOptions, "workers" | "onDone">,
): Promise<JobResult> {
  const started = performance.now();
  return new Promise((resolve) => {
    let output = "";
    let timedOut = false;
    const child = spawn(job.command, job.args, {
      cwd: opts.cwd,
      env: opts.env(job),
      stdio: ["ignore", "pipe", "pipe"],
      detached: true,
    });
    running.add(child);
    const collect = (chunk: Buffer) => {
      if (output.length < OUTPUT_LIMIT) output += chunk.toString("utf8");
    };
    child.stdout?.on("data", collect);
    child.stderr?.on("data", collect);
    const timer = setTimeout(() => {
      timedOut = true;
      killGroup(child);
    }, opts.timeoutMs);
    let finished = false;
    const finish = (code: number | null, signal: NodeJS.Signals | null, spawnError?: string) => {
      if (finished) return; // "error" and "close" can both come for a failed spawn
      finished = true;
      clearTimeout(timer);
      running.delete(child);
      const seconds = (performance.now() - started) / 1000;
      resolve({ job, seconds, code, signal, output, timedOut, ...(spawnError ? { spawnError } : {}) }); // prettier-ignore
    };
    child.once("error", (err) => finish(null, null, err.message));
    child.once("close", (code, signal) => finish(code, signal));
  });
}

/** Runs `queue` in order on `workers` workers; resolves with every result in finishing order. */
export async function runPool(queue: Job[], opts: PoolOptions): Promise<JobResult[]> {
  const results: JobResult[] = [];
  let next = 0;
  const worker = async () => {
    while (next < queue.length) {
      const job = queue[next++];
      const result = await runJob(job, opts);
      results.push(result);
      opts.onDone(result);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, opts.workers) }, worker));
  return results;
}
