// Where things are. Two roots, each found one way:
// - KIT_ROOT: where the kit itself is installed, found from this file: the node_modules the
//   tools run with, the grader's manifests, the milestones. In the kit's repository it is the
//   repository; in a student bundle it is the bundle.
// - findCourseRoot(): the course a command works on (modules/ and tinytorch-ts/), found from
//   the working directory, so `tito build --root DIR` or a test fixture can be another course.
import { existsSync } from "node:fs";
import { dirname, join, resolve } from "node:path";

export const KIT_ROOT = resolve(__dirname, "..", "..");

/** The nearest directory at or above `from` that has both modules/ and tinytorch-ts/. */
export function findCourseRoot(from: string = process.cwd()): string {
  let dir = resolve(from);
  for (;;) {
    if (existsSync(join(dir, "modules")) && existsSync(join(dir, "tinytorch-ts"))) return dir;
    const up = dirname(dir);
    if (up === dir) {
      throw new Error(
        `no course repository (a directory with modules/ and tinytorch-ts/) at or above ${from}`,
      );
    }
    dir = up;
  }
}
