// The kernel preamble, assembled and started exactly as the grader's first cell does, in a
// separate Node process (it freezes the realm it runs in): what a student can no longer change,
// and the ordinary code that must keep working.
import { spawnSync } from "node:child_process";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { makeKeys, preambleCode, wrappedPreamble } from "../../grader/src/instrument";
import { loadFixtureManifest } from "./helpers";

/** The configuration production sends (read back from the preamble cell), for the test realm. */
function testConfig(): Record<string, unknown> {
  const manifest = loadFixtureManifest();
  const code = preambleCode(manifest, makeKeys(manifest));
  const json = /holder\.exports\(require, (\{.*\})\);/.exec(code)?.[1];
  if (!json) throw new Error("no configuration in the preamble cell");
  return {
    ...(JSON.parse(json) as Record<string, unknown>),
    vaultName: "$titoV_test",
    tokens: ["tok1"],
    preload: [],
  };
}

/** Runs `body` (strict-mode JavaScript) after the preamble; returns what it printed. */
function afterPreamble(body: string): string {
  const config = testConfig();
  const script = `"use strict";
globalThis.__tslab__ = { exports: {}, require: function () {} };
const holder = { exports: null };
(0, eval)(${JSON.stringify(wrappedPreamble())})(holder);
holder.exports(require, ${JSON.stringify(config)});
const out = [];
const attempt = (label, fn) => { try { fn(); out.push(label + ": allowed"); } catch (e) { out.push(label + ": " + e.constructor.name); } };
${body}
console.log(out.join("\\n"));`;
  const r = spawnSync(process.execPath, ["-e", script], { encoding: "utf8" });
  if (r.status !== 0) throw new Error(r.stderr);
  return r.stdout;
}

test("patches to built-ins, globals, console and the module system are refused", () => {
  const out = afterPreamble(`
attempt("Math.abs", () => { Math.abs = () => 0; });
attempt("Array.prototype.every", () => { Array.prototype.every = () => true; });
attempt("Array.prototype.constructor", () => { Array.prototype.constructor = function () {}; });
attempt("Object.prototype.then", () => { Object.prototype.then = 1; });
attempt("globalThis.Math", () => { globalThis.Math = {}; });
attempt("console.log", () => { console.log = () => {}; });
attempt("JSON.stringify", () => { JSON.stringify = () => "{}"; });
attempt("Number.isFinite replaced", () => { Number.isFinite = () => true; });
attempt("__tslab__", () => { globalThis.__tslab__ = {}; });
attempt("Module._load", () => { require("module")._load = () => ({}); });
attempt("process.dlopen", () => process.dlopen({}, "/x.node"));
attempt("inspector", () => new (require("inspector").Session)());
attempt("child_process", () => require("child_process").execSync("true"));
attempt("worker", () => new (require("worker_threads").Worker)("0", { eval: true }));
`);
  for (const what of [
    "Math.abs",
    "Array.prototype.every",
    "Array.prototype.constructor",
    "Object.prototype.then",
    "globalThis.Math",
    "console.log",
    "JSON.stringify",
    "Number.isFinite replaced",
    "__tslab__",
    "Module._load",
  ]) {
    assert.match(out, new RegExp(`${what.replace(/[.$]/g, "\\$&")}: TypeError`), what);
  }
  for (const what of ["process.dlopen", "inspector", "child_process", "worker"]) {
    assert.match(out, new RegExp(`${what}: Error`), what);
  }
});

test("ordinary code keeps working: overrides on instances, subclasses, polyfills, printing", () => {
  const out = afterPreamble(`
attempt("instance forEach", () => { const a = [1]; a.forEach = () => 7; if (a.forEach() !== 7) throw new Error(); });
attempt("error subclass name", () => { class E extends Error { constructor() { super("m"); this.name = "E"; } } if (new E().name !== "E") throw new Error(); });
attempt("ES5 constructor", () => { function F() {} F.prototype = { a: 1 }; F.prototype.constructor = F; });
attempt("toString override", () => { const o = {}; o.toString = () => "t"; if (String(o) !== "t") throw new Error(); });
attempt("polyfill same value", () => { Number.isFinite = Number.isFinite || (() => false); });
attempt("stackTraceLimit", () => { Error.stackTraceLimit = 0; Error.stackTraceLimit = 10; });
attempt("static added", () => { Symbol.myPolyfill = Symbol("x"); });
out.push(require("util").inspect(new Error("printed")).split("\\n")[0]);
out.push(require("util").inspect({ a: [1, 2], m: new Map([[1, 2]]) }));
`);
  for (const what of [
    "instance forEach",
    "error subclass name",
    "ES5 constructor",
    "toString override",
    "polyfill same value",
    "stackTraceLimit",
    "static added",
  ]) {
    // prettier-ignore
    assert.match(out, new RegExp(`${what}: allowed`), what);
  }
  assert.match(out, /^Error: printed$/m);
  assert.match(out, /\{ a: \[ 1, 2 \], m: Map\(1\) \{ 1 => 2 \} \}/);
});

test("the vault files values only under known tokens, once, and hands out copies", () => {
  const out = afterPreamble(`
const v = globalThis.$titoV_test;
attempt("unknown token", () => v.reg("guess", { f: 1 }));
attempt("register", () => v.reg("tok1", { f: 1 }));
attempt("register twice", () => v.reg("tok1", { f: 2 }));
attempt("replace vault", () => { globalThis.$titoV_test = {}; });
attempt("mutate copy", () => { v.get("tok1").f = 3; });
out.push("f=" + v.get("tok1").f);
out.push("g.Math=" + (v.g.Math === Math));
`);
  assert.match(out, /unknown token: Error/);
  assert.match(out, /register: allowed/);
  assert.match(out, /register twice: Error/);
  assert.match(out, /replace vault: TypeError/);
  assert.match(out, /mutate copy: TypeError/);
  assert.match(out, /f=1/);
  assert.match(out, /g\.Math=true/);
});

test.run();
