// test-tier: kernel
// The real course, end to end, for every module under modules/:
//  - the reference notebook (the module source itself, solutions and hidden tests included)
//    runs top to bottom in a real tslab kernel with no failing cell;
//  - the grader gives the reference submission full marks;
//  - the untouched student notebook earns 0 points (the grading-hole audit);
//  - a release of the whole course passes its leak audit.
// These need `npm run build` (the compiled package in tinytorch-ts/dist); CI runs it first.
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { auditModule, studentNotebookPath } from "../../grader/src/audit";
import { gradeSubmission } from "../../grader/src/grade-submission";
import { listManifests, readManifest } from "../../grader/src/manifest-store";
import { referenceNotebook } from "../../grader/src/reference";
import { listModules } from "../../tito/src/build/discover";
import { parsePercent } from "../../tito/src/notebook/percent";
import { releaseCourse } from "../../tito/src/release/release-course";
import { runNotebook } from "../../tito/src/run/runner";

const ROOT = join(__dirname, "..", "..");
const modules = listModules(ROOT);
const manifests = new Map(
  listManifests().map((file) => {
    const loaded = readManifest(file);
    return [loaded.manifest.module, file] as const;
  }),
);

test("every module has a grading manifest", () => {
  assert.ok(modules.length >= 6, `expected the course's modules, found ${modules.length}`);
  for (const m of modules) assert.ok(manifests.has(m.module), `no manifest for ${m.module}`);
});

for (const m of modules) {
  test(`${m.module}: the reference notebook runs top to bottom with no error`, async () => {
    const nb = parsePercent(readFileSync(m.path, "utf8"), m.path).notebook;
    const run = await runNotebook(nb, {
      cellTimeoutMs: 180_000,
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

  test(`${m.module}: the reference submission earns full marks`, async () => {
    const file = manifests.get(m.module);
    assert.ok(file);
    const { manifest } = readManifest(file);
    const result = await gradeSubmission(manifest, referenceNotebook(manifest, ROOT), {
      student: "reference",
      cellTimeoutMs: 180_000,
    });
    const failed = result.tests.filter((t) => t.status !== "passed");
    assert.equal(
      failed.map((t) => `${t.name}: ${t.output}`),
      [],
    );
    assert.is(result.score, manifest.totalPoints);
    assert.ok(manifest.totalPoints > 0);
  });

  test(`${m.module}: the untouched student notebook earns 0 points`, async () => {
    const file = manifests.get(m.module);
    assert.ok(file);
    const audit = await auditModule(file, studentNotebookPath(m.module, join(ROOT, "notebooks")));
    assert.is(audit.problem, undefined);
    assert.equal(
      audit.holes.map((t) => t.name),
      [],
    );
    assert.is(audit.earned, 0);
  });
}

test("a release of the whole course passes the leak audit", async () => {
  const dir = mkdtempSync(join(tmpdir(), "tito-course-release-"));
  try {
    const report = await releaseCourse({ outDir: join(dir, "bundle"), root: ROOT });
    assert.equal(
      report.leaks.map((l) => `${l.file}:${l.line}`),
      [],
    );
    assert.equal(report.compileErrors, []);
    assert.ok(report.ok);
    assert.equal(report.modules.length, modules.length);
    assert.ok(report.secretLines > 0, "the course has solution and hidden-test lines to guard");
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
