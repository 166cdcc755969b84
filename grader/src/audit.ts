// The module audit (`tito audit`): what must hold of a module before any student is graded on
// it. Grading compares each student with the reference solution, so the reference is checked
// first, in a trusted run with no kernel (reference-run.ts):
// - it passes every check of its own tests, with their expected values, on two seeds;
// - two runs on the same seed record the same values (a check that measures something must
//   say so with assertConsistent, or the reference would disagree with itself);
// - every test records something that changes with the seed: otherwise a submission could
//   hard-code the answers an earlier feedback or a leaked test revealed;
// - every exercise has wrong answers (`//| mutation` cells) and its test fails each of them
//   (mutation-audit.ts);
// - every word a test wants in an error message is in its exercise's text (spec-audit.ts);
// - the untouched student notebook's stubs earn 0 points, judged exactly as a submission is,
//   on the same seed (a test that passes without the student's code does not test the student:
//   a hole), and the released notebook is the one the manifest describes;
// then, in the grader's real sandboxed kernel, the reference submission earns every point but
// those graded by hand (the module runs under the kernel's locks and sandbox as it must).
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { KIT_ROOT, type GradingManifest, coursePath } from "@tinytorch-ts/core";
import { encodedEqual, judge, closeVerdict, type TestRecords } from "tinytorch-ts/support/checks";
import { gradeSubmission, testName } from "./grade-submission";
import type { SessionOptions } from "./kernel-session";
import { readManifest } from "./manifest-store";
import { reconstruct } from "./reconstruct";
import { referenceNotebook } from "./reference";
import { ReferenceRunner, type ReferenceRecords } from "./reference-run";
import { judgeTest } from "./score";
import { parseSubmission } from "./submission";
import { mutationProblems, runMutations } from "./mutation-audit";
import { unstatedErrorWords } from "./spec-audit";
import { isDemoBesideOtherCode } from "./cell-names";
import { makeScratchRoot, removeQuietly } from "./scratch";

export interface ModuleAudit {
  module: string;
  notebook: string;
  /** Points the untouched notebook earned (target 0). */
  earned: number;
  /** The points the autograder awards: the module's points minus those of answers graded by hand. */
  maxScore: number;
  /** Points of the written answers graded by hand (no run can earn them). */
  manualPoints: number;
  /** Tests that passed without any work (judged in the trusted runner). */
  holes: Hole[];
  /** Points the reference submission earned in the kernel (target: maxScore). */
  referenceScore?: number;
  /** Everything that fails the audit, each naming the test (and check) it is about. */
  problems: string[];
}

export function studentNotebookPath(
  module: string,
  notebooksDir = coursePath(KIT_ROOT, "notebooks"),
): string {
  return join(notebooksDir, `${module}.ipynb`);
}

/**
 * An exercise without any mutation is a problem: nothing would show that its test can tell a
 * wrong answer from a right one. (Every exercise of the course has at least one.)
 */
const REQUIRE_MUTATIONS = true;

/** Two seeds for every audit: fixed, so an audit is repeatable, and far apart. */
export const AUDIT_SEEDS = [0x1234567, 0x9abcdef] as const;

function label(test: string, i: number, r: TestRecords): string {
  const c = r.checks[i]?.context;
  return `${test}, check ${i + 1}${c ? ` ("${c}")` : ""}`;
}

/** The reference against its own tests' expected values. */
export function ownChecksFailing(run: ReferenceRecords, seed: number): string[] {
  const out = run.failed.map((f) => `the reference's cell ${f.index} failed (seed ${seed}): ${f.error.split("\n")[0]}`); // prettier-ignore
  for (const [test, r] of run.records) {
    if (r.aborted) out.push(`${test}: the reference threw ${r.aborted.name}: ${r.aborted.message} (seed ${seed})`); // prettier-ignore
    r.checks.forEach((c, i) => {
      const v = judge(c, c.actual, c.expected, c.expected);
      if (!v.ok) out.push(`${label(test, i, r)}: the reference fails its own check (seed ${seed}): ${v.message ?? ""}`); // prettier-ignore
    });
  }
  return out;
}

