// The module sources of a course, `modules/NN_name/name_dev.ts`, in course order. The course
// root itself is found by `findCourseRoot` in @tinytorch-ts/core.
import { existsSync, readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { SourceError, coursePath } from "@tinytorch-ts/core";

export interface ModuleInfo {
  /** "01" */
  number: string;
  /** "01_tensor" */
  module: string;
  /** Repository-relative source path, "modules/01_tensor/tensor_dev.ts". */
  sourceFile: string;
  /** Absolute source path. */
  path: string;
}

const MODULE_DIR = /^(\d{2})_([a-z0-9_]+)$/;

/**
 * Every module source, ordered by number. A module directory without a `*_dev.ts` file yet is
 * skipped (someone is starting it); two sources in one directory, or two directories with the
 * same number, are errors.
 */
export function listModules(root: string): ModuleInfo[] {
  const modulesDir = coursePath(root, "modules");
  if (!existsSync(modulesDir)) return [];
  const out: ModuleInfo[] = [];
  const byNumber = new Map<string, string>();
  for (const entry of readdirSync(modulesDir).sort()) {
    const m = MODULE_DIR.exec(entry);
    const dir = join(modulesDir, entry);
    if (!m || !statSync(dir).isDirectory()) continue;
    const sources = readdirSync(dir)
      .filter((f) => f.endsWith("_dev.ts"))
      .sort();
    if (sources.length === 0) continue;
    const number = m[1] ?? "";
    if (sources.length > 1) {
      throw new SourceError(
        `modules/${entry}`,
        undefined,
        `more than one *_dev.ts source: ${sources.join(", ")}`,
      );
    }
    const other = byNumber.get(number);
    if (other) {
      throw new SourceError(
        `modules/${entry}`,
        undefined,
        `module number ${number} is also used by modules/${other}`,
      );
    }
    byNumber.set(number, entry);
    const file = sources[0] ?? "";
    out.push({
      number,
      module: entry,
      sourceFile: `modules/${entry}/${file}`,
      path: join(dir, file),
    });
  }
  return out;
}
