// `tito status` (student command)
import { moduleStatuses, renderStatus } from "../student/student-status";
import { findWorkspace } from "../student/workspace";

export const summary = "show which modules are complete";

export async function run(args: string[]): Promise<number> {
  if (args.includes("--help") || args.includes("-h")) {
    console.log(
      "usage: tito status\n\nLists each module: exercises attempted, last `tito test`, export state.",
    );
    return 0;
  }
  const ws = findWorkspace();
  if (!ws) {
    console.error(
      "tito status: not inside a course workspace (a directory made by `tito release`)",
    );
    return 1;
  }
  console.log(renderStatus(moduleStatuses(ws)));
  return 0;
}