/** Checks whose value differs between two runs on the same seed (they measure something). */
export function nondeterministic(a: ReferenceRecords, b: ReferenceRecords): string[] {
  const out: string[] = [];
  for (const [test, ra] of a.records) {
    const rb = b.records.get(test);
    if (!rb || rb.checks.length !== ra.checks.length) {
      out.push(`${test}: two runs on the same seed made different numbers of checks`);
      continue;
    }
    ra.checks.forEach((c, i) => {
      if (c.kind === "consistent" || c.kind === "assert" || c.kind === "throws") return;
      const other = rb.checks[i].actual;
      const same = c.kind === "close" ? closeVerdict(other, c.actual, c.tolerance).ok : encodedEqual(other, c.actual); // prettier-ignore
      if (!same) out.push(`${label(test, i, ra)}: differs between two runs on the same seed; make it deterministic, or compare two figures of the run with assertConsistent`); // prettier-ignore
    });
  }
  return out;
}

/** A run's records as a graded kernel makes them: without the expected values of its checks. */
export function gradedView(run: ReferenceRecords): ReferenceRecords {
  const records = new Map<string, TestRecords>();
  for (const [test, r] of run.records) {
    records.set(test, { ...r, checks: r.checks.map(({ expected: _expected, ...c }) => c) });
  }
  return { ...run, records };
}

/**
 * Cells the grader must run although they hold a demo: a demo beside a declaration runs in every
 * submission's kernel (a demo cell alone is skipped). Named by their first line.
 */
export function demoCellProblems(manifest: GradingManifest): string[] {
  return manifest.cells
    .filter((c) => c.cell_type === "code" && c.role !== "grade" && c.role !== "solution" && c.role !== "manual") // prettier-ignore
    .filter((c) => isDemoBesideOtherCode(c.gradingSource))
    .map((c) => `${manifest.sourceFile}: the cell starting "${c.gradingSource.trim().split("\n")[0]}" calls demo(…) beside other code, so every graded kernel runs the demo; give the demo a cell of its own`); // prettier-ignore
}

/** Tests with named parts must put every check in a part, and their points must add up. */
export function partProblems(run: ReferenceRecords, manifest: GradingManifest): string[] {
  const out: string[] = [];
  const points = new Map(manifest.cells.map((c) => [c.grade_id, c.points ?? 0]));
  for (const [test, r] of run.records) {
    const parts = r.parts ?? [];
    if (parts.length === 0) continue;
    const sum = parts.reduce((n, p) => n + p.points, 0);
    if (sum !== points.get(test)) out.push(`${test}: its parts are worth ${sum} points, the test ${points.get(test) ?? 0}`); // prettier-ignore
    const outside = r.checks.filter((c) => c.part === undefined).length;
    if (outside > 0) out.push(`${test}: ${outside} check(s) outside its parts would earn nothing; put them in a check(…)`); // prettier-ignore
    const names = new Set<string>();
    for (const p of parts) {
      if (names.has(p.name)) out.push(`${test}: two parts are named "${p.name}"`);
      names.add(p.name);
      if (!r.checks.some((c) => parts.indexOf(p) === c.part)) out.push(`${test}: part "${p.name}" checks nothing`); // prettier-ignore
    }
  }
  return out;
}

/** Tests none of whose values change with the seed: their answers could be hard-coded. */
export function seedIndependent(a: ReferenceRecords, b: ReferenceRecords): string[] {
  const out: string[] = [];
  for (const [test, ra] of a.records) {
    const rb = b.records.get(test);
    const varies =
      !rb ||
      rb.checks.length !== ra.checks.length ||
      ra.checks.some((c, i) => !encodedEqual(c.actual, rb.checks[i].actual));
    // A test of predictions has fixed answers by design (assertPrediction).
    const predictions = ra.checks.length > 0 && ra.checks.every((c) => c.kind === "prediction");
    if (!varies && !predictions) out.push(`${test}: nothing it checks depends on the seed; draw some inputs with testRandom() so that a submission cannot hard-code the answers`); // prettier-ignore
  }
  return out;
}

