// The CSV reader behind `tito manual --import`: what spreadsheets write, with the line each
// record starts on. Pure functions, no kernel.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { parseCsv } from "../../grader/src/csv-read";
import { csvField } from "../../grader/src/gradebook-csv";

const fields = (text: string) => parseCsv(text, "s.csv").map((r) => r.fields);
const lines = (text: string) => parseCsv(text, "s.csv").map((r) => r.line);

test("plain records, LF or CRLF, with or without a final line break", () => {
  assert.equal(fields("a,b\n1,2\n"), [["a", "b"], ["1", "2"]]); // prettier-ignore
  assert.equal(fields("a,b\r\n1,2"), [["a", "b"], ["1", "2"]]); // prettier-ignore
  assert.equal(fields("a,b\r1,2\r"), [["a", "b"], ["1", "2"]], "a lone CR ends a line too"); // prettier-ignore
  assert.equal(fields("a,,\n"), [["a", "", ""]], "empty fields are kept");
});

test("quoted fields hold commas, doubled quotes and line breaks", () => {
  assert.equal(fields('x,"a, b","say ""hi"""\n'), [["x", "a, b", 'say "hi"']]);
  assert.equal(fields('x,"line 1\nline 2\r\nline 3",y\n'), [["x", "line 1\nline 2\r\nline 3", "y"]]); // prettier-ignore
  assert.equal(fields('"",""\n'), [["", ""]], "empty quoted fields");
  assert.equal(fields('"a"'), [["a"]], "a quoted field at the very end");
});

test("a byte order mark is dropped; blank lines are no records but are counted", () => {
  assert.equal(fields("\uFEFFstudent,score\n"), [["student", "score"]]);
  assert.equal(lines("a\n\n\nb\n"), [1, 4]);
});

test("each record keeps the line it starts on, after fields that span lines", () => {
  const text = 'h1,h2\nann,"one\ntwo\nthree"\nben,x\n"cleo",\n';
  assert.equal(lines(text), [1, 2, 5, 6]);
});

test("an unclosed quote and text after a closing quote are errors with their line", () => {
  assert.throws(() => parseCsv('a,b\nc,"never\nclosed\n', "s.csv"), /^s\.csv:2: a quoted field is never closed/); // prettier-ignore
  assert.throws(() => parseCsv('a\n"x"y,z\n', "s.csv"), /^s\.csv:2: text after the closing quote/);
});

test("what csvField writes reads back as the same fields", () => {
  const values = ["plain", "a, b", 'he said "no"', "two\nlines", "", "ünïcødé ✔", "trailing "];
  const text = values.map(csvField).join(",") + "\r\n";
  assert.equal(fields(text), [values]);
});

test.run();
