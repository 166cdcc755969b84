// The options of `tito gradebook`.
import { defineCommand, flag, option, optionalValue, text } from "@tinytorch-ts/core";

export const spec = defineCommand({
  program: "tito gradebook",
  usage: "[--db FILE] [--csv [FILE]] [--all]",
  options: {
    db: option(text("FILE"), "the gradebook", "grades/gradebook.sqlite"),
    csv: optionalValue(
      text("FILE"),
      "print CSV (one row per student and module, latest attempt) to stdout,\nor write it to FILE",
    ),
    all: flag("every attempt instead of the latest"),
  },
  positionals: { min: 0, max: 0 },
});
