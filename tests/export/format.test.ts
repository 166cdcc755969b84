import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as prettier from "prettier";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { prepareExportCell } from "../../tito/src/export/cell-code";
import { formatWholeFile, prettierFormatter } from "../../tito/src/export/format";
import { renderPackageFile, type ExportChunk } from "../../tito/src/export/package-file";

const CELLS = [
  '//| export\nimport { Tensor, zeros, ones, randn, matmul, transpose, reshape } from "tinytorch-ts/core/tensor";\nimport * as util from "node:util";',
  "//| export\n/** Doc. */\nclass   A {\n  x=1\n\n\n  method( a:number ){ return a*2 }\n}\n// trailing comment at the end of a cell",
  "//| export\nconst long = [1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31,32];\nconst t = `template\n   keeps   its spacing`;",
  "//| exporti\n// leading comment\n\nfunction helper(){\n  // inner\n  return {a:1,b:'two'}\n}\n\n\n\nlet y = helper()",
  "//| export\ntype U = 'a'|'b'\ninterface I { f(): void; g: number }\nenum E { X, Y }",
  // prettier lays this out differently on a second pass; the output must be a fixpoint.
  "//| export\nfunction isShape(value: unknown): value is { solve(inputs: number[]): number; requires: readonly string[]; produces: Record<string, string> } {\n  return value !== null;\n}",
];

function chunks(): ExportChunk[] {
  return CELLS.map((src, i) => ({
    target: "core/sample",
    sourceFile: "modules/05_sample/sample_dev.ts",
    origin: `modules/05_sample/sample_dev.ts, cell ${i + 1} (line ${10 * i})`,
    prepared: prepareExportCell(src, !src.startsWith("//| exporti"), "m.ts", 10 * i),
  }));
}

test("formatting piece by piece gives exactly what prettier gives for the whole file", async () => {
  const piecewise = await renderPackageFile(
    "core/sample",
    chunks(),
    undefined,
    prettierFormatter(),
  );
  const whole = await formatWholeFile(await renderPackageFile("core/sample", chunks()));
  assert.fixture(piecewise, whole);
  assert.ok(piecewise.includes("  method(a: number) {"), "it was formatted at all");
  // What `prettier --check` does: one more pass must not change anything.
  const onePass = await prettier.format(piecewise, {
    parser: "typescript",
    printWidth: 100,
    trailingComma: "all",
  });
  assert.is(onePass, piecewise, "prettier --check would change it");
});

test("formatted pieces are cached on disk by content", async () => {
  const dir = mkdtempSync(join(tmpdir(), "tito-format-"));
  const first = await renderPackageFile("core/sample", chunks(), undefined, prettierFormatter(dir));
  const entries = readdirSync(dir).flatMap((d) => readdirSync(join(dir, d)));
  // Five cells leave code (the first holds only imports), plus the hoisted import block.
  assert.is(entries.length, 6);
  const second = await renderPackageFile(
    "core/sample",
    chunks(),
    undefined,
    prettierFormatter(dir),
  );
  assert.is(second, first);
  rmSync(dir, { recursive: true, force: true });
});

test("worker threads format exactly like the main thread", async () => {
  const pooled = prettierFormatter(undefined, true);
  try {
    const inProcess = await renderPackageFile(
      "core/sample",
      chunks(),
      undefined,
      prettierFormatter(),
    );
    const parallel = await renderPackageFile("core/sample", chunks(), undefined, pooled);
    assert.fixture(parallel, inProcess);
  } finally {
    await pooled.close?.();
  }
});

test.run();
