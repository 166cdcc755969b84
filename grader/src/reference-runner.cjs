// The trusted reference run: the reference solution and the graded test cells, compiled once
// (reference-compile.cjs), executed in a fresh Node process the way tslab's executor runs cells
// (one shared `exports` object, each cell a function of it), with the harness recording under
// the submission's seed. It never sees anything of the student. Run as a child process in the
// module's restricted kit directory, the same package the student's kernel gets.
//   stdin:  {"seed": 123, "resultPath": "...", "cells": [{"index", "js", "async",
//            "lastExpression", "test": "test-unit-x" | null}]}
//   result: written to resultPath: {"ok": true, "records": {"test-unit-x": TestRecords, ...},
//           "failed": [...]}
// A non-test cell that throws is reported in `failed` (the reference itself is broken).
"use strict";
const fs = require("fs");
const vm = require("vm");
const Module = require("module");

function tslabExports() {
  const target = {};
  // As tslab's executor: TypeScript defines named imports with defineProperty (getters), which
  // must stay rewritable by later cells.
  return new Proxy(target, {
    defineProperty(_t, prop, attrs) {
      if (prop === "__esModule") return true;
      target[prop] = attrs.get ? attrs.get() : attrs.value;
      return true;
    },
  });
}

async function main(input) {
  const kitRequire = Module.createRequire(`${process.cwd()}/__tito_reference__.js`);
  const messages = [];
  kitRequire("tinytorch-ts/support/testing").grading.start({
    seed: input.seed,
    emit: (message) => messages.push(message),
  });
  globalThis.__tslab__ = { exports: tslabExports(), require: kitRequire };
  const records = {};
  const failed = [];
  for (const cell of input.cells) {
    const prefix = cell.async ? "(async function(exports, require) { " : "(function(exports, require) { "; // prettier-ignore
    const code = `${prefix}${cell.js}\n})(__tslab__.exports, __tslab__.require)`;
    messages.length = 0;
    try {
      const ret = vm.runInThisContext(code, { filename: `cell-${cell.index}.js` });
      if (cell.async) await ret;
      // tslab prints a cell's last expression and then forgets it.
      if (cell.lastExpression) delete globalThis.__tslab__.exports[cell.lastExpression];
    } catch (e) {
      failed.push({ index: cell.index, error: e && e.stack ? String(e.stack).slice(0, 2000) : String(e) }); // prettier-ignore
    }
    if (cell.test) {
      const sets = messages.filter((m) => m.type === "records");
      if (sets.length === 1) records[cell.test] = sets[0].records;
      else failed.push({ index: cell.index, error: `the test sent ${sets.length} record sets` });
    }
  }
  return { ok: failed.length === 0, records, failed };
}

let text = "";
process.stdin.setEncoding("utf8");
process.stdin.on("data", (chunk) => (text += chunk));
process.stdin.on("end", () => {
  // What the cells print is not the result; the result goes straight to fd 1 at the end.
  process.stdout.write = () => true;
  console.log = console.info = console.warn = console.error = () => undefined;
  const input = JSON.parse(text);
  const finish = (result) => {
    fs.writeFileSync(input.resultPath, JSON.stringify(result));
    // Timers a cell left behind (a benchmark's interval) must not keep the process alive.
    process.exit(0);
  };
  main(input).then(finish, (e) =>
    finish({ ok: false, records: {}, failed: [{ index: -1, error: String(e && e.stack) }] }),
  );
});
