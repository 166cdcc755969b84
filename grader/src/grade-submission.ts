// The grader's core: one manifest and one submission in, one result out. Stateless, so the
// batch command, the Gradescope bundle, the audit and the benchmark all call exactly this, and
// a job queue can run it one submission per container.
//
// Grading is a list of named stages (GRADING_STAGES), in the order they run:
//   read        the submission, leniently (a file that is not a notebook is rejected)
//   reconstruct the notebook from the manifest: only solution cells come from the student
//   instrument  the cells the kernel runs: tests without their expected values (instrument.ts)
//   execute     the student's kernel (sandboxed, recording under a fresh seed) and, at the same
//               time, the trusted reference run on the same seed (reference-run.ts)
//   score       each test from the two records, in this process (score.ts); what the student
//               sees is written by the grader, with nothing of the hidden checks' values
// A stage ends the job early by throwing a Rejection; whatever happens, one SubmissionResult
// comes out.
import type { GradingManifest } from "@tinytorch-ts/core";
import type { CellRun } from "@tinytorch-ts/core/kernel";
import { runCells } from "@tinytorch-ts/core/run";
import { analyseCell } from "./cell-names";
import { GRADING_MIME, instrument, precompiledTestCell, type KernelCell } from "./instrument";
import {
  DEFAULT_LIMITS,
  prepareKernel,
  type KernelLimits,
  type PreparedKernel,
  type SessionOptions,
} from "./kernel-session";
import { reconstruct, type PlannedCell, type Reconstruction } from "./reconstruct";
import type { CompiledProgram } from "./reference-program";
import { ReferenceRunner, type ReferenceRecords } from "./reference-run";
import { clipText, hiddenFragments, redact } from "./sanitize";
import { makeScratchRoot, removeQuietly } from "./scratch";
import { gradingMessages, judgeTest, readRecords, referenceFailures } from "./score";
import { stripControl } from "./names";
import { parseSubmission, sha256Hex, type SubmittedCell } from "./submission";
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
  /** The module's reference runner (a batch opens one for all); default: one for this call. */
  reference?: () => Promise<ReferenceRunner>;
  /** Called after each executed cell (progress, debugging). */
  onCell?: (cell: KernelCell, run: CellRun) => void;
}

/** Characters of output and message kept per test in feedback and results.json. */
const FEEDBACK_OUTPUT_CHARS = 8000;
const FEEDBACK_MESSAGE_CHARS = 600;
/** Records a test cell may send: far above any honest test, a bound for a hostile kernel. */
const RECORDS_LIMIT_BYTES = 64 * 1024 * 1024;

/** A test's display name: its grade_id, with the `testUnit…` function it calls. */
export function testName(source: string, gradeId: string): string {
  const fn = analyseCell(source).functions[0];
  return fn ? `${gradeId} (${fn})` : gradeId;
}

/** What a test printed before its hidden checks began (the rest is never shown). */
function visibleStdout(run: CellRun): string {
  const hiddenAt = gradingMessages(run).find((m) => m.message.type === "hidden")?.at;
  let text = "";
  run.outputs.forEach((o, i) => {
    if (hiddenAt !== undefined && i >= hiddenAt) return;
    if (o.output_type === "stream" && o.name === "stdout") text += o.text;
    else if (o.output_type === "display_data" && typeof o.data["text/plain"] === "string") {
      text += `${o.data["text/plain"]}\n`;
    }
  });
  if (hiddenAt !== undefined && hiddenAt < run.outputs.length) {
    text += "\n… (what was printed during the hidden checks is not shown)";
  } else if (run.truncated) {
    text += "\n… (output limit reached; the rest was dropped)";
  }
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
    manualMaxScore: manualPoints(manifest),
    tests: zeroTests(manifest, "not-run", reason),
    tampering: [],
    studentCells: [],
    isolation: [],
    startedAt: now,
    finishedAt: now,
    executionTimeMs: 0,
  };
}

