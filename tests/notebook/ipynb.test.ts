import { test } from "uvu";
import * as assert from "uvu/assert";
import { parseIpynb, splitLinesKeepEnds, writeIpynb } from "../../core/src/notebook/ipynb";
import { parsePercent } from "../../core/src/notebook/percent";
import { SourceError } from "../../core/src/errors";
import { MODULE_SOURCE, thrown } from "./helpers";

test("writes what Jupyter writes: sorted keys, 1-space indent, source as lines, final newline", () => {
  const nb = parsePercent("// %%\nconst a = 1;\nconst b = 'é';\n", "m.ts").notebook;
  const text = writeIpynb(nb);
  assert.ok(text.endsWith("}\n"));
  assert.ok(
    text.startsWith(
      '{\n "cells": [\n  {\n   "cell_type": "code",\n   "execution_count": null,\n   "id": "m-0",',
    ),
  );
  assert.ok(text.includes('"source": [\n    "const a = 1;\\n",\n    "const b = \'é\';"\n   ]'));
  assert.ok(text.includes('"nbformat": 4,\n "nbformat_minor": 5\n}'));
});

test("parse(write(nb)) gives the same notebook", () => {
  const nb = parsePercent(MODULE_SOURCE, "m.ts").notebook;
  const again = parseIpynb(writeIpynb(nb), "m.ipynb");
  assert.equal(again, nb);
  assert.is(writeIpynb(again), writeIpynb(nb));
});

test("splitLinesKeepEnds follows Python's splitlines(True)", () => {
  assert.equal(splitLinesKeepEnds(""), []);
  assert.equal(splitLinesKeepEnds("a\nb"), ["a\n", "b"]);
  assert.equal(splitLinesKeepEnds("a\r\nb\n"), ["a\r\n", "b\n"]);
  assert.equal(splitLinesKeepEnds("a\rb\u2028c"), ["a\r", "b\u2028", "c"]);
});

test("not JSON: SourceError with the line", () => {
  const e = thrown(() => parseIpynb('{\n "cells": [\n  }\n', "bad.ipynb"));
  assert.instance(e, SourceError);
  assert.is((e as SourceError).line, 3);
});

test("nbformat other than 4 is rejected", () => {
  const e = thrown(() =>
    parseIpynb('{"cells": [], "metadata": {}, "nbformat": 3, "nbformat_minor": 0}', "old.ipynb"),
  );
  assert.instance(e, SourceError);
  assert.match(e.message, /nbformat 3/);
});

test("unknown cell type is rejected with the cell's line", () => {
  const text = JSON.stringify(
    {
      cells: [
        { cell_type: "markdown", metadata: {}, source: "a" },
        { cell_type: "heading", metadata: {}, source: "b" },
      ],
      metadata: {},
      nbformat: 4,
      nbformat_minor: 4,
    },
    null,
    1,
  );
  const e = thrown(() => parseIpynb(text, "h.ipynb")) as SourceError;
  assert.instance(e, SourceError);
  assert.match(e.message, /unknown cell type "heading"/);
  assert.is(e.line, text.split("\n").findIndex((l) => l.includes('"heading"')) + 1);
});

test("nbformat 4.4 notebooks get deterministic ids", () => {
  const text =
    '{"cells": [{"cell_type": "code", "execution_count": 3, "metadata": {}, "outputs": [], "source": ["x\\n", "y"]}], "metadata": {}, "nbformat": 4, "nbformat_minor": 4}';
  const a = parseIpynb(text, "dir/mod_dev.ipynb");
  assert.is(a.cells[0].id, "mod-0");
  assert.is(a.cells[0].source, "x\ny");
  assert.is(writeIpynb(a), writeIpynb(parseIpynb(text, "dir/mod_dev.ipynb")));
});

test("integer-like keys and exponent floats are written as Python writes them", () => {
  const nb = parsePercent("// %%\nx;\n", "m.ts").notebook;
  nb.cells[0].metadata = { custom: { "10": 1, "2": 1e-7, a: [0.5, 1e21] } };
  const text = writeIpynb(nb);
  assert.ok(
    text.includes(
      '"custom": {\n     "10": 1,\n     "2": 1e-07,\n     "a": [\n      0.5,\n      1e+21\n     ]\n    }',
    ),
    text,
  );
  assert.equal(parseIpynb(text, "m.ipynb").cells[0].metadata, nb.cells[0].metadata);
});

test("a cell without a valid id gets a deterministic one on write", () => {
  const nb = parsePercent("// %%\nx;\n\n// %%\ny;\n", "m.ts").notebook;
  nb.cells[0].id = "";
  nb.cells[1].id = "m-1";
  const text = writeIpynb(nb);
  assert.equal(
    parseIpynb(text, "m.ipynb").cells.map((c) => c.id),
    ["cell-0", "m-1"],
  );
  assert.is(writeIpynb(nb), text);
});

test.run();
