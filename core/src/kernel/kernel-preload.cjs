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
