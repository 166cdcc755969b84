// Makes the V8 code cache of tslab's typescript.js that grading kernels load (code-cache.ts):
// run with exactly the V8 flags of those kernels, since V8 rejects a cache made under other
// flags. It compiles typescript.js, creates tslab's converter and converts two cells (so the
// functions a kernel start runs are compiled too), then writes the cache.
//   argv: <output file>   (written to a temporary file, then renamed)
"use strict";
const fs = require("fs");
const path = require("path");
const { compileTypeScriptWith } = require("./kernel-preload.cjs");

const out = process.argv[2];
let script;
compileTypeScriptWith(undefined, (s) => (script = s));
const tslab = path.dirname(require.resolve("tslab/package.json", { paths: [process.cwd(), __dirname] })); // prettier-ignore
const { createConverter } = require(path.join(tslab, "dist", "converter"));
const converter = createConverter({ isJS: false, isBrowser: false });
const first = converter.convert("", 'import { readFileSync } from "fs";\nconst n: number = 1;\nn');
converter.convert(first.declOutput || "", "const m = n + 1;\nconsole.log(m);");
converter.close();
if (!script) throw new Error(`${path.join("typescript-for-tslab", "lib", "typescript.js")} was not loaded`); // prettier-ignore
const tmp = `${out}.${process.pid}.tmp`;
fs.writeFileSync(tmp, script.createCachedData());
fs.renameSync(tmp, out);
