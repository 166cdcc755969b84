// `tito milestone <NN>`: runs a course milestone, a script under milestones/ that builds
// something real from the tinytorch-ts package (01: a perceptron, 02: XOR, 03: digits) and
// reports whether it reached its target. Students have it too, on their own package. Each milestone file is named `NN_name.ts` and exports
// `title: string` and `runMilestone(): { passed: boolean; report: string }` (or a Promise of it).
import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { exerciseOwners, exportAdvice, unexportedModule } from "../student/explain";
import { findWorkspace, readCourse, readReleasedModule } from "../student/workspace";
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
  let result: { passed: boolean; report: string };
  try {
    result = await load(file).runMilestone();
  } catch (e) {
    const advice = stubAdvice(e);
    if (!advice) throw e;
    console.error(`tito milestone ${number}: it uses your package, and ${advice}`);
    return 1;
  }
  console.log(result.report);
  return result.passed ? 0 : 1;
}

/** In a student workspace, a stub hit by the milestone names the module to export. */
function stubAdvice(e: unknown): string | undefined {
  const message = e instanceof Error ? e.message : String(e);
  const ws = findWorkspace(KIT_ROOT);
  if (!ws || !/Not implemented: /.test(message)) return undefined;
  const owners = exerciseOwners(readCourse(ws).modules, (m) => readReleasedModule(ws, m));
  const stub = unexportedModule(message, "", owners);
  return stub ? exportAdvice(stub) : undefined;
}
