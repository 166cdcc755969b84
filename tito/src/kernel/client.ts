// A Jupyter kernel client for tslab, in TypeScript over ZeroMQ: it writes a connection file,
// starts `tslab kernel`, and speaks the messaging protocol on the shell, control and IOPub
// channels. What it adds over a plain client is what running untrusted notebooks needs:
// a deadline per cell (interrupt, then kill), an output budget, and prompt detection of a
// dead kernel (its exit event), so that no call can hang.
import { randomUUID } from "node:crypto";
import { chmodSync, chownSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as zmq from "zeromq";
import type { Output } from "../notebook/types";
import { endpoint, makeConnectionInfo, type ConnectionInfo, type Transport } from "./connection";
import { buildLaunch } from "./launch";
import { DEFAULT_OUTPUT_LIMIT_BYTES, OutputCollector } from "./outputs";
import { KernelProcess } from "./process";
import { deriveError } from "./stderr-error";
import { decodeMessage, encodeMessage, newMessage, type JupyterMessage } from "./wire";

export interface KernelStartOptions {
  /** The kernel's working directory (module resolution starts here). */
  cwd: string;
  /** The kernel's whole environment (default: PATH, HOME, NODE_PATH, LANG). */
  env?: NodeJS.ProcessEnv;
  /** Wraps the kernel command, e.g. ["unshare", "--net", "--map-root-user"]. */
  commandPrefix?: string[];
  /** "tcp" on 127.0.0.1 (default) or "ipc" (Unix sockets, usable across network namespaces). */
  transport?: Transport;
  /** Parent directory for the kernel's private directory (connection file, ipc sockets). */
  socketDir?: string;
  /** V8 heap cap (--max-old-space-size) and data/address-space rlimits via prlimit. */
  memoryMb?: number;
  /** RLIMIT_NPROC (only effective when the kernel runs as its own user). */
  maxProcesses?: number;
  /** How long the kernel may take to answer kernel_info (default 60 s). */
  startTimeoutMs?: number;
  /** Hand the kernel's private directory to this user (when it runs as another uid). */
  owner?: { uid: number; gid: number };
  /** Another tslab launcher (tests use a bad one). */
  tslabBin?: string;
}

export interface ExecuteOptions {
  timeoutMs?: number;
  outputLimitBytes?: number;
  /** After the deadline, how long an interrupt may take before the kernel is killed (2 s). */
  interruptGraceMs?: number;
}

export type CellStatus = "ok" | "error" | "timeout" | "died" | "not-run";

export interface CellRun {
  status: CellStatus;
  outputs: Output[];
  executionCount: number | null;
  durationMs: number;
  error?: { ename: string; evalue: string };
  truncated: boolean;
  reason?: string;
}

export class KernelStartError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "KernelStartError";
  }
}

/** tslab rejects every request for 200 ms after a failed cell (its queue reset); we wait it out. */
const ERROR_COOLDOWN_MS = 230;
/** If the reply came but the idle status was lost (IOPub drops under a flood), stop waiting. */
const IDLE_GRACE_MS = 1000;
const HANDSHAKE_ATTEMPT_MS = 250;
/** What tslab prints when it cannot work at all (a port taken, zeromq not loading). */
const FATAL_START_OUTPUT =
  /EADDRINUSE|Address already in use|Cannot find module|ERR_DLOPEN_FAILED|compiled against a different Node/;
