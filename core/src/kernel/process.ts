// The kernel's OS process: spawned in its own process group (so an interrupt or a kill reaches
// whatever the student's code forked too), watched through its exit event (a dead kernel is
// noticed at once, never by waiting), and its own stdout/stderr kept as a short tail: that is
// where Node prints a fatal out-of-memory report or a failure to start.
// It is not a timed run (core/src/process-run.ts): a kernel lives for a whole notebook, and its
// deadlines are per cell and per start, kept by the client, which interrupts or kills it.
import { spawn, type ChildProcess } from "node:child_process";
import { constants } from "node:os";
import type { LaunchPlan } from "./launch";

export interface ProcessExit {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** Set when the process could not be spawned at all. */
  spawnError?: Error;
}

const TAIL_CHARS = 8 * 1024;

/** Every kernel still running, so that they are killed if this process exits without cleanup. */
const live = new Set<KernelProcess>();
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on("exit", () => {
    for (const p of live) p.kill("SIGKILL");
  });
}

export class KernelProcess {
  readonly child: ChildProcess;
  exit: ProcessExit | undefined;
  /** The kernel's own output outside cells (start-up errors, V8's fatal OOM report). */
  tail = "";
  private readonly exitPromise: Promise<ProcessExit>;
  private readonly listeners = new Set<(e: ProcessExit) => void>();
  /** Why we killed it, if we did. */
  killedBecause: string | undefined;

  constructor(plan: LaunchPlan, cwd: string) {
    installExitHook();
    this.child = spawn(plan.command, plan.args, {
      cwd,
      env: plan.env,
      stdio: ["ignore", "pipe", "pipe"],
      detached: true,
    });
    const keep = (chunk: Buffer) => {
      this.tail = (this.tail + chunk.toString("utf8")).slice(-TAIL_CHARS);
    };
    this.child.stdout?.on("data", keep);
    this.child.stderr?.on("data", keep);
    live.add(this);
    this.exitPromise = new Promise((resolve) => {
      const done = (e: ProcessExit) => {
        if (this.exit) return;
        this.exit = e;
        live.delete(this);
        resolve(e);
        for (const l of this.listeners) l(e);
        this.listeners.clear();
      };
      this.child.once("exit", (code, signal) => done({ code, signal }));
      this.child.once("error", (err) => done({ code: null, signal: null, spawnError: err }));
    });
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  get running(): boolean {
    return this.exit === undefined;
  }

  onExit(listener: (e: ProcessExit) => void): () => void {
    if (this.exit) {
      listener(this.exit);
      return () => undefined;
    }
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Resolves when the process has exited, or after `ms` with undefined. */
  waitExit(ms: number): Promise<ProcessExit | undefined> {
    if (this.exit) return Promise.resolve(this.exit);
    return new Promise((resolve) => {
      const timer = setTimeout(() => resolve(undefined), ms);
      void this.exitPromise.then((e) => {
        clearTimeout(timer);
        resolve(e);
      });
    });
  }

  /** Sends a signal to the kernel's whole process group. */
  kill(signal: NodeJS.Signals, because?: string): void {
    if (!this.running || this.child.pid === undefined) return;
    if (because && signal === "SIGKILL") this.killedBecause ??= because;
    try {
      process.kill(-this.child.pid, signal);
    } catch {
      // The group may already be gone, or the kernel left it; signal the process itself.
      try {
        this.child.kill(signal);
      } catch {
        // Already dead.
      }
    }
  }

  /** A human-readable account of why the process ended. */
  describeExit(): string {
    const e = this.exit;
    if (!e) return "kernel is running";
    if (e.spawnError) return `kernel could not be started: ${e.spawnError.message}`;
    if (this.killedBecause) return this.killedBecause;
    // Under a sandbox the kernel runs below a shell that reports a signal as 128 + its number.
    const signal = e.signal ?? signalFromStatus(e.code);
    const how = signal ? `signal ${signal}` : `exit code ${e.code}`;
    if (/heap out of memory|Reached heap limit|Allocation failed/i.test(this.tail)) {
      return `kernel died (out of memory: ${how})`;
    }
    if (signal === "SIGKILL" || signal === "SIGABRT" || signal === "SIGSEGV") {
      return `kernel died (${how}; out of memory?)`;
    }
    return `kernel died (${how})`;
  }
}

/** The signal a shell means by exit status 128 + n, if any. */
function signalFromStatus(code: number | null): NodeJS.Signals | undefined {
  if (code === null || code <= 128 || code > 128 + 64) return undefined;
  const n = code - 128;
  const found = Object.entries(constants.signals).find(([, v]) => v === n);
  return found ? (found[0] as NodeJS.Signals) : undefined;
}
