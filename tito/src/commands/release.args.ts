// The options of `tito release`.
import { defineCommand, flag, oneOf, option, text } from "@tinytorch-ts/core";
import { MIN_SIGNIFICANT_CHARS } from "../release/secret-lines";
import { RELEASE_TIERS, type ReleaseTier } from "../transforms/strip-solutions";

export const spec = defineCommand({
  program: "tito release",
  usage: "<dir> [--tier default|challenge] [--root <dir>] [--skip-reference-audit]",
  description: `First runs every module's reference solution against its own tests (the audit's
trusted run, no kernel: about 10 s per module); a reference that fails stops the release with
its problems listed, before anything is written. Then writes a student bundle to <dir>: the
student notebooks, a tinytorch-ts package compiled from the stripped sources (every exercise
throws "Not implemented"), the student commands (tito export, test, status) and a README. Then
audits every file of the bundle: no line that exists only inside a solution or hidden-test
region of a module source may appear in it (lines are compared without whitespace, comment
markers or trailing ;/, and lines with fewer than ${MIN_SIGNIFICANT_CHARS} letters or digits are ignored). On a
leak or a compile error the release fails, the bundle is left in <dir>.rejected and every leak
is listed as file:line.`,
  options: {
    tier: option(
      oneOf<ReleaseTier>(RELEASE_TIERS),
      'default: role="challenge" regions are given; challenge: they are exercises too',
      "default",
    ),
    root: option(text("DIR"), "the course repository", undefined, "found from the working directory"), // prettier-ignore
    "skip-reference-audit": flag(
      "do not check the references against their own tests (prints a warning;\na broken reference would grade every student wrong)",
    ),
  },
  positionals: { min: 1, max: 1, missing: "give the output directory" },
});
