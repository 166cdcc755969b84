// The grader's core: one manifest and one submission in, one result out. Stateless, so the
// batch command, the Gradescope bundle, the audit and the benchmark all call exactly this, and
// a job queue can run it one submission per container.
//
// Steps: read the submission leniently; rebuild the notebook from the manifest (only solution
// cells come from the student); get a fresh prepared kernel (sandboxed, preamble run); run the
// instrumented cells; score each grade cell from the kernel's reply status alone; strip
// hidden-test text from everything the student will see.
import type { GradingManifest } from "@tinytorch-ts/core";
import type { CellRun } from "@tinytorch-ts/core/kernel";
import { runCells } from "@tinytorch-ts/core/run";
import { analyseCell } from "./cell-names";
import { instrument, type KernelCell } from "./instrument";
import {
  DEFAULT_LIMITS,
  prepareKernel,
  type KernelLimits,
  type PreparedKernel,
  type SessionOptions,
} from "./kernel-session";
import { reconstruct } from "./reconstruct";
import { failureReason } from "./failure-reason";
import { clipText, hiddenFragments, redact } from "./sanitize";
import { parseSubmission, sha256Hex } from "./submission";
import type { SubmissionResult, TestResult, TestStatus } from "./types";

export interface GradeOptions extends SessionOptions {
  student?: string;
  /** sha256 of the manifest file, when the caller read it from disk. */
  manifestHash?: string;
  /**
   * Hands out a prepared kernel (a batch prepares them ahead). Called only when the submission
   * is runnable; the grader disposes of the kernel after use. Default: prepare one now.
   */
  acquireKernel?: () => Promise<PreparedKernel>;
  /** Called after each executed cell (progress, debugging). */
  onCell?: (cell: KernelCell, run: CellRun) => void;
}

/** Characters of output and message kept per test in feedback and results.json. */
const FEEDBACK_OUTPUT_CHARS = 8000;
const FEEDBACK_MESSAGE_CHARS = 600;

function testName(source: string, gradeId: string): string {
  const fn = analyseCell(source).functions[0];
  return fn ? `${gradeId} (${fn})` : gradeId;
}

function stdoutOf(run: CellRun): string {
  let text = "";
  for (const o of run.outputs) {
    if (o.output_type === "stream" && o.name === "stdout") text += o.text;
    else if (o.output_type === "display_data" && typeof o.data["text/plain"] === "string") {
      text += `${o.data["text/plain"]}\n`;
    }
  }
  if (run.truncated) text += "\n… (output limit reached; the rest was dropped)";
  return text;
}

/**
 * The result recorded when grading a submission failed outside the student's control (the
 * grader or the machine): every test 0 and not run, with the reason. A batch records it like
 * any other attempt, so a rerun moves on instead of failing at the same place again.
 */
export function failedAttempt(
  manifest: GradingManifest,
  submissionText: string,
  reason: string,
  opts: { student?: string; manifestHash?: string } = {},
): SubmissionResult {
  const now = new Date().toISOString();
  return {
    module: manifest.module,
    ...(opts.student !== undefined ? { student: opts.student } : {}),
    submissionHash: sha256Hex(submissionText),
    manifestHash: opts.manifestHash ?? sha256Hex(JSON.stringify(manifest)),
    status: "error",
    reason,
    score: 0,
    maxScore: manifest.totalPoints,
    tests: zeroTests(manifest, "not-run", reason),
    tampering: [],
    studentCells: [],
    isolation: [],
    startedAt: now,
    finishedAt: now,
    executionTimeMs: 0,
  };
}

function zeroTests(manifest: GradingManifest, status: TestStatus, message: string): TestResult[] {
  return manifest.cells
    .filter((c) => c.role === "grade")
    .map((c) => ({
      gradeId: c.grade_id ?? c.id,
      name: testName(c.studentSource, c.grade_id ?? c.id),
      cellIndex: c.index,
      score: 0,
      maxScore: c.points ?? 0,
      status,
      output: "",
      message,
    }));
}

/** Names a cell in the reasons given for later ones (`the kernel had stopped during …`). */
function describeCell(cell: KernelCell): string {
  const p = cell.planned;
  if (p.role === "grade") return `test ${p.gradeId}`;
  return p.gradeId ? `cell "${p.gradeId}"` : `cell ${p.index + 1}`;
}

