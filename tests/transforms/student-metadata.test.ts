import { test } from "uvu";
import * as assert from "uvu/assert";
import { studentMetadata } from "../../tito/src/transforms/student-metadata";
import { notebook, snapshot } from "./make-notebook";

test("drops the jupytext pairing and sets the tslab kernel", () => {
  const nb = notebook([]);
  nb.metadata.kernelspec = { name: "python3", display_name: "Python 3" };
  const before = snapshot(nb);
  const out = studentMetadata(nb);
  assert.is(out.metadata.jupytext, undefined);
  assert.is(out.metadata.kernelspec?.name, "tslab");
  assert.is(out.metadata.language_info?.name, "typescript");
  assert.is(snapshot(nb), before, "input notebook was mutated");
});

test.run();
