// The options of `tito run`.
import { cpus } from "node:os";
import { count, defineCommand, flag, kilobytes, megabytes, option, seconds, text } from "@tinytorch-ts/core"; // prettier-ignore
import { DEFAULT_CELL_TIMEOUT_MS, DEFAULT_OUTPUT_LIMIT } from "@tinytorch-ts/core/run";

export const spec = defineCommand({
  program: "tito run",
  usage: "<notebook.ipynb | module>... [options]",
  description: `  <notebook.ipynb>      a notebook; its kernel starts in the notebook's directory
  <module>              a module source (modules/01_tensor/tensor_dev.ts) or its number or
                        name (01, 01_tensor, tensor), run as the full reference notebook`,
  options: {
    out: { ...option(text("F"), "write the executed notebook to F (one input only; nbformat 4.5)"), short: "o" }, // prettier-ignore
    inplace: flag("write each executed notebook back to its .ipynb"),
    timeout: option(seconds, "seconds a cell may run before it is interrupted", DEFAULT_CELL_TIMEOUT_MS), // prettier-ignore
    "notebook-timeout": option(seconds, "seconds all cells of a notebook may take together", undefined, "no limit"), // prettier-ignore
    "allow-errors": flag("go on past failing cells (the exit code still reports them)"),
    jobs: { ...option(count, "notebooks run at once, each in its own kernel", cpus().length, "cores"), short: "j" }, // prettier-ignore
    memory: option(megabytes, "cap each kernel's memory (V8 heap and process data)"),
    "output-limit": option(kilobytes, "output kept per cell; the rest is counted and dropped", DEFAULT_OUTPUT_LIMIT), // prettier-ignore
    quiet: flag("print one line per notebook instead of one per cell", "q"),
  },
  positionals: { min: 1, max: Infinity, missing: "no notebook given" },
  footer:
    "Exit code: 0 when every cell of every notebook ran without error, 1 otherwise, 2 for usage.",
});
