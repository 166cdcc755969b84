// The mutation audit, on the fixture module (trusted runner only, no kernel): a wrong answer
// that the exercise's test tells from the reference is caught; one it cannot tell (the hole
// fixture's test only checks that `double` exists) is a problem, and so are a mutation that
// does not compile and an exercise without any.
import { test } from "uvu";
import * as assert from "uvu/assert";
import type { GradingManifest } from "@tinytorch-ts/core";
import { mutationProblems, runMutations, exerciseTest } from "../../grader/src/mutation-audit";
import { ReferenceRunner } from "../../grader/src/reference-run";
import { makeScratchRoot } from "../../grader/src/scratch";
import { loadFixtureManifest, WRONG_FOR_NEGATIVES_SOURCES } from "./helpers";

function withMutations(name: string): GradingManifest {
  return {
    ...loadFixtureManifest(name),
    mutations: [
      { exercise: "double", description: "adds two instead of doubling", source: "function double(x: number): number {\n  return x + 2;\n}" }, // prettier-ignore
      { exercise: "triple", description: "wrong for negative inputs", source: WRONG_FOR_NEGATIVES_SOURCES.triple }, // prettier-ignore
      { exercise: "triple", description: "does not compile", source: "function triple(x: number): string {\n  return x;\n}" }, // prettier-ignore
    ],
  };
}

async function audit(manifest: GradingManifest, timeoutMs?: number) {
  const runner = await ReferenceRunner.open(manifest, { scratchRoot: makeScratchRoot(), timeoutMs: 60_000 }); // prettier-ignore
  try {
    return await runMutations(manifest, runner, 1234, { timeoutMs });
  } finally {
    await runner.close();
  }
}

test("an exercise's test is the first test cell after it", () => {
  const m = loadFixtureManifest();
  assert.is(exerciseTest(m, "double"), "test-unit-double");
  assert.is(exerciseTest(m, "triple"), "test-unit-triple");
});

test("wrong answers the tests catch are fine; one that does not compile is a problem", async () => {
  const m = withMutations("90_fixture");
  const outcomes = await audit(m);
  assert.equal(outcomes.map((o) => [o.exercise, o.caught]), [["double", true], ["triple", true], ["triple", false]]); // prettier-ignore
  assert.match(outcomes[0].why, /hidden check|check \d/);
  const problems = mutationProblems(m, outcomes);
  assert.equal(problems.length, 1);
  assert.match(problems[0], /does not compile .*tests nothing/);
});

test("a wrong answer that passes its test, and an exercise without mutations, are problems", async () => {
  const m = withMutations("91_hole");
  m.mutations = m.mutations?.filter((x) => x.exercise === "double");
  const problems = mutationProblems(m, await audit(m));
  assert.ok(problems.some((p) => /mutation of double .* test-unit-double passes it/.test(p)), problems.join("\n")); // prettier-ignore
  assert.ok(
    problems.some((p) => /exercise triple has no mutation/.test(p)),
    problems.join("\n"),
  );
});

test("a mutation that leaves a global patched behind does not decide the others' verdicts", async () => {
  // All mutations run in one walk of the program; this one patches Math.abs, which the walk's own
  // triple test then fails, so each mutation is run alone instead.
  const m: GradingManifest = {
    ...loadFixtureManifest("90_fixture"),
    mutations: [
      { exercise: "double", description: "right, but patches Math.abs", source: "function double(x: number): number {\n  return 2 * x;\n}\n(Math as any).abs = () => 1;" }, // prettier-ignore
      { exercise: "triple", description: "right, written another way", source: "function triple(x: number): number {\n  return x + x + x;\n}" }, // prettier-ignore
    ],
  };
  const outcomes = await audit(m);
  assert.equal(outcomes.map((o) => [o.exercise, o.caught]), [["double", false], ["triple", false]]); // prettier-ignore
});

test("a mutation that never returns is stopped and counts as caught", async () => {
  const m: GradingManifest = {
    ...loadFixtureManifest("90_fixture"),
    mutations: [
      { exercise: "double", description: "loops for ever", source: "function double(x: number): number {\n  for (;;) x++;\n}" }, // prettier-ignore
      { exercise: "triple", description: "adds three", source: "function triple(x: number): number {\n  return x + 3;\n}" }, // prettier-ignore
    ],
  };
  const outcomes = await audit(m, 2_000);
  assert.equal(outcomes.map((o) => [o.exercise, o.caught]), [["double", true], ["triple", true]]); // prettier-ignore
  assert.match(outcomes[0].why, /the run stopped/);
});

test.run();
