// Collects one cell's IOPub output into nbformat outputs, under a byte budget. Consecutive
// stream messages of the same name are merged (as Jupyter front ends do), so a cell that prints
// 10 000 lines becomes one output, not 10 000. Past the budget we stop keeping output but keep
// counting, and the cell ends with a note saying how much was dropped. The last part of stderr
// is always kept apart (uncapped by the budget) because it explains why a cell failed.
import type { Output } from "../notebook/types";

export const DEFAULT_OUTPUT_LIMIT_BYTES = 1024 * 1024;
const STDERR_TAIL_BYTES = 16 * 1024;

export function formatBytes(n: number): string {
  if (n >= 1024 * 1024) return `${+(n / (1024 * 1024)).toFixed(1)} MB`;
  if (n >= 1024) return `${+(n / 1024).toFixed(1)} KB`;
  return `${n} bytes`;
}

/** Cuts a string to at most `maxBytes` of UTF-8 without splitting a character. */
function cutUtf8(text: string, maxBytes: number): string {
  const buf = Buffer.from(text, "utf8");
  if (buf.length <= maxBytes) return text;
  let end = maxBytes;
  // Back up to the start of a UTF-8 sequence (continuation bytes are 10xxxxxx).
  while (end > 0 && (buf[end] & 0xc0) === 0x80) end--;
  return buf.subarray(0, end).toString("utf8");
}

/**
 * A side channel: display_data carrying this mime type is not an output but data for the caller
 * (the grader's records). It has a budget of its own, and it seals the stream before it, so
 * `at` (the number of outputs before it) says exactly which output came before and which after.
 */
export interface CaptureOptions {
  mime: string;
  limitBytes: number;
}

export interface Captured {
  /** How many outputs the cell had produced when this arrived. */
  at: number;
  data: unknown;
}

export class OutputCollector {
  readonly outputs: Output[] = [];
  readonly captured: Captured[] = [];
  capturedBytes = 0;
  /** Set when captured data went over its budget (the rest was dropped). */
  captureTruncated = false;
  keptBytes = 0;
  droppedBytes = 0;
  truncated = false;
  private stderrTail = "";
  /** display_id → index in outputs, for update_display_data. */
  private displays = new Map<string, number>();

  constructor(
    readonly limitBytes: number = DEFAULT_OUTPUT_LIMIT_BYTES,
    private readonly capture?: CaptureOptions,
  ) {}

  /** Takes a side-channel message, if this is one; true when it was. */
  private captureDisplay(data: Record<string, unknown>): boolean {
    const mime = this.capture?.mime;
    if (mime === undefined || !Object.hasOwn(data, mime)) return false;
    const payload = data[mime];
    const size = Buffer.byteLength(JSON.stringify(payload) ?? "");
    if (this.capturedBytes + size > (this.capture?.limitBytes ?? 0)) {
      this.captureTruncated = true;
      return true;
    }
    this.capturedBytes += size;
    this.captured.push({ at: this.outputs.length, data: payload });
    this.sealed = true;
    return true;
  }

  /** After a capture, the next stream text starts a new output (see CaptureOptions). */
  private sealed = false;

  /** Returns how many of `size` bytes may be kept, and books the rest as dropped. */
  private admit(size: number): number {
    const room = Math.max(0, this.limitBytes - this.keptBytes);
    const kept = Math.min(room, size);
    if (kept < size) {
      this.truncated = true;
      this.droppedBytes += size - kept;
    }
    this.keptBytes += kept;
    return kept;
  }

  stream(name: unknown, text: unknown): void {
    if (typeof text !== "string") return;
    const stream = name === "stderr" ? "stderr" : "stdout";
    if (stream === "stderr") {
      this.stderrTail = (this.stderrTail + text).slice(-STDERR_TAIL_BYTES);
    }
    const size = Buffer.byteLength(text, "utf8");
    const kept = this.admit(size);
    if (kept === 0) return;
    const piece = kept === size ? text : cutUtf8(text, kept);
    const last = this.sealed ? undefined : this.outputs[this.outputs.length - 1];
    this.sealed = false;
    if (last && last.output_type === "stream" && last.name === stream) last.text += piece;
    else this.outputs.push({ output_type: "stream", name: stream, text: piece });
  }

  display(content: Record<string, unknown>, kind: "display_data" | "execute_result"): void {
    const data = isRecord(content.data) ? content.data : {};
    if (kind === "display_data" && this.captureDisplay(data)) return;
    const metadata = isRecord(content.metadata) ? content.metadata : {};
    const size =
      Buffer.byteLength(JSON.stringify(data)) + Buffer.byteLength(JSON.stringify(metadata));
    // Rich output is all or nothing: half an SVG is worse than none.
    if (this.keptBytes + size > this.limitBytes) {
      this.truncated = true;
      this.droppedBytes += size;
      return;
    }
    this.keptBytes += size;
    if (kind === "execute_result") {
      const count = typeof content.execution_count === "number" ? content.execution_count : null;
      this.outputs.push({ output_type: "execute_result", execution_count: count, data, metadata });
    } else {
      this.outputs.push({ output_type: "display_data", data, metadata });
    }
    const transient = isRecord(content.transient) ? content.transient : {};
    if (typeof transient.display_id === "string") {
      this.displays.set(transient.display_id, this.outputs.length - 1);
    }
  }

  /** update_display_data replaces an earlier display of this cell in place. */
  updateDisplay(content: Record<string, unknown>): void {
    const transient = isRecord(content.transient) ? content.transient : {};
    const at =
      typeof transient.display_id === "string"
        ? this.displays.get(transient.display_id)
        : undefined;
    const target = at === undefined ? undefined : this.outputs[at];
    if (!target || target.output_type !== "display_data") return;
    const data = isRecord(content.data) ? content.data : {};
    const size = Buffer.byteLength(JSON.stringify(data));
    if (this.keptBytes + size > this.limitBytes) {
      this.truncated = true;
      this.droppedBytes += size;
      return;
    }
    this.keptBytes += size;
    target.data = data;
    if (isRecord(content.metadata)) target.metadata = content.metadata;
  }

  /** An `error` message (tslab sends none, other kernels do). */
  error(content: Record<string, unknown>): void {
    this.outputs.push({
      output_type: "error",
      ename: String(content.ename ?? "Error"),
      evalue: String(content.evalue ?? ""),
      traceback: Array.isArray(content.traceback) ? content.traceback.map(String) : [],
    });
  }

  get stderr(): string {
    return this.stderrTail;
  }

  hasErrorOutput(): boolean {
    return this.outputs.some((o) => o.output_type === "error");
  }

  /** Adds the note that says output was cut (call once, when the cell is over). */
  noteTruncation(): string | undefined {
    if (!this.truncated) return undefined;
    const reason = `output cut at ${formatBytes(this.limitBytes)}`;
    this.outputs.push({
      output_type: "stream",
      name: "stderr",
      text: `\n[tito: ${reason}; ${formatBytes(this.droppedBytes)} more not shown]\n`,
    });
    return reason;
  }
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}
