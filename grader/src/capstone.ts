// The capstone (module 20): its events are earned by a model file that the grader measures
// itself. The file is data (an architecture over the course's layers, and the weights), found
// beside the notebook in the student's folder and read by the folder's rules (lstat, nothing
// followed, one link, a size cap). It is measured by the reference package, with module 19's
// harness, in a Node process of the grader's own (capstone-runner.cjs): no code of the student
// runs there, and nothing the student claims (in the notebook, in any JSON) is read. The
// kernel, which is assumed compromised, never sees the file.
import { createHash, randomInt } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { runProcess, type GradingManifest } from "@tinytorch-ts/core";
import type * as Capstone from "tinytorch-ts/capstone";
import { findCompanionFile, readSubmissionBytes, type Submission } from "./submissions-folder";
import type { SubmissionResult } from "./types";

export type CapstoneRules = typeof Capstone;
export type CapstoneMeasurement = Capstone.CapstoneMeasurement;
type Interval = Capstone.Interval;

/** The package path of module 20: a module that exports here is graded as a capstone. */
export const CAPSTONE_EXPORT_PATH = "capstone";

export function isCapstone(manifest: GradingManifest): boolean {
  return manifest.exportPath === CAPSTONE_EXPORT_PATH;
}

let rules: Promise<CapstoneRules> | undefined;

/**
 * The course's rules (events, points, the file's name and cap, the ranking), from the
 * reference package: loaded once, and only when a capstone needs them.
 */
export function capstoneRules(): Promise<CapstoneRules> {
  return (rules ??= import("tinytorch-ts/capstone"));
}

export interface CapstoneOptions {
  /** Model files over this size are refused unread (default: the module's cap, 8 MiB). */
  maxModelBytes?: number;
  /** The longest one measurement may take (default 600 s). */
  timeoutMs?: number;
  /** The measuring process's heap (default 1024 MiB). */
  memoryMb?: number;
  /** Single-digit queries per model, and the rounds they come in (the module's defaults). */
  queries?: number;
  rounds?: number;
  /** Every stride-th test digit (the kit's own tests only; real grading measures them all). */
  testStride?: number;
  /** The perturbation's seed (the kit's own tests only; real grading draws one per submission). */
  seed?: number;
}

/** One event's verdict, as the gradebook and the feedback keep it. */
export interface CapstoneEventResult {
  event: string;
  title: string;
  met: boolean;
  points: number;
  maxPoints: number;
  reason: string;
  /** The figure the event ranks by; absent when nothing was measured. */
  objective?: Interval;
}

export type CapstoneStatus = "measured" | "invalid" | "missing" | "error" | "not-measured";

/** What the grader recorded of a submission's model file. */
export interface CapstoneRecord {
  status: CapstoneStatus;
  reason?: string;
  modelFile: string;
  modelSha256?: string;
  modelBytes?: number;
  /** The seed of the perturbed test copy, drawn by the grader for this submission. */
  seed?: number;
  measurement?: CapstoneMeasurement;
  events: CapstoneEventResult[];
}

/** A submission's model file: its bytes, or why there are none. */
export interface CapstoneModelFile {
  name: string;
  bytes?: Buffer;
  problem?: string;
}

/** The model file beside the notebook, read by the submissions folder's rules. */
export function readCapstoneModel(
  sub: Submission,
  name: string,
  maxBytes: number,
): CapstoneModelFile {
  if (sub.folder === undefined) {
    return { name, problem: `a lone notebook has no model file: submit a folder with the notebook and ${name}` }; // prettier-ignore
  }
  const found = findCompanionFile(sub.folder, name, maxBytes);
  if (found.file === undefined) return { name, problem: found.problem ?? `no ${name}` };
  const read = readSubmissionBytes(found.file, maxBytes, found.identity, name);
  return read.ok ? { name, bytes: read.bytes } : { name, problem: read.reason };
}

/** A capstone attempt is its notebook and its model: a new model alone is a new attempt. */
export function capstoneHash(notebookText: string, model: CapstoneModelFile): string {
  const h = createHash("sha256").update(notebookText, "utf8").update("\0capstone model\0");
  if (model.bytes) h.update(model.bytes);
  else h.update(`none: ${model.problem ?? ""}`, "utf8");
  return h.digest("hex");
}

function unmeasured(
  r: CapstoneRules,
  model: CapstoneModelFile,
  status: CapstoneStatus,
  reason: string,
): CapstoneRecord {
  // prettier-ignore
  return {
    status,
    reason,
    modelFile: model.name,
    ...(model.bytes ? { modelSha256: createHash("sha256").update(model.bytes).digest("hex"), modelBytes: model.bytes.length } : {}), // prettier-ignore
    events: r.CAPSTONE_EVENTS.map((e) => ({ event: e.id, title: e.title, met: false, points: 0, maxPoints: e.points, reason })), // prettier-ignore
  };
}

