// The mutation audit: every exercise lists plausible wrong answers in its module source
// (`//| mutation <exercise> <what is wrong>` cells); each is run in place of the reference's
// answer, in the trusted runner, and judged exactly as a student's submission would be. A
// mutation that passes its exercise's test shows that the test cannot tell that wrong answer
// from a right one. A mutation that does not compile tests nothing, and an exercise without any
// mutation is not audited at all: both are problems too.
import type { GradingManifest } from "@tinytorch-ts/core";
import type { ReferenceRunner } from "./reference-run";
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

export async function runMutations(
  manifest: GradingManifest,
  runner: ReferenceRunner,
  seed: number,
): Promise<MutationOutcome[]> {
  const reference = await runner.run(seed);
  const out: MutationOutcome[] = [];
  for (const m of runner.mutations) {
    const base = { exercise: m.exercise, description: m.description };
    const test = exerciseTest(manifest, m.exercise);
    if (!test) {
      out.push({ ...base, caught: false, why: "its exercise has no test after it" });
      continue;
    }
    if (!m.cell) {
      out.push({ ...base, test, caught: false, why: `it does not compile (${m.error ?? "?"}), so it tests nothing` }); // prettier-ignore
      continue;
    }
    let verdict;
    try {
      const run = await runner.run(seed, { replace: m.cell, timeoutMs: MUTATION_TIMEOUT_MS });
      const want = reference.records.get(test);
      verdict = want ? judgeTest(run.records.get(test), want) : undefined;
    } catch (e) {
      // A mutation that hangs or crashes the run earns nothing, as it would under the grader.
      out.push({ ...base, test, caught: true, why: `the run stopped: ${(e as Error).message}` });
      continue;
    }
    if (!verdict)
      out.push({ ...base, test, caught: false, why: "the reference recorded nothing for its test" }); // prettier-ignore
    else if (verdict.passed)
      out.push({ ...base, test, caught: false, why: `${test} passes it` }); // prettier-ignore
    else out.push({ ...base, test, caught: true, why: verdict.reason ?? "failed" });
  }
  return out;
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
