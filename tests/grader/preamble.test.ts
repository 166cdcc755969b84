// The kernel preamble, assembled and started exactly as the grader's first cell does, in a
// separate Node process (it freezes the realm it runs in): what a student can no longer change,
// and the ordinary code that must keep working.
import { spawnSync } from "node:child_process";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { preambleCode, wrappedPreamble } from "../../grader/src/instrument";
import { loadFixtureManifest } from "./helpers";
import { KIT_ROOT as KIT } from "@tinytorch-ts/core";

/** The configuration production sends (read back from the preamble cell), for the test realm. */
function testConfig(): Record<string, unknown> {
  const manifest = loadFixtureManifest();
  const code = preambleCode(manifest, 7);
  const json = /holder\.exports\(require, (\{.*\})\);/.exec(code)?.[1];
  if (!json) throw new Error("no configuration in the preamble cell");
  return { ...(JSON.parse(json) as Record<string, unknown>), preload: [] };
}

/** Runs `body` (strict-mode JavaScript) after the preamble; returns what it printed. */
function afterPreamble(body: string): string {
  const config = testConfig();
  const script = `"use strict";
globalThis.__tslab__ = { exports: {}, require: function () {} };
const kitRequire = require("module").createRequire(${JSON.stringify(KIT + "/package.json")});
const holder = { exports: null };
(0, eval)(${JSON.stringify(wrappedPreamble())})(holder);
holder.exports(kitRequire, ${JSON.stringify(config)});
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

test("V8's flags and heap snapshots are refused before any student code", () => {
  const out = afterPreamble(`
attempt("v8.setFlagsFromString", () => require("v8").setFlagsFromString("--allow-natives-syntax"));
attempt("v8.writeHeapSnapshot", () => require("v8").writeHeapSnapshot());
attempt("v8.getHeapSnapshot", () => require("v8").getHeapSnapshot());
attempt("v8.setHeapSnapshotNearHeapLimit", () => require("v8").setHeapSnapshotNearHeapLimit(1));
attempt("replace v8.setFlagsFromString", () => { require("v8").setFlagsFromString = () => {}; });
attempt("Error.prepareStackTrace", () => { Error.prepareStackTrace = () => "x"; });
attempt("natives", () => new Function("return %GetOptimizationStatus(function(){})")());
`);
  for (const what of [
    "v8.setFlagsFromString",
    "v8.writeHeapSnapshot",
    "v8.getHeapSnapshot",
    "v8.setHeapSnapshotNearHeapLimit",
  ]) {
    // prettier-ignore
    assert.match(out, new RegExp(`${what.replace(/[.$]/g, "\\$&")}: Error`), what);
  }
  assert.match(out, /replace v8\.setFlagsFromString: TypeError/);
  assert.match(out, /Error\.prepareStackTrace: TypeError/);
  assert.match(out, /natives: SyntaxError/, "natives syntax stays off");
});

test.run();
