// The harness under the grader (support/testing.ts, recording): what one test cell sends, how
// hidden blocks and named parts are marked, and that a failing check is recorded rather than
// thrown. In a notebook (not recording) the same assertions throw TestFailure.
import { test } from "uvu";
import * as assert from "uvu/assert";
import {
  assertClose,
  assertEqual,
  assertThrows,
  check,
  grading,
  testRandom,
  TestFailure,
  type GradingMessage,
} from "../../tinytorch-ts/src/support/testing";

test("in a notebook a failed check throws, and a part's name leads its message", () => {
  assert.throws(() => assertEqual([1, 2], [1, 3]), (e: unknown) => e instanceof TestFailure && /expected \[1,3\], got \[1,2\]/.test((e as Error).message)); // prettier-ignore
  assert.throws(() => check("rows", 1, () => assertClose(1, 2)), /^rows: .*element 0: expected 2, got 1/); // prettier-ignore
  check("fine", 1, () => assertEqual(1, 1));
});

test("recording: checks, hidden marks, parts and an abort are sent once, at the end", async () => {
  const sent: GradingMessage[] = [];
  grading.start({ seed: 42, emit: (m) => sent.push(m) });
  try {
    grading.begin("t");
    assertEqual(2, undefined); // a graded test's expected value arrives as undefined
    grading.hidden(true);
    check("first", 2, () => {
      assertClose([0.5], 7, { atol: 0.1 }); // wrong: recorded, not thrown
      assertThrows(() => {
        throw new RangeError("bad size");
      }, "size");
    });
    check("second", 1, () => {
      throw new Error("boom");
    });
    await check("third", 1, async () => assertEqual(await Promise.resolve(3), 3));
    grading.abort(new TypeError("late"));
    grading.end();
  } finally {
    grading.stop();
  }
  assert.equal(sent[0], { type: "hidden" });
  const last = sent[1];
  if (last?.type !== "records") throw new Error("no records");
  const r = last.records;
  assert.is(r.test, "t");
  assert.equal(r.checks.map((c) => [c.kind, c.part, c.hidden === true]), [["equal", undefined, false], ["close", 0, true], ["throws", 0, true], ["equal", 2, true]]); // prettier-ignore
  assert.not.ok("expected" in r.checks[0], "an absent expected value is not sent");
  assert.equal(r.checks[1].expected, 7, "a real one is (the audit's whole-notebook run)");
  assert.equal(r.parts?.map((p) => [p.name, p.points, p.aborted?.name]), [["first", 2, undefined], ["second", 1, "Error"], ["third", 1, undefined]]); // prettier-ignore
  assert.equal(r.aborted, { name: "TypeError", message: "late", hidden: true });
  assert.is(sent.length, 2);
});

test("testRandom draws from the grader's seed when grading, from a fixed one otherwise", () => {
  const notebook = testRandom("x").numbers(3);
  grading.start({ seed: 7, emit: () => undefined });
  const graded = testRandom("x").numbers(3);
  grading.start({ seed: 8, emit: () => undefined });
  const other = testRandom("x").numbers(3);
  grading.stop();
  assert.equal(testRandom("x").numbers(3), notebook, "a notebook's draws are the same every time");
  assert.not.equal(graded, notebook);
  assert.not.equal(graded, other);
});

test.run();
