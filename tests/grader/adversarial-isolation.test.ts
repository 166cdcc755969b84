// test-tier: kernel
// The adversarial submission suite, part 2 (issue 11, classes 1-5): the kernel's root is built,
// not filtered. Fake harnesses planted where tslab or Node would look, reading the kernel's own
// memory, filling the scratch, leaving files for the next kernel, and reaching other checkouts
// or host directories: each is graded in a real, sandboxed kernel, and searched for hidden-test
// text like every result. Part 1 is adversarial.test.ts.
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { deflateSync } from "node:zlib";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { KIT_ROOT } from "@tinytorch-ts/core";
import { gradeSubmission } from "../../grader/src/grade-submission";
import { kernelCodeCache } from "../../grader/src/kernel-session";
import { kernelRuntimePaths, SCRATCH_BYTES, SCRATCH_INODES } from "../../grader/src/sandbox";
import {
  FILL_THE_DISK,
  IMPORT_FAKE_HARNESS,
  LEAVE_MARKERS,
  LOOK_FOR_MARKERS,
  memoryReader,
  otherCheckouts,
  PLANT_FAKE_HARNESS,
  PLANT_SIDE_MODULE,
  STATIC_IMPORT_FAKE_HARNESS,
} from "./attacks";
import { byId, grade, LIMITS, manifest, WRONG_FOR_NEGATIVES } from "./adversarial-grading";
import { GOOD, HIDDEN_SNIPPETS, studentNotebook } from "./helpers";
import { leakedSnippets } from "./leak-check";

test("the leak check finds hidden text printed in base64, hex, and zlib inside either", () => {
  const line = "const secretInput = -3.5;";
  const z = deflateSync(Buffer.from(line));
  for (const printed of [
    Buffer.from(line).toString("base64"),
    Buffer.from(line).toString("hex"),
    `b64=${z.toString("base64")} trailing`,
    `hex=${z.toString("hex")}`,
    Buffer.from(Buffer.from(line).toString("base64")).toString("hex"),
  ]) {
    assert.equal(leakedSnippets({ tests: [{ output: printed }] }, ["secretInput"]), [
      "secretInput",
    ]);
  }
  assert.equal(leakedSnippets({ output: deflateSync(Buffer.from("nothing")).toString("base64") }, ["secretInput"]), []); // prettier-ignore
});

const WRONG = { double: WRONG_FOR_NEGATIVES.double.replace("2 * x : 0", "x : x"), triple: "function triple(x: number): number {\n  return x;\n}" }; // prettier-ignore

test("class 1: a fake harness planted anywhere writable, by any name or import path, never answers a test", async () => {
  const r = await grade({ sources: { double: PLANT_FAKE_HARNESS, triple: IMPORT_FAKE_HARNESS } });
  assert.is(r.score, 0, "honest score: both answers are wrong");
  const out = byId(r, "test-unit-double").output;
  assert.match(
    out,
    /ATTACK .*\/kit\/tinytorch-ts\/support\/testing\.ts:E(ROFS|NOENT)/,
    "the kit is read-only",
  );
  assert.match(out, /wrote \/tmp\/tinytorch-ts\/support\/testing\.ts/, "the attack ran");
  assert.match(out, /initPaths refused/);
  assert.match(out, /global let:SyntaxError/);
  assert.not.match(JSON.stringify(r.tests), /FAKE HARNESS/);
  const loaded = byId(r, "test-unit-triple").output;
  assert.match(
    loaded,
    /LOADED .*tinytorch-ts\/support\/testing=real/,
    "a student's bare import gets the kit too",
  );
});

test("class 1: static imports put the fake into tslab's side-module table; tests still get the kit's harness", async () => {
  // With the sandbox off the kernel's cwd is writable, so only the preamble's guard stands.
  for (const sandbox of [true, false]) {
    const r = await grade({ sources: { double: sandbox ? PLANT_FAKE_HARNESS : PLANT_SIDE_MODULE, triple: STATIC_IMPORT_FAKE_HARNESS } }, { sandbox }); // prettier-ignore
    assert.is(r.score, 0, `honest score with sandbox ${sandbox}`);
    assert.not.match(JSON.stringify(r.tests), /FAKE HARNESS/);
    if (!sandbox) assert.match(byId(r, "test-unit-double").output, /wrote \/\S+\/kit\/tinytorch-ts\/support\/testing\.ts/); // prettier-ignore
  }
});

