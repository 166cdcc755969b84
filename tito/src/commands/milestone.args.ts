// The options of `tito milestone`.
import { defineCommand, flag } from "@tinytorch-ts/core";

export const spec = defineCommand({
  program: "tito milestone",
  usage: "<NN> | --list",
  description: `Runs milestone NN (milestones/NN_*.ts), which builds a model from the tinytorch-ts package,
prints its report and exits 0 when the milestone reaches its target (1 when it does not).
Milestones are numbered on their own, not like the modules. In a course folder a milestone runs
on your own package: the modules it needs must be exported first (npx tito export NN), and it
names the first one that is not. --list shows what each milestone needs.`,
  options: {
    list: flag("list the milestones and the modules each one needs"),
  },
  positionals: { min: 0, max: 1 },
});
