// `tito milestone <NN>`: runs a course milestone, a script under milestones/ that builds
// something real from the tinytorch-ts package (01: a perceptron, 02: XOR, 03: digits) and
// reports whether it reached its target. Students have it too, on their own package: there it
// first checks that the modules the milestone needs are exported, and names the first one that
// is not (in course order). Each milestone file is named `NN_name.ts` and exports
// `title: string`, `runMilestone(): { passed: boolean; report: string }` (or a Promise of it),
// and `needs: string[]`, the modules it uses (read from its imports when it has none).
import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { exerciseOwners, exportAdvice, unexportedModule } from "../student/explain";
import { firstMissing, milestoneNeeds, missingAdvice } from "../student/milestone-needs";
import { findWorkspace, readCourse, readReleasedModule } from "../student/workspace";
import {
  KIT_ROOT,
  runCommand,
  UsageError,
  coursePath,
  tuneHeapForTraining,
} from "@tinytorch-ts/core";
import { spec } from "./milestone.args";

interface MilestoneModule {
  title?: string;
  needs?: string[];
  runMilestone(
    options?: object,
  ): { passed: boolean; report: string } | Promise<{ passed: boolean; report: string }>;
  /** Shortened options for a smoke run (TINYTORCH_MILESTONE_SMOKE=1): the code path, quickly. */
  smokeOptions?: object;
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

/** The modules a milestone needs (in a workspace: with the first one not exported yet). */
function needsOf(file: string, mod: MilestoneModule) {
  const ws = findWorkspace(KIT_ROOT);
  if (!ws) return { ws, needs: [], missing: undefined };
  const course = readCourse(ws);
  const declared = Array.isArray(mod.needs) ? mod.needs : undefined;
  const needs = milestoneNeeds(join(MILESTONES, file), declared, course, coursePath(ws, "packageSrc")); // prettier-ignore
  return { ws, needs, missing: firstMissing(ws, needs) };
}

async function milestone(arg: string | undefined, list: boolean): Promise<number> {
  const milestones = findMilestones();
  if (list) {
    for (const [number, file] of milestones) {
      let mod: MilestoneModule;
      try {
        mod = load(file);
      } catch (e) {
        // One broken milestone must not hide the others.
        const why = (e instanceof Error ? e.message : String(e)).split("\n")[0];
        console.log(`${number}  (milestones/${file} cannot be loaded: ${why})`);
        continue;
      }
      console.log(`${number}  ${mod.title ?? file}`);
      const { ws, needs, missing } = needsOf(file, mod);
      const names = (ws ? needs.map((m) => m.module) : (mod.needs ?? [])).join(", ");
      if (names === "") continue;
      const state = !ws ? "" : missing ? `; not exported yet: ${missing.entry.module}` : "; all exported"; // prettier-ignore
      console.log(`    needs ${names}${state}`);
    }
    return 0;
  }
  if (arg === undefined) throw new UsageError("expected one milestone number");
  const number = /^\d$/.test(arg) ? `0${arg}` : arg;
  const file = milestones.get(number);
  if (!file) {
    const known = [...milestones.keys()].join(", ") || "none";
    // Milestones are numbered on their own: "05" is not module 05.
    console.error(`tito milestone: there is no milestone ${arg} (the milestones are ${known}; \`npx tito milestone --list\` says what each needs)`); // prettier-ignore
    return 2;
  }
  const mod = load(file);
  const { needs, missing } = needsOf(file, mod);
  if (missing) {
    console.error(`tito milestone ${number}: ${missingAdvice(number, needs, missing)}`);
    return 1;
  }
  let result: { passed: boolean; report: string };
  // A milestone trains: see core's training-heap.ts for why the heap may grow further first.
  tuneHeapForTraining();
  try {
    const smoke = process.env.TINYTORCH_MILESTONE_SMOKE === "1" && mod.smokeOptions !== undefined;
    result = await (smoke ? mod.runMilestone(mod.smokeOptions) : mod.runMilestone());
    if (smoke) result = { ...result, report: `${result.report}\n(a smoke run: TINYTORCH_MILESTONE_SMOKE=1, shortened; not the milestone's own target)` }; // prettier-ignore
  } catch (e) {
    const advice = stubAdvice(e);
    if (!advice) throw e;
    console.error(`tito milestone ${number}: milestone ${number} uses your package, and ${advice}`); // prettier-ignore
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
