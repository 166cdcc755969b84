import { test } from "uvu";
import * as assert from "uvu/assert";
import { clearOutputs } from "../../tito/src/transforms/clear-outputs";
import { code, markdown, notebook, snapshot } from "./make-notebook";

test("removes outputs and execution counts from code cells only", () => {
  const nb = notebook([code("1 + 1"), markdown("# Title")]);
  const before = snapshot(nb);
  const out = clearOutputs(nb);
  const first = out.cells[0];
  assert.is(first?.cell_type, "code");
  if (first?.cell_type === "code") {
    assert.equal(first.outputs, []);
    assert.is(first.execution_count, null);
  }
  assert.equal(out.cells[1], nb.cells[1]);
  assert.is(snapshot(nb), before, "input notebook was mutated");
});

test.run();
