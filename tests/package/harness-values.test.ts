// The harness reads an error's message, a typed array's brand and a class instance without
// running anything the student shaped, so a check means the same thing in a notebook as in the
// grader's judgement of the record.
import { test } from "uvu";
import * as assert from "uvu/assert";
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

test.run();
