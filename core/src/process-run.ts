// The one way the kit runs a short-lived child process and waits for it: a probe (`prlimit
// --version`, `unshare … true`, a Python with Jupyter), a helper (`rm -rf`, `id -u`). Every run
// has a deadline, keeps a bounded amount of output, and ends in a result, never an exception:
// a program that is missing, hangs, forks or floods its output cannot hang or crash the caller.
// Long-lived processes with their own lifecycle (the kernel: kernel/process.ts) and interactive
// ones (Jupyter under `tito notebook`) are not timed runs and do not come through here.
import { spawn, spawnSync, type ChildProcess, type SpawnSyncReturns } from "node:child_process";

export interface RunProcessOptions {
  /** After this long the child's whole process group is killed (`killSignal`). */
  timeoutMs: number;
  cwd?: string;
  /** The child's whole environment (default: ours). */
  env?: NodeJS.ProcessEnv;
  /** Written to the child's stdin, which is then closed (default: no stdin at all). */
  input?: string | Buffer;
  /** Output kept per stream (default 1 MiB); the rest is counted in `droppedBytes`. */
  maxOutputBytes?: number;
  /** The signal sent on timeout (default SIGKILL: a hung child may ignore anything gentler). */
  killSignal?: NodeJS.Signals;
}

export interface ProcessResult {
  /** The exit code, or null when the child was killed by a signal or never started. */
  code: number | null;
  signal: string | null;
  stdout: string;
  stderr: string;
  /** Output past `maxOutputBytes`, per stream, that was not kept. */
  droppedBytes: { stdout: number; stderr: number };
  timedOut: boolean;
  durationMs: number;
  /** Why the child could not be run or was stopped early (e.g. "spawn rm ENOENT"). */
  error?: string;
}

export const DEFAULT_MAX_OUTPUT_BYTES = 1024 * 1024;

/**
 * How long to wait for the child's pipes to close once its group was killed. A descendant that
 * left the group (setsid) can hold them open for ever; the run still ends, without its output.
 */
const CLOSE_GRACE_MS = 2000;

/** Keeps the first `limit` bytes of a stream and counts the rest. */
class OutputTail {
  private readonly chunks: Buffer[] = [];
  private kept = 0;
  dropped = 0;

  constructor(private readonly limit: number) {}

  add(chunk: Buffer): void {
    const room = this.limit - this.kept;
    if (room < chunk.length) this.dropped += chunk.length - Math.max(0, room);
    if (room <= 0) return;
    const part = chunk.length > room ? chunk.subarray(0, room) : chunk;
    this.chunks.push(part);
    this.kept += part.length;
  }

  text(): string {
    return Buffer.concat(this.chunks).toString("utf8");
  }
}

function outputLimit(opts: RunProcessOptions): number {
  return Math.max(0, Math.floor(opts.maxOutputBytes ?? DEFAULT_MAX_OUTPUT_BYTES));
}

/**
 * Runs `command args` in its own process group and resolves when it has ended and its output
 * is closed (so a descendant still holding the pipes counts against the deadline). Never
 * rejects: a child that cannot be started resolves with `error` set. On timeout the whole group
 * (the child and whatever it forked) gets `killSignal`.
 */
