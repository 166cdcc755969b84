import { test } from "uvu";
import * as assert from "uvu/assert";
import { lockCells } from "../../tito/src/transforms/lock-cells";
import { code, grade, markdown, notebook, readOnly, snapshot, solution } from "./make-notebook";

test("solution cells cannot be deleted but stay editable", () => {
  const out = lockCells(notebook([code("x", solution("ex"))]));
  assert.is(out.cells[0]?.metadata.deletable, false);
  assert.is(out.cells[0]?.metadata.editable, undefined);
});

test("grade cells can be neither deleted nor edited", () => {
  const out = lockCells(notebook([code("test()", grade("test-ex", 2))]));
  assert.is(out.cells[0]?.metadata.deletable, false);
  assert.is(out.cells[0]?.metadata.editable, false);
});

test("read-only cells are not editable; plain cells are untouched", () => {
  const nb = notebook([markdown("given", readOnly("intro")), code("demo()")]);
  const before = snapshot(nb);
  const out = lockCells(nb);
  assert.is(out.cells[0]?.metadata.editable, false);
  assert.is(out.cells[0]?.metadata.deletable, undefined);
  assert.equal(out.cells[1]?.metadata, {});
  assert.is(snapshot(nb), before, "input notebook was mutated");
});

test.run();
