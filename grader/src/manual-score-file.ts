// Files of scores given by hand, read into rows: the CSV template `tito manual` writes (or any
// CSV with the columns student, question, score, comment, in any order), or a JSON array of
// {student, question, score, comment}. Nothing is checked here but the file's shape; each row
// keeps its line, so every later problem can be named as `scores.csv:7: …`.
import { SourceError } from "@tinytorch-ts/core";
import { parseCsv } from "./csv-read";
import { SCORE_COLUMNS } from "./manual-page";

/** One row of a file of scores, as written (nothing checked yet). */
export interface ScoreFileRow {
  line: number;
  student: string;
  question: string;
  score: string;
  comment: string;
  /** Set when the row could not be read as one (a field too many, not an object). */
  problem?: string;
}

/** `csvField` guards a text a spreadsheet would read as a formula with a leading quote: undo it. */
function unguard(field: string): string {
  return /^'[=+\-@\t\r]/.test(field) ? field.slice(1) : field;
}

function readCsvRows(file: string, text: string): ScoreFileRow[] {
  const [header, ...records] = parseCsv(text, file);
  if (!header) throw new SourceError(file, undefined, `the file is empty (the first line names the columns: ${SCORE_COLUMNS.join(",")})`); // prettier-ignore
  const names = header.fields.map((f) => f.trim().toLowerCase());
  const problems: string[] = [];
  if (names.length === 1 && names[0].includes(";")) {
    // A spreadsheet set to a European locale separates fields with semicolons.
    throw new SourceError(file, header.line, "the fields are separated by semicolons: save the file as comma-separated CSV"); // prettier-ignore
  }
  for (const [i, name] of names.entries()) {
    if (!(SCORE_COLUMNS as readonly string[]).includes(name)) {
      problems.push(`unknown column ${JSON.stringify(header.fields[i])}`);
    } else if (names.indexOf(name) !== i) problems.push(`column ${name} appears twice`);
  }
  for (const need of ["student", "question", "score"]) {
    if (!names.includes(need)) problems.push(`no ${need} column`);
  }
  if (problems.length > 0) {
    throw new SourceError(file, header.line, `${problems.join("; ")} (the columns are ${SCORE_COLUMNS.join(",")})`); // prettier-ignore
  }
  const column = (fields: string[], name: string) => unguard(fields[names.indexOf(name)] ?? "");
  return records.map((r) => {
    const row = {
      line: r.line,
      student: column(r.fields, "student"),
      question: column(r.fields, "question"),
      score: column(r.fields, "score"),
      comment: column(r.fields, "comment"),
    };
    // A row with a field too many or too few is reported, not guessed at.
    if (r.fields.length === names.length) return row;
    return { ...row, problem: `the row has ${r.fields.length} fields, the header ${names.length}` };
  });
}

/** The line on which each element of a top-level JSON array starts. */
function arrayElementLines(text: string): number[] {
  const lines: number[] = [];
  let line = 1;
  let depth = 0;
  let inString = false;
  let expectValue = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (ch === "\n") line++;
    if (inString) {
      if (ch === "\\") i++;
      else if (ch === '"') inString = false;
      continue;
    }
    if (depth === 1 && expectValue && !/\s/.test(ch) && ch !== "]") {
      lines.push(line);
      expectValue = false;
    }
    if (ch === '"') inString = true;
    else if (ch === "[" || ch === "{") {
      depth++;
      if (depth === 1) expectValue = true;
    } else if (ch === "]" || ch === "}") depth--;
    else if (ch === "," && depth === 1) expectValue = true;
  }
  return lines;
}

function readJsonRows(file: string, text: string): ScoreFileRow[] {
  let data: unknown;
  try {
    data = JSON.parse(text.replace(/^\uFEFF/, ""));
  } catch (e) {
    const at = /position (\d+)/.exec((e as Error).message);
    const line = at ? text.slice(0, Number(at[1])).split("\n").length : undefined;
    throw new SourceError(file, line, `not valid JSON (${(e as Error).message})`);
  }
  if (!Array.isArray(data)) throw new SourceError(file, 1, "expected an array of {student, question, score, comment}"); // prettier-ignore
  const lines = arrayElementLines(text);
  return data.map((item: unknown, i) => {
    const line = lines[i] ?? 1;
    if (item === null || typeof item !== "object" || Array.isArray(item)) {
      return { line, student: "", question: "", score: "", comment: "", problem: "expected an object {student, question, score, comment}" }; // prettier-ignore
    }
    const o = item as Record<string, unknown>;
    // Absent or null is an empty field; anything else that is not text is shown as JSON, so that
    // `"score": true` is refused as not a number rather than read as no score.
    const field = (v: unknown) =>
      v === undefined || v === null ? "" : typeof v === "string" ? v : JSON.stringify(v);
    const row = { line, student: field(o.student), question: field(o.question), score: field(o.score), comment: field(o.comment) }; // prettier-ignore
    const unknown = Object.keys(o).filter((k) => !(SCORE_COLUMNS as readonly string[]).includes(k));
    if (unknown.length > 0) return { ...row, problem: `unknown key(s) ${unknown.join(", ")} (the keys are ${SCORE_COLUMNS.join(", ")})` }; // prettier-ignore
    if (o.comment !== undefined && o.comment !== null && typeof o.comment !== "string") return { ...row, problem: "the comment is not text" }; // prettier-ignore
    return row;
  });
}

/** The rows of a file of scores: JSON when it is named .json, CSV otherwise. */
export function readScoreFile(file: string, text: string): ScoreFileRow[] {
  return /\.json$/i.test(file) ? readJsonRows(file, text) : readCsvRows(file, text);
}
