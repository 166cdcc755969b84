import { test } from "uvu";
import * as assert from "uvu/assert";
import {
  findRegions,
  isDirectiveLine,
  misplacedDirectiveLines,
  parseDirectives,
  stripDirectives,
} from "../../core/src/notebook/markers";
import { SourceError } from "../../core/src/errors";
import { thrown } from "./helpers";

const CELL = [
  "//| export",
  "class A {",
  "  f() {",
  '    // ### BEGIN SOLUTION role="scaffold"',
  "    return 1;",
  "    // ### END SOLUTION",
  "  }",
  "}",
].join("\n");

test("findRegions returns BEGIN/END indices, indentation and role", () => {
  assert.equal(findRegions(CELL, "solution"), [
    { begin: 3, end: 5, indent: "    ", role: "scaffold" },
  ]);
  assert.equal(findRegions(CELL, "hidden"), []);
});

test("hidden test regions", () => {
  const src = "f();\n// ### BEGIN HIDDEN TESTS\ng();\n// ### END HIDDEN TESTS\npassed('x');";
  assert.equal(findRegions(src, "hidden"), [{ begin: 1, end: 3, indent: "" }]);
});

test("unclosed, nested and orphan END markers are SourceErrors with file lines", () => {
  const unclosed = thrown(() =>
    findRegions("// ### BEGIN SOLUTION\nx", "solution", "m.ts", 10),
  ) as SourceError;
  assert.instance(unclosed, SourceError);
  assert.is(unclosed.line, 10);
  assert.match(unclosed.message, /never closed/);
  const nested = thrown(() =>
    findRegions(
      "// ### BEGIN SOLUTION\n// ### BEGIN SOLUTION\n// ### END SOLUTION",
      "solution",
      "m.ts",
      5,
    ),
  ) as SourceError;
  assert.is(nested.line, 6);
  assert.match(nested.message, /nested/);
  const orphan = thrown(() =>
    findRegions("x\n// ### END HIDDEN TESTS", "hidden", "m.ts", 1),
  ) as SourceError;
  assert.is(orphan.line, 2);
});

test("markers inside template literals are not markers", () => {
  const src = "const s = `\n// ### BEGIN SOLUTION\n`;";
  assert.equal(findRegions(src, "solution"), []);
});

test("malformed markers and unknown roles are errors", () => {
  assert.match(
    thrown(() => findRegions("// ### begin solution\n", "solution")).message,
    /malformed marker/,
  );
  assert.match(
    thrown(() => findRegions('// ### BEGIN SOLUTION role="x"\n// ### END SOLUTION', "solution"))
      .message,
    /unknown role/,
  );
});

test("markdown answer cells use bare ### markers", () => {
  assert.equal(
    findRegions("### BEGIN SOLUTION\nanswer\n### END SOLUTION", "solution", "m", 1, "markdown"),
    [{ begin: 0, end: 2, indent: "" }],
  );
});

test("parseDirectives reads the leading //| lines only", () => {
  assert.equal(parseDirectives("//| default_exp core.tensor\n//| export\nx\n//| hide"), [
    { name: "default_exp", arg: "core.tensor", line: 0 },
    { name: "export", line: 1 },
  ]);
  assert.equal(parseDirectives("x\n//| export"), []);
  assert.is(stripDirectives("//| export\n//| hide\nclass A {}"), "class A {}");
  assert.is(stripDirectives("class A {}"), "class A {}");
});

test("one meaning of a directive line: every reader agrees on an indented one", () => {
  assert.ok(isDirectiveLine("//| export"));
  assert.ok(isDirectiveLine("  //| export"));
  assert.not.ok(isDirectiveLine("// | export"));
  assert.not.ok(isDirectiveLine("x = 1; //| export"));
  // What the stubs, the exporter and tito export skip as directives, the parser reads as one.
  assert.equal(parseDirectives("  //| export\nclass A {}"), [{ name: "export", line: 0 }]);
  assert.equal(misplacedDirectiveLines("  //| export\nclass A {}"), []);
  assert.equal(misplacedDirectiveLines("class A {}\n//| export"), [1]);
});

test.run();