/** A test the untouched notebook passes: it does not test the student's code. */
export interface Hole {
  gradeId: string;
  name: string;
  score: number;
}

/**
 * The tests the stubs pass, judged as a submission's would be (trusted runner, same seed): a
 * test whose checks all hold without the student's code earns its points for nothing; one with
 * parts earns those of its parts that hold.
 */
export function holesOf(
  manifest: GradingManifest,
  untouched: ReferenceRecords,
  reference: ReferenceRecords,
): Hole[] {
  const holes: Hole[] = [];
  for (const c of manifest.cells) {
    if (c.role !== "grade" || !c.grade_id) continue;
    const want = reference.records.get(c.grade_id);
    if (!want) continue;
    const v = judgeTest(untouched.records.get(c.grade_id), want);
    const score = v.passed ? (c.points ?? 0) : (v.parts ?? []).reduce((n, p) => n + (p.passed ? p.points : 0), 0); // prettier-ignore
    if (score > 0) holes.push({ gradeId: c.grade_id, name: testName(c.studentSource, c.grade_id), score }); // prettier-ignore
  }
  return holes;
}

/** The reference's own checks, its determinism and its use of the seed (no kernel). */
/** Where a reference audit runs: its time limit, its scratch folder, the course's package. */
export interface ReferenceAuditOptions {
  timeoutMs?: number;
  scratchRoot?: string;
  courseRoot?: string;
}

export async function auditReference(
  manifest: GradingManifest,
  opts: ReferenceAuditOptions = {},
): Promise<string[]> {
  return (await auditReferenceRuns(manifest, opts)).problems;
}

/** auditReference, with the holes the untouched notebook's stubs leave. */
export async function auditReferenceRuns(
  manifest: GradingManifest,
  opts: ReferenceAuditOptions = {},
): Promise<{ problems: string[]; holes: Hole[] }> {
  const scratchRoot = opts.scratchRoot ?? makeScratchRoot();
  const timeoutMs = opts.timeoutMs ?? 600_000;
  const where = { scratchRoot, timeoutMs, courseRoot: opts.courseRoot };
  const problems: string[] = [...demoCellProblems(manifest)];
  let holes: Hole[] = [];
  try {
    // The whole notebook once; its tests (with their expected values) again on the other seed.
    const runOwn = async (variant: "full" | "checked", seed: number): Promise<ReferenceRecords> => {
      const runner = await ReferenceRunner.open(manifest, { ...where, variant });
      try {
        const run = await runner.run(seed);
        problems.push(...ownChecksFailing(run, seed));
        return run;
      } finally {
        await runner.close();
      }
    };
    const full = await runOwn("full", AUDIT_SEEDS[0]);
    problems.push(...partProblems(full, manifest), ...unstatedErrorWords(manifest, full.records));
    const checked = await runOwn("checked", AUDIT_SEEDS[1]);
    const graded = await ReferenceRunner.open(manifest, where);
    let a;
    try {
      a = await graded.run(AUDIT_SEEDS[0]);
      // The full run was a second run of every test on the first seed (with the demos between
      // them): when it recorded the same values, it answers the determinism question; when it
      // did not, a second graded run tells nondeterminism from a demo's side effect.
      let unstable = nondeterministic(a, gradedView(full));
      if (unstable.length > 0) unstable = nondeterministic(a, await graded.run(AUDIT_SEEDS[0]));
      // The checked run is the graded tests on the second seed, expected values aside: the
      // same test code records the same values (the mutation walk compares its own run with it,
      // and runs each mutation alone if they differ).
      const b = gradedView(checked);
      problems.push(...unstable, ...seedIndependent(a, b));
      const outcomes = await runMutations(manifest, graded, AUDIT_SEEDS[1], { reference: b });
      problems.push(...mutationProblems(manifest, outcomes, REQUIRE_MUTATIONS));
    } finally {
      await graded.close();
    }
    // The untouched notebook, judged against the reference on the same seed: its stubs earn
    // nothing, or a test does not test the student's code.
    const untouched = await ReferenceRunner.open(manifest, { ...where, variant: "untouched" });
    try {
      holes = holesOf(manifest, await untouched.run(AUDIT_SEEDS[0]), a);
      for (const h of holes) problems.push(`${h.name}: ${h.score} point(s) without the student's code`); // prettier-ignore
    } finally {
      await untouched.close();
    }
  } catch (e) {
    problems.push(e instanceof Error ? e.message : String(e));
  } finally {
    if (opts.scratchRoot === undefined) await removeQuietly(scratchRoot);
  }
  return { problems, holes };
}

