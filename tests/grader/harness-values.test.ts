// The harness reads what it checks as values the student cannot shape, and the grader takes a
// failure reason only from the preamble's report. Pure: the harness runs in this process, and
// the report parser gets stderr text.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { failureReason, readFailureReport } from "../../grader/src/failure-reason";
import type { CellRun } from "../../core/src/kernel/client";
import {
  assertThrows,
  errorMessage,
  isFloat32Array,
  isInstance,
  isNotImplemented,
  isTypedArray,
  TestFailure,
} from "../../tinytorch-ts/src/support/testing";

function withMessage(message: unknown): Error {
  const e = new Error("placeholder");
  Object.defineProperty(e, "message", { value: message, writable: true, configurable: true });
  return e;
}

const SHAPED: Array<[string, () => unknown]> = [
  ["an object with includes/test", () => withMessage({ includes: () => true, test: () => true, startsWith: () => true, toString: () => "ragged" })], // prettier-ignore
  ["a getter", () => { const e = new Error(); Object.defineProperty(e, "message", { get: () => "ragged" }); return e; }], // prettier-ignore
  ["a Proxy of an Error", () => new Proxy(new Error("ragged"), {})],
  ["an Error inheriting a message getter", () => new (class extends Error { override get message() { return "ragged"; } })()], // prettier-ignore
  ["a boxed String", () => withMessage(new String("ragged"))],
  ["a Symbol.toPrimitive object", () => ({ message: "ragged", [Symbol.toPrimitive]: () => "ragged", toString: () => "ragged" })], // prettier-ignore
  ["a plain object claiming to be an Error", () => Object.setPrototypeOf({ message: "ragged", name: "Error" }, Error.prototype)], // prettier-ignore
];

test("a message the student shaped matches no pattern", () => {
  for (const [what, make] of SHAPED) {
    const thrown = make();
    assert.is(errorMessage(thrown), undefined, what);
    for (const pattern of ["ragged", /ragged/, ""]) {
      assert.throws(
        () => assertThrows(() => { throw thrown; }, pattern), // prettier-ignore
        (e: unknown) => e instanceof TestFailure && /no message that is a plain string/.test((e as Error).message), // prettier-ignore
        `${what} with ${String(pattern)}`,
      );
    }
    assert.not.ok(isNotImplemented(thrown), what);
  }
});

test("honest errors still match", () => {
  assertThrows(() => { throw new RangeError("ragged nested array"); }, "ragged"); // prettier-ignore
  assertThrows(() => { throw new (class MyError extends Error {})("size 6"); }, /size \d/); // prettier-ignore
  assertThrows(() => { throw "ragged"; }, "ragged"); // prettier-ignore
  assertThrows(() => { throw { anything: true }; }); // prettier-ignore
  assert.throws(() => assertThrows(() => { throw new Error("other"); }, "ragged"), /does not match/); // prettier-ignore
  assert.ok(isNotImplemented(new Error("Not implemented: double")));
});

test("brand checks ignore Symbol.hasInstance, prototypes, toStringTag and proxies", () => {
  const fake: unknown[] = [1, 2, 3];
  Object.setPrototypeOf(fake, Float32Array.prototype);
  const tagged = Object.assign([1, 2], { [Symbol.toStringTag]: "Float32Array" });
  class Fake {}
  Object.defineProperty(Fake, Symbol.hasInstance, { value: () => true });
  assert.ok(fake instanceof Float32Array, "the attack works on instanceof");
  for (const v of [
    fake,
    tagged,
    new Proxy(new Float32Array(2), {}),
    new Float64Array(2),
    [1],
    null,
  ]) {
    assert.not.ok(isFloat32Array(v));
  }
  assert.ok(isFloat32Array(new Float32Array(2)));
  assert.ok(isFloat32Array(new (class extends Float32Array {})(2)), "a subclass is still one");
  assert.ok(isTypedArray(new Uint8Array(1)) && !isTypedArray(new DataView(new ArrayBuffer(1))));
  assert.ok({} instanceof Fake, "the attack works on instanceof");
  assert.not.ok(isInstance({}, Fake));
  assert.ok(isInstance(new Fake(), Fake));
});

const run = (stderrTail: string, extra: Partial<CellRun> = {}): CellRun => ({
  status: "error",
  outputs: [],
  executionCount: 3,
  durationMs: 1,
  truncated: false,
  stderrTail,
  error: { ename: "Error", evalue: "from stderr" },
  ...extra,
});
const KEY = "$titoR_0123456789abcdef";

test("the failure reason is the keyed report, never other stderr text", () => {
  const report = `\n${KEY} {"n":"TestFailure","m":"expected -7, got 0"}\n`;
  const noise = "KernelDied: the kernel died, ask for a regrade\n$titoR_guess {\"n\":\"KernelDied\",\"m\":\"forged\"}\n"; // prettier-ignore
  assert.is(failureReason(run(noise + report + noise), KEY), "Raised in the test: TestFailure: expected -7, got 0"); // prettier-ignore
  assert.equal(readFailureReport(noise, KEY), undefined);
  assert.equal(readFailureReport(`\n${KEY} not json\n`, KEY), undefined);
  assert.equal(readFailureReport(`\n${KEY} {"n":1,"m":"x"}\n`, KEY), undefined);
  assert.equal(readFailureReport(report, ""), undefined, "no key, no report");
  const colour = `\n${KEY} {"n":"E\\u001b[31m","m":"a\\u001b[2Kb\\nc"}\n`;
  assert.equal(readFailureReport(colour, KEY), { name: "E", message: "ab\nc" });
});

test("without a report, the reason says it is only what the kernel printed", () => {
  const why = failureReason(run("KernelDied: ask for a regrade\n"), KEY);
  assert.match(why, /^The test reported no reason .* The kernel printed: Error: from stderr$/);
  assert.is(failureReason(run("", { status: "timeout", reason: "timed out after 6 s" }), KEY), "timed out after 6 s"); // prettier-ignore
  assert.is(failureReason(run("", { status: "died", reason: "killed\u001b[0m" }), KEY), "killed");
});

test.run();
