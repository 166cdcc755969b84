// Every locked or grade cell carries a sha256 of what it is for grading: its type, source and
// nbgrader flags. The build writes it (tito/src/transforms/checksum.ts). The grader recomputes
// it, as nbgrader's overwritecells does, from each submitted cell (grader/src/reconstruct.ts)
// and from each cell of a manifest it loads (grader/src/manifest-store.ts), and compares both
// with the manifest's. This is the one definition both sides use.
import { createHash } from "node:crypto";

/** The nbgrader flags a checksum covers; untyped, because a submission may hold anything. */
export interface ChecksummedFlags {
  grade_id?: unknown;
  grade?: unknown;
  solution?: unknown;
  locked?: unknown;
  points?: unknown;
}

/** What a checksum is computed from: a notebook cell, a submitted cell or a manifest cell. */
export interface ChecksummedCell {
  cell_type: string;
  source: string;
  metadata: { nbgrader?: ChecksummedFlags };
}

export function cellChecksum(cell: ChecksummedCell): string {
  const nb = cell.metadata.nbgrader ?? {};
  const canonical = JSON.stringify([
    cell.cell_type,
    // Line endings are normalised: an editor on Windows must not look like tampering.
    cell.source.replace(/\r\n?/g, "\n"),
    nb.grade_id ?? null,
    nb.grade === true,
    nb.solution === true,
    nb.locked === true,
    typeof nb.points === "number" ? nb.points : null,
  ]);
  return createHash("sha256").update(canonical).digest("hex");
}
