// Loaded into the tslab kernel process (node --require) before tslab starts. tslab publishes one
// IOPub message per write to stdout and never awaits the send. zeromq.js 6 sends synchronously
// only 512 times in a row, then makes the next send wait for the event loop; a send made while
// one waits throws EBUSY, which Node's console swallows. So a cell that prints in a loop loses
// most of its output (and past the 1000-message high-water mark, even the "idle" status that
// ends the cell). With sendTimeout 0 zeromq.js always sends at once, and with no high-water
// mark nothing is dropped; the client drains the queue as fast as it fills, and the kernel's
// memory cap still bounds it.
"use strict";
const path = require("path");

try {
  const tslabBin = process.argv[1] || "";
  const zmqPath = require.resolve("zeromq", { paths: [path.dirname(tslabBin)] });
  const zmq = require(zmqPath);
  const Original = zmq.Publisher;
  class Publisher extends Original {
    constructor(options) {
      super({ sendHighWaterMark: 0, sendTimeout: 0, ...options });
    }
  }
  zmq.Publisher = Publisher;
} catch {
  // Without the patch the kernel still works; only heavy output may lose messages.
}

// tslab's TypeScript is 9 MB of JavaScript that every kernel compiles before its first cell.
// The grader passes a V8 code cache of it (core/src/kernel/code-cache.ts makes one with this
// kernel's own V8 flags): compiling with it saves about 0.25 s of CPU per kernel start. V8
// checks the cache against the source and the flags and ignores one that does not match; a
// missing or unreadable file only means compiling as usual. The hook removes itself after that
// one file, before any other code loads.
const TYPESCRIPT_FILE = path.join("typescript-for-tslab", "lib", "typescript.js");

/**
 * Makes the next require of tslab's typescript.js compile with `cachedData` (a Buffer, or
 * undefined to compile without); `onScript` gets the vm.Script (the cache's maker asks it for
 * the cache after running the converter).
 */
function compileTypeScriptWith(cachedData, onScript) {
  const Module = require("module");
  const vm = require("vm");
  const original = Module.prototype._compile;
  Module.prototype._compile = function (content, filename) {
    if (!filename.endsWith(TYPESCRIPT_FILE)) return original.call(this, content, filename);
    Module.prototype._compile = original;
    const script = new vm.Script(Module.wrap(content), { filename, cachedData });
    if (onScript) onScript(script);
    // Said once on the kernel's own stderr (kept in its log), never to a cell: a rejected
    // cache costs only time, and the flags of the kernel and of the cache's maker differ.
    if (cachedData && script.cachedDataRejected) process.stderr.write("tito: V8 rejected the tslab code cache\n"); // prettier-ignore
    const wrapper = script.runInThisContext({ displayErrors: true });
    const dirname = path.dirname(filename);
    return wrapper.call(this.exports, this.exports, Module.createRequire(filename), this, filename, dirname); // prettier-ignore
  };
}

const codeCacheFile = process.env.TITO_TSLAB_CODE_CACHE;
if (codeCacheFile) {
  delete process.env.TITO_TSLAB_CODE_CACHE;
  try {
    compileTypeScriptWith(require("fs").readFileSync(codeCacheFile));
  } catch {
    // No cache: typescript.js compiles as it always does.
  }
}

module.exports = { compileTypeScriptWith };