/** The points of a module's answers graded by hand. */
function manualPoints(manifest: GradingManifest): number {
  return manifest.cells.reduce((n, c) => n + (c.role === "manual" ? (c.points ?? 0) : 0), 0);
}

function zeroTests(manifest: GradingManifest, status: TestStatus, message: string): TestResult[] {
  return manifest.cells
    .filter((c) => c.role === "grade" || c.role === "manual")
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

/** Everything one grading job knows, filled in stage by stage. */
interface Job {
  manifest: GradingManifest;
  text: string;
  opts: GradeOptions;
  limits: KernelLimits;
  result: SubmissionResult;
  submitted?: SubmittedCell[];
  rebuilt?: Reconstruction;
  cells?: KernelCell[];
  prepared?: PreparedKernel;
  runs?: Map<number, CellRun>;
  reference?: ReferenceRecords;
}

/** Thrown by a stage when the submission cannot be graded (the reason is the student's to act on). */
class Rejection extends Error {}

async function read(job: Job): Promise<void> {
  const parsed = parseSubmission(job.text);
  if (!parsed.ok) throw new Rejection(parsed.reason);
  job.submitted = parsed.cells;
}

async function rebuild(job: Job): Promise<void> {
  const rebuilt = reconstruct(job.manifest, job.submitted ?? []);
  job.rebuilt = rebuilt;
  job.result.tampering = rebuilt.tampering;
  job.result.studentCells = rebuilt.studentCells;
  if (rebuilt.wrongModule) throw new Rejection(rebuilt.wrongModule);
}

async function instrumentCells(job: Job): Promise<void> {
  job.cells = instrument(job.manifest, job.rebuilt?.cells ?? []);
}

async function execute(job: Job): Promise<void> {
  const { manifest, opts, limits } = job;
  const ownRunner = opts.reference === undefined;
  let scratchRoot: string | undefined;
  let runner: ReferenceRunner | undefined;
  try {
    if (opts.reference) runner = await opts.reference();
    else {
      scratchRoot = opts.scratchRoot ?? makeScratchRoot();
      runner = await ReferenceRunner.open(manifest, { ...opts, scratchRoot, timeoutMs: limits.notebookTimeoutMs }); // prettier-ignore
    }
    const prepared = await (opts.acquireKernel ?? (() => prepareKernel(manifest, opts)))();
    job.prepared = prepared;
    job.result.isolation = prepared.isolation;
    // The reference runs while the student's kernel does: it needs only the seed.
    const reference = runner.run(prepared.seed);
    reference.catch(() => undefined);
    const cells = withCompiledTests(job.cells ?? [], runner.program);
    job.runs = await runKernelCells(prepared, cells, limits, opts.onCell);
    job.reference = await reference;
  } finally {
    if (ownRunner) await runner?.close();
    if (ownRunner && scratchRoot !== undefined && opts.scratchRoot === undefined) {
      await removeQuietly(scratchRoot);
    }
  }
}

/** Test cells run as the reference compile pass compiled them (see precompiledTestCell). */
function withCompiledTests(cells: KernelCell[], program: CompiledProgram): KernelCell[] {
  const compiled = new Map(program.map((c) => [c.index, c]));
  return cells.map((cell) => {
    const js = cell.planned.role === "grade" ? compiled.get(cell.planned.index) : undefined;
    return js && js.test !== null ? { ...cell, code: precompiledTestCell(cell, js) } : cell;
  });
}

/** Runs the cells in core's loop: a failing cell never stops later ones (a dead kernel does). */
async function runKernelCells(
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
    capture: { mime: GRADING_MIME, limitBytes: RECORDS_LIMIT_BYTES },
    onCell: ({ cell }, run) => {
      onCell?.(cell, run);
      runs.set(cell.planned.index, run);
    },
  });
  return runs;
}

/** Characters of a written answer kept for the instructor's page. */
const ANSWER_CHARS = 20_000;