type RunnerResult =
  | { ok: true; measurement: CapstoneMeasurement; events: Capstone.EventOutcome[] }
  | { ok: false; problems?: string[]; error?: string };

/**
 * Measures a model file in a process of the grader's own, with the reference package; never
 * throws: a file that does not decode, a crash or a timeout becomes the record's status.
 */
export async function measureCapstone(
  model: CapstoneModelFile,
  opts: CapstoneOptions = {},
): Promise<CapstoneRecord> {
  // prettier-ignore
  const r = await capstoneRules();
  if (!model.bytes) return unmeasured(r, model, "missing", model.problem ?? `no ${model.name}`);
  const seed = opts.seed ?? randomInt(0, 2 ** 31 - 1);
  const timeoutMs = opts.timeoutMs ?? 600_000;
  const dir = mkdtempSync(join(tmpdir(), "tito-capstone-"));
  const resultPath = join(dir, "result.json");
  const base = { ...unmeasured(r, model, "error", ""), seed };
  try {
    const options = { queries: opts.queries, rounds: opts.rounds, testStride: opts.testStride };
    const run = await runProcess(
      process.execPath,
      [`--max-old-space-size=${opts.memoryMb ?? 1024}`, join(__dirname, "capstone-runner.cjs")],
      {
        // prettier-ignore
        timeoutMs,
        cwd: dir,
        env: { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: dir, TMPDIR: dir, LANG: "C.UTF-8" },
        input: JSON.stringify({ entry: require.resolve("tinytorch-ts/capstone"), model: model.bytes.toString("base64"), file: model.name, seed, options, resultPath }), // prettier-ignore
      },
    );
    if (run.timedOut) return { ...base, ...why("error", `the measurement took longer than ${timeoutMs / 1000} s`, base) }; // prettier-ignore
    let result: RunnerResult;
    try {
      result = JSON.parse(readFileSync(resultPath, "utf8")) as RunnerResult;
    } catch {
      return { ...base, ...why("error", `the measurement ended without a result (${run.error ?? `exit ${run.code}, signal ${run.signal}`})`, base) }; // prettier-ignore
    }
    if (!result.ok) {
      const reason = result.problems ? `the model file cannot be read: ${result.problems.join("; ")}` : `the measurement failed: ${result.error ?? "?"}`; // prettier-ignore
      return { ...base, ...why(result.problems ? "invalid" : "error", reason, base) };
    }
    const events = result.events.map((e) => ({ event: e.event, title: e.title, met: e.met, points: e.points, maxPoints: e.maxPoints, reason: `measured by the grader: ${e.reason}`, objective: e.objective })); // prettier-ignore
    return {
      ...base,
      status: "measured",
      reason: undefined,
      measurement: result.measurement,
      events,
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The record's status and reason, with every event's reason set to it. */
function why(
  status: CapstoneStatus,
  reason: string,
  base: CapstoneRecord,
): Pick<CapstoneRecord, "status" | "reason" | "events"> {
  // prettier-ignore
  return { status, reason, events: base.events.map((e) => ({ ...e, reason })) };
}

/**
 * Adds the events to a graded result: one test entry per event (its points when its constraint
 * was met by the grader's measurement), and the record itself for the gradebook.
 */
export function addCapstoneEvents(result: SubmissionResult, record: CapstoneRecord): void {
  const first = result.tests.reduce((n, t) => Math.max(n, t.cellIndex + 1), 0);
  record.events.forEach((e, i) => {
    result.tests.push({
      gradeId: `capstone-${e.event}`,
      name: `capstone event: ${e.title}`,
      cellIndex: first + i,
      score: e.points,
      maxScore: e.maxPoints,
      status: e.met ? "passed" : "failed",
      output: "",
      message: e.reason,
    });
    result.score += e.points;
    result.maxScore += e.maxPoints;
  });
  result.capstone = record;
}

/** The measurements of one batch run one at a time, so that two never share the cores. */
let queue: Promise<unknown> = Promise.resolve();

export function measureInTurn(
  model: CapstoneModelFile,
  opts: CapstoneOptions,
): Promise<CapstoneRecord> {
  const next = queue.then(() => measureCapstone(model, opts));
  queue = next.catch(() => undefined);
  return next;
}

/** A record for a submission whose notebook was not graded: its model is not measured either. */
export async function notMeasured(
  model: CapstoneModelFile,
  reason: string,
): Promise<CapstoneRecord> {
  return unmeasured(await capstoneRules(), model, "not-measured", reason);
}
