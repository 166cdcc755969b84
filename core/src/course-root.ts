// Where things are. Two roots, each found one way:
// - KIT_ROOT: where the kit itself is installed, found from this file: the node_modules the
//   tools run with, the grader's manifests, the milestones. In the kit's repository it is the
//   repository; in a student bundle it is the bundle.
// - findCourseRoot(): the course a command works on (modules/ and tinytorch-ts/), found from
//   the working directory, so `tito build --root DIR` or a test fixture can be another course;
//   resolveCourseRoot() is the grading commands' version, which falls back to the kit's course.
// And one layout inside either: COURSE_PATHS names where each part lives, for every command
// that writes or reads it (the build, the release, the grader, the student commands).
import { existsSync } from "node:fs";
import { dirname, join, resolve } from "node:path";

export const KIT_ROOT = resolve(__dirname, "..", "..");

/** Where each part of a course (or a student bundle) lives, relative to its root. */
export const COURSE_PATHS = {
  /** The module sources, modules/NN_name/name_dev.ts. */
  modules: "modules",
  /** The generated student notebooks, NN_name.ipynb (in a bundle: the student's own). */
  notebooks: "notebooks",
  /** The package source, generated from `//| export` cells (and the student's, in a bundle). */
  packageSrc: "tinytorch-ts/src",
  /** The hand-written kit support inside the package source. */
  support: "tinytorch-ts/src/support",
  /** The grading manifests, NN_name.json (instructors only). */
  manifests: "grader/manifests",
} as const;

export type CoursePart = keyof typeof COURSE_PATHS;

/** The absolute path of a part of the course at `root` (and of a file in it). */
export function coursePath(root: string, part: CoursePart, ...rest: string[]): string {
  return join(root, COURSE_PATHS[part], ...rest);
}

/** The nearest directory at or above `from` that has both modules/ and tinytorch-ts/. */
export function findCourseRoot(from: string = process.cwd()): string {
  let dir = resolve(from);
  for (;;) {
    if (existsSync(coursePath(dir, "modules")) && existsSync(join(dir, "tinytorch-ts"))) return dir;
    const up = dirname(dir);
    if (up === dir) {
      throw new Error(
        `no course repository (a directory with modules/ and tinytorch-ts/) at or above ${from}`,
      );
    }
    dir = up;
  }
}

/**
 * The course a grading command works on: `--root DIR` when given, else the course around the
 * working directory, else the kit's own (an instructor may grade from a folder of submissions
 * outside any course). `tito build` writes a course's manifests and package under the same root
 * (found the same way), so what is graded is always what was built.
 */
export function resolveCourseRoot(option?: string, from: string = process.cwd()): string {
  if (option !== undefined) return resolve(option);
  try {
    return findCourseRoot(from);
  } catch {
    return KIT_ROOT;
  }
}
