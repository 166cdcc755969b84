// Turns the reference solutions into what students start from. Each solution region becomes a
// stub at the region's own indentation, so the surrounding code (class, method signature) stays
// intact and the stub's `throw` tells a test exactly which exercise is missing. Release tiers
// decide what a role="..." region becomes:
//   scaffold   : given to every student (markers removed, code kept)
//   instructor : removed without a stub (notes for teaching staff only)
//   challenge  : given in the default tier, an exercise in the challenge tier
import { findRegions, type Cell, type Notebook, type Transform } from "@tinytorch-ts/core/notebook";
import { gradeId, isSolutionCell, mapCells, sourceLines } from "./cells";

export type Tier = "default" | "challenge";

export const TIERS: readonly Tier[] = ["default", "challenge"];

export const CODE_STUB_COMMENT = "// YOUR CODE HERE";
export const MARKDOWN_STUB = "YOUR ANSWER HERE";

/** The statement a code stub throws; tests and `demo()` recognise "Not implemented". */
export function notImplementedLine(id: string): string {
  return `throw new Error(${JSON.stringify(`Not implemented: ${id}`)});`;
}

type RegionFate = "stub" | "keep" | "remove";

export function regionFate(role: string | undefined, tier: Tier): RegionFate {
  switch (role) {
    case "scaffold":
      return "keep";
    case "instructor":
      return "remove";
    case "challenge":
      return tier === "challenge" ? "stub" : "keep";
    default:
      return "stub";
  }
}

function stubLines(cell: Cell, indent: string): string[] {
  if (cell.cell_type === "markdown") return [indent + MARKDOWN_STUB];
  const id = gradeId(cell) ?? "exercise";
  return [indent + CODE_STUB_COMMENT, indent + notImplementedLine(id)];
}

/** Leading `//| ...` directive lines stay when a whole cell is replaced by a stub. */
function leadingDirectives(lines: string[]): string[] {
  const out: string[] = [];
  for (const line of lines) {
    if (!/^\s*\/\/\|/.test(line)) break;
    out.push(line);
  }
  return out;
}

/** The student version of one solution cell's source. */
export function stripSolutionSource(cell: Cell, tier: Tier): string {
  const lines = sourceLines(cell.source);
  const regions = findRegions(cell.source, "solution", undefined, undefined, cell.cell_type);
  if (regions.length === 0) {
    // nbgrader's rule: a solution cell without markers is entirely the student's answer.
    if (cell.cell_type === "markdown") return MARKDOWN_STUB;
    return [...leadingDirectives(lines), ...stubLines(cell, "")].join("\n");
  }
  const out: string[] = [];
  let next = 0;
  for (const region of [...regions].sort((a, b) => a.begin - b.begin)) {
    out.push(...lines.slice(next, region.begin));
    const fate = regionFate(region.role, tier);
    if (fate === "keep") out.push(...lines.slice(region.begin + 1, region.end));
    else if (fate === "stub") out.push(...stubLines(cell, region.indent));
    next = region.end + 1;
  }
  out.push(...lines.slice(next));
  return out.join("\n");
}

/** Replaces the solution regions of every solution cell, for the given release tier. */
export function stripSolutions(tier: Tier = "default"): Transform {
  return (nb: Notebook) =>
    mapCells(nb, (cell) =>
      isSolutionCell(cell) ? { ...cell, source: stripSolutionSource(cell, tier) } : cell,
    );
}
