// What a check means (tinytorch-ts/support/checks.ts): how values are written down, and how
// each kind of check decides on written-down values. The harness and the grader share it, so
// these are the semantics of every test in the course.
import { test } from "uvu";
import * as assert from "uvu/assert";
import {
  closeVerdict,
  encodedEqual,
  encodeValue,
  judge,
  showEncoded,
  type Encoded,
} from "../../tinytorch-ts/src/support/checks";
import { testRandomFor } from "../../tinytorch-ts/src/support/test-random";

test("values that JSON cannot hold survive encoding", () => {
  const e = encodeValue([NaN, Infinity, -Infinity, -0, 1.5, undefined, 10n, "s", null, true]);
  const back = JSON.parse(JSON.stringify(e)) as Encoded;
  assert.equal(back, e);
  assert.is(showEncoded(back), '[NaN,Infinity,-Infinity,-0,1.5,undefined,10n,"s",null,true]');
  const typed = encodeValue(new Float32Array([0.1, NaN]));
  assert.equal(typed, { $t: "Float32Array", v: [Math.fround(0.1), { $: "NaN" }] });
});

test("cycles and absurd depth are reported, not followed", () => {
  const a: unknown[] = [];
  a.push(a);
  assert.throws(() => encodeValue(a), /cycle/);
  let deep: unknown = 1;
  for (let i = 0; i < 100; i++) deep = [deep];
  assert.throws(() => encodeValue(deep), /nested more than/);
});

test("equality is assertEqual's: 0 equals -0, NaN equals NaN, lists compare by value", () => {
  const eq = (a: unknown, b: unknown) => encodedEqual(encodeValue(a), encodeValue(b));
  assert.ok(eq(0, -0));
  assert.ok(eq([NaN], [NaN]));
  assert.ok(eq(new Float32Array([1, 2]), [1, 2]));
  assert.ok(eq({ a: 1, b: [2] }, { b: [2], a: 1 }));
  assert.not.ok(eq([1, 2], [1, 2, 3]));
  assert.not.ok(eq({ a: 1 }, { a: 1, b: undefined }));
  assert.not.ok(eq("1", 1));
});

test("malformed records (from an untrusted kernel) match nothing and never throw", () => {
  const junk: unknown[] = [{ $: "NaNx" }, { $t: "Evil", v: [] }, { $o: 5 }, Symbol, { a: 1 }]; // prettier-ignore
  for (const j of junk) {
    assert.not.ok(encodedEqual(j as Encoded, 1 as Encoded));
    assert.not.ok(judge({ kind: "close" }, j as Encoded, 1).ok);
    assert.not.ok(judge({ kind: "throws" }, j as Encoded, undefined).ok);
  }
});

test("close checks follow numpy.allclose", () => {
  const v = (a: unknown, b: unknown, t = {}) => closeVerdict(encodeValue(a), encodeValue(b), t);
  assert.ok(v([1, 2], [1 + 1e-7, 2]).ok);
  assert.not.ok(v([1], [1.1]).ok);
  assert.ok(v([NaN, Infinity], [NaN, Infinity]).ok);
  assert.not.ok(v([Infinity], [-Infinity]).ok);
  assert.match(v([1, 2], [1]).message ?? "", /expected 1 values, got 2/);
  assert.match(v([0.5], [0.25], { atol: 0.1 }).message ?? "", /element 0: expected 0.25, got 0.5/);
});

test("each kind of check decides with the trusted side's tolerance and pattern", () => {
  assert.ok(judge({ kind: "assert" }, true, undefined).ok);
  assert.is(judge({ kind: "assert", context: "rows sum to 1" }, false, undefined).message, "rows sum to 1"); // prettier-ignore
  const threw = (message: string) => ({ $o: { threw: true, message } }) as Encoded;
  assert.ok(judge({ kind: "throws", pattern: { text: "ragged" } }, threw("ragged array"), undefined).ok); // prettier-ignore
  assert.not.ok(judge({ kind: "throws", pattern: { source: "^size \\d$", flags: "" } }, threw("size x"), undefined).ok); // prettier-ignore
  assert.not.ok(judge({ kind: "throws" }, { $o: { threw: false } }, undefined).ok);
  assert.match(judge({ kind: "shape" }, encodeValue([3, 2]), encodeValue([2, 3])).message ?? "", /expected shape \[2, 3\], got \[3, 2\]/); // prettier-ignore
  // "consistent" compares the run's own two figures; a reference value is not used.
  assert.ok(judge({ kind: "consistent", tolerance: { rtol: 0.01 } }, 100, 5, 100.5).ok);
  assert.not.ok(judge({ kind: "consistent" }, 100, 100, 5).ok);
});

test("failure messages show NaN and Infinity as numbers, not null", () => {
  const m = judge({ kind: "equal" }, encodeValue([NaN, Infinity]), encodeValue([0, 0])).message;
  assert.is(m, "expected [0,0], got [NaN,Infinity]");
});

test("testRandom: the same seed and label give the same numbers; labels and seeds differ", () => {
  const a = testRandomFor(7, "relu").numbers(5);
  assert.equal(testRandomFor(7, "relu").numbers(5), a);
  assert.not.equal(testRandomFor(7, "tanh").numbers(5), a);
  assert.not.equal(testRandomFor(8, "relu").numbers(5), a);
  const r = testRandomFor(1, "ranges");
  for (let i = 0; i < 1000; i++) {
    const k = r.int(-2, 3);
    assert.ok(Number.isInteger(k) && k >= -2 && k <= 3);
    const u = r.uniform(5, 6);
    assert.ok(u >= 5 && u < 6);
  }
  assert.equal(testRandomFor(3, "s").shape(3, 4).length, 3);
  assert.ok(testRandomFor(undefined, "x").numbers(2).length === 2, "a notebook gets a fixed seed");
});

test.run();
