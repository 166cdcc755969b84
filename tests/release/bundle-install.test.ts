// test-tier: kernel
// The student bundle as a student gets it, on a machine without the kit: released into a temp
// directory outside the kit, installed with `npm ci` from its own lockfile (the npm cache or
// registry only: no link to the kit's node_modules, no NODE_PATH), the kernel registered by the
// bundle's own `npm run setup` in a private Jupyter directory, a kernel started exactly as
// Jupyter's kernelspec says, then `tito test`, `tito doctor` and every milestone in the bundle.
// Slow (npm ci): its steps print how long they took.
import { spawnSync } from "node:child_process";
import {
  cpSync,
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  rmSync,
} from "node:fs";
import { lstatSync, realpathSync } from "node:fs";
import { tmpdir } from "node:os";
import { delimiter, dirname, join, resolve } from "node:path";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { KernelClient } from "@tinytorch-ts/core/kernel";
import { releaseCourse } from "../../tito/src/release/release-course";
import { findJupyterPython } from "../../tito/src/student/jupyter";
import { KIT_ROOT as KIT } from "@tinytorch-ts/core";

const work = mkdtempSync(join(tmpdir(), "tito-bundle-"));
const bundle = join(work, "course");
const jupyterDir = join(work, "jupyter");

/**
 * A student's environment: no NODE_PATH, no npm_* variables of the running `npm test`, no kit
 * directory on PATH (npm puts the kit's node_modules/.bin there), a private Jupyter directory.
 */
function studentEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (k === "NODE_PATH" || k.startsWith("npm_") || k.startsWith("NPM_")) continue;
    env[k] = v;
  }
  env.PATH = [dirname(process.execPath), ...(process.env.PATH ?? "").split(delimiter)]
    .filter((p) => p !== "" && !resolve(p).startsWith(KIT))
    .join(delimiter);
  env.JUPYTER_DATA_DIR = jupyterDir;
  return env;
}

function sh(cmd: string, args: string[], timeoutMs = 5 * 60_000) {
  const started = performance.now();
  const r = spawnSync(cmd, args, {
    cwd: bundle,
    env: studentEnv(),
    encoding: "utf8",
    timeout: timeoutMs,
    maxBuffer: 32 * 1024 * 1024,
  });
  const seconds = ((performance.now() - started) / 1000).toFixed(1);
  console.log(`  ${[cmd, ...args].join(" ")}: exit ${r.status} in ${seconds} s`);
  const stdout = r.stdout ?? "";
  return { status: r.status, stdout, out: `${stdout}${r.stderr ?? ""}${r.error ?? ""}` };
}

test.after(() => rmSync(work, { recursive: true, force: true }));

test("the bundle installs with npm ci from its own lockfile, without the kit", async () => {
  for (let dir = work; dir !== dirname(dir); dir = dirname(dir)) {
    assert.not.ok(existsSync(join(dir, "node_modules")), `${dir}/node_modules would be reachable`);
  }
  const released = await releaseCourse({ referenceAudit: "skip", root: KIT, outDir: bundle });
  assert.ok(released.ok, JSON.stringify(released.leaks.slice(0, 3)));
  const ci = sh("npm", ["ci", "--no-audit", "--no-fund", "--prefer-offline"], 15 * 60_000);
  assert.is(ci.status, 0, ci.out);
  // Nothing in node_modules points outside the bundle (only the workspaces are links).
  for (const name of readdirSync(join(bundle, "node_modules"))) {
    const path = join(bundle, "node_modules", name);
    if (!lstatSync(path).isSymbolicLink()) continue;
    const target = realpathSync(path);
    assert.ok(target.startsWith(bundle), `${name} -> ${readlinkSync(path)} leaves the bundle`);
  }
  // npm itself, resolving the bundle's package.json against the lock, writes the same file.
  const ours = readFileSync(join(bundle, "package-lock.json"), "utf8");
  const relock = sh("npm", ["install", "--package-lock-only", "--prefer-offline", "--no-audit", "--no-fund"]); // prettier-ignore
  assert.is(relock.status, 0, relock.out);
  assert.is(readFileSync(join(bundle, "package-lock.json"), "utf8"), ours, "npm rewrote the lock");
  const where = sh("node", ["-p", "require.resolve('tslab/package.json')"]);
  assert.ok(where.out.trim().startsWith(bundle), where.out);
});

