// The submissions folder as an attacker fills it: links to another student's notebook, to a
// file outside, dangling; a named pipe, a socket, a hard link, a linked student folder, a
// linked notebook inside a folder, an oversized file, files that are not notebooks. Discovery
// must find every real notebook, reject every other entry with a reason that says what it is,
// never open what it rejects, and never put a byte of any file into a reason. No kernel.
import { spawnSync, execFileSync } from "node:child_process";
import { linkSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync } from "node:fs";
import { symlinkSync, unlinkSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { KIT_ROOT } from "@tinytorch-ts/core";
import { parseSubmission } from "../../grader/src/submission";
import { FIXTURES } from "./helpers";
import {
  findSubmissions,
  readSubmissionFile,
  type Submission,
} from "../../grader/src/submissions-folder";

const MODULE = "90_fixture";
const CAP = 1024;
const NOTEBOOK = '{"nbformat":4,"nbformat_minor":5,"metadata":{},"cells":[]}';
const SECRET = "root:$y$j9T$TOPSECRET-f00dfeed-only-root-may-read-this";
const GARBAGE = "root:x:0:0:root:/root:/bin/bash\ndaemon:x:1:1::/usr/sbin:/usr/sbin/nologin\n";
const BINARY = Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0, 1, 2]), Buffer.from("BINARY-MARKER-5150")]); // prettier-ignore
/** Strings that must appear in no reason and no field: each file's text and first 10 chars. */
const FORBIDDEN = [SECRET, SECRET.slice(0, 10), GARBAGE.slice(0, 10), "BINARY-MARKER", "daemon:x"];

const work = mkdtempSync(join(tmpdir(), "tito-subs-"));
const subs = join(work, "submissions");
const outside = join(work, "outside");
mkdirSync(subs);
mkdirSync(join(outside, "folder"), { recursive: true });
writeFileSync(join(outside, "secret.txt"), SECRET, { mode: 0o600 });
writeFileSync(join(outside, "folder", `${MODULE}.ipynb`), NOTEBOOK);
writeFileSync(join(outside, "frank-original.ipynb"), NOTEBOOK);

writeFileSync(join(subs, "alice.ipynb"), NOTEBOOK);
mkdirSync(join(subs, "carol"));
writeFileSync(join(subs, "carol", `${MODULE}.ipynb`), NOTEBOOK);
writeFileSync(join(subs, "garbage.ipynb"), GARBAGE);
writeFileSync(join(subs, "notjson.ipynb"), BINARY);
writeFileSync(join(subs, "notes.txt"), "not a submission");
symlinkSync("alice.ipynb", join(subs, "mallory.ipynb"));
symlinkSync(join(outside, "secret.txt"), join(subs, "eve.ipynb"));
symlinkSync(join(work, "nothing-here.ipynb"), join(subs, "ghost.ipynb"));
symlinkSync(join(outside, "folder"), join(subs, "linkdir"));
symlinkSync(join(outside, "secret.txt"), join(subs, ".hidden.ipynb"));
mkdirSync(join(subs, "bob"));
symlinkSync(join(outside, "secret.txt"), join(subs, "bob", `${MODULE}.ipynb`));
execFileSync("mkfifo", [join(subs, "pipe.ipynb")]);
writeFileSync(join(subs, "huge.ipynb"), " ".repeat(CAP + 1));
linkSync(join(outside, "frank-original.ipynb"), join(subs, "frank.ipynb"));
let server: Server | undefined;

const FOLDER_MODULE = join(KIT_ROOT, "grader", "src", "submissions-folder.ts");

/**
 * Evaluates `expression` (with `m` the submissions-folder module) in a child process that is
 * killed after 10 s. Discovery and reading are synchronous: a pipe opened for reading would
 * block this process's event loop, so no timer here could fire. A child that hangs fails the
 * test instead of hanging it.
 */
function inChild(expression: string): unknown {
  const code = `const m = require(${JSON.stringify(FOLDER_MODULE)});
process.stdout.write(JSON.stringify(${expression}));`;
  const r = spawnSync(process.execPath, ["--require", "tsx/cjs", "-e", code], {
    cwd: KIT_ROOT,
    encoding: "utf8",
    timeout: 10_000,
  });
  assert.ok(r.error === undefined && r.status === 0, `finished in 10 s: ${r.error?.message ?? r.stderr}`); // prettier-ignore
  return JSON.parse(r.stdout);
}

