import { test } from "uvu";
import * as assert from "uvu/assert";
import { cellChecksum } from "@tinytorch-ts/core";
import { addChecksums } from "../../tito/src/transforms/checksum";
import { code, grade, markdown, notebook, readOnly, snapshot, solution } from "./make-notebook";

test("locked and grade cells get a sha256; solution and plain cells do not", () => {
  const nb = notebook([
    code("test()", grade("t", 2)),
    markdown("given", readOnly("r")),
    code("x", solution("s")),
    code("plain"),
  ]);
  const before = snapshot(nb);
  const out = addChecksums(nb);
  assert.match(String(out.cells[0]?.metadata.nbgrader?.checksum), /^[0-9a-f]{64}$/);
  assert.match(String(out.cells[1]?.metadata.nbgrader?.checksum), /^[0-9a-f]{64}$/);
  assert.is(out.cells[2]?.metadata.nbgrader?.checksum, undefined);
  assert.is(out.cells[3]?.metadata.nbgrader, undefined);
  assert.is(snapshot(nb), before, "input notebook was mutated");
});

test("the checksum changes with the source, the points and the flags", () => {
  const base = code("assertEqual(f(1), 2);", grade("t", 2));
  const sum = cellChecksum(base);
  assert.is.not(cellChecksum({ ...base, source: "assertEqual(f(1), 1);" }), sum);
  const meta = (patch: object) => ({
    ...base,
    metadata: { nbgrader: { ...grade("t", 2), ...patch } },
  });
  assert.is.not(cellChecksum(meta({ points: 20 })), sum);
  assert.is.not(cellChecksum(meta({ grade: false })), sum);
  assert.is.not(cellChecksum(meta({ grade_id: "u" })), sum);
});

test("the checksum ignores CRLF line endings and its own stored value", () => {
  const base = code("a();\nb();", grade("t", 1));
  const sum = cellChecksum(base);
  assert.is(cellChecksum({ ...base, source: "a();\r\nb();" }), sum);
  const stored = { ...base, metadata: { nbgrader: { ...grade("t", 1), checksum: sum } } };
  assert.is(cellChecksum(stored), sum);
});

test.run();
