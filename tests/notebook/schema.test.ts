// Every notebook we write validates against the official nbformat v4.5 JSON schema (copied from
// Debian's python3-nbformat 5.5.0, BSD-3-Clause). The schema declares draft-04; it uses no
// draft-04-only keywords, so Ajv 8's default draft validates it as written.
import Ajv from "ajv";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { parseIpynb, writeIpynb } from "../../core/src/notebook/ipynb";
import { parsePercent } from "../../core/src/notebook/percent";
import type { Notebook } from "../../core/src/notebook/types";
import { fixtureNames, readFixture } from "./helpers";

const schemaPath = join(__dirname, "../../core/src/notebook/schema/nbformat.v4.5.schema.json");
const schema = JSON.parse(readFileSync(schemaPath, "utf8")) as Record<string, unknown>;
delete schema.$schema;
const validate = new Ajv({ strict: false, allErrors: true, validateFormats: false }).compile(
  schema,
);

function check(text: string, name: string): void {
  const ok = validate(JSON.parse(text));
  assert.ok(ok, `${name}: ${JSON.stringify(validate.errors?.slice(0, 3))}`);
}

test("the schema rejects what it should (it is really checking)", () => {
  const nb = parsePercent("// %%\nx;\n", "m.ts").notebook;
  const doc = JSON.parse(writeIpynb(nb)) as { cells: { id: string }[]; nbformat_minor: number };
  doc.cells[0].id = "bad id!";
  assert.not.ok(validate(doc));
  const missing = JSON.parse(writeIpynb(nb)) as { cells: Record<string, unknown>[] };
  delete missing.cells[0].id;
  assert.not.ok(validate(missing));
});

for (const name of fixtureNames("roundtrip", ".ts")) {
  test(`.ts -> .ipynb validates: ${name}`, () => {
    check(writeIpynb(parsePercent(readFixture(name), name).notebook), name);
  });
}

for (const name of fixtureNames("ipynb", ".ipynb")) {
  test(`.ipynb rewritten as 4.5 validates: ${name}`, () => {
    check(writeIpynb(parseIpynb(readFixture(name), name)), name);
  });
}

test("ids stay valid and unique for long, odd and duplicate grade_ids", () => {
  const long = "x".repeat(80);
  const nb: Notebook = parsePercent(
    [
      `// %% nbgrader={"grade": false, "grade_id": "${long}", "locked": true, "schema_version": 3, "solution": false, "task": false}`,
      "a;",
      "",
      `// %% nbgrader={"grade": false, "grade_id": "${long}", "locked": true, "schema_version": 3, "solution": false, "task": false}`,
      "b;",
      "",
      '// %% nbgrader={"grade": false, "grade_id": "m-2", "locked": true, "schema_version": 3, "solution": false, "task": false}',
      "c;",
      "",
      "// %%",
      "d;",
      "",
    ].join("\n"),
    "m.ts",
  ).notebook;
  const ids = nb.cells.map((c) => c.id);
  assert.is(new Set(ids).size, ids.length);
  for (const id of ids) assert.ok(/^[a-zA-Z0-9-_]{1,64}$/.test(id), id);
  check(writeIpynb(nb), "ids");
});

test.run();
