// The trusted reference run: the reference solution and the graded test cells, compiled once
// (reference-compile.cjs), executed in a fresh Node process the way tslab's executor runs cells
// (one shared `exports` object, each cell a function of it), with the harness recording under
// the submission's seed. It never sees anything of the student. Run as a child process in the
// module's restricted kit directory, the same package the student's kernel gets.
//   stdin:  {"seed": 123, "resultPath": "...", "cells": [{"index", "js", "async",
//            "lastExpression", "test": "test-unit-x" | null}], "branches": [...]?}
//   result: written to resultPath: {"ok": true, "records": {"test-unit-x": TestRecords, ...},
//           "failed": [...], "branches": {"<key>": {"records": TestRecords | null, "error"?}}}
// A non-test cell that throws is reported in `failed` (the reference itself is broken).
//
// Branches are the audit's mutations, run in the same walk: when the walk reaches a branch's
// cell, the branch runs its own code in that cell's place and the cells after it up to its
// test, records what the test recorded, and the top-level names are put back as they were
// before it. The walk then runs the reference's cell as usual. A mutation could still change an
// object an earlier cell made; the caller compares the walk's own records with an isolated run,
// and runs each mutation alone if they differ.
/* global setTimeout, clearTimeout */
"use strict";
const vm = require("vm");
const Module = require("module");
const { serveTrusted } = require("./trusted-process.cjs");

function tslabExports(target) {
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

/** Runs one cell; throws what the cell threw, or a timeout. */
async function runCell(cell, timeoutMs) {
  const prefix = cell.async ? "(async function(exports, require) { " : "(function(exports, require) { "; // prettier-ignore
  const code = `${prefix}${cell.js}\n})(__tslab__.exports, __tslab__.require)`;
  const options = { filename: `cell-${cell.index}.js` };
  if (timeoutMs) options.timeout = timeoutMs;
  const ret = vm.runInThisContext(code, options);
  if (cell.async) {
    if (!timeoutMs) await ret;
    else {
      let timer;
      const late = new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error(`the cell took longer than ${timeoutMs} ms`)), timeoutMs); // prettier-ignore
      });
      try {
        await Promise.race([ret, late]);
      } finally {
        clearTimeout(timer);
      }
    }
  }
  // tslab prints a cell's last expression and then forgets it.
  if (cell.lastExpression) delete globalThis.__tslab__.exports[cell.lastExpression];
}

function recordsOf(messages) {
  const sets = messages.filter((m) => m.type === "records");
  return sets.length === 1 ? sets[0].records : null;
}

async function runBranch(branch, cells, start, target, messages) {
  const saved = { ...target };
  let records = null;
  let error;
  try {
    for (let k = start; k < cells.length; k++) {
      const cell = k === start ? { ...branch.cell, test: cells[k].test } : cells[k];
      messages.length = 0;
      try {
        await runCell(cell, branch.timeoutMs);
      } catch (e) {
        if (/took longer than|Script execution timed out/.test(String(e && e.message))) {
          error = `the run stopped: ${e.message}`;
          break;
        }
      }
      if (cell.index === branch.through) {
        records = recordsOf(messages);
        break;
      }
    }
  } finally {
    for (const key of Object.keys(target)) if (!(key in saved)) delete target[key];
    Object.assign(target, saved);
  }
  return error ? { records: null, error } : { records };
}

async function main(input) {
  const kitRequire = Module.createRequire(`${process.cwd()}/__tito_reference__.js`);
  const messages = [];
  kitRequire("tinytorch-ts/support/testing").grading.start({
    seed: input.seed,
    emit: (message) => messages.push(message),
  });
  const target = {};
  globalThis.__tslab__ = { exports: tslabExports(target), require: kitRequire };
  const records = {};
  const failed = [];
  const branches = {};
  const cells = input.cells;
  for (let k = 0; k < cells.length; k++) {
    const cell = cells[k];
    for (const branch of input.branches ?? []) {
      if (branch.at === cell.index) branches[branch.key] = await runBranch(branch, cells, k, target, messages); // prettier-ignore
    }
    messages.length = 0;
    try {
      await runCell(cell);
    } catch (e) {
      failed.push({ index: cell.index, error: e && e.stack ? String(e.stack).slice(0, 2000) : String(e) }); // prettier-ignore
    }
    if (cell.test) {
      const sets = messages.filter((m) => m.type === "records");
      if (sets.length === 1) records[cell.test] = sets[0].records;
      else failed.push({ index: cell.index, error: `the test sent ${sets.length} record sets` });
    }
  }
  return { ok: failed.length === 0, records, failed, branches };
}

// What the cells print is not the result (trusted-process.cjs).
serveTrusted(main, (e) => ({ ok: false, records: {}, failed: [{ index: -1, error: String(e && e.stack) }] })); // prettier-ignore
