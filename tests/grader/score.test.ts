// The verdict on a test is the grader's: the student's record against the reference's, check by
// check, with the trusted record's kind, tolerance, pattern and hidden flag. Records here are
// made by hand, as a hostile kernel could send them.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { encodeValue, type TestRecords } from "tinytorch-ts/support/checks";
import { judgeTest, readRecords, referenceFailures } from "../../grader/src/score";

const enc = encodeValue;
const REFERENCE: TestRecords = {
  test: "t",
  checks: [
    { kind: "equal", actual: enc([2, 3]), context: "shape" },
    { kind: "close", actual: enc([0.5, 0.25]), tolerance: { atol: 1e-3 } },
    { kind: "throws", actual: enc({ threw: true, message: "ragged array" }), pattern: { text: "ragged" } }, // prettier-ignore
    { kind: "equal", actual: enc([7.25, -1]), hidden: true, context: "seeded" },
  ],
};
const HONEST: TestRecords = {
  test: "t",
  checks: [
    { kind: "equal", actual: enc([2, 3]) },
    { kind: "close", actual: enc([0.5004, 0.25]) },
    { kind: "throws", actual: enc({ threw: true, message: "ragged nested array at [1]" }) },
    { kind: "equal", actual: enc([7.25, -1]) },
  ],
};

test("an honest record that matches the reference passes", () => {
  const v = judgeTest(HONEST, REFERENCE);
  assert.ok(v.passed, v.reason);
  assert.is(v.checksPassed, 4);
});

test("nothing recorded, fewer checks, more checks, or another kind of check fails", () => {
  assert.not.ok(judgeTest(undefined, REFERENCE).passed);
  assert.not.ok(judgeTest({ test: "t", checks: [] }, REFERENCE).passed);
  assert.not.ok(judgeTest({ ...HONEST, checks: HONEST.checks.slice(0, 3) }, REFERENCE).passed);
  assert.not.ok(judgeTest({ ...HONEST, checks: [...HONEST.checks, HONEST.checks[0]] }, REFERENCE).passed); // prettier-ignore
  const swapped = [...HONEST.checks];
  swapped[0] = { kind: "assert", actual: true };
  assert.not.ok(judgeTest({ ...HONEST, checks: swapped }, REFERENCE).passed);
});

test("the tolerance and the pattern are the reference's, whatever the kernel claims", () => {
  const loose = [...HONEST.checks];
  loose[1] = { kind: "close", actual: enc([0.6, 0.25]), tolerance: { atol: 1 } };
  assert.not.ok(judgeTest({ ...HONEST, checks: loose }, REFERENCE).passed);
  const wrongMessage = [...HONEST.checks];
  wrongMessage[2] = { kind: "throws", actual: enc({ threw: true, message: "bad" }), pattern: { text: "" } }; // prettier-ignore
  assert.not.ok(judgeTest({ ...HONEST, checks: wrongMessage }, REFERENCE).passed);
});

test("a claimed expected value changes nothing: the student's actual is compared with the reference's", () => {
  const forged = [...HONEST.checks];
  forged[3] = { kind: "equal", actual: enc([0, 0]), expected: enc([0, 0]) };
  const v = judgeTest({ ...HONEST, checks: forged }, REFERENCE);
  assert.not.ok(v.passed);
  assert.is(v.checksPassed, 3);
});

test("a hidden check's failure shows no values; a visible one shows both", () => {
  const wrongHidden = [...HONEST.checks];
  wrongHidden[3] = { kind: "equal", actual: enc([123.5, 456]) };
  const hidden = judgeTest({ ...HONEST, checks: wrongHidden }, REFERENCE).reason ?? "";
  assert.match(hidden, /hidden check 4 "seeded" failed/);
  assert.not.match(hidden, /7\.25|123\.5|456/);
  const wrongVisible = [...HONEST.checks];
  wrongVisible[0] = { kind: "equal", actual: enc([3, 2]) };
  assert.match(judgeTest({ ...HONEST, checks: wrongVisible }, REFERENCE).reason ?? "", /check 1 "shape" failed: shape: expected \[2,3\], got \[3,2\]/); // prettier-ignore
});

