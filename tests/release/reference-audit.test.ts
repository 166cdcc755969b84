// `tito release` refuses a module whose reference fails its own tests (tito/src/release/
// reference-audit.ts), before writing anything; a missing or stale manifest is refused too.
// Fast tier although one test takes several seconds: the audit's trusted reference run compiles
// the fixture module's cells with tslab's converter and runs them in plain Node (no kernel). A
// reference that passes is the audit's own test (tests/grader/audit.test.ts).
import { existsSync, mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { sha256 } from "../../tito/src/build/manifest";
import { auditReferences } from "../../tito/src/release/reference-audit";
import { releaseCourse } from "../../tito/src/release/release-course";
import { makeFixtureRoot } from "../build/fixture-root";
import { loadFixtureManifest } from "../grader/helpers";

const SOURCE = "modules/90_fixture/fixture_dev.ts";

/** A course root holding the grader's fixture manifest, current with a stand-in source. */
function rootWith(edit: (m: ReturnType<typeof loadFixtureManifest>) => void = () => undefined) {
  const root = mkdtempSync(join(tmpdir(), "tito-ref-audit-"));
  const source = "// stands in for the module source the manifest was built from\n";
  mkdirSync(join(root, "modules", "90_fixture"), { recursive: true });
  writeFileSync(join(root, SOURCE), source);
  const manifest = loadFixtureManifest();
  manifest.sourceHash = sha256(source);
  edit(manifest);
  mkdirSync(join(root, "grader", "manifests"), { recursive: true });
  writeFileSync(join(root, "grader", "manifests", "90_fixture.json"), JSON.stringify(manifest));
  return root;
}

const modules = [{ module: "90_fixture", sourceFile: SOURCE }];

test("a reference that fails its own tests is listed, module by module", async () => {
  const root = rootWith((m) => {
    const cell = m.cells.find((c) => c.grade_id === "double");
    if (cell) cell.gradingSource = "function double(x: number): number {\n  return 3 * x;\n}";
  });
  const seen: string[] = [];
  const problems = await auditReferences(root, modules, (m) => seen.push(m));
  assert.equal(seen, ["90_fixture"]);
  assert.ok(problems.length > 0);
  for (const p of problems) assert.match(p, /^90_fixture: /);
  assert.ok(problems.some((p) => /test-unit-double.*the reference fails its own check/.test(p)), problems.join("\n")); // prettier-ignore
});

test("a missing or stale manifest is a problem, without running anything", async () => {
  const stale = rootWith((m) => (m.sourceHash = "0".repeat(64)));
  assert.equal(await auditReferences(stale, modules), [
    `90_fixture: the grading manifest is older than ${SOURCE} (run npm run build)`,
  ]);
  const none = mkdtempSync(join(tmpdir(), "tito-ref-audit-"));
  const [problem] = await auditReferences(none, modules);
  assert.match(problem, /^90_fixture: no grading manifest at .*90_fixture\.json \(run npm run build\)$/); // prettier-ignore
});

test("the release stops before writing when a reference cannot be audited", async () => {
  const root = makeFixtureRoot();
  const out = join(mkdtempSync(join(tmpdir(), "tito-ref-audit-out-")), "bundle");
  const report = await releaseCourse({ root, outDir: out });
  assert.not.ok(report.ok);
  assert.equal(
    report.referenceProblems.map((p) => p.replace(/ at .*\(/, " (")),
    [
      "01_alpha: no grading manifest (run npm run build)",
      "02_beta: no grading manifest (run npm run build)",
    ],
  );
  assert.is(report.bundle, undefined);
  assert.not.ok(existsSync(out), "nothing written");
  assert.not.ok(existsSync(`${out}.rejected`));
});

test.run();
