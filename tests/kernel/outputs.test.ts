// Collecting a cell's output under a byte budget.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { OutputCollector } from "../../core/src/kernel/outputs";

test("consecutive writes to the same stream are merged; streams keep their order", () => {
  const c = new OutputCollector(1000);
  c.stream("stdout", "a\n");
  c.stream("stdout", "b\n");
  c.stream("stderr", "warn\n");
  c.stream("stdout", "c\n");
  assert.equal(c.outputs, [
    { output_type: "stream", name: "stdout", text: "a\nb\n" },
    { output_type: "stream", name: "stderr", text: "warn\n" },
    { output_type: "stream", name: "stdout", text: "c\n" },
  ]);
  assert.is(c.truncated, false);
  assert.is(c.noteTruncation(), undefined);
});

test("past the budget, text is cut, counted, and a note says so", () => {
  const c = new OutputCollector(10);
  c.stream("stdout", "0123456");
  c.stream("stdout", "789abcdef");
  c.stream("stdout", "more");
  assert.is(c.truncated, true);
  assert.is(c.droppedBytes, 10);
  const first = c.outputs[0];
  assert.ok(first.output_type === "stream" && first.text === "0123456789");
  const reason = c.noteTruncation();
  assert.match(reason ?? "", /output cut at 10 bytes/);
  const note = c.outputs[c.outputs.length - 1];
  assert.ok(note.output_type === "stream" && /10 bytes more not shown/.test(note.text));
});

test("a cut never splits a UTF-8 character", () => {
  const c = new OutputCollector(5);
  c.stream("stdout", "ab€cd"); // € is 3 bytes: a b € fills exactly 5
  c.stream("stdout", "€");
  const first = c.outputs[0];
  assert.ok(first.output_type === "stream");
  assert.is(first.text, "ab€");
  const d = new OutputCollector(4);
  d.stream("stdout", "ab€");
  const only = d.outputs[0];
  assert.ok(only.output_type === "stream" && only.text === "ab");
});

test("rich output over the budget is dropped whole; within it, kept with its mime types", () => {
  const c = new OutputCollector(200);
  c.display(
    { data: { "text/plain": "x", "image/svg+xml": "<svg/>" }, metadata: {} },
    "display_data",
  );
  c.display({ data: { "image/svg+xml": "<svg>" + "x".repeat(500) + "</svg>" } }, "display_data");
  assert.is(c.outputs.length, 1);
  assert.equal(c.outputs[0], {
    output_type: "display_data",
    data: { "text/plain": "x", "image/svg+xml": "<svg/>" },
    metadata: {},
  });
  assert.is(c.truncated, true);
});

test("update_display_data replaces the display with the same id", () => {
  const c = new OutputCollector(1000);
  c.display(
    { data: { "text/plain": "0%" }, metadata: {}, transient: { display_id: "p" } },
    "display_data",
  );
  c.updateDisplay({ data: { "text/plain": "100%" }, metadata: {}, transient: { display_id: "p" } });
  c.updateDisplay({ data: { "text/plain": "ignored" }, transient: { display_id: "other" } });
  assert.equal(c.outputs, [
    { output_type: "display_data", data: { "text/plain": "100%" }, metadata: {} },
  ]);
});

test("the stderr tail is kept for error messages even past the budget", () => {
  const c = new OutputCollector(4);
  c.stream("stdout", "lots of output");
  c.stream("stderr", "Error: boom\n");
  assert.is(c.stderr, "Error: boom\n");
});

test.run();
