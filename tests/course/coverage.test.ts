// Every module under modules/ has its course tests and its grading manifest. A module added
// without tests/course/NN_name.test.ts fails here, with the file to create. Needs no kernel.
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { listManifests, readManifest } from "@tinytorch-ts/grader";
import { listModules } from "tito/build";
import { KERNEL_MARKER } from "../../scripts/test-runner/jobs";
import { courseTestFile, ROOT } from "./course-checks";
import { coursePath, KIT_ROOT } from "@tinytorch-ts/core";

const KIT_MANIFESTS = coursePath(KIT_ROOT, "manifests");

const modules = listModules(ROOT);

function expectedSource(module: string): string {
  return [
    KERNEL_MARKER,
    `// Module ${module} end to end: reference run, full marks, 0 points untouched (see course-checks.ts).`,
    `import { courseModuleTests } from "./course-checks";`,
    ``,
    `courseModuleTests("${module}");`,
  ].join("\n");
}

test("every folder under modules/ that holds a source is a module, found in course order", () => {
  const folders = readdirSync(join(ROOT, "modules"))
    .filter((d) => readdirSync(join(ROOT, "modules", d)).some((f) => f.endsWith("_dev.ts")))
    .sort();
  assert.equal(modules.map((m) => m.module), folders, "a module folder was skipped (its name must be NN_name)"); // prettier-ignore
  const numbers = modules.map((m) => Number(m.number));
  assert.equal(
    numbers,
    [...numbers].sort((a, b) => a - b),
    "modules are in course order",
  );
  assert.ok(
    modules.some((m) => m.module === "01_tensor"),
    "the course starts with its tensor",
  );
});

test("every module has a course test file that runs its checks", () => {
  const problems: string[] = [];
  for (const m of modules) {
    const file = courseTestFile(m.module);
    const path = join(ROOT, file);
    if (!existsSync(path)) {
      problems.push(`${m.sourceFile}: no course tests; create ${file} containing:\n${expectedSource(m.module)}`); // prettier-ignore
      continue;
    }
    const source = readFileSync(path, "utf8");
    if (!source.includes(`courseModuleTests("${m.module}")`)) {
      problems.push(`${file}: does not call courseModuleTests("${m.module}")`);
    }
    if (!source.startsWith(`${KERNEL_MARKER}\n`)) {
      problems.push(`${file}:1: the first line must be \`${KERNEL_MARKER}\` (it starts kernels)`);
    }
  }
  assert.equal(problems, [], problems.join("\n\n"));
});

test("every course test file belongs to a module that exists", () => {
  const known = new Set(modules.map((m) => courseTestFile(m.module)));
  const strays = readdirSync(join(ROOT, "tests", "course"))
    .filter((f) => /^\d{2}_.*\.test\.ts$/.test(f))
    .map((f) => `tests/course/${f}`)
    .filter((f) => !known.has(f));
  assert.equal(strays, [], `course tests without a module under modules/: ${strays.join(", ")}`);
});

test("every module has a grading manifest", () => {
  const manifests = new Set(
    listManifests(KIT_MANIFESTS).map((f) => readManifest(f).manifest.module),
  );
  const missing = modules.filter((m) => !manifests.has(m.module)).map((m) => m.module);
  assert.equal(missing, [], `no grading manifest for ${missing.join(", ")} (run npm run build)`);
});

test.run();
