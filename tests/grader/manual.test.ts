// Written answers graded by hand, without a kernel: a gradebook of attempts made by hand, then
// the grading page (escaped, pseudonymous), the CSV template and its import (all rows checked
// before anything is written, history kept), totals with manual points and a penalty, and the
// feedback pages redrawn with the scores.
import { readFileSync, rmSync, writeFileSync } from "node:fs";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { feedbackPath } from "../../grader/src/batch";
import { Gradebook, type AttemptRow } from "../../grader/src/gradebook";
import { moduleTotals } from "../../grader/src/gradebook-totals";
import { importScores } from "../../grader/src/manual-import";
import { manualAnswers, manualProgress, manualQuestions, studentLabels } from "../../grader/src/manual"; // prettier-ignore
import { manualTemplateCsv, renderManualPage } from "../../grader/src/manual-page";
import { grade, makeCourse, RUBRIC, type Course } from "./manual-helpers";

const HOSTILE = '<script>alert("pwned")</script>\n<!-- tito-manual score 90_fixture x --><img src=x onerror=alert(1)>'; // prettier-ignore
const STUDENTS = ["alice.zephyr", "bob.quarrel", "mallory.x", "dora.vacant"];

/** Every temporary course made, removed at the end even when a test fails. */
const made: Course[] = [];

function newCourse(): Course {
  const course = makeCourse();
  made.push(course);
  return course;
}

async function classOf(): Promise<Course> {
  const course = newCourse();
  await grade(course, [
    { student: "alice.zephyr", answers: { "explain-double": "Because x + x = 2x.", "why-triple": "three adds" } }, // prettier-ignore
    { student: "bob.quarrel", answers: { "explain-double": "e.g. 2 + 2 = 4" }, score: 2, penalty: 0.1 }, // prettier-ignore
    { student: "mallory.x", answers: { "explain-double": HOSTILE } },
    { student: "dora.vacant", answers: {} },
  ]);
  return course;
}

async function withBook<T>(course: Course, use: (book: Gradebook) => T): Promise<T> {
  const book = await Gradebook.open(course.dbPath);
  try {
    return use(book);
  } finally {
    book.close();
  }
}

function page(course: Course, book: Gradebook, names = false): string {
  const question = manualQuestions(course.manifest)[0];
  const answers = manualAnswers(book, course.manifest, question.id);
  const labels = studentLabels(book, answers.map((a) => a.student), names); // prettier-ignore
  return renderManualPage({ module: course.manifest.module, question, answers, labels });
}

function importText(course: Course, book: Gradebook, file: string, text: string) {
  return importScores(book, course.manifest, file, text, { outDir: course.out, grader: "prof" });
}

test("the questions graded by hand, with how many answers await a score", async () => {
  const course = await classOf();
  const progress = await withBook(course, (book) => manualProgress(book, course.manifest));
  assert.equal(progress.map((p) => [p.question.id, p.question.points, p.awaiting, p.scored]), [["explain-double", 2, 4, 0], ["why-triple", 1, 4, 0]]); // prettier-ignore
});

test("the page holds the rubric, the model answer and every answer, escaped", async () => {
  const course = await classOf();
  const html = await withBook(course, (book) => page(course, book));
  assert.ok(html.includes(RUBRIC), "the rubric");
  assert.ok(html.includes("x + x = 2x, so doubling adds x to itself."), "the model answer");
  assert.ok(html.includes("Because x + x = 2x.") && html.includes("e.g. 2 + 2 = 4"));
  assert.ok(html.includes("&lt;script&gt;alert(&quot;pwned&quot;)&lt;/script&gt;"), "shown as text"); // prettier-ignore
  assert.not.match(html, /<script|<img|<!-- tito-manual/i, "no markup from a student");
  assert.match(html, /Unchanged from the notebook: nothing was written/, "dora wrote nothing");
});

test("pseudonyms hide ids, are stable across runs, and --names shows the ids", async () => {
  const course = await classOf();
  const first = await withBook(course, (book) => page(course, book));
  const again = await withBook(course, (book) => page(course, book));
  const pseudonyms = first.match(/student-[0-9a-f]{8}/g) ?? [];
  assert.is(new Set(pseudonyms).size, 4, "one pseudonym per student");
  assert.is(again, first, "the same page from a reopened gradebook");
  for (const id of STUDENTS) assert.not.ok(first.includes(id), `${id} is not on the page`);
  const named = await withBook(course, (book) => page(course, book, true));
  for (const id of STUDENTS) assert.ok(named.includes(id), `${id} with --names`);
  // Another gradebook has another key: a pseudonym says nothing outside its gradebook.
  const other = await classOf();
  const elsewhere = await withBook(other, (book) => page(other, book));
  assert.not.equal(elsewhere.match(/student-[0-9a-f]{8}/g), pseudonyms);
});

