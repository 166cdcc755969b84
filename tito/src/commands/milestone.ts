// `tito milestone <NN>`: runs a course milestone, a script under milestones/ that builds
// something real from the exported tinytorch-ts package (milestone 01: a perceptron) and
// reports whether it reached its target. Each milestone file is named `NN_name.ts` and exports
// `title: string` and `runMilestone(): { passed: boolean; report: string }` (or a Promise of it).
import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { KIT_ROOT, runCommand, UsageError } from "@tinytorch-ts/core";
import { spec } from "./milestone.args";

interface MilestoneModule {
  title?: string;
  runMilestone():
    { passed: boolean; report: string } | Promise<{ passed: boolean; report: string }>;
}

const MILESTONES = join(KIT_ROOT, "milestones");

/** Milestone files by two-digit number, e.g. "01" -> "01_perceptron.ts". */
export function findMilestones(dir = MILESTONES): Map<string, string> {
  const found = new Map<string, string>();
  if (!existsSync(dir)) return found;
  for (const name of readdirSync(dir).sort()) {
    const m = /^(\d\d)_[\w-]+\.ts$/.exec(name);
    if (m) found.set(m[1], name);
  }
  return found;
}

function load(file: string): MilestoneModule {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const mod = require(join(MILESTONES, file)) as Partial<MilestoneModule>;
  if (typeof mod.runMilestone !== "function") {
    throw new Error(`milestones/${file} does not export runMilestone()`);
  }
  return mod as MilestoneModule;
}

export function run(args: string[]): Promise<number> {
  return runCommand(spec, args, ({ values, positionals }) =>
    milestone(positionals[0], values.list),
  );
}

async function milestone(arg: string | undefined, list: boolean): Promise<number> {
  const milestones = findMilestones();
  if (list) {
    for (const [number, file] of milestones) {
      console.log(`${number}  ${load(file).title ?? file}`);
    }
    return 0;
  }
  if (arg === undefined) throw new UsageError("expected one milestone number");
  const number = /^\d$/.test(arg) ? `0${arg}` : arg;
  const file = milestones.get(number);
  if (!file) {
    const known = [...milestones.keys()].join(", ") || "none";
    console.error(`tito milestone: no milestone '${arg}' (available: ${known})`);
    return 2;
  }
  const { passed, report } = await load(file).runMilestone();
  console.log(report);
  return passed ? 0 : 1;
}
