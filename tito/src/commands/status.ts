// `tito status` (student command)
import { runCommand } from "@tinytorch-ts/core";
import { moduleStatuses, renderStatus } from "../student/student-status";
import { spec } from "./status.args";
import { findWorkspace } from "../student/workspace";

export function run(args: string[]): Promise<number> {
  return runCommand(spec, args, status);
}

function status(): number {
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
