// The options of `tito setup` (student command, `npm run setup`).
import { defineCommand } from "@tinytorch-ts/core";

export const spec = defineCommand({
  program: "tito setup",
  usage: "",
  description:
    "Finds a Python that has Jupyter (/usr/bin/python3 first, then every python3 on PATH) and\n" +
    "registers this workspace's tslab kernel with it, by absolute path. Set JUPYTER_DATA_DIR to\n" +
    "register it in a private Jupyter directory.",
  options: {},
  positionals: { min: 0, max: 0 },
});
