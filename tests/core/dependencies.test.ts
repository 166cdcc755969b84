// Dependencies point one way: core <- grader <- tito (and core <- tito). Each workspace package
// imports another only by its package name, only through what that package exports, and
// declares every package it imports (workspace or npm) in its package.json. No relative import
// leaves its package. The benches, scripts and milestones, and the tests outside the workspace
// each one tests, use the workspaces the same way.
import { builtinModules } from "node:module";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, normalize, relative } from "node:path";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { KIT_ROOT as KIT } from "../../core/src/course-root";

/** Package folder -> the workspace packages it may import. */
const ALLOWED: Record<string, string[]> = {
  core: [],
  // The grader judges records with the harness's own check contract (support/checks).
  grader: ["@tinytorch-ts/core", "tinytorch-ts"],
  tito: ["@tinytorch-ts/core", "@tinytorch-ts/grader"],
};
const BUILTINS = new Set(builtinModules);
const WORKSPACE_NAMES = ["@tinytorch-ts/core", "@tinytorch-ts/grader", "tito", "tinytorch-ts"];

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((entry) => {
    const full = join(dir, entry);
    // A bench's outputs (bench/out: copies of the course) and installed packages are not ours.
    if (entry === "out" || entry === "node_modules") return [];
    if (statSync(full).isDirectory()) return sources(full);
    return /\.(ts|cjs|mjs|js)$/.test(entry) ? [full] : [];
  });
}

/**
 * Module specifiers of every import form: `import … from`, `export … from`, a bare `import "x"`,
 * `import("x")`, `require("x")` and `require.resolve("x")`, with single or double quotes.
 */
