// test-tier: kernel
// A batch over a submissions folder an attacker filled: beside one real notebook, a dangling
// link, a named pipe, a link to another student's notebook and a link to a root-only file. The
// batch must finish, grade the real notebook, record a rejected attempt with 0 points for each
// other entry, and write no byte of the linked file anywhere in its outputs.
import { execFileSync } from "node:child_process";
import { accessSync, constants, mkdirSync, mkdtempSync, readdirSync, readFileSync } from "node:fs";
import { rmSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { findSubmissions, gradeBatch, resultsPath } from "../../grader/src/batch";
import { Gradebook } from "../../grader/src/gradebook";
import { gradebookCsv } from "../../grader/src/gradebook-csv";
import { GOOD, loadFixtureManifest, studentNotebook } from "./helpers";

const manifest = loadFixtureManifest();
const work = mkdtempSync(join(tmpdir(), "tito-subs-batch-"));
const subs = join(work, "submissions");
const out = join(work, "out");
const secretFile = join(work, "root-only", "shadow");
const SECRET = "root:$y$j9T$BATCHSECRET-c0ffee-never-in-any-output";
const LIMITS = { cellTimeoutMs: 8000, memoryMb: 256 };

mkdirSync(subs);
mkdirSync(join(work, "root-only"), { mode: 0o700 });
writeFileSync(secretFile, SECRET, { mode: 0o600 });
writeFileSync(join(subs, "alice.ipynb"), studentNotebook(manifest, { sources: GOOD }));
symlinkSync("alice.ipynb", join(subs, "mallory.ipynb"));
symlinkSync(join(work, "gone.ipynb"), join(subs, "ghost.ipynb"));
symlinkSync(secretFile, join(subs, "eve.ipynb"));
execFileSync("mkfifo", [join(subs, "pipe.ipynb")]);

/** Every file under `dir`, as raw bytes decoded as latin1 (so no byte is lost or merged). */
function everyFile(dir: string): Array<[string, string]> {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e): Array<[string, string]> => {
    const p = join(dir, e.name);
    if (e.isDirectory()) return everyFile(p);
    return [[p, readFileSync(p).toString("latin1")]];
  });
}

test("the linked file is root-only and readable here, so following the link would leak it", () => {
  // The test runs as root (as CI and Gradescope do): root can read the file whatever its mode,
  // so only not following the link keeps it out of the results.
  assert.is(statSync(secretFile).mode & 0o777, 0o600);
  accessSync(secretFile, constants.R_OK);
  assert.is(readFileSync(secretFile, "utf8"), SECRET);
});

test("the batch grades the real notebook and rejects every other entry with 0 points", async () => {
  const found = findSubmissions(subs, manifest.module);
  const s = await gradeBatch(manifest, found, { ...LIMITS, outDir: out, manifestHash: "m1" });
  const by = new Map(s.results.map((r) => [r.student, r]));
  assert.equal([...by.keys()].sort(), ["alice", "eve", "ghost", "mallory", "pipe"]);
  assert.equal(
    [s.graded, s.rejected, s.errors],
    [1, 4, 0],
    JSON.stringify(s.results.map((r) => [r.student, r.status, r.reason])),
  );
  assert.is(by.get("alice")?.status, "graded");
  assert.is(by.get("alice")?.score, 6);
  const reasons: Record<string, RegExp> = {
    mallory: /symbolic link.*not followed/,
    ghost: /symbolic link.*not followed/,
    eve: /symbolic link.*not followed/,
    pipe: /named pipe \(FIFO\).*not opened/,
  };
  for (const [student, reason] of Object.entries(reasons)) {
    const r = by.get(student);
    assert.is(r?.status, "rejected", student);
    assert.is(r?.score, 0, student);
    assert.match(r?.reason ?? "", reason, student);
    assert.ok(r?.tests.every((t) => t.score === 0));
    const json = JSON.parse(readFileSync(resultsPath(out, manifest.module, student), "utf8"));
    assert.is(json.score, 0, `${student}'s results.json`);
  }
  assert.not.ok(JSON.stringify(s).includes(SECRET.slice(0, 10)), "the summary");
});

test("no byte of the linked file is in any output: results, feedback, gradebook, CSV", async () => {
  const book = await Gradebook.open(join(out, "gradebook.sqlite"));
  writeFileSync(join(out, "grades.csv"), gradebookCsv(book.attempts()));
  book.close();
  const files = everyFile(out);
  const names = files.map(([p]) => p.slice(out.length + 1)).sort();
  for (const expected of [
    "gradebook.sqlite",
    "grades.csv",
    `feedback/${manifest.module}/eve.html`,
    `results/${manifest.module}/eve/results.json`,
  ]) {
    // prettier-ignore
    assert.ok(names.includes(expected), `${expected} was written`);
  }
  for (const [path, text] of files) {
    for (const piece of [SECRET, SECRET.slice(0, 10), "BATCHSECRET"]) {
      assert.not.ok(text.includes(piece), `${path} holds ${piece}`);
    }
  }
});

test.after(() => rmSync(work, { recursive: true, force: true }));
test.run();
