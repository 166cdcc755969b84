// Compiles the trusted runs' cells with tslab's own converter, exactly as a tslab kernel
// compiles each cell (type-checked against the declarations of the cells before it), so a
// trusted run executes the same JavaScript a kernel would. Run as a child process in the
// module's restricted kit directory (the converter resolves types from its cwd).
// One pass compiles every program the grader and the audit need: each cell's main code, and
// any alternatives for it (a test without its expected values, a solution's stub, a mutation),
// each compiled against the same declarations, so a program with alternatives swapped in is the
// main program with those cells' JavaScript replaced. An alternative does not change what the
// cells after it see: they are compiled once, after the main code.
//   stdin:  {"cells": [{"index": 3, "code": "...", "alternatives": {"stub": "..."}}, ...]}
//   stdout: {"ok": true, "cells": [{"index", "js", "async", "lastExpression",
//            "alternatives": {"stub": {"ok": true, "js", ...} | {"ok": false, "error"}}}]}
//        or {"ok": false, "index": 3, "error": "..."} (the main code of a cell did not compile)
"use strict";
const path = require("path");

function main(input) {
  const tslabDir = path.dirname(require.resolve("tslab/package.json", { paths: [process.cwd()] }));
  const { createConverter } = require(path.join(tslabDir, "dist", "converter"));
  const converter = createConverter({ isJS: false, isBrowser: false });
  let prevDecl = "";
  const out = [];
  const compile = (code) => {
    const converted = converter.convert(prevDecl, code);
    if (converted.diagnostics && converted.diagnostics.length > 0) {
      const d = converted.diagnostics[0];
      const where = d.start ? `${d.start.line + 1}:${d.start.character + 1}` : "?";
      return { ok: false, error: `${where} - ${d.messageText}` };
    }
    if (converted.sideOutputs && converted.sideOutputs.length > 0) {
      return { ok: false, error: "imports a local file (not supported)" };
    }
    return {
      ok: true,
      js: converted.output || "",
      async: Boolean(converted.hasToplevelAwait),
      lastExpression: converted.lastExpressionVar || null,
      declOutput: converted.declOutput || "",
    };
  };
  const plain = (r) => (r.ok ? { ok: true, js: r.js, async: r.async, lastExpression: r.lastExpression } : r); // prettier-ignore
  try {
    for (const cell of input.cells) {
      const alternatives = {};
      for (const [name, code] of Object.entries(cell.alternatives || {})) {
        alternatives[name] = plain(compile(code));
      }
      const r = compile(cell.code);
      if (!r.ok) return { ok: false, index: cell.index, error: r.error };
      out.push({ index: cell.index, js: r.js, async: r.async, lastExpression: r.lastExpression, alternatives }); // prettier-ignore
      prevDecl = r.declOutput;
    }
  } finally {
    converter.close();
  }
  return { ok: true, cells: out };
}

let text = "";
process.stdin.setEncoding("utf8");
process.stdin.on("data", (chunk) => (text += chunk));
process.stdin.on("end", () => {
  let result;
  try {
    result = main(JSON.parse(text));
  } catch (e) {
    result = { ok: false, index: -1, error: e && e.stack ? e.stack : String(e) };
  }
  process.stdout.write(JSON.stringify(result));
});
