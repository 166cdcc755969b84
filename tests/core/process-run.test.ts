// runProcess and runProcessSync, the one way the kit runs a child with a deadline: exit codes,
// output (capped), stdin, programs that do not exist, and timeouts that take the child's whole
// process group along. Real processes (sh, cat, sleep), no kernel.
import { readFileSync } from "node:fs";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { runProcess, runProcessSync } from "../../core/src/process-run";

const unhandled: unknown[] = [];
process.on("unhandledRejection", (e) => unhandled.push(e));

/** Gone, or dead and not yet reaped by whoever inherited it (a zombie runs nothing). */
function processGone(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return true;
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2).startsWith("Z");
  } catch {
    return true;
  }
}

test("the exit code and both streams come back", async () => {
  const r = await runProcess("sh", ["-c", "echo out; echo err >&2; exit 3"], { timeoutMs: 10_000 });
  assert.is(r.code, 3);
  assert.is(r.signal, null);
  assert.is(r.stdout, "out\n");
  assert.is(r.stderr, "err\n");
  assert.is(r.timedOut, false);
  assert.is(r.error, undefined);
  assert.ok(r.durationMs >= 0);
});

test("input is written to stdin and stdin is closed", async () => {
  const r = await runProcess("cat", [], { timeoutMs: 10_000, input: "one\ntwo\n" });
  assert.is(r.code, 0);
  assert.is(r.stdout, "one\ntwo\n");
});

test("a child that never reads its input does not break the run", async () => {
  const r = await runProcess("true", [], { timeoutMs: 10_000, input: Buffer.alloc(4 << 20) });
  assert.is(r.code, 0);
  assert.is(r.error, undefined);
});

test("cwd and env reach the child", async () => {
  const r = await runProcess("sh", ["-c", 'pwd; echo "$ONLY"'], {
    timeoutMs: 10_000,
    cwd: "/",
    env: { ONLY: "this", PATH: process.env.PATH },
  });
  assert.is(r.stdout, "/\nthis\n");
});

test("output past the cap is counted and dropped; the child runs to its end", async () => {
  const r = await runProcess("sh", ["-c", "yes abc | head -c 300000; echo done >&2"], {
    timeoutMs: 10_000,
    maxOutputBytes: 1000,
  });
  assert.is(r.code, 0);
  assert.is(r.stdout, "abc\n".repeat(250));
  assert.equal(r.droppedBytes, { stdout: 299_000, stderr: 0 });
  assert.is(r.stderr, "done\n", "the child was not stopped by the cap");
});

test("a program that does not exist is an error in the result, not a rejection", async () => {
  const r = await runProcess("/nonexistent/tool", ["--version"], { timeoutMs: 10_000 });
  assert.is(r.code, null);
  assert.match(r.error ?? "", /ENOENT/);
  assert.is(r.timedOut, false);
  const bad = await runProcess("echo", ["a\0b"], { timeoutMs: 10_000 });
  assert.match(bad.error ?? "", /null bytes/, "arguments spawn refuses at once");
});

test("a timeout kills the child and what it forked, and the run ends at once", async () => {
  // The shell prints its background child's pid, then waits: both must die.
  const r = await runProcess("sh", ["-c", "sleep 30 & echo $!; sleep 30"], { timeoutMs: 300 });
  assert.is(r.timedOut, true);
  assert.is(r.signal, "SIGKILL");
  assert.ok(r.durationMs < 25_000, `ended long before sleep would have (${r.durationMs} ms)`);
  const grandchild = Number(r.stdout.trim());
  assert.ok(grandchild > 0, `the grandchild's pid was printed: ${JSON.stringify(r.stdout)}`);
  assert.ok(processGone(grandchild), `grandchild ${grandchild} is still running`);
});

test("a run ends even when a descendant outside the group keeps its output open", async () => {
  // setsid leaves the process group, so the timeout's kill misses it and 'close' never comes.
  const r = await runProcess("sh", ["-c", "setsid sh -c 'echo $$; exec sleep 30' & sleep 30"], {
    timeoutMs: 300,
  });
  const escaped = Number(r.stdout.trim());
  if (escaped > 0) process.kill(escaped, "SIGKILL");
  assert.is(r.timedOut, true);
  assert.match(r.error ?? "", /still open/);
  assert.ok(escaped > 0, `the escaped pid was printed: ${JSON.stringify(r.stdout)}`);
});

test("runProcessSync: exit code, output, input and a missing program", () => {
  const r = runProcessSync("sh", ["-c", "cat; echo err >&2; exit 4"], {
    timeoutMs: 10_000,
    input: "in\n",
  });
  assert.equal(
    [r.code, r.stdout, r.stderr, r.timedOut, r.error],
    [4, "in\n", "err\n", false, undefined],
  );
  const missing = runProcessSync("/nonexistent/tool", [], { timeoutMs: 10_000 });
  assert.is(missing.code, null);
  assert.match(missing.error ?? "", /ENOENT/);
});

test("runProcessSync: a timeout kills the child", () => {
  const r = runProcessSync("sleep", ["30"], { timeoutMs: 300 });
  assert.is(r.timedOut, true);
  assert.is(r.signal, "SIGKILL");
  assert.is(r.code, null);
  assert.ok(r.durationMs < 25_000, `ended long before sleep would have (${r.durationMs} ms)`);
});

test("runProcessSync: a child that floods its output is stopped at the cap", () => {
  const r = runProcessSync("sh", ["-c", "yes abc"], { timeoutMs: 10_000, maxOutputBytes: 1000 });
  assert.is(r.timedOut, false);
  assert.is(r.stdout, "abc\n".repeat(250));
  assert.ok(r.droppedBytes.stdout >= 0);
  assert.match(r.error ?? "", /more than 1000 bytes/);
});

test("nothing was left as an unhandled rejection", async () => {
  await new Promise((r) => setTimeout(r, 10));
  assert.equal(unhandled, []);
});

test.run();
