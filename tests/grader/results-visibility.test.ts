// results.json and the feedback page without a kernel (hand-made results): Gradescope visibility
// from what a test checks, one entry per part, the lateness line, the hidden badges; and what
// the Gradescope runner reads from submission_metadata.json.
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { renderFeedback } from "../../grader/src/feedback-html";
import { readSubmissionMetadata } from "../../grader/src/gradescope-run";
import { lateness } from "../../grader/src/late-policy";
import { hiddenTestIds, toGradescope } from "../../grader/src/results-json";
import type { SubmissionResult, TestResult } from "../../grader/src/types";
import { loadFixtureManifest } from "./helpers";

function t(gradeId: string, extra: Partial<TestResult> = {}): TestResult {
  return { gradeId, name: gradeId, cellIndex: 0, score: 0, maxScore: 2, status: "failed", output: "", ...extra }; // prettier-ignore
}

const result: SubmissionResult = {
  module: "90_fixture",
  student: "ann",
  submissionHash: "a".repeat(64),
  manifestHash: "m",
  status: "graded",
  score: 5,
  maxScore: 10,
  tests: [
    t("test-visible", { status: "passed", score: 2, output: "hello\n" }),
    t("test-hidden", { message: "the test hidden check 3 failed: a value differs (hidden checks do not show their values)" }), // prettier-ignore
    t("test-parts", {
      score: 3,
      maxScore: 6,
      output: "printed once\n",
      message: 'part "edge" failed: it …',
      parts: [
        { name: "shape", score: 3, maxScore: 3, passed: true, hidden: false },
        { name: "edge", score: 0, maxScore: 3, passed: false, hidden: true, message: "it failed a hidden check" }, // prettier-ignore
      ],
    }),
  ],
  tampering: [],
  studentCells: [],
  isolation: [],
  startedAt: "2026-02-07T00:00:00Z",
  finishedAt: "2026-02-07T00:00:05Z",
  executionTimeMs: 5000,
};
const hiddenTests = new Set(["test-hidden", "test-parts"]);

test("the fixture manifest's tests with hidden regions are found", () => {
  assert.equal([...hiddenTestIds(loadFixtureManifest())].sort(), ["test-unit-double", "test-unit-triple"]); // prettier-ignore
});

test("visibility: visible checks only are visible; hidden checks get the course's setting", () => {
  const gs = toGradescope(result, { hiddenTests });
  assert.equal(
    gs.tests.map((e) => [e.name, e.visibility, e.score, e.max_score, e.status]),
    [
      ["test-visible", "visible", 2, 2, "passed"],
      ["test-hidden", "after_due_date", 0, 2, "failed"],
      ["test-parts: shape", "visible", 3, 3, "passed"],
      ["test-parts: edge", "after_due_date", 0, 3, "failed"],
    ],
  );
  assert.is(gs.tests.filter((e) => e.output.includes("printed once")).length, 1, "a test's output is shown once"); // prettier-ignore
  assert.match(gs.tests[2].output, /printed once/, "with its first visible part");
  const hidden = toGradescope(result, { hiddenTests, hiddenVisibility: "hidden" });
  assert.equal(
    hidden.tests.map((e) => e.visibility),
    ["visible", "hidden", "visible", "hidden"],
  );
  assert.is(toGradescope(result).tests[1].visibility, "visible", "no manifest information: visible"); // prettier-ignore
});

test("a test with parts that did not finish says why once, with its first visible part", () => {
  const stopped = t("test-parts", {
    status: "timeout",
    message: "the cell timed out after 30 s",
    parts: [
      { name: "edge", score: 0, maxScore: 3, passed: false, hidden: true, message: "it did not run" }, // prettier-ignore
      { name: "shape", score: 0, maxScore: 3, passed: false, hidden: false, message: "it did not run" }, // prettier-ignore
    ],
  });
  const gs = toGradescope({ ...result, tests: [stopped] }, { hiddenTests });
  assert.equal(
    gs.tests.map((e) => e.output.includes("timed out after 30 s")),
    [false, true],
  );
});

test("late work is stated in results.json and on the feedback page", () => {
  const due = Date.parse("2026-02-06T23:59:00-05:00");
  const late = lateness(due + 27 * 3600_000, due, { kind: "per-day", perDay: 0.1 });
  const gs = toGradescope(result, { late });
  assert.is(gs.score, 5, "the raw score");
  assert.match(gs.output, /Submitted 1 day 3 h late: −20% of the module's total/);
  const page = renderFeedback(result, { late, hiddenTests });
  assert.match(page, /<p class="late">Submitted 1 day 3 h late: −20% of the module&#39;s total/);
  const onTime = lateness(due, due, { kind: "per-day", perDay: 0.1 });
  assert.not.match(toGradescope(result, { late: onTime }).output, /late/i);
  assert.not.match(renderFeedback(result, { late: onTime }), /class="late"/);
  const noPenalty = lateness(due + 1000, due, { kind: "none" });
  assert.match(toGradescope(result, { late: noPenalty }).output, /Submitted 1 s late \(no penalty\)\./); // prettier-ignore
});

test("the feedback page marks tests with hidden checks, hidden parts and hidden failures", () => {
  const page = renderFeedback(result, { hiddenTests });
  assert.is(page.match(/has hidden checks/g)?.length, 2);
  assert.is(page.match(/failed a hidden check: no values shown/g)?.length, 2);
  assert.match(page, /<li class="failed hidden-part">✘ edge <span class="badge hidden">hidden<\/span>/); // prettier-ignore
  assert.match(page, /<li class="passed">✔ shape <span class="badge">visible<\/span>/);
  assert.match(page, /class="test failed hidden-failure"/);
});

test("Gradescope's submission metadata: created_at and the submitters' ids", () => {
  const root = mkdtempSync(join(tmpdir(), "tito-gs-meta-"));
  assert.equal(readSubmissionMetadata(root), { ids: [] });
  writeFileSync(
    join(root, "submission_metadata.json"),
    JSON.stringify({
      id: 1,
      created_at: "2026-02-06T21:00:00.471147-08:00",
      users: [{ email: "ann@example.edu", sid: "1234", name: "Ann" }, { email: 7 }],
    }),
  );
  assert.equal(readSubmissionMetadata(root), {
    createdMs: Date.parse("2026-02-07T05:00:00.471Z"),
    ids: ["1234", "ann@example.edu"],
  });
  writeFileSync(join(root, "submission_metadata.json"), '{"created_at": "last tuesday"}');
  assert.equal(readSubmissionMetadata(root), { createdMs: undefined, ids: [] });
  writeFileSync(join(root, "submission_metadata.json"), "not json");
  assert.equal(readSubmissionMetadata(root), { ids: [] });
});

test.run();
