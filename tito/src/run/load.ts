// What `tito run` accepts, turned into a notebook to run: an .ipynb file, a module source in
// percent format (converted in memory, never written), or a module named by number or name.
// Everything is read and checked here, before any kernel starts.
import { existsSync, readFileSync, statSync } from "node:fs";
import { dirname, relative, resolve } from "node:path";
import { findCourseRoot } from "@tinytorch-ts/core";
import { listModules } from "../build/discover";
import { takeMutations } from "../build/mutations";
import { decodeUtf8, parseIpynb, parsePercent, type Notebook } from "@tinytorch-ts/core/notebook";
import { checkRunnable } from "@tinytorch-ts/core/run";

export interface RunnableNotebook {
  kind: "ipynb" | "module";
  /** Absolute path of the file read. */
  path: string;
  /** How to name it to the user (the path as given, or the module's source path). */
  display: string;
  /** The kernel's working directory: the file's directory, as Jupyter does. */
  cwd: string;
  notebook: Notebook;
}

function readText(path: string, display: string): string {
  if (!existsSync(path)) throw new Error(`${display}: no such file`);
  if (!statSync(path).isFile()) throw new Error(`${display}: not a file`);
  return decodeUtf8(readFileSync(path), display);
}

/** Finds a module by number ("1", "01"), directory name ("01_tensor") or name ("tensor"). */
function findModule(arg: string): string | undefined {
  let root: string;
  try {
    root = findCourseRoot(process.cwd());
  } catch {
    return undefined;
  }
  const modules = listModules(root);
  const hit = modules.find(
    (m) =>
      m.number === arg.padStart(2, "0") ||
      m.module === arg ||
      m.module.slice(m.number.length + 1) === arg,
  );
  return hit?.path;
}

export function loadRunnable(input: string): RunnableNotebook {
  const path = resolve(input);
  const display = input;
  if (input.endsWith(".ipynb")) {
    const notebook = parseIpynb(readText(path, display), display);
    checkRunnable(notebook, display);
    return { kind: "ipynb", path, display, cwd: dirname(path), notebook };
  }
  const source = input.endsWith(".ts") ? path : findModule(input);
  if (!source) {
    throw new Error(`${input}: not a notebook (.ipynb), a module source (.ts), or a module name`);
  }
  const shown = input.endsWith(".ts") ? display : relative(process.cwd(), source);
  // A module source runs as its notebook: the audit's wrong answers (`//| mutation` cells) are
  // not part of it.
  const notebook = takeMutations(parsePercent(readText(source, shown), shown).notebook).notebook;
  checkRunnable(notebook, shown);
  return { kind: "module", path: source, display: shown, cwd: dirname(source), notebook };
}
