// Shared by the grader tests: the hand-made fixture manifest (tests/fixtures/grader/) and a way
// to write the notebook a student would hand in, with their answers in the solution cells.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { GradingManifest } from "@tinytorch-ts/core";

export const FIXTURES = join(__dirname, "..", "fixtures", "grader");

export function loadFixtureManifest(name = "90_fixture"): GradingManifest {
  return JSON.parse(readFileSync(join(FIXTURES, `${name}.json`), "utf8")) as GradingManifest;
}

/** Correct answers for the fixture's exercises. */
export const GOOD: Record<string, string> = {
  double: "function double(x: number): number {\n  return 2 * x;\n}",
  triple: "function triple(x: number): number {\n  return 3 * x;\n}",
};

export interface StudentEdits {
  /** New sources by grade_id (solution or any other cell). */
  sources?: Record<string, string>;
  /** Cell types by grade_id. */
  types?: Record<string, "code" | "markdown" | "raw">;
  /** grade_ids whose cells are removed. */
  remove?: string[];
  /** Cells appended at the end, as raw nbformat cells. */
  extra?: unknown[];
  /** Reverse the order of cells. */
  reverse?: boolean;
}

/** The student notebook (nbformat 4.5 JSON text) for `manifest`, with edits applied. */
export function studentNotebook(manifest: GradingManifest, edits: StudentEdits = {}): string {
  let cells: unknown[] = manifest.cells
    .filter((c) => !(c.grade_id && edits.remove?.includes(c.grade_id)))
    .map((c) => {
      const id = c.grade_id ?? "";
      const source = edits.sources?.[id] ?? c.studentSource;
      const cellType = edits.types?.[id] ?? c.cell_type;
      const base = { id: c.id, cell_type: cellType, metadata: c.metadata, source: source.split(/(?<=\n)/) }; // prettier-ignore
      return cellType === "code" ? { ...base, execution_count: null, outputs: [] } : base;
    });
  if (edits.extra) cells = [...cells, ...edits.extra];
  if (edits.reverse) cells = [...cells].reverse();
  return JSON.stringify({
    nbformat: 4,
    nbformat_minor: 5,
    metadata: { kernelspec: manifest.kernelspec, language_info: { name: "typescript" } },
    cells,
  });
}

/** Right for positive inputs only: passes each visible check, fails the hidden negative inputs. */
export const WRONG_FOR_NEGATIVES_SOURCES: Record<string, string> = {
  double: "function double(x: number): number {\n  return x >= 0 ? 2 * x : 0;\n}",
  triple: "function triple(x: number): number {\n  return x >= 0 ? 3 * x : 0;\n}",
};

/** Hidden-test text of the fixture that must never reach a student. */
export const HIDDEN_SNIPPETS = ["secretInput", "-3.5", "triple(-1.25)", "[1, 2, 3].map(triple)"];
