// One release of the whole course, checked as a student receives it:
// - its leak audit: no solution or hidden-test line reaches the bundle, and the bundle compiles;
// - its milestones run on the student's own package: `tito milestone` is a student command, the
//   milestone files are in the bundle, and they import tinytorch-ts by name, so they resolve to
//   the bundle's package. A fresh bundle (every exercise a stub) reports which modules to
//   finish; the same bundle with a complete package (the kit's reference build, standing in for
//   a student who has exported every module) passes.
// (One release, not one per concern: releasing the course is the costly part of the fast tier.)
import { spawnSync } from "node:child_process";
import {
  cpSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
} from "node:fs";
import { join } from "node:path";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { listModules } from "../../tito/src/build/discover";
import { releaseCourse, type ReleaseReport } from "../../tito/src/release/release-course";
import { artifactDir } from "./bundle-dir";
import { KIT_ROOT as ROOT } from "@tinytorch-ts/core";

let ws = "";
let report: ReleaseReport;

function milestone(args: string[]): { status: number | null; out: string } {
  const r = spawnSync(
    process.execPath,
    [join(ws, "tito", "bin", "tito.js"), "milestone", ...args],
    {
      cwd: ws,
      encoding: "utf8",
      timeout: 120_000,
    },
  );
  return { status: r.status, out: `${r.stdout}${r.stderr}` };
}

test.before(async () => {
  ws = join(artifactDir("milestones-"), "course");
  report = await releaseCourse({ referenceAudit: "skip", root: ROOT, outDir: ws });
  // The links `npm ci` makes for the bundle's workspaces, so that the bundle's tito, core and
  // package resolve inside the bundle rather than escaping to the kit's node_modules above it
  // (third-party packages still come from there; tests/release/bundle-install does a real npm ci).
  mkdirSync(join(ws, "node_modules", "@tinytorch-ts"), { recursive: true });
  for (const [target, link] of [
    ["../../core", "@tinytorch-ts/core"],
    ["../tinytorch-ts", "tinytorch-ts"],
    ["../tito", "tito"],
  ] as const) {
    if (!existsSync(join(ws, "node_modules", link))) {
      symlinkSync(target, join(ws, "node_modules", link));
    }
  }
});

test.after(() => {
  rmSync(join(ws, ".."), { recursive: true, force: true });
});

test("a release of the whole course passes the leak audit and compiles", () => {
  assert.equal(
    report.leaks.map((l) => `${l.file}:${l.line}`),
    [],
  );
  assert.equal(report.compileErrors, []);
  assert.ok(report.ok);
  assert.equal(report.modules.length, listModules(ROOT).length);
  assert.ok(report.secretLines > 0, "the course has solution and hidden-test lines to guard");
});

test("no wrong answer of the mutation audit reaches a student (notebook or package)", () => {
  const files = [
    ...readdirSync(join(ws, "notebooks")).map((f) => join(ws, "notebooks", f)),
    ...readdirSync(join(ws, "tinytorch-ts", "src"), { recursive: true, encoding: "utf8" })
      .filter((f) => f.endsWith(".ts"))
      .map((f) => join(ws, "tinytorch-ts", "src", f)),
  ];
  assert.ok(files.length > 20);
  for (const f of files) assert.not.match(readFileSync(f, "utf8"), /\/\/\| *mutation /, f);
});

test("the bundle has the milestones and the command", () => {
  for (const file of ["01_perceptron.ts", "02_xor.ts", "03_mlp_digits.ts", "03_mlp_digits.ipynb"]) {
    assert.ok(existsSync(join(ws, "milestones", file)), file);
  }
  const list = milestone(["--list"]);
  assert.is(list.status, 0, list.out);
  assert.match(list.out, /02 {2}XOR/);
  // What each milestone needs, and on a fresh package the first module that is not exported.
  assert.match(list.out, /02 {2}XOR.*\n {4}needs 01_tensor, 02_activations, 03_layers, 04_losses, 06_autograd, 07_optimizers, 08_training; not exported yet: 01_tensor\n/); // prettier-ignore
});

test("on the student's unfinished package, a milestone says what to finish", () => {
  const run = milestone(["02"]);
  assert.is(run.status, 1, run.out);
  assert.match(run.out, /^tito milestone 02: milestone 02 runs on your own package and needs modules 01, 02, 03, 04, 06, 07, 08\./m); // prettier-ignore
  assert.match(run.out, /The first one not in your package yet is 01_tensor \(exercise [\w-]+ and \d+ more still "Not implemented"\)/); // prettier-ignore
  assert.match(run.out, /`npx tito test 01`, then run `npx tito export 01`/);
  // Milestones have their own numbers (not the modules'): a missing one says which there are.
  const none = milestone(["99"]);
  assert.is(none.status, 2, none.out);
  assert.match(none.out, /there is no milestone 99 \(the milestones are 01, 02, /);
});

test("on a complete package, the same bundle's milestone passes", () => {
  // The kit's reference package stands in for a student who exported every module (`tito
  // export` writes both: the sources, which the milestone checks first, and the compiled code).
  for (const part of ["src", "dist"]) {
    cpSync(join(ROOT, "tinytorch-ts", part), join(ws, "tinytorch-ts", part), { recursive: true });
  }
  const run = milestone(["02"]);
  assert.is(run.status, 0, run.out);
  assert.match(run.out, /PASSED/);
});

test.run();
