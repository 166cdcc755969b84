// Smaller pieces of the format: the YAML header subset, metadata filters, Python-style JSON,
// cell ids and UTF-8 decoding.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { assignCellIds, moduleNameFromPath } from "../../core/src/notebook/cell-ids";
import { decodeUtf8 } from "../../core/src/notebook/decode";
import { SourceError } from "../../core/src/errors";
import { filterMetadata } from "../../core/src/notebook/metadata-filter";
import { parsePercent, writePercent } from "../../core/src/notebook/percent";
import { dumpsCompact, pyNumber } from "../../core/src/notebook/pyjson";
import { parseYamlHeader, writeYaml } from "../../core/src/notebook/yaml-header";
import { thrown } from "./helpers";

test("YAML header: PyYAML quoting and types", () => {
  const lines = writeYaml(
    { a: { version: "1.3", flag: "-all", t: "true", empty: "", colon: "a: b", list: ["x", "y"] } },
    (k) => k.sort(),
  );
  assert.equal(lines, [
    "a:",
    "  colon: 'a: b'",
    "  empty: ''",
    "  flag: -all",
    "  list:",
    "  - x",
    "  - y",
    "  t: 'true'",
    "  version: '1.3'",
  ]);
  assert.equal(parseYamlHeader(lines, 1, "h"), {
    a: { colon: "a: b", empty: "", flag: "-all", list: ["x", "y"], t: "true", version: "1.3" },
  });
  assert.equal(parseYamlHeader(["n: 3", "f: 1.5", "b: yes", "z: ~", 'q: "x\\ty"'], 1, "h"), {
    n: 3,
    f: 1.5,
    b: true,
    z: null,
    q: "x\ty",
  });
  const e = thrown(() => parseYamlHeader(["a:", "  b: &anchor 1"], 2, "h.ts")) as SourceError;
  assert.is(e.line, 3);
});

test("metadata filters follow jupytext", () => {
  const nb = { jupytext: {}, kernelspec: {}, language_info: {}, widgets: {} };
  const def = "jupytext,kernelspec,kernel_info,orphan,tocdepth";
  assert.equal(Object.keys(filterMetadata(nb, undefined, def)), ["jupytext", "kernelspec"]);
  assert.equal(Object.keys(filterMetadata(nb, "widgets", def)), [
    "jupytext",
    "kernelspec",
    "widgets",
  ]);
  assert.equal(Object.keys(filterMetadata(nb, "all,-widgets", def)), [
    "jupytext",
    "kernelspec",
    "language_info",
  ]);
  assert.equal(Object.keys(filterMetadata(nb, "-all", def)), []);
  const cell = { tags: [], collapsed: true, nbgrader: {}, custom: 1 };
  assert.equal(Object.keys(filterMetadata(cell, undefined, "-collapsed")), ["nbgrader", "custom"]);
  assert.equal(Object.keys(filterMetadata(cell, "nbgrader,-all", "-collapsed")), ["nbgrader"]);
});

test("a cell_metadata_filter in the header is honoured when writing", () => {
  const src = '// %% tags=["a"] nbgrader={"grade": false}\nx;\n';
  const nb = parsePercent(src, "m.ts").notebook;
  nb.metadata.jupytext = { cell_metadata_filter: "nbgrader,-all" };
  assert.ok(writePercent(nb).includes('// %% nbgrader={"grade": false}\nx;\n'));
});

test("Python's json.dumps spelling", () => {
  assert.is(
    dumpsCompact({ b: [1, 2.5, null], a: 'é"' }),
    '{"a": "\\u00e9\\"", "b": [1, 2.5, null]}',
  );
  assert.is(dumpsCompact("🔥"), '"\\ud83d\\udd25"');
  assert.is(pyNumber(1e-7), "1e-07");
  assert.is(pyNumber(0.0001), "0.0001");
  assert.is(pyNumber(1.5e16), "15000000000000000");
  assert.is(pyNumber(1.25e22), "1.25e+22");
  assert.is(pyNumber(3), "3");
});

test("cell ids: module name, grade ids, collisions, length", () => {
  assert.is(moduleNameFromPath("modules/01_tensor/tensor_dev.ts"), "tensor");
  assert.is(moduleNameFromPath("x/My Notebook.ipynb"), "My-Notebook");
  const ids = assignCellIds(
    [
      { gradeId: "relu" },
      {},
      { gradeId: "relu" },
      { gradeId: "bad id!" },
      { id: "keep-me" },
      { id: "keep-me" },
    ],
    "act",
  );
  assert.equal(ids, ["relu", "act-1", "relu-2", "bad-id", "keep-me", "act-5"]);
  const long = assignCellIds([{ gradeId: "g".repeat(100) }], "m")[0];
  assert.is(long.length, 64);
});

test("UTF-8 decoding: valid text passes, bad bytes name their line", () => {
  assert.is(decodeUtf8(Buffer.from("a\né\n"), "f"), "a\né\n");
  assert.is(decodeUtf8(Buffer.from("\ufeffx"), "f"), "\ufeffx");
  const e = thrown(() =>
    decodeUtf8(Buffer.from([0x61, 0x0a, 0x62, 0x0a, 0xc3, 0x28]), "f.ts"),
  ) as SourceError;
  assert.instance(e, SourceError);
  assert.is(e.line, 3);
  const overlong = thrown(() => decodeUtf8(Buffer.from([0xc0, 0xaf]), "f.ts")) as SourceError;
  assert.is(overlong.line, 1);
  const surrogate = thrown(() =>
    decodeUtf8(Buffer.from([0x0a, 0xed, 0xa0, 0x80]), "f.ts"),
  ) as SourceError;
  assert.is(surrogate.line, 2);
});

test.run();