test("class 2: reading the kernel's own memory through /proc/self/mem finds nothing: the kernel is non-dumpable", async () => {
  const sources = { ...GOOD, triple: memoryReader("secretInput") };
  const r = await grade({ sources });
  assert.is(r.score, 6, "honest score: both answers are right");
  const out = byId(r, "test-unit-triple").output;
  assert.match(out, /\/proc\/self\/mem:EACCES/);
  assert.match(out, /\/proc\/self\/environ:EACCES/);
  assert.match(out, /\/proc\/self\/task\/\d+\/mem:EACCES/);
  // The same attack against a kernel that keeps root (no sandbox) does find the hidden line:
  // the check above is not vacuous.
  const open = await gradeSubmission(manifest, studentNotebook(manifest, { sources }), { ...LIMITS, cellTimeoutMs: 30_000, sandbox: false }); // prettier-ignore
  assert.match(byId(open, "test-unit-triple").output, /\/proc\/self\/mem:open/);
  assert.ok(
    leakedSnippets(open, HIDDEN_SNIPPETS).includes("secretInput"),
    "the unconfined kernel leaks",
  );
});

test("class 3 and 4: filling the scratch stops at its caps; deep long names are harmless", async () => {
  const r = await grade({ sources: { ...GOOD, double: FILL_THE_DISK } });
  assert.is(r.status, "graded");
  assert.is(r.score, 6, "honest score: both answers are right");
  const out = byId(r, "test-unit-double").output;
  assert.match(out, /big:E(NOSPC|FBIG)/);
  const mib = Number(/wrote (\d+) MiB/.exec(out)?.[1]);
  assert.ok(mib <= SCRATCH_BYTES / 1048576, `at most the scratch cap was written (${mib} MiB)`);
  assert.match(out, /many:ENOSPC/);
  assert.ok(Number(/files (\d+)/.exec(out)?.[1]) < SCRATCH_INODES, "the inode cap stopped it");
});

test("class 4: nothing a kernel writes outlives it or reaches the next kernel", async () => {
  const first = await grade({ sources: { ...GOOD, double: LEAVE_MARKERS } });
  assert.is(first.score, 6);
  const marks = byId(first, "test-unit-double").output;
  assert.match(marks, /\/tmp\/tito-marker:written/, "its own /tmp works");
  for (const p of ["/run/lock", "/dev/shm", "/var/tmp"]) {
    assert.match(marks, new RegExp(`${p}/tito-marker:E(NOENT|ROFS|ACCES)`));
    assert.not.ok(existsSync(`${p}/tito-marker`), `${p} on the host is untouched`);
  }
  assert.match(marks, /\/kit\/tito-marker:E(ROFS|ACCES)/);
  const second = await grade({ sources: { ...GOOD, double: LOOK_FOR_MARKERS } });
  assert.is(second.score, 6);
  assert.not.match(byId(second, "test-unit-double").output, /SEEN/);
});

test("class 5: no other checkout, manifest or host directory is reachable", async () => {
  const work = dirname(KIT_ROOT);
  const targets = [
    "/work/main", "/work/main/grader/manifests/01_tensor.json", join(work, "h11b"), join(KIT_ROOT, "grader", "manifests"),
    join(KIT_ROOT, "modules"), "/proc/1/root/work", "/proc/self/root/work/main", "/home", "/root", "/etc/passwd", "/run/lock",
    "/dev/shm", "/var/tmp", "/sys", "/tmp/../work/main", KIT_ROOT, join(KIT_ROOT, "grader"),
  ]; // prettier-ignore
  const r = await grade({ sources: { ...WRONG, double: otherCheckouts(targets) } });
  assert.is(r.score, 0);
  const msg = byId(r, "test-unit-double").message ?? "";
  const m = /REACHED (.*) BLOCKED (\d+)$/.exec(msg);
  assert.ok(m, msg);
  // The kernel's root holds the kit's runtime files at their host paths (node_modules, the
  // preload and drop scripts, the code cache of tslab's TypeScript), so the kit's own folder
  // exists there, holding those alone. Any other path reached, or any other entry of the kit's
  // folders, is a breach.
  const runtimeTop = new Set(
    kernelRuntimePaths(kernelCodeCache(LIMITS.memoryMb))
      .filter((p) => p.startsWith(`${KIT_ROOT}/`))
      .map((p) => p.slice(KIT_ROOT.length + 1).split("/")),
  );
  const allowed = new Map<string, Set<string>>();
  for (const parts of runtimeTop) {
    for (let i = 0; i < parts.length; i++) {
      const dir = join(KIT_ROOT, ...parts.slice(0, i));
      if (!allowed.has(dir)) allowed.set(dir, new Set());
      allowed.get(dir)!.add(parts[i]!);
    }
  }
  const reached = m![1] === "" ? [] : m![1]!.split(" | ");
  for (const item of reached) {
    const at = item.indexOf("=");
    const path = join("/", item.slice(0, at).replace(/^\/proc\/self\/root/, ""));
    const entries = item.slice(at + 1).split(",");
    const ok = allowed.get(path);
    assert.ok(ok, `reached ${item}`);
    for (const e of entries) assert.ok(ok!.has(e), `${path} shows ${e}, not a kit runtime file`);
  }
  const blocked = Number(m![2]);
  assert.is(blocked + reached.length, targets.length, msg);
});

test.run();
