// The `--root DIR` option every grading command shares (grade, audit, gradescope, manual,
// leaderboard): the course whose grader/manifests/, notebooks/ and compiled tinytorch-ts/ it
// uses. Kept in one place so the commands describe and resolve it alike.
import { option, text } from "@tinytorch-ts/core";

export const courseRootOption = option(
  text("DIR"),
  "the course: its grader/manifests/, notebooks/ and compiled tinytorch-ts/",
  undefined,
  "the course around the working directory, else the kit's",
);
