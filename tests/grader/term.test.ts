// test-tier: kernel
// A term's worth of grading through the real CLI, on the fixture module: a class folder graded
// with a course file (a due date, a per-day policy, one extension), so one late submission pays
// its penalty and one extended student does not; a newer notebook graded from another folder,
// then a rerun of the class folder that must skip the older notebook (and --regrade, which grades
// it); a second module graded into the same --out without changing a byte of the first's
// files; and a third, built here from a fixture source, with a test in named parts (partial
// credit) and a written answer scored by hand with `tito manual`. Six notebooks are graded in
// all (about 5 s of kernel each); the rest are skips.
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, statSync, utimesSync, writeFileSync } from "node:fs"; // prettier-ignore
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { KIT_ROOT, type GradingManifest } from "@tinytorch-ts/core";
import { Gradebook, type AttemptRow } from "../../grader/src/gradebook";
import { buildModule } from "tito/build";
import { GOOD, loadFixtureManifest, studentNotebook } from "./helpers";

const DAY = 86400;
const DUE = Date.parse("2026-02-06T23:59:00-05:00") / 1000;
const work = mkdtempSync(join(tmpdir(), "tito-term-"));
const out = join(work, "grades");
const manifests = join(work, "manifests");
const first = loadFixtureManifest();
const second = { ...loadFixtureManifest(), module: "92_second", number: "92" };
mkdirSync(manifests);
writeFileSync(join(manifests, "90_fixture.json"), JSON.stringify(first));
writeFileSync(join(manifests, "92_second.json"), JSON.stringify(second));
writeFileSync(
  join(work, "course.json"),
  JSON.stringify({
    modules: {
      "90_fixture": { due: "2026-02-06T23:59:00-05:00" },
      "92_second": { due: "2026-02-13T23:59:00-05:00" },
    },
    latePolicy: { kind: "per-day", perDay: 0.1, cutoffDays: 5 },
    extensions: { cat: { "90_fixture": "2026-02-09T23:59:00-05:00" } },
  }),
);

/** Writes a notebook with the given modification time (seconds since the epoch). */
function notebook(path: string, text: string, mtime: number): void {
  mkdirSync(join(path, ".."), { recursive: true });
  writeFileSync(path, text);
  utimesSync(path, mtime, mtime);
}

const ONLY_DOUBLE = { double: GOOD.double };
// ben: 1 day 3 h late, two started days: −20%. cat: 2 days late, but extended by 3: on time.
notebook(join(work, "class", "ben.ipynb"), studentNotebook(first, { sources: GOOD }), DUE + DAY + 3 * 3600); // prettier-ignore
notebook(join(work, "class", "cat.ipynb"), studentNotebook(first, { sources: ONLY_DOUBLE }), DUE + 2 * DAY); // prettier-ignore
// cat's newer notebook, collected elsewhere; its time comes from a times file.
notebook(join(work, "resubmitted", "cat.ipynb"), studentNotebook(first, { sources: GOOD }), DUE + 30 * DAY); // prettier-ignore
writeFileSync(join(work, "times.csv"), "student,submitted_at\ncat,2026-02-09T12:00:00-05:00\n");
notebook(join(work, "second", "ben.ipynb"), studentNotebook(second, { sources: GOOD }), DUE); // prettier-ignore

// The third module: built from its source as `tito build` builds a module.
const WRITTEN_SOURCE = "tests/fixtures/grader/93_written/written_dev.ts";
let written: GradingManifest;
let writtenNotebook: string;

function grade(folder: string, module: string, ...more: string[]) {
  const r = spawnSync(
    process.execPath,
    [join(KIT_ROOT, "tito", "bin", "tito.js"), "grade", join(work, folder), "--manifest", join(manifests, `${module}.json`), "--out", out, "--course", join(work, "course.json"), "--cell-timeout", "20", ...more], // prettier-ignore
    { cwd: work, encoding: "utf8", timeout: 300_000 },
  );
  assert.is(r.status, 0, r.stderr + r.stdout);
  return r;
}

async function latest(student: string, module = "90_fixture"): Promise<AttemptRow> {
  const book = await Gradebook.open(join(out, "gradebook.sqlite"));
  try {
    const row = book.latest(student, module);
    assert.ok(row, `no attempt for ${student}`);
    return row;
  } finally {
    book.close();
  }
}