export async function auditModule(
  manifestPath: string,
  notebookPath: string,
  opts: SessionOptions & { referenceOnly?: boolean } = {},
): Promise<ModuleAudit> {
  const { manifest, hash } = readManifest(manifestPath);
  const manualPoints = manifest.cells.reduce((n, c) => n + (c.role === "manual" ? (c.points ?? 0) : 0), 0); // prettier-ignore
  const audit: ModuleAudit = {
    module: manifest.module,
    notebook: notebookPath,
    maxScore: manifest.totalPoints - manualPoints,
    manualPoints,
    earned: 0,
    holes: [],
    problems: [],
  };
  const runs = await auditReferenceRuns(manifest, { courseRoot: opts.courseRoot });
  audit.problems.push(...runs.problems);
  audit.holes = runs.holes;
  audit.earned = runs.holes.reduce((n, h) => n + h.score, 0);
  audit.problems.push(...notebookProblems(manifest, notebookPath));
  if (opts.referenceOnly) return audit;
  const reference = await gradeSubmission(manifest, referenceNotebook(manifest), {
    ...opts,
    student: "audit:reference",
    manifestHash: hash,
  });
  audit.referenceScore = reference.score;
  // Written answers are graded by hand: the reference must earn every other point.
  if (reference.status !== "graded" || reference.score !== audit.maxScore) {
    const failed = reference.tests.filter((t) => t.status !== "passed" && t.status !== "manual");
    audit.problems.push(
      `the reference earns ${reference.score}/${audit.maxScore}${reference.reason ? ` (${reference.reason})` : ""}`, // prettier-ignore
      ...failed.map((t) => `  ${t.name}: ${t.status}: ${t.message ?? ""}`),
    );
  }
  return audit;
}

/** The released student notebook must be the one the manifest describes (else: rebuild). */
function notebookProblems(manifest: GradingManifest, notebookPath: string): string[] {
  if (!existsSync(notebookPath)) return [`no student notebook at ${notebookPath}`];
  const parsed = parseSubmission(readFileSync(notebookPath, "utf8"));
  if (!parsed.ok) return [`the student notebook cannot be read: ${parsed.reason}`];
  const tampering = reconstruct(manifest, parsed.cells).tampering;
  return tampering.length === 0 ? [] : [`the notebook differs from its manifest (${tampering.map((t) => t.kind).join(", ")}); rebuild`]; // prettier-ignore
}

export function formatAudit(a: ModuleAudit): string {
  if (a.problems.length === 0) {
    return a.referenceScore === undefined
      ? `${a.module}: the reference passes its checks: ok`
      : `${a.module}: reference ${a.referenceScore}/${a.maxScore}, untouched 0/${a.maxScore}${a.manualPoints > 0 ? ` (+${a.manualPoints} graded by hand)` : ""}: ok`; // prettier-ignore
  }
  return [`${a.module}: ${a.problems.length} problem(s):`, ...a.problems.map((p) => `  ${p}`)].join("\n"); // prettier-ignore
}
