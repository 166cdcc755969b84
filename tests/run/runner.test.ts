// test-tier: kernel
// Running whole notebooks in real tslab kernels: outputs filled in, failures stop the run
// (unless allowed), limits, and dead kernels reported as such.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { KernelClient } from "../../core/src/kernel/client";
import { SourceError } from "../../core/src/errors";
import type { CodeCell, Notebook } from "../../core/src/notebook/types";
import { runNotebook } from "../../core/src/run/runner";
import { code, markdown, notebook } from "./notebooks";
import { KIT_ROOT as ROOT } from "../../core/src/course-root";

const start = { cwd: ROOT };

function codeCell(nb: Notebook, index: number): CodeCell {
  const cell = nb.cells[index];
  if (cell.cell_type !== "code") throw new Error(`cell ${index} is not code`);
  return cell;
}

function stdout(cell: CodeCell): string {
  return cell.outputs
    .map((o) => (o.output_type === "stream" && o.name === "stdout" ? o.text : ""))
    .join("");
}

test("runs every code cell in order and fills in outputs and execution counts", async () => {
  const input = notebook([
    markdown("# Title"),
    code("const xs = [1, 2, 3];"),
    code(""),
    code("xs.map((x) => x * 2)"),
    code('console.log("sum", xs.reduce((a, b) => a + b, 0))'),
  ]);
  const before = JSON.stringify(input);
  const seen: number[] = [];
  const run = await runNotebook(input, { start, onCell: (i) => seen.push(i) });
  assert.is(run.ok, true);
  assert.equal(
    run.cells.map((c) => [c.index, c.status]),
    [
      [1, "ok"],
      [3, "ok"],
      [4, "ok"],
    ],
  );
  assert.equal(seen, [1, 3, 4]);
  assert.is(stdout(codeCell(run.notebook, 3)), "[ 2, 4, 6 ]\n");
  assert.is(stdout(codeCell(run.notebook, 4)), "sum 6\n");
  assert.equal(
    [1, 2, 3, 4].map((i) => codeCell(run.notebook, i).execution_count),
    [1, null, 2, 3],
  );
  assert.equal(run.notebook.cells[0], input.cells[0]);
  assert.is(JSON.stringify(input), before, "the input notebook is not modified");
});

test("a failing cell stops the run; later cells are reported as not run", async () => {
  const nb = notebook([code("1"), code('throw new Error("nope")'), code('"never"')]);
  const run = await runNotebook(nb, { start });
  assert.is(run.ok, false);
  assert.equal(
    run.cells.map((c) => c.status),
    ["ok", "error", "not-run"],
  );
  assert.equal(run.cells[1].error, { ename: "Error", evalue: "nope" });
  assert.match(run.cells[2].reason ?? "", /cell 1 failed \(Error\)/);
  assert.equal(codeCell(run.notebook, 2).outputs, []);
  assert.ok(codeCell(run.notebook, 1).outputs.some((o) => o.output_type === "error"));
});

test("with allowErrors the run goes on past errors and timeouts", async () => {
  const nb = notebook([code("let n: number = 'x';"), code("while (true) {}"), code('"after"')]);
  const run = await runNotebook(nb, { start, allowErrors: true, cellTimeoutMs: 1500 });
  assert.equal(
    run.cells.map((c) => c.status),
    ["error", "timeout", "ok"],
  );
  assert.is(run.ok, false);
  assert.is(stdout(codeCell(run.notebook, 2)), "after\n");
});

test("the notebook's time limit stops the run with a reason", async () => {
  const nb = notebook([code("await new Promise((r) => setTimeout(r, 60_000))"), code('"late"')]);
  const run = await runNotebook(nb, { start, notebookTimeoutMs: 1500, allowErrors: true });
  assert.is(run.cells[0].status, "timeout");
  assert.match(run.cells[0].reason ?? "", /notebook's time limit/);
  assert.is(run.cells[1].status, "not-run");
  assert.match(run.cells[1].reason ?? "", /time limit/);
});

test("a kernel that dies mid-notebook: the rest is not run, with the reason", async () => {
  const nb = notebook([code("1"), code("process.exit(7)"), code("2"), code("3")]);
  const run = await runNotebook(nb, { start, allowErrors: true });
  assert.equal(
    run.cells.map((c) => c.status),
    ["ok", "died", "not-run", "not-run"],
  );
  assert.match(run.cells[1].reason ?? "", /exit code 7/);
  assert.match(run.cells[3].reason ?? "", /the kernel had stopped during cell 1: .*exit code 7/);
});

test("a kernel given by the caller is used and left running; cellFilter picks cells", async () => {
  const kernel = await KernelClient.start(start);
  try {
    const nb = notebook([code('console.log("a")'), code('console.log("b")'), code("const k = 1;")]);
    const run = await runNotebook(nb, { kernel, cellFilter: (_c, i) => i !== 1 });
    assert.equal(
      run.cells.map((c) => c.index),
      [0, 2],
    );
    assert.ok(kernel.alive);
    assert.is((await kernel.execute("k + 1")).status, "ok");
  } finally {
    await kernel.shutdown();
  }
});

test("bad notebooks are rejected before a kernel starts", async () => {
  const noKernel = { cwd: ROOT, tslabBin: "/nonexistent/tslab" };
  const empty = notebook([]);
  await assertSourceError(runNotebook(empty, { start: noKernel, file: "e.ipynb" }), /no cells/);
  const python = {
    ...notebook([code("1")]),
    metadata: { kernelspec: { name: "python3", display_name: "Python" } },
  };
  await assertSourceError(
    runNotebook(python, { start: noKernel, file: "p.ipynb" }),
    /kernel 'python3'/,
  );
  const notNb = { nbformat: 4 } as unknown as Notebook;
  await assertSourceError(runNotebook(notNb, { start: noKernel }), /no cells list/);
});

async function assertSourceError(p: Promise<unknown>, message: RegExp): Promise<void> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  assert.ok(err instanceof SourceError, `expected a SourceError, got ${String(err)}`);
  assert.match((err as Error).message, message);
}

test.run();
