// Spec and test agree: the words an error-message pattern needs, and where a student would
// read them (the exercise's instructions, stub and visible test).
import { test } from "uvu";
import * as assert from "uvu/assert";
import { requiredTokens, unstatedErrorWords } from "../../grader/src/spec-audit";
import type { TestRecords } from "tinytorch-ts/support/checks";
import { loadFixtureManifest } from "./helpers";

test("a pattern needs its words of three letters or more, not its data or stop words", () => {
  assert.equal(requiredTokens({ text: "cannot reshape array of size 6 into shape [4, 2]" }), ["cannot", "reshape", "array", "size", "shape"]); // prettier-ignore
  assert.equal(requiredTokens({ source: "size \\\\d+ (?:and|or) \\\\[\\\\d+\\\\]", flags: "" }), [
    "size",
  ]);
  assert.equal(requiredTokens({ text: "[2, 3]" }), []);
});

test("a word the exercise never states is a problem; one it states, or data the test feeds in, is not", () => {
  const m = loadFixtureManifest();
  const checks = (text: string): Map<string, TestRecords> =>
    new Map([["test-unit-double", { test: "test-unit-double", checks: [{ kind: "throws", actual: true, pattern: { text } }] }]]); // prettier-ignore
  assert.equal(unstatedErrorWords(m, checks("double")), [], "the exercise is about double");
  const problems = unstatedErrorWords(m, checks("overflowed"));
  assert.equal(problems.length, 1);
  assert.match(problems[0], /test-unit-double, check 1: .*"overflowed"/);
  // secretInput is used by the test's own code: data, not wording.
  assert.equal(unstatedErrorWords(m, checks("secretInput")), []);
});

test.run();
