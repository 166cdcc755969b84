// The protocol of the grader's trusted child processes (reference-runner.cjs, which runs the
// reference's compiled cells, and capstone-runner.cjs, which measures a model file): the input
// is one JSON object on stdin; nothing the process prints counts, so output is silenced before
// any course code runs (cells and measurements print); the result is written as JSON to
// input.resultPath, and the process exits at once, so timers a cell left behind (a benchmark's
// interval) cannot keep it alive.
"use strict";
const fs = require("fs");

/** Reads the input, runs `main(input)`, writes its result (or `onError(e)`'s), exits. */
function serveTrusted(main, onError) {
  let text = "";
  process.stdin.setEncoding("utf8");
  process.stdin.on("data", (chunk) => (text += chunk));
  process.stdin.on("end", () => {
    process.stdout.write = () => true;
    console.log = console.info = console.warn = console.error = () => undefined;
    const input = JSON.parse(text);
    const finish = (result) => {
      fs.writeFileSync(input.resultPath, JSON.stringify(result));
      process.exit(0);
    };
    main(input).then(finish, (e) => finish(onError(e)));
  });
}

module.exports = { serveTrusted };
