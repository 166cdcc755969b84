import { test } from "uvu";
import * as assert from "uvu/assert";
import {
  checkImports,
  findPackageImports,
  type ModuleImportInfo,
} from "../../tito/src/export/import-check";
import { code, notebook } from "../transforms/make-notebook";

const SUPPORT = ["support/chart", "support/display", "support/testing"];

function mod(number: string, targets: string[], imports: [string, number][]): ModuleImportInfo {
  return {
    number,
    module: `${number}_m${number}`,
    sourceFile: `modules/${number}_m${number}/m${number}_dev.ts`,
    targets,
    imports: imports.map(([path, line]) => ({ path, line })),
  };
}

test("earlier modules and support may be imported", () => {
  const errors = checkImports(
    [
      mod("01", ["core/tensor"], [["support/testing", 3]]),
      mod("02", ["core/act"], [["core/tensor", 5]]),
    ],
    SUPPORT,
  );
  assert.equal(errors, []);
});

test("a later module's import is rejected with file:line", () => {
  const errors = checkImports(
    [mod("01", ["core/tensor"], [["core/act", 12]]), mod("02", ["core/act"], [["core/tensor", 5]])],
    SUPPORT,
  );
  assert.is(errors.length, 1);
  assert.is(errors[0]?.file, "modules/01_m01/m01_dev.ts");
  assert.is(errors[0]?.line, 12);
  assert.match(errors[0]?.message ?? "", /modules\/01_m01\/m01_dev\.ts:12: .*later module/);
});

test("own path, unknown path and the bare package are rejected", () => {
  const errors = checkImports(
    [
      mod(
        "01",
        ["core/tensor"],
        [
          ["core/tensor", 2],
          ["core/nothing", 3],
          ["", 4],
        ],
      ),
    ],
    SUPPORT,
  );
  assert.equal(
    errors.map((e) => e.line),
    [2, 3, 4],
  );
});

test("relative imports are rejected: modules import through the package", () => {
  const m = mod("02", ["core/act"], []);
  m.imports.push({ path: "../tinytorch-ts/src/core/tensor", line: 9, relative: true });
  const errors = checkImports([mod("01", ["core/tensor"], []), m], SUPPORT);
  assert.is(errors.length, 1);
  assert.is(errors[0]?.line, 9);
  assert.match(errors[0]?.message ?? "", /relative import/);
});

test("findPackageImports finds every kind of import with its line", () => {
  const nb = notebook([
    code('import { A } from "tinytorch-ts/core/a";\nexport { B } from "tinytorch-ts/core/b";'),
    code(
      'const c = require("tinytorch-ts/core/c");\nconst d = await import("tinytorch-ts/core/d");\nimport e = require("../e");',
    ),
    code('const s = "tinytorch-ts/core/not-an-import";\nimport * as fs from "node:fs";'),
  ]);
  const found = findPackageImports(nb, (i) => 10 * (i + 1));
  assert.equal(found, [
    { path: "core/a", line: 10 },
    { path: "core/b", line: 11 },
    { path: "core/c", line: 20 },
    { path: "core/d", line: 21 },
    { path: "../e", line: 22, relative: true },
  ]);
});

test("two modules writing the same package file is an error", () => {
  const errors = checkImports(
    [mod("01", ["core/tensor"], []), mod("02", ["core/tensor"], [])],
    SUPPORT,
  );
  assert.is(errors.length, 1);
  assert.match(errors[0]?.message ?? "", /already writes/);
});

test.run();
