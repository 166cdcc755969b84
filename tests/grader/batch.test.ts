// test-tier: kernel
// Batches end to end with real kernels: discovery, one bad submission among good ones, the
// outputs per student (results.json, feedback page, gradebook rows, CSV), skipping unchanged
// submissions, and an interrupted run that resumes.
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { feedbackPath, findSubmissions, gradeBatch, resultsPath } from "../../grader/src/batch";
import { Gradebook } from "../../grader/src/gradebook";
import { gradebookCsv } from "../../grader/src/gradebook-csv";
import { GOOD, HIDDEN_SNIPPETS, loadFixtureManifest, studentNotebook } from "./helpers";

const manifest = loadFixtureManifest();
const work = mkdtempSync(join(tmpdir(), "tito-batch-test-"));
const subs = join(work, "submissions");
const out = join(work, "out");
const LIMITS = { cellTimeoutMs: 8000, memoryMb: 256 };

mkdirSync(join(subs, "alice"), { recursive: true });
writeFileSync(join(subs, "alice", "90_fixture.ipynb"), studentNotebook(manifest, { sources: GOOD })); // prettier-ignore
writeFileSync(join(subs, "bob.ipynb"), "{ this is not, a notebook");
mkdirSync(join(subs, "carol"));
writeFileSync(join(subs, "carol", "a.ipynb"), "{}");
writeFileSync(join(subs, "carol", "b.ipynb"), "{}");
const xss = 'function double(x: number): number {\n  console.log("<script>alert(1)</script>");\n  return 2 * x;\n}'; // prettier-ignore
writeFileSync(join(subs, "dave.ipynb"), studentNotebook(manifest, { sources: { double: xss } }));
writeFileSync(join(subs, "notes.txt"), "not a submission");

test("submissions are found per student; a folder with two notebooks is a problem", () => {
  const found = findSubmissions(subs, manifest.module);
  assert.equal(
    found.map((s) => s.student),
    ["alice", "bob", "carol", "dave"],
  );
  assert.match(found[2].problem ?? "", /several notebooks/);
  assert.ok(found[0].file?.endsWith("90_fixture.ipynb"));
});

test("a batch grades every submission; bad ones get 0 with their reason", async () => {
  const s = await gradeBatch(manifest, findSubmissions(subs, manifest.module), {
    ...LIMITS,
    outDir: out,
    jobs: 2,
    manifestHash: "m1",
  });
  assert.is(s.graded, 2);
  assert.is(s.rejected, 2);
  const alice = JSON.parse(readFileSync(resultsPath(out, manifest.module, "alice"), "utf8"));
  assert.is(alice.score, 6);
  assert.is(alice.tests.length, 3);
  assert.equal(Object.keys(alice.tests[0]).sort(), [
    "max_score",
    "name",
    "output",
    "score",
    "status",
    "visibility",
  ]);
  const bob = JSON.parse(readFileSync(resultsPath(out, manifest.module, "bob"), "utf8"));
  assert.is(bob.score, 0);
  assert.match(bob.output, /not a Jupyter notebook/);
  const dave = JSON.parse(readFileSync(resultsPath(out, manifest.module, "dave"), "utf8"));
  assert.is(dave.score, 2, "double passes, the stubbed triple does not");
  const html = readFileSync(feedbackPath(out, manifest.module, "dave"), "utf8");
  assert.not.match(html, /<script>/, "student output is escaped");
  assert.match(html, /&lt;script&gt;alert\(1\)&lt;\/script&gt;/);
  assert.match(html, /Your cells/);
  for (const snippet of HIDDEN_SNIPPETS) {
    for (const student of ["alice", "bob", "carol", "dave"]) {
      assert.not.ok(
        readFileSync(feedbackPath(out, manifest.module, student), "utf8").includes(snippet),
      );
      assert.not.ok(
        readFileSync(resultsPath(out, manifest.module, student), "utf8").includes(snippet),
      );
    }
  }
});

test("the gradebook has one row per student and attempt, with per-test results", async () => {
  const book = await Gradebook.open(join(out, "gradebook.sqlite"));
  const rows = book.attempts();
  assert.equal(
    rows.map((r) => `${r.student}#${r.attempt}:${r.score}`),
    ["alice#1:6", "bob#1:0", "carol#1:0", "dave#1:2"],
  );
  const tests = book.query<{ grade_id: string; status: string }>(
    "SELECT t.grade_id, t.status FROM test_results t JOIN attempts a ON a.id = t.attempt_id WHERE a.student = 'dave' ORDER BY grade_id", // prettier-ignore
  );
  assert.equal(
    tests.map((t) => `${t.grade_id}:${t.status}`),
    ["test-module:failed", "test-unit-double:passed", "test-unit-triple:failed"],
  );
  const csv = gradebookCsv(rows);
  const lines = csv.trim().split("\n");
  assert.is(lines[0], "student,module,attempt,score,max_score,status,reason,submission_hash,started_at,finished_at,execution_ms"); // prettier-ignore
  assert.is(lines.length, 5);
  // carol's reason has a comma; quoting keeps the row intact.
  assert.match(
    lines[3],
    /^carol,90_fixture,1,0,6,rejected,"several notebooks \(a.ipynb, b.ipynb\)[^"]*",[0-9a-f]{64},/,
  );
  book.close();
});

test("a rerun skips unchanged submissions; a changed one becomes a new attempt", async () => {
  writeFileSync(join(subs, "alice", "90_fixture.ipynb"), studentNotebook(manifest, {}));
  const s = await gradeBatch(manifest, findSubmissions(subs, manifest.module), {
    ...LIMITS,
    outDir: out,
    manifestHash: "m1",
  });
  assert.equal([s.graded, s.skipped], [1, 3]);
  const book = await Gradebook.open(join(out, "gradebook.sqlite"));
  assert.equal(
    book.attempts(true).map((r) => `${r.student}#${r.attempt}:${r.score}`),
    ["alice#2:0", "bob#1:0", "carol#1:0", "dave#1:2"],
  );
  book.close();
});

test("an interrupted run resumes where it stopped; a new manifest regrades", async () => {
  const stop = { requested: false };
  const first = await gradeBatch(manifest, findSubmissions(subs, manifest.module), {
    ...LIMITS,
    outDir: out,
    manifestHash: "m2",
    stop,
    onResult: () => {
      stop.requested = true;
    },
  });
  assert.is(first.results.length, 1, "stopped after the first submission");
  const rest = await gradeBatch(manifest, findSubmissions(subs, manifest.module), {
    ...LIMITS,
    outDir: out,
    manifestHash: "m2",
  });
  assert.is(rest.skipped, 1);
  assert.is(rest.results.length, 3);
});

test.after(() => rmSync(work, { recursive: true, force: true }));
test.run();