export function runProcess(
  command: string,
  args: string[],
  opts: RunProcessOptions,
): Promise<ProcessResult> {
  const started = performance.now();
  const stdout = new OutputTail(outputLimit(opts));
  const stderr = new OutputTail(outputLimit(opts));
  return new Promise((resolve) => {
    let code: number | null = null;
    let signal: string | null = null;
    let timedOut = false;
    let error: string | undefined;
    // Set once the child runs; `finish` may come first (a spawn that throws).
    const timers: { kill?: NodeJS.Timeout; grace?: NodeJS.Timeout } = {};
    let finished = false;
    const finish = () => {
      if (finished) return;
      finished = true;
      clearTimeout(timers.kill);
      clearTimeout(timers.grace);
      resolve({
        code,
        signal,
        stdout: stdout.text(),
        stderr: stderr.text(),
        droppedBytes: { stdout: stdout.dropped, stderr: stderr.dropped },
        timedOut,
        durationMs: performance.now() - started,
        ...(error === undefined ? {} : { error }),
      });
    };
    let child: ChildProcess;
    try {
      child = spawn(command, args, {
        cwd: opts.cwd,
        env: opts.env,
        stdio: [opts.input === undefined ? "ignore" : "pipe", "pipe", "pipe"],
        // Its own process group, so that a timeout reaches what it forked too.
        detached: true,
      });
    } catch (e) {
      // Invalid arguments (a NUL byte in one) throw at once instead of emitting "error".
      error = e instanceof Error ? e.message : String(e);
      finish();
      return;
    }
    child.stdout?.on("data", (chunk: Buffer) => stdout.add(chunk));
    child.stderr?.on("data", (chunk: Buffer) => stderr.add(chunk));
    child.once("exit", (c, s) => {
      code = c;
      signal = s;
    });
    child.once("error", (e) => {
      error ??= e.message;
      // Not started at all (ENOENT, EACCES): no exit and no output will come.
      if (child.pid === undefined) finish();
    });
    child.once("close", finish);
    if (child.stdin) {
      // A child that exits without reading its input makes the write fail (EPIPE): not ours.
      child.stdin.on("error", () => undefined);
      child.stdin.end(opts.input);
    }
    timers.kill = setTimeout(() => {
      timedOut = true;
      const killSignal = opts.killSignal ?? "SIGKILL";
      killGroup(child.pid, killSignal, () => child.kill(killSignal));
      timers.grace = setTimeout(() => {
        error ??= `its output was still open ${CLOSE_GRACE_MS} ms after the kill`;
        child.stdout?.destroy();
        child.stderr?.destroy();
        finish();
      }, CLOSE_GRACE_MS);
    }, opts.timeoutMs);
  });
}

function killGroup(pid: number | undefined, signal: NodeJS.Signals, fallback: () => void): void {
  if (pid === undefined) return;
  try {
    process.kill(-pid, signal);
  } catch {
    // The group is gone (everything in it has exited); the child itself may still be reaped.
    try {
      fallback();
    } catch {
      // Already dead.
    }
  }
}

/**
 * The synchronous form, for the few start-up probes that run before anything else could use
 * the event loop. Same result. spawnSync cannot start a process group, so a timeout kills the
 * child (SIGKILL) but not what it forked; and a child that writes more than `maxOutputBytes`
 * to a stream is ended there (`error` says so), since spawnSync cannot drop output and go on.
 */
export function runProcessSync(
  command: string,
  args: string[],
  opts: RunProcessOptions,
): ProcessResult {
  const started = performance.now();
  const limit = outputLimit(opts);
  const r: SpawnSyncReturns<Buffer> = spawnSync(command, args, {
    cwd: opts.cwd,
    env: opts.env,
    input: opts.input,
    stdio: [opts.input === undefined ? "ignore" : "pipe", "pipe", "pipe"],
    timeout: opts.timeoutMs,
    killSignal: opts.killSignal ?? "SIGKILL",
    maxBuffer: limit,
  });
  const kept = (b: Buffer | null) => (b ?? Buffer.alloc(0)).subarray(0, limit);
  const dropped = (b: Buffer | null) => Math.max(0, (b?.length ?? 0) - limit);
  const errno = (r.error as NodeJS.ErrnoException | undefined)?.code;
  const timedOut = errno === "ETIMEDOUT";
  let error: string | undefined;
  if (errno === "ENOBUFS") error = `it wrote more than ${limit} bytes and was stopped`;
  else if (r.error && !timedOut) error = r.error.message;
  return {
    code: r.status,
    signal: r.signal,
    stdout: kept(r.stdout).toString("utf8"),
    stderr: kept(r.stderr).toString("utf8"),
    droppedBytes: { stdout: dropped(r.stdout), stderr: dropped(r.stderr) },
    timedOut,
    durationMs: performance.now() - started,
    ...(error === undefined ? {} : { error }),
  };
}
