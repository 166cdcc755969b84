// A course built with `tito build --root DIR` is graded from DIR: its manifests, its notebooks and
// its compiled package, never the kit's (they used to disagree: the build wrote under the course
// root, the grading commands read the kit's). Each grading command resolves the root the same
// way (resolveCourseRoot), so a course found from the working directory needs no flag at all.
import { spawnSync } from "node:child_process";
import { copyFileSync, mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { KIT_ROOT, resolveCourseRoot } from "@tinytorch-ts/core";
import { buildCourse } from "tito/build";
import { makeFixtureRoot } from "../build/fixture-root";

const root = makeFixtureRoot("tito-course-root-");
const outside = mkdtempSync(join(tmpdir(), "tito-not-a-course-"));

function tito(cwd: string, ...args: string[]) {
  const r = spawnSync(process.execPath, [join(KIT_ROOT, "tito", "bin", "tito.js"), ...args], {
    cwd,
    encoding: "utf8",
    timeout: 120_000,
  });
  return { status: r.status, out: `${r.stdout}${r.stderr}` };
}

/**
 * Compiles the course's package as `npm run build:package` compiles the kit's. A course of its
 * own would have its own node_modules; this one borrows the kit's.
 */
function compilePackage(): void {
  const pkg = join(root, "tinytorch-ts");
  symlinkSync(join(KIT_ROOT, "node_modules"), join(root, "node_modules"));
  const config = {
    extends: join(KIT_ROOT, "tsconfig.base.json"),
    compilerOptions: { rootDir: "src", outDir: "dist", declaration: true, noEmit: false },
    include: ["src"],
  };
  writeFileSync(join(pkg, "tsconfig.json"), JSON.stringify(config));
  copyFileSync(join(KIT_ROOT, "tinytorch-ts", "package.json"), join(pkg, "package.json"));
  const tsc = join(KIT_ROOT, "node_modules", "typescript", "bin", "tsc");
  const r = spawnSync(process.execPath, [tsc, "-p", pkg], { encoding: "utf8" });
  assert.is(r.status, 0, r.stdout);
}

test.before(async () => {
  await buildCourse({ root });
});

test("resolveCourseRoot: --root, else the course around the working directory, else the kit", () => {
  // An option's path is the user's, relative to where they typed it.
  assert.is(resolveCourseRoot("some/dir", outside), resolve("some/dir"));
  assert.is(resolveCourseRoot(root, outside), root);
  const inside = join(root, "modules", "01_alpha");
  assert.is(resolveCourseRoot(undefined, inside), root);
  assert.is(resolveCourseRoot(undefined, outside), KIT_ROOT);
});

test("tito grade, audit and gradescope look for a module among the course's own manifests", () => {
  const subs = join(outside, "subs");
  mkdirSync(subs, { recursive: true });
  const want = /no grading manifest for module 'tensor' \(there are: 01_alpha, 02_beta\)/;
  // Given by --root from anywhere, or found from the working directory inside the course.
  assert.match(tito(outside, "grade", subs, "--module", "tensor", "--root", root).out, want);
  assert.match(tito(join(root, "modules"), "grade", subs, "--module", "tensor").out, want);
  assert.match(tito(outside, "audit", "tensor", "--root", root).out, want);
  assert.match(tito(outside, "gradescope", "tensor", join(outside, "x.zip"), "--root", root).out, want); // prettier-ignore
  // Outside any course, the kit's own manifests are the default, as before.
  assert.match(tito(outside, "grade", subs, "--module", "alpha").out, /there are: 01_tensor, /);
});

test("tito grade refuses a course or a manifest inside the submissions: a student could have written it", () => {
  // A student's folder that looks like a course, and the instructor grading from inside it.
  const subs = mkdtempSync(join(tmpdir(), "tito-subs-"));
  const alice = join(subs, "alice");
  for (const d of ["modules", "tinytorch-ts", "grader/manifests"]) mkdirSync(join(alice, d), { recursive: true }); // prettier-ignore
  writeFileSync(join(alice, "grader", "manifests", "01_tensor.json"), "{}");
  const found = tito(alice, "grade", subs, "--module", "01");
  assert.is(found.status, 2, found.out);
  assert.match(found.out, /the course .*alice is inside the submissions .*: a student could have written it/); // prettier-ignore
  const given = tito(outside, "grade", subs, "--module", "01", "--root", alice);
  assert.is(given.status, 2, given.out);
  const manifest = tito(outside, "grade", subs, "--manifest", join(alice, "grader", "manifests", "01_tensor.json")); // prettier-ignore
  assert.is(manifest.status, 2, manifest.out);
  assert.match(manifest.out, /the manifest .*01_tensor\.json is inside the submissions/);
});

test("a course whose package is not compiled is refused before any kernel, naming its dist/", () => {
  const dist = join(root, "tinytorch-ts", "dist");
  for (const args of [
    ["audit", "alpha"],
    ["gradescope", "alpha", join(outside, "x.zip")],
    ["grade", outside, "--module", "alpha"],
  ]) {
    // prettier-ignore
    const r = tito(outside, ...args, "--root", root);
    assert.is(r.status, 1, `${args[0]}: ${r.out}`);
    assert.ok(r.out.includes(dist), `${args[0]} names ${dist}: ${r.out}`);
    assert.match(r.out, /the course's reference package is not compiled \(compile the tinytorch-ts\/src/); // prettier-ignore
  }
});

test("tito audit --root runs the course's own reference from the course's own package", () => {
  compilePackage();
  const r = tito(outside, "audit", "--root", root, "--reference-only");
  // The fixture modules' references run (they are judged on seeds and mutations, which only a
  // run can show); nothing is missing, so the package used was the course's.
  assert.match(r.out, /01_alpha: 4 problem\(s\)/);
  assert.match(r.out, /test-double: nothing it checks depends on the seed/);
  assert.match(r.out, /02_beta: 2 problem\(s\)/);
  assert.match(r.out, /test-quadruple: nothing it checks depends on the seed/);
  assert.not.match(r.out, /Cannot find module|not compiled/);
});

test.run();
