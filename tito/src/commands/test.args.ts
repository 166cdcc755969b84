// The options of `tito test` (student command).
import { defineCommand, option, seconds } from "@tinytorch-ts/core";

export const spec = defineCommand({
  program: "tito test",
  usage: "<notebook.ipynb | NN> [--timeout S]",
  description: `Runs your notebook top to bottom in a fresh TypeScript kernel: your solution cells, and the test
cells exactly as they were given to you. Prints every test with passed or failed.`,
  options: {
    timeout: option(seconds, "seconds a cell may run", 60_000),
  },
  positionals: { min: 1, max: 1, missing: "give a notebook or a module number" },
});
