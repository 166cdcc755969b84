// `tito build [--check] [--tier default|challenge] [--root <dir>]`
import { buildCourse } from "../build/build-course";
import { TIERS, type Tier } from "../transforms/strip-solutions";

export const summary = "generate student notebooks, the package source and grading manifests";

const HELP = `usage: tito build [--check] [--tier default|challenge] [--root <dir>]

Builds every modules/NN_name/name_dev.ts into notebooks/NN_name.ipynb (student notebooks),
tinytorch-ts/src/<path>.ts (the reference package; compile it with npm run build:package) and
grader/manifests/NN_name.json. If any source is invalid nothing is written.

  --check   write nothing; exit 1 and name every generated file that differs from what the
            sources produce (missing, modified by hand, or stale)
  --tier    release tier of the student notebooks (default: default)
  --root    the course repository (default: found from the working directory)`;

export interface ParsedArgs {
  check: boolean;
  tier: Tier;
  root?: string;
}

export function parseBuildArgs(args: string[]): ParsedArgs | string {
  const out: ParsedArgs = { check: false, tier: "default" };
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (a === "--check") out.check = true;
    else if (a === "--tier") {
      const t = args[++i];
      if (!t || !(TIERS as readonly string[]).includes(t))
        return `--tier must be one of ${TIERS.join(", ")}`;
      out.tier = t as Tier;
    } else if (a === "--root") {
      const r = args[++i];
      if (!r) return "--root needs a directory";
      out.root = r;
    } else return `unknown option '${a}'`;
  }
  return out;
}

export async function run(args: string[]): Promise<number> {
  if (args.includes("--help") || args.includes("-h")) {
    console.log(HELP);
    return 0;
  }
  const parsed = parseBuildArgs(args);
  if (typeof parsed === "string") {
    console.error(`tito build: ${parsed}\n\n${HELP}`);
    return 2;
  }
  const started = performance.now();
  const report = await buildCourse({ root: parsed.root, tier: parsed.tier, check: parsed.check });
  const ms = Math.round(performance.now() - started);
  if (report.errors.length > 0) {
    for (const e of report.errors) console.error(`tito: ${e.message}`);
    console.error(`tito build: ${report.errors.length} error(s); nothing was written`);
    return 1;
  }
  if (parsed.check) {
    const { changed, stale } = report.diff;
    for (const c of changed) {
      console.error(`${c.path}: ${c.state === "missing" ? "missing" : "differs from its source"}`);
    }
    for (const s of stale) console.error(`${s}: stale (no module source produces it)`);
    if (!report.ok) {
      console.error(
        `tito build --check: ${changed.length + stale.length} generated file(s) out of date; run \`npm run build\``,
      );
      return 1;
    }
    console.log(`tito build --check: ${report.modules.length} module(s) up to date (${ms} ms)`);
    return 0;
  }
  console.log(
    `tito build: ${report.modules.length} module(s), ${report.cached.length} unchanged; ` +
      `${report.written.length} file(s) written, ${report.removed.length} removed (${ms} ms)`,
  );
  for (const p of report.written) console.log(`  wrote ${p}`);
  for (const p of report.removed) console.log(`  removed ${p}`);
  return 0;
}
