// The options of `tito gradescope`.
import { defineCommand, option, text } from "@tinytorch-ts/core";

import { courseRootOption } from "./course-root.args";

export const spec = defineCommand({
  program: "tito gradescope",
  usage: "<NN|module> <out.zip> [--manifest FILE]",
  description: `Writes a zip to upload as a Gradescope "zip file upload" autograder. setup.sh installs Node 20
and the kit's packages; run_autograder grades /autograder/submission (the notebook named
<module>.ipynb, or the only notebook) into /autograder/results/results.json.`,
  options: {
    manifest: option(text("FILE"), "use this manifest instead of the module's"),
    root: courseRootOption,
  },
  positionals: { min: 2, max: 2, missing: "give a module and an output zip" },
});
