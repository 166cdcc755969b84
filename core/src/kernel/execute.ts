// One execute_request, from send to a CellRun. A cell is over when its reply has arrived and
// IOPub has said "idle" (everything it printed has been published by then). Whatever the cell
// does, the promise settles: at the deadline the kernel is interrupted (SIGINT, which tslab
// turns into an interrupt, and vm's breakOnSigint makes even a busy loop stop), and killed if
// it does not come back; if the process exits, the cell is reported as died at once.
import type { Output } from "../notebook/types";
import type { KernelChannels } from "./channels";
import type { CaptureOptions, Captured, OutputCollector } from "./outputs";
import type { KernelProcess } from "./process";
import { deriveError } from "./stderr-error";
import type { JupyterMessage } from "./wire";

export interface ExecuteOptions {
  timeoutMs?: number;
  outputLimitBytes?: number;
  /** Display data of this mime type is handed back in `captured`, not kept as output. */
  capture?: CaptureOptions;
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
  /**
   * The last 16 KiB of what a failed cell wrote to stderr, kept apart from the output budget
   * (the grader finds its failure report there).
   */
  stderrTail?: string;
  truncated: boolean;
  reason?: string;
  /** Side-channel data (ExecuteOptions.capture), in arrival order. */
  captured?: Captured[];
  /** True when side-channel data went over its budget and was dropped. */
  captureTruncated?: boolean;
}

/** If the reply came but the idle status did not (it should not happen), stop waiting. */
const IDLE_GRACE_MS = 1000;
/** How long a SIGKILLed kernel may take to be reported as exited before we stop waiting. */
const KILL_WAIT_MS = 10_000;
/** Marker reason: the kernel refused the request without running it. */
export const ABORTED = "aborted";

export interface ExecuteContext {
  channels: KernelChannels;
  proc: KernelProcess;
  collector: OutputCollector;
  /** performance.now() when the caller's execute() began (durations count from there). */
  started: number;
  deadline: number | undefined;
}

export function executeOnce(
  ctx: ExecuteContext,
  code: string,
  opts: ExecuteOptions,
): Promise<CellRun> {
  const { channels, proc, collector, started, deadline } = ctx;
  const msg = channels.newMessage("execute_request", {
    code,
    silent: false,
    store_history: true,
    user_expressions: {},
    allow_stdin: false,
    stop_on_error: false,
  });
  return new Promise<CellRun>((resolve) => {
    let reply: JupyterMessage | undefined;
    let idle = false;
    let graceOver = false;
    let timedOut = false;
    let settled = false;
    const timers: NodeJS.Timeout[] = [];
    const timeoutReason = () => `timed out after ${+((opts.timeoutMs ?? 0) / 1000).toFixed(1)} s`;

    const finish = (status: CellStatus | "abort", reason?: string) => {
      if (settled) return;
      settled = true;
      for (const t of timers) clearTimeout(t);
      stopWatching();
      stopListening();
      resolve(buildRun(status, reason, reply, collector, started));
    };
    const maybeDone = () => {
      if (!reply || (!idle && !graceOver)) return;
      if (timedOut) return finish("timeout", timeoutReason());
      const status = reply.content.status;
      finish(status === "ok" ? "ok" : status === "abort" ? "abort" : "error");
    };

    const onReply = (m: JupyterMessage) => {
      reply = m;
      timers.push(
        setTimeout(() => {
          graceOver = true;
          maybeDone();
        }, IDLE_GRACE_MS),
      );
      maybeDone();
    };
    const onIopub = (m: JupyterMessage) => {
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
    };
    const stopListening = channels.listen(msg.header.msg_id, onReply, onIopub);
    const stopWatching = proc.onExit(() =>
      finish(
        timedOut ? "timeout" : "died",
        timedOut ? `${timeoutReason()}; ${proc.describeExit()}` : proc.describeExit(),
      ),
    );
    if (deadline !== undefined) {
      const interrupt = () => {
        timedOut = true;
        proc.kill("SIGINT");
        const grace = opts.interruptGraceMs ?? 2000;
        const kill = () =>
          proc.kill("SIGKILL", `${timeoutReason()}; the kernel did not stop, so it was killed`);
        timers.push(setTimeout(kill, grace));
        // Last resort: if even the exit of a killed process is never reported, end the cell.
        const giveUp = () =>
          finish("timeout", `${timeoutReason()}; the kernel did not exit after SIGKILL`);
        timers.push(setTimeout(giveUp, grace + KILL_WAIT_MS));
      };
      timers.push(setTimeout(interrupt, Math.max(0, deadline - performance.now())));
    }
    channels.send("shell", msg).catch(() => proc.kill("SIGKILL", "kernel connection failed"));
  });
}

function buildRun(
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
  if (collector.captured.length > 0) run.captured = collector.captured;
  if (collector.captureTruncated) run.captureTruncated = true;
  if (run.status === "error" && status !== "abort") {
    run.error = deriveError(collector.stderr);
    run.stderrTail = collector.stderr;
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

export function notRun(reason: string): CellRun {
  return {
    status: "not-run",
    outputs: [],
    executionCount: null,
    durationMs: 0,
    truncated: false,
    reason,
  };
}
