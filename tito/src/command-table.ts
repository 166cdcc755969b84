// The commands of `tito`, in the order of its help, with their one-line summaries. A static
// table, so that listing the commands loads none of them.
/** Every command, in the order of the help, with its one-line summary. */
export const COMMANDS: Readonly<Record<string, string>> = {
  convert: "convert a module source .ts <-> .ipynb (jupytext percent format)",
  build: "generate student notebooks, the package source and grading manifests",
  run: "execute notebooks in tslab kernels (no Python) and report every cell",
  test: "run your notebook with its tests in a fresh kernel and show what passed",
  export: "put your solutions from a notebook into your tinytorch-ts package",
  status: "show which modules are complete",
  release: "write the student bundle (no solutions, no hidden tests) and audit it for leaks",
  audit: "grade every untouched student notebook; fail if any test passes without work",
  grade: "grade student notebooks with hidden tests in sandboxed kernels",
  gradebook: "show the gradebook, or export it as CSV",
  manual: "grade written answers by hand: a page and CSV per question, then import the scores",
  leaderboard:
    "the capstone's class leaderboard: ranks per event and a Pareto chart, from measured figures",
  gradescope: "write a Gradescope autograder bundle (setup.sh, run_autograder) for a module",
  milestone: "run a course milestone (e.g. `tito milestone 01`) and report its result",
  setup: "register the tslab kernel with Jupyter (absolute paths), once after npm ci",
  notebook: "start Jupyter Notebook on notebooks/ with this course's kernel",
  doctor: "check node, the dependencies, Jupyter, the kernel and the package, with fixes",
};
