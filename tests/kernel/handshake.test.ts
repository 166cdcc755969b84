// test-tier: kernel
// The handshake's deadline, against a "kernel" that is a Node process which never answers: it
// gives up at the limit, unless our own process stood still, whose time it adds back (bounded).
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { KernelChannels, KernelStartError } from "../../core/src/kernel/channels";
import { makeConnectionInfo } from "../../core/src/kernel/connection";
import { KernelProcess } from "../../core/src/kernel/process";

const scratch = mkdtempSync(join(tmpdir(), "tito-handshake-test-"));
const silent = join(scratch, "silent.js");
writeFileSync(silent, "setInterval(() => {}, 1000);\n");

test.after(() => rmSync(scratch, { recursive: true, force: true }));

/** Runs a handshake against a silent process; `during` runs 100 ms into it. */
async function handshakeError(timeoutMs: number, during: () => void): Promise<KernelStartError> {
  const info = await makeConnectionInfo("ipc", mkdtempSync(join(scratch, "k-")));
  const proc = new KernelProcess({ command: process.execPath, args: [silent], env: {} }, scratch);
  const channels = new KernelChannels(info, proc);
  const timer = setTimeout(during, 100);
  try {
    await channels.handshake(timeoutMs);
  } catch (e) {
    assert.instance(e, KernelStartError);
    return e as KernelStartError;
  } finally {
    clearTimeout(timer);
    channels.close();
    proc.kill("SIGKILL");
  }
  throw new Error("the handshake succeeded against a silent process");
}

/** Blocks this process's event loop, as a stalled machine would. */
function standStill(ms: number): void {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    // Nothing runs: no timer, no socket.
  }
}

test("a kernel that never answers: timed out, with where the start got to", async () => {
  const e = await handshakeError(1000, () => undefined);
  assert.ok(e.timedOut);
  assert.match(e.message, /did not answer within 1 s \(\d+ requests/);
  assert.match(e.message, /socket files: none; processes: node \d+ [RS]/);
  assert.not.match(e.message, /stood still/);
});

test("time in which our own process stood still is added back to the deadline", async () => {
  const e = await handshakeError(1000, () => standStill(3000));
  assert.ok(e.timedOut);
  // At least 2.75 s late (3 s still, less the 250 ms the timer was due after), credited up to
  // the limit itself: the deadline moves by at most the limit, never without bound.
  assert.match(e.message, /this process itself stood still for 1\.0 s/);
});

test.run();
