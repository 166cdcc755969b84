// test-tier: kernel
// A batch under attack (issue 11, classes 3-5): a student whose cells leave 30 nested
// 250-character directories and ignore SIGTERM, and one who fills the disk, graded beside an
// honest student. The honest student gets full marks, every student gets a recorded attempt,
// no kernel survives (not even those of a grader that is SIGKILLed), and the host's disk grows
// by less than one scratch cap. Also the no-namespaces mode: one kernel at a time.
import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync } from "node:fs";
import { lstatSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { findSubmissions, gradeBatch, resultsPath } from "../../grader/src/batch";
import { Gradebook } from "../../grader/src/gradebook";
import { KIT_ROOT } from "@tinytorch-ts/core";
import { GraderSetupError, prepareKernel } from "../../grader/src/kernel-session";
import { resetSandboxProbe, SCRATCH_BYTES } from "../../grader/src/sandbox";
import { removeQuietly } from "../../grader/src/scratch";
import { FILL_THE_DISK } from "./attacks";
import { GOOD, loadFixtureManifest, studentNotebook } from "./helpers";

const manifest = loadFixtureManifest();
const work = mkdtempSync(join(tmpdir(), "tito-robust-test-"));
const LIMITS = { cellTimeoutMs: 20_000, memoryMb: 256 };

/** Processes whose command line mentions `marker` (a scratch root only our kernels use). */
function processesMentioning(marker: string): number[] {
  const found: number[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    try {
      if (readFileSync(`/proc/${entry}/cmdline`, "utf8").includes(marker))
        found.push(Number(entry));
    } catch {
      // It ended while we looked.
    }
  }
  return found;
}

async function waitForNone(marker: string, ms: number): Promise<number[]> {
  const until = Date.now() + ms;
  let left = processesMentioning(marker);
  while (left.length > 0 && Date.now() < until) {
    await new Promise((r) => setTimeout(r, 250));
    left = processesMentioning(marker);
  }
  return left;
}

/** Bytes of the files under `dir` on the host (directories and links count their own size). */
function bytesUnder(dir: string): number {
  let total = 0;
  const walk = (d: string) => {
    for (const e of readdirSync(d)) {
      const p = join(d, e);
      const st = lstatSync(p);
      total += st.size;
      if (st.isDirectory()) walk(p);
    }
  };
  if (existsSync(dir)) walk(dir);
  return total;
}

const CRASHER = `process.on("SIGTERM", () => {});
process.on("SIGINT", () => {});
setInterval(() => {}, 1000);
const fs = require("fs");
const home = process.cwd();
for (const base of [require("os").tmpdir(), home]) {
  try {
    process.chdir(base);
    for (let i = 0; i < 30; i++) { fs.mkdirSync("x".repeat(250)); process.chdir("x".repeat(250)); }
  } catch {}
}
process.chdir(home);
function double(x: number): number { return x; }`;

test("a crashing cleanup and a full disk beside an honest student: full marks, every attempt recorded, no kernel left", async () => {
  const subs = join(work, "subs");
  const out = join(work, "out");
  const scratchRoot = join(work, "scratch");
  mkdirSync(subs);
  mkdirSync(scratchRoot, { mode: 0o711 });
  writeFileSync(join(subs, "crasher.ipynb"), studentNotebook(manifest, { sources: { ...GOOD, double: CRASHER } })); // prettier-ignore
  writeFileSync(join(subs, "filler.ipynb"), studentNotebook(manifest, { sources: { ...GOOD, double: FILL_THE_DISK } })); // prettier-ignore
  writeFileSync(join(subs, "honest.ipynb"), studentNotebook(manifest, { sources: GOOD }));
  let peak = 0;
  const s = await gradeBatch(manifest, findSubmissions(subs, manifest.module), {
    ...LIMITS,
    outDir: out,
    jobs: 2,
    manifestHash: "m1",
    scratchRoot,
    onResult: () => {
      peak = Math.max(peak, bytesUnder(scratchRoot) + bytesUnder(out));
    },
  });
  assert.equal(s.problems, []);
  const score = (student: string) => JSON.parse(readFileSync(resultsPath(out, manifest.module, student), "utf8")).score; // prettier-ignore
  assert.is(score("honest"), 6);
  assert.is(score("filler"), 6, "its answers are right; the attack only fails");
  assert.is(score("crasher"), 3, "honest score: double is wrong, triple right");
  const book = await Gradebook.open(join(out, "gradebook.sqlite"));
  assert.equal(
    book
      .attempts()
      .map((a) => a.student)
      .sort(),
    ["crasher", "filler", "honest"],
  );
  book.close();
  assert.equal(await waitForNone(scratchRoot, 10_000), [], "no kernel of this batch survives");
  peak = Math.max(peak, bytesUnder(scratchRoot) + bytesUnder(out));
  assert.ok(peak < SCRATCH_BYTES, `the host's disk grew by ${peak} bytes`);
  assert.equal(readdirSync(scratchRoot), [], "each kernel's host directory is gone");
});

test("the kernels of a grader that is SIGKILLed die with it, the pre-started one too", async () => {
  const scratchRoot = join(work, "killed");
  mkdirSync(scratchRoot, { mode: 0o711 });
  const script = `
const { prepareKernel } = require(${JSON.stringify(join(KIT_ROOT, "grader/src/kernel-session.ts"))});
const { loadFixtureManifest } = require(${JSON.stringify(join(KIT_ROOT, "tests/grader/helpers.ts"))});
const m = loadFixtureManifest();
const opts = { scratchRoot: ${JSON.stringify(scratchRoot)}, memoryMb: 256 };
Promise.all([prepareKernel(m, opts), prepareKernel(m, opts)]).then(() => {
  process.stdout.write("READY\\n");
  setInterval(() => {}, 1000);
});`;
  const child = spawn(process.execPath, ["--require", "tsx/cjs", "-e", script], {
    cwd: KIT_ROOT,
    stdio: ["ignore", "pipe", "inherit"],
  });
  await new Promise<void>((resolve, reject) => {
    child.stdout.on("data", (d: Buffer) => d.toString().includes("READY") && resolve());
    child.once("exit", (code) => reject(new Error(`the grader ended early (${code})`)));
  });
  assert.ok(processesMentioning(scratchRoot).length >= 2, "two kernels are running");
  child.kill("SIGKILL");
  assert.equal(await waitForNone(scratchRoot, 15_000), [], "no kernel outlives its grader");
});

test("no-namespaces mode: one kernel at a time (a batch too), and its kernel still cannot read its own memory", async () => {
  process.env.TITO_SANDBOX = "no-namespaces";
  resetSandboxProbe();
  try {
    const first = await prepareKernel(manifest, LIMITS);
    try {
      await prepareKernel(manifest, LIMITS).then(
        (k) => k.dispose().then(() => assert.unreachable("a second kernel started")),
        (e: unknown) => {
          assert.instance(e, GraderSetupError);
          assert.match((e as Error).message, /one kernel at a time/);
        },
      );
      const run = await first.kernel.execute(
        `const fs = require("fs"); let r = ""; try { fs.openSync("/proc/self/mem", "r"); r = "open"; } catch (e) { r = (e as any).code; } console.log("mem=" + r + " uid=" + process.getuid());`,
        { timeoutMs: 20_000 },
      );
      const text = run.outputs.map((o) => (o.output_type === "stream" ? o.text : "")).join("");
      assert.match(text, /mem=EACCES uid=[1-9]\d*/);
      assert.ok(first.isolation.some((l) => /one kernel at a time/.test(l)));
    } finally {
      await first.dispose();
    }
    // A batch asking for two jobs runs them one after the other instead of refusing.
    const subs = join(work, "unconfined");
    mkdirSync(subs);
    for (const student of ["ann", "ben"]) {
      writeFileSync(join(subs, `${student}.ipynb`), studentNotebook(manifest, { sources: GOOD }));
    }
    const s = await gradeBatch(manifest, findSubmissions(subs, manifest.module), {
      ...LIMITS,
      outDir: join(work, "unconfined-out"),
      jobs: 2,
      manifestHash: "m1",
    });
    assert.equal(
      s.results.map((r) => r.score),
      [6, 6],
    );
  } finally {
    delete process.env.TITO_SANDBOX;
    resetSandboxProbe();
  }
});

test("a kernel that cannot be prepared is that submission's error attempt, never an unhandled rejection", async () => {
  const subs = join(work, "no-package");
  mkdirSync(subs);
  for (const student of ["amy", "bo", "cy"]) {
    writeFileSync(join(subs, `${student}.ipynb`), studentNotebook(manifest, { sources: GOOD }));
  }
  const unhandled: unknown[] = [];
  const onUnhandled = (e: unknown) => unhandled.push(e);
  process.on("unhandledRejection", onUnhandled);
  try {
    const out = join(work, "no-package-out");
    // Every start fails (the reference package is not there), the ones prepared ahead too.
    const s = await gradeBatch(manifest, findSubmissions(subs, manifest.module), {
      ...LIMITS,
      outDir: out,
      jobs: 2,
      manifestHash: "m1",
      packageSource: { packageDir: join(work, "missing"), nodeModulesDir: join(KIT_ROOT, "node_modules") }, // prettier-ignore
    });
    assert.equal([s.graded, s.errors], [0, 3]);
    assert.equal(s.results.map((r) => r.student).sort(), ["amy", "bo", "cy"]);
    for (const r of s.results) {
      assert.is(r.status, "error");
      assert.match(r.reason ?? "", /could not run this notebook: the reference package is not built/); // prettier-ignore
      const page = JSON.parse(
        readFileSync(resultsPath(out, manifest.module, r.student ?? ""), "utf8"),
      );
      assert.match(page.output, /could not run this notebook/, "the attempt is on record");
    }
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(unhandled, []);
  } finally {
    process.off("unhandledRejection", onUnhandled);
  }
});

test("a stopped batch shuts down every kernel it prepared ahead", async () => {
  const subs = join(work, "stopped");
  mkdirSync(subs);
  for (const student of ["s1", "s2", "s3", "s4", "s5"]) {
    writeFileSync(join(subs, `${student}.ipynb`), studentNotebook(manifest, { sources: GOOD }));
  }
  const scratchRoot = join(work, "stopped-scratch");
  mkdirSync(scratchRoot, { mode: 0o711 });
  const stop = { requested: false };
  const s = await gradeBatch(manifest, findSubmissions(subs, manifest.module), {
    ...LIMITS,
    outDir: join(work, "stopped-out"),
    jobs: 2,
    manifestHash: "m1",
    scratchRoot,
    stop,
    onResult: () => {
      stop.requested = true;
    },
  });
  assert.ok(s.results.length >= 1 && s.results.length < 5, "stopped before the end");
  assert.ok(s.results.every((r) => r.score === 6));
  assert.equal(await waitForNone(scratchRoot, 10_000), [], "no kernel prepared ahead survives");
  assert.equal(readdirSync(scratchRoot), [], "each kernel's host directory is gone");
});

test("removing a tree deeper than PATH_MAX does not throw: it is deleted", async () => {
  const dir = join(work, "deep");
  mkdirSync(dir);
  // Made relative to the cwd, one level at a time: 7.5k characters, past PATH_MAX.
  const deepen = `process.chdir(process.argv[1]); for (let i = 0; i < 30; i++) { require("fs").mkdirSync("y".repeat(250)); process.chdir("y".repeat(250)); }`; // prettier-ignore
  const made = spawnSync(process.execPath, ["-e", deepen, dir]);
  assert.is(made.status, 0);
  const problems: string[] = [];
  await removeQuietly(dir, (p) => problems.push(p));
  assert.equal(problems, []);
  assert.not.ok(existsSync(dir));
});

test.after(() => removeQuietly(work));

test.run();
