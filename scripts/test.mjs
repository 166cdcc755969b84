#!/usr/bin/env node
// The kit's test command (`npm test`). It runs the static checks (prettier, eslint, tsc, and
// `tito build --check`) and then every tests/**/*.test.ts file in its own Node process, so one
// file that crashes or hangs cannot hide the results of the others. uvu prints a summary per
// file; we add them up and end with the plain line CI reads: `N passed, N failed`.
//
// Usage: npm test [-- <substring> ...]   run only test files whose path contains a substring
//        npm test -- --no-static          skip the static checks (handy while iterating)
import { spawnSync } from "node:child_process";
import { readdirSync, statSync } from "node:fs";
import { join, relative } from "node:path";

const root = new URL("..", import.meta.url).pathname;
const args = process.argv.slice(2);
const runStatic = !args.includes("--no-static");
const filters = args.filter((a) => !a.startsWith("--"));
const bin = (name) => join(root, "node_modules", ".bin", name);

let passed = 0;
let failed = 0;
const failures = [];

function check(name, cmd, cmdArgs, timeoutMs = 10 * 60_000) {
  const started = Date.now();
  const r = spawnSync(cmd, cmdArgs, { cwd: root, encoding: "utf8", timeout: timeoutMs });
  const secs = ((Date.now() - started) / 1000).toFixed(1);
  if (r.status === 0) {
    passed++;
    console.log(`ok   ${name} (${secs}s)`);
  } else {
    failed++;
    failures.push(name);
    console.log(`FAIL ${name} (${secs}s)`);
    process.stdout.write(
      indent(`${r.stdout ?? ""}${r.stderr ?? ""}${r.error ? String(r.error) : ""}`),
    );
  }
}

function indent(text) {
  const lines = text.trimEnd().split("\n").slice(-60);
  return lines.map((l) => `     ${l}`).join("\n") + "\n";
}

function findTests(dir) {
  const out = [];
  for (const entry of readdirSync(dir).sort()) {
    if (entry === "fixtures" || entry === "artifacts" || entry === "node_modules") continue;
    const path = join(dir, entry);
    if (statSync(path).isDirectory()) out.push(...findTests(path));
    else if (entry.endsWith(".test.ts")) out.push(path);
  }
  return out;
}

if (runStatic && filters.length === 0) {
  check("prettier --check", bin("prettier"), ["--check", "."]);
  check("eslint", bin("eslint"), ["."]);
  check("tsc --noEmit", bin("tsc"), ["--noEmit", "-p", "tsconfig.json"]);
  check("tito build --check", "node", [join(root, "tito/bin/tito.js"), "build", "--check"]);
}

const files = findTests(join(root, "tests")).filter(
  (f) => filters.length === 0 || filters.some((s) => relative(root, f).includes(s)),
);
for (const file of files) {
  const name = relative(root, file);
  const started = Date.now();
  const r = spawnSync("node", ["--require", "tsx/cjs", file], {
    cwd: root,
    encoding: "utf8",
    env: { ...process.env, NODE_DISABLE_COLORS: "1", FORCE_COLOR: "0" },
    timeout: 20 * 60_000,
    maxBuffer: 64 * 1024 * 1024,
  });
  const secs = ((Date.now() - started) / 1000).toFixed(1);
  const out = `${r.stdout ?? ""}${r.stderr ?? ""}`;
  const total = Number(/Total:\s+(\d+)/.exec(out)?.[1] ?? NaN);
  const ok = Number(/Passed:\s+(\d+)/.exec(out)?.[1] ?? NaN);
  const skipped = Number(/Skipped:\s+(\d+)/.exec(out)?.[1] ?? 0);
  if (Number.isNaN(total) || Number.isNaN(ok)) {
    // No uvu summary: the file crashed, timed out or never ran its suites.
    failed++;
    failures.push(name);
    console.log(
      `FAIL ${name} (${secs}s): no test summary (exit ${r.status}${r.signal ? ", " + r.signal : ""})`,
    );
    process.stdout.write(indent(out + (r.error ? String(r.error) : "")));
    continue;
  }
  const bad = total - ok - skipped + (r.status !== 0 && total === ok + skipped ? 1 : 0);
  passed += ok;
  failed += bad;
  if (bad > 0) {
    failures.push(name);
    console.log(`FAIL ${name} (${secs}s): ${ok} passed, ${bad} failed`);
    process.stdout.write(indent(out));
  } else {
    console.log(`ok   ${name} (${secs}s): ${ok} passed`);
  }
}

if (failures.length > 0) console.log(`\nFailed: ${failures.join(", ")}`);
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed > 0 ? 1 : 0);
