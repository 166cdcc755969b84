// The options of `tito audit`. Kept apart from the command so `tito audit --help` loads no grader.
import { defineCommand, DEFAULT_GRADING_LIMITS, flag, option, seconds, text } from "@tinytorch-ts/core"; // prettier-ignore

export const spec = defineCommand({
  program: "tito audit",
  usage: "[NN ...] [options]",
  description: `Grades each module's untouched student notebook (notebooks/NN_name.ipynb) exactly as the grader
grades a submission, hidden tests included, and reports the points it earns. Every test should
fail until the student does the work: the target is 0, and the exit code is 1 otherwise.`,
  options: {
    manifests: option(text("DIR"), "grading manifests", undefined, "grader/manifests"),
    notebooks: option(text("DIR"), "student notebooks", undefined, "notebooks"),
    "cell-timeout": option(seconds, "seconds per cell", DEFAULT_GRADING_LIMITS.cellTimeoutMs),
    "no-sandbox": flag("run kernels without namespaces or the sandbox user"),
  },
  positionals: { min: 0, max: Infinity },
});
