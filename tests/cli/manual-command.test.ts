// `tito manual` and the `tito gradebook` listing as an instructor runs them, through each
// command's run([...]) in this process, on a gradebook of attempts made by hand (no kernel).
import { existsSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { feedbackPath, Gradebook, pseudonym, pseudonymKey } from "@tinytorch-ts/grader";
import { run as gradebook } from "../../tito/src/commands/gradebook";
import { run as manual } from "../../tito/src/commands/manual";
import { grade, makeCourse, type Course } from "../grader/manual-helpers";

/** Runs a command's run(args) and returns its exit code and what it printed. */
async function capture(command: (args: string[]) => Promise<number>, args: string[]) {
  const out: string[] = [];
  const err: string[] = [];
  const { log, error } = console;
  console.log = (...a: unknown[]) => void out.push(a.join(" "));
  console.error = (...a: unknown[]) => void err.push(a.join(" "));
  try {
    const code = await command(args);
    return { code, stdout: out.join("\n"), stderr: err.join("\n") };
  } finally {
    console.log = log;
    console.error = error;
  }
}

let course: Course;
const tito = (...args: string[]) => capture(manual, ["--manifest", course.manifestFile, "--out", course.out, ...args]); // prettier-ignore

test.before(async () => {
  course = makeCourse();
  await grade(course, [
    { student: "alice.zephyr", answers: { "explain-double": "x + x = 2x" } },
    { student: "bob.quarrel", answers: { "explain-double": "2 + 2 = 4" }, score: 2, penalty: 0.1 },
  ]);
});

test("with no question: each question, its points, answers to score and scored", async () => {
  const r = await tito();
  assert.is(r.code, 0, r.stderr);
  assert.match(r.stdout, /explain-double\s+2 pts\s+2 to score, 0 scored/);
  assert.match(r.stdout, /why-triple\s+1 pt\s+2 to score, 0 scored/);
  assert.match(r.stdout, /4 answer\(s\) to score/);
});

test("--question writes the page and the template; the filled template imports", async () => {
  const r = await tito("--question", "explain-double");
  assert.is(r.code, 0, r.stderr);
  const page = join(course.out, "manual", "90_fixture", "explain-double.html");
  const template = page.replace(/\.html$/, ".csv");
  assert.ok(existsSync(page) && existsSync(template), r.stdout);
  assert.not.ok(readFileSync(page, "utf8").includes("alice.zephyr"), "pseudonyms by default");
  const rows = readFileSync(template, "utf8").trimEnd().split("\r\n");
  assert.is(rows.length, 3);
  // Which row is whose, the test learns from the gradebook's key, as no instructor would.
  const book = await Gradebook.open(join(course.out, "gradebook.sqlite"));
  const alice = pseudonym(pseudonymKey(book), "alice.zephyr");
  book.close();
  const filled = rows.map((row) => row.startsWith(`${alice},`) ? row.replace(/,,$/, ",2,clear") : row.replace(/,,$/, ',1,"an example, not the rule"')); // prettier-ignore
  writeFileSync(template, filled.join("\r\n"));
  const imported = await tito("--import", template, "--grader", "prof");
  assert.is(imported.code, 0, imported.stderr);
  assert.match(imported.stdout, /2 new, 0 changed, 0 confirmed for a newer attempt, 0 unchanged/);
  assert.match(imported.stdout, /new {6}student-[0-9a-f]{8} {2}explain-double {2}[12]/);
  assert.match(imported.stdout, /feedback pages updated: 2/);
  const feedback = readFileSync(feedbackPath(course.out, "90_fixture", "bob.quarrel"), "utf8");
  assert.match(feedback, /an example, not the rule/);
  const named = await tito("--question", "explain-double", "--names", "--page", join(course.dir, "named.html")); // prettier-ignore
  assert.is(named.code, 0, named.stderr);
  assert.match(readFileSync(join(course.dir, "named.csv"), "utf8"), /^alice\.zephyr,explain-double,2,clear\r$/m); // prettier-ignore
});

test("a bad file: every problem on stderr as file:line, exit 2, nothing recorded", async () => {
  const file = join(course.dir, "bad.csv");
  writeFileSync(file, "student,question,score\nalice.zephyr,why-triple,5\nzed,why-triple,1\n");
  const r = await tito("--import", file);
  assert.is(r.code, 2);
  assert.match(r.stderr, /nothing was recorded: 2 problem\(s\)/);
  assert.match(r.stderr, `${file}:2: score 5 is above the question's 1 point`);
  assert.match(r.stderr, `${file}:3: no attempt on 90_fixture by "zed"`);
  const list = await tito();
  assert.match(list.stdout, /why-triple\s+1 pt\s+2 to score, 0 scored/);
});

test("tito gradebook lists auto, manual and total points per student", async () => {
  const r = await capture(gradebook, ["--db", join(course.out, "gradebook.sqlite")]);
  assert.is(r.code, 0, r.stderr);
  assert.match(r.stdout, /alice\.zephyr\s+90_fixture\s+#1 {2}auto 6\/6, manual 2\/3 \(1 unscored\), total 8\n/); // prettier-ignore
  assert.match(r.stdout, /bob\.quarrel\s+90_fixture\s+#1 {2}auto 2\/6, manual 1\/3 \(1 unscored\), total 2\.7 \(after a 10% penalty\)/); // prettier-ignore
});

test("usage errors: exit 2 and a reason", async () => {
  for (const [args, message] of [
    [[], "--module is required"],
    [["--module", "90", "--question", "q", "--import", "f.csv"], "leave out --question"],
    [["--module", "90", "--page", "p.html"], "--page and --template go with --question"],
    [["--module", "90", "--grader", "me"], "--grader goes with --import"],
  ] as const) {
    const r = await capture(manual, [...args]);
    assert.is(r.code, 2, args.join(" "));
    assert.match(r.stderr, message);
  }
  const unknown = await tito("--question", "nope");
  assert.is(unknown.code, 2);
  assert.match(unknown.stderr, /no question "nope" graded by hand \(its questions: explain-double, why-triple\)/); // prettier-ignore
  const noBook = await capture(manual, ["--manifest", course.manifestFile, "--out", join(course.dir, "none")]); // prettier-ignore
  assert.is(noBook.code, 1);
  assert.match(noBook.stderr, /no gradebook at/);
});

test.after(() => rmSync(course.dir, { recursive: true, force: true }));
test.run();
