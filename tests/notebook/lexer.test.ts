import { test } from "uvu";
import * as assert from "uvu/assert";
import { LineLexer, type LineStart } from "../../core/src/notebook/ts-lexer";

/** Where each line starts, after feeding the previous ones. */
function starts(src: string): LineStart[] {
  const lexer = new LineLexer();
  return src.split("\n").map((line) => {
    const w = lexer.where();
    lexer.feed(line);
    return w;
  });
}

test("template literals span lines, with nested expressions and templates", () => {
  assert.equal(starts("const a = `\nx ${b + `\ny`} z\n`;\nafter"), [
    "top",
    "template",
    "template",
    "template",
    "top",
  ]);
  assert.equal(starts("const o = `${ { a: 1 }.a }\n`;\nx"), ["top", "template", "top"]);
});

test("block comments and continued strings", () => {
  assert.equal(starts("/* a\n` not a template\n*/ x\ny"), ["top", "block", "block", "top"]);
  assert.equal(starts('const s = "a\\\nb";\nc'), ["top", "string", "top"]);
  assert.equal(starts("const s = 'unterminated\nc"), ["top", "top"]);
});

test("line comments and strings hide backticks; escapes are honoured", () => {
  assert.equal(starts("// a ` in a comment\nx"), ["top", "top"]);
  assert.equal(starts("const s = \"`\"; const t = '`';\nx"), ["top", "top"]);
  assert.equal(starts("const t = `a \\` b`;\nx"), ["top", "top"]);
  assert.equal(starts('const q = "\\\\"; const r = `\nx`'), ["top", "template"]);
});

test("regex literals versus division", () => {
  assert.equal(starts("const re = /`/g;\nx"), ["top", "top"]);
  assert.equal(starts("if (/[/`]/.test(s)) {}\nx"), ["top", "top"]);
  assert.equal(starts("const half = a / 2; const t = `\nx`"), ["top", "template"]);
  assert.equal(starts("return /`/.source;\nx"), ["top", "top"]);
  assert.equal(starts("const x = (a) / (b) + `\ny`"), ["top", "template"]);
});

test("openedAt records where the outermost construct began", () => {
  const lexer = new LineLexer();
  for (const line of ["a;", "b;", "const t = `", "still"]) lexer.feed(line);
  assert.is(lexer.openedAt, 2);
  assert.not.ok(lexer.atTop());
});

test.run();
