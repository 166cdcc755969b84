// The course file (grader/src/course-file.ts) and the times CSV (submission-times.ts): what a
// valid file gives, and that every bad file is refused before grading with the file and the
// JSON path (or line) of each problem.
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "uvu";
import * as assert from "uvu/assert";
import {
  CourseFileError,
  jsonPath,
  loadCourseSettings,
  NO_COURSE,
  parseCourseFile,
} from "../../grader/src/course-file";
import { parseSubmissionTimes, SubmissionTimesError } from "../../grader/src/submission-times";

function problems(json: unknown): string[] {
  try {
    parseCourseFile(typeof json === "string" ? json : JSON.stringify(json), "course.json");
  } catch (e) {
    assert.instance(e, CourseFileError);
    const err = e as CourseFileError;
    // Every line of the message names the file.
    for (const line of err.message.split("\n")) assert.match(line, /^course\.json: /);
    return err.problems;
  }
  assert.unreachable("the file was accepted");
  return [];
}

test("a full course file", () => {
  const c = parseCourseFile(
    JSON.stringify({
      $schema: "./grader/src/course-file.schema.json",
      modules: { "01_tensor": { due: "2026-02-06T23:59:00-05:00" }, "02_activations": { due: "2026-02-13T23:59:00Z" } }, // prettier-ignore
      latePolicy: { kind: "per-day", perDay: 0.1, cutoffDays: 5 },
      extensions: { "alice~smith": { "01_tensor": "2026-02-08T23:59:00-05:00" } },
      gradescope: { hiddenTests: "hidden" },
    }),
    "course.json",
  );
  assert.is(c.due.get("01_tensor"), Date.parse("2026-02-07T04:59:00Z"));
  assert.equal(c.latePolicy, { kind: "per-day", perDay: 0.1, cutoffDays: 5 });
  assert.is(c.extensions.get("alice~smith")?.get("01_tensor"), Date.parse("2026-02-09T04:59:00Z")); // prettier-ignore
  assert.is(c.hiddenTests, "hidden");
  assert.equal(c.warnings, []);
});

test("defaults: no policy is none, hidden tests show after the due date", () => {
  const c = parseCourseFile("{}", "course.json");
  assert.equal(c.latePolicy, { kind: "none" });
  assert.is(c.hiddenTests, "after_due_date");
  assert.is(parseCourseFile('{"latePolicy": {"kind": "cutoff"}}', "c").latePolicy.kind, "cutoff");
});

test("each problem names its JSON path", () => {
  assert.equal(problems({ modules: { "01_tensor": { due: "2026-02-06T23:59:00" } } }), [
    '$.modules["01_tensor"].due: not an ISO 8601 date and time with a UTC offset (e.g. 2026-02-06T23:59:00-05:00)',
  ]);
  assert.equal(problems({ modules: { "01_tensor": { due: "2026-02-30T10:00:00Z" } } }), [
    '$.modules["01_tensor"].due: "2026-02-30T10:00:00Z" is not a real date and time',
  ]);
  assert.equal(problems({ modules: { tensor: { due: "2026-02-06T23:59:00Z" } } }), [
    "$.modules.tensor: not a module name (NN_name, e.g. 01_tensor)",
  ]);
  assert.equal(problems({ modules: { "01_tensor": {} } }), ['$.modules["01_tensor"]: missing "due"']); // prettier-ignore
  assert.equal(problems({ latePolicy: { kind: "weekly" } }), ['$.latePolicy.kind: must be "none", "per-day" or "cutoff"']); // prettier-ignore
  assert.equal(problems({ latePolicy: { perDay: 0.1 } }), ['$.latePolicy: missing "kind"']);
  assert.equal(problems({ latePolicy: { kind: "per-day" } }), ['$.latePolicy: missing "perDay"']);
  assert.equal(problems({ latePolicy: { kind: "per-day", perDay: 1.5 } }), ["$.latePolicy.perDay: must be <= 1"]); // prettier-ignore
  assert.equal(problems({ latePolicy: { kind: "per-day", perDay: 0 } }), ["$.latePolicy.perDay: must be > 0"]); // prettier-ignore
  assert.equal(problems({ latePolicy: { kind: "per-day", perDay: 0.1, cutof: 3 } }), ["$.latePolicy.cutof: unknown property (a typo?)"]); // prettier-ignore
  assert.equal(problems({ latePolicy: { kind: "cutoff", perDay: 0.1 } }), ["$.latePolicy.perDay: unknown property (a typo?)"]); // prettier-ignore
  assert.equal(problems({ gradescope: { hiddenTests: "later" } }), ['$.gradescope.hiddenTests: must be one of "visible", "hidden", "after_due_date", "after_published"']); // prettier-ignore
  assert.equal(problems({ dueDates: {} }), ["$.dueDates: unknown property (a typo?)"]);
  assert.equal(problems([]), ["$: must be object"]);
  assert.equal(problems("{ not json"), [problems("{ not json")[0]]);
  assert.match(problems("{ not json")[0], /^not valid JSON/);
});

