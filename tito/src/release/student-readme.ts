// The README at the top of a student bundle: the three commands that set it up, then how to
// work. It describes only what this bundle has (written answers only if a notebook asks for one,
// milestones only if it ships some).
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
  const answer = facts.writtenAnswers
    ? `, or your answer where a markdown cell says \`YOUR ANSWER HERE\` (written answers are
   graded by hand)`
    : "";
  const milestones =
    facts.milestones.length === 0
      ? ""
      : `
## Milestones

Once the modules a milestone needs are exported, it builds something real from your package:
${facts.milestones.map((n) => `\`npx tito milestone ${n}\``).join(", ")}. If a module is missing,
it says which one to export.
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

If something does not work, \`npx tito doctor\` checks each part and says how to fix it.

## Notebooks, in order

${list}

## Working on a module

1. Read each step. Write your code where a cell says \`// YOUR CODE HERE\` (delete the
   \`throw new Error("Not implemented: ...")\` line below it)${answer}.
2. Run the test cell right after it. Test cells are locked: they are graded as they were given
   to you, so editing them changes nothing.
3. Check the whole notebook from a terminal: \`npx tito test 01\` (or the notebook's path). It runs
   your notebook in a fresh kernel and lists every test that passed or failed.
4. When a module passes, add your code to your package so later modules can use it:
   \`npx tito export 01\`. Later notebooks import your earlier work
   (\`import { Tensor } from "tinytorch-ts/core/tensor"\`), not a reference solution.
5. \`npx tito status\` shows which modules are complete.

## Milestones

\`npx tito milestone --list\` lists them; \`npx tito milestone 02\` runs one. A milestone builds
something real (a perceptron, an MLP that learns XOR, one that reads handwritten digits) from
your own package, so it works once the modules it needs are done and exported.

The package in \`tinytorch-ts/\` starts with every exercise throwing "Not implemented"; only
\`tito export\` changes it. Do not edit \`tinytorch-ts/src\` by hand: the next export overwrites it.
${milestones}`;
}
