// test-tier: kernel
// The module audit: a module whose test passes on the untouched notebook is caught (and the
// command fails), and so is a test whose answers do not depend on the seed; a module whose
// tests all need the student's work, and whose reference passes its own tests, passes.
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { auditModule } from "@tinytorch-ts/grader";
import { run } from "../../tito/src/commands/audit";
import { FIXTURES, loadFixtureManifest, studentNotebook } from "../grader/helpers";

const work = mkdtempSync(join(tmpdir(), "tito-audit-test-"));
const manifests = join(work, "manifests");
const notebooks = join(work, "notebooks");
mkdirSync(manifests);
mkdirSync(notebooks);
for (const name of ["90_fixture", "91_hole"]) {
  copyFileSync(join(FIXTURES, `${name}.json`), join(manifests, `${name}.json`));
  writeFileSync(join(notebooks, `${name}.ipynb`), studentNotebook(loadFixtureManifest(name)));
}

test("a test that passes without the student's work is caught", async () => {
  const a = await auditModule(join(manifests, "91_hole.json"), join(notebooks, "91_hole.ipynb"));
  assert.is(a.earned, 2);
  assert.equal(
    a.holes.map((h) => h.gradeId),
    ["test-unit-double"],
  );
  assert.ok(a.problems.some((p) => /test-unit-double \(testUnitDouble\): 2 point/.test(p)));
  assert.ok(a.problems.some((p) => /test-unit-double: nothing it checks depends on the seed/.test(p))); // prettier-ignore
  assert.is(a.referenceScore, 6);
});

test("tito audit reports per module and exits non-zero when any module has a hole", async () => {
  const lines: string[] = [];
  const log = console.log;
  console.log = (...a: unknown[]) => lines.push(a.join(" "));
  let code: number;
  try {
    code = await run(["--manifests", manifests, "--notebooks", notebooks]);
  } finally {
    console.log = log;
  }
  const out = lines.join("\n");
  assert.is(code, 1);
  assert.match(out, /90_fixture: reference 6\/6, untouched 0\/6: ok/);
  assert.match(out, /91_hole: \d+ problem\(s\):/);
  assert.match(out, /test-unit-double \(testUnitDouble\): 2 point/);
  assert.match(out, /audit FAILED: 1 of 2/);
});

test("tito audit passes when every test needs the student's work", async () => {
  const log = console.log;
  console.log = () => undefined;
  try {
    assert.is(await run(["90", "--manifests", manifests, "--notebooks", notebooks]), 0);
  } finally {
    console.log = log;
  }
});

test("a missing student notebook is an audit failure, not a pass", async () => {
  rmSync(join(notebooks, "90_fixture.ipynb"));
  const a = await auditModule(join(manifests, "90_fixture.json"), join(notebooks, "90_fixture.ipynb")); // prettier-ignore
  assert.ok(a.problems.some((p) => /no student notebook/.test(p)));
});

test.after(() => rmSync(work, { recursive: true, force: true }));
test.run();
