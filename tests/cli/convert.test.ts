// `tito convert` as a library and a command: outputs, --check, and bad input that must produce a
// clear file:line error and leave no output file (or the previous one untouched).
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync, readdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { convertFile, run } from "../../tito/src/commands/convert";
import { SourceError } from "@tinytorch-ts/core";
import { parseIpynb } from "@tinytorch-ts/core/notebook";
import { FIXTURES, MODULE_SOURCE, readFixture, thrown } from "../notebook/helpers";

const dir = mkdtempSync(join(tmpdir(), "tito-convert-"));
const quiet = async (args: string[]) => {
  const log = console.log;
  const err = console.error;
  const lines: string[] = [];
  console.log = (...a: unknown[]) => lines.push(a.join(" "));
  console.error = (...a: unknown[]) => lines.push(a.join(" "));
  try {
    return { code: await run(args), out: lines.join("\n") };
  } finally {
    console.log = log;
    console.error = err;
  }
};

test("converts .ts to .ipynb beside it and back", () => {
  const src = join(dir, "act_dev.ts");
  writeFileSync(src, MODULE_SOURCE);
  assert.is(convertFile(src), join(dir, "act_dev.ipynb"));
  const nb = parseIpynb(readFileSync(join(dir, "act_dev.ipynb"), "utf8"), "x.ipynb");
  assert.is(nb.metadata.kernelspec?.name, "tslab");
  assert.is(nb.cells[2].id, "relu");
  const back = join(dir, "back.ts");
  convertFile(join(dir, "act_dev.ipynb"), { out: back });
  assert.is(readFileSync(back, "utf8"), MODULE_SOURCE);
});

test("the command: --to, --out, usage errors and exit codes", async () => {
  const src = join(dir, "cmd_dev.ts");
  writeFileSync(src, MODULE_SOURCE);
  assert.is((await quiet([src, "--to", "ipynb", "--out", join(dir, "o.ipynb")])).code, 0);
  assert.ok(existsSync(join(dir, "o.ipynb")));
  assert.is((await quiet([src, "--to", "pdf"])).code, 2);
  assert.is((await quiet([])).code, 2);
  assert.is((await quiet([join(dir, "missing.ts")])).code, 1);
  assert.is((await quiet(["--help"])).code, 0);
});

test("--check passes canonical files and reports what a round trip would change", async () => {
  const good = join(dir, "good.ts");
  writeFileSync(good, MODULE_SOURCE);
  const ok = await quiet(["--check", good, join(FIXTURES, "ipynb/jupyter-tslab.ipynb")]);
  assert.is(ok.code, 0, ok.out);
  const bad = join(dir, "loose.ts");
  writeFileSync(bad, readFixture("normalize/loose-markers.ts"));
  const r = await quiet(["--check", bad]);
  assert.is(r.code, 1);
  assert.match(r.out, /not byte-identical: line 1: "\/\/%%" became "\/\/ %%"/);
});

test("--check on malformed input reports file:line", async () => {
  const f = join(dir, "badjson.ts");
  writeFileSync(f, "// %%\nx;\n\n// %% tags=[1,\ny;\n");
  const r = await quiet(["--check", f]);
  assert.is(r.code, 1);
  assert.match(r.out, /badjson\.ts:4: malformed metadata JSON for 'tags'/);
});

function assertNoOutput(input: string, output: string, previous?: string) {
  const e = thrown(() => convertFile(input, { out: output }));
  assert.instance(e, SourceError, String(e));
  if (previous === undefined) assert.not.ok(existsSync(output), "no output file");
  else assert.is(readFileSync(output, "utf8"), previous, "previous output untouched");
  assert.equal(
    readdirSync(dir).filter((f) => f.endsWith(".tmp")),
    [],
    "no temporary file left behind",
  );
  return e as SourceError;
}

