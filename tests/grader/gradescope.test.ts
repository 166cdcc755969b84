// test-tier: kernel
// The Gradescope bundle, run as Gradescope runs it: the zip is unpacked into a directory laid out
// like /autograder (source/, submission/, results/), and run_autograder is executed with
// TITO_AUTOGRADER_ROOT pointing there. npm ci is replaced by a link to this checkout's
// node_modules.
import { spawnSync } from "node:child_process";
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs"; // prettier-ignore
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import JSZip from "jszip";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { buildGradescopeZip, FIXED_DATE } from "../../grader/src/gradescope-bundle";
import { KIT_ROOT } from "@tinytorch-ts/core";
import { FIXTURES, GOOD, HIDDEN_SNIPPETS, loadFixtureManifest, studentNotebook } from "./helpers";

const manifest = loadFixtureManifest();
const manifestPath = join(FIXTURES, "90_fixture.json");
let zipBytes: Uint8Array;

async function unpack(): Promise<string> {
  const root = mkdtempSync(join(tmpdir(), "tito-autograder-"));
  chmodSync(root, 0o755); // as /autograder is: the kernel's user must reach source/node_modules
  const zip = await JSZip.loadAsync(zipBytes);
  for (const [name, entry] of Object.entries(zip.files)) {
    if (entry.dir) continue;
    const out = join(root, "source", name);
    mkdirSync(dirname(out), { recursive: true });
    writeFileSync(out, await entry.async("uint8array"));
    if (entry.unixPermissions && Number(entry.unixPermissions) & 0o100) chmodSync(out, 0o755);
  }
  symlinkSync(join(KIT_ROOT, "node_modules"), join(root, "source", "node_modules"), "dir");
  mkdirSync(join(root, "submission"));
  mkdirSync(join(root, "results"));
  return root;
}

function runAutograder(root: string, env: Record<string, string> = {}) {
  const r = spawnSync(join(root, "source", "run_autograder"), [], {
    env: { ...process.env, TITO_AUTOGRADER_ROOT: root, ...env },
    encoding: "utf8",
    timeout: 180_000,
  });
  const results = JSON.parse(readFileSync(join(root, "results", "results.json"), "utf8"));
  return { status: r.status, stdout: r.stdout, stderr: r.stderr, results };
}

test("the bundle holds the scripts, the manifest and only the allowed package files", async () => {
  zipBytes = await buildGradescopeZip(manifest, manifestPath);
  const zip = await JSZip.loadAsync(zipBytes);
  const names = Object.keys(zip.files);
  for (const f of [
    "setup.sh",
    "run_autograder",
    "grader/manifests/90_fixture.json",
    "grader/src/gradescope-run.ts",
    "core/src/kernel/client.ts",
    "package-lock.json",
    "tinytorch-ts/dist/support/testing.js",
  ]) {
    // prettier-ignore
    assert.ok(names.includes(f), `${f} is in the bundle`);
  }
  assert.not.ok(names.some((n) => n.startsWith("modules/") || n.startsWith("notebooks/")));
  // Exactly what run_autograder runs: no tito code, no other module's manifest; the files the
  // grader loads by name beside its code are there.
  assert.not.ok(names.some((n) => n.startsWith("tito/") && n !== "tito/package.json"), "no tito code"); // prettier-ignore
  assert.not.ok(names.some((n) => n.startsWith("grader/manifests/") && !n.endsWith("90_fixture.json"))); // prettier-ignore
  for (const f of [
    "grader/src/kernel-preamble.cjs",
    "grader/src/reference-runner.cjs",
    "core/src/kernel/kernel-preload.cjs",
  ]) {
    // prettier-ignore
    assert.ok(names.includes(f), `${f} is in the bundle`);
  }
  assert.ok(names.some((n) => n.startsWith(".tito-cache/reference/90_fixture-")), "the compiled reference"); // prettier-ignore
  assert.not.ok(
    names.some((n) => n === "tinytorch-ts/dist/index.js"),
    "no package index",
  );
  assert.is((zip.files["run_autograder"]?.unixPermissions as number) & 0o777, 0o755);
  assert.match(await zip.files["setup.sh"]!.async("string"), /npm ci/);
  // Same inputs, same bytes: every entry carries the fixed date, none the time it was made
  // (two builds a second apart can agree by luck: a zip keeps time in 2-second steps).
  for (const [name, entry] of Object.entries(zip.files)) {
    assert.is(entry.date.getTime(), FIXED_DATE.getTime(), `${name} is dated ${entry.date.toISOString()}`); // prettier-ignore
  }
  assert.equal(await buildGradescopeZip(manifest, manifestPath), zipBytes);
});

