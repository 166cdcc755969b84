// Which modules a milestone needs, and in a student's workspace the first of them (in course
// order) that is not in the student's package yet. A milestone declares them (`export const
// needs = ["01_tensor", ...]`); one that does not is read from its imports: the package paths
// it and the milestone files it imports load, followed through the package's own imports, each
// mapped to the module that writes it.
import { existsSync, readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { packageStubs } from "./student-status";
import type { CourseFile, CourseModuleEntry } from "./workspace";

const IMPORT = /^\s*import\s[^;]*?from\s+"([^"]+)"/gm;

/** The package paths ("core/tensor") a file imports, and the local files it imports. */
function importsOf(text: string): { paths: string[]; local: string[] } {
  const paths: string[] = [];
  const local: string[] = [];
  for (const m of text.matchAll(IMPORT)) {
    if (/^\s*import\s+type\s/.test(m[0])) continue; // types load no code
    const spec = m[1]!;
    if (spec.startsWith("tinytorch-ts/")) paths.push(spec.slice("tinytorch-ts/".length));
    else if (spec.startsWith(".")) local.push(spec);
  }
  return { paths, local };
}

/**
 * The modules milestone `file` needs, in course order: `declared` when the milestone gives them,
 * else what its imports reach (`packageSrc` is the package's src/ directory).
 */
export function milestoneNeeds(
  file: string,
  declared: readonly string[] | undefined,
  course: CourseFile,
  packageSrc: string,
): CourseModuleEntry[] {
  const wanted = new Set<string>(declared ?? []);
  if (declared === undefined) {
    const owner = new Map<string, string>();
    for (const m of course.modules) for (const t of m.targets) owner.set(t, m.module);
    const seenFiles = new Set<string>();
    const seenPaths = new Set<string>();
    const visitPath = (p: string) => {
      if (seenPaths.has(p)) return;
      seenPaths.add(p);
      const module = owner.get(p);
      if (module) wanted.add(module);
      const src = join(packageSrc, `${p}.ts`);
      if (!existsSync(src)) return;
      for (const rel of importsOf(readFileSync(src, "utf8")).local) {
        visitPath(join(dirname(p), rel).split("\\").join("/"));
      }
    };
    const visitFile = (f: string) => {
      const path = existsSync(f) ? f : `${f}.ts`;
      if (seenFiles.has(path) || !existsSync(path)) return;
      seenFiles.add(path);
      const { paths, local } = importsOf(readFileSync(path, "utf8"));
      paths.forEach(visitPath);
      for (const rel of local) visitFile(resolve(dirname(path), rel));
    };
    visitFile(file);
  }
  return course.modules.filter((m) => wanted.has(m.module));
}

/** The first needed module whose exercises are still stubs in the student's package. */
export function firstMissing(
  ws: string,
  needs: CourseModuleEntry[],
): { entry: CourseModuleEntry; stubs: string[] } | undefined {
  for (const entry of needs) {
    const stubs = packageStubs(ws, entry);
    if (stubs.length > 0) return { entry, stubs };
  }
  return undefined;
}

/** What a student reads when a milestone cannot run yet. */
export function missingAdvice(
  milestone: string,
  needs: CourseModuleEntry[],
  missing: { entry: CourseModuleEntry; stubs: string[] },
): string {
  const { entry, stubs } = missing;
  const more = stubs.length > 1 ? ` and ${stubs.length - 1} more` : "";
  return [
    `milestone ${milestone} runs on your own package and needs modules ${needs.map((m) => m.number).join(", ")}.`, // prettier-ignore
    `The first one not in your package yet is ${entry.module} (exercise ${stubs[0]}${more} still "Not implemented").`, // prettier-ignore
    `Finish ${entry.notebook}, check it with \`npx tito test ${entry.number}\`, then run \`npx tito export ${entry.number}\`.`, // prettier-ignore
  ].join("\n");
}