/** An answer graded by hand: recorded with what the student wrote, for `tito manual`. */
function manualAnswer(job: Job, p: PlannedCell): TestResult {
  const gradeId = p.gradeId ?? `cell-${p.index}`;
  return {
    gradeId,
    name: gradeId,
    cellIndex: p.index,
    score: 0,
    maxScore: p.points ?? 0,
    status: "manual",
    output: "",
    message: "graded by hand",
    answer: clipText(p.source, ANSWER_CHARS),
  };
}

async function score(job: Job): Promise<void> {
  const { manifest, reference } = job;
  const hidden = hiddenFragments(manifest);
  const broken: string[] = [];
  const manual = (job.rebuilt?.cells ?? []).filter((p) => p.role === "manual");
  for (const cell of job.cells ?? []) {
    const p = cell.planned;
    if (p.role !== "grade") continue;
    const gradeId = p.gradeId ?? `cell-${p.index}`;
    const ref = reference?.records.get(gradeId);
    const refProblems = ref ? referenceFailures(ref) : ["it recorded nothing"];
    if (refProblems.length > 0) broken.push(`${gradeId}: ${refProblems[0]}`);
    const run = job.runs?.get(p.index);
    job.result.tests.push(judgeCell(job, cell, run, refProblems.length > 0 ? undefined : ref, hidden)); // prettier-ignore
  }
  // In notebook order: the answers graded by hand join the tests where they stand.
  job.result.tests.push(...manual.map((p) => manualAnswer(job, p)));
  job.result.tests.sort((a, b) => a.cellIndex - b.cellIndex);
  const failedCells = reference?.failed ?? [];
  if (broken.length > 0 || failedCells.length > 0) {
    // Not the student's fault, and not a grade anyone can trust: an error attempt, regraded
    // on the next run. `tito audit` finds this before any student does.
    job.result.status = "error";
    const first = broken[0] ?? `cell ${failedCells[0].index}: ${failedCells[0].error.split("\n")[0]}`; // prettier-ignore
    job.result.reason = `the reference solution failed its own test on this submission's inputs (${first}); grade again after fixing the module`; // prettier-ignore
    for (const t of job.result.tests) t.score = 0;
  }
}

function judgeCell(
  job: Job,
  cell: KernelCell,
  run: CellRun | undefined,
  reference: ReturnType<ReferenceRecords["records"]["get"]>,
  hidden: string[],
): TestResult {
  const p = cell.planned;
  const gradeId = p.gradeId ?? `cell-${p.index}`;
  const maxScore = p.points ?? 0;
  const test: TestResult = {
    gradeId,
    name: testName(job.manifest.cells[p.index]?.studentSource ?? "", gradeId),
    cellIndex: p.index,
    score: 0,
    maxScore,
    status: "failed",
    output: run ? clipText(redact(visibleStdout(run), hidden), FEEDBACK_OUTPUT_CHARS) : "",
  };
  const done = (status: TestStatus, message?: string): TestResult => {
    test.status = status;
    if (status === "passed") test.score = maxScore;
    if (message !== undefined) test.message = clipText(redact(message, hidden), FEEDBACK_MESSAGE_CHARS); // prettier-ignore
    return test;
  };
  if (!run) return done("not-run", "the test did not run");
  if (run.status === "timeout" || run.status === "died" || run.status === "not-run") {
    return done(run.status, stripControl(run.reason ?? run.status));
  }
  if (!reference) return done("failed", "the reference solution could not be checked on these inputs (a grader problem; this test will be graded again)"); // prettier-ignore
  const sets = gradingMessages(run).filter((m) => m.message.type === "records");
  if (sets.length === 0) {
    const printed = run.error ? ` The kernel printed: ${stripControl(`${run.error.ename}: ${run.error.evalue}`)}` : ""; // prettier-ignore
    return done("failed", `the test did not run (it may not compile against your code, or an import failed).${printed}`); // prettier-ignore
  }
  if (sets.length > 1 || run.captureTruncated) {
    return done("failed", `the kernel sent ${sets.length} record sets for one test, or too much to read`); // prettier-ignore
  }
  const message = sets[0].message;
  const student = message.type === "records" ? readRecords(message.records) : undefined;
  if (!student || student.test !== gradeId) return done("failed", "the test's record is unreadable"); // prettier-ignore
  const verdict = judgeTest(student, reference);
  test.checks = { passed: verdict.checksPassed, total: verdict.checksTotal };
  if (verdict.parts) {
    test.parts = verdict.parts.map((part) => ({
      name: stripControl(part.name, { keepNewlines: false }).slice(0, 120),
      score: part.passed ? part.points : 0,
      maxScore: part.points,
      passed: part.passed,
      hidden: part.hidden,
      ...(part.reason ? { message: clipText(redact(part.reason, hidden), FEEDBACK_MESSAGE_CHARS) } : {}), // prettier-ignore
    }));
  }
  const result = verdict.passed ? done("passed") : done("failed", verdict.reason);
  // Partial credit: the parts the student's code got right.
  if (!verdict.passed && test.parts) test.score = test.parts.reduce((n, part) => n + part.score, 0); // prettier-ignore
  return result;
}

