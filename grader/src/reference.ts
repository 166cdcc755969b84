// The reference submission of a module: the student notebook as the manifest describes it, with
// every solution cell replaced by the instructor's solution from the module source. Grading it
// must earn full marks (the benchmark grades copies of it; a test checks the full score).
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { KIT_ROOT, type GradingManifest, SourceError } from "@tinytorch-ts/core";
import {
  writeIpynb,
  stripDirectives,
  parsePercent,
  type Cell,
  type Notebook,
} from "@tinytorch-ts/core/notebook";

/** Solution sources by grade_id, read from the module's percent-format source. */
export function referenceSolutions(
  manifest: GradingManifest,
  repoRoot = KIT_ROOT,
): Map<string, string> {
  // prettier-ignore
  const file = join(repoRoot, manifest.sourceFile);
  const parsed = parsePercent(readFileSync(file, "utf8"), file);
  const out = new Map<string, string>();
  for (const cell of parsed.notebook.cells) {
    const nb = cell.metadata.nbgrader;
    if (nb?.solution === true && typeof nb.grade_id === "string") {
      out.set(nb.grade_id, stripDirectives(cell.source));
    }
  }
  return out;
}

/** The module's student notebook with the reference solutions filled in, as .ipynb text. */
export function referenceNotebook(manifest: GradingManifest, repoRoot = KIT_ROOT): string {
  const solutions = referenceSolutions(manifest, repoRoot);
  const cells: Cell[] = manifest.cells.map((c) => {
    let source = c.studentSource;
    if (c.role === "solution") {
      const ref = c.grade_id !== undefined ? solutions.get(c.grade_id) : undefined;
      if (ref === undefined) {
        throw new SourceError(manifest.sourceFile, undefined, `no solution for ${c.grade_id ?? c.id}`); // prettier-ignore
      }
      source = ref;
    }
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
