// The README at the top of a student bundle: the three commands that set it up, then how to
// work, submit and start over. It describes only what this bundle has (written answers only if a
// notebook asks for one, milestones only if it ships some).
import type { CourseModuleEntry } from "../student/workspace";

export interface ReadmeFacts {
  tier: string;
  /** Some notebook has a markdown cell for a written answer ("YOUR ANSWER HERE"). */
  writtenAnswers: boolean;
  /** Milestone numbers shipped in milestones/ ("01", ...). */
  milestones: string[];
}

export function studentReadme(modules: CourseModuleEntry[], facts: ReadmeFacts): string {
  const list = modules.map((m) => `- \`${m.notebook}\``).join("\n");
  const first = modules[0];
  const nn = first?.number ?? "01";
  const firstNotebook = first?.notebook ?? "notebooks/01_tensor.ipynb";
  const answer = facts.writtenAnswers
    ? `, or your answer where a markdown cell says \`YOUR ANSWER HERE\` (written answers are
   graded by hand)`
    : "";
  const milestones =
    facts.milestones.length === 0
      ? ""
      : `
## Milestones

A milestone builds something real from your own package (a perceptron, an MLP that learns XOR,
one that reads handwritten digits, ...). \`npx tito milestone --list\` lists them with the modules
each one needs; \`npx tito milestone ${facts.milestones[0]}\` runs one (milestones are numbered on
their own: ${facts.milestones.join(", ")}). It first checks that the modules it needs are exported,
and names the first one that is not, with the commands to fix it.
`;
  return `# tinytorch-ts: your course workspace

You build a small machine-learning framework in TypeScript, one notebook at a time, then profile
and benchmark it. Each notebook explains a piece, asks you to write it, and tests it.
${facts.tier === "challenge" ? "\nThis is the **challenge** edition: a few extra parts are yours to write too.\n" : ""}
## Setup

You need Node.js 20 or later and Jupyter (on Debian or Ubuntu: \`sudo apt-get install
jupyter-notebook\`; elsewhere: \`python3 -m pip install --user notebook\`). Then, in this folder:

\`\`\`
npm ci            # the TypeScript kernel (tslab), your package, the tito commands
npm run setup     # register the TypeScript kernel with Jupyter (once)
npm run notebook  # open the notebooks in Jupyter
\`\`\`

If something does not work, \`npx tito doctor\` checks each part and says how to fix it. (As root,
in a container for example, Jupyter needs \`--allow-root\`: \`npm run notebook\` adds it.)

## Notebooks, in order

${list}

## Working on a module

1. Read each step. Write your code where a cell says \`// YOUR CODE HERE\` (delete the
   \`throw new Error("Not implemented: ...")\` line below it)${answer}.
2. Run the test cell right after it. Test cells are locked: they are graded as they were given
   to you, so editing them changes nothing.
3. Check the whole notebook from a terminal: \`npx tito test ${nn}\` (or the notebook's path). It
   runs your notebook in a fresh kernel and lists every test that passed or failed; an error
   names the exercise and the line of its cell it comes from.
4. When a module passes, add your code to your package so later modules can use it:
   \`npx tito export ${nn}\`. Later notebooks import your earlier work
   (\`import { Tensor } from "tinytorch-ts/core/tensor"\`), not a reference solution. A notebook
   that is already open keeps the package it loaded: restart its kernel (Kernel > Restart).
5. \`npx tito status\` shows, for every module, whether it is not started, in progress or
   complete (its tests passed on the current notebook, and it is exported).

The package in \`tinytorch-ts/\` starts with every exercise throwing "Not implemented"; only
\`tito export\` changes it. Do not edit \`tinytorch-ts/src\` by hand: the next export overwrites it.
If a later notebook or a milestone meets one of those stubs, its message says which notebook to
finish and which \`npx tito export NN\` to run.

## Submitting your work

Submit the notebook file itself, from this folder: \`${firstNotebook}\` for module ${nn}, and
so on, under its own name (the grader finds a module by its file name). Save it in Jupyter first
(File > Save): the file on disk is what counts. Upload it where your course says to (for example
Gradescope). Only your exercise cells${facts.writtenAnswers ? " and written answers" : ""} are
graded: test cells and provided code are taken from the original, hidden tests are added, and
your package is not needed (the grader brings the earlier modules).

## Starting a notebook over

\`npx tito notebook --reset ${nn}\` puts \`${firstNotebook}\` back as it was given to you. Your
version is kept next to it as \`${firstNotebook.replace(/\.ipynb$/, ".before-reset.ipynb")}\`, so you can
copy cells back from it. (If the notebook is open in Jupyter, reload it afterwards.)
${milestones}`;
}
