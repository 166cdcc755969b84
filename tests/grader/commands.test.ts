// test-tier: kernel
// The instructor commands as a user runs them: `tito grade` on a folder, then `tito gradebook`
// (table and CSV), through the real CLI entry point.
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { KIT_ROOT } from "@tinytorch-ts/core";
import { FIXTURES, GOOD, loadFixtureManifest, studentNotebook } from "./helpers";

const manifest = loadFixtureManifest();
const work = mkdtempSync(join(tmpdir(), "tito-grade-cmd-"));
const subs = join(work, "subs");
const out = join(work, "grades");

function tito(...args: string[]) {
  return spawnSync("node", [join(KIT_ROOT, "tito", "bin", "tito.js"), ...args], {
    cwd: work,
    encoding: "utf8",
    timeout: 300_000,
  });
}

test("tito grade grades a folder and writes results, feedback and the gradebook", () => {
  spawnSync("mkdir", ["-p", subs]);
  writeFileSync(join(subs, "ann.ipynb"), studentNotebook(manifest, { sources: GOOD }));
  writeFileSync(join(subs, "ben.ipynb"), studentNotebook(manifest));
  const r = tito("grade", subs, "--manifest", join(FIXTURES, "90_fixture.json"), "--out", out, "--jobs", "2", "--cell-timeout", "10"); // prettier-ignore
  assert.is(r.status, 0, r.stderr + r.stdout);
  assert.match(r.stdout, /90_fixture: 2 graded, 0 unchanged, 0 rejected, 0 grader errors/);
  assert.match(r.stderr, /\[#+\] 2\/2/, "progress is shown");
  assert.ok(existsSync(join(out, "feedback", "90_fixture", "ann.html")));
  assert.is(
    JSON.parse(readFileSync(join(out, "results", "90_fixture", "ann", "results.json"), "utf8"))
      .score,
    6,
  );
  const again = tito("grade", subs, "--manifest", join(FIXTURES, "90_fixture.json"), "--out", out); // prettier-ignore
  assert.match(again.stdout, /0 graded, 2 unchanged/);
});

test("tito grade takes a single notebook too", () => {
  const one = join(work, "single");
  spawnSync("mkdir", ["-p", one]);
  writeFileSync(join(one, "cleo.ipynb"), studentNotebook(manifest, { sources: GOOD }));
  const r = tito("grade", join(one, "cleo.ipynb"), "--manifest", join(FIXTURES, "90_fixture.json"), "--out", join(work, "single-out")); // prettier-ignore
  assert.is(r.status, 0, r.stderr + r.stdout);
  assert.is(JSON.parse(readFileSync(join(work, "single-out", "results", "90_fixture", "cleo", "results.json"), "utf8")).score, 6); // prettier-ignore
});

test("tito gradebook lists attempts and exports CSV", () => {
  const db = join(out, "gradebook.sqlite");
  const table = tito("gradebook", "--db", db);
  assert.is(table.status, 0, table.stderr);
  assert.match(table.stdout, /ann\s+90_fixture\s+#1\s+auto 6\/6, total 6\n/);
  assert.match(table.stdout, /ben\s+90_fixture\s+#1\s+auto 0\/6, total 0\n/);
  const csv = tito("gradebook", "--db", db, "--csv");
  assert.is(csv.status, 0, csv.stderr);
  const lines = csv.stdout.trim().split("\n");
  assert.is(lines.length, 3);
  assert.match(lines[1], /^ann,90_fixture,1,6,6,graded,,[0-9a-f]{64},/);
  const file = join(work, "grades.csv");
  assert.is(tito("gradebook", "--db", db, "--csv", file).status, 0);
  assert.is(readFileSync(file, "utf8"), csv.stdout);
});

test("bad usage is reported with the help text and exit code 2", () => {
  const r = tito("grade", subs);
  assert.is(r.status, 2);
  assert.match(r.stderr, /--module is required/);
  assert.is(tito("grade", subs, "--module", "90", "--jobs", "zero").status, 2);
});

test.after(() => rmSync(work, { recursive: true, force: true }));
test.run();
