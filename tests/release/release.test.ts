import {
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { join } from "node:path";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { releaseCourse } from "../../tito/src/release/release-course";
import { makeFixtureRoot } from "../build/fixture-root";
import { artifactDir } from "./bundle-dir";

/** Identifiers that occur only inside solution / hidden-test regions of the fixtures. */
const SECRETS = [
  "twiceTheInputSecretly",
  "hiddenNegativeDoubleCheck",
  "hiddenClampCheckForScaler",
  "reflectionAnswerSecret",
  "instructorOnlyNoteAboutGrading",
  "betaSecretQuadrupleStep",
  "clampToRange(x * scaffoldGivenToStudents",
];

function allFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((e) => {
    const p = join(dir, e);
    const st = statSync(p, { throwIfNoEntry: false });
    if (!st || e === "node_modules") return [];
    return st.isDirectory() ? allFiles(p) : [p];
  });
}

test("the bundle has notebooks, a compiled stub package and the student commands, and no secret", async () => {
  const root = makeFixtureRoot();
  const out = join(artifactDir("release-"), "bundle");
  const report = await releaseCourse({ referenceAudit: "skip", root, outDir: out });
  assert.equal(report.errors, []);
  assert.equal(report.compileErrors, []);
  assert.equal(report.leaks, []);
  assert.ok(report.ok);
  assert.is(report.bundle, out);
  for (const f of [
    "notebooks/01_alpha.ipynb",
    "notebooks/02_beta.ipynb",
    "tinytorch-ts/src/core/alpha.ts",
    "tinytorch-ts/dist/core/alpha.js",
    "tinytorch-ts/dist/core/alpha.d.ts",
    "tinytorch-ts/dist/nn/extra.js",
    "tinytorch-ts/src/support/testing.ts",
    "tito/bin/tito.js",
    "tito/src/commands/export.ts",
    "tito/src/commands/test.ts",
    "tito/src/commands/status.ts",
    "tito/src/commands/test.args.ts",
    "core/package.json",
    "core/src/kernel/client.ts",
    "README.md",
    "package.json",
    ".tito/course.json",
  ]) {
    assert.ok(existsSync(join(out, f)), `missing ${f}`);
  }
  for (const f of [
    "tito/src/commands/release.ts",
    "tito/src/commands/build.ts",
    "tito/src/release",
    "grader",
  ]) {
    assert.not.ok(existsSync(join(out, f)), `instructor file shipped: ${f}`);
  }
  // The bundle's tito depends on the core it ships, never on the grader it does not.
  const bundleTito = JSON.parse(readFileSync(join(out, "tito/package.json"), "utf8"));
  assert.ok(bundleTito.dependencies["@tinytorch-ts/core"]);
  assert.not.ok(bundleTito.dependencies["@tinytorch-ts/grader"]);
  assert.ok(
    JSON.parse(readFileSync(join(out, "package.json"), "utf8")).workspaces.includes("core"),
  );
  // The compiled stub says where the exercise is and how to export it (a later notebook or a
  // milestone meets it, in Jupyter too); the source keeps the notebook's short stub.
  const js = readFileSync(join(out, "tinytorch-ts/dist/core/alpha.js"), "utf8");
  assert.ok(
    js.includes(
      'throw new Error("Not implemented: double. It is an exercise of notebooks/01_alpha.ipynb: finish it there, then run `npx tito export 01` to put it in your package")',
    ),
  );
  const src = readFileSync(join(out, "tinytorch-ts/src/core/alpha.ts"), "utf8");
  assert.ok(src.includes('throw new Error("Not implemented: double");'));
  // Installable with npm ci: the kit's overrides, and a lock for exactly these dependencies.
  const pkg = JSON.parse(readFileSync(join(out, "package.json"), "utf8"));
  const lock = JSON.parse(readFileSync(join(out, "package-lock.json"), "utf8"));
  assert.equal(pkg.overrides, JSON.parse(readFileSync("package.json", "utf8")).overrides);
  assert.equal(lock.packages[""].dependencies, pkg.dependencies);
  assert.is(pkg.scripts.setup, "tito setup");
  // The fixture's 01 asks for a written answer, so the README tells how to give one.
  const readme = readFileSync(join(out, "README.md"), "utf8");
  assert.match(readme, /npm ci\s.*\nnpm run setup\s.*\nnpm run notebook/);
  assert.match(readme, /YOUR ANSWER HERE/);
  assert.match(readme, /## Submitting your work\n\nSubmit the notebook file itself, from this folder: `notebooks\/01_alpha\.ipynb`/); // prettier-ignore
  assert.match(readme, /`npx tito notebook --reset 01`/);
  // An independent check of the audit's verdict: no secret identifier in any file.
  for (const file of allFiles(out)) {
    const text = readFileSync(file, "utf8");
    for (const s of SECRETS) assert.not.ok(text.includes(s), `${file} contains ${s}`);
  }
  rmSync(root, { recursive: true, force: true });
  rmSync(join(out, ".."), { recursive: true, force: true });
});

test("a pipeline that forgets to strip solutions fails the release with file:line leaks", async () => {
  const root = makeFixtureRoot();
  const out = join(artifactDir("release-"), "bundle");
  const report = await releaseCourse({
    referenceAudit: "skip",
    root,
    outDir: out,
    skipStages: ["strip-solutions"],
  });
  assert.not.ok(report.ok);
  assert.not.ok(existsSync(out), "a leaking bundle must not land in the output directory");
  assert.is(report.bundle, `${out}.rejected`);
  const leak = report.leaks.find(
    (l) =>
      l.file === "notebooks/01_alpha.ipynb" && l.text.includes("twiceTheInputSecretly = x * 2"),
  );
  assert.ok(leak, JSON.stringify(report.leaks.slice(0, 3)));
  assert.is(leak?.origin.sourceFile, "modules/01_alpha/alpha_dev.ts");
  const srcLine = readFileSync(join(root, "modules/01_alpha/alpha_dev.ts"), "utf8")
    .split("\n")
    .findIndex((l) => l.includes("const twiceTheInputSecretly"));
  assert.is(leak?.origin.line, srcLine + 1);
  const nbLine = readFileSync(join(`${out}.rejected`, "notebooks/01_alpha.ipynb"), "utf8")
    .split("\n")
    .findIndex((l) => l.includes("const twiceTheInputSecretly"));
  assert.is(leak?.line, nbLine + 1);
  const files = new Set(report.leaks.map((l) => l.file));
  for (const f of [
    "tinytorch-ts/src/core/alpha.ts",
    "tinytorch-ts/dist/core/alpha.js",
    ".tito/modules/01_alpha.json",
  ]) {
    assert.ok(files.has(f), `no leak reported in ${f}`);
  }
  rmSync(root, { recursive: true, force: true });
  rmSync(join(out, ".."), { recursive: true, force: true });
});

test("a pipeline that forgets hidden tests fails the release", async () => {
  const root = makeFixtureRoot();
  const out = join(artifactDir("release-"), "bundle");
  const report = await releaseCourse({
    referenceAudit: "skip",
    root,
    outDir: out,
    skipStages: ["clear-hidden-tests"],
  });
  assert.not.ok(report.ok);
  assert.ok(
    report.leaks.some(
      (l) => l.origin.kind === "hidden test" && l.text.includes("hiddenNegativeDoubleCheck"),
    ),
  );
  rmSync(root, { recursive: true, force: true });
  rmSync(join(out, ".."), { recursive: true, force: true });
});

test("the challenge tier stubs challenge code and still passes the audit", async () => {
  const root = makeFixtureRoot();
  const out = join(artifactDir("release-"), "bundle");
  const report = await releaseCourse({
    referenceAudit: "skip",
    root,
    outDir: out,
    tier: "challenge",
  });
  assert.ok(report.ok, JSON.stringify(report.leaks.slice(0, 3)) + report.compileErrors.join("\n"));
  const src = readFileSync(join(out, "tinytorch-ts/src/core/alpha.ts"), "utf8");
  assert.not.ok(src.includes("challengeDescription"));
  rmSync(root, { recursive: true, force: true });
  rmSync(join(out, ".."), { recursive: true, force: true });
});

test("a directory that is not a bundle is never replaced", async () => {
  const root = makeFixtureRoot();
  const parent = artifactDir("release-");
  const precious = join(parent, "precious");
  mkdirSync(precious);
  writeFileSync(join(precious, "thesis.txt"), "do not delete");
  let error: unknown;
  await releaseCourse({ referenceAudit: "skip", root, outDir: precious }).catch(
    (e: unknown) => (error = e),
  );
  assert.instance(error, Error);
  assert.is(readFileSync(join(precious, "thesis.txt"), "utf8"), "do not delete");
  assert.equal(readdirSync(parent), ["precious"], "no staging directory left behind");
  rmSync(root, { recursive: true, force: true });
  rmSync(parent, { recursive: true, force: true });
});

test("releasing again replaces an earlier bundle", async () => {
  const root = makeFixtureRoot();
  const parent = artifactDir("release-");
  const out = join(parent, "bundle");
  assert.ok((await releaseCourse({ referenceAudit: "skip", root, outDir: out })).ok);
  writeFileSync(join(out, "stray.txt"), "old");
  assert.ok((await releaseCourse({ referenceAudit: "skip", root, outDir: out })).ok);
  assert.not.ok(existsSync(join(out, "stray.txt")));
  assert.equal(readdirSync(parent), ["bundle"]);
  rmSync(root, { recursive: true, force: true });
  rmSync(parent, { recursive: true, force: true });
});

test.run();
