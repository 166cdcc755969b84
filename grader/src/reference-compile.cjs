// Compiles the trusted reference run's cells with tslab's own converter, exactly as a tslab
// kernel compiles each cell (type-checked against the declarations of the cells before it), so
// the reference run executes the same JavaScript a kernel would. Run as a child process in the
// module's restricted kit directory (the converter resolves types from its cwd).
// Mutations (wrong answers to an exercise, for the audit) are compiled in the same pass: each
// replaces one cell and is compiled against the declarations of the cells before it, so a
// mutated program is the reference's with one cell's JavaScript swapped.
//   stdin:  {"cells": [{"index": 3, "code": "..."}, ...], "mutations": [{"index": 3, "code"}]}
//   stdout: {"ok": true, "cells": [{"index", "js", "async", "lastExpression"}],
//            "mutations": [{"ok": true, "js", ...} | {"ok": false, "error"}]}
//        or {"ok": false, "index": 3, "error": "..."}
"use strict";
const path = require("path");

function main(input) {
  const tslabDir = path.dirname(require.resolve("tslab/package.json", { paths: [process.cwd()] }));
  const { createConverter } = require(path.join(tslabDir, "dist", "converter"));
  const converter = createConverter({ isJS: false, isBrowser: false });
  let prevDecl = "";
  const out = [];
  const mutated = [];
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
  try {
    for (const cell of input.cells) {
      for (const m of input.mutations || []) {
        if (m.index !== cell.index) continue;
        const r = compile(m.code);
        mutated.push(r.ok ? { ok: true, js: r.js, async: r.async, lastExpression: r.lastExpression } : r); // prettier-ignore
      }
      const r = compile(cell.code);
      if (!r.ok) return { ok: false, index: cell.index, error: r.error };
      out.push({ index: cell.index, js: r.js, async: r.async, lastExpression: r.lastExpression });
      prevDecl = r.declOutput;
    }
  } finally {
    converter.close();
  }
  return { ok: true, cells: out, mutations: mutated };
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
