// Answers graded by hand (nbgrader grade + solution): the student can write in them, their
// rubric never reaches the student, and the manifest carries their points, model answer and
// rubric for the instructor.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { buildManifest } from "../../tito/src/build/manifest";
import { clearRubrics, removeRubrics, rubricOf } from "../../tito/src/transforms/clear-rubrics";
import { lockCells } from "../../tito/src/transforms/lock-cells";
import { runPipeline } from "../../tito/src/build/pipeline";
import { code, grade, markdown, notebook, solution } from "./make-notebook";

const ANSWER = [
  "Why does a float32 sum of 10⁶ ones drift?",
  "",
  "### BEGIN SOLUTION",
  "Each addition rounds; past 2²⁴ the increments vanish.",
  "### END SOLUTION",
  "",
  "### BEGIN RUBRIC",
  "1 point: names rounding at each addition. 0: anything else.",
  "### END RUBRIC",
].join("\n");

function manual(points: number) {
  return { ...solution("explain-drift"), grade: true, points };
}

test("an answer graded by hand stays editable and undeletable; a test stays locked", () => {
  const nb = notebook([markdown(ANSWER, manual(1)), code("test()", grade("t", 2))]);
  const out = lockCells(nb);
  assert.is(out.cells[0]?.metadata.editable, undefined);
  assert.is(out.cells[0]?.metadata.deletable, false);
  assert.is(out.cells[1]?.metadata.editable, false);
});

test("the rubric is read out and removed, markers included", () => {
  assert.is(rubricOf(ANSWER, "markdown"), "1 point: names rounding at each addition. 0: anything else."); // prettier-ignore
  assert.not.match(removeRubrics(ANSWER, "markdown"), /RUBRIC|names rounding/);
  assert.is(rubricOf("no rubric here", "markdown"), undefined);
  const cleared = clearRubrics(notebook([markdown(ANSWER, manual(1))]));
  assert.not.match(cleared.cells[0]?.source ?? "", /RUBRIC/);
});

test("the manifest: role manual, its points, the model answer and the rubric; the student gets neither", () => {
  const nb = notebook([markdown(ANSWER, manual(2)), code("test()", grade("t", 3))]);
  const student = runPipeline(nb, "student", "default");
  assert.not.match(student.cells[0]?.source ?? "", /RUBRIC|rounding|increments/);
  const m = buildManifest({
    module: "99_x",
    number: "99",
    sourceFile: "x_dev.ts",
    sourceText: "",
    dependencies: [],
    student,
    grading: runPipeline(nb, "grading", "default"),
    reference: runPipeline(nb, "reference", "default"),
  });
  const cell = m.cells[0];
  assert.is(cell?.role, "manual");
  assert.is(cell?.points, 2);
  assert.match(cell?.gradingSource ?? "", /increments vanish/);
  assert.not.match(cell?.gradingSource ?? "", /RUBRIC/);
  assert.match(cell?.rubric ?? "", /names rounding/);
  assert.is(m.totalPoints, 5, "answers graded by hand count in the module's points");
});

test("a rubric anywhere but in an answer graded by hand is refused", () => {
  const nb = notebook([markdown(ANSWER, solution("not-graded"))]);
  assert.throws(
    () =>
      buildManifest({
        module: "99_x",
        number: "99",
        sourceFile: "x_dev.ts",
        sourceText: "",
        dependencies: [],
        student: runPipeline(nb, "student", "default"),
        grading: runPipeline(nb, "grading", "default"),
        reference: runPipeline(nb, "reference", "default"),
      }),
    /has a rubric, but only an answer graded by hand/,
  );
});

test.run();
