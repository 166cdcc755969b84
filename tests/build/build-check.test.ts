import { readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { buildCourse } from "../../tito/src/build/build-course";
import { makeFixtureRoot } from "./fixture-root";

test("--check passes on fresh outputs and names a hand-edited file", async () => {
  const root = makeFixtureRoot();
  await buildCourse({ root });
  const clean = await buildCourse({ root, check: true });
  assert.ok(clean.ok);
  const file = join(root, "tinytorch-ts/src/core/alpha.ts");
  writeFileSync(file, readFileSync(file, "utf8").replace("x * 2", "x * 3"));
  const report = await buildCourse({ root, check: true });
  assert.not.ok(report.ok);
  assert.equal(report.diff.changed, [{ path: "tinytorch-ts/src/core/alpha.ts", state: "differs" }]);
  assert.ok(readFileSync(file, "utf8").includes("x * 3"), "--check must not write");
  rmSync(root, { recursive: true, force: true });
});

test("--check names missing and stale files; a build removes stale ones only", async () => {
  const root = makeFixtureRoot();
  await buildCourse({ root });
  rmSync(join(root, "grader/manifests/01_alpha.json"));
  rmSync(join(root, "modules/02_beta"), { recursive: true });
  const report = await buildCourse({ root, check: true });
  assert.not.ok(report.ok);
  assert.equal(report.diff.changed, [
    { path: "grader/manifests/01_alpha.json", state: "missing" },
    { path: "tinytorch-ts/src/index.ts", state: "differs" },
  ]);
  assert.equal(report.diff.stale.sort(), [
    "grader/manifests/02_beta.json",
    "notebooks/02_beta.ipynb",
    "tinytorch-ts/src/core/beta.ts",
    "tinytorch-ts/src/nn/extra.ts",
  ]);
  const built = await buildCourse({ root });
  assert.equal(built.removed.length, 4);
  assert.ok((await buildCourse({ root, check: true })).ok);
  assert.ok(
    readFileSync(join(root, "tinytorch-ts/src/support/testing.ts"), "utf8").length > 0,
    "support kept",
  );
  rmSync(root, { recursive: true, force: true });
});

test("the tito build --check command exits 1 and prints the file", async () => {
  const root = makeFixtureRoot();
  await buildCourse({ root });
  writeFileSync(join(root, "notebooks/01_alpha.ipynb"), "{}");
  const { spawnSync } = await import("node:child_process");
  const r = spawnSync(
    "node",
    [join(__dirname, "../../tito/bin/tito.js"), "build", "--check", "--root", root],
    {
      encoding: "utf8",
    },
  );
  assert.is(r.status, 1);
  assert.match(r.stderr, /notebooks\/01_alpha\.ipynb: differs from its source/);
  rmSync(root, { recursive: true, force: true });
});

test.run();