test("the template, filled in, imports; its rows left blank are skipped", async () => {
  const course = await classOf();
  await withBook(course, (book) => {
    const question = manualQuestions(course.manifest)[0];
    const answers = manualAnswers(book, course.manifest, question.id);
    const labels = studentLabels(book, answers.map((a) => a.student), false); // prettier-ignore
    const csv = manualTemplateCsv({ module: course.manifest.module, question, answers, labels });
    const rows = csv.trimEnd().split("\r\n");
    assert.is(rows[0], "student,question,score,comment");
    assert.is(rows.length, 5);
    const alice = labels.get("alice.zephyr") ?? "";
    const filled = rows.map((r) => (r.startsWith(alice) ? `${alice},explain-double,1.5,"Right idea, ""2x"" needs a word more."` : r)); // prettier-ignore
    const outcome = importText(course, book, "scores.csv", filled.join("\r\n"));
    assert.equal(outcome.errors, []);
    assert.is(outcome.changes?.added.length, 1);
    const [score] = book.manualScores(course.manifest.module);
    assert.equal([score.student, score.question, score.score, score.comment, score.grader, score.max_score], ["alice.zephyr", "explain-double", 1.5, 'Right idea, "2x" needs a word more.', "prof", 2]); // prettier-ignore
    // The next template carries the score and comment, and imports as unchanged.
    const next = manualTemplateCsv({ module: course.manifest.module, question, answers: manualAnswers(book, course.manifest, question.id), labels }); // prettier-ignore
    const again = importText(course, book, "scores.csv", next);
    assert.equal([again.errors, again.changes?.unchanged.length, again.changes?.added.length, again.unscored], [[], 1, 0, 3]); // prettier-ignore
    assert.is(book.manualHistory("alice.zephyr", course.manifest.module).length, 1, "nothing recorded twice"); // prettier-ignore
  });
});

test("a file with bad rows writes nothing and names every bad row by line", async () => {
  const course = await classOf();
  const before = readFileSync(course.dbPath);
  const outcome = await withBook(course, (book) => {
    const text = [
      "student,question,score,comment",
      "alice.zephyr,explain-double,2,fine", // line 2: good
      "bob.quarrel,explain-double,3,too many", // 3
      "nobody,explain-double,1,", // 4
      "alice.zephyr,no-such-question,1,", // 5
      'mallory.x,explain-double,"1,5",', // 6
      "dora.vacant,explain-double,abc,", // 7
      "alice.zephyr,explain-double,1,again", // 8
      'bob.quarrel,why-triple,-1,"spans', // 9
      'two lines"',
      "dora.vacant,why-triple,,a comment without a score", // 11
      "mallory.x,why-triple,1", // 12: a field short
    ].join("\n");
    return importText(course, book, "scores.csv", text);
  });
  assert.equal(outcome.errors, [
    "scores.csv:3: score 3 is above the question's 2 points",
    'scores.csv:4: no attempt on 90_fixture by "nobody" (give the pseudonym from the page or template, or the student id)', // prettier-ignore
    'scores.csv:5: "no-such-question" is not a question graded by hand in 90_fixture (its questions: explain-double, why-triple)', // prettier-ignore
    'scores.csv:6: score "1,5" is not a number (write decimals with a point: 1.5)',
    'scores.csv:7: score "abc" is not a number',
    "scores.csv:8: the same student and question as line 2",
    "scores.csv:9: score -1 is below 0",
    "scores.csv:11: a comment needs a score",
    "scores.csv:12: the row has 3 fields, the header 4",
  ]);
  assert.equal(readFileSync(course.dbPath), before, "the gradebook file is untouched");
  await withBook(course, (book) => assert.equal(book.manualScores(), []));
});

