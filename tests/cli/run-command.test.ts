// test-tier: kernel
// `tito run` end to end, as a user runs it: real files, a real CLI process, real kernels.
import Ajv from "ajv";
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { writeIpynb } from "@tinytorch-ts/core/notebook";
import { loadRunnable } from "../../tito/src/run/load";
import { code, markdown, notebook } from "../run/notebooks";
import { KIT_ROOT as ROOT } from "@tinytorch-ts/core";

const dir = mkdtempSync(join(tmpdir(), "tito-run-cmd-"));

/** The parts of a written .ipynb these tests read. */
interface IpynbJson {
  nbformat_minor: number;
  cells: Array<{ execution_count?: number | null; outputs?: Array<Record<string, unknown>> }>;
}

function tito(...args: string[]) {
  const r = spawnSync("node", [join(ROOT, "tito/bin/tito.js"), "run", ...args], {
    cwd: ROOT,
    encoding: "utf8",
    timeout: 120_000,
  });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

function nbformatValidator() {
  const schema = JSON.parse(
    readFileSync(join(ROOT, "core/src/notebook/schema/nbformat.v4.5.schema.json"), "utf8"),
  );
  delete schema.$schema; // draft-04; ajv reads it fine as its default draft
  return new Ajv({ strict: false, allErrors: true }).compile(schema);
}

test.after(() => rmSync(dir, { recursive: true, force: true }));

test("executes a notebook, prints every cell, writes valid nbformat 4.5 with outputs", () => {
  const input = join(dir, "good.ipynb");
  writeFileSync(
    input,
    writeIpynb(
      notebook([
        markdown("# Demo"),
        code("const n = 21;"),
        code("n * 2"),
        code('console.error("careful"); "done"'),
      ]),
    ),
  );
  const out = join(dir, "good.executed.ipynb");
  const r = tito(input, "--out", out, "--timeout", "30");
  assert.is(r.code, 0, r.out + r.err);
  assert.match(r.out, /PASS .*good\.ipynb: 3 cells: 3 ok/);
  assert.match(r.out, /\[\s+2\] ok/);
  const text = readFileSync(out, "utf8");
  const validate = nbformatValidator();
  assert.ok(validate(JSON.parse(text)), JSON.stringify(validate.errors));
  const written = JSON.parse(text) as IpynbJson;
  assert.is(written.nbformat_minor, 5);
  assert.equal(written.cells[2].outputs, [
    { output_type: "stream", name: "stdout", text: ["42\n"] },
  ]);
  assert.equal(
    written.cells.map((c) => c.execution_count),
    [undefined, 1, 2, 3],
  );
  assert.equal(written.cells[3].outputs?.[0], {
    output_type: "stream",
    name: "stderr",
    text: ["careful\n"],
  });
});

test("a failing cell makes the exit code 1; --allow-errors runs the rest", () => {
  const input = join(dir, "bad-cell.ipynb");
  writeFileSync(input, writeIpynb(notebook([code('throw new Error("broken")'), code('"after"')])));
  const stop = tito(input);
  assert.is(stop.code, 1);
  assert.match(stop.out, /FAIL .*: 2 cells: 0 ok, 1 error, 1 not-run/);
  assert.match(stop.out, /error .*Error: broken/);
  const out = join(dir, "bad-cell.out.ipynb");
  const go = tito(input, "--allow-errors", "--out", out);
  assert.is(go.code, 1);
  assert.match(go.out, /1 ok, 1 error/);
  const text = readFileSync(out, "utf8");
  assert.ok(nbformatValidator()(JSON.parse(text)));
  const written = JSON.parse(text) as IpynbJson;
  const error = written.cells[0].outputs?.find((o) => o.output_type === "error");
  assert.equal(
    { ename: error?.ename, evalue: error?.evalue },
    { ename: "Error", evalue: "broken" },
  );
});

test("bad input: a clear error naming the file, and no output written or replaced", () => {
  const out = join(dir, "keep.ipynb");
  writeFileSync(out, "previous contents");
  const notJson = join(dir, "broken.ipynb");
  writeFileSync(notJson, '{"cells": [');
  let r = tito(notJson, "--out", out);
  assert.is(r.code, 1);
  assert.match(r.err, /broken\.ipynb:1: not a JSON notebook/);
  assert.is(readFileSync(out, "utf8"), "previous contents");

  const empty = join(dir, "empty.ipynb");
  writeFileSync(empty, writeIpynb(notebook([])));
  r = tito(empty, "--out", out);
  assert.is(r.code, 1);
  assert.match(r.err, /empty\.ipynb: the notebook has no cells/);

  const python = join(dir, "python.ipynb");
  const py = notebook([code("print(1)")]);
  py.metadata.kernelspec = { name: "python3", display_name: "Python 3" };
  writeFileSync(python, writeIpynb(py));
  r = tito(python, "--out", out);
  assert.is(r.code, 1);
  assert.match(r.err, /python\.ipynb: the notebook names kernel 'python3'/);
  assert.is(readFileSync(out, "utf8"), "previous contents");

  r = tito(join(dir, "missing.ipynb"));
  assert.is(r.code, 1);
  assert.match(r.err, /missing\.ipynb: no such file/);
  assert.not.ok(existsSync(join(dir, "missing.ipynb")));
});

test("usage errors exit 2", () => {
  assert.is(tito().code, 2);
  assert.is(tito("a.ipynb", "--timeout", "zero").code, 2);
  assert.is(tito("a.ipynb", "b.ipynb", "--out", "x.ipynb").code, 2);
  assert.is(tito("a.ipynb", "--frobnicate").code, 2);
});

test("a module source is converted in memory and run; modules are found by number", () => {
  const source = join(dir, "mini_dev.ts");
  writeFileSync(
    source,
    [
      "// %% [markdown]",
      "// # Mini",
      "",
      "// %%",
      "function double(x: number): number {",
      "  return 2 * x;",
      "}",
      "",
      "// %%",
      "double(4)",
      "",
    ].join("\n"),
  );
  const r = tito(source);
  assert.is(r.code, 0, r.out + r.err);
  assert.match(r.out, /PASS .*mini_dev\.ts: 2 cells: 2 ok/);
  assert.is(existsSync(join(dir, "mini_dev.ipynb")), false, "nothing is written for a module");
  const byNumber = loadRunnable("01");
  assert.is(byNumber.kind, "module");
  assert.match(byNumber.path, /modules\/01_[a-z_]+\/[a-z_]+_dev\.ts$/);
  assert.ok(byNumber.notebook.cells.length > 0);
});

test("several notebooks run in parallel, each reported", () => {
  const a = join(dir, "par-a.ipynb");
  const b = join(dir, "par-b.ipynb");
  writeFileSync(a, writeIpynb(notebook([code('"a"')])));
  writeFileSync(b, writeIpynb(notebook([code('"b"')])));
  const r = tito(a, b, "--jobs", "2", "--quiet");
  assert.is(r.code, 0, r.out + r.err);
  assert.match(r.out, /PASS .*par-a\.ipynb/);
  assert.match(r.out, /PASS .*par-b\.ipynb/);
});

test.run();
