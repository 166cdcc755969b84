// Small hand-made notebooks for transform tests (independent of the percent parser).
import type { Cell, CellMetadata, Notebook, NbgraderMetadata } from "@tinytorch-ts/core/notebook";

let counter = 0;

export function code(source: string, nbgrader?: NbgraderMetadata, extra: CellMetadata = {}): Cell {
  return {
    id: `c${++counter}`,
    cell_type: "code",
    source,
    metadata: nbgrader ? { ...extra, nbgrader } : { ...extra },
    execution_count: 3,
    outputs: [{ output_type: "stream", name: "stdout", text: "reference output 42\n" }],
  };
}

export function markdown(source: string, nbgrader?: NbgraderMetadata): Cell {
  return {
    id: `m${++counter}`,
    cell_type: "markdown",
    source,
    metadata: nbgrader ? { nbgrader } : {},
  };
}

export const solution = (id: string): NbgraderMetadata => ({
  grade: false,
  grade_id: id,
  locked: false,
  schema_version: 3,
  solution: true,
  task: false,
});

export const grade = (id: string, points: number): NbgraderMetadata => ({
  grade: true,
  grade_id: id,
  locked: true,
  points,
  schema_version: 3,
  solution: false,
  task: false,
});

export const readOnly = (id: string): NbgraderMetadata => ({
  grade: false,
  grade_id: id,
  locked: true,
  schema_version: 3,
  solution: false,
  task: false,
});

export function notebook(cells: Cell[]): Notebook {
  return {
    nbformat: 4,
    nbformat_minor: 5,
    metadata: {
      kernelspec: { name: "tslab", display_name: "TypeScript", language: "typescript" },
      jupytext: { text_representation: { extension: ".ts", format_name: "percent" } },
    },
    cells,
  };
}

/** A deep copy, to prove a transform left its input alone. */
export function snapshot(nb: Notebook): string {
  return JSON.stringify(nb);
}