test("bad input: clear error, no output file, previous output kept", () => {
  const cases: [string, string, RegExp, number | undefined][] = [
    ["a.ipynb", "{ not json", /not a JSON notebook/, 1],
    [
      "b.ipynb",
      '{"cells": [], "metadata": {}, "nbformat": 3, "nbformat_minor": 0}',
      /unsupported nbformat 3/,
      1,
    ],
    [
      "c.ipynb",
      '{"cells": [\n {"cell_type": "heading", "metadata": {}, "source": ""}\n], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}',
      /unknown cell type "heading"/,
      2,
    ],
    [
      "d.ts",
      '// %%\nx;\n\n// %% nbgrader={"grade": true,}\n',
      /malformed metadata JSON for 'nbgrader'/,
      4,
    ],
    ["e.ts", "// %% key=value\nx;\n", /malformed metadata JSON for 'key'/, 1],
    ["f.ts", '// %% tags=["a"]garbage\nx;\n', /unexpected text after the JSON value/, 1],
    ["g.ts", "// ---\n// jupyter: [1, 2]\n// ---\n", /unsupported YAML value/, 2],
    ["h.ts", `// %% deep=${"[".repeat(5000)}${"]".repeat(5000)}\nx;\n`, /nested too deeply/, 1],
    [
      "i.ipynb",
      `{"cells": [], "metadata": {"x": ${"[".repeat(5000)}${"]".repeat(5000)}}, "nbformat": 4, "nbformat_minor": 5}`,
      /nested more than 200 levels/,
      undefined,
    ],
  ];
  for (const [name, text, message, line] of cases) {
    const input = join(dir, name);
    writeFileSync(input, text);
    const out = join(dir, `${name}.out`);
    const e = assertNoOutput(input, out);
    assert.match(e.message, message, name);
    assert.is(e.line, line, name);
    assert.ok(e.message.startsWith(input), e.message);
  }
  // An existing output is not destroyed by a failed conversion.
  const out = join(dir, "kept.ipynb");
  writeFileSync(out, "previous");
  assertNoOutput(join(dir, "a.ipynb"), out, "previous");
});

test("a source that is not UTF-8 is an error naming the line", () => {
  const e = assertNoOutput(join(FIXTURES, "bad/latin1.ts"), join(dir, "latin1.ipynb"));
  assert.is(e.line, 5);
  assert.match(e.message, /not valid UTF-8/);
  const e2 = assertNoOutput(join(FIXTURES, "bad/binary.ipynb"), join(dir, "binary.ts"));
  assert.is(e2.line, 1);
});

test("a notebook cell that would read back differently is refused, not corrupted", () => {
  const nb = join(dir, "marker-in-code.ipynb");
  const cell = {
    cell_type: "code",
    execution_count: null,
    id: "a",
    metadata: {},
    outputs: [],
    source: ["x;\n", "// %% looks like a marker\n", "y;"],
  };
  writeFileSync(
    nb,
    JSON.stringify({ cells: [cell], metadata: {}, nbformat: 4, nbformat_minor: 5 }),
  );
  const e = assertNoOutput(nb, join(dir, "marker-in-code.ts"));
  assert.match(e.message, /cell 1, line 2: '\/\/ %% looks like a marker' would start a new cell/);
});

test("npx tito convert: a real process, stdout output, file:line errors on stderr", () => {
  const tito = join(__dirname, "../../tito/bin/tito.js");
  const src = join(dir, "proc_dev.ts");
  writeFileSync(src, MODULE_SOURCE);
  const ok = spawnSync("node", [tito, "convert", src, "--to", "ipynb", "--out", "-"], {
    encoding: "utf8",
  });
  assert.is(ok.status, 0, ok.stderr);
  assert.is(parseIpynb(ok.stdout, "p.ipynb").cells.length, 4);
  const bad = join(dir, "proc_bad.ts");
  writeFileSync(bad, '// %%\nx;\n\n// %% nbgrader={"grade": tru}\n');
  const r = spawnSync("node", [tito, "convert", bad], { encoding: "utf8" });
  assert.is(r.status, 1);
  assert.match(
    r.stderr,
    new RegExp(`^tito: ${bad.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}:4: malformed metadata JSON`),
  );
  assert.not.ok(r.stderr.includes("    at "), "no stack trace for bad input");
  assert.not.ok(existsSync(join(dir, "proc_bad.ipynb")));
});

test.after(() => rmSync(dir, { recursive: true, force: true }));

test.run();
