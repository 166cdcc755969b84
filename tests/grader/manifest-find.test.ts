// `--module` finds a manifest by number, full name or name alone (grader/src/manifest-store.ts);
// a number or name that fits several manifests, or none, says which modules there are.
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { findManifest } from "../../grader/src/manifest-store";

const dir = mkdtempSync(join(tmpdir(), "tito-manifests-"));
for (const name of ["01_tensor", "02_norms", "07_norms", "07_optimizers", "12_layer_norm"]) {
  writeFileSync(join(dir, `${name}.json`), "{}");
}
writeFileSync(join(dir, "notes.json"), "{}");

test("by number, full name, or name alone", () => {
  assert.is(findManifest("01", dir), join(dir, "01_tensor.json"));
  assert.is(findManifest("1", dir), join(dir, "01_tensor.json"));
  assert.is(findManifest("01_tensor", dir), join(dir, "01_tensor.json"));
  assert.is(findManifest("01_tensor.json", dir), join(dir, "01_tensor.json"));
  assert.is(findManifest("tensor", dir), join(dir, "01_tensor.json"));
  assert.is(findManifest("optimizers", dir), join(dir, "07_optimizers.json"));
  assert.is(findManifest("layer_norm", dir), join(dir, "12_layer_norm.json"), "a name with _");
});

test("an ambiguous number or name names the candidates", () => {
  assert.throws(() => findManifest("norms", dir), /module 'norms' is ambiguous: it could be 02_norms or 07_norms; give the full name/); // prettier-ignore
  assert.throws(() => findManifest("07", dir), /module '07' is ambiguous: it could be 07_norms or 07_optimizers/); // prettier-ignore
  assert.is(findManifest("07_norms", dir), join(dir, "07_norms.json"), "the full name is exact");
});

test("an unknown module lists the modules there are", () => {
  assert.throws(() => findManifest("tensors", dir), /no grading manifest for module 'tensors' \(there are: 01_tensor, 02_norms, 07_norms, 07_optimizers, 12_layer_norm\)/); // prettier-ignore
  assert.throws(() => findManifest("norm", dir), /no grading manifest for module 'norm'/);
  assert.throws(() => findManifest("03", dir), /no grading manifest for module '03'/);
  const empty = mkdtempSync(join(tmpdir(), "tito-manifests-"));
  assert.throws(() => findManifest("01", empty), /there are: none \(run npm run build\)/);
});

test.run();
