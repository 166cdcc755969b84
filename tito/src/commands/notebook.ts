// `tito notebook` (student command, `npm run notebook`): starts Jupyter Notebook on the
// workspace's notebooks, with this workspace's node and tslab first on PATH.
import { spawn } from "node:child_process";
import { join } from "node:path";
import { findJupyterPython, jupyterEnv, jupyterInstallHint } from "../student/jupyter";
import { TOOL_ROOT } from "./setup";

export const summary = "open the course notebooks in Jupyter Notebook";

const HELP = `usage: tito notebook [jupyter options...]

Starts Jupyter Notebook on notebooks/ (options are passed to Jupyter, e.g. --no-browser).
Run \`npm run setup\` once before.`;

export async function run(args: string[]): Promise<number> {
  if (args.includes("--help") || args.includes("-h")) {
    console.log(HELP);
    return 0;
  }
  const python = findJupyterPython();
  if (!python) {
    console.error(
      `tito notebook: no Python with Jupyter found. Install it:\n  ${jupyterInstallHint()}`,
    );
    return 1;
  }
  const child = spawn(python, ["-m", "notebook", ...args], {
    cwd: join(TOOL_ROOT, "notebooks"),
    env: jupyterEnv(TOOL_ROOT),
    stdio: "inherit",
  });
  // Ctrl-C reaches Jupyter through the terminal; we only wait for it to finish.
  const forward = () => undefined;
  process.on("SIGINT", forward);
  return new Promise((resolve) => {
    child.once("error", (e) => {
      console.error(`tito notebook: cannot start Jupyter: ${e.message}`);
      resolve(1);
    });
    child.once("exit", (code) => {
      process.off("SIGINT", forward);
      resolve(code ?? 1);
    });
  });
}