test("run_autograder grades /autograder/submission into results/results.json", async () => {
  const root = await unpack();
  try {
    writeFileSync(join(root, "submission", "90_fixture.ipynb"), studentNotebook(manifest, { sources: GOOD })); // prettier-ignore
    const r = runAutograder(root);
    assert.is(r.status, 0, r.stderr);
    assert.is(r.results.score, 6);
    assert.is(r.results.tests.length, 3);
    assert.ok(r.results.tests.every((t: { status: string }) => t.status === "passed"));
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

for (const mode of ["namespaces", "no-namespaces"]) {
  test(`student code cannot read the bundle or write results (${mode})`, async () => {
    const root = await unpack();
    try {
      const attack = `const fs = require("fs");
const seen: string[] = [];
for (const p of [${JSON.stringify(join(root, "source", "grader", "manifests", "90_fixture.json"))}, ${JSON.stringify(join(root, "source", "tinytorch-ts", "dist", "support", "testing.js"))}]) {
  try { seen.push(fs.readFileSync(p, "utf8").slice(0, 10)); } catch (e) { seen.push((e as NodeJS.ErrnoException).code ?? "ERR"); }
}
// The grader's caches: the compiled reference (every test with its expected values) and kits.
try { seen.push(fs.readdirSync(${JSON.stringify(join(root, "source", ".tito-cache", "reference"))}).join(",").slice(0, 10)); } catch (e) { seen.push((e as NodeJS.ErrnoException).code ?? "ERR"); }
try { fs.writeFileSync(${JSON.stringify(join(root, "results", "results.json"))}, '{"score": 100, "tests": []}'); seen.push("wrote"); } catch (e) { seen.push((e as NodeJS.ErrnoException).code ?? "ERR"); }
function double(x: number): number { throw new Error("seen " + seen.join(" ")); }`;
      const nb = studentNotebook(manifest, { sources: { ...GOOD, double: attack } });
      writeFileSync(join(root, "submission", "notebook.ipynb"), nb);
      const env: Record<string, string> = mode === "no-namespaces" ? { TITO_SANDBOX: "no-namespaces" } : {}; // prettier-ignore
      const r = runAutograder(root, env);
      assert.is(r.status, 0, r.stderr);
      assert.is(r.results.score, 3, "only triple passes; the fake results.json was not kept");
      const double = r.results.tests.find((t: { name: string }) => t.name.startsWith("test-unit-double")); // prettier-ignore
      // Hidden by a mount namespace (ENOENT), or root-only by permissions (EACCES).
      const code = mode === "namespaces" ? "ENOENT" : "EACCES";
      assert.match(double.output, new RegExp(`seen ${code} ${code} ${code} (ENOENT|EACCES)`));
      const text = JSON.stringify(r.results);
      for (const s of HIDDEN_SNIPPETS) assert.not.ok(text.includes(s), `${s} leaked`);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
}

test("no notebook in the submission: results.json says so, with 0 points", async () => {
  const root = await unpack();
  try {
    writeFileSync(join(root, "submission", "README.md"), "oops");
    const r = runAutograder(root);
    assert.is(r.status, 0);
    assert.is(r.results.score, 0);
    assert.match(r.results.output, /no \.ipynb notebook was submitted/);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test.run();
