// Hidden tests live inside grade cells between BEGIN/END HIDDEN TESTS markers. Students get the
// grade cell without them (markers included); the grader restores them from the manifest.
import {
  findRegions,
  type CellType,
  type Notebook,
  type RegionKind,
} from "@tinytorch-ts/core/notebook";
import { isGradeCell, mapCells, sourceLines } from "./cells";

/** A source without the regions of one kind, their marker lines included. */
export function removeRegions(source: string, kind: RegionKind, cellType: CellType): string {
  const regions = findRegions(source, kind, undefined, undefined, cellType);
  if (regions.length === 0) return source;
  const drop = new Set<number>();
  for (const r of regions) for (let i = r.begin; i <= r.end; i++) drop.add(i);
  return sourceLines(source)
    .filter((_line, i) => !drop.has(i))
    .join("\n");
}

export function removeHiddenTests(source: string, cellType: CellType = "code"): string {
  return removeRegions(source, "hidden", cellType);
}

export function clearHiddenTests(nb: Notebook): Notebook {
  return mapCells(nb, (cell) =>
    isGradeCell(cell) ? { ...cell, source: removeHiddenTests(cell.source, cell.cell_type) } : cell,
  );
}
