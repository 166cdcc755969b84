// The round-trip corpus: hand-written tricky sources must survive .ts -> .ipynb -> .ts byte for
// byte; non-canonical ones must normalise to their .expected.ts twin; Jupyter-saved notebooks
// must keep every cell's type, source and metadata through .ts.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { parseIpynb, writeIpynb } from "../../core/src/notebook/ipynb";
import { parsePercent, writePercent } from "../../core/src/notebook/percent";
import { checkRoundTrips } from "../../core/src/notebook/roundtrip";
import { checkCanonical } from "../../core/src/notebook/validate";
import { FIXTURES, fixtureNames, readFixture } from "./helpers";

const viaIpynb = (text: string, file: string) =>
  writePercent(parseIpynb(writeIpynb(parsePercent(text, file).notebook), file + ".ipynb"), file);

const roundtrip = fixtureNames("roundtrip", ".ts");

test("the corpus is not empty", () => {
  assert.ok(roundtrip.length >= 10, roundtrip.join(", "));
});

for (const name of roundtrip) {
  test(`byte-identical .ts -> .ipynb -> .ts: ${name}`, () => {
    const text = readFixture(name);
    assert.fixture(viaIpynb(text, name), text);
    assert.equal(checkRoundTrips(text, "ts", name), []);
    assert.equal(checkCanonical(parsePercent(text, name), name), []);
  });
}

for (const name of fixtureNames("normalize", ".ts").filter((f) => !f.endsWith(".expected.ts"))) {
  test(`normalises to the canonical form: ${name}`, () => {
    const raw = readFileSync(join(FIXTURES, name), "utf8");
    const expected = readFixture(name.replace(/\.ts$/, ".expected.ts"));
    assert.is.not(raw, expected);
    assert.fixture(viaIpynb(raw, name), expected);
    // Once canonical it is stable, and the validator flags the original with a line number.
    assert.fixture(viaIpynb(expected, name), expected);
    const problems = checkCanonical(parsePercent(raw, name), name);
    assert.is(problems.length, 1);
    assert.ok(problems[0].line !== undefined && problems[0].line >= 1);
  });
}

test("CRLF input reads exactly like its LF twin", () => {
  const crlf = parsePercent(readFixture("normalize/crlf.ts"), "m.ts").notebook;
  const lf = parsePercent(readFixture("normalize/crlf.expected.ts"), "m.ts").notebook;
  assert.equal(crlf, lf);
});

const RUN_STATE = ["collapsed", "scrolled", "execution"];

for (const name of fixtureNames("ipynb", ".ipynb")) {
  test(`.ipynb -> .ts -> .ipynb keeps type, source and metadata: ${name}`, () => {
    const text = readFixture(name);
    const nb = parseIpynb(text, name);
    const back = parsePercent(writePercent(nb, name), name).notebook;
    assert.is(back.cells.length, nb.cells.length);
    nb.cells.forEach((cell, i) => {
      const other = back.cells[i];
      assert.is(other.cell_type, cell.cell_type, `cell ${i} type`);
      assert.is(other.source, cell.source, `cell ${i} source`);
      const kept = Object.fromEntries(
        Object.entries(cell.metadata).filter(([k]) => !RUN_STATE.includes(k)),
      );
      assert.equal(other.metadata, kept, `cell ${i} metadata`);
    });
    assert.equal(back.metadata.kernelspec, nb.metadata.kernelspec);
    assert.equal(checkRoundTrips(text, "ipynb", name), []);
  });
}

test("a notebook saved by Jupyter is rewritten byte for byte", () => {
  for (const name of ["ipynb/jupyter-tslab.ipynb", "ipynb/jupytext-spacing.ipynb"]) {
    const text = readFixture(name);
    assert.fixture(writeIpynb(parseIpynb(text, name)), text);
  }
});

test("the Jupyter notebook loses only outputs, execution counts and run-state metadata", () => {
  const nb = parseIpynb(readFixture("ipynb/jupyter-tslab.ipynb"), "layers.ipynb");
  assert.ok(nb.cells.some((c) => c.cell_type === "code" && c.outputs.length > 0));
  const back = parsePercent(writePercent(nb), "layers.ts").notebook;
  for (const c of back.cells) if (c.cell_type === "code") assert.equal(c.outputs, []);
  assert.equal(back.cells[2].metadata, { tags: ["setup"] });
  assert.equal(back.cells[4].metadata.editable, false);
  assert.ok(!("execution" in back.cells[4].metadata));
});

test("spacing hints from jupytext survive through an explicit marker key", () => {
  const nb = parseIpynb(readFixture("ipynb/jupytext-spacing.ipynb"), "s.ipynb");
  const text = writePercent(nb);
  assert.ok(text.includes("// %% lines_to_next_cell=2\nconst a = 1;\n\n\n// %%"), text);
  const back = parsePercent(text, "s.ts").notebook;
  assert.equal(
    back.cells.map((c) => c.metadata.lines_to_next_cell),
    [2, 0, undefined],
  );
});

test.run();
