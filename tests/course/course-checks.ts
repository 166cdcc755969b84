// The real course, end to end, one module at a time. Each tests/course/NN_name.test.ts calls
// courseModuleTests("NN_name"), so a new module adds one file and touches nothing else (and
// tests/course/coverage.test.ts fails until it does). For the module:
//  - the reference notebook (the module source itself, solutions and hidden tests included)
//    runs top to bottom in a real tslab kernel, from notebooks/ as a student runs it;
//  - the grader gives the reference submission full marks;
//  - the untouched student notebook earns 0 points (the grading-hole audit).
// The reference run and the grading are kept apart on purpose: grading skips demo and
// comment-only cells and runs a notebook rebuilt from the manifest in the sandbox, so neither
// run can stand in for the other.
// These need `npm run build` (the compiled package in tinytorch-ts/dist); CI runs it first.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { suite } from "uvu";
import * as assert from "uvu/assert";
import { auditModule, studentNotebookPath } from "../../grader/src/audit";
import { gradeSubmission } from "../../grader/src/grade-submission";
import { findManifest, readManifest } from "../../grader/src/manifest-store";
import { referenceNotebook } from "../../grader/src/reference";
import { listModules, type ModuleInfo } from "../../tito/src/build/discover";
import { parsePercent } from "../../core/src/notebook/percent";
import { runNotebook } from "../../core/src/run/runner";

export const ROOT = join(__dirname, "..", "..");

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

/** Registers and runs the three end-to-end checks of one module. */
export function courseModuleTests(module: string): void {
  const m = moduleInfo(module);
  const test = suite(module);

  test("the reference notebook runs top to bottom with no error", async () => {
    const nb = parsePercent(readFileSync(m.path, "utf8"), m.path).notebook;
    const run = await runNotebook(nb, {
      cellTimeoutMs: CELL_TIMEOUT_MS,
      start: { cwd: join(ROOT, "notebooks") },
      file: m.path,
    });
    const bad = run.cells.filter((c) => c.status !== "ok");
    assert.equal(
      bad.map((c) => `cell ${c.index}: ${c.status} ${c.error?.evalue ?? c.reason ?? ""}`),
      [],
    );
    assert.ok(run.ok);
  });

  test("the reference submission earns full marks", async () => {
    const { manifest } = readManifest(findManifest(m.module));
    const result = await gradeSubmission(manifest, referenceNotebook(manifest, ROOT), {
      student: "reference",
      cellTimeoutMs: CELL_TIMEOUT_MS,
    });
    assert.is(result.status, "graded", result.reason);
    const failed = result.tests.filter((t) => t.status !== "passed");
    assert.equal(
      failed.map((t) => `${t.name}: ${t.status} ${t.message ?? ""} ${t.output}`.trim()),
      [],
    );
    assert.is(result.score, manifest.totalPoints);
    assert.ok(manifest.totalPoints > 0);
  });

  test("the untouched student notebook earns 0 points", async () => {
    const audit = await auditModule(
      findManifest(m.module),
      studentNotebookPath(m.module, join(ROOT, "notebooks")),
    );
    assert.is(audit.problem, undefined);
    assert.equal(
      audit.holes.map((t) => t.name),
      [],
    );
    assert.is(audit.earned, 0);
  });

  test.run();
}
