// The README at the top of a student bundle.
import type { CourseModuleEntry } from "../student/workspace";

export function studentReadme(modules: CourseModuleEntry[], tier: string): string {
  const list = modules.map((m) => `- \`${m.notebook}\``).join("\n");
  return `# tinytorch-ts: your course workspace

You build a small machine-learning framework in TypeScript, one notebook at a time, then profile
and benchmark it. Each notebook explains a piece, asks you to write it, and tests it.
${tier === "challenge" ? "\nThis is the **challenge** edition: a few extra parts are yours to write too.\n" : ""}
## Setup

\`\`\`
npm install                  # the TypeScript kernel (tslab), your package, the tito commands
npx tslab install            # register the TypeScript kernel with Jupyter (once)
jupyter notebook notebooks   # or open the notebooks in JupyterLab / VS Code
\`\`\`

## Notebooks, in order

${list}

## Working on a module

1. Read each step. Write your code where a cell says \`// YOUR CODE HERE\` (delete the
   \`throw new Error("Not implemented: ...")\` line below it), or your answer where a cell says
   \`YOUR ANSWER HERE\`.
2. Run the test cell right after it. Test cells are locked: they are graded as they were given
   to you, so editing them changes nothing.
3. Check the whole notebook from a terminal: \`npx tito test 01\` (or the notebook's path). It runs
   your notebook in a fresh kernel and lists every test that passed or failed.
4. When a module passes, add your code to your package so later modules can use it:
   \`npx tito export notebooks/01_<name>.ipynb\`. Later notebooks import your earlier work
   (\`import { Tensor } from "tinytorch-ts/core/tensor"\`), not a reference solution.
5. \`npx tito status\` shows which modules are complete.

## Milestones

\`npx tito milestone --list\` lists them; \`npx tito milestone 02\` runs one. A milestone builds
something real (a perceptron, an MLP that learns XOR, one that reads handwritten digits) from
your own package, so it works once the modules it needs are done and exported.

The package in \`tinytorch-ts/\` starts with every exercise throwing "Not implemented"; only
\`tito export\` changes it. Do not edit \`tinytorch-ts/src\` by hand: the next export overwrites it.
`;
}