test("npm run setup registers the bundle's tslab; a kernel starts from Jupyter's kernelspec", async () => {
  const python = findJupyterPython(studentEnv().PATH);
  assert.ok(python, "no Python with Jupyter: install jupyter-notebook (scripts/setup-system.sh)");
  const setup = sh("npm", ["run", "setup"]);
  assert.is(setup.status, 0, setup.out);
  // Ask Jupyter itself which kernels it knows, as a front end does (`jupyter kernelspec list`).
  const list = sh(python, ["-m", "jupyter_client.kernelspecapp", "list", "--json"]);
  assert.is(list.status, 0, list.out);
  const specs = JSON.parse(list.stdout) as {
    kernelspecs: Record<string, { resource_dir: string; spec: { argv: string[] } }>;
  };
  const tslab = specs.kernelspecs.tslab;
  assert.ok(tslab?.resource_dir.startsWith(jupyterDir), JSON.stringify(specs));
  assert.is(tslab.spec.argv[0], join(bundle, "node_modules", ".bin", "tslab"));
  const env = studentEnv();
  const kernel = await KernelClient.start({
    cwd: join(bundle, "notebooks"),
    kernelSpecArgv: tslab.spec.argv,
    env: { PATH: env.PATH, HOME: env.HOME, LANG: "C.UTF-8" },
  });
  try {
    const run = await kernel.execute(
      'import { Tensor } from "tinytorch-ts/core/tensor";\nconsole.log("tensor is a " + typeof Tensor);',
      { timeoutMs: 60_000 },
    );
    assert.is(run.status, "ok", JSON.stringify(run));
    assert.match(JSON.stringify(run.outputs), /tensor is a function/);
  } finally {
    await kernel.shutdown();
  }
  const doctor = sh("npx", ["tito", "doctor"]);
  assert.is(doctor.status, 0, doctor.out);
  assert.match(doctor.out, /Everything is ready/);
});

test("npx tito test: the stubs fail with Not implemented; 02 says to export 01 first", () => {
  const t01 = sh("npx", ["tito", "test", "01"]);
  assert.is(t01.status, 1, t01.out);
  const fails = t01.out.split("\n").filter((l) => /^\s+FAIL\s/.test(l));
  assert.ok(fails.length > 0, t01.out);
  for (const line of fails) assert.match(line, /Not implemented: [\w-]+/, line);
  assert.match(t01.out, /^0\/\d+ tests passed/m);
  assert.not.match(t01.out, /export first/i, "01's own stubs are the student's to write");
  const t02 = sh("npx", ["tito", "test", "02"]);
  assert.is(t02.status, 1, t02.out);
  assert.match(t02.out, /module 01_tensor is not exported yet.*`npx tito export 01`/);
});

test("every milestone ships and runs on the student's own package", () => {
  const listed = sh("npx", ["tito", "milestone", "--list"]);
  assert.is(listed.status, 0, listed.out);
  const numbers = [...listed.out.matchAll(/^(\d\d)\s/gm)].map((m) => m[1]!);
  const shipped = readdirSync(join(KIT, "milestones")).filter((f) => /^\d\d_.+\.ts$/.test(f));
  assert.is(numbers.length, shipped.length, listed.out);
  // With the package still all stubs, the milestone names the module to export.
  const stubbed = sh("npx", ["tito", "milestone", "01"]);
  assert.is(stubbed.status, 1, stubbed.out);
  assert.match(stubbed.out, /npx tito export 01/);
  // A student who has done and exported every module: their package is the reference's.
  cpSync(join(KIT, "tinytorch-ts", "src"), join(bundle, "tinytorch-ts", "src"), {
    recursive: true,
  });
  const compiled = sh("npx", ["tsc", "-p", "tinytorch-ts/tsconfig.json"]);
  assert.is(compiled.status, 0, compiled.out);
  // Milestones 03-06 train for a minute or more: here their smoke runs (shortened options each
  // milestone exports) check the same code paths on the student's package; the full runs are
  // tests/milestones' and the benchmarks' to report.
  process.env.TINYTORCH_MILESTONE_SMOKE = "1";
  for (const n of numbers) {
    const r = sh("npx", ["tito", "milestone", n], 10 * 60_000);
    assert.is(r.status, 0, `milestone ${n}:\n${r.out}`);
  }
});

test.run();
