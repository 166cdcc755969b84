// The real course, end to end, one module at a time. Each tests/course/NN_name.test.ts calls
// courseModuleTests("NN_name"), so a new module adds one file and touches nothing else (and
// tests/course/coverage.test.ts fails until it does). For the module:
//  - the module audit passes (grader/src/audit.ts): the whole reference notebook (demos and
//    hidden tests with their expected values included) compiles with tslab's type-checker and
//    passes every check of its own on two seeds, records the same values twice on one seed,
//    draws something from the seed in every test, and earns full marks in the sandboxed
//    grader, while the untouched student notebook earns 0 points.
// These need `npm run build` (the compiled package in tinytorch-ts/dist); CI runs it first.
import { join } from "node:path";
import { suite } from "uvu";
import * as assert from "uvu/assert";
import { KIT_ROOT, coursePath } from "@tinytorch-ts/core";
import { auditModule, studentNotebookPath, findManifest } from "@tinytorch-ts/grader";
import { listModules, type ModuleInfo } from "tito/build";

const KIT_MANIFESTS = coursePath(KIT_ROOT, "manifests");

export const ROOT = KIT_ROOT;

/** Generous: kernels are slow on a loaded machine, and a timeout here is not what is checked. */
const CELL_TIMEOUT_MS = 180_000;

/** The file that holds a module's course tests. */
export function courseTestFile(module: string): string {
  return `tests/course/${module}.test.ts`;
}

function moduleInfo(module: string): ModuleInfo {
  const found = listModules(ROOT).find((m) => m.module === module);
  if (!found) {
    throw new Error(`${courseTestFile(module)}: there is no module ${module} under modules/`);
  }
  return found;
}

/** Registers and runs the end-to-end check of one module. */
export function courseModuleTests(module: string): void {
  const m = moduleInfo(module);
  const test = suite(module);

  test("the audit passes: the reference passes its own tests, is deterministic, uses the seed, earns full marks; the untouched notebook earns 0", async () => {
    const audit = await auditModule(
      findManifest(m.module, KIT_MANIFESTS),
      studentNotebookPath(m.module, join(ROOT, "notebooks")),
      { cellTimeoutMs: CELL_TIMEOUT_MS },
    );
    assert.equal(audit.problems, []);
    assert.is(audit.earned, 0);
    assert.is(audit.referenceScore, audit.maxScore);
    assert.ok(audit.maxScore > 0);
  });

  test.run();
}
