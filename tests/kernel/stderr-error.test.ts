// Recovering ename/evalue from what tslab prints to stderr for a failing cell. The inputs are
// the texts tslab 1.0.22 on Node 20 actually prints (captured from its executor).
import { test } from "uvu";
import * as assert from "uvu/assert";
import { deriveError } from "../../core/src/kernel/stderr-error";

test("a TypeScript diagnostic becomes a TSError", () => {
  const e = deriveError("1:5 - Type 'string' is not assignable to type 'number'.\n");
  assert.equal(e, {
    ename: "TSError",
    evalue: "1:5 - Type 'string' is not assignable to type 'number'.",
  });
});

test("several diagnostics are all kept, after anything printed earlier", () => {
  const e = deriveError("1:1 - Cannot find name 'x'.\n2:3 - Cannot find name 'y'.\n");
  assert.is(e.ename, "TSError");
  assert.ok(e.evalue.includes("'x'") && e.evalue.includes("'y'"));
});

test("a thrown Error gives its name and message, not the source excerpt", () => {
  const text = [
    "evalmachine.<anonymous>:2",
    'throw new Error("boom");',
    "^",
    "",
    "Error: boom",
    "    at evalmachine.<anonymous>:2:7",
    "    at Script.runInThisContext (node:vm:137:12)",
  ].join("\n");
  assert.equal(deriveError(text), { ename: "Error", evalue: "boom" });
});

test("a custom error class with a multi-line message", () => {
  const text = [
    "evalmachine.<anonymous>:7",
    'throw new TestFailure("bad thing\\nline2");',
    "^",
    "",
    "TestFailure: bad thing",
    "line2",
    "    at evalmachine.<anonymous>:7:7",
  ].join("\n");
  assert.equal(deriveError(text), { ename: "TestFailure", evalue: "bad thing\nline2" });
});

test("a message line that looks like `word: text` is not taken for the error name", () => {
  const text = "TestFailure: shapes differ\nexpected: [2, 3]\nActual: [3, 2]\n    at t (a:1:1)\n";
  assert.equal(deriveError(text), {
    ename: "TestFailure",
    evalue: "shapes differ\nexpected: [2, 3]\nActual: [3, 2]",
  });
});

test("an Error with an empty message", () => {
  assert.equal(deriveError("Error\n    at a (b:1:1)\n"), { ename: "Error", evalue: "" });
});

test("an error code in brackets and extra properties after the stack", () => {
  const text = [
    "Error [ERR_SCRIPT_EXECUTION_INTERRUPTED]: Script execution interrupted.",
    "    at new Script (node:vm:1:1)",
    "    at x (y:1:1) {",
    "  code: 'ERR_SCRIPT_EXECUTION_INTERRUPTED'",
    "}",
  ].join("\n");
  assert.equal(deriveError(text), { ename: "Error", evalue: "Script execution interrupted." });
});

test("an async rejection printed without a source excerpt", () => {
  const text = "RangeError: late\n    at Timeout._onTimeout (evalmachine.<anonymous>:3:69)\n";
  assert.equal(deriveError(text), { ename: "RangeError", evalue: "late" });
});

test("output the cell printed before the error does not confuse it", () => {
  const text =
    "warning: 3:4 - looks like a diagnostic\nTypeError: x is not a function\n    at f (a:1:1)\n";
  assert.equal(deriveError(text), { ename: "TypeError", evalue: "x is not a function" });
});

test("a thrown non-Error value is reported as printed", () => {
  assert.equal(deriveError("str\n"), { ename: "Error", evalue: "str" });
  assert.equal(deriveError("{ a: 1 }\n"), { ename: "Error", evalue: "{ a: 1 }" });
  assert.is(deriveError("").ename, "Error");
  assert.ok(deriveError("").evalue.length > 0);
});

test.run();
