// The two round trips the converter guarantees, as a check that names what would change:
// .ts -> .ipynb -> .ts is byte-identical, and .ipynb -> .ts -> .ipynb keeps every cell's type,
// source and metadata (outputs, execution counts and Jupyter's run-state metadata such as
// `collapsed` or `execution` are dropped, as jupytext drops them).
import { SourceError } from "../errors";
import { parseIpynb, writeIpynb } from "./ipynb";
import { parsePercent, textMetadata, writePercent } from "./percent";
import { sortKeysDeep } from "./pyjson";
import type { Notebook } from "./types";

export type SourceKind = "ts" | "ipynb";

export function kindOfPath(file: string): SourceKind | undefined {
  if (/\.ts$/i.test(file)) return "ts";
  if (/\.ipynb$/i.test(file)) return "ipynb";
  return undefined;
}

function firstDifference(a: string, b: string): string {
  const x = a.split("\n");
  const y = b.split("\n");
  let i = 0;
  while (i < x.length && i < y.length && x[i] === y[i]) i++;
  const show = (l: string[]) => (i < l.length ? JSON.stringify(l[i]) : "end of file");
  return `line ${i + 1}: ${show(x)} became ${show(y)}`;
}

const stable = (v: unknown) => JSON.stringify(sortKeysDeep(v));

/** Problems with keeping `nb`'s cells through .ts and back (empty when none). */
export function compareThroughText(nb: Notebook, back: Notebook): string[] {
  const problems: string[] = [];
  if (back.cells.length !== nb.cells.length) {
    problems.push(`${nb.cells.length} cells became ${back.cells.length}`);
  }
  const filter = nb.metadata.jupytext?.cell_metadata_filter;
  nb.cells.forEach((cell, i) => {
    const other = back.cells[i];
    if (!other) return;
    if (other.cell_type !== cell.cell_type)
      problems.push(`cell ${i + 1}: type ${cell.cell_type} became ${other.cell_type}`);
    if (other.source !== cell.source) problems.push(`cell ${i + 1}: source changed`);
    const kept = textMetadata(cell, filter);
    if (stable(kept) !== stable(other.metadata)) problems.push(`cell ${i + 1}: metadata changed`);
    const lost = Object.keys(cell.metadata).filter((k) => !(k in kept));
    const content = lost.filter((k) => !(k === "tags" && Array.isArray(cell.metadata.tags)));
    if (content.length > 0 && filter !== undefined) {
      problems.push(
        `cell ${i + 1}: metadata ${content.join(", ")} removed by cell_metadata_filter`,
      );
    }
  });
  return problems;
}

/**
 * Check both round trips for a source text. Returns the problems found (empty when both hold).
 * Malformed input is reported by throwing SourceError, as the parsers do.
 */
export function checkRoundTrips(text: string, kind: SourceKind, file: string): string[] {
  const problems: string[] = [];
  let tsText: string;
  if (kind === "ts") {
    tsText = text;
  } else {
    const nb = parseIpynb(text, file);
    tsText = writePercent(nb, file);
    const back = parsePercent(tsText, file).notebook;
    problems.push(...compareThroughText(nb, back).map((p) => `.ipynb -> .ts -> .ipynb: ${p}`));
  }
  const parsed = parsePercent(tsText, file);
  const ipynb = writeIpynb(parsed.notebook);
  const nb2 = parseIpynb(ipynb, file.replace(/\.ts$/i, ".ipynb"));
  let tsAgain: string;
  try {
    tsAgain = writePercent(nb2, file);
  } catch (e) {
    if (!(e instanceof SourceError)) throw e;
    return [...problems, `.ts -> .ipynb -> .ts: ${e.problem}`];
  }
  if (tsAgain !== tsText) {
    problems.push(
      `.ts -> .ipynb -> .ts is not byte-identical: ${firstDifference(tsText, tsAgain)}`,
    );
  }
  if (kind === "ts") {
    const back = parsePercent(tsAgain, file).notebook;
    problems.push(...compareThroughText(nb2, back).map((p) => `.ipynb -> .ts -> .ipynb: ${p}`));
  }
  return problems;
}
