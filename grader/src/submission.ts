// Reads a student's .ipynb leniently. A submission is untrusted input that may be anything: not
// JSON, another format, a notebook saved by an old Jupyter without cell ids. The grader needs
// only each cell's type, source and nbgrader metadata, so it reads just those and never throws:
// a file it cannot use becomes a rejection with a reason the student can act on.
import { createHash } from "node:crypto";
import type { ChecksummedFlags } from "@tinytorch-ts/core";

export interface SubmittedCell {
  /** Position in the submitted notebook. */
  position: number;
  cellType: string;
  /** Source as one string, line endings normalised to "\n". */
  source: string;
  id?: string;
  gradeId?: string;
  checksum?: string;
  /** The nbgrader flags the cell checksum covers, as submitted (recomputed by reconstruct). */
  flags: ChecksummedFlags;
}

export type ParsedSubmission =
  { ok: true; cells: SubmittedCell[]; kernelLanguage?: string } | { ok: false; reason: string };

export function sha256Hex(data: string | Uint8Array): string {
  return createHash("sha256").update(data).digest("hex");
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function joinSource(source: unknown): string | undefined {
  if (typeof source === "string") return source;
  if (Array.isArray(source) && source.every((s) => typeof s === "string")) return source.join("");
  return undefined;
}

export function normaliseNewlines(text: string): string {
  return text.replace(/\r\n?/g, "\n");
}

/** Only the keys a checksum covers, whatever their (untrusted) values. */
function checksummedFlags(nbgrader: Record<string, unknown>): ChecksummedFlags {
  const flags: ChecksummedFlags = {};
  for (const key of ["grade_id", "grade", "solution", "locked", "points"] as const) {
    if (key in nbgrader) flags[key] = nbgrader[key];
  }
  return flags;
}

/**
 * Where JSON.parse stopped, as "line L, column C", never what it found there: V8's message
 * quotes the text (`Unexpected token 'r', "root:x:0:0"... is not valid JSON`), and a reason
 * must not echo the bytes of a file. Only the offset V8 gives is kept; some messages have none.
 */
function jsonErrorPlace(error: unknown, text: string): string {
  const message = error instanceof Error ? error.message : "";
  if (/^Unexpected end of JSON input/.test(message)) return " (the file ends too early)";
  const match = / at position (\d+)/.exec(message);
  if (!match) return "";
  const offset = Math.min(Number(match[1]), text.length);
  const before = text.slice(0, offset);
  const line = before.split("\n").length;
  const column = offset - (before.lastIndexOf("\n") + 1) + 1;
  return ` at line ${line}, column ${column}`;
}

/** The submitted nbformat, if it is a plain version number; else none of its bytes. */
function describeNbformat(value: unknown): string {
  if (value === undefined) return "no nbformat";
  if (typeof value === "number" && Number.isInteger(value) && value >= 0 && value < 100) {
    return `nbformat ${value}`;
  }
  return "an nbformat that is not a version number";
}

export function parseSubmission(text: string): ParsedSubmission {
  if (text.trim() === "") return { ok: false, reason: "the file is empty" };
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    const place = jsonErrorPlace(e, text);
    return { ok: false, reason: `the file is not a Jupyter notebook (invalid JSON${place})` };
  }
  if (!isRecord(json)) return { ok: false, reason: "the file is not a Jupyter notebook" };
  if (json.nbformat !== 4) {
    const got = describeNbformat(json.nbformat);
    return { ok: false, reason: `unsupported notebook format (${got}; expected nbformat 4)` };
  }
  if (!Array.isArray(json.cells)) return { ok: false, reason: "the notebook has no cell list" };
  const cells: SubmittedCell[] = [];
  json.cells.forEach((raw: unknown, position: number) => {
    // A cell we cannot read is skipped: it cannot be a solution we could match anyway, and the
    // reconstruction reports the expected cell as missing.
    if (!isRecord(raw) || typeof raw.cell_type !== "string") return;
    const source = joinSource(raw.source);
    if (source === undefined) return;
    const metadata = isRecord(raw.metadata) ? raw.metadata : {};
    const nbgrader = isRecord(metadata.nbgrader) ? metadata.nbgrader : {};
    const cell: SubmittedCell = {
      position,
      cellType: raw.cell_type,
      source: normaliseNewlines(source),
      flags: checksummedFlags(nbgrader),
    };
    if (typeof raw.id === "string") cell.id = raw.id;
    if (typeof nbgrader.grade_id === "string") cell.gradeId = nbgrader.grade_id;
    if (typeof nbgrader.checksum === "string") cell.checksum = nbgrader.checksum;
    cells.push(cell);
  });
  const metadata = isRecord(json.metadata) ? json.metadata : {};
  const kernelspec = isRecord(metadata.kernelspec) ? metadata.kernelspec : {};
  const language = typeof kernelspec.language === "string" ? kernelspec.language : undefined;
  return language === undefined
    ? { ok: true, cells }
    : { ok: true, cells, kernelLanguage: language };
}
