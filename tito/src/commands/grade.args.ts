// The options of `tito grade`. Kept apart from the command so `tito grade --help` loads no grader.
import { count, defineCommand, DEFAULT_GRADING_LIMITS, flag, megabytes, option, seconds, text } from "@tinytorch-ts/core"; // prettier-ignore

import { courseRootOption } from "./course-root.args";

export const spec = defineCommand({
  program: "tito grade",
  usage: "<submissions> --module <NN|name> [options]",
  description: `<submissions> is a folder with one notebook per student (<student>.ipynb or
<student>/<module>.ipynb), or a single notebook. A capstone (module 20) also needs the model
file beside the notebook (<student>/capstone.ttm): the grader measures it in a process of its
own, and its events' points come from that measurement only.`,
  options: {
    module: option(
      text("NN|name"),
      "the module to grade: 01, 01_tensor or tensor (its manifest in\n<root>/grader/manifests/)",
    ),
    manifest: option(text("FILE"), "grade against this manifest file instead"),
    root: courseRootOption,
    out: option(
      text("DIR"),
      "where results go: gradebook.sqlite, results/<module>/<student>/results.json,\nfeedback/<module>/<student>.html",
      "grades",
    ),
    jobs: option(count, "submissions graded at once", 1),
    force: flag("grade again even if the submission and manifest are unchanged"),
    regrade: flag(
      "grade a notebook even if the student's recorded attempt was submitted\nlater (it then becomes the student's latest attempt)",
    ),
    course: option(
      text("FILE"),
      "due dates, late policy, extensions (default: course.json at the course\nroot, if there is one)",
    ),
    times: option(
      text("FILE"),
      "submission times, a CSV student,submitted_at (ISO 8601 with offset);\ndefault: each notebook's modification time",
    ),
    "cell-timeout": option(seconds, "seconds per cell", DEFAULT_GRADING_LIMITS.cellTimeoutMs),
    timeout: option(seconds, "seconds per notebook", DEFAULT_GRADING_LIMITS.notebookTimeoutMs),
    memory: option(megabytes, "kernel heap cap", DEFAULT_GRADING_LIMITS.memoryMb),
    // The grader's DEFAULT_MAX_SUBMISSION_BYTES, in MiB (not imported: --help loads no grader).
    "max-size": option(megabytes, "notebooks over this size are rejected unread", 20),
    "max-model-size": option(megabytes, "a capstone's model file over this size is refused unread", undefined, "8"), // prettier-ignore
    "no-sandbox": flag("run kernels without namespaces or the sandbox user (not for real grading)"),
  },
  positionals: { min: 1, max: 1, missing: "give one submissions folder or notebook" },
  footer: `environment:
  TITO_SANDBOX=no-namespaces   for containers without CAP_SYS_ADMIN: keeps the sandbox user
                       and the rlimits, runs one kernel at a time (--jobs is ignored), and does
                       NOT protect files the sandbox user can read, the disk (many files of up
                       to 64 MiB), the network, or other processes. See docs/grading.md.
  TITO_SANDBOX=off     no sandbox at all (debugging only)

A rerun skips what is already graded, so an interrupted run continues where it stopped. It
never replaces a newer attempt with an older notebook: a notebook submitted before the student's
latest recorded attempt is skipped-older (--regrade grades it). See docs/grading.md.
Ctrl-C once: finish the running submissions and stop; twice: stop at once.`,
});
