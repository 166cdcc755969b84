// The options of `tito gradebook`.
import { defineCommand, flag, option, optionalValue, text } from "@tinytorch-ts/core";

export const spec = defineCommand({
  program: "tito gradebook",
  usage: [
    "[--db FILE] [--csv [FILE]] [--all]",
    "--summary [--db FILE] [--csv [FILE]] [--html FILE]",
  ],
  options: {
    db: option(text("FILE"), "the gradebook", "grades/gradebook.sqlite"),
    csv: optionalValue(
      text("FILE"),
      "print CSV (one row per student and module, latest attempt) to stdout,\nor write it to FILE",
    ),
    all: flag("every attempt instead of the latest"),
    summary: flag(
      "the class summary: per student and module the automatic, manual, penalty\nand total, and the course total (--csv: one wide row per student;\n--html: a page with each module's distribution and failed tests)",
    ),
    html: option(text("FILE"), "with --summary: write the summary page to FILE"),
  },
  positionals: { min: 0, max: 0 },
});
