// The options of `tito leaderboard`. Kept apart from the command so `tito leaderboard --help`
// loads no grader.
import { defineCommand, flag, option, text } from "@tinytorch-ts/core";

import { courseRootOption } from "./course-root.args";

export const spec = defineCommand({
  program: "tito leaderboard",
  usage: "[--module <NN|name>] [--out DIR] [--html FILE] [--csv FILE] [--names]",
  description: `The class leaderboard of a capstone (module 20), from the gradebook tito grade wrote:
each student's latest attempt, as the grader measured its model file. Per event, the entries
that met its constraint are ranked by the measured figure; entries within the 95% interval of
their group's first entry share its rank. The page has a vega-lite Pareto chart (latency, size,
accuracy) of every measured submission; the CSV has one row per event and student. Students
appear by pseudonym (the same as tito manual's) unless --names.`,
  options: {
    module: option(text("NN|name"), "the capstone module", "20"),
    root: courseRootOption,
    out: option(text("DIR"), "where tito grade wrote its results (gradebook.sqlite)", "grades"),
    html: option(text("FILE"), "the page", undefined, "<out>/leaderboard/<module>.html"),
    csv: option(text("FILE"), "the CSV", undefined, "the page's name with .csv"),
    names: flag("show student ids instead of pseudonyms"),
  },
  positionals: { min: 0, max: 0 },
});
