// The options of `tito milestone`.
import { defineCommand, flag } from "@tinytorch-ts/core";

export const spec = defineCommand({
  program: "tito milestone",
  usage: "<NN> | --list",
  description: `Runs milestones/NN_*.ts, which builds a model from the exported tinytorch-ts package, prints
its report and exits 0 when the milestone reaches its target (1 when it does not).
Build the package first: npm run build.`,
  options: {
    list: flag("list the milestones"),
  },
  positionals: { min: 0, max: 1 },
});
