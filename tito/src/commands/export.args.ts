// The options of `tito export` (student command).
import { defineCommand } from "@tinytorch-ts/core";

export const spec = defineCommand({
  program: "tito export",
  usage: "<notebook.ipynb | NN>",
  description: `Copies your solution cells (matched by exercise id) into your own tinytorch-ts package and
recompiles it, so later notebooks import your code. If your code does not compile, the package
is left unchanged and the errors are listed.`,
  options: {},
  positionals: { min: 1, max: 1, missing: "give a notebook or a module number" },
});