export function specifiers(text: string): string[] {
  const out: string[] = [];
  // Statements only (an import shown inside a template string, say in a README, is text).
  const re =
    /^\s*(?:import|export)\b[^;]*?from\s+(["'])([^"']+)\1|^\s*import\s+(["'])([^"']+)\3|\b(?:import|require(?:\.resolve)?)\(\s*(["'])([^"']+)\5/gm;
  // Comments may quote code (`import x = require("y")`): leave them out.
  const code = text.replace(/\/\*[\s\S]*?\*\//g, "").replace(/(^|[^:"'`])\/\/.*$/gm, "$1");
  for (let m = re.exec(code); m; m = re.exec(code)) out.push(m[2] ?? m[4] ?? m[6] ?? "");
  return out;
}

function workspacePackage(spec: string): string | undefined {
  return WORKSPACE_NAMES.find((n) => spec === n || spec.startsWith(`${n}/`));
}

/** "zeromq" -> "zeromq", "tslab/package.json" -> "tslab", "@a/b/c" -> "@a/b". */
function packageName(spec: string): string {
  const parts = spec.split("/");
  return spec.startsWith("@") ? parts.slice(0, 2).join("/") : (parts[0] ?? spec);
}

for (const [pkg, allowed] of Object.entries(ALLOWED)) {
  test(`${pkg}: imports only ${allowed.join(", ") || "no other workspace package"}, by name; declares all it imports`, () => {
    const manifest = JSON.parse(readFileSync(join(KIT, pkg, "package.json"), "utf8")) as {
      dependencies?: Record<string, string>;
    };
    const declared = Object.keys(manifest.dependencies ?? {});
    const problems: string[] = [];
    const used = new Set<string>();
    for (const file of sources(join(KIT, pkg, "src"))) {
      const rel = relative(KIT, file);
      for (const spec of specifiers(readFileSync(file, "utf8"))) {
        if (spec.startsWith(".")) {
          const target = relative(join(KIT, pkg), normalize(join(dirname(file), spec)));
          if (target.startsWith("..")) problems.push(`${rel}: "${spec}" leaves ${pkg}/`);
          continue;
        }
        if (spec.startsWith("node:") || BUILTINS.has(spec)) continue;
        const name = workspacePackage(spec);
        if (name === undefined) {
          used.add(packageName(spec));
          continue;
        }
        used.add(name);
        if (!allowed.includes(name)) problems.push(`${rel}: imports ${name}`);
        if (/\/src(\/|$)/.test(spec.slice(name.length))) {
          problems.push(`${rel}: "${spec}" reaches into ${name}'s internals`);
        }
      }
    }
    for (const name of used) {
      if (!declared.includes(name)) problems.push(`${pkg}/package.json does not declare ${name}`);
    }
    assert.equal(problems, []);
  });
}

/** Folders outside the workspaces that use them: they go through package names and entries. */
const USERS = ["bench", "scripts", "milestones"];
const WORKSPACE_DIRS = ["core", "tito", "grader", "tinytorch-ts"];

test(`${USERS.join(", ")}: import the workspaces by package name and their public entries`, () => {
  const problems: string[] = [];
  for (const dir of USERS) {
    for (const file of sources(join(KIT, dir))) {
      const rel = relative(KIT, file);
      for (const spec of specifiers(readFileSync(file, "utf8"))) {
        if (spec.startsWith(".")) {
          const target = relative(KIT, normalize(join(dirname(file), spec))).split(/[\\/]/)[0];
          if (WORKSPACE_DIRS.includes(target ?? "")) problems.push(`${rel}: "${spec}" reaches into ${target}/ by path`); // prettier-ignore
          continue;
        }
        const name = workspacePackage(spec);
        if (name && /\/src(\/|$)/.test(spec.slice(name.length))) problems.push(`${rel}: "${spec}" reaches into ${name}'s internals`); // prettier-ignore
      }
    }
  }
  assert.equal(problems, []);
});

/**
 * Each folder of tests/ names the workspace it tests (its subject). A test may import its
 * subject's files by path (a unit test imports the unit it tests); every other workspace it uses
 * as a client would, by package name and public entry. Folders that test no one workspace
 * (the course, the milestones, the docs, the launcher) use every workspace that way. A new
 * folder fails here until it says which it is.
 */
const TEST_SUBJECTS: Record<string, string[]> = {
  core: ["core"],
  notebook: ["core"],
  kernel: ["core"],
  run: ["core"],
  transforms: ["tito"],
  build: ["tito"],
  export: ["tito"],
  release: ["tito"],
  student: ["tito"],
  cli: ["tito"],
  grader: ["grader"],
  package: ["tinytorch-ts"],
  profiling: ["tinytorch-ts"],
  benchmarking: ["tinytorch-ts"],
  course: [],
  milestones: [],
  docs: [],
  e2e: [],
  scripts: [],
};

/** Test-side problems: a workspace reached by path that is not the folder's subject. */
export function testImportProblems(file: string, text: string, subjects: string[]): string[] {
  const problems: string[] = [];
  const rel = relative(KIT, file);
  for (const spec of specifiers(text)) {
    if (spec.startsWith(".")) {
      const target = relative(KIT, normalize(join(dirname(file), spec))).split(/[\\/]/)[0] ?? "";
      if (WORKSPACE_DIRS.includes(target) && !subjects.includes(target)) {
        problems.push(`${rel}: "${spec}" reaches into ${target}/ by path (import it by package name)`); // prettier-ignore
      }
      continue;
    }
    const name = workspacePackage(spec);
    if (name && /\/src(\/|$)/.test(spec.slice(name.length))) problems.push(`${rel}: "${spec}" reaches into ${name}'s internals`); // prettier-ignore
  }
  return problems;
}

test("tests/: each folder reaches by path only into the workspace it tests", () => {
  const problems: string[] = [];
  for (const folder of readdirSync(join(KIT, "tests"))) {
    const dir = join(KIT, "tests", folder);
    // Fixtures are inputs (module sources, notebooks), not code of the kit's; artifacts/ is
    // what tests write (git-ignored).
    if (folder === "fixtures" || folder === "artifacts" || !statSync(dir).isDirectory()) continue;
    const subjects = TEST_SUBJECTS[folder];
    if (subjects === undefined) {
      problems.push(`tests/${folder}/: not in TEST_SUBJECTS (tests/core/dependencies.test.ts): name the workspace it tests`); // prettier-ignore
      continue;
    }
    for (const file of sources(dir)) {
      problems.push(...testImportProblems(file, readFileSync(file, "utf8"), subjects));
    }
  }
  assert.equal(problems, [], problems.join("\n"));
});

test("the tests' rule fails a path into another workspace, in any import form", () => {
  const file = join(KIT, "tests", "grader", "x.test.ts");
  // Spelt in pieces, so that this file's own scan does not read them as its imports.
  const [req, dyn, from] = ["require", "import", "from"];
  const text = [
    `import { a } ${from} "../../grader/src/a";`,
    `import { b } ${from} '../../core/src/errors';`,
    `const c = ${req}("../../tito/src/cli");`,
    `const d = await ${dyn}("../../tinytorch-ts/src/core/tensor");`,
    `import { e } from "@tinytorch-ts/core/src/errors";`,
    `import { f } from "@tinytorch-ts/core";`,
    `import { g } from "./helpers";`,
  ].join("\n");
  const found = testImportProblems(file, text, ["grader"]).map((p) => p.split(": ")[1]);
  assert.equal(found, [
    `"../../core/src/errors" reaches into core/ by path (import it by package name)`,
    `"../../tito/src/cli" reaches into tito/ by path (import it by package name)`,
    `"../../tinytorch-ts/src/core/tensor" reaches into tinytorch-ts/ by path (import it by package name)`,
    `"@tinytorch-ts/core/src/errors" reaches into @tinytorch-ts/core's internals`,
  ]);
});

test("the import scan sees every form: quotes, import(), require, re-exports, bare imports", () => {
  const text = [
    `import a from "a";`,
    `import { b } from 'b';`,
    `export * from "c";`,
    `import "d";`,
    `const e = await import('e');`,
    `const f = require("f");`,
    `require.resolve('g');`,
    "// import h from 'h';",
    "/* require('i') */",
  ].join("\n");
  assert.equal(specifiers(text), ["a", "b", "c", "d", "e", "f", "g"]);
});

test("the core's package entries exist", () => {
  const core = JSON.parse(readFileSync(join(KIT, "core", "package.json"), "utf8")) as {
    exports: Record<string, string>;
  };
  for (const [entry, file] of Object.entries(core.exports)) {
    assert.ok(statSync(join(KIT, "core", file)).isFile(), `${entry} -> ${file}`);
  }
});

test.run();
