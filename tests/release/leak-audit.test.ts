import { appendFileSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { listModules } from "../../tito/src/build/discover";
import { parseModule } from "../../tito/src/build/module-build";
import { auditBundle } from "../../tito/src/release/leak-audit";
import { releaseCourse } from "../../tito/src/release/release-course";
import {
  collectSecrets,
  isTrivial,
  normalizeLine,
  type SourceForAudit,
} from "../../tito/src/release/secret-lines";
import { makeFixtureRoot } from "../build/fixture-root";
import { artifactDir } from "./bundle-dir";

function fixtureSources(root: string): SourceForAudit[] {
  return listModules(root).map((info) => {
    const p = parseModule(info, readFileSync(info.path, "utf8"));
    if (!p.ok) throw new Error(p.errors.map((e) => e.message).join("\n"));
    return { sourceFile: info.sourceFile, notebook: p.parsed.notebook, cellLine: p.cellLine };
  });
}

test("normalisation ignores whitespace, comment markers and trailing ; or ,", () => {
  assert.is(normalizeLine("    const y = x * 2;"), normalizeLine("const y=x*2"));
  assert.is(normalizeLine("// Because of secrets."), normalizeLine("Because of secrets."));
  assert.ok(isTrivial("  });"));
  assert.ok(isTrivial("return x;"));
  assert.not.ok(isTrivial("return twice;"));
  assert.ok(isTrivial("    confidenceLevel,"), "a lone identifier says nothing");
  assert.not.ok(isTrivial("mean: average,"));
});

test("secret lines: solution and hidden-test lines, minus lines public elsewhere", () => {
  const root = makeFixtureRoot();
  const secrets = collectSecrets(fixtureSources(root), "default");
  assert.ok(secrets.has(normalizeLine("const twiceTheInputSecretly = x * 2;")));
  assert.ok(
    secrets.has(normalizeLine('assertEqual(double(-21), -42, "hiddenNegativeDoubleCheck");')),
  );
  assert.ok(
    secrets.has(normalizeLine("Because multiplication by two is linear: reflectionAnswerSecret.")),
  );
  // Scaffold and (default tier) challenge regions are given to students: not secret.
  assert.not.ok(secrets.has(normalizeLine("const scaffoldGivenToStudents = this.factor;")));
  assert.not.ok(
    secrets.has(normalizeLine("return `Scaler(x${this.factor}) challengeDescription`;")),
  );
  const challenge = collectSecrets(fixtureSources(root), "challenge");
  assert.ok(challenge.has(normalizeLine("return `Scaler(x${this.factor}) challengeDescription`;")));
  // A line also written outside any region is public.
  const pub = collectSecrets(fixtureSources(root), "default", [
    "const twiceTheInputSecretly = x * 2;",
  ]);
  assert.not.ok(pub.has(normalizeLine("const twiceTheInputSecretly = x * 2;")));
  rmSync(root, { recursive: true, force: true });
});

test("a solution line planted anywhere in a bundle is reported with file:line", async () => {
  const root = makeFixtureRoot();
  const out = join(artifactDir("leak-"), "bundle");
  const report = await releaseCourse({ referenceAudit: "skip", root, outDir: out });
  assert.ok(report.ok);
  const secrets = collectSecrets(fixtureSources(root), "default");
  assert.equal(auditBundle(out, secrets), []);

  // 1. inside a notebook cell (JSON-escaped, reformatted)
  const nbPath = join(out, "notebooks/02_beta.ipynb");
  const nb = JSON.parse(readFileSync(nbPath, "utf8")) as { cells: { source: string[] }[] };
  nb.cells[0]?.source.push("\n", "\tconst betaSecretQuadrupleStep=double( double(x) )");
  writeFileSync(nbPath, JSON.stringify(nb, null, 1));
  // 2. in compiled JavaScript, as tsc would emit it
  appendFileSync(
    join(out, "tinytorch-ts/dist/core/beta.js"),
    "\n    return twiceTheInputSecretly;\n",
  );
  // 3. in a source map's sourcesContent (one JSON string holding a whole file)
  writeFileSync(
    join(out, "tinytorch-ts/dist/core/beta.js.map"),
    JSON.stringify({
      version: 3,
      sourcesContent: [
        'export function f() {\n  assertEqual(double(-21), -42, "hiddenNegativeDoubleCheck");\n}',
      ],
    }),
  );
  // 4. in a cache directory someone forgot to exclude
  mkdirSync(join(out, ".cache"), { recursive: true });
  writeFileSync(
    join(out, ".cache/x.txt"),
    "ok\n// instructorOnlyNoteAboutGrading: students often forget the clamp\n",
  );

  const leaks = auditBundle(out, secrets);
  const where = leaks.map((l) => `${l.file}:${l.line}`).sort();
  const nbLine =
    readFileSync(nbPath, "utf8")
      .split("\n")
      .findIndex((l) => l.includes("betaSecretQuadrupleStep")) + 1;
  const jsLine =
    readFileSync(join(out, "tinytorch-ts/dist/core/beta.js"), "utf8")
      .split("\n")
      .findIndex((l) => l.includes("twiceTheInputSecretly")) + 1;
  assert.equal(
    where,
    [
      ".cache/x.txt:2",
      `notebooks/02_beta.ipynb:${nbLine}`,
      `tinytorch-ts/dist/core/beta.js:${jsLine}`,
      "tinytorch-ts/dist/core/beta.js.map:1",
    ].sort(),
  );
  rmSync(root, { recursive: true, force: true });
  rmSync(join(out, ".."), { recursive: true, force: true });
});

test.run();