function assertNoFileBytes(value: unknown, what: string): void {
  const text = JSON.stringify(value);
  for (const forbidden of FORBIDDEN) {
    assert.not.ok(text.includes(forbidden), `${what} quotes ${JSON.stringify(forbidden)}: ${text}`);
  }
}

test.before(async () => {
  server = createServer();
  await new Promise<void>((done) => server?.listen(join(subs, "sock.ipynb"), done));
});

test("every real notebook is found, every other entry is rejected with what it is", () => {
  const found = inChild(
    `m.findSubmissions(${JSON.stringify(subs)}, "${MODULE}", { maxBytes: ${CAP} })`,
  ) as Submission[];
  const by = new Map(found.map((s) => [s.student, s]));
  assert.equal(
    [...by.keys()].sort(),
    ["alice", "bob", "carol", "eve", "frank", "garbage", "ghost", "huge", "linkdir", "mallory", "notjson", "pipe", "sock"], // prettier-ignore
  );
  for (const real of ["alice", "carol", "garbage", "notjson"]) {
    assert.ok(by.get(real)?.file, `${real} is listed with its file`);
    assert.is(by.get(real)?.problem, undefined);
  }
  const rejected: Array<[string, RegExp]> = [
    ["mallory", /^the submission is a symbolic link, not a regular file or folder: not followed$/],
    ["eve", /symbolic link.*not followed/],
    ["ghost", /symbolic link.*not followed/],
    ["linkdir", /symbolic link.*not followed/],
    ["bob", /^the notebook 90_fixture\.ipynb is a symbolic link, not a regular file: not followed$/], // prettier-ignore
    ["pipe", /named pipe \(FIFO\).*not opened/],
    ["sock", /a socket.*not opened/],
    ["huge", /is 1025 bytes, over the limit of 1024 bytes: not read/],
    ["frank", /hard link shared with another file \(2 links\): not read/],
  ];
  for (const [student, reason] of rejected) {
    const s = by.get(student);
    assert.is(s?.file, undefined, `${student} has no file to open`);
    assert.match(s?.problem ?? "", reason, student);
  }
  assertNoFileBytes(found, "the discovery");
});

