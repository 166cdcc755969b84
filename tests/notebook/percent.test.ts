import { test } from "uvu";
import * as assert from "uvu/assert";
import { parsePercent, writePercent } from "../../core/src/notebook/percent";
import { SourceError } from "../../core/src/errors";
import { MODULE_SOURCE, thrown } from "./helpers";

const HEADERLESS = "// %%\nconst a = 1;\n";

test("reads cells, types, metadata and marker lines of a module source", () => {
  const p = parsePercent(MODULE_SOURCE, "modules/02_activations/activations_dev.ts");
  const cells = p.notebook.cells;
  assert.equal(
    cells.map((c) => c.cell_type),
    ["markdown", "code", "code", "code"],
  );
  assert.is(cells[0].source, "# Module 02: Activations\n\nWhy this exists.");
  assert.is(cells[1].source, "//| default_exp core.activations");
  assert.equal(cells[2].metadata.nbgrader?.grade_id, "relu");
  assert.is(cells[3].metadata.nbgrader?.points, 2);
  assert.equal(p.cellLines, [13, 18, 21, 31]);
  assert.equal(p.sourceLines, [14, 19, 22, 32]);
  assert.equal(p.notebook.metadata.kernelspec, {
    display_name: "TypeScript",
    language: "typescript",
    name: "tslab",
  });
  assert.is(p.notebook.metadata.language_info?.name, "typescript");
});

test("writePercent reproduces a canonical source byte for byte", () => {
  const p = parsePercent(MODULE_SOURCE, "m.ts");
  assert.is(writePercent(p.notebook), MODULE_SOURCE);
});

test("cell ids come from grade_id, else module name and position", () => {
  const p = parsePercent(MODULE_SOURCE, "modules/02_activations/activations_dev.ts");
  assert.equal(
    p.notebook.cells.map((c) => c.id),
    ["activations-0", "activations-1", "relu", "test-unit-relu"],
  );
});

test("markdown lines are '// ' comments and '//' for an empty line", () => {
  const p = parsePercent("// %% [markdown]\n// a\n//\n// b\n", "x.ts");
  assert.is(p.notebook.cells[0].source, "a\n\nb");
  const nb = p.notebook;
  nb.cells[0].source = "x\n\n  y";
  assert.ok(writePercent(nb).endsWith("// %% [markdown]\n// x\n//\n//   y\n"));
});

test("a file without header has no header after the round trip", () => {
  const p = parsePercent(HEADERLESS, "x.ts");
  assert.equal(p.notebook.metadata.jupytext, { notebook_metadata_filter: "-all" });
  assert.is(writePercent(p.notebook), HEADERLESS);
});

test("titles, raw cells and key=value metadata on the marker", () => {
  const src = '// %% Setup step [raw] tags=["a", "b"]\n// raw text\n\n// %% My title\nx;\n';
  const p = parsePercent(src, "x.ts");
  const [raw, code] = p.notebook.cells;
  assert.is(raw.cell_type, "raw");
  assert.is(raw.metadata.title, "Setup step");
  assert.equal(raw.metadata.tags, ["a", "b"]);
  assert.is(raw.source, "raw text");
  assert.is(code.metadata.title, "My title");
  assert.is(writePercent(p.notebook), src);
});

test("malformed metadata JSON on a marker is a SourceError with the line", () => {
  const e = thrown(() =>
    parsePercent('// %%\nx;\n\n// %% nbgrader={"grade": tru}\ny;\n', "bad.ts"),
  );
  assert.instance(e, SourceError);
  assert.is((e as SourceError).line, 4);
  assert.match(e.message, /bad\.ts:4: malformed metadata JSON/);
});

test("marker-looking lines inside a template literal or block comment stay in the cell", () => {
  const src = "// %%\nconst t = `\n// %% no\n`;\n/*\n// %% [markdown]\n*/\nx;\n\n// %%\ny;\n";
  const p = parsePercent(src, "x.ts");
  assert.is(p.notebook.cells.length, 2);
  assert.ok(p.notebook.cells[0].source.includes("// %% no"));
  assert.is(writePercent(p.notebook), src);
});

test("magic commands are commented and uncommented as jupytext does", () => {
  const src = "// %%\n// %time x\n// // %not-magic-escaped-twice\nx;\n";
  const p = parsePercent(src, "x.ts");
  assert.is(p.notebook.cells[0].source, "%time x\n// %not-magic-escaped-twice\nx;");
  assert.is(writePercent(p.notebook), src);
});

test("blank lines: one separates cells, extra ones belong to the cell", () => {
  const src = "// %%\na;\n\n\n// %%\nb;\n// %%\nc;\n";
  const p = parsePercent(src, "x.ts");
  const [a, b, c] = p.notebook.cells;
  assert.is(a.source, "a;\n");
  assert.is(a.metadata.lines_to_next_cell, undefined);
  assert.is(b.source, "b;");
  assert.is(b.metadata.lines_to_next_cell, 0);
  assert.is(c.source, "c;");
  assert.is(writePercent(p.notebook), src);
});

test("a template literal that never closes is an error at the line that opens it", () => {
  const e = thrown(() =>
    parsePercent("// %%\na;\nconst t = `oops;\n\n// %%\nb;\n", "t.ts"),
  ) as SourceError;
  assert.instance(e, SourceError);
  assert.is(e.line, 3);
  assert.match(e.message, /unterminated template literal .* hides the cell marker at line 5/);
});

test("the writer refuses cells it cannot delimit or whose title cannot be read back", () => {
  const nb = parsePercent("// %%\nx;\n", "w.ts").notebook;
  const withSource = (source: string, metadata = {}) => ({
    ...nb,
    cells: [{ ...nb.cells[0], source, metadata }],
  });
  assert.match(
    thrown(() => writePercent(withSource("const t = `open"))).message,
    /unterminated template/,
  );
  assert.match(
    thrown(() => writePercent(withSource("x\n// %% y"))).message,
    /would start a new cell/,
  );
  assert.match(thrown(() => writePercent(withSource("a\r\nb"))).message, /carriage return/);
  assert.match(
    thrown(() => writePercent(withSource("x", { title: "a = b" }))).message,
    /cannot be written on a percent marker line/,
  );
  // A title that reads back cleanly is fine.
  assert.ok(
    writePercent(withSource("x", { title: "Step 1: ReLU" })).includes("// %% Step 1: ReLU\nx\n"),
  );
});

test.run();
