// `tito setup` (student command, `npm run setup`): registers the TypeScript kernel with Jupyter,
// once, so that Jupyter starts this workspace's own tslab by its absolute path (a bare `tslab`
// is not on PATH after a local npm install).
import { KIT_ROOT, runCommand } from "@tinytorch-ts/core";
import {
  findJupyterPython,
  jupyterInstallHint,
  pythonCandidates,
  readKernelSpec,
  registerKernel,
} from "../student/jupyter";
import { spec } from "./setup.args";

export function run(args: string[]): Promise<number> {
  return runCommand(spec, args, setup);
}

function setup(): number {
  const python = findJupyterPython();
  if (!python) {
    const tried = pythonCandidates().join(", ") || "no python3 found";
    console.error(`tito setup: no Python with Jupyter found (tried: ${tried}).`);
    console.error(`Install Jupyter, then run \`npm run setup\` again:\n  ${jupyterInstallHint()}`);
    return 1;
  }
  const result = registerKernel(KIT_ROOT, python);
  if (!result.ok) {
    console.error(`tito setup: registering the kernel with ${python} failed:\n${result.output}`);
    return 1;
  }
  const spec = readKernelSpec(python);
  console.log(`Registered the TypeScript kernel with Jupyter (${python}).`);
  if (spec) console.log(`  kernelspec: ${spec.resourceDir}\n  starts:     ${spec.argv[0]}`);
  console.log("Next: `npm run notebook` opens the notebooks; `npx tito doctor` checks everything.");
  return 0;
}
