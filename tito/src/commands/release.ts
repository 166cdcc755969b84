// `tito release <dir> [--tier default|challenge] [--root <dir>] [--skip-reference-audit]`
import { releaseCourse } from "../release/release-course";
import { formatLeak } from "../release/leak-audit";
import { runCommand } from "@tinytorch-ts/core";
import type { ReleaseTier } from "../transforms/strip-solutions";
import { spec } from "./release.args";

export function run(args: string[]): Promise<number> {
  return runCommand(spec, args, ({ values, positionals }) =>
    release(positionals[0] ?? "", values.tier, values.root, values["skip-reference-audit"]),
  );
}

async function release(
  outDir: string,
  tier: ReleaseTier,
  root: string | undefined,
  skipReferenceAudit: boolean,
): Promise<number> {
  if (skipReferenceAudit) {
    console.error(
      "tito release: WARNING: --skip-reference-audit: the reference solutions were not run against their own tests; a broken reference grades every student wrong (run `tito audit --reference-only` before grading)",
    );
  }
  const report = await releaseCourse({
    outDir,
    tier,
    root,
    referenceAudit: skipReferenceAudit ? "skip" : "run",
    onReferenceAudit: (module) =>
      console.error(`tito release: auditing the reference of ${module}…`),
  });
  if (report.referenceProblems.length > 0) {
    for (const p of report.referenceProblems) console.error(`tito release: ${p}`);
    console.error(
      `tito release: ${report.referenceProblems.length} problem(s) with the reference solutions; nothing was written (fix them, rebuild, or see --skip-reference-audit)`,
    );
    return 1;
  }
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
