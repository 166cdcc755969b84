// The options of `tito doctor` (student command).
import { defineCommand } from "@tinytorch-ts/core";

export const spec = defineCommand({
  program: "tito doctor",
  usage: "",
  description:
    "Checks node's version, that npm ci ran, that Jupyter is installed, that the TypeScript\n" +
    "kernel is registered (npm run setup) and really starts and runs a cell, and that your\n" +
    "package is built. Each problem gets one line with its fix.",
  options: {},
  positionals: { min: 0, max: 0 },
});
