// Compiles the trusted reference run's cells with tslab's own converter, exactly as a tslab
// kernel compiles each cell (type-checked against the declarations of the cells before it), so
// the reference run executes the same JavaScript a kernel would. Run as a child process in the
// module's restricted kit directory (the converter resolves types from its cwd).
//   stdin:  {"cells": [{"index": 3, "code": "..."}, ...]}
//   stdout: {"ok": true, "cells": [{"index", "js", "async", "lastExpression"}]}
//        or {"ok": false, "index": 3, "error": "..."}
"use strict";
const path = require("path");

function main(input) {
  const tslabDir = path.dirname(require.resolve("tslab/package.json", { paths: [process.cwd()] }));
  const { createConverter } = require(path.join(tslabDir, "dist", "converter"));
  const converter = createConverter({ isJS: false, isBrowser: false });
  let prevDecl = "";
  const out = [];
  try {
    for (const cell of input.cells) {
      const converted = converter.convert(prevDecl, cell.code);
      if (converted.diagnostics && converted.diagnostics.length > 0) {
        const d = converted.diagnostics[0];
        const where = d.start ? `${d.start.line + 1}:${d.start.character + 1}` : "?";
        return { ok: false, index: cell.index, error: `${where} - ${d.messageText}` };
      }
      if (converted.sideOutputs && converted.sideOutputs.length > 0) {
        return { ok: false, index: cell.index, error: "imports a local file (not supported)" };
      }
      out.push({
        index: cell.index,
        js: converted.output || "",
        async: Boolean(converted.hasToplevelAwait),
        lastExpression: converted.lastExpressionVar || null,
      });
      prevDecl = converted.declOutput || "";
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
