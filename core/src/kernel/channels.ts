// The client's side of a kernel's ZeroMQ channels: shell and control (DEALER, request/reply),
// IOPub (SUB, everything the kernel publishes) and heartbeat (REQ, echo). Incoming messages are
// verified and routed by their parent's msg_id to whoever is waiting for that request.
import { randomUUID } from "node:crypto";
import { existsSync } from "node:fs";
import * as zmq from "zeromq";
import { endpoint, type ConnectionInfo } from "./connection";
import type { KernelProcess } from "./process";
import { describeProcessTree } from "./process-tree";
import { decodeMessage, encodeMessage, newMessage, type JupyterMessage } from "./wire";

export class KernelStartError extends Error {
  /** True when the kernel stayed alive but never answered (as opposed to dying or failing). */
  readonly timedOut: boolean;
  constructor(message: string, opts: { timedOut?: boolean } = {}) {
    super(message);
    this.name = "KernelStartError";
    this.timedOut = opts.timedOut ?? false;
  }
}

const HANDSHAKE_ATTEMPT_MS = 250;
/** A timer this late means our process was not running at all (see `handshake`). */
const STALL_MS = 2000;
/** What tslab prints when it cannot work at all (a port taken, zeromq not loading). */
const FATAL_START_OUTPUT =
  /EADDRINUSE|Address already in use|Cannot find module|ERR_DLOPEN_FAILED|compiled against a different Node/;

type Listener = (m: JupyterMessage) => void;

/**
 * A sleep that can be cancelled. A plain `setTimeout` left pending after a race keeps the event
 * loop, and so the whole command, alive until it fires (a minute, for a handshake deadline).
 */
function cancellableSleep(ms: number): { done: Promise<void>; cancel: () => void } {
  let timer: NodeJS.Timeout | undefined;
  const done = new Promise<void>((resolve) => {
    timer = setTimeout(resolve, ms);
  });
  return { done, cancel: () => clearTimeout(timer) };
}

export class KernelChannels {
  readonly session = randomUUID();
  private readonly shell = new zmq.Dealer({ linger: 0 });
  private readonly control = new zmq.Dealer({ linger: 0 });
  // No receive limit: a flood of output must not make us drop the status that ends a cell.
  private readonly iopub = new zmq.Subscriber({ linger: 0, receiveHighWaterMark: 0 });
  private readonly replyWaiters = new Map<string, Listener>();
  private readonly iopubListeners = new Map<string, Listener>();

  constructor(
    private readonly info: ConnectionInfo,
    private readonly proc: KernelProcess,
  ) {
    this.iopub.subscribe();
    this.shell.connect(endpoint(info, "shell"));
    this.control.connect(endpoint(info, "control"));
    this.iopub.connect(endpoint(info, "iopub"));
    void this.pump(this.shell, (m) => this.onReply(m));
    void this.pump(this.control, (m) => this.onReply(m));
    void this.pump(this.iopub, (m) => this.iopubListeners.get(m.parent_header.msg_id ?? "")?.(m));
  }

  newMessage(msgType: string, content: Record<string, unknown>): JupyterMessage {
    return newMessage(msgType, content, this.session);
  }

  private onReply(m: JupyterMessage): void {
    const id = m.parent_header.msg_id ?? "";
    const waiter = this.replyWaiters.get(id);
    if (waiter) {
      this.replyWaiters.delete(id);
      waiter(m);
    }
  }

  private async pump(sock: zmq.Dealer | zmq.Subscriber, handle: Listener): Promise<void> {
    try {
      for await (const frames of sock) {
        let msg: JupyterMessage;
        try {
          msg = decodeMessage(frames, this.info.key);
        } catch {
          continue; // unsigned or malformed: not from our kernel, ignore it
        }
        handle(msg);
      }
    } catch {
      // The socket was closed under the loop: that is how the loop ends.
    }
  }

  /** Routes the reply and the IOPub messages of request `msgId` to the given listeners. */
  listen(msgId: string, onReply: Listener, onIopub: Listener): () => void {
    this.replyWaiters.set(msgId, onReply);
    this.iopubListeners.set(msgId, onIopub);
    return () => {
      this.replyWaiters.delete(msgId);
      this.iopubListeners.delete(msgId);
    };
  }

  send(channel: "shell" | "control", msg: JupyterMessage): Promise<void> {
    const sock = channel === "shell" ? this.shell : this.control;
    return sock.send(encodeMessage(msg, this.info.key));
  }

  /** Sends a request and waits for its reply; undefined on timeout or when the kernel dies. */
  request(
    channel: "shell" | "control",
    msg: JupyterMessage,
    timeoutMs: number,
  ): Promise<JupyterMessage | undefined> {
    if (!this.proc.running) return Promise.resolve(undefined);
    return new Promise((resolve) => {
      const done = (m: JupyterMessage | undefined) => {
        clearTimeout(timer);
        stopWatching();
        stopListening();
        resolve(m);
      };
      const timer = setTimeout(() => done(undefined), timeoutMs);
      const stopWatching = this.proc.onExit(() => done(undefined));
      const stopListening = this.listen(msg.header.msg_id, done, () => undefined);
      this.send(channel, msg).catch(() => done(undefined));
    });
  }

