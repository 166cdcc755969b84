// `tito milestone <NN>`: runs a course milestone, a script under milestones/ that builds
// something real from the tinytorch-ts package (01: a perceptron, 02: XOR, 03: digits) and
// reports whether it reached its target. Students have it too, on their own package. Each milestone file is named `NN_name.ts` and exports
// `title: string` and `runMilestone(): { passed: boolean; report: string }` (or a Promise of it).
import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";

export const summary = "run a course milestone (e.g. `tito milestone 01`) and report its result";

const HELP = `usage: tito milestone <NN> | --list

Runs milestones/NN_*.ts, which builds a model from the tinytorch-ts package, prints its report
and exits 0 when the milestone reaches its target (1 when it does not). Milestones import the
package by name: in the kit that is the reference build (npm run build first); in a course
bundle it is your own exported code (npx tito export).

  --list   list the milestones`;

interface MilestoneModule {
  title?: string;
  runMilestone():
    { passed: boolean; report: string } | Promise<{ passed: boolean; report: string }>;
}

const ROOT = join(__dirname, "..", "..", "..");
const MILESTONES = join(ROOT, "milestones");

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

export async function run(args: string[]): Promise<number> {
  if (args.includes("--help") || args.includes("-h")) {
    console.log(HELP);
    return 0;
  }
  const milestones = findMilestones();
  if (args.includes("--list")) {
    for (const [number, file] of milestones) {
      console.log(`${number}  ${load(file).title ?? file}`);
    }
    return 0;
  }
  if (args.length !== 1) {
    console.error(`tito milestone: expected one milestone number\n\n${HELP}`);
    return 2;
  }
  const number = /^\d$/.test(args[0]) ? `0${args[0]}` : args[0];
  const file = milestones.get(number);
  if (!file) {
    const known = [...milestones.keys()].join(", ") || "none";
    console.error(`tito milestone: no milestone '${args[0]}' (available: ${known})`);
    return 2;
  }
  const { passed, report } = await load(file).runMilestone();
  console.log(report);
  return passed ? 0 : 1;
}