export interface GradingStage {
  name: string;
  run(job: Job): Promise<void>;
}

/** THE order of grading, in one place. */
export const GRADING_STAGES: readonly GradingStage[] = [
  { name: "read", run: read },
  { name: "reconstruct", run: rebuild },
  { name: "instrument", run: instrumentCells },
  { name: "execute", run: execute },
  { name: "score", run: score },
];

export async function gradeSubmission(
  manifest: GradingManifest,
  submissionText: string,
  opts: GradeOptions = {},
): Promise<SubmissionResult> {
  const started = new Date();
  const job: Job = {
    manifest,
    text: submissionText,
    opts,
    limits: { ...DEFAULT_LIMITS, ...definedLimits(opts) },
    result: {
      module: manifest.module,
      ...(opts.student !== undefined ? { student: opts.student } : {}),
      submissionHash: sha256Hex(submissionText),
      manifestHash: opts.manifestHash ?? sha256Hex(JSON.stringify(manifest)),
      status: "graded",
      score: 0,
      maxScore: manifest.totalPoints,
      manualMaxScore: manualPoints(manifest),
      tests: [],
      tampering: [],
      studentCells: [],
      isolation: [],
      startedAt: started.toISOString(),
      finishedAt: started.toISOString(),
      executionTimeMs: 0,
    },
  };
  const result = job.result;
  try {
    for (const stage of GRADING_STAGES) {
      await stage.run(job);
    }
  } catch (e) {
    if (e instanceof Rejection) {
      result.status = "rejected";
      result.reason = e.message;
      result.tests = zeroTests(manifest, "not-run", `not graded: ${e.message}`);
    } else {
      const why = e instanceof Error ? e.message.split("\n")[0] : String(e);
      result.status = "error";
      result.reason = `the grader could not run this notebook: ${why}`;
      result.tests = zeroTests(manifest, "not-run", result.reason);
    }
  } finally {
    // dispose() never rejects; the catch is for an acquireKernel given by a caller.
    await job.prepared?.dispose().catch(() => undefined);
  }
  const end = new Date();
  result.finishedAt = end.toISOString();
  result.executionTimeMs = end.getTime() - started.getTime();
  result.score = result.tests.reduce((s, t) => s + t.score, 0);
  return result;
}

function definedLimits(opts: Partial<KernelLimits>): Partial<KernelLimits> {
  const out: Partial<KernelLimits> = {};
  for (const key of Object.keys(DEFAULT_LIMITS) as Array<keyof KernelLimits>) {
    if (opts[key] !== undefined) out[key] = opts[key];
  }
  return out;
}
