// `tito notebook` (student command, `npm run notebook`): starts Jupyter Notebook on the
// workspace's notebooks, with this workspace's node and tslab first on PATH. `--reset NN` gives
// a notebook back as it was released (from the workspace's .tito/), keeping the student's copy.
import { spawn } from "node:child_process";
import { existsSync, renameSync } from "node:fs";
import { join } from "node:path";
import {
  KIT_ROOT,
  runCommand,
  UsageError,
  writeFileAtomic,
  type ParsedCommand,
  coursePath,
} from "@tinytorch-ts/core";
import { writeIpynb } from "@tinytorch-ts/core/notebook";
import { findJupyterPython, jupyterEnv, jupyterInstallHint } from "../student/jupyter";
import { findWorkspace, readCourse, readReleasedModule, resolveModule } from "../student/workspace";
import { spec } from "./notebook.args";

export function run(args: string[]): Promise<number> {
  return runCommand(spec, args, (parsed) => {
    // Positionals are Jupyter's own options, and only after `--`.
    const [first] = parsed.positionals;
    if (first !== undefined && !args.includes("--")) {
      throw new UsageError(`unexpected argument ${JSON.stringify(first)} (Jupyter's own options go after --)`); // prettier-ignore
    }
    if (parsed.values.reset !== undefined) return reset(parsed.values.reset);
    return notebook(parsed);
  });
}

/** Notebook NN as released; the student's own is renamed, never overwritten. */
function reset(arg: string): number {
  const ws = findWorkspace(KIT_ROOT) ?? findWorkspace();
  const entry = ws ? resolveModule(readCourse(ws), arg) : undefined;
  if (!ws || !entry) {
    console.error(`tito notebook: --reset ${arg}: not one of this course's notebooks (give its number, e.g. 01)`); // prettier-ignore
    return 1;
  }
  const path = join(ws, entry.notebook);
  if (existsSync(path)) {
    let kept = path.replace(/\.ipynb$/, ".before-reset.ipynb");
    for (let i = 2; existsSync(kept); i++) kept = path.replace(/\.ipynb$/, `.before-reset-${i}.ipynb`); // prettier-ignore
    renameSync(path, kept);
    console.log(`kept your notebook as ${kept.slice(ws.length + 1)}`);
  }
  writeFileAtomic(path, writeIpynb(readReleasedModule(ws, entry.module).studentNotebook));
  console.log(`${entry.notebook} is as it was given to you (if it is open in Jupyter, reload it)`);
  return 0;
}

/** The arguments Jupyter Notebook gets: the table's options, then whatever came after `--`. */
function jupyterArgs({ values, positionals }: ParsedCommand<typeof spec.options>): string[] {
  const out: string[] = [];
  // Jupyter refuses to run as root without it (a container, a CI image): say so and add it.
  if (process.getuid?.() === 0 && !positionals.includes("--allow-root")) {
    console.error("tito notebook: running as root, so Jupyter gets --allow-root");
    out.push("--allow-root");
  }
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
    cwd: coursePath(KIT_ROOT, "notebooks"),
    env: jupyterEnv(KIT_ROOT),
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
