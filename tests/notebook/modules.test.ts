// Every module source under modules/ must survive .ts -> .ipynb -> .ts byte for byte (and the
// reverse trip must keep its cells), so that building notebooks never rewrites an instructor's
// file. A failure names the first line a round trip would change.
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { checkRoundTrips } from "../../core/src/notebook/roundtrip";

const root = join(__dirname, "../../modules");
const sources = existsSync(root)
  ? readdirSync(root)
      .filter((d) => statSync(join(root, d)).isDirectory())
      .flatMap((d) =>
        readdirSync(join(root, d))
          .filter((f) => f.endsWith("_dev.ts"))
          .map((f) => join("modules", d, f)),
      )
  : [];

test("modules/ holds module sources to check", () => {
  assert.ok(sources.length > 0, "no modules/NN_name/name_dev.ts found");
});

for (const file of sources) {
  test(`round trips byte for byte: ${file}`, () => {
    const text = readFileSync(join(root, "..", file), "utf8");
    assert.equal(checkRoundTrips(text, "ts", file), []);
  });
}

test.run();
