// `tito grade` checks everything that decides a grade before it grades anything: a bad course
// file (each problem with the file and its JSON path), a bad times CSV (each problem with its
// line), a times file without a student's time. No kernel starts (this fast tier would refuse
// one) and no output is written.
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { KIT_ROOT } from "@tinytorch-ts/core";
import { FIXTURES, GOOD, loadFixtureManifest, studentNotebook } from "./helpers";

const work = mkdtempSync(join(tmpdir(), "tito-grade-inputs-"));
const subs = join(work, "subs");
mkdirSync(subs);
for (const s of ["ann", "ben"]) writeFileSync(join(subs, `${s}.ipynb`), studentNotebook(loadFixtureManifest(), { sources: GOOD })); // prettier-ignore

function grade(...args: string[]) {
  const out = join(mkdtempSync(join(work, "run-")), "out");
  const r = spawnSync(process.execPath, [join(KIT_ROOT, "tito", "bin", "tito.js"), "grade", subs, "--manifest", join(FIXTURES, "90_fixture.json"), "--out", out, ...args], { cwd: work, encoding: "utf8", timeout: 120_000 }); // prettier-ignore
  return { ...r, wrote: existsSync(out) };
}

test("a bad course file: every problem, with the file and its JSON path; nothing graded", () => {
  const file = join(work, "course.json");
  writeFileSync(file, JSON.stringify({ modules: { "90_fixture": { due: "Friday" } }, latePolicy: { kind: "per-day", perDay: 10 } })); // prettier-ignore
  const r = grade("--course", file);
  assert.is(r.status, 1, r.stdout);
  assert.match(r.stderr, new RegExp(`${file}: \\$\\.modules\\["90_fixture"\\]\\.due: not an ISO 8601 date and time`)); // prettier-ignore
  assert.match(r.stderr, new RegExp(`\\n${file}: \\$\\.latePolicy\\.perDay: must be <= 1`));
  assert.not.match(r.stderr, /at .*\.ts:\d+/, "no stack trace");
  assert.not.ok(r.wrote);
});

test("a bad times CSV: each problem with its line; nothing graded", () => {
  const file = join(work, "times.csv");
  writeFileSync(file, "student,submitted_at\nann,2026-02-06T23:59\nben,2026-02-06T23:59:00Z\nben,2026-02-07T23:59:00Z\n"); // prettier-ignore
  const r = grade("--times", file);
  assert.is(r.status, 1, r.stdout);
  assert.match(r.stderr, new RegExp(`${file}:2: "2026-02-06T23:59" is not an ISO 8601 date and time with a UTC offset`)); // prettier-ignore
  assert.match(r.stderr, new RegExp(`${file}:4: a second time for ben \\(the first is on line 3\\)`)); // prettier-ignore
  assert.not.ok(r.wrote);
});

test("a times CSV without a student's time is refused: no fall-back to the file's time", () => {
  const file = join(work, "partial.csv");
  writeFileSync(file, "student,submitted_at\nann,2026-02-06T23:59:00Z\n");
  const r = grade("--times", file);
  assert.is(r.status, 1, r.stdout);
  assert.match(r.stderr, new RegExp(`${file}: no submission time for ben`));
  assert.not.ok(r.wrote);
});

test("--module by name: an unknown name lists the modules", () => {
  const r = spawnSync(process.execPath, [join(KIT_ROOT, "tito", "bin", "tito.js"), "grade", subs, "--module", "no_such_module"], { cwd: work, encoding: "utf8" }); // prettier-ignore
  assert.is(r.status, 1);
  assert.match(
    r.stderr,
    /no grading manifest for module 'no_such_module' \(there are: 01_tensor, /,
  );
});

test.run();