test("the notebooks found read and parse; reasons give positions, never bytes", () => {
  const found = findSubmissions(subs, MODULE, { maxBytes: CAP });
  const outcomes = found.map((s) => {
    if (!s.file) return { student: s.student, reason: s.problem };
    const read = readSubmissionFile(s.file, s.maxBytes, s.identity);
    if (!read.ok) return { student: s.student, reason: read.reason };
    const parsed = parseSubmission(read.text);
    return { student: s.student, reason: parsed.ok ? "ok" : parsed.reason };
  });
  const reasonOf = (student: string) => outcomes.find((o) => o.student === student)?.reason;
  assert.is(reasonOf("alice"), "ok");
  assert.is(reasonOf("carol"), "ok");
  assert.match(reasonOf("garbage") ?? "", /not a Jupyter notebook \(invalid JSON/);
  assert.match(reasonOf("notjson") ?? "", /not a Jupyter notebook \(invalid JSON/);
  assertNoFileBytes(outcomes, "a reason");
});

test("parseSubmission's reason for invalid JSON has the position, not the text", () => {
  const reason = (text: string) => {
    const p = parseSubmission(text);
    return p.ok ? "ok" : p.reason;
  };
  // V8 quotes the start of the input in these messages: the reason must not.
  for (const text of [
    GARBAGE,
    "SECRET-TOKEN-1234 trailing",
    '{"a": SECRET-TOKEN}',
    "[1,,SECRET]",
  ]) {
    const r = reason(text);
    assert.match(r, /^the file is not a Jupyter notebook \(invalid JSON/);
    for (const piece of ["SECRET", "root", "TOKEN", "daemon"]) {
      assert.not.ok(r.includes(piece), `${r} quotes the input`);
    }
  }
  assert.is(reason('{\n  "cells": [],\n  "x": 1,\n}'), "the file is not a Jupyter notebook (invalid JSON at line 4, column 1)"); // prettier-ignore
  assert.match(reason('{"cells": ['), /ends too early|at line 1/);
  // A string nbformat is not echoed either.
  assert.is(reason('{"nbformat": "root:x:0:0"}'), "unsupported notebook format (an nbformat that is not a version number; expected nbformat 4)"); // prettier-ignore
  assert.match(reason('{"nbformat": 3}'), /nbformat 3;/);
});

test("readSubmissionFile refuses a pipe, a device and a link without blocking", () => {
  const results = inChild(`[
    m.readSubmissionFile(${JSON.stringify(join(subs, "pipe.ipynb"))}, ${CAP}),
    m.readSubmissionFile("/dev/null", ${CAP}),
    m.readSubmissionFile(${JSON.stringify(join(subs, "eve.ipynb"))}, ${CAP}),
    m.readSubmissionFile(${JSON.stringify(join(subs, "ghost.ipynb"))}, ${CAP}),
  ]`) as Array<{ ok: boolean; reason?: string }>;
  assert.equal(
    results.map((r) => r.ok),
    [false, false, false, false],
  );
  assert.match(results[0].reason ?? "", /named pipe/);
  assert.match(results[1].reason ?? "", /character device/);
  assert.match(results[2].reason ?? "", /symbolic link.*not followed/);
  assert.match(results[3].reason ?? "", /symbolic link.*not followed/);
  assertNoFileBytes(results, "a read");
});

test("a notebook swapped after discovery is refused by the read", () => {
  const dir = mkdtempSync(join(work, "swap-"));
  for (const name of ["link", "other", "grown"]) writeFileSync(join(dir, `${name}.ipynb`), NOTEBOOK); // prettier-ignore
  const found = findSubmissions(dir, MODULE, { maxBytes: CAP });
  const sub = (student: string) => found.find((s) => s.student === student) as Submission;
  assert.ok(found.every((s) => s.file !== undefined));
  // Replaced by a link to the secret between lstat and open: O_NOFOLLOW makes the open fail.
  unlinkSync(join(dir, "link.ipynb"));
  symlinkSync(join(outside, "secret.txt"), join(dir, "link.ipynb"));
  const link = readSubmissionFile(sub("link").file as string, CAP, sub("link").identity);
  assert.equal(link, { ok: false, reason: "the submission is a symbolic link, not a regular file: not followed" }); // prettier-ignore
  // Replaced by another regular file (a rename over it): another inode than the one listed.
  writeFileSync(join(work, "impostor.ipynb"), NOTEBOOK);
  renameSync(join(work, "impostor.ipynb"), join(dir, "other.ipynb"));
  const other = readSubmissionFile(sub("other").file as string, CAP, sub("other").identity);
  assert.match(other.ok ? "read" : other.reason, /replaced by another file/);
  // Grown over the cap after it was listed.
  writeFileSync(join(dir, "grown.ipynb"), " ".repeat(2 * CAP));
  const grown = readSubmissionFile(sub("grown").file as string, CAP, sub("grown").identity);
  assert.match(grown.ok ? "read" : grown.reason, /is 2 KiB, over the limit of 1 KiB/);
  // Without the identity, a regular file of the right size is read.
  assert.equal(readSubmissionFile(sub("other").file as string, CAP), { ok: true, text: NOTEBOOK });
});

test("a symbolic link given as the folder or as the notebook is refused, not followed", () => {
  symlinkSync(subs, join(work, "subs-link"));
  assert.throws(() => findSubmissions(join(work, "subs-link"), MODULE), /symbolic link/);
  assert.throws(() => findSubmissions(`${join(work, "subs-link")}/`, MODULE), /symbolic link/);
  assert.throws(() => findSubmissions(join(subs, "mallory.ipynb"), MODULE), /symbolic link/);
  assert.throws(() => findSubmissions(join(subs, "pipe.ipynb"), MODULE), /named pipe/);
  assert.equal(findSubmissions(join(subs, "alice.ipynb"), MODULE)[0].student, "alice");
  assert.equal(findSubmissions(join(work, "no-such-folder"), MODULE), []);
});

test("an entry that cannot be inspected is rejected alone; the others are found", () => {
  // lstat fails with ENAMETOOLONG on an entry whose full path is over PATH_MAX (4096), while
  // the folder itself, and a short entry in it, are fine. Root ignores permissions, so this is
  // a failure the tests can cause as root.
  let deep = work;
  while (deep.length < 3800) deep = join(deep, "d".repeat(200));
  if (deep.length < 3999) deep = join(deep, "e".repeat(3999 - deep.length - 1));
  mkdirSync(deep, { recursive: true });
  writeFileSync(join(deep, "alice.ipynb"), NOTEBOOK);
  const long = `${"x".repeat(240)}.ipynb`;
  const cwd = process.cwd();
  process.chdir(deep);
  try {
    writeFileSync(long, NOTEBOOK);
  } finally {
    process.chdir(cwd);
  }
  assert.ok(join(deep, long).length > 4096);
  const found = findSubmissions(deep, MODULE);
  assert.is(found.length, 2);
  assert.ok(found.find((s) => s.student === "alice")?.file);
  const bad = found.find((s) => s.student !== "alice");
  assert.is(bad?.student, "x".repeat(240));
  assert.is(bad?.problem, "cannot inspect the submission (ENAMETOOLONG)");
  // Node's rmSync cannot delete it by its full path either.
  process.chdir(deep);
  try {
    unlinkSync(long);
  } finally {
    process.chdir(cwd);
  }
});

test("tito grade --max-size rejects a larger notebook unread; a linked folder is refused", () => {
  // Nothing here needs a kernel: a rejected submission is recorded without one (and this fast
  // tier refuses to start one, so the test would fail if it did).
  const dir = mkdtempSync(join(work, "cli-"));
  mkdirSync(join(dir, "subs"));
  writeFileSync(join(dir, "subs", "big.ipynb"), " ".repeat(1.5 * 1024 * 1024));
  const tito = (...args: string[]) =>
    spawnSync(process.execPath, [join(KIT_ROOT, "tito", "bin", "tito.js"), "grade", ...args, "--manifest", join(FIXTURES, `${MODULE}.json`), "--out", join(dir, "out")], { encoding: "utf8", timeout: 120_000 }); // prettier-ignore
  const r = tito(join(dir, "subs"), "--max-size", "1");
  assert.is(r.status, 0, r.stderr);
  assert.match(r.stdout, /0 graded, 0 unchanged, 1 rejected, 0 grader errors/);
  const results = JSON.parse(readFileSync(join(dir, "out", "results", MODULE, "big", "results.json"), "utf8")); // prettier-ignore
  assert.is(results.score, 0);
  assert.match(results.output, /is 1\.5 MiB, over the limit of 1 MiB: not read/);
  symlinkSync(join(dir, "subs"), join(dir, "link"));
  const linked = tito(join(dir, "link"));
  assert.is(linked.status, 1);
  assert.match(linked.stderr, /^tito: .*link: is a symbolic link; links are not followed/);
});

test("the Gradescope runner refuses a linked or piped notebook, without blocking", () => {
  const cases: Array<[(path: string) => void, RegExp]> = [
    [(path) => symlinkSync(join(outside, "secret.txt"), path), /symbolic link.*not followed/],
    [(path) => execFileSync("mkfifo", [path]), /named pipe \(FIFO\).*not opened/],
  ];
  for (const [make, reason] of cases) {
    const root = mkdtempSync(join(work, "autograder-"));
    mkdirSync(join(root, "submission"));
    mkdirSync(join(root, "results"));
    make(join(root, "submission", `${MODULE}.ipynb`));
    // Its own process, killed after 30 s: a pipe opened for reading would block it for good.
    const runner = join(KIT_ROOT, "grader", "src", "gradescope-run.ts");
    const r = spawnSync(process.execPath, ["--require", "tsx/cjs", runner, join(FIXTURES, `${MODULE}.json`)], { cwd: KIT_ROOT, env: { ...process.env, TITO_AUTOGRADER_ROOT: root }, encoding: "utf8", timeout: 30_000 }); // prettier-ignore
    assert.is(r.status, 0, r.error?.message ?? r.stderr);
    const results = JSON.parse(readFileSync(join(root, "results", "results.json"), "utf8"));
    assert.is(results.score, 0);
    assert.match(results.output, reason);
    assertNoFileBytes([results, r.stdout, r.stderr], "the Gradescope results");
  }
});

test.after(async () => {
  await new Promise<void>((done) => (server ? server.close(() => done()) : done()));
  rmSync(work, { recursive: true, force: true });
});
test.run();
