// The grader's core: one manifest and one submission in, one result out. Stateless, so the
// batch command, the Gradescope bundle, the audit and the benchmark all call exactly this, and
// a job queue can run it one submission per container.
//
// Steps: read the submission leniently; rebuild the notebook from the manifest (only solution
// cells come from the student); instrument it (preamble first, tests bound to trusted values);
// run it in a fresh tslab kernel in a fresh scratch dir, confined by the sandbox; score each
// grade cell from the kernel's reply status alone; strip hidden-test text from all feedback.
import { existsSync, rmSync } from "node:fs";
import { resolve } from "node:path";
import type { GradingManifest } from "../../tito/src/build/manifest-types";
import { KernelClient, type CellRun } from "../../tito/src/kernel/client";
import { instrument, type KernelCell } from "./instrument";
import { reconstruct } from "./reconstruct";
import { clipText, hiddenFragments, redact } from "./sanitize";
import { kernelRuntimePaths, planSandbox, sandboxCapabilities, type SandboxPlan } from "./sandbox";
import { defaultPackageSource, makeScratch, makeScratchRoot, type PackageSource } from "./scratch";
import { parseSubmission, sha256Hex } from "./submission";
import { analyseCell } from "./cell-names";
import type { SubmissionResult, TestResult, TestStatus } from "./types";

export const REPO_ROOT = resolve(__dirname, "..", "..");

export interface GradeOptions {
  student?: string;
  /** Per-cell time limit (default 30 s). */
  cellTimeoutMs?: number;
  /** Whole-notebook time limit (default 5 min). */
  notebookTimeoutMs?: number;
  /** Output kept per cell (default 1 MiB); the rest is dropped and the cell marked truncated. */
  outputLimitBytes?: number;
  /** V8 heap cap for the kernel, in MiB (default 1024). */
  memoryMb?: number;
  /** RLIMIT_NPROC for the sandbox user (default 256; applied only with a sandbox user). */
  maxProcesses?: number;
  /** Confine the kernel (default true; TITO_SANDBOX=off also disables it). */
  sandbox?: boolean;
  /** Extra paths the kernel must not see (submissions folder, output folder). */
  hide?: string[];
  /** Where the reference package and @types/node come from. */
  packageSource?: PackageSource;
  /** Parent of the per-submission scratch dirs (default: a fresh dir in the system tmp). */
  scratchRoot?: string;
  /** sha256 of the manifest file, when the caller read it from disk. */
  manifestHash?: string;
  /** Repository root (hidden from the kernel). */
  repoRoot?: string;
  /** Called after each executed cell (progress, debugging). */
  onCell?: (cell: KernelCell, run: CellRun) => void;
}

const DEFAULTS = {
  cellTimeoutMs: 30_000,
  notebookTimeoutMs: 300_000,
  outputLimitBytes: 1024 * 1024,
  memoryMb: 1024,
  maxProcesses: 256,
};
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

