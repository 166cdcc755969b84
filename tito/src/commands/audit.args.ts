// The options of `tito audit`. Kept apart from the command so `tito audit --help` loads no grader.
import { defineCommand, DEFAULT_GRADING_LIMITS, flag, option, seconds, text } from "@tinytorch-ts/core"; // prettier-ignore

import { courseRootOption } from "./course-root.args";

export const spec = defineCommand({
  program: "tito audit",
  usage: "[NN ...] [options]",
  description: `Checks each module before any student is graded on it, and exits with 1 on any problem:
- the reference solution passes its own tests (expected values included) on two seeds, records
  the same values twice on one seed, and draws something from the seed in every test (a test
  that does not could have its answers hard-coded);
- the untouched student notebook (notebooks/NN_name.ipynb), graded exactly as a submission,
  earns 0 points, and the reference submission earns full marks.`,
  options: {
    manifests: option(text("DIR"), "grading manifests", undefined, "<root>/grader/manifests"),
    root: courseRootOption,
    notebooks: option(text("DIR"), "student notebooks", undefined, "<root>/notebooks"),
    "cell-timeout": option(seconds, "seconds per cell", DEFAULT_GRADING_LIMITS.cellTimeoutMs),
    "no-sandbox": flag("run kernels without namespaces or the sandbox user"),
    "reference-only": flag("only the reference checks: no kernel, seconds per module"),
  },
  positionals: { min: 0, max: Infinity },
});
