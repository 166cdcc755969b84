// The kit's copy of @types/node without doc comments (grader/src/kit-types.ts): positions are
// kept, nothing but `/** … */` comments changes, and tslab's own type checker reports exactly
// the same errors against the copy as against the original.
import {
  cpSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { blankDocComments, docFreeTypes } from "../../grader/src/kit-types";
import { defaultPackageSource } from "../../grader/src/kit";
import { KIT_ROOT } from "@tinytorch-ts/core";

const work = mkdtempSync(join(tmpdir(), "tito-kit-types-"));
test.after(() => rmSync(work, { recursive: true, force: true }));

test("doc comments become blanks; line breaks, code, strings and other comments stay", () => {
  const text = [
    '/// <reference path="globals.d.ts" />',
    "/**",
    " * Reads a file. @param path where",
    " */",
    'declare function read(path: string /* not a doc */, x: "/** in a string */"): void; /** tail */',
    "/**/ // an empty block comment is not a doc comment",
    "type T = `/** ${string}`;",
  ].join("\n");
  const out = blankDocComments(text);
  assert.is(out.length, text.length, "every offset is kept");
  assert.equal(out.split("\n").map((l) => l.length), text.split("\n").map((l) => l.length)); // prettier-ignore
  assert.is(out.split("\n")[0], '/// <reference path="globals.d.ts" />');
  assert.is(out.split("\n")[1].trim(), "");
  assert.is(out.split("\n")[2].trim(), "");
  assert.is(out.split("\n")[4].trimEnd(), 'declare function read(path: string /* not a doc */, x: "/** in a string */"): void;'); // prettier-ignore
  assert.is(out.split("\n")[5], "/**/ // an empty block comment is not a doc comment");
  assert.is(out.split("\n")[6], "type T = `/** ${string}`;");
});

test("the copy of the real @types/node is made once, kept on disk, and has far fewer characters to parse", () => {
  const cacheDir = join(work, "types");
  const { nodeModulesDir } = defaultPackageSource(KIT_ROOT);
  const copy = docFreeTypes(nodeModulesDir, "@types/node", cacheDir);
  assert.ok(copy);
  assert.is(docFreeTypes(nodeModulesDir, "@types/node", cacheDir), copy, "made once per process");
  assert.equal(readdirSync(cacheDir), [`@types+node-${copy.key}`], "nothing half-made is left");
  assert.ok(copy.files.includes("index.d.ts") && copy.files.includes("fs.d.ts") && copy.files.includes("package.json")); // prettier-ignore
  const text = (path: string) => readFileSync(join(copy.dir, path), "utf8");
  const original = (path: string) => readFileSync(join(nodeModulesDir, "@types", "node", path), "utf8"); // prettier-ignore
  assert.is(text("fs.d.ts").length, original("fs.d.ts").length);
  assert.is(text("package.json"), original("package.json"));
  const blanks = copy.files.reduce((n, p) => n + (text(p).match(/ /g)?.length ?? 0), 0);
  const chars = copy.files.reduce((n, p) => n + text(p).length, 0);
  assert.ok(blanks > chars / 4, `only ${blanks} of ${chars} characters are blanks`);
  // A cache that cannot be written: no copy (kits link the original), never an error.
  writeFileSync(join(work, "not-a-dir"), "");
  assert.is(docFreeTypes(nodeModulesDir, "@types/node", join(work, "not-a-dir", "types")), undefined); // prettier-ignore
});

/** tslab's converter in `dir`: the diagnostics of each snippet, compiled one after another. */
function diagnosticsIn(dir: string, snippets: string[]): string[] {
  const tslab = dirname(require.resolve("tslab/package.json"));
  const { createConverter } = createRequire(__filename)(join(tslab, "dist", "converter")) as {
    createConverter: (o: object) => { convert: (prev: string, code: string) => { diagnostics: Array<{ start?: { line: number; character: number }; messageText: string }>; declOutput?: string }; close: () => void }; // prettier-ignore
  };
  const cwd = process.cwd();
  process.chdir(dir);
  const converter = createConverter({ isJS: false, isBrowser: false });
  process.chdir(cwd);
  try {
    return snippets.map((code) =>
      converter
        .convert("", code)
        .diagnostics.map((d) => `${d.start?.line}:${d.start?.character} ${d.messageText}`)
        .join("; "),
    );
  } finally {
    converter.close();
  }
}

test("tslab's type checker reports the same errors with the copy as with the original", () => {
  {
    const { nodeModulesDir } = defaultPackageSource(KIT_ROOT);
    const original = join(work, "original");
    const copied = join(work, "copied");
    for (const dir of [original, copied]) {
      mkdirSync(join(dir, "node_modules", "@types"), { recursive: true });
      symlinkSync(join(nodeModulesDir, "tslab"), join(dir, "node_modules", "tslab"));
      symlinkSync(join(nodeModulesDir, "undici-types"), join(dir, "node_modules", "undici-types"));
    }
    symlinkSync(join(nodeModulesDir, "@types", "node"), join(original, "node_modules", "@types", "node")); // prettier-ignore
    const copy = docFreeTypes(nodeModulesDir, "@types/node", join(work, "types"));
    assert.ok(copy);
    cpSync(copy.dir, join(copied, "node_modules", "@types", "node"), { recursive: true });
    const snippets = [
      'import { readFileSync } from "fs";\nconst n: number = readFileSync("x", "utf8");',
      "const b: Buffer = Buffer.from([1, 2]);\nb.readUInt8(0, 1, 2);",
      "process.exitt(1);",
      'import * as os from "node:os";\nconst c: string = os.cpus().length;',
      "setTimeout(() => 1, 'ten');",
      "const ok: number = Math.max(1, 2);",
    ];
    const want = diagnosticsIn(original, snippets);
    assert.ok(
      want.slice(0, 5).every((d) => d.length > 0),
      JSON.stringify(want),
    );
    assert.is(want[5], "");
    assert.equal(diagnosticsIn(copied, snippets), want);
  }
});

test.run();
