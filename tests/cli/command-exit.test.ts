// test-tier: kernel
// Every command that starts a kernel exits as soon as its work is done. A timer or socket left
// behind keeps Node alive after the last line is printed (the handshake's deadline timer once
// kept every such command alive ~55 s). Each command runs as a real process through tito/bin,
// on a tiny notebook, and must be gone within EXIT_BOUND_MS of its own last output: a hang
// test, with a bound generous enough for a loaded machine, not a timing test.
import { spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { writeIpynb } from "@tinytorch-ts/core/notebook";
import { releaseCourse } from "../../tito/src/release/release-course";
import { findJupyterPython } from "../../tito/src/student/jupyter";
import { makeFixtureRoot } from "../build/fixture-root";
import { FIXTURES, loadFixtureManifest, studentNotebook } from "../grader/helpers";
import { artifactDir } from "../release/bundle-dir";
import { code, notebook } from "../run/notebooks";
import { KIT_ROOT as KIT } from "@tinytorch-ts/core";

const TITO = join(KIT, "tito", "bin", "tito.js");
/** How long a command may live after its last output. */
const EXIT_BOUND_MS = 10_000;
/** A command that has not exited by then hangs for sure; it is killed and the test fails. */
const HARD_LIMIT_MS = 5 * 60_000;

interface Timed {
  code: number | null;
  output: string;
  /** From the last byte of output to the process's exit. */
  afterLastOutputMs: number;
}

function runTimed(args: string[], cwd: string, env: NodeJS.ProcessEnv = process.env) {
  return new Promise<Timed>((resolve) => {
    const child = spawn(process.execPath, [TITO, ...args], { cwd, env, stdio: "pipe" });
    let output = "";
    let last = performance.now();
    const onData = (d: Buffer) => {
      output += d.toString("utf8");
      last = performance.now();
    };
    child.stdout.on("data", onData);
    child.stderr.on("data", onData);
    const killer = setTimeout(() => child.kill("SIGKILL"), HARD_LIMIT_MS);
    child.once("exit", (code) => {
      clearTimeout(killer);
      resolve({ code, output, afterLastOutputMs: performance.now() - last });
    });
  });
}

function assertPrompt(name: string, r: Timed): void {
  // The figure itself, for the record (the assertion below is only a hang check).
  console.log(`${name}: exited ${(r.afterLastOutputMs / 1000).toFixed(1)} s after its last output`);
  assert.ok(
    r.afterLastOutputMs < EXIT_BOUND_MS,
    `${name} stayed alive ${(r.afterLastOutputMs / 1000).toFixed(1)} s after its last output:\n${r.output}`,
  );
}

const work = mkdtempSync(join(tmpdir(), "tito-exit-"));
let fixtureRoot = "";
let bundleParent = "";

test.after(() => {
  rmSync(work, { recursive: true, force: true });
  if (fixtureRoot) rmSync(fixtureRoot, { recursive: true, force: true });
  if (bundleParent) rmSync(bundleParent, { recursive: true, force: true });
});

test("tito run exits promptly, after a passing and after an interrupted notebook", async () => {
  const ok = join(work, "ok.ipynb");
  writeFileSync(ok, writeIpynb(notebook([code("console.log(6 * 7)")])));
  const r = await runTimed(["run", ok], work);
  assert.is(r.code, 0, r.output);
  assertPrompt("tito run", r);
  const loop = join(work, "loop.ipynb");
  writeFileSync(loop, writeIpynb(notebook([code("while (true) {}")])));
  const l = await runTimed(["run", loop, "--timeout", "2"], work);
  assert.is(l.code, 1, l.output);
  assert.match(l.output, /timed out/);
  assertPrompt("tito run (timeout)", l);
});

test("tito test exits promptly in a student workspace", async () => {
  fixtureRoot = makeFixtureRoot("tito-exit-root-");
  bundleParent = artifactDir("exit-");
  const ws = join(bundleParent, "course");
  assert.ok((await releaseCourse({ referenceAudit: "skip", root: fixtureRoot, outDir: ws })).ok);
  const r = await runTimed(["test", "01"], ws);
  assert.is(r.code, 1, r.output); // the untouched stubs fail
  assert.match(r.output, /Not implemented/);
  assertPrompt("tito test", r);
});

test("tito grade and tito audit exit promptly", async () => {
  const manifestDir = join(work, "manifests");
  const subs = join(work, "subs");
  const notebooks = join(work, "notebooks");
  for (const dir of [manifestDir, subs, notebooks]) mkdirSync(dir, { recursive: true });
  const manifest = loadFixtureManifest();
  writeFileSync(join(subs, "ann.ipynb"), studentNotebook(manifest));
  writeFileSync(join(notebooks, "90_fixture.ipynb"), studentNotebook(manifest));
  writeFileSync(join(manifestDir, "90_fixture.json"), JSON.stringify(manifest));
  const g = await runTimed(
    ["grade", subs, "--manifest", join(FIXTURES, "90_fixture.json"), "--out", join(work, "grades"), "--no-sandbox"], // prettier-ignore
    work,
  );
  assert.is(g.code, 0, g.output);
  assertPrompt("tito grade", g);
  const a = await runTimed(
    ["audit", "--manifests", manifestDir, "--notebooks", notebooks, "--no-sandbox"],
    work,
  );
  assert.is(a.code, 0, a.output);
  assertPrompt("tito audit", a);
});

test("tito milestone exits promptly", async () => {
  const r = await runTimed(["milestone", "01"], KIT);
  assert.is(r.code, 0, r.output);
  assertPrompt("tito milestone", r);
});

test("tito doctor exits promptly (with a kernel when Jupyter is installed)", async () => {
  const env = { ...process.env, JUPYTER_DATA_DIR: join(work, "jupyter") };
  if (findJupyterPython()) {
    const s = await runTimed(["setup"], KIT, env);
    assert.is(s.code, 0, s.output);
  }
  const r = await runTimed(["doctor"], KIT, env);
  if (findJupyterPython()) {
    assert.is(r.code, 0, r.output);
    assert.match(r.output, /ran a cell/);
  }
  assertPrompt("tito doctor", r);
});

test.run();
