// The harness under the grader: the recorder a grading kernel (and the trusted reference run)
// switches on before any test runs, and the calls instrumented test cells make (begin, hidden,
// abort, end). A notebook never uses any of it. Nothing here decides a verdict: the grader
// judges what is recorded, in its own process.
import { encodeValue, type Encoded, type TestRecords } from "./checks";
import { thrownRecord } from "./thrown";

/** What a grading kernel sends the grader: a boundary, or one test cell's records. */
export type GradingMessage = { type: "hidden" } | { type: "records"; records: TestRecords };

export interface Recorder {
  seed: number;
  emit: (message: GradingMessage) => void;
  current?: TestRecords;
  hidden: boolean;
  /** The part (`check`) now running, as an index into current.parts. */
  part?: number;
}

let recorder: Recorder | undefined;

/** The recorder when grading, else undefined (a notebook). */
export function activeRecorder(): Recorder | undefined {
  return recorder;
}

export function isRecordOf(e: Encoded | undefined, tag: string): boolean {
  return typeof e === "object" && e !== null && !Array.isArray(e) && "$" in e && e.$ === tag;
}

/** A value that could not be written down: it matches nothing. */
const UNREADABLE = { $: "unreadable" } as unknown as Encoded;

export function encodeOrUnreadable(value: unknown): { value: Encoded; problem?: string } {
  try {
    return { value: encodeValue(value) };
  } catch (e) {
    return { value: UNREADABLE, problem: e instanceof Error ? e.message : String(e) };
  }
}

/**
 * The grader's switch (called in the grading kernel before any student code, and in the trusted
 * reference run). Not for tests or students: a notebook never calls it.
 */
export const grading = Object.freeze({
  /** Records every check from now on; `emit` sends what a test cell recorded. */
  start(options: { seed: number; emit: (message: GradingMessage) => void }): void {
    recorder = { seed: options.seed >>> 0, emit: options.emit, hidden: false };
  },
  /** Back to a notebook's behaviour (checks throw again). */
  stop(): void {
    recorder = undefined;
  },
  /** The seed hidden checks draw their inputs from, or undefined when not grading. */
  seed(): number | undefined {
    return recorder?.seed;
  },
  /** A test cell starts. */
  begin(test: string): void {
    if (!recorder) return;
    recorder.current = { test, checks: [] };
    recorder.hidden = false;
    recorder.part = undefined;
  },
  /** A hidden-tests block starts (true) or ends (false). */
  hidden(on: boolean): void {
    if (!recorder) return;
    recorder.hidden = on;
    if (on) recorder.emit({ type: "hidden" });
  },
  /** The test threw: the checks so far still count, the rest did not run. */
  abort(thrown: unknown): void {
    const current = recorder?.current;
    if (!recorder || !current || current.aborted) return;
    const t = thrownRecord(true, thrown);
    current.aborted = {
      name: t.name ?? "a thrown value",
      message: t.message ?? "",
      hidden: recorder.hidden,
    };
  },
  /** The test cell is over: its records go to the grader. */
  end(): void {
    if (!recorder?.current) return;
    const records = recorder.current;
    recorder.current = undefined;
    recorder.hidden = false;
    recorder.part = undefined;
    recorder.emit({ type: "records", records });
  },
});
