// `tito notebook` (student command, `npm run notebook`): starts Jupyter Notebook on the
// workspace's notebooks, with this workspace's node and tslab first on PATH.
import { spawn } from "node:child_process";
import { join } from "node:path";
import { runCommand, UsageError, type ParsedCommand } from "@tinytorch-ts/core";
import { findJupyterPython, jupyterEnv, jupyterInstallHint } from "../student/jupyter";
import { spec } from "./notebook.args";
import { TOOL_ROOT } from "./setup";

export function run(args: string[]): Promise<number> {
  return runCommand(spec, args, (parsed) => {
    // Positionals are Jupyter's own options, and only after `--`.
    const [first] = parsed.positionals;
    if (first !== undefined && !args.includes("--")) {
      throw new UsageError(`unexpected argument ${JSON.stringify(first)} (Jupyter's own options go after --)`); // prettier-ignore
    }
    return notebook(parsed);
  });
}

/** The arguments Jupyter Notebook gets: the table's options, then whatever came after `--`. */
function jupyterArgs({ values, positionals }: ParsedCommand<typeof spec.options>): string[] {
  const out: string[] = [];
  if (values["no-browser"]) out.push("--no-browser");
  if (values.port !== undefined) out.push(`--port=${values.port}`);
  return [...out, ...positionals];
}

async function notebook(parsed: ParsedCommand<typeof spec.options>): Promise<number> {
  const python = findJupyterPython();
  if (!python) {
    console.error(
      `tito notebook: no Python with Jupyter found. Install it:\n  ${jupyterInstallHint()}`,
    );
    return 1;
  }
  // Not a timed run (runProcess in @tinytorch-ts/core): the server is the user's, with the
  // terminal as its stdio, and runs until they stop it.
  const child = spawn(python, ["-m", "notebook", ...jupyterArgs(parsed)], {
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
