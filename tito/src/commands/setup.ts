// `tito setup` (student command, `npm run setup`): registers the TypeScript kernel with Jupyter,
// once, so that Jupyter starts this workspace's own tslab by its absolute path (a bare `tslab`
// is not on PATH after a local npm install).
import { join } from "node:path";
import {
  findJupyterPython,
  jupyterInstallHint,
  pythonCandidates,
  readKernelSpec,
  registerKernel,
} from "../student/jupyter";

export const summary = "register the TypeScript (tslab) kernel with Jupyter (once, after npm ci)";

const HELP = `usage: tito setup

Finds a Python that has Jupyter (/usr/bin/python3 first, then every python3 on PATH) and
registers this workspace's tslab kernel with it, by absolute path. Set JUPYTER_DATA_DIR to
register it in a private Jupyter directory.`;

/** The directory holding tito/ and node_modules/ (the workspace, or the kit). */
export const TOOL_ROOT = join(__dirname, "..", "..", "..");

export async function run(args: string[]): Promise<number> {
  if (args.includes("--help") || args.includes("-h")) {
    console.log(HELP);
    return 0;
  }
  if (args.length > 0) {
    console.error(`tito setup: unexpected argument '${args[0]}'\n\n${HELP}`);
    return 2;
  }
  const python = findJupyterPython();
  if (!python) {
    const tried = pythonCandidates().join(", ") || "no python3 found";
    console.error(`tito setup: no Python with Jupyter found (tried: ${tried}).`);
    console.error(`Install Jupyter, then run \`npm run setup\` again:\n  ${jupyterInstallHint()}`);
    return 1;
  }
  const result = registerKernel(TOOL_ROOT, python);
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