/** Runs the cells in core's loop: a failing cell never stops later ones (a dead kernel does). */
async function runGradingCells(
  prepared: PreparedKernel,
  cells: KernelCell[],
  limits: KernelLimits,
  onCell: GradeOptions["onCell"],
): Promise<Map<number, CellRun>> {
  const runs = new Map<number, CellRun>();
  const items = cells.map((cell) => ({ source: cell.code, describe: describeCell(cell), cell }));
  await runCells(prepared.kernel, items, {
    policy: "keep-going",
    cellTimeoutMs: limits.cellTimeoutMs,
    notebookTimeoutMs: limits.notebookTimeoutMs,
    outputLimitBytes: limits.outputLimitBytes,
    onCell: ({ cell }, run) => {
      onCell?.(cell, run);
      runs.set(cell.planned.index, run);
    },
  });
  return runs;
}

export async function gradeSubmission(
  manifest: GradingManifest,
  submissionText: string,
  opts: GradeOptions = {},
): Promise<SubmissionResult> {
  const started = new Date();
  const result: SubmissionResult = {
    module: manifest.module,
    ...(opts.student !== undefined ? { student: opts.student } : {}),
    submissionHash: sha256Hex(submissionText),
    manifestHash: opts.manifestHash ?? sha256Hex(JSON.stringify(manifest)),
    status: "graded",
    score: 0,
    maxScore: manifest.totalPoints,
    tests: [],
    tampering: [],
    studentCells: [],
    isolation: [],
    startedAt: started.toISOString(),
    finishedAt: started.toISOString(),
    executionTimeMs: 0,
  };
  const finish = () => {
    const end = new Date();
    result.finishedAt = end.toISOString();
    result.executionTimeMs = end.getTime() - started.getTime();
    result.score = result.tests.reduce((s, t) => s + t.score, 0);
    return result;
  };
  const reject = (reason: string) => {
    result.status = "rejected";
    result.reason = reason;
    result.tests = zeroTests(manifest, "not-run", `not graded: ${reason}`);
    return finish();
  };

  const limits = { ...DEFAULT_LIMITS, ...definedLimits(opts) };
  let prepared: PreparedKernel | undefined;
  try {
    const parsed = parseSubmission(submissionText);
    if (!parsed.ok) return reject(parsed.reason);
    const rebuilt = reconstruct(manifest, parsed.cells);
    result.tampering = rebuilt.tampering;
    result.studentCells = rebuilt.studentCells;
    if (rebuilt.wrongModule) return reject(rebuilt.wrongModule);
    prepared = await (opts.acquireKernel ?? (() => prepareKernel(manifest, opts)))();
    result.isolation = prepared.isolation;
    const cells = instrument(manifest, rebuilt.cells, prepared.keys);
    const runs = await runGradingCells(prepared, cells, limits, opts.onCell);
    const hidden = hiddenFragments(manifest);
    for (const cell of cells) {
      const run = runs.get(cell.planned.index);
      if (cell.planned.role === "grade" && run) result.tests.push(toTest(cell, run, hidden));
    }
  } catch (e) {
    const why = e instanceof Error ? e.message.split("\n")[0] : String(e);
    result.status = "error";
    result.reason = `the grader could not run this notebook: ${why}`;
    result.tests = zeroTests(manifest, "not-run", result.reason);
  } finally {
    // dispose() never rejects; the catch is for an acquireKernel given by a caller.
    await prepared?.dispose().catch(() => undefined);
  }
  return finish();

  function toTest(cell: KernelCell, run: CellRun, hidden: string[]): TestResult {
    const p = cell.planned;
    const gradeId = p.gradeId ?? `cell-${p.index}`;
    const visible = manifest.cells[p.index]?.studentSource ?? "";
    const status: TestStatus =
      run.status === "ok" ? "passed" : run.status === "error" ? "failed" : run.status;
    const maxScore = p.points ?? 0;
    const test: TestResult = {
      gradeId,
      name: testName(visible, gradeId),
      cellIndex: p.index,
      // The verdict: the kernel's reply status for this cell, nothing else.
      score: status === "passed" ? maxScore : 0,
      maxScore,
      status,
      output: clipText(redact(stdoutOf(run), hidden), FEEDBACK_OUTPUT_CHARS),
    };
    if (status !== "passed") {
      const why = failureReason(run, prepared?.keys.reportKey ?? "");
      test.message = clipText(redact(why, hidden), FEEDBACK_MESSAGE_CHARS);
    }
    return test;
  }
}

function definedLimits(opts: Partial<KernelLimits>): Partial<KernelLimits> {
  const out: Partial<KernelLimits> = {};
  for (const key of Object.keys(DEFAULT_LIMITS) as Array<keyof KernelLimits>) {
    if (opts[key] !== undefined) out[key] = opts[key];
  }
  return out;
}