  /**
   * Sends kernel_info_request every few hundred milliseconds until a reply and an IOPub status
   * for one of them have arrived: only then is our IOPub subscription known to be live (a SUB
   * socket misses what is published before it is connected), so no output of the first cell
   * can be lost. Requests are repeated because tslab can lose one while it is still binding
   * its sockets (its IOPub send then fails with EBUSY and the request is never answered).
   * Returns the kernel_info_reply content.
   */
  async handshake(timeoutMs: number): Promise<Record<string, unknown>> {
    const proc = this.proc;
    let deadline = performance.now() + timeoutMs;
    let stalledMs = 0;
    const failure = (why: string, timedOut = false) => {
      const tail = proc.tail.trim().split("\n").slice(-15).join("\n");
      return new KernelStartError(`tslab kernel ${why}${tail ? `:\n${tail}` : ""}`, { timedOut });
    };
    const stops: Array<() => void> = [];
    let reply: JupyterMessage | undefined;
    let sawStatus = false;
    let asked = 0;
    let queued = 0;
    // Where a start that never answers got to, on both sides: our requests (ZeroMQ queues them
    // even before the kernel's socket exists, so "taken" only rules out a stuck send), what came
    // back, the kernel's socket files, and its processes (working, or asleep and where).
    const progress = () =>
      `${asked} requests, ${queued} taken by ZeroMQ, ${reply ? "a reply" : "no reply"}, ` +
      `${sawStatus ? "a status" : "no status"} on IOPub${this.socketFiles()}; ` +
      `processes: ${describeProcessTree(proc.pid)}` +
      (stalledMs > 0 ? `; this process itself stood still for ${(stalledMs / 1000).toFixed(1)} s` : ""); // prettier-ignore
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
          const state = progress();
          proc.kill("SIGKILL");
          const seconds = +(timeoutMs / 1000).toFixed(1);
          throw failure(`did not answer within ${seconds} s (${state})`, true);
        }
        const msg = this.newMessage("kernel_info_request", {});
        stops.push(
          this.listen(
            msg.header.msg_id,
            (m) => {
              reply ??= m;
              wake();
            },
            (m) => {
              if (m.header.msg_type === "status") sawStatus = true;
              wake();
            },
          ),
        );
        // A send waits while ZeroMQ cannot queue; never past the deadline.
        asked++;
        const sent = this.send("shell", msg).then(
          () => {
            queued++;
            return true;
          },
          () => false,
        );
        const limit = cancellableSleep(Math.max(0, deadline - performance.now()));
        try {
          await Promise.race([sent, limit.done]);
        } finally {
          limit.cancel();
        }
        const stopWatching = proc.onExit(() => wake());
        const waitStarted = performance.now();
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, HANDSHAKE_ATTEMPT_MS);
          wake = () => {
            clearTimeout(timer);
            resolve();
          };
        });
        stopWatching();
        // A timer seconds late means this process did not run (a VM whose host is busy stalls
        // everything, the kernel too): time in which nothing ran is not the kernel's to lose.
        // Bounded, so that a machine too starved to keep time still gives up at twice the limit.
        const late = performance.now() - waitStarted - HANDSHAKE_ATTEMPT_MS;
        if (late > STALL_MS && stalledMs < timeoutMs) {
          const credit = Math.min(late, timeoutMs - stalledMs);
          stalledMs += credit;
          deadline += credit;
        }
      }
      return reply.content;
    } finally {
      for (const stop of stops) stop();
    }
  }

  /** For ipc: which of the kernel's socket files exist (", socket files: shell iopub"). */
  private socketFiles(): string {
    if (this.info.transport !== "ipc") return "";
    const present = (["shell", "iopub", "control"] as const).filter((c) =>
      existsSync(`${this.info.ip}:${this.info[`${c}_port`]}`),
    );
    return `, socket files: ${present.length > 0 ? present.join(" ") : "none"}`;
  }

  /** Heartbeat: true when the kernel echoes a ping within `timeoutMs`. */
  async ping(timeoutMs: number): Promise<boolean> {
    if (!this.proc.running) return false;
    const sock = new zmq.Request({ linger: 0, receiveTimeout: timeoutMs, sendTimeout: timeoutMs });
    const payload = randomUUID();
    let stopWatching: () => unknown = () => undefined;
    try {
      sock.connect(endpoint(this.info, "hb"));
      const died = new Promise<undefined>((resolve) => {
        stopWatching = this.proc.onExit(() => resolve(undefined));
      });
      await sock.send(payload);
      const echo = await Promise.race([sock.receive(), died]);
      return echo !== undefined && echo[0]?.toString() === payload;
    } catch {
      return false;
    } finally {
      stopWatching();
      sock.close();
    }
  }

  close(): void {
    for (const sock of [this.shell, this.control, this.iopub]) sock.close();
    this.replyWaiters.clear();
    this.iopubListeners.clear();
  }
}