test("every problem at once; an extension needs a module with a due date", () => {
  const found = problems({
    modules: { "01_tensor": { due: "2026-02-06T23:59:00Z" } },
    extensions: { bob: { "02_activations": "2026-02-06T23:59:00Z", "01_tensor": "soon" } },
    latePolicy: { kind: "per-day", perDay: 2 },
  });
  assert.equal(found.sort(), [
    '$.extensions.bob["01_tensor"]: not an ISO 8601 date and time with a UTC offset (e.g. 2026-02-06T23:59:00-05:00)', // prettier-ignore
    "$.latePolicy.perDay: must be <= 1",
  ]);
  assert.equal(problems({ extensions: { bob: { "02_activations": "2026-02-06T23:59:00Z" } } }), [
    '$.extensions.bob["02_activations"]: module 02_activations has no due date in $.modules to extend', // prettier-ignore
  ]);
  assert.equal(problems({ extensions: { "": {} } }), ['$.extensions[""]: a student id must not be empty']); // prettier-ignore
});

test("JSON paths read like the file", () => {
  assert.is(jsonPath(""), "$");
  assert.is(jsonPath("/latePolicy/perDay"), "$.latePolicy.perDay");
  assert.is(jsonPath("/extensions/a~1b~0c/01_x"), '$.extensions["a/b~c"]["01_x"]');
});

test("the course file is found at the course root, or given, or absent", () => {
  const root = mkdtempSync(join(tmpdir(), "tito-course-"));
  assert.is(loadCourseSettings(undefined, root), NO_COURSE);
  assert.is(loadCourseSettings(undefined, undefined), NO_COURSE);
  writeFileSync(join(root, "course.json"), '{"latePolicy": {"kind": "cutoff"}}');
  assert.is(loadCourseSettings(undefined, root).latePolicy.kind, "cutoff");
  writeFileSync(join(root, "other.json"), '{"latePolicy": {"kind": "none", "x": 1}}');
  assert.throws(() => loadCourseSettings(join(root, "other.json"), root), /other\.json: \$\.latePolicy\.x: unknown property/); // prettier-ignore
  assert.throws(() => loadCourseSettings(join(root, "missing.json")), /missing\.json: cannot read the course file/); // prettier-ignore
});

function timesProblems(text: string): string[] {
  try {
    parseSubmissionTimes(text, "times.csv");
  } catch (e) {
    assert.instance(e, SubmissionTimesError);
    return (e as SubmissionTimesError).message.split("\n");
  }
  assert.unreachable("accepted");
  return [];
}

test("a times CSV: quoted ids, offsets, a BOM, CRLF and blank lines", () => {
  const t = parseSubmissionTimes(
    '\uFEFFstudent,submitted_at\r\nann,2026-02-06T23:59:00-05:00\r\n\r\n"o,brien",2026-02-07T04:59:01Z\r\n',
    "times.csv",
  );
  assert.equal(
    [...t],
    [
      ["ann", Date.parse("2026-02-07T04:59:00Z")],
      ["o,brien", Date.parse("2026-02-07T04:59:01Z")],
    ],
  );
});

test("a times CSV is checked row by row, each problem with its line", () => {
  assert.equal(
    timesProblems(
      [
        "student,submitted_at",
        "ann,2026-02-06T23:59:00-05:00",
        "ben,2026-02-06 23:59",
        ",2026-02-06T23:59:00Z",
        "cat,2026-02-06T23:59:00Z,extra",
        "ann,2026-02-07T23:59:00Z",
        "dan,2026-02-06T23:59:00",
      ].join("\n"),
    ),
    [
      'times.csv:3: "2026-02-06 23:59" is not an ISO 8601 date and time with a UTC offset (e.g. 2026-02-06T23:59:00-05:00)', // prettier-ignore
      "times.csv:4: the student id is empty",
      "times.csv:5: expected 2 fields (student,submitted_at), found 3",
      "times.csv:6: a second time for ann (the first is on line 2)",
      'times.csv:7: "2026-02-06T23:59:00" is not an ISO 8601 date and time with a UTC offset (e.g. 2026-02-06T23:59:00-05:00)', // prettier-ignore
    ],
  );
  assert.equal(timesProblems("name,time\nann,2026-02-06T23:59:00Z\n"), [
    'times.csv:1: the first line must be the header "student,submitted_at"',
  ]);
  assert.equal(timesProblems('student,submitted_at\n"ann,2026-02-06T23:59:00Z\n'), [
    "times.csv:2: a quoted field is never closed",
  ]);
  assert.equal(timesProblems(""), ['times.csv:1: the first line must be the header "student,submitted_at"']); // prettier-ignore
});

test.run();