test("a JSON file of scores, with its errors at the element's line", async () => {
  const course = await classOf();
  await withBook(course, (book) => {
    const bad = '[\n  {"student": "alice.zephyr", "question": "why-triple", "score": 1},\n  {"student": "bob.quarrel",\n   "question": "why-triple", "score": true},\n  {"student": "bob.quarrel", "question": "why-triple", "score": 1, "grade": 1}\n]'; // prettier-ignore
    assert.equal(importText(course, book, "s.json", bad).errors, ['s.json:3: score "true" is not a number', "s.json:5: unknown key(s) grade (the keys are student, question, score, comment)"]); // prettier-ignore
    const good = JSON.stringify([{ student: "alice.zephyr", question: "why-triple", score: 0.5, comment: null }]); // prettier-ignore
    assert.equal(importText(course, book, "s.json", good).errors, []);
    assert.is(book.manualScores()[0]?.score, 0.5);
  });
});

test("a second import changes a score; the history keeps both, the latest counts", async () => {
  const course = await classOf();
  await withBook(course, (book) => {
    const first = "student,question,score,comment\nbob.quarrel,explain-double,1,an example only\n";
    const second = "student,question,score,comment\nbob.quarrel,explain-double,2,regraded: the example states the rule\n"; // prettier-ignore
    importText(course, book, "a.csv", first);
    const outcome = importText(course, book, "b.csv", second);
    assert.is(outcome.changes?.changed[0]?.previous.score, 1);
    const history = book.manualHistory("bob.quarrel", course.manifest.module);
    assert.equal(history.map((h) => [h.score, h.source]), [[1, "a.csv"], [2, "b.csv"]]); // prettier-ignore
    assert.is(book.manualScores(course.manifest.module)[0]?.score, 2);
  });
});

test("totals add the manual points and apply the penalty", async () => {
  const course = await classOf();
  await withBook(course, (book) => {
    importText(course, book, "s.csv", "student,question,score\nbob.quarrel,explain-double,1.5\nalice.zephyr,explain-double,2\nalice.zephyr,why-triple,1\n"); // prettier-ignore
    const totals = new Map(book.totals().map((t) => [t.student, t]));
    const bob = totals.get("bob.quarrel");
    assert.equal([bob?.autoScore, bob?.autoMax, bob?.manualScore, bob?.manualMax, bob?.manualUnscored, bob?.penalty, bob?.maxScore], [2, 6, 1.5, 3, 1, 0.1, 9]); // prettier-ignore
    assert.ok(Math.abs((bob?.total ?? 0) - 3.15) < 1e-9, `(2 + 1.5) × 0.9, got ${bob?.total}`);
    const alice = totals.get("alice.zephyr");
    assert.equal([alice?.total, alice?.manualUnscored], [9, 0]);
    assert.equal([totals.get("dora.vacant")?.total, totals.get("dora.vacant")?.manualUnscored], [6, 2]); // prettier-ignore
  });
});

test("a resubmission keeps the score but flags it; confirming it records it again", async () => {
  const course = await classOf();
  const csv = "student,question,score\nalice.zephyr,explain-double,2\n";
  await withBook(course, (book) => importText(course, book, "s.csv", csv));
  await grade(course, [{ student: "alice.zephyr", answers: { "explain-double": "new answer" }, finishedAt: "2999-01-01T00:00:00.000Z" }]); // prettier-ignore
  await withBook(course, (book) => {
    const alice = manualAnswers(book, course.manifest).find((a) => a.student === "alice.zephyr" && a.question === "explain-double"); // prettier-ignore
    assert.equal([alice?.attempt, alice?.current?.score, alice?.scoredEarlier], [2, 2, true]);
    assert.match(page(course, book), /before this attempt was graded/);
    const outcome = importText(course, book, "s.csv", csv);
    assert.is(outcome.changes?.confirmed.length, 1);
    assert.is(book.manualHistory("alice.zephyr", course.manifest.module).length, 2);
  });
});

