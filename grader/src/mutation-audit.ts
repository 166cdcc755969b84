// The mutation audit: every exercise lists plausible wrong answers in its module source
// (`//| mutation <exercise> <what is wrong>` cells); each is run in place of the reference's
// answer, in the trusted runner, and judged exactly as a student's submission would be. A
// mutation that passes its exercise's test shows that the test cannot tell that wrong answer
// from a right one. A mutation that does not compile tests nothing, and an exercise without any
// mutation is not audited at all: both are problems too.
import type { GradingManifest } from "@tinytorch-ts/core";
import type { CompiledCell, CompiledMutation } from "./reference-program";
import type { Branch, ReferenceRecords, ReferenceRunner } from "./reference-run";
import type { TestRecords } from "tinytorch-ts/support/checks";
import { judgeTest } from "./score";

/** A mutation may loop for ever (a wrong stopping rule): it gets this long, not a notebook's limit. */
const MUTATION_TIMEOUT_MS = 60_000;

export interface MutationOutcome {
  exercise: string;
  description: string;
  /** The exercise's test (the first test cell after its solution cell). */
  test?: string;
  /** True when the exercise's test told the mutation from the reference. */
  caught: boolean;
  why: string;
}

/** The test an exercise is graded by: the first test cell after its solution cell. */
export function exerciseTest(manifest: GradingManifest, exercise: string): string | undefined {
  const at = manifest.cells.findIndex((c) => c.grade_id === exercise);
  if (at < 0) return undefined;
  return manifest.cells.slice(at + 1).find((c) => c.role === "grade")?.grade_id;
}

/**
 * Every mutation judged against the reference's records on one seed. All of them run in one
 * walk of the program (reference-runner.cjs): each mutation branches off at its exercise and
 * runs through its test, so the cells before an exercise run once, not once per mutation. The
 * walk's own records must still be the reference's (a mutation that changed an object an
 * earlier cell made would show here); if not, each mutation runs alone.
 */
export async function runMutations(
  manifest: GradingManifest,
  runner: ReferenceRunner,
  seed: number,
  opts: { reference?: ReferenceRecords; timeoutMs?: number } = {},
): Promise<MutationOutcome[]> {
  const want = opts.reference ?? (await runner.run(seed));
  const timeoutMs = opts.timeoutMs ?? MUTATION_TIMEOUT_MS;
  // In the manifest's order, whichever way each outcome is found.
  const out: MutationOutcome[] = [];
  const runnable: Array<{ m: CompiledMutation; test: string; key: string; k: number }> = [];
  runner.mutations.forEach((m, k) => {
    const base = { exercise: m.exercise, description: m.description };
    const test = exerciseTest(manifest, m.exercise);
    if (!test) out[k] = { ...base, caught: false, why: "its exercise has no test after it" };
    else if (!m.cell)
      out[k] = { ...base, test, caught: false, why: `it does not compile (${m.error ?? "?"}), so it tests nothing` }; // prettier-ignore
    else runnable.push({ m, test, key: `mutation-${k}`, k });
  });
  const testIndex = new Map(manifest.cells.flatMap((c) => (c.grade_id ? [[c.grade_id, c.index]] : []))); // prettier-ignore
  const branches: Branch[] = runnable.map(({ m, test, key }) => ({ key, at: m.index, through: testIndex.get(test) ?? -1, cell: m.cell as CompiledCell, timeoutMs })); // prettier-ignore
  let walk: ReferenceRecords | undefined;
  try {
    walk = branches.length > 0 ? await runner.run(seed, { branches }) : undefined;
  } catch {
    walk = undefined; // a mutation hung the walk: each runs alone below
  }
  const trusted = walk !== undefined && walkMatches(walk, want);
  for (const { m, test, key, k } of runnable) {
    const base = { exercise: m.exercise, description: m.description, test };
    let records: TestRecords | undefined;
    if (trusted && walk) {
      const b = walk.branches.get(key);
      if (b?.error) {
        out[k] = { ...base, caught: true, why: b.error };
        continue;
      }
      records = b?.records ?? undefined;
    } else {
      try {
        const run = await runner.run(seed, { replace: m.cell, timeoutMs, through: test });
        records = run.records.get(test);
      } catch (e) {
        // A mutation that hangs or crashes the run earns nothing, as it would under the grader.
        out[k] = { ...base, caught: true, why: `the run stopped: ${(e as Error).message}` };
        continue;
      }
    }
    const expected = want.records.get(test);
    const verdict = expected ? judgeTest(records, expected) : undefined;
    if (!verdict)
      out[k] = { ...base, caught: false, why: "the reference recorded nothing for its test" }; // prettier-ignore
    else if (verdict.passed) out[k] = { ...base, caught: false, why: `${test} passes it` };
    else out[k] = { ...base, caught: true, why: verdict.reason ?? "failed" };
  }
  return out;
}

/** The walk's own records pass as the reference's: the branches left nothing behind. */
function walkMatches(walk: ReferenceRecords, reference: ReferenceRecords): boolean {
  if (walk.failed.length !== reference.failed.length) return false;
  for (const [test, want] of reference.records) {
    if (!judgeTest(walk.records.get(test), want).passed) return false;
  }
  return true;
}

/**
 * The audit's problems: mutations not caught, and (with `everyExercise`) exercises with no
 * mutation at all.
 */
export function mutationProblems(
  manifest: GradingManifest,
  outcomes: MutationOutcome[],
  everyExercise = true,
): string[] {
  const problems = outcomes
    .filter((o) => !o.caught)
    .map((o) => `mutation of ${o.exercise} ("${o.description}"): ${o.why}`);
  if (!everyExercise) return problems;
  const covered = new Set(outcomes.map((o) => o.exercise));
  for (const c of manifest.cells) {
    if (c.role === "solution" && c.cell_type === "code" && c.grade_id && !covered.has(c.grade_id)) {
      problems.push(`exercise ${c.grade_id} has no mutation: add a plausible wrong answer ('//| mutation ${c.grade_id} <what is wrong>') that its test must fail`); // prettier-ignore
    }
  }
  return problems;
}
