// Small in-memory notebooks for the runner tests.
import type { Cell, Notebook } from "../../core/src/notebook/types";
import { TSLAB_KERNELSPEC, TSLAB_LANGUAGE_INFO } from "../../core/src/notebook/types";

export function code(source: string, id?: string): Cell {
  return {
    cell_type: "code",
    id: id ?? `c${Math.abs(hash(source))}`,
    metadata: {},
    source,
    execution_count: null,
    outputs: [],
  };
}

export function markdown(source: string): Cell {
  return { cell_type: "markdown", id: `m${Math.abs(hash(source))}`, metadata: {}, source };
}

export function notebook(cells: Cell[]): Notebook {
  return {
    nbformat: 4,
    nbformat_minor: 5,
    metadata: { kernelspec: { ...TSLAB_KERNELSPEC }, language_info: { ...TSLAB_LANGUAGE_INFO } },
    cells,
  };
}

function hash(s: string): number {
  let h = 0;
  for (let i = 0; i < s.length; i++) h = (h * 31 + s.charCodeAt(i)) | 0;
  return h;
}
