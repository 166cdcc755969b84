import { readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { buildCourse } from "../../tito/src/build/build-course";
import { makeFixtureRoot, snapshotTree } from "./fixture-root";

function edit(root: string, rel: string, from: string, to: string): void {
  const file = join(root, rel);
  const text = readFileSync(file, "utf8");
  assert.ok(text.includes(from), `fixture text not found: ${from}`);
  writeFileSync(file, text.replace(from, to));
}

function lineOf(root: string, rel: string, needle: string): number {
  return (
    readFileSync(join(root, rel), "utf8")
      .split("\n")
      .findIndex((l) => l.includes(needle)) + 1
  );
}

test("a malformed source gives file:line and leaves every output untouched", async () => {
  const root = makeFixtureRoot();
  await buildCourse({ root });
  const before = snapshotTree(root);
  // An unclosed solution region in module 02, and a valid edit to module 01 that must NOT land.
  edit(root, "modules/02_beta/beta_dev.ts", "  // ### END SOLUTION\n", "");
  edit(root, "modules/01_alpha/alpha_dev.ts", "A tiny fixture module", "An edited fixture module");
  const report = await buildCourse({ root });
  assert.not.ok(report.ok);
  assert.ok(report.errors.length >= 1);
  const e = report.errors[0];
  assert.is(e?.file, "modules/02_beta/beta_dev.ts");
  assert.is(e?.line, lineOf(root, "modules/02_beta/beta_dev.ts", "### BEGIN SOLUTION"));
  const after = snapshotTree(root);
  for (const [path, text] of before) {
    if (path.startsWith("modules/")) continue;
    assert.is(after.get(path), text, `${path} changed`);
  }
  rmSync(root, { recursive: true, force: true });
});

test("importing a later module is rejected at its line, nothing written", async () => {
  const root = makeFixtureRoot();
  edit(
    root,
    "modules/01_alpha/alpha_dev.ts",
    'import { isNotImplemented } from "tinytorch-ts/support/testing";',
    'import { isNotImplemented } from "tinytorch-ts/support/testing";\nimport { quadruple } from "tinytorch-ts/core/beta";',
  );
  const report = await buildCourse({ root });
  assert.not.ok(report.ok);
  assert.is(report.errors.length, 1);
  assert.is(report.errors[0]?.file, "modules/01_alpha/alpha_dev.ts");
  assert.is(
    report.errors[0]?.line,
    lineOf(root, "modules/01_alpha/alpha_dev.ts", "tinytorch-ts/core/beta"),
  );
  assert.match(report.errors[0]?.message ?? "", /later module/);
  assert.equal(
    [...snapshotTree(root).keys()].filter(
      (p) => !p.startsWith("modules/") && !p.includes("/support/"),
    ),
    [],
  );
  rmSync(root, { recursive: true, force: true });
});

test("a syntax error in an exported cell names its source line", async () => {
  const root = makeFixtureRoot();
  edit(
    root,
    "modules/02_beta/beta_dev.ts",
    "function betaHelperIdentity(x: number): number {",
    "function betaHelperIdentity(x: number: number {",
  );
  const report = await buildCourse({ root });
  assert.not.ok(report.ok);
  assert.is(report.errors[0]?.file, "modules/02_beta/beta_dev.ts");
  assert.is(
    report.errors[0]?.line,
    lineOf(root, "modules/02_beta/beta_dev.ts", "function betaHelperIdentity"),
  );
  rmSync(root, { recursive: true, force: true });
});

test.run();
