// The options of `tito status` (student command).
import { defineCommand } from "@tinytorch-ts/core";

export const spec = defineCommand({
  program: "tito status",
  usage: "",
  description: "Lists each module: exercises attempted, last `tito test`, export state.",
  options: {},
  positionals: { min: 0, max: 0 },
});
