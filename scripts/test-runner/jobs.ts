// What `npm test` runs: the static checks and every tests/**/*.test.ts file, each as one job for
// the pool. A test file that starts a tslab kernel says so on its first line:
//
//   // test-tier: kernel
//
// Every other file is in the fast tier and runs with TITO_TEST_TIER=fast, under which the kernel
// launcher refuses to start (core/src/kernel/launch.ts). So a file that needs a kernel but lacks
// the marker fails loudly, in `npm test` as in `npm run test:fast`: the marker cannot be forgotten.
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join, relative } from "node:path";

export type TestTier = "fast" | "kernel";

export interface Job {
  /** What the report calls it: a path relative to the root, or the check's name. */
  name: string;
  kind: "check" | "test";
  tier: TestTier;
  command: string;
  args: string[];
}

export const KERNEL_MARKER = "// test-tier: kernel";

const SKIPPED_DIRS = new Set(["fixtures", "artifacts", "node_modules"]);

/** Every *.test.ts below `dir`, sorted, skipping fixtures and generated output. */
export function findTestFiles(dir: string): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(dir).sort()) {
    if (SKIPPED_DIRS.has(entry)) continue;
    const path = join(dir, entry);
    if (statSync(path).isDirectory()) out.push(...findTestFiles(path));
    else if (entry.endsWith(".test.ts")) out.push(path);
  }
  return out;
}

/** A file's tier, from its first line. */
export function tierOf(source: string): TestTier {
  const end = source.indexOf("\n");
  const firstLine = (end === -1 ? source : source.slice(0, end)).trim();
  return firstLine === KERNEL_MARKER ? "kernel" : "fast";
}

export function testJobs(root: string): Job[] {
  return findTestFiles(join(root, "tests")).map((file) => ({
    name: relative(root, file),
    kind: "test",
    tier: tierOf(readFileSync(file, "utf8")),
    command: process.execPath,
    args: ["--require", "tsx/cjs", file],
  }));
}

/** prettier, eslint, tsc and the build check: they need no kernel. */
export function staticJobs(root: string): Job[] {
  const bin = (name: string) => join(root, "node_modules", ".bin", name);
  const check = (name: string, command: string, args: string[]): Job => ({
    name,
    kind: "check",
    tier: "fast",
    command,
    args,
  });
  // Each keeps a cache in .tito-cache (git-ignored), so a second run rechecks only what changed.
  // All three are exact: prettier and eslint (whose rules here use no type information) judge
  // each file alone, keyed by its content and the config; tsc's incremental build info records
  // every file's dependencies.
  const cache = (name: string) => join(root, ".tito-cache", name);
  return [
    check("prettier --check", bin("prettier"), ["--check", "--cache", "--cache-location", cache("prettier"), "."]), // prettier-ignore
    check("eslint", bin("eslint"), ["--cache", "--cache-strategy", "content", "--cache-location", cache("eslint"), "."]), // prettier-ignore
    check("tsc --noEmit", bin("tsc"), ["--noEmit", "--incremental", "--tsBuildInfoFile", cache("tsc.tsbuildinfo"), "-p", "tsconfig.json"]), // prettier-ignore
    check("tito build --check", process.execPath, [join(root, "tito/bin/tito.js"), "build", "--check"]), // prettier-ignore
  ];
}
