// Student notebooks ship without outputs or execution counts: outputs of the reference run
// would show the solution's results (and sometimes its code, in tracebacks).
import type { Notebook } from "@tinytorch-ts/core/notebook";
import { mapCells } from "./cells";

export function clearOutputs(nb: Notebook): Notebook {
  return mapCells(nb, (cell) =>
    cell.cell_type === "code" ? { ...cell, outputs: [], execution_count: null } : cell,
  );
}