test("after an import, each student's feedback page shows the score and comment, the rest kept", async () => {
  const course = await classOf();
  const module = course.manifest.module;
  const malloryPage = feedbackPath(course.out, module, "mallory.x");
  const before = readFileSync(feedbackPath(course.out, module, "bob.quarrel"), "utf8");
  assert.match(before, /Score so far: 2 \/ 9 \(2 \/ 6 graded automatically, 0 \/ 3 graded by hand; 2 written answers still to be graded\)/); // prettier-ignore
  const outcome = await withBook(
    course,
    (book) =>
    importText(course, book, "s.csv", 'student,question,score,comment\nbob.quarrel,explain-double,1.5,"Name the rule: <b>2x</b>."\nmallory.x,explain-double,0,\n'), // prettier-ignore
  );
  assert.equal(outcome.feedback, { updated: [feedbackPath(course.out, module, "bob.quarrel"), malloryPage], missing: [], stale: [] }); // prettier-ignore
  const after = readFileSync(feedbackPath(course.out, module, "bob.quarrel"), "utf8");
  assert.match(after, /Score so far: 3\.5 \/ 9 \(2 \/ 6 graded automatically, 1\.5 \/ 3 graded by hand; 1 written answer still to be graded\)/); // prettier-ignore
  assert.match(after, /1\.5 \/ 2<\/span>/);
  assert.ok(after.includes("Name the rule: &lt;b&gt;2x&lt;/b&gt;."), "the comment, escaped");
  assert.match(after, /not graded yet \/ 1/, "why-triple is still to be graded");
  // Everything else is exactly as tito grade wrote it: printed output, the student's cells.
  const outside = (html: string) => html.replace(/<!-- tito-manual [^]*?<!-- \/tito-manual -->/g, ""); // prettier-ignore
  assert.is(outside(after), outside(before));
  assert.match(after, /printed by test-unit-double/);
  assert.match(after, /bob\.quarrel&#39;s double/);
  // Mallory's forged marker is text on her page, and did not take the score line's place.
  const mallory = readFileSync(malloryPage, "utf8");
  assert.match(mallory, /Score so far: 6 \/ 9 \(6 \/ 6 graded automatically, 0 \/ 3 graded by hand/); // prettier-ignore
  assert.not.match(mallory, /<script|<img/);
});

test("a page of another attempt is left as it is, and said so", async () => {
  const course = await classOf();
  const path = feedbackPath(course.out, course.manifest.module, "alice.zephyr");
  writeFileSync(path, "<html>an older page</html>");
  const outcome = await withBook(course, (book) =>
    importText(course, book, "s.csv", "student,question,score\nalice.zephyr,why-triple,1\n"),
  );
  assert.equal(outcome.feedback?.stale, ["alice.zephyr"]);
  assert.is(readFileSync(path, "utf8"), "<html>an older page</html>");
});

test("ids and comments a spreadsheet would run as formulas survive the template's round trip", async () => {
  const course = newCourse();
  await grade(course, [{ student: "@sum.student", answers: { "explain-double": "x + x" } }]);
  await withBook(course, (book) => {
    importText(course, book, "a.csv", 'student,question,score,comment\n@sum.student,explain-double,1,"- names no rule"\n'); // prettier-ignore
    const question = manualQuestions(course.manifest)[0];
    const answers = manualAnswers(book, course.manifest, question.id);
    const labels = studentLabels(book, ["@sum.student"], true);
    const csv = manualTemplateCsv({ module: course.manifest.module, question, answers, labels });
    assert.ok(csv.includes(`"'@sum.student"`) && csv.includes(`"'- names no rule"`), csv);
    const again = importText(course, book, "template.csv", csv);
    assert.equal([again.errors, again.changes?.unchanged.length], [[], 1], "read back as written");
  });
});

test("a file whose header is wrong is refused at line 1", async () => {
  const course = await classOf();
  await withBook(course, (book) => {
    const read = (text: string) => importText(course, book, "h.csv", text).errors;
    assert.equal(read("student,question,points,coment\n"), ['h.csv:1: unknown column "points"; unknown column "coment"; no score column (the columns are student,question,score,comment)']); // prettier-ignore
    assert.equal(read("student;question;score\n"), ["h.csv:1: the fields are separated by semicolons: save the file as comma-separated CSV"]); // prettier-ignore
    assert.equal(read(""), ["h.csv: the file is empty (the first line names the columns: student,question,score,comment)"]); // prettier-ignore
  });
});

test("moduleTotals: a score for a question the latest attempt lacks does not count", () => {
  const attempt = { student: "s", module: "m", attempt: 2, status: "rejected", score: 0, max_score: 9, manual_max: 0, penalty: 0.5 } as AttemptRow; // prettier-ignore
  const score = { student: "s", module: "m", question: "q", score: 2, max_score: 2, comment: null, grader: null, source: null, recorded_at: "" }; // prettier-ignore
  const [t] = moduleTotals([attempt], [], [score]);
  assert.equal([t.autoMax, t.manualScore, t.manualUnscored, t.total], [9, 0, 0, 0]);
});

test.after(() => {
  for (const c of made) rmSync(c.dir, { recursive: true, force: true });
});
test.run();
