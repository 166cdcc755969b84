// The options of `tito manual`. Kept apart from the command so `tito manual --help` loads no grader.
import { defineCommand, flag, option, text } from "@tinytorch-ts/core";

import { courseRootOption } from "./course-root.args";

export const spec = defineCommand({
  program: "tito manual",
  usage: [
    "--module <NN|name> [--question ID [--names] [--page FILE] [--template FILE]]",
    "--module <NN|name> --import FILE [--grader NAME]",
  ],
  description: `Written answers graded by hand (a cell with nbgrader's grade and solution both set;
its rubric between ### BEGIN RUBRIC and ### END RUBRIC in the module source).
- With no question: each question, its points, how many answers await a score, how many are
  scored.
- --question ID: one HTML page with the rubric, the model answer and every student's latest
  answer with its current score and comment, and a CSV template beside it (student, question,
  score, comment). Students are shown by pseudonym unless --names.
- --import FILE: records the scores of a CSV (the template, filled in) or a JSON array of
  {student, question, score, comment}. Every row is checked first: any bad row, and nothing is
  written (exit 2). Earlier scores stay in the history; the latest counts. The students'
  feedback pages then show their scores and comments.`,
  options: {
    module: option(text("NN|name"), "the module: 01, 01_tensor or tensor"),
    manifest: option(text("FILE"), "use this manifest file instead of <root>/grader/manifests/"),
    root: courseRootOption,
    out: option(text("DIR"), "where tito grade wrote its results (gradebook.sqlite)", "grades"),
    question: option(text("ID"), "the question (its grade_id) to write the page and template for"),
    names: flag("show student ids instead of pseudonyms"),
    page: option(text("FILE"), "the page", undefined, "<out>/manual/<module>/<question>.html"),
    template: option(text("FILE"), "the CSV template", undefined, "the page's name with .csv"),
    import: option(text("FILE"), "record the scores in FILE (.csv, or .json)"),
    grader: option(text("NAME"), "who gave the scores, kept in the history", undefined, "your user name"), // prettier-ignore
  },
  positionals: { min: 0, max: 0 },
});
