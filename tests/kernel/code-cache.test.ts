// The V8 code cache of tslab's TypeScript for grading kernels (core/src/kernel/code-cache.ts,
// kernel-preload.cjs): made once per set of V8 flags, accepted by a process with those flags,
// rejected (harmlessly) by one with others, and the hook leaves the module system as it was.
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { tslabCodeCache } from "../../core/src/kernel/code-cache";
import { kernelV8Flags } from "../../core/src/kernel/launch";
import { KIT_ROOT } from "../../core/src/course-root";

const work = mkdtempSync(join(tmpdir(), "tito-code-cache-"));
test.after(() => rmSync(work, { recursive: true, force: true }));
const PRELOAD = join(KIT_ROOT, "core", "src", "kernel", "kernel-preload.cjs");

/** Loads tslab's converter in a node with `flags`, using `cache`: what V8 said, and whether tslab works. */
function loadWith(
  flags: string[],
  cache: string,
): { rejected: boolean; works: boolean; hookGone: boolean } {
  const probe = `
    const Module = require("module");
    const before = Module.prototype._compile;
    let script;
    require(${JSON.stringify(PRELOAD)}).compileTypeScriptWith(require("fs").readFileSync(${JSON.stringify(cache)}), (s) => (script = s));
    const hooked = Module.prototype._compile !== before;
    const path = require("path");
    const tslab = path.dirname(require.resolve("tslab/package.json"));
    const c = require(path.join(tslab, "dist", "converter")).createConverter({ isJS: false, isBrowser: false });
    const out = c.convert("", "const x: number = 2;\\nx * 21");
    c.close();
    console.log(JSON.stringify({ rejected: script.cachedDataRejected, works: out.diagnostics.length === 0 && /21/.test(out.output), hookGone: hooked && Module.prototype._compile === before }));`;
  const r = spawnSync(process.execPath, [...flags, "-e", probe], { encoding: "utf8", cwd: KIT_ROOT }); // prettier-ignore
  assert.is(r.status, 0, r.stderr);
  return JSON.parse(r.stdout) as { rejected: boolean; works: boolean; hookGone: boolean };
}

test("a cache made for the kernels' flags is accepted with them, and tslab works from it", () => {
  const flags = kernelV8Flags({ memoryMb: 512, nodeFlags: ["--freeze-flags-after-init"] });
  assert.equal(flags, ["--freeze-flags-after-init", "--max-old-space-size=512", "--disable-wasm-trap-handler"]); // prettier-ignore
  const cache = tslabCodeCache(flags, work);
  assert.ok(cache && existsSync(cache), "no cache was made");
  assert.ok(statSync(cache).size > 1_000_000, "the cache holds the converter's functions");
  assert.is(tslabCodeCache(flags, work), cache, "made once");
  assert.equal(loadWith(flags, cache), { rejected: false, works: true, hookGone: true });
});

test("another memory cap is another cache; a cache used under other flags is rejected, not trusted", () => {
  const a = tslabCodeCache(kernelV8Flags({ memoryMb: 512, nodeFlags: ["--freeze-flags-after-init"] }), work); // prettier-ignore
  const b = tslabCodeCache(kernelV8Flags({ memoryMb: 1024, nodeFlags: ["--freeze-flags-after-init"] }), work); // prettier-ignore
  assert.ok(a && b && a !== b);
  const other = kernelV8Flags({ memoryMb: 2048, nodeFlags: ["--freeze-flags-after-init"] });
  assert.equal(loadWith(other, a), { rejected: true, works: true, hookGone: true });
});

test.run();
