// The class summary (`tito gradebook --summary`) on hand-made gradebooks, no kernel: totals per
// module and course (automatic + by hand, after the penalty), failures per test and per part,
// the wide CSV (formulas neutralised, empty cells for a module not attempted) and the HTML page
// (self-contained, escaped, charts as inline SVG). Fast tier: it renders vega charts in Node,
// about a second, and needs no kernel.
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { Gradebook } from "../../grader/src/gradebook";
import { summarizeGradebook } from "../../grader/src/summary";
import { summaryCsv } from "../../grader/src/summary-csv";
import { failuresChart, summaryHtml } from "../../grader/src/summary-html";
import type { SubmissionResult, TestResult } from "../../grader/src/types";

function tr(gradeId: string, passed: boolean, extra: Partial<TestResult> = {}): TestResult {
  return { gradeId, name: gradeId, cellIndex: 0, score: passed ? 2 : 0, maxScore: 2, status: passed ? "passed" : "failed", output: "", ...extra }; // prettier-ignore
}

function attempt(
  student: string,
  module: string,
  tests: TestResult[],
  extra: Partial<SubmissionResult> = {},
): SubmissionResult {
  // prettier-ignore
  return {
    module,
    student,
    submissionHash: `${student}-${module}-${Math.random()}`,
    manifestHash: "m",
    status: "graded",
    score: tests.reduce((n, t) => n + (t.status === "manual" ? 0 : t.score), 0),
    maxScore: tests.reduce((n, t) => n + t.maxScore, 0),
    tests,
    tampering: [],
    studentCells: [],
    isolation: [],
    startedAt: "2026-02-07T00:00:00Z",
    finishedAt: "2026-02-07T00:00:05Z",
    executionTimeMs: 5000,
    ...extra,
  };
}

const parts = (a: boolean, b: boolean) => [
  { name: "shape", score: a ? 1 : 0, maxScore: 1, passed: a, hidden: false },
  { name: "edge", score: b ? 1 : 0, maxScore: 1, passed: b, hidden: true },
];

async function handMadeBook(): Promise<Gradebook> {
  const book = await Gradebook.open(join(mkdtempSync(join(tmpdir(), "tito-summary-")), "gradebook.sqlite")); // prettier-ignore
  const manual = tr("explain", false, { status: "manual", score: 0, maxScore: 4, answer: "…" });
  // 01_a: ann full marks, on time; ben fails "t-two" and the hidden part, 1 day late (−10%);
  // an earlier attempt of ben's is superseded.
  book.record(attempt("ben", "01_a", [tr("t-one", false), tr("t-two", false), tr("t-parts", false, { parts: parts(false, false) }), manual], { manualMaxScore: 4 })); // prettier-ignore
  book.record(attempt("ann", "01_a", [tr("t-one", true), tr("t-two", true), tr("t-parts", true, { parts: parts(true, true) }), manual], { manualMaxScore: 4 })); // prettier-ignore
  book.record(attempt("ben", "01_a", [tr("t-one", true), tr("t-two", false), tr("t-parts", false, { score: 1, parts: parts(true, false) }), manual], { manualMaxScore: 4 }), { penalty: 0.1, lateSeconds: 3600 }); // prettier-ignore
  // 02_b: only ann, and a student whose id is a formula; a grader error is not a failure.
  book.record(attempt("ann", "02_b", [tr("u-one", false)]));
  book.record(attempt('=HYPERLINK("x")', "02_b", [tr("u-one", true)]));
  book.record(attempt("cyd", "02_b", [tr("u-one", false)], { status: "error", reason: "kernel died" })); // prettier-ignore
  book.recordManual([
    { student: "ann", module: "01_a", question: "explain", score: 3, max_score: 4, comment: null, grader: "ta", source: null }, // prettier-ignore
    { student: "ben", module: "01_a", question: "explain", score: 4, max_score: 4, comment: null, grader: "ta", source: null }, // prettier-ignore
  ]);
  return book;
}