test("an exception in a hidden part is named only by a standard error class", () => {
  const stopped: TestRecords = { test: "t", checks: HONEST.checks.slice(0, 3), aborted: { name: "Leak_7_25", message: "input was 7.25", hidden: true } }; // prettier-ignore
  const reason = judgeTest(stopped, REFERENCE).reason ?? "";
  assert.match(reason, /threw an error during a hidden check/);
  assert.not.match(reason, /7\.25|7_25/);
  const visible: TestRecords = { test: "t", checks: [], aborted: { name: "TypeError", message: "x is undefined", hidden: false } }; // prettier-ignore
  assert.match(judgeTest(visible, REFERENCE).reason ?? "", /TypeError: x is undefined/);
});

test("readRecords accepts only well-formed record sets and keeps only what may be judged", () => {
  assert.is(readRecords(null), undefined);
  assert.is(readRecords({ test: 1, checks: [] }), undefined);
  assert.is(readRecords({ test: "t", checks: [{ kind: "verdict", actual: true }] }), undefined);
  const r = readRecords({ test: "t", checks: [{ kind: "assert", actual: true, hidden: false, tolerance: { atol: 9 } }] }); // prettier-ignore
  assert.equal(r, { test: "t", checks: [{ kind: "assert", actual: true }] });
});

test("a reference that fails its own condition, expected error or consistency is reported", () => {
  assert.equal(referenceFailures(REFERENCE), []);
  const broken: TestRecords = { test: "t", checks: [{ kind: "assert", actual: false, context: "p50 <= p90" }] }; // prettier-ignore
  assert.equal(referenceFailures(broken), ["check 1: p50 <= p90"]);
});

test("a test with parts earns each part alone; a part that stops or is missing fails alone", () => {
  const ref: TestRecords = {
    test: "t",
    checks: [
      { kind: "equal", actual: enc(1), part: 0 },
      { kind: "equal", actual: enc(2), part: 1, hidden: true },
      { kind: "equal", actual: enc(3), part: 1, hidden: true },
      { kind: "equal", actual: enc(4), part: 2 },
    ],
    parts: [{ name: "a", points: 1 }, { name: "b", points: 2, hidden: true }, { name: "c", points: 1 }], // prettier-ignore
  };
  const half: TestRecords = {
    test: "t",
    checks: [
      { kind: "equal", actual: enc(1), part: 0 },
      { kind: "equal", actual: enc(2), part: 1 },
    ],
    parts: [{ name: "a", points: 0 }, { name: "b", points: 0, aborted: { name: "Leak_1", message: "x=2" } }, { name: "c", points: 0 }], // prettier-ignore
  };
  const v = judgeTest(half, ref);
  assert.not.ok(v.passed);
  assert.equal(
    v.parts?.map((p) => [p.name, p.passed]),
    [
      ["a", true],
      ["b", false],
      ["c", false],
    ],
  );
  assert.match(v.parts?.[1].reason ?? "", /threw an error during a hidden check/);
  assert.not.match(v.parts?.[1].reason ?? "", /Leak|x=2/);
  // The points are the reference's, whatever the kernel claims (0 above, or 99 here).
  assert.equal(
    v.parts?.map((p) => p.points),
    [1, 2, 1],
  );
  const full = judgeTest({ test: "t", checks: ref.checks.map((c) => ({ kind: c.kind, actual: c.actual, part: c.part })), parts: ref.parts?.map((p) => ({ name: p.name, points: 99 })) }, ref); // prettier-ignore
  assert.ok(full.passed);
  // Checks moved out of their parts match nothing.
  const moved = judgeTest({ test: "t", checks: ref.checks.map((c) => ({ kind: c.kind, actual: c.actual })), parts: ref.parts }, ref); // prettier-ignore
  assert.equal(
    moved.parts?.map((p) => p.passed),
    [false, false, false],
  );
});

test.run();
