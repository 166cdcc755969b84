// The gradebook as CSV, through a danfo.js DataFrame: one row per student × module (the latest
// attempt), or per attempt with `all`. danfo's writer does not quote fields, so text that could
// break a row (commas, quotes, newlines: reasons often have them) is quoted before it goes in.
import * as dfd from "danfojs-node";
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

export function csvField(value: unknown): string | number {
  if (typeof value === "number") return value;
  const text = value === null || value === undefined ? "" : String(value);
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

export function gradebookCsv(rows: AttemptRow[]): string {
  if (rows.length === 0) return COLUMNS.join(",") + "\n";
  const records = rows.map((r) => Object.fromEntries(COLUMNS.map((c) => [c, csvField(r[c])])));
  const df = new dfd.DataFrame(records, { columns: COLUMNS });
  const text = dfd.toCSV(df) as string;
  return text.endsWith("\n") ? text : text + "\n";
}
