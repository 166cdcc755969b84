// The gradebook as CSV: one row per student × module (the latest attempt), or per attempt with
// `all`. Fields are quoted when they hold a comma, a quote or a line break (reasons often do),
// and a text field that a spreadsheet would read as a formula is neutralised as OWASP
// recommends (CSV injection): a field starting with =, +, -, @, tab or carriage return gets a
// leading single quote and is quoted. A student id is a file name the student chose, so
// `=HYPERLINK(...)` arrives here as text and must stay text.
import type { AttemptRow } from "./gradebook";

const COLUMNS: Array<keyof AttemptRow> = [
  "student",
  "module",
  "attempt",
  "score",
  "max_score",
  "status",
  "reason",
  "submission_hash",
  "started_at",
  "finished_at",
  "execution_ms",
];

const FORMULA_START = /^[=+\-@\t\r]/;
const NEEDS_QUOTES = /[",\r\n]/;

/** One CSV field: numbers as they are; text quoted when needed, formulas neutralised. */
export function csvField(value: unknown): string {
  if (typeof value === "number") return Number.isFinite(value) ? String(value) : "";
  const text = value === null || value === undefined ? "" : String(value);
  if (FORMULA_START.test(text)) return `"'${text.replace(/"/g, '""')}"`;
  return NEEDS_QUOTES.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

export function gradebookCsv(rows: AttemptRow[]): string {
  const lines = [COLUMNS.join(",")];
  for (const r of rows) lines.push(COLUMNS.map((c) => csvField(r[c])).join(","));
  return lines.join("\n") + "\n";
}
