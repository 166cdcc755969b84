// Deterministic nbformat 4.5 cell ids. Jupyter makes random ids; we derive them from the cell's
// nbgrader grade_id when it has one (stable across edits, and readable in the grader's reports),
// otherwise from the module name and the cell's position, so that rebuilding a notebook from the
// same source gives byte-identical output. Ids are valid per the schema (^[a-zA-Z0-9-_]+$,
// 1-64 characters) and unique within a notebook.
import { createHash } from "node:crypto";
import { basename } from "node:path";

export const CELL_ID_RE = /^[a-zA-Z0-9-_]+$/;
const MAX_ID = 64;

export function isValidCellId(id: unknown): id is string {
  return typeof id === "string" && id.length >= 1 && id.length <= MAX_ID && CELL_ID_RE.test(id);
}

/** `modules/02_activations/activations_dev.ts` -> `activations`. */
export function moduleNameFromPath(file: string): string {
  const base = basename(file)
    .replace(/\.(ts|ipynb)$/i, "")
    .replace(/_dev$/, "");
  return sanitize(base) || "notebook";
}

function sanitize(s: string): string {
  return s.replace(/[^a-zA-Z0-9_-]+/g, "-").replace(/^-+|-+$/g, "");
}

/** Shorten an id to the schema's limit, keeping it unique by a short hash of the whole. */
function fit(id: string): string {
  if (id.length <= MAX_ID) return id;
  const hash = createHash("sha256").update(id).digest("hex").slice(0, 8);
  return `${id.slice(0, MAX_ID - 9)}-${hash}`;
}

export interface CellIdInput {
  /** The cell's existing id, kept when valid and not already taken. */
  id?: unknown;
  gradeId?: unknown;
}

/**
 * Ids for a notebook's cells, in order. Existing valid ids are kept (first occurrence wins);
 * then grade_id-based ids; then `<module>-<index>` for the rest. Collisions get `-2`, `-3`, ...
 */
export function assignCellIds(cells: CellIdInput[], moduleName: string): string[] {
  const used = new Set<string>();
  const ids: (string | undefined)[] = cells.map(() => undefined);
  const claim = (i: number, candidate: string) => {
    let id = fit(candidate);
    for (let k = 2; used.has(id); k++) id = fit(`${candidate}-${k}`);
    used.add(id);
    ids[i] = id;
  };
  cells.forEach((c, i) => {
    if (isValidCellId(c.id) && !used.has(c.id)) {
      used.add(c.id);
      ids[i] = c.id;
    }
  });
  cells.forEach((c, i) => {
    if (ids[i] === undefined && typeof c.gradeId === "string" && sanitize(c.gradeId)) {
      claim(i, sanitize(c.gradeId));
    }
  });
  const prefix = sanitize(moduleName) || "cell";
  cells.forEach((_, i) => {
    if (ids[i] === undefined) claim(i, `${prefix}-${i}`);
  });
  return ids as string[];
}