test("totals: automatic plus by hand, after the penalty; the course total adds modules", async () => {
  const s = summarizeGradebook(await handMadeBook());
  assert.equal(s.modules.map((m) => [m.module, m.autoMax, m.manualMax, m.maxScore]), [["01_a", 6, 4, 10], ["02_b", 2, 0, 2]]); // prettier-ignore
  assert.equal(s.students, ['=HYPERLINK("x")', "ann", "ben", "cyd"]);
  const ben = s.byStudent.get("ben")?.get("01_a");
  assert.equal([ben?.autoScore, ben?.manualScore, ben?.penalty], [3, 4, 0.1]);
  assert.ok(Math.abs((ben?.total ?? 0) - 6.3) < 1e-9, "(3 + 4) × 0.9");
  assert.is(s.courseTotal("ann"), 6 + 3 + 0);
  assert.is(s.courseMax, 12);
});

test("failures: per test, per part for a test with parts, most failed first, graded attempts only", async () => {
  const s = summarizeGradebook(await handMadeBook());
  assert.equal(
    s.modules[0].failures.map((f) => [f.label, f.failed, f.graded]),
    [
      ["t-parts: edge", 1, 2],
      ["t-two", 1, 2],
      ["t-one", 0, 2],
      ["t-parts: shape", 0, 2],
    ],
  );
  assert.equal(s.modules[1].failures, [{ label: "u-one", failed: 1, graded: 2 }], "cyd's grader error is not counted"); // prettier-ignore
});

test("the wide CSV: one row per student, four columns per module, formulas neutralised", async () => {
  const csv = summaryCsv(summarizeGradebook(await handMadeBook()));
  const lines = csv.trim().split("\n");
  assert.is(lines[0], "student,01_a automatic (of 6),01_a manual (of 4),01_a penalty,01_a total (of 10),02_b automatic (of 2),02_b manual (of 0),02_b penalty,02_b total (of 2),course total (of 12)"); // prettier-ignore
  assert.is(lines[1], `"'=HYPERLINK(""x"")",,,,,2,0,0,2,2`);
  assert.is(lines[2], "ann,6,3,0,9,0,0,0,0,9");
  assert.is(lines[3], "ben,3,4,0.1,6.3,,,,,6.3");
  assert.is(lines[4], "cyd,,,,,0,0,0,0,0");
  assert.is(lines.length, 5);
});

test("the HTML page: self-contained, escaped, a histogram and a failures chart per module", async () => {
  const html = await summaryHtml(summarizeGradebook(await handMadeBook()));
  assert.not.match(html, /<script/i);
  assert.not.match(html, /(src|href)="?https?:/i, "no external resource");
  assert.not.match(html, /=HYPERLINK\("x"\)/, "ids are escaped");
  assert.match(html, /<td>=HYPERLINK\(&quot;x&quot;\)<\/td>/);
  assert.is(html.match(/<svg/g)?.length, 4, "two charts for each of two modules");
  assert.match(html, /01_a: totals/);
  assert.match(html, /01_a: students who failed each test/);
  assert.match(html, /<td>ben<\/td><td>6\.3 \(−10%\)<\/td><td>—<\/td><td>6\.3<\/td>/);
  assert.is(html, await summaryHtml(summarizeGradebook(await handMadeBook())), "deterministic");
});

test("the failures chart keeps the order given and escapes names in its SVG", async () => {
  const spec = failuresChart("m", [{ label: "<b>&x", failed: 2, graded: 3 }, { label: "a", failed: 1, graded: 3 }]); // prettier-ignore
  const { renderChart } = await import("tinytorch-ts/support/chart");
  const svg = (await renderChart(spec)).svg;
  assert.not.match(svg, /<b>/);
  assert.match(svg, /&lt;b&gt;&amp;x/);
  assert.ok(svg.indexOf("&lt;b&gt;") < svg.indexOf(">a<"), "most failed first");
});

test("an empty gradebook gives an empty summary", async () => {
  const book = await Gradebook.open(join(mkdtempSync(join(tmpdir(), "tito-summary-")), "g.sqlite")); // prettier-ignore
  const s = summarizeGradebook(book);
  assert.equal([s.modules, s.students, s.courseMax], [[], [], 0]);
  assert.is(summaryCsv(s), "student,course total (of 0)\n");
  assert.match(await summaryHtml(s), /No attempts yet/);
});

test.run();
