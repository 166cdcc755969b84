import { test } from "uvu";
import * as assert from "uvu/assert";
import { hideCells } from "../../tito/src/transforms/hide-cells";
import { code, markdown, notebook, snapshot } from "./make-notebook";

test("//| hide cells are dropped, wherever the directive is in the leading block", () => {
  const nb = notebook([
    code("//| hide\nsetup();"),
    code("//| export\n//| hide\nconst helper = 1;"),
    code("shown();\n//| hide"),
    markdown("//| hide is only a code-cell directive"),
  ]);
  const before = snapshot(nb);
  const out = hideCells(nb);
  assert.equal(
    out.cells.map((c) => c.source),
    ["shown();\n//| hide", "//| hide is only a code-cell directive"],
  );
  assert.is(snapshot(nb), before, "input notebook was mutated");
});

test.run();
