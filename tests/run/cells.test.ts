// The loop over cells that the runner and the grader share, on a scripted fake kernel: which
// cells run under each stop policy, and the reason every cell that did not run is given.
import { test } from "uvu";
import * as assert from "uvu/assert";
import type { CellRun, ExecuteOptions } from "../../core/src/kernel/client";
import { runCells, type CellKernel, type LoopCell } from "../../core/src/run/cells";

/**
 * Runs `ok`, `throw`, `hang` (times out) and `die` (the kernel exits); records what it was sent
 * and with which limits.
 */
class FakeKernel implements CellKernel {
  alive = true;
  deathReason = "kernel is running";
  sent: Array<{ code: string; opts: ExecuteOptions | undefined }> = [];

  async execute(code: string, opts?: ExecuteOptions): Promise<CellRun> {
    this.sent.push({ code, opts });
    const base = { outputs: [], executionCount: this.sent.length, durationMs: 1, truncated: false };
    if (code === "throw") {
      return { ...base, status: "error", error: { ename: "RangeError", evalue: "bad" } };
    }
    if (code === "hang") return { ...base, status: "timeout", reason: "timed out after 2 s" };
    if (code === "die") {
      this.alive = false;
      this.deathReason = "kernel died (exit code 7)";
      return { ...base, status: "died", reason: this.deathReason };
    }
    return { ...base, status: "ok" };
  }
}

const cells = (...sources: string[]): LoopCell[] =>
  sources.map((source, i) => ({ source, describe: `cell "c${i}"` }));

test("first-failure: the failing cell stops the run, and later cells say which one failed", async () => {
  const k = new FakeKernel();
  const runs = await runCells(k, cells("ok", "throw", "ok"), { policy: "first-failure" });
  assert.equal(
    runs.map((r) => r.status),
    ["ok", "error", "not-run"],
  );
  assert.is(runs[2].reason, 'cell "c1" failed (RangeError)');
  assert.equal(
    k.sent.map((s) => s.code),
    ["ok", "throw"],
    "nothing is sent after the failure",
  );
});

test("first-failure: a timeout stops the run, with the timeout's own reason", async () => {
  const k = new FakeKernel();
  const runs = await runCells(k, cells("hang", "ok"), { policy: "first-failure" });
  assert.equal(
    runs.map((r) => r.status),
    ["timeout", "not-run"],
  );
  assert.is(runs[1].reason, 'cell "c0" failed (timed out after 2 s)');
});

test("keep-going: errors and timeouts do not stop the cells after them", async () => {
  const k = new FakeKernel();
  const runs = await runCells(k, cells("throw", "hang", "ok"), { policy: "keep-going" });
  assert.equal(
    runs.map((r) => r.status),
    ["error", "timeout", "ok"],
  );
  assert.is(k.sent.length, 3);
});

test("keep-going still stops at a dead kernel, naming the cell it died in", async () => {
  const k = new FakeKernel();
  const seen: string[] = [];
  const runs = await runCells(k, cells("ok", "die", "ok", "throw"), {
    policy: "keep-going",
    onCell: (cell, run, position) => seen.push(`${position} ${cell.describe} ${run.status}`),
  });
  assert.equal(
    runs.map((r) => r.status),
    ["ok", "died", "not-run", "not-run"],
  );
  for (const r of runs.slice(2)) {
    assert.is(r.reason, 'the kernel had stopped during cell "c1": kernel died (exit code 7)');
  }
  assert.is(k.sent.length, 2, "nothing is sent to a dead kernel");
  assert.equal(seen, ['0 cell "c0" ok', '1 cell "c1" died', '2 cell "c2" not-run', '3 cell "c3" not-run']); // prettier-ignore
});

test("a kernel dead before the loop: nothing is sent, every cell says why", async () => {
  const k = new FakeKernel();
  k.alive = false;
  k.deathReason = "kernel died (signal SIGKILL; out of memory?)";
  const runs = await runCells(k, cells("ok", "ok"), { policy: "first-failure" });
  assert.equal(
    runs.map((r) => r.reason),
    [
      "the kernel had stopped: kernel died (signal SIGKILL; out of memory?)",
      "the kernel had stopped: kernel died (signal SIGKILL; out of memory?)",
    ],
  );
  assert.is(k.sent.length, 0);
});

test("a spent notebook time limit: no cell runs, and each says so", async () => {
  const k = new FakeKernel();
  const runs = await runCells(k, cells("ok", "ok"), {
    policy: "keep-going",
    notebookTimeoutMs: 0,
  });
  assert.equal(
    runs.map((r) => [r.status, r.reason]),
    [
      ["not-run", "the notebook's time limit (0 s) ran out"],
      ["not-run", "the notebook's time limit (0 s) ran out"],
    ],
  );
  assert.is(k.sent.length, 0);
});

test("each cell's timeout is cut to what is left of the notebook's, and a cut timeout says so", async () => {
  const k = new FakeKernel();
  const runs = await runCells(k, cells("ok", "hang"), {
    policy: "keep-going",
    cellTimeoutMs: 600_000,
    notebookTimeoutMs: 60_000,
    outputLimitBytes: 1234,
  });
  for (const { opts } of k.sent) {
    assert.ok(opts?.timeoutMs !== undefined && opts.timeoutMs <= 60_000 && opts.timeoutMs > 0);
    assert.is(opts?.outputLimitBytes, 1234);
  }
  assert.is(runs[1].reason, "timed out after 2 s: the notebook's time limit ran out");
});

test("without a notebook limit each cell gets its own timeout, and a timeout is the cell's", async () => {
  const k = new FakeKernel();
  const runs = await runCells(k, cells("hang"), { policy: "keep-going", cellTimeoutMs: 2000 });
  assert.is(k.sent[0].opts?.timeoutMs, 2000);
  assert.is(runs[0].reason, "timed out after 2 s");
});

test.run();
