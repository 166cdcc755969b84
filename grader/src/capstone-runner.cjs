// The capstone's measuring process (capstone.ts starts it): the reference package's
// measureCapstoneModel (module 20, with module 19's harness) on a model file's bytes. It runs
// trusted code only: the file is data, decoded and validated before anything is built from it.
//   stdin:  {"entry": "<path of the reference package's capstone.js>", "model": "<base64>",
//            "file": "capstone.ttm", "seed": 123, "options": {...}, "resultPath": "..."}
//   result: written to resultPath: {"ok": true, "measurement": {...}, "events": [...]}, or
//           {"ok": false, "problems": [...]} for a file that does not decode, or
//           {"ok": false, "error": "..."} when the measurement itself failed.
"use strict";
const { Buffer } = require("buffer");
const { serveTrusted } = require("./trusted-process.cjs");

async function main(input) {
  const capstone = require(input.entry);
  const bytes = new Uint8Array(Buffer.from(input.model, "base64"));
  const options = { seed: input.seed, file: input.file };
  for (const [k, v] of Object.entries(input.options || {})) if (v !== undefined && v !== null) options[k] = v; // prettier-ignore
  try {
    const measurement = await capstone.measureCapstoneModel(bytes, options);
    return { ok: true, measurement, events: capstone.eventOutcomes(measurement) };
  } catch (e) {
    if (e && e.name === "CapstoneFileError" && Array.isArray(e.problems)) return { ok: false, problems: e.problems.slice(0, 20).map(String) }; // prettier-ignore
    return { ok: false, error: String((e && e.stack) || e).slice(0, 2000) };
  }
}

// What the measurement prints is not the result (trusted-process.cjs).
serveTrusted(main, (e) => ({ ok: false, error: String(e && e.stack) }));
