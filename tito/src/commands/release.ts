// `tito release <dir> [--tier default|challenge] [--root <dir>]`
import { releaseCourse } from "../release/release-course";
import { formatLeak } from "../release/leak-audit";
import { runCommand } from "@tinytorch-ts/core";
import type { Tier } from "../transforms/strip-solutions";
import { spec } from "./release.args";

export function run(args: string[]): Promise<number> {
  return runCommand(spec, args, ({ values, positionals }) =>
    release(positionals[0] ?? "", values.tier, values.root),
  );
}

async function release(outDir: string, tier: Tier, root: string | undefined): Promise<number> {
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