const read = (...p: string[]) => readFileSync(join(out, ...p), "utf8");

test("the class folder: a late submission pays its penalty, an extended one does not", async () => {
  const r = grade("class", "90_fixture", "--jobs", "2");
  assert.match(r.stdout, /90_fixture: 2 graded, 0 unchanged, 0 rejected, 0 grader errors, 0 skipped-older/); // prettier-ignore
  assert.match(r.stderr, /90_fixture due 2026-02-07T04:59:00\.000Z, late policy per-day/);
  const ben = await latest("ben");
  assert.equal([ben.score, ben.penalty, ben.late_seconds], [6, 0.2, DAY + 3 * 3600], "raw score kept"); // prettier-ignore
  assert.is(ben.due_at, "2026-02-07T04:59:00.000Z");
  assert.is(ben.submitted_at, new Date((DUE + DAY + 3 * 3600) * 1000).toISOString());
  const cat = await latest("cat");
  assert.equal([cat.score, cat.penalty], [2, 0]);
  assert.is(cat.due_at, "2026-02-10T04:59:00.000Z", "the extension");
  assert.match(read("feedback", "90_fixture", "ben.html"), /Submitted 1 day 3 h late: −20% of the module/); // prettier-ignore
  assert.match(JSON.parse(read("results", "90_fixture", "ben", "results.json")).output, /Submitted 1 day 3 h late: −20%/); // prettier-ignore
  assert.not.match(read("feedback", "90_fixture", "cat.html"), /class="late"/);
  const tests = JSON.parse(read("results", "90_fixture", "ben", "results.json")).tests as Array<{ name: string; visibility: string }>; // prettier-ignore
  assert.equal(tests.map((t) => t.visibility), ["after_due_date", "after_due_date", "visible"], "tests with hidden checks wait for the due date"); // prettier-ignore
});

