// A student workspace is the bundle `tito release` writes. Its `.tito/` directory tells the
// student commands what they need without the instructor's sources:
//   .tito/course.json          the modules, in order, with their notebooks and package files
//   .tito/modules/NN_name.json the module as released: the pristine student notebook (to
//                              restore locked cells when testing) and the package notebook
//                              (stubs, plus provided `//| hide` cells) that `tito export` fills
//                              with the student's solutions
//   .tito/status.json          results of the student's last `tito test` per module
import { existsSync, readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { writeFileAtomic } from "@tinytorch-ts/core";
import { parseIpynb, type Notebook } from "@tinytorch-ts/core/notebook";

export const WORKSPACE_DIR = ".tito";

export interface CourseModuleEntry {
  number: string;
  module: string;
  /** Workspace-relative notebook, "notebooks/01_tensor.ipynb". */
  notebook: string;
  /** Package paths this module writes. */
  targets: string[];
}

export interface CourseFile {
  schema: 1;
  tier: string;
  modules: CourseModuleEntry[];
}

export interface ReleasedModule {
  schema: 1;
  module: string;
  number: string;
  notebook: string;
  /** The student notebook exactly as released. */
  studentNotebook: Notebook;
  /** Stripped module notebook the package is exported from (same cells plus hidden ones). */
  packageNotebook: Notebook;
  /** For each package-notebook cell, how package files name its origin. */
  origins: string[];
}

export interface TestRecord {
  /** sha256 of the notebook file that was tested. */
  notebookHash: string;
  passed: number;
  failed: number;
  points: number;
  totalPoints: number;
  /** Grade ids of the failing test cells. */
  failing: string[];
  at: string;
}

export type StatusFile = Record<string, TestRecord>;

/** The workspace containing `from` (a file or directory), found by its .tito/course.json. */
export function findWorkspace(from: string = process.cwd()): string | undefined {
  let dir = resolve(from);
  for (;;) {
    if (existsSync(join(dir, WORKSPACE_DIR, "course.json"))) return dir;
    const up = dirname(dir);
    if (up === dir) return undefined;
    dir = up;
  }
}

export function readCourse(ws: string): CourseFile {
  return JSON.parse(readFileSync(join(ws, WORKSPACE_DIR, "course.json"), "utf8")) as CourseFile;
}

export function releasedModulePath(ws: string, module: string): string {
  return join(ws, WORKSPACE_DIR, "modules", `${module}.json`);
}

export function readReleasedModule(ws: string, module: string): ReleasedModule {
  return JSON.parse(readFileSync(releasedModulePath(ws, module), "utf8")) as ReleasedModule;
}

export function readStatus(ws: string): StatusFile {
  try {
    return JSON.parse(readFileSync(join(ws, WORKSPACE_DIR, "status.json"), "utf8")) as StatusFile;
  } catch {
    return {};
  }
}

export function recordTest(ws: string, module: string, record: TestRecord): void {
  const status = readStatus(ws);
  status[module] = record;
  writeFileAtomic(join(ws, WORKSPACE_DIR, "status.json"), JSON.stringify(status, null, 2) + "\n");
}

/** The module a notebook argument names: a path to NN_name.ipynb, "NN_name" or just "NN". */
export function resolveModule(course: CourseFile, arg: string): CourseModuleEntry | undefined {
  const base = arg.replace(/\\/g, "/").split("/").pop() ?? arg;
  const stem = base.endsWith(".ipynb") ? base.slice(0, -6) : base;
  return course.modules.find(
    (m) => m.module === stem || m.number === stem || m.number === stem.padStart(2, "0"),
  );
}

/** A student's notebook for one module, read, with what was released for it. */
export interface OpenedNotebook {
  ws: string;
  entry: CourseModuleEntry;
  /** The notebook file read: the argument if it is a path, else the module's in the workspace. */
  path: string;
  text: string;
  student: Notebook;
  released: ReleasedModule;
}

/**
 * What `tito test` and `tito export` start from: the workspace (given, around the notebook, or
 * around the working directory), the module the argument names, and the student's notebook,
 * parsed. Whatever is missing or unreadable is an error message, with the module when known.
 */
export function openStudentNotebook(
  arg: string,
  workspace?: string,
): OpenedNotebook | { error: string; module?: string; path?: string } {
  const ws = workspace ?? (existsSync(arg) ? findWorkspace(resolve(arg)) : undefined) ?? findWorkspace(); // prettier-ignore
  if (!ws) return { error: "not inside a course workspace (a directory made by `tito release`)" };
  const entry = resolveModule(readCourse(ws), arg);
  if (!entry) return { error: `${arg}: not one of this course's notebooks (give its path or number)` }; // prettier-ignore
  const path = arg.endsWith(".ipynb") ? resolve(arg) : join(ws, entry.notebook);
  try {
    const text = readFileSync(path, "utf8");
    const student = parseIpynb(text, path);
    return { ws, entry, path, text, student, released: readReleasedModule(ws, entry.module) };
  } catch (e) {
    return { error: e instanceof Error ? e.message : String(e), module: entry.module, path };
  }
}
