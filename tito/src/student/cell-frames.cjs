// Loaded into the kernel of `tito test` (node --require, before tslab starts). tslab runs every
// cell's compiled JavaScript with vm.runInThisContext under one name, "evalmachine.<anonymous>",
// so a stack frame cannot tell which cell a function came from, and its line is a line of the
// compiled JavaScript, not of the cell. This gives each cell's script its own file name,
// "tito-cell-<n>.js", and writes the cell's TypeScript and the JavaScript tslab ran to
// <dir>/<n>.json, so `tito test` can name the exercise and the line a failure comes from
// (stack-map.ts). Nothing here changes what a cell does; if tslab's internals ever differ, it
// does nothing and `tito test` reports failures without lines, as before.
"use strict";
const fs = require("fs");
const path = require("path");
const vm = require("vm");
const Module = require("module");

function install(dir) {
  let count = 0;
  /** The source of the cell tslab is executing, until its script starts. */
  let pending;
  const runInThisContext = vm.runInThisContext;
  vm.runInThisContext = function (code, options) {
    if (pending === undefined || typeof code !== "string") {
      return runInThisContext.apply(this, arguments);
    }
    const src = pending;
    pending = undefined;
    const n = ++count;
    try {
      fs.writeFileSync(path.join(dir, `${n}.json`), JSON.stringify({ src, js: code }));
    } catch {
      return runInThisContext.apply(this, arguments); // unnamed: mapped as before
    }
    const named = typeof options === "object" && options !== null ? { ...options } : {};
    named.filename = `tito-cell-${n}.js`;
    return runInThisContext.call(this, code, named);
  };
  // tslab's executor compiles a cell, then runs it: wrapping execute() tells which source the
  // next script belongs to (only the first script: a cell may load code that uses vm itself).
  const load = Module._load;
  let patched = false;
  Module._load = function (request, parent) {
    const loaded = load.apply(this, arguments);
    const fromTslab = parent && /[\\/]tslab[\\/]dist[\\/]main\.js$/.test(parent.filename || "");
    if (!patched && request === "./executor" && fromTslab) {
      patched = true;
      const create = loaded.createExecutor;
      if (typeof create === "function") {
        loaded.createExecutor = function () {
          const executor = create.apply(this, arguments);
          const execute = executor.execute;
          executor.execute = function (src) {
            const mine = typeof src === "string" ? src : undefined;
            pending = mine;
            const result = execute.apply(this, arguments);
            // A cell that compiled to nothing runs no script: its source must not name a later
            // one (a timer's vm call, say) once the cell is over.
            const done = () => {
              if (pending === mine) pending = undefined;
            };
            Promise.resolve(result).then(done, done);
            return result;
          };
          return executor;
        };
      }
    }
    return loaded;
  };
}

module.exports = { install };
