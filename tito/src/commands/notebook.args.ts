// The options of `tito notebook` (student command, `npm run notebook`).
import { count, defineCommand, option, text } from "@tinytorch-ts/core";

export const spec = defineCommand({
  program: "tito notebook",
  usage: "[--no-browser] [--port N] [-- <more Jupyter options>] | --reset NN",
  description:
    "Starts Jupyter Notebook on notebooks/, with this workspace's node and tslab first on PATH.\n" +
    "Run `npm run setup` once before. As root, Jupyter gets --allow-root.",
  options: {
    "no-browser": { help: "do not open a browser (open the URL Jupyter prints)" },
    port: { help: "the port to serve on (Jupyter picks a free one by default)", kind: count },
    reset: option(text("NN"), "give notebook NN back as released (yours is kept beside it)"),
  },
  // Everything after `--` goes to Jupyter as it is.
  positionals: { min: 0, max: Number.POSITIVE_INFINITY },
  footer: "Anything after `--` is passed to Jupyter Notebook unchanged.",
});