/** Internal marker: the kernel refused the request without running it. */
const ABORTED = "aborted";

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export class KernelClient {
  private proc: KernelProcess | undefined;
  private dir: string | undefined;
  private info: ConnectionInfo | undefined;
  private shell: zmq.Dealer | undefined;
  private control: zmq.Dealer | undefined;
  private iopub: zmq.Subscriber | undefined;
  private readonly session = randomUUID();
  private readonly replyWaiters = new Map<string, (m: JupyterMessage) => void>();
  private readonly iopubListeners = new Map<string, (m: JupyterMessage) => void>();
  private lastErrorAt = 0;
  private queue: Promise<void> = Promise.resolve();
  private shutDown = false;
  /** The kernel_info_reply content of the running kernel. */
  kernelInfo: Record<string, unknown> = {};
  /** How long the last start took, from spawn to a verified kernel_info round trip. */
  startupMs = 0;

  private constructor(private readonly opts: KernelStartOptions) {}

  static async start(opts: KernelStartOptions): Promise<KernelClient> {
    const client = new KernelClient(opts);
    await client.launch();
    return client;
  }

  get alive(): boolean {
    return !this.shutDown && this.proc !== undefined && this.proc.running;
  }

  get pid(): number | undefined {
    return this.proc?.pid;
  }

  /** Why the kernel is not alive (for reports). */
  get deathReason(): string {
    if (this.shutDown) return "kernel was shut down";
    return this.proc?.describeExit() ?? "kernel was never started";
  }

  private async launch(): Promise<void> {
    const started = performance.now();
    const transport = this.opts.transport ?? "tcp";
    for (let attempt = 1; ; attempt++) {
      try {
        await this.launchOnce(transport);
        this.startupMs = performance.now() - started;
        return;
      } catch (e) {
        await this.teardown();
        // Another process can take a probed port before the kernel binds it: try new ports.
        const portRace = e instanceof KernelStartError && /address already in use/i.test(e.message);
        if (!(portRace && transport === "tcp" && attempt < 3)) throw e;
      }
    }
  }

  private async launchOnce(transport: Transport): Promise<void> {
    const parent = this.opts.socketDir ?? tmpdir();
    const dir = mkdtempSync(join(parent, "tito-k-"));
    this.dir = dir;
    const info = await makeConnectionInfo(transport, dir);
    this.info = info;
    const configPath = join(dir, "connection.json");
    writeFileSync(configPath, JSON.stringify(info, null, 2), { mode: 0o600 });
    if (this.opts.owner) {
      chownSync(dir, this.opts.owner.uid, this.opts.owner.gid);
      chownSync(configPath, this.opts.owner.uid, this.opts.owner.gid);
    } else {
      chmodSync(dir, 0o700);
    }
    let plan;
    try {
      plan = buildLaunch({ ...this.opts, configPath });
    } catch (e) {
      throw new KernelStartError(`cannot start tslab: ${(e as Error).message}`);
    }
    const proc = new KernelProcess(plan, this.opts.cwd);
    this.proc = proc;

    this.shell = new zmq.Dealer({ linger: 0 });
    this.control = new zmq.Dealer({ linger: 0 });
    // No receive limit: a flood of output must not make us drop the status that ends a cell.
    this.iopub = new zmq.Subscriber({ linger: 0, receiveHighWaterMark: 0 });
    this.iopub.subscribe();
    this.shell.connect(endpoint(info, "shell"));
    this.control.connect(endpoint(info, "control"));
    this.iopub.connect(endpoint(info, "iopub"));
    void this.pump(this.shell, (m) => this.onReply(m));
    void this.pump(this.control, (m) => this.onReply(m));
    void this.pump(this.iopub, (m) => this.iopubListeners.get(m.parent_header.msg_id ?? "")?.(m));
    await this.handshake(proc);
  }

  /**
   * Sends kernel_info_request every few hundred milliseconds until a reply and an IOPub status
   * for one of them have arrived: only then is our IOPub subscription known to be live (a SUB
   * socket misses what is published before it is connected), so no output of the first cell
   * can be lost. Requests are repeated because tslab can lose one while it is still binding
   * its sockets (its IOPub send then fails with EBUSY and the request is never answered).
   */
  private async handshake(proc: KernelProcess): Promise<void> {
    const timeoutMs = this.opts.startTimeoutMs ?? 60_000;
    const deadline = performance.now() + timeoutMs;
    const failure = (why: string) => {
      const tail = proc.tail.trim().split("\n").slice(-15).join("\n");
      return new KernelStartError(`tslab kernel ${why}${tail ? `:\n${tail}` : ""}`);
    };
    const ids: string[] = [];
    let reply: JupyterMessage | undefined;
    let sawStatus = false;
    let wake: () => void = () => undefined;
    try {
      while (!(reply && sawStatus)) {
        if (!proc.running) throw failure(`exited during start-up (${proc.describeExit()})`);
        // tslab logs a failed bind or a failed zeromq load and stays alive: fail fast instead.
        if (FATAL_START_OUTPUT.test(proc.tail)) {
          proc.kill("SIGKILL");
          throw failure("failed during start-up");
        }
        if (performance.now() >= deadline) {
          proc.kill("SIGKILL");
          throw failure(`did not answer within ${+(timeoutMs / 1000).toFixed(1)} s`);
        }
        const msg = newMessage("kernel_info_request", {}, this.session);
        const id = msg.header.msg_id;
        ids.push(id);
        this.replyWaiters.set(id, (m) => {
          reply ??= m;
          wake();
        });
        this.iopubListeners.set(id, (m) => {
          if (m.header.msg_type === "status") sawStatus = true;
          wake();
        });
        await this.shell!.send(encodeMessage(msg, this.info!.key));
        const stopWatching = proc.onExit(() => wake());
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, HANDSHAKE_ATTEMPT_MS);
          wake = () => {
            clearTimeout(timer);
            resolve();
          };
        });
        stopWatching();
      }
      this.kernelInfo = reply.content;
    } finally {
      for (const id of ids) {
        this.replyWaiters.delete(id);
        this.iopubListeners.delete(id);
      }
    }
  }

  private onReply(m: JupyterMessage): void {
    const id = m.parent_header.msg_id ?? "";
    const waiter = this.replyWaiters.get(id);
    if (waiter) {
      this.replyWaiters.delete(id);
      waiter(m);
    }
  }

  private async pump(sock: zmq.Dealer | zmq.Subscriber, handle: (m: JupyterMessage) => void) {
    const key = this.info?.key ?? "";
    try {
      for await (const frames of sock) {
        let msg: JupyterMessage;
        try {
          msg = decodeMessage(frames, key);
        } catch {
          continue; // unsigned or malformed: not from our kernel, ignore it
        }
        handle(msg);
      }
    } catch {
      // The socket was closed under the loop: that is how the loop ends.
    }
  }

  /** Sends a request and waits for its reply; undefined on timeout or when the kernel dies. */
  private request(
    sock: zmq.Dealer | undefined,
    msg: JupyterMessage,
    timeoutMs: number,
  ): Promise<JupyterMessage | undefined> {
    const proc = this.proc;
    if (!sock || !proc || !proc.running || !this.info) return Promise.resolve(undefined);
    const id = msg.header.msg_id;
    return new Promise((resolve) => {
      const done = (m: JupyterMessage | undefined) => {
        clearTimeout(timer);
        stopWatching();
        this.replyWaiters.delete(id);
        resolve(m);
      };
      const timer = setTimeout(() => done(undefined), timeoutMs);
      const stopWatching = proc.onExit(() => done(undefined));
      this.replyWaiters.set(id, (m) => done(m));
      sock.send(encodeMessage(msg, this.info!.key)).catch(() => done(undefined));
    });
  }

  /** Runs one cell. Never throws for anything the cell does; never waits past its deadline. */
  execute(code: string, opts: ExecuteOptions = {}): Promise<CellRun> {
    // One cell at a time: a second call waits for the first (as a Jupyter front end queues).
    const run = this.queue.then(() => this.executeNow(code, opts));
    this.queue = run.then(
      () => undefined,
      () => undefined,
    );
    return run;
  }

  private async executeNow(code: string, opts: ExecuteOptions): Promise<CellRun> {
    const started = performance.now();
    if (!this.alive) return notRun(this.deathReason);
    const cooldown = this.lastErrorAt + ERROR_COOLDOWN_MS - performance.now();
    if (cooldown > 0) await sleep(cooldown);
    const collector = new OutputCollector(opts.outputLimitBytes ?? DEFAULT_OUTPUT_LIMIT_BYTES);
    const deadline = opts.timeoutMs === undefined ? undefined : started + opts.timeoutMs;
    let run = await this.executeOnce(code, collector, opts, started, deadline);
    // tslab answers "abort" (without running the code) while its queue is still resetting
    // after an earlier error; the code did not run, so sending it again is safe.
    for (let attempt = 0; run.reason === ABORTED && attempt < 3; attempt++) {
      await sleep(ERROR_COOLDOWN_MS);
      run = await this.executeOnce(code, collector, opts, started, deadline);
    }
    if (run.reason === ABORTED) run = { ...run, reason: "the kernel kept aborting the request" };
    if (run.status !== "ok") this.lastErrorAt = performance.now();
    return run;
  }

  private executeOnce(
    code: string,
    collector: OutputCollector,
    opts: ExecuteOptions,
    started: number,
    deadline: number | undefined,
  ): Promise<CellRun> {
    const proc = this.proc!;
    const msg = newMessage(
      "execute_request",
      {
        code,
        silent: false,
        store_history: true,
        user_expressions: {},
        allow_stdin: false,
        stop_on_error: false,
      },
      this.session,
    );
    const id = msg.header.msg_id;
    return new Promise<CellRun>((resolve) => {
      let reply: JupyterMessage | undefined;
      let idle = false;
      let timedOut = false;
      let settled = false;
      const timers: NodeJS.Timeout[] = [];
      const timeoutReason = () => `timed out after ${+((opts.timeoutMs ?? 0) / 1000).toFixed(1)} s`;

      const finish = (status: CellStatus | "abort", reason?: string) => {
        if (settled) return;
        settled = true;
        for (const t of timers) clearTimeout(t);
        stopWatching();
        this.iopubListeners.delete(id);
        this.replyWaiters.delete(id);
        resolve(this.buildRun(status, reason, reply, collector, started));
      };
      const maybeDone = () => {
        if (!reply || (!idle && !graceOver)) return;
        if (timedOut) return finish("timeout", timeoutReason());
        const status = reply.content.status;
        finish(status === "ok" ? "ok" : status === "abort" ? "abort" : "error");
      };
      let graceOver = false;

      this.iopubListeners.set(id, (m) => {
        const c = m.content;
        switch (m.header.msg_type) {
          case "stream":
            return collector.stream(c.name, c.text);
          case "display_data":
            return collector.display(c, "display_data");
          case "execute_result":
            return collector.display(c, "execute_result");
          case "update_display_data":
            return collector.updateDisplay(c);
          case "error":
            return collector.error(c);
          case "status":
            if (c.execution_state === "idle") {
              idle = true;
              maybeDone();
            }
        }
      });
      this.replyWaiters.set(id, (m) => {
        reply = m;
        timers.push(
          setTimeout(() => {
            graceOver = true;
            maybeDone();
          }, IDLE_GRACE_MS),
        );
        maybeDone();
      });
      const stopWatching = proc.onExit(() =>
        finish(
          timedOut ? "timeout" : "died",
          timedOut ? `${timeoutReason()}; ${proc.describeExit()}` : proc.describeExit(),
        ),
      );
      if (deadline !== undefined) {
        timers.push(
          setTimeout(
            () => {
              timedOut = true;
              // tslab turns SIGINT into an interrupt (vm's breakOnSigint stops a busy loop);
              // if the kernel does not come back in time, it is killed.
              proc.kill("SIGINT");
              timers.push(
                setTimeout(() => {
                  proc.kill(
                    "SIGKILL",
                    `${timeoutReason()}; the kernel did not stop, so it was killed`,
                  );
                }, opts.interruptGraceMs ?? 2000),
              );
            },
            Math.max(0, deadline - performance.now()),
          ),
        );
      }
      this.shell!.send(encodeMessage(msg, this.info!.key)).catch(() => {
        proc.kill("SIGKILL", "kernel connection failed");
      });
    });
  }

  private buildRun(
    status: CellStatus | "abort",
    reason: string | undefined,
    reply: JupyterMessage | undefined,
    collector: OutputCollector,
    started: number,
  ): CellRun {
    const count = reply?.content.execution_count;
    const run: CellRun = {
      status: status === "abort" ? "error" : status,
      outputs: collector.outputs,
      executionCount: typeof count === "number" ? count : null,
      durationMs: performance.now() - started,
      truncated: collector.truncated,
      reason: status === "abort" ? ABORTED : reason,
    };
    if (run.status === "error" && status !== "abort") {
      run.error = deriveError(collector.stderr);
      // tslab printed the message to stderr already; the error output carries ename/evalue
      // for tools, with an empty traceback so front ends do not show it twice.
      if (!collector.hasErrorOutput()) {
        collector.outputs.push({ output_type: "error", ...run.error, traceback: [] });
      }
    } else if (run.status === "timeout" || run.status === "died") {
      const ename = run.status === "timeout" ? "Timeout" : "KernelDied";
      run.error = { ename, evalue: reason ?? ename };
      collector.outputs.push({
        output_type: "error",
        ...run.error,
        traceback: [`${ename}: ${run.error.evalue}`],
      });
    }
    const cut = collector.noteTruncation();
    if (cut) run.reason = run.reason ? `${run.reason}; ${cut}` : cut;
    return run;
  }

  /** Interrupts the running cell (tslab handles SIGINT). */
  async interrupt(): Promise<void> {
    this.proc?.kill("SIGINT");
  }

  /** Kills the kernel (if running) and starts a fresh one with the same options. */
  async restart(): Promise<void> {
    if (this.shutDown) throw new Error("kernel was shut down; start a new one");
    await this.teardown();
    this.lastErrorAt = 0;
    await this.launch();
  }

  /** Asks the kernel to shut down, kills it if it does not, and removes its files. */
  async shutdown(): Promise<void> {
    if (this.shutDown) return;
    this.shutDown = true;
    const proc = this.proc;
    if (proc?.running && this.control) {
      const msg = newMessage("shutdown_request", { restart: false }, this.session);
      await this.request(this.control, msg, 300);
      await proc.waitExit(300);
    }
    await this.teardown();
  }

  private async teardown(): Promise<void> {
    const proc = this.proc;
    if (proc?.running) {
      proc.kill("SIGKILL", "kernel was shut down");
      await proc.waitExit(5000);
    }
    for (const sock of [this.shell, this.control, this.iopub]) sock?.close();
    this.shell = this.control = this.iopub = undefined;
    this.replyWaiters.clear();
    this.iopubListeners.clear();
    if (this.dir) rmSync(this.dir, { recursive: true, force: true });
    this.dir = undefined;
  }
}

function notRun(reason: string): CellRun {
  return {
    status: "not-run",
    outputs: [],
    executionCount: null,
    durationMs: 0,
    truncated: false,
    reason,
  };
}
