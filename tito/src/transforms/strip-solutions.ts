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

/**
 * The statement a code stub throws; tests and `demo()` recognise "Not implemented". The grade id
 * comes first (tools map it to its exercise); where one exercise has several stubs, the
 * function each one sits in follows, so that a stub in a helper (`erf`) does not claim to be
 * another function ("Not implemented: gelu (erf)").
 */
export function notImplementedLine(id: string, where?: string): string {
  const text = `Not implemented: ${id}${where ? ` (${where})` : ""}`;
  return `throw new Error(${JSON.stringify(text)});`;
}

/** Matches a stub's message; group 1 is the grade id. */
export const NOT_IMPLEMENTED_MESSAGE = /Not implemented: ([A-Za-z0-9_-]+)(?: \(([\w$.]+)\))?/;

const NOT_A_NAME = new Set(["if", "for", "while", "switch", "catch", "return", "function", "with"]);
const HEADER = [
  /^(?:export\s+)?(?:async\s+)?function\*?\s+([\w$]+)/,
  /^(?:export\s+)?(?:abstract\s+)?class\s+([\w$]+)/,
  /^(?:(?:public|private|protected|static|async|get|set|override|readonly)\s+)*([\w$]+)\s*(?:<[^>]*>)?\(/,
];

/** "GELU.forward": the functions, methods and classes that enclose line `begin`. */
export function enclosingName(lines: string[], begin: number, indent: string): string | undefined {
  const parts: string[] = [];
  let within = indent.length;
  for (let i = begin - 1; i >= 0 && within > 0; i--) {
    const line = lines[i] ?? "";
    const text = line.trim();
    const depth = line.length - line.trimStart().length;
    if (text === "" || depth >= within) continue;
    within = depth;
    const name = HEADER.map((re) => re.exec(text)?.[1]).find((n) => n !== undefined);
    if (name && !NOT_A_NAME.has(name)) parts.unshift(name);
  }
  return parts.length > 0 ? parts.join(".") : undefined;
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

function stubLines(cell: Cell, indent: string, where?: string): string[] {
  if (cell.cell_type === "markdown") return [indent + MARKDOWN_STUB];
  const id = gradeId(cell) ?? "exercise";
  return [indent + CODE_STUB_COMMENT, indent + notImplementedLine(id, where)];
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
  const stubbed = regions.filter((r) => regionFate(r.role, tier) === "stub").length;
  for (const region of [...regions].sort((a, b) => a.begin - b.begin)) {
    out.push(...lines.slice(next, region.begin));
    const fate = regionFate(region.role, tier);
    const where = stubbed > 1 ? enclosingName(lines, region.begin, region.indent) : undefined;
    if (fate === "keep") out.push(...lines.slice(region.begin + 1, region.end));
    else if (fate === "stub") out.push(...stubLines(cell, region.indent, where));
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
