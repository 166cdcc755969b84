// The milestones in a student bundle run on the student's own package: `tito milestone` is a
// student command, the milestone files are in the bundle, and they import tinytorch-ts by name,
// so they resolve to the bundle's package. A fresh bundle (every exercise a stub) reports which
// modules to finish; the same bundle with a complete package (the kit's reference build, standing
// in for a student who has exported every module) passes.
import { spawnSync } from "node:child_process";
import { cpSync, existsSync, mkdirSync, rmSync, symlinkSync } from "node:fs";
import { join } from "node:path";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { releaseCourse } from "../../tito/src/release/release-course";
import { artifactDir } from "../release/bundle-dir";

const ROOT = join(__dirname, "..", "..");
let ws = "";

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
  const report = await releaseCourse({ root: ROOT, outDir: ws });
  assert.ok(report.ok, JSON.stringify(report.leaks.slice(0, 3)));
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

test("the bundle has the milestones and the command", () => {
  for (const file of ["01_perceptron.ts", "02_xor.ts", "03_mlp_digits.ts", "03_mlp_digits.ipynb"]) {
    assert.ok(existsSync(join(ws, "milestones", file)), file);
  }
  const list = milestone(["--list"]);
  assert.is(list.status, 0, list.out);
  assert.match(list.out, /02 {2}XOR/);
});

test("on the student's unfinished package, a milestone says what to finish", () => {
  const run = milestone(["02"]);
  assert.is(run.status, 1, run.out);
  assert.match(run.out, /needs modules 01-08 completed and exported: Not implemented/);
});

test("on a complete package, the same bundle's milestone passes", () => {
  cpSync(join(ROOT, "tinytorch-ts", "dist"), join(ws, "tinytorch-ts", "dist"), { recursive: true });
  const run = milestone(["02"]);
  assert.is(run.status, 0, run.out);
  assert.match(run.out, /PASSED/);
});

test.run();
