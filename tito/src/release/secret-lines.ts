// Which lines a release must never contain. The rule (also in the release README section):
//
//   A line is SECRET when it lies inside a solution region that the release tier turns into a
//   stub or removes (plain and role="instructor" regions; role="challenge" ones in the challenge
//   tier; the whole body of a solution cell without markers), or inside a hidden-test region,
//   AND it appears nowhere else: not outside those regions in any module source, and not in a
//   file the kit ships verbatim (tito's own code, tinytorch-ts/src/support/).
//   Lines are compared NORMALISED: leading comment markers (//, #, *, /*) dropped, all
//   whitespace removed, trailing ; and , dropped, so reformatting (prettier, tsc's emit, the
//   markdown/comment form of a line) does not hide a leak.
//   A normalised line is TRIVIAL, and never secret, when it has fewer than 8 letters or digits
//   (`}`, `return x;`, `i++`) or is a single word between punctuation (`confidenceLevel,` in an
//   object literal, `total;` from tsc's emit of a class field): such lines appear everywhere
//   and say nothing about a solution. A line of a hidden test (or a rubric) needs twice as many
//   (16) to count: a short statement of a test (`layer.eval();`, `out.push(id);`) is just as
//   likely in ordinary package code, and says nothing of what the test checks.
import { findRegions, isDirectiveLine, type Notebook } from "@tinytorch-ts/core/notebook";
import { isGradeCell, isSolutionCell, sourceLines } from "../transforms/cells";
import { regionFate, type ReleaseTier } from "../transforms/strip-solutions";

export const MIN_SIGNIFICANT_CHARS = 8;
/** The same for a line of a hidden test or a rubric (see the rule above). */
export const MIN_SIGNIFICANT_TEST_CHARS = 16;

export function normalizeLine(line: string): string {
  return line
    .trim()
    .replace(/^(?:\/\/+|#+|\/\*+|\*+)\s*/, "")
    .replace(/\s+/g, "")
    .replace(/[;,]+$/, "");
}

const WORD = /[\p{L}\p{N}_$]+/gu;

/** Whether a source line (as written, not normalised) is too common to count as a secret. */
export function isTrivial(line: string, kind: SecretOrigin["kind"] = "solution"): boolean {
  const significant = normalizeLine(line).match(/[\p{L}\p{N}]/gu)?.length ?? 0;
  const min = kind === "solution" ? MIN_SIGNIFICANT_CHARS : MIN_SIGNIFICANT_TEST_CHARS;
  if (significant < min) return true;
  return (line.match(WORD)?.length ?? 0) < 2;
}

export interface SecretOrigin {
  /** Repository-relative module source. */
  sourceFile: string;
  /** 1-based line in the module source. */
  line: number;
  kind: "solution" | "hidden test" | "rubric";
}

export interface SourceForAudit {
  sourceFile: string;
  notebook: Notebook;
  cellLine: (cellIndex: number) => number;
}

/** Per cell: which line indices are secret (and of which kind). */
function secretLineKinds(
  nb: Notebook,
  tier: ReleaseTier,
): Map<number, Map<number, SecretOrigin["kind"]>> {
  const out = new Map<number, Map<number, SecretOrigin["kind"]>>();
  nb.cells.forEach((cell, i) => {
    const marks = new Map<number, SecretOrigin["kind"]>();
    const lines = sourceLines(cell.source);
    if (isSolutionCell(cell)) {
      const regions = findRegions(cell.source, "solution", undefined, undefined, cell.cell_type);
      if (regions.length === 0) {
        lines.forEach((l, j) => {
          if (!isDirectiveLine(l)) marks.set(j, "solution");
        });
      }
      for (const r of regions) {
        if (regionFate(r.role, tier) === "keep") continue;
        for (let j = r.begin + 1; j < r.end; j++) marks.set(j, "solution");
      }
    }
    if (isGradeCell(cell)) {
      for (const r of findRegions(cell.source, "hidden", undefined, undefined, cell.cell_type)) {
        for (let j = r.begin + 1; j < r.end; j++) marks.set(j, "hidden test");
      }
      for (const r of findRegions(cell.source, "rubric", undefined, undefined, cell.cell_type)) {
        for (let j = r.begin + 1; j < r.end; j++) marks.set(j, "rubric");
      }
    }
    if (marks.size > 0) out.set(i, marks);
  });
  return out;
}

/**
 * The secret lines of all sources, normalised, each with where it comes from. `publicText` is
 * the text of files the kit ships verbatim; its lines are never secret.
 */
export function collectSecrets(
  sources: SourceForAudit[],
  tier: ReleaseTier,
  publicText: string[] = [],
): Map<string, SecretOrigin> {
  const secret = new Map<string, SecretOrigin>();
  const open = new Set<string>();
  for (const text of publicText) for (const l of text.split("\n")) open.add(normalizeLine(l));
  for (const src of sources) {
    const kinds = secretLineKinds(src.notebook, tier);
    src.notebook.cells.forEach((cell, i) => {
      const marks = kinds.get(i);
      sourceLines(cell.source).forEach((line, j) => {
        const key = normalizeLine(line);
        const kind = marks?.get(j);
        if (isTrivial(line, kind)) return;
        if (kind === undefined) open.add(key);
        else if (!secret.has(key)) {
          secret.set(key, { sourceFile: src.sourceFile, line: src.cellLine(i) + j, kind });
        }
      });
    });
  }
  for (const key of open) secret.delete(key);
  return secret;
}
