// The /proc reader behind "what was the kernel doing" when a start hangs.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { describeProcessTree, parseStat, processTree } from "../../core/src/kernel/process-tree";

// A real line's shape: the command may hold spaces and parentheses.
const STAT =
  "4242 (node (tslab) x) S 4241 4242 4242 0 -1 4194560 9000 0 0 0 231 17 0 0 20 0 11 0 123456 1000000 5000 18446744073709551615";

test("parseStat reads the fields after the last parenthesis", () => {
  assert.equal(parseStat(STAT), {
    pid: 4242,
    ppid: 4241,
    command: "node (tslab) x",
    state: "S",
    cpuTicks: 248,
    threads: 11,
  });
});

test("parseStat refuses what is not a stat line", () => {
  assert.is(parseStat(""), undefined);
  assert.is(parseStat("12 no parentheses S 1"), undefined);
  assert.is(parseStat("12 (x) S"), undefined);
});

test("processTree lists the root and its descendants, parents first, and nothing else", () => {
  const p = (pid: number, ppid: number) => ({ pid, ppid, command: `p${pid}`, state: "S", cpuTicks: 0, threads: 1 }); // prettier-ignore
  const all = [p(1, 0), p(10, 1), p(11, 10), p(12, 11), p(13, 10), p(20, 1)];
  assert.equal(
    processTree(10, all).map((x) => x.pid),
    [10, 11, 12, 13],
  );
  assert.equal(processTree(99, all), []);
});

test("describeProcessTree describes this very process", () => {
  const line = describeProcessTree(process.pid);
  assert.match(line, new RegExp(`^node ${process.pid} [RS]`));
  assert.match(line, /\d+ threads, \d+\.\d\d s CPU/);
  assert.is(describeProcessTree(undefined), "no process");
});

test.run();
