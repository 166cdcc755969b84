// The options of `tito build`.
import { defineCommand, flag, oneOf, option, text } from "@tinytorch-ts/core";
import { RELEASE_TIERS, type ReleaseTier } from "../transforms/strip-solutions";

export const spec = defineCommand({
  program: "tito build",
  usage: "[--check] [--tier default|challenge] [--root <dir>]",
  description: `Builds every modules/NN_name/name_dev.ts into notebooks/NN_name.ipynb (student notebooks),
tinytorch-ts/src/<path>.ts (the reference package; compile it with npm run build:package) and
grader/manifests/NN_name.json. If any source is invalid nothing is written.`,
  options: {
    check: flag(
      "write nothing; exit 1 and name every generated file that differs from what the\nsources produce (missing, modified by hand, or stale)",
    ),
    tier: option(
      oneOf<ReleaseTier>(RELEASE_TIERS),
      "release tier of the student notebooks",
      "default",
    ),
    root: option(text("DIR"), "the course repository", undefined, "found from the working directory"), // prettier-ignore
  },
  positionals: { min: 0, max: 0 },
});
