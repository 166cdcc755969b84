// The second part of the grading preamble (kernel-preamble.cjs is the first): the grader sends
// both files' text as one cell, this one after the other, so the function below is a
// declaration in the same scope as the preamble that calls it. It is never loaded on its own.
"use strict";
/* exported guardStudentShapedValues */

/**
 * Checks use values the student cannot shape. Separate from the module-system and built-in
 * locks of kernel-preamble.cjs: this part is about the values a test's verdict and its failure
 * reason are made of.
 * - Error.prepareStackTrace and Error.captureStackTrace become read-only: a cell that replaced
 *   the first could rewrite every stack, and with it the text of every failure.
 * - Symbol.hasInstance is pinned (to undefined, which means the ordinary prototype-chain check)
 *   on every built-in constructor, so `instanceof Float32Array` in kit code cannot be answered
 *   by a function the student defines, and the constructors whose statics are inherited cannot
 *   have their prototype swapped. Tests still check built-in types by brand.
 * - process.stdout and process.stderr are pinned, and their `write` stays a plain data
 *   property (tslab assigns it at the start of every cell): a cell can replace the function,
 *   not turn it into an accessor that keeps what tslab assigns.
 * - A failure report for each test cell: the grade cell calls begin(token) as its first
 *   statement, when process.stderr.write is still the writer tslab installed for that cell,
 *   and fail(token, thrown) when the test throws. fail reads the thrown value as primitives,
 *   without running any of its code, and writes one line, `<reportKey> <json>`, through that
 *   writer. The grader takes a test's failure reason from that line only; the key is never
 *   given to student code, so a cell cannot write a line the grader would believe.
 */
function guardStudentShapedValues(kernelRequire, config, problems) {
  const { defineProperty, getOwnPropertyDescriptor, getPrototypeOf, hasOwn, freeze, preventExtensions } = Object; // prettier-ignore
  const apply = Reflect.apply;
  const stringify = JSON.stringify;
  const StringCtor = String;
  const ErrorCtor = Error;
  const replace = String.prototype.replace;
  const slice = String.prototype.slice;
  const regExpTest = RegExp.prototype.test;
  const utilTypes = kernelRequire("util").types;
  const isProxy = utilTypes.isProxy;
  const isNativeError = utilTypes.isNativeError;

  for (const key of ["prepareStackTrace", "captureStackTrace"]) {
    const desc = getOwnPropertyDescriptor(Error, key);
    const value = desc && "value" in desc ? desc.value : undefined;
    try {
      defineProperty(Error, key, { value, writable: false, configurable: false });
    } catch (e) {
      problems.push(`Error.${key}: ${e && e.message}`);
    }
    if (typeof value === "function") freeze(value);
  }

  for (const name of config.intrinsics) {
    const C = globalThis[name];
    if (typeof C !== "function" || !C.prototype || hasOwn(C, Symbol.hasInstance)) continue;
    defineProperty(C, Symbol.hasInstance, { value: undefined, writable: false, configurable: false }); // prettier-ignore
  }
  // Constructors whose statics are inherited: Float32Array.from is %TypedArray%.from, found
  // through Float32Array's prototype, which a cell could otherwise swap for its own object
  // (and the native errors inherit Error's statics the same way). Nothing adds statics to them.
  const TypedArray = getPrototypeOf(Int8Array);
  for (const C of [TypedArray, EvalError, RangeError, ReferenceError, SyntaxError, TypeError, URIError, AggregateError]) preventExtensions(C); // prettier-ignore
  for (const name of config.intrinsics) {
    const C = globalThis[name];
    if (typeof C === "function" && getPrototypeOf(C) === TypedArray) preventExtensions(C);
  }

  const streams = [];
  for (const name of ["stdout", "stderr"]) {
    const stream = process[name];
    defineProperty(process, name, { value: stream, writable: false, enumerable: true, configurable: false }); // prettier-ignore
    defineProperty(stream, "write", { value: stream.write, writable: true, enumerable: true, configurable: false }); // prettier-ignore
    streams.push(stream);
  }
  const stderr = streams[1];

  // eslint-disable-next-line no-control-regex -- the pattern exists to match control characters
  const CONTROL = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/g;
  const NAME = /^[A-Za-z_$][\w$]{0,59}$/;
  const clean = (text, max) => {
    const kept = apply(replace, text, [CONTROL, ""]);
    return kept.length > max ? apply(slice, kept, [0, max]) + "…" : kept;
  };
  /** A data property found on `obj` or its prototypes without running code, or undefined. */
  const dataProperty = (obj, key) => {
    for (let o = obj, depth = 0; o !== null && depth < 32; o = getPrototypeOf(o), depth++) {
      if (isProxy(o)) return undefined;
      const desc = getOwnPropertyDescriptor(o, key);
      if (desc) return "value" in desc ? desc.value : undefined;
    }
    return undefined;
  };
  /** What was thrown, as a name and a message, both primitive strings. */
  const describeThrown = (thrown) => {
    const type = typeof thrown;
    if (type === "string") return { n: "a thrown string", m: thrown };
    if (thrown === null || (type !== "object" && type !== "function")) {
      return { n: `a thrown ${thrown === null ? "null" : type}`, m: type === "symbol" ? "" : StringCtor(thrown) }; // prettier-ignore
    }
    if (isProxy(thrown) || !isNativeError(thrown)) {
      return { n: "a thrown object that is not an Error", m: "" };
    }
    const name = dataProperty(thrown, "name");
    const own = getOwnPropertyDescriptor(thrown, "message");
    const message = own && "value" in own ? own.value : undefined;
    return {
      n: typeof name === "string" && apply(regExpTest, NAME, [name]) ? name : "Error",
      m: typeof message === "string" ? message : "(its message is not a plain string)",
    };
  };

  const writers = new Map();
  const tokens = new Set(config.tokens);
  const reportKey = config.reportKey;
  return freeze({
    begin(token) {
      if (tokens.has(token)) writers.set(token, stderr.write);
    },
    fail(token, thrown) {
      const { n, m } = describeThrown(thrown);
      const report = { n: clean(n, 80), m: clean(m, 600) };
      const write = writers.get(token);
      if (write) apply(write, stderr, [`\n${reportKey} ${stringify(report)}\n`]);
      return new ErrorCtor(`${report.n}: ${report.m}`);
    },
  });
}