function baseResult(
  manifest: GradingManifest,
  text: string,
  opts: GradeOptions,
  started: Date,
): SubmissionResult {
  const result: SubmissionResult = {
    module: manifest.module,
    submissionHash: sha256Hex(text),
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
  if (opts.student !== undefined) result.student = opts.student;
  return result;
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

function finish(result: SubmissionResult, started: Date): SubmissionResult {
  const end = new Date();
  result.finishedAt = end.toISOString();
  result.executionTimeMs = end.getTime() - started.getTime();
  result.score = result.tests.reduce((s, t) => s + t.score, 0);
  return result;
}

export async function gradeSubmission(
  manifest: GradingManifest,
  submissionText: string,
  opts: GradeOptions = {},
): Promise<SubmissionResult> {
  const started = new Date();
  const result = baseResult(manifest, submissionText, opts, started);
  const parsed = parseSubmission(submissionText);
  if (!parsed.ok) {
    result.status = "rejected";
    result.reason = parsed.reason;
    result.tests = zeroTests(manifest, "not-run", `not graded: ${parsed.reason}`);
    return finish(result, started);
  }
  const rebuilt = reconstruct(manifest, parsed.cells);
  result.tampering = rebuilt.tampering;
  result.studentCells = rebuilt.studentCells;
  if (rebuilt.wrongModule) {
    result.status = "rejected";
    result.reason = rebuilt.wrongModule;
    result.tests = zeroTests(manifest, "not-run", `not graded: ${rebuilt.wrongModule}`);
    return finish(result, started);
  }
  const o = { ...DEFAULTS, ...opts };
  const program = instrument(manifest, rebuilt.cells);
  const fragments = hiddenFragments(manifest);
  const repoRoot = opts.repoRoot ?? REPO_ROOT;
  const ownRoot = opts.scratchRoot === undefined;
  const sandboxOn = opts.sandbox !== false && process.env.TITO_SANDBOX !== "off";
  const scratchRoot = opts.scratchRoot ?? makeScratchRoot();
  let plan: SandboxPlan = { commandPrefix: [], isolation: ["sandbox disabled"] };
  let scratch;
  let kernel: KernelClient | undefined;
  try {
    const owner = sandboxOn ? sandboxCapabilities().user : undefined;
    const source = opts.packageSource ?? defaultPackageSource(repoRoot);
    scratch = makeScratch(scratchRoot, manifest, source, owner);
    if (sandboxOn) {
      const hide = [repoRoot, "/tmp", "/var/tmp", "/dev/shm", scratchRoot, ...(opts.hide ?? [])];
      plan = planSandbox({
        scratchDir: scratch.dir,
        hide: hide.filter((p) => existsSync(p)),
        keep: kernelRuntimePaths(),
      });
    }
    result.isolation = [
      ...plan.isolation,
      `memory cap ${o.memoryMb} MiB`,
      "built-ins, harness and module system locked before student code",
    ];
    kernel = await KernelClient.start({
      cwd: scratch.dir,
      env: {
        PATH: process.env.PATH ?? "/usr/local/bin:/usr/bin:/bin",
        HOME: scratch.dir,
        TMPDIR: "/tmp",
        LANG: "C.UTF-8",
      },
      commandPrefix: plan.commandPrefix,
      transport: "ipc",
      socketDir: scratch.dir,
      memoryMb: o.memoryMb,
      ...(plan.owner ? { owner: plan.owner, maxProcesses: o.maxProcesses } : {}),
    });
    const ran = await runCells(kernel, program.cells, o, fragments);
    if (ran.preambleError) throw new Error(ran.preambleError);
    result.tests = ran.tests;
  } catch (e) {
    const why = e instanceof Error ? e.message.split("\n")[0] : String(e);
    result.status = "error";
    result.reason = `the grader could not run this notebook: ${why}`;
    result.tests = zeroTests(manifest, "not-run", result.reason);
  } finally {
    await kernel?.shutdown().catch(() => undefined);
    scratch?.remove();
    if (ownRoot) rmSync(scratchRoot, { recursive: true, force: true });
  }
  return finish(result, started);

  async function runCells(
    k: KernelClient,
    cells: KernelCell[],
    limits: typeof DEFAULTS,
    hidden: string[],
  ): Promise<{ tests: TestResult[]; preambleError?: string }> {
    const deadline = performance.now() + limits.notebookTimeoutMs;
    const tests: TestResult[] = [];
    let stoppedAt: string | undefined;
    for (const cell of cells) {
      const remaining = deadline - performance.now();
      let run: CellRun;
      if (remaining <= 0) {
        run = notRun(`the notebook time limit (${Math.round(limits.notebookTimeoutMs / 1000)} s) was reached`); // prettier-ignore
      } else if (!k.alive) {
        run = notRun(`the kernel had stopped${stoppedAt ? ` during ${stoppedAt}` : ""}: ${k.deathReason}`); // prettier-ignore
      } else {
        run = await k.execute(cell.code, {
          timeoutMs: Math.min(limits.cellTimeoutMs, remaining),
          outputLimitBytes: limits.outputLimitBytes,
        });
      }
      opts.onCell?.(cell, run);
      const p = cell.planned;
      if (!p) {
        if (run.status !== "ok") {
          const why = run.error ? `${run.error.ename}: ${run.error.evalue}` : (run.reason ?? "");
          return { tests, preambleError: `the grading preamble failed (${run.status}): ${why}` };
        }
        continue;
      }
      if ((run.status === "died" || run.status === "timeout") && !k.alive && !stoppedAt) {
        stoppedAt = p.role === "grade" ? `test ${p.gradeId}` : p.gradeId ? `cell "${p.gradeId}"` : `cell ${p.index + 1}`; // prettier-ignore
      }
      if (p.role !== "grade") continue;
      tests.push(toTest(p, run, hidden));
    }
    return { tests };
  }

  function toTest(p: KernelCell["planned"] & object, run: CellRun, hidden: string[]): TestResult {
    const gradeId = p.gradeId ?? `cell-${p.index}`;
    const visible = manifest.cells[p.index]?.studentSource ?? "";
    const status: TestStatus = run.status === "ok" ? "passed" : run.status === "error" ? "failed" : run.status; // prettier-ignore
    const maxScore = p.points ?? 0;
    const test: TestResult = {
      gradeId,
      name: testName(visible, gradeId),
      cellIndex: p.index,
      score: status === "passed" ? maxScore : 0,
      maxScore,
      status,
      output: clipText(redact(stdoutOf(run), hidden), FEEDBACK_OUTPUT_CHARS),
    };
    if (status !== "passed") {
      const why = run.error ? `${run.error.ename}: ${run.error.evalue}` : (run.reason ?? status);
      test.message = clipText(redact(why, hidden), FEEDBACK_MESSAGE_CHARS);
    }
    return test;
  }
}

function notRun(reason: string): CellRun {
  return { status: "not-run", outputs: [], executionCount: null, durationMs: 0, truncated: false, reason }; // prettier-ignore
}