test("a newer notebook from another folder, then the class folder again: the older is skipped", async () => {
  const newer = grade("resubmitted", "90_fixture", "--times", join(work, "times.csv"));
  assert.match(newer.stdout, /1 graded/);
  assert.equal([(await latest("cat")).attempt, (await latest("cat")).score], [2, 6]);
  const again = grade("class", "90_fixture");
  assert.match(again.stdout, /0 graded, 1 unchanged, 0 rejected, 0 grader errors, 1 skipped-older/); // prettier-ignore
  assert.match(again.stdout, /cat: skipped-older: cat\.ipynb was submitted 2026-02-09T04:59:00\.000Z, before attempt #2 \(submitted 2026-02-09T17:00:00\.000Z\); --regrade grades it anyway/); // prettier-ignore
  assert.equal([(await latest("cat")).attempt, (await latest("cat")).score], [2, 6], "nothing replaced"); // prettier-ignore
  assert.is(JSON.parse(read("results", "90_fixture", "cat", "results.json")).score, 6);
});

test("--regrade grades the older notebook anyway (unchanged ones are still skipped)", async () => {
  const r = grade("class", "90_fixture", "--regrade");
  assert.match(r.stdout, /1 graded, 1 unchanged, 0 rejected, 0 grader errors, 0 skipped-older/);
  const cat = await latest("cat");
  assert.equal([cat.attempt, cat.score, cat.penalty], [3, 2, 0]);
});

function files(dir: string): Map<string, Buffer> {
  const found = new Map<string, Buffer>();
  const walk = (d: string) => {
    for (const e of readdirSync(d)) {
      const p = join(d, e);
      if (statSync(p).isDirectory()) walk(p);
      else found.set(relative(out, p), readFileSync(p));
    }
  };
  walk(dir);
  return found;
}

test("a second module into the same --out changes no byte of the first module's files", async () => {
  const before = files(out);
  before.delete("gradebook.sqlite"); // one gradebook for the term: it gains the new rows
  assert.ok(before.size >= 4);
  const r = grade("second", "92_second");
  assert.match(r.stdout, /92_second: 1 graded/);
  const after = files(out);
  for (const [path, bytes] of before) assert.ok(after.get(path)?.equals(bytes), `${path} changed`);
  assert.ok(after.has(join("results", "92_second", "ben", "results.json")));
  assert.ok(after.has(join("feedback", "92_second", "ben.html")));
  const ben = await latest("ben", "92_second");
  assert.equal([ben.score, ben.penalty], [6, 0], "on time for the second module's own due date");
  assert.is((await latest("ben")).penalty, 0.2, "the first module's attempt is untouched");
});

test("a third module: a half-right test earns its part, a written answer awaits its score", async () => {
  const info = { number: "93", module: "93_written", sourceFile: WRITTEN_SOURCE, path: join(KIT_ROOT, WRITTEN_SOURCE) }; // prettier-ignore
  const built = await buildModule(info, readFileSync(info.path, "utf8"), "default");
  if (!built.ok) throw new Error(built.errors.map((e) => e.message).join("\n"));
  written = JSON.parse(built.result.outputs["grader/manifests/93_written.json"] ?? "") as GradingManifest; // prettier-ignore
  writtenNotebook = built.result.outputs["notebooks/93_written.ipynb"] ?? "";
  assert.not.match(writtenNotebook, /RUBRIC|odd power/, "no rubric or model answer for students");
  writeFileSync(join(manifests, "93_written.json"), JSON.stringify(written));
  const nb = JSON.parse(writtenNotebook) as { cells: Array<{ source: string[] | string; metadata: { nbgrader?: { grade_id?: string } } }> }; // prettier-ignore
  for (const cell of nb.cells) {
    const id = cell.metadata.nbgrader?.grade_id;
    // Right square, wrong cube; an answer in the editable written cell.
    if (id === "powers") cell.source = "function square(x: number): number {\n  return x * x;\n}\nfunction cube(x: number): number {\n  return 0;\n}"; // prettier-ignore
    if (id === "explain-cube") cell.source = "Because the power is odd.";
  }
  notebook(join(work, "third", "dan.ipynb"), JSON.stringify(nb), DUE);
  grade("third", "93_written");
  const dan = await latest("dan", "93_written");
  assert.equal([dan.score, dan.max_score, dan.manual_max], [1, 5, 2], "the square part only; 2 points by hand"); // prettier-ignore
  const page = read("feedback", "93_written", "dan.html");
  assert.match(page, /square/);
  assert.match(page, /Because the power is odd\./);
});

test("tito manual scores the written answer; the totals add it", async () => {
  const scores = join(work, "scores.csv");
  writeFileSync(scores, "student,question,score,comment\ndan,explain-cube,2,names the odd power\n");
  const tito = (...args: string[]) => spawnSync(process.execPath, [join(KIT_ROOT, "tito", "bin", "tito.js"), "manual", "--manifest", join(manifests, "93_written.json"), "--out", out, ...args], { encoding: "utf8" }); // prettier-ignore
  const r = tito("--import", scores);
  assert.is(r.status, 0, r.stderr + r.stdout);
  const book = await Gradebook.open(join(out, "gradebook.sqlite"));
  try {
    const total = book.totals("93_written").find((t) => t.student === "dan");
    assert.equal([total?.autoScore, total?.manualScore, total?.total], [1, 2, 3]);
  } finally {
    book.close();
  }
  assert.match(read("feedback", "93_written", "dan.html"), /names the odd power/);
});

test("the summary of the term", () => {
  const r = spawnSync(process.execPath, [join(KIT_ROOT, "tito", "bin", "tito.js"), "gradebook", "--db", join(out, "gradebook.sqlite"), "--summary", "--csv"], { encoding: "utf8" }); // prettier-ignore
  assert.is(r.status, 0, r.stderr);
  const lines = r.stdout.trim().split("\n");
  assert.match(lines[0], /^student,90_fixture automatic \(of 6\),.*,92_second total \(of 6\),93_written automatic \(of 3\),93_written manual \(of 2\),93_written penalty,93_written total \(of 5\),course total \(of 17\)$/); // prettier-ignore
  assert.equal(lines.slice(1), [
    "ben,6,0,0.2,4.8,6,0,0,6,,,,,10.8",
    "cat,2,0,0,2,,,,,,,,,2",
    "dan,,,,,,,,,1,2,0,3,3",
  ]);
});

test.run();
