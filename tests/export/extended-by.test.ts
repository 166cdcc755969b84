// `//| extended_by core.autograd`: a module's package file loads a later module's file at its
// end. Checked here: the directive's validation, the import check (later modules only), and the
// generated loader's behaviour when compiled and required (present, absent, cyclic, broken).
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "uvu";
import * as assert from "uvu/assert";
import * as ts from "typescript";
import { exportNotebook } from "../../tito/src/export/export-notebook";
import { checkImports, type ModuleImportInfo } from "../../tito/src/export/import-check";
import { parsePercent, validateModule } from "@tinytorch-ts/core/notebook";
import { code, notebook } from "../transforms/make-notebook";

function mod(number: string, target: string, extendedBy: string[] = []): ModuleImportInfo {
  return {
    number,
    module: `${number}_m${number}`,
    sourceFile: `modules/${number}_m${number}/m${number}_dev.ts`,
    targets: [target],
    imports: [],
    extendedBy: extendedBy.map((path) => ({ path, line: 3 })),
  };
}

test("an extension must be written by a later module", () => {
  assert.equal(
    checkImports([mod("01", "core/tensor", ["core/autograd"]), mod("06", "core/autograd")], []),
    [],
  );
  const earlier = checkImports(
    [mod("01", "core/tensor"), mod("06", "core/autograd", ["core/tensor"])],
    [],
  );
  assert.is(earlier.length, 1);
  assert.is(earlier[0]?.line, 3);
  assert.match(earlier[0]?.message ?? "", /not a later module/);
  const unknown = checkImports([mod("01", "core/tensor", ["core/nothing"])], []);
  assert.match(unknown[0]?.message ?? "", /no module exports it/);
});

test("the directive needs a dotted path and stays out of test cells", () => {
  const source = [
    "// %%",
    "//| default_exp core.tensor",
    "//| extended_by",
    "",
    '// %% nbgrader={"grade": true, "grade_id": "t", "locked": true, "points": 1, "schema_version": 3, "solution": false, "task": false}',
    "//| extended_by core.autograd",
    "const x = 1;",
    "",
  ].join("\n");
  const problems = validateModule(parsePercent(source, "m.ts"), "m.ts").map((e) => e.message);
  assert.ok(
    problems.some((m) => m.includes("m.ts:3: '//| extended_by' needs")),
    problems.join("\n"),
  );
  assert.ok(
    problems.some((m) => m.includes("m.ts:6: a grade (test) cell cannot declare")),
    problems.join("\n"),
  );
});

test("an extension may import only modules up to the one it extends", () => {
  const autograd = mod("06", "core/autograd");
  autograd.exportedImports = [
    { path: "core/tensor", line: 40 },
    { path: "core/activations", line: 41 },
  ];
  const errors = checkImports(
    [mod("01", "core/tensor", ["core/autograd"]), mod("02", "core/activations"), autograd],
    [],
  );
  assert.is(errors.length, 1, errors.map((e) => e.message).join("\n"));
  assert.is(errors[0]?.file, "modules/06_m06/m06_dev.ts");
  assert.is(errors[0]?.line, 41);
  assert.match(errors[0]?.message ?? "", /may import only modules up to 01_m01/);
});

async function tensorFile(extensionLine: string): Promise<string> {
  const nb = notebook([
    code(`//| default_exp core.tensor\n${extensionLine}`),
    code("//| export\nconst answer = 42;"),
  ]);
  const out = await exportNotebook(nb, "modules/01_t/t_dev.ts", { line: (i) => i + 1 });
  return out.files["core/tensor"] ?? "";
}

test("without the directive, no loader is written", async () => {
  const text = await tensorFile("");
  assert.not.match(text, /require\(/);
});

/** Compiles the generated file and the given siblings into a temp package; requires tensor. */
function load(tensorTs: string, siblings: Record<string, string>): { answer?: number } {
  const dir = mkdtempSync(join(tmpdir(), "tito-extended-by-"));
  try {
    mkdirSync(join(dir, "core"));
    const js = ts.transpileModule(tensorTs, {
      compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022 },
    }).outputText;
    writeFileSync(join(dir, "core", "tensor.js"), js);
    for (const [name, text] of Object.entries(siblings)) {
      writeFileSync(join(dir, "core", `${name}.js`), text);
    }
    // A fresh directory each time, so Node's module cache never returns an earlier load.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    return require(join(dir, "core", "tensor.js")) as { answer?: number };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test("the loader runs the extension after the file is complete, and skips it when absent", async () => {
  const text = await tensorFile("//| extended_by core.autograd");
  assert.match(text, /require\("\.\/autograd"\)/, "a literal require the grader's scratch can see");
  assert.is(load(text, {}).answer, 42, "absent extension: the file still loads");
  const seen: number[] = [];
  (globalThis as { extensionSaw?: number[] }).extensionSaw = seen;
  const loaded = load(text, {
    autograd: 'globalThis.extensionSaw.push(require("./tensor").answer);',
  });
  assert.is(loaded.answer, 42);
  assert.equal(seen, [42], "the extension sees the complete exports of the file it extends");
  assert.throws(
    () => load(text, { autograd: 'require("./not-there");' }),
    /not-there/,
    "a broken extension is an error, not silently skipped",
  );
  assert.throws(() => load(text, { autograd: "throw new Error('boom');" }), /boom/);
});

test.run();
