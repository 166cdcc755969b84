// Student ids and student-written text on their way to file names, the gradebook CSV and the
// logs: pure helpers, no kernel.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { csvField, gradebookCsv } from "../../grader/src/gradebook-csv";
import type { AttemptRow } from "../../grader/src/gradebook";
import { logLine, safeName, stripControl } from "../../grader/src/names";
import { ProgressBar } from "../../grader/src/progress";

/** True when `text` has a C0 or C1 control character or DEL. */
function hasControl(text: string): boolean {
  return [...text].some((ch) => {
    const c = ch.codePointAt(0) ?? 0;
    return c < 0x20 || (c >= 0x7f && c <= 0x9f);
  });
}

test("safeName keeps safe ids as they are", () => {
  for (const id of ["alice", "bob.smith", "c-d_e@school.edu", "A1"]) assert.is(safeName(id), id);
});

test("safeName is injective: ids that cleaning would merge get different names", () => {
  const ids = ["alice~smith", "alice_smith", "alice smith", "alice/smith", "alice\\smith", "alice__smith"]; // prettier-ignore
  const names = ids.map(safeName);
  assert.is(new Set(names).size, ids.length, names.join(" "));
  assert.is(safeName("alice_smith"), "alice_smith", "a safe id is unchanged");
  assert.match(safeName("alice~smith"), /^alice_smith~[0-9a-f]{10}$/);
  // The same id always gets the same name (a rerun finds its results).
  assert.is(safeName("alice~smith"), safeName("alice~smith"));
});

test("safeName never yields a path, a dot name or an overlong name", () => {
  for (const id of [
    "",
    ".",
    "..",
    "../../etc/passwd",
    "/abs",
    "x".repeat(400),
    "a\u0000b",
    "\u001b[31mred",
  ]) {
    // prettier-ignore
    const name = safeName(id);
    assert.ok(name.length > 0 && name.length <= 120, `length of ${JSON.stringify(name)}`);
    assert.not.match(name, /[/\\]/);
    assert.not.ok(hasControl(name), JSON.stringify(name));
    assert.not.ok(name.startsWith("."), name);
  }
  assert.is.not(safeName("x".repeat(400)), safeName("x".repeat(401)), "long ids stay apart");
});

test("csvField neutralises formulas as OWASP recommends and quotes what needs it", () => {
  assert.is(csvField('=HYPERLINK("http://evil","x")'), `"'=HYPERLINK(""http://evil"",""x"")"`);
  for (const start of ["=", "+", "-", "@", "\t", "\r"]) {
    const cell = csvField(`${start}1+1`);
    assert.ok(cell.startsWith(`"'${start}`), JSON.stringify(cell));
    assert.ok(cell.endsWith('"'));
  }
  assert.is(csvField("plain"), "plain");
  assert.is(csvField("a, b"), '"a, b"');
  assert.is(csvField('say "hi"'), '"say ""hi"""');
  assert.is(csvField("two\nlines"), '"two\nlines"');
  assert.is(csvField(-3), "-3", "numbers are numbers, not formulas");
  assert.is(csvField(null), "");
  assert.is(csvField(Number.NaN), "");
});

test("gradebookCsv writes a header and one escaped row per attempt", () => {
  const row: AttemptRow = {
    student: "=cmd|' /C calc'!A0",
    module: "01_tensor",
    attempt: 1,
    submission_hash: "ab",
    manifest_hash: "cd",
    status: "rejected",
    reason: "@SUM(1,2)",
    score: 0,
    max_score: 37,
    started_at: "2026-01-01T00:00:00.000Z",
    finished_at: "2026-01-01T00:00:01.000Z",
    execution_ms: 1000,
    submitted_at: null,
    due_at: null,
    late_seconds: 0,
    penalty: 0,
    manual_max: 0,
  };
  const lines = gradebookCsv([row]).split("\n");
  assert.is(lines[0], "student,module,attempt,score,max_score,status,reason,submission_hash,started_at,finished_at,execution_ms"); // prettier-ignore
  assert.is(lines[1], `"'=cmd|' /C calc'!A0",01_tensor,1,0,37,rejected,"'@SUM(1,2)",ab,2026-01-01T00:00:00.000Z,2026-01-01T00:00:01.000Z,1000`); // prettier-ignore
  assert.is(lines[2], "");
  assert.is(gradebookCsv([]), lines[0] + "\n");
});

test("stripControl removes ANSI sequences and control characters, keeping text", () => {
  assert.is(stripControl("\u001b[31mred\u001b[0m text"), "red text");
  assert.is(stripControl("\u001b]0;title\u0007after"), "after", "OSC window title");
  assert.is(stripControl("a\rb\u0008c\u0000d\u007fe\u009bf"), "abcdef");
  assert.is(stripControl("bidi\u202eevil\u2066x\u2028y"), "bidievilxy");
  assert.is(stripControl("keeps\nlines\tand tabs"), "keeps\nlines\tand tabs");
  assert.is(logLine("one\nFAKE 9/9 graded\r\u001b[2Kline"), "one FAKE 9/9 gradedline");
  assert.is(stripControl("ünïcödé ✅ ok"), "ünïcödé ✅ ok");
});

test("the progress log shows no control character from a label", () => {
  let written = "";
  const out = { isTTY: false, write: (s: string) => ((written += s), true) };
  const bar = new ProgressBar(1, out as unknown as NodeJS.WriteStream);
  bar.tick(
    "rejected",
    "\u001b[2K\u001b[1A\rmallory\n[########################] 9/9 · 9 graded: 37/37",
  );
  assert.is(written.split("\n").length, 2, "one line and its newline");
  assert.not.ok(hasControl(written.slice(0, -1)), JSON.stringify(written));
  assert.match(written, /· mallory \[#+\] 9\/9/);
});

test.run();
