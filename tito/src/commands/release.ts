// `tito release <dir> [--tier default|challenge] [--root <dir>]`
import { releaseCourse } from "../release/release-course";
import { formatLeak } from "../release/leak-audit";
import { MIN_SIGNIFICANT_CHARS } from "../release/secret-lines";
import { TIERS, type Tier } from "../transforms/strip-solutions";

export const summary =
  "write the student bundle (no solutions, no hidden tests) and audit it for leaks";

const HELP = `usage: tito release <dir> [--tier default|challenge] [--root <dir>]

Writes a student bundle to <dir>: the student notebooks, a tinytorch-ts package compiled from the
stripped sources (every exercise throws "Not implemented"), the student commands (tito export,
test, status) and a README. Then audits every file of the bundle: no line that exists only inside
a solution or hidden-test region of a module source may appear in it (lines are compared without
whitespace, comment markers or trailing ;/, and lines with fewer than ${MIN_SIGNIFICANT_CHARS} letters or digits
are ignored). On a leak or a compile error the release fails, the bundle is left in <dir>.rejected
and every leak is listed as file:line.

  --tier   default: role="challenge" regions are given; challenge: they are exercises too
  --root   the course repository (default: found from the working directory)`;

export async function run(args: string[]): Promise<number> {
  if (args.includes("--help") || args.includes("-h")) {
    console.log(HELP);
    return 0;
  }
  let outDir: string | undefined;
  let tier: Tier = "default";
  let root: string | undefined;
  for (let i = 0; i < args.length; i++) {
    const a = args[i] ?? "";
    if (a === "--tier") {
      const t = args[++i] ?? "";
      if (!(TIERS as readonly string[]).includes(t)) {
        console.error(`tito release: --tier must be one of ${TIERS.join(", ")}`);
        return 2;
      }
      tier = t as Tier;
    } else if (a === "--root") root = args[++i];
    else if (a.startsWith("-") || outDir !== undefined) {
      console.error(`tito release: unexpected argument '${a}'\n\n${HELP}`);
      return 2;
    } else outDir = a;
  }
  if (!outDir) {
    console.error(`tito release: give the output directory\n\n${HELP}`);
    return 2;
  }
  const report = await releaseCourse({ outDir, tier, root });
  if (report.errors.length > 0) {
    for (const e of report.errors) console.error(`tito: ${e.message}`);
    console.error(
      `tito release: ${report.errors.length} error(s) in the sources; nothing was written`,
    );
    return 1;
  }
  for (const e of report.compileErrors) console.error(e);
  for (const l of report.leaks) console.error(formatLeak(l));
  if (!report.ok) {
    console.error(
      `tito release: FAILED: ${report.leaks.length} leaked line(s), ${report.compileErrors.length} compile error(s); ` +
        `the rejected bundle is in ${report.bundle}`,
    );
    return 1;
  }
  console.log(
    `tito release: ${report.modules.length} module(s), tier ${tier}, written to ${report.bundle}; ` +
      `leak audit clean (${report.secretLines} secret line(s) checked)`,
  );
  return 0;
}
