// The reference submission of a module: the student notebook as the manifest describes it, with
// every solution cell holding the instructor's solution (the manifest carries it). Grading it
// must earn full marks (the audit and the course tests check it; the benchmark grades copies).
import type { GradingManifest } from "@tinytorch-ts/core";
import { writeIpynb, type Cell, type Notebook } from "@tinytorch-ts/core/notebook";

/** The reference solution of each solution cell, by grade_id (from the manifest). */
export function referenceSolutions(manifest: GradingManifest): Map<string, string> {
  const out = new Map<string, string>();
  for (const c of manifest.cells) {
    if ((c.role === "solution" || c.role === "manual") && c.grade_id !== undefined) {
      out.set(c.grade_id, c.gradingSource);
    }
  }
  return out;
}

/** The module's student notebook with the reference solutions filled in, as .ipynb text. */
export function referenceNotebook(manifest: GradingManifest): string {
  const cells: Cell[] = manifest.cells.map((c) => {
    const source = c.role === "solution" || c.role === "manual" ? c.gradingSource : c.studentSource;
    const base = { id: c.id, metadata: c.metadata, source };
    return c.cell_type === "code"
      ? { ...base, cell_type: "code", execution_count: null, outputs: [] }
      : { ...base, cell_type: c.cell_type };
  });
  const nb: Notebook = {
    nbformat: 4,
    nbformat_minor: 5,
    metadata: { kernelspec: manifest.kernelspec, language_info: { name: "typescript" } },
    cells,
  };
  return writeIpynb(nb);
}
