// How a student's package files name where their code came from: the cell of the student's own
// notebook (1-based, as Jupyter shows them top to bottom), and the exercise's grade_id when it
// has one. Cells hidden from students (`//| hide`) are provided code.
import { gradeId, isSolutionCell, type Notebook } from "@tinytorch-ts/core/notebook";
import type { Provenance } from "../export/package-file";

export const STUDENT_PROVENANCE = (notebook: string): Provenance => ({
  tool: "tito export",
  instruction: `edit ${notebook} and run \`npx tito export ${notebook}\``,
});

export function studentOrigins(notebookPath: string, pkg: Notebook, student: Notebook): string[] {
  const position = new Map(student.cells.map((c, i) => [c.id, i + 1]));
  return pkg.cells.map((cell) => {
    const at = position.get(cell.id);
    if (at === undefined) return `${notebookPath}: provided code (not shown in the notebook)`;
    const id = isSolutionCell(cell) ? gradeId(cell) : undefined;
    return id ? `${notebookPath}, cell ${at} (exercise ${id})` : `${notebookPath}, cell ${at}`;
  });
}
