// Scores given by hand, read from a file (the CSV template `tito manual` writes, or a JSON array
// of {student, question, score, comment}) and checked row by row before anything is written: one
// wrong score can be a typo for another student's, so a file with any bad row is refused whole,
// and every bad row is named at once (`scores.csv:7: score 3 is above the question's 2 points`)
// so that one round of corrections is enough.
import { SourceError } from "@tinytorch-ts/core";
import { parseCsv } from "./csv-read";
import type { ManualScoreRow } from "./gradebook";
import type { ManualAnswer, ManualQuestion } from "./manual";
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
  for (const [i, name] of names.entries()) {
    if (!(SCORE_COLUMNS as readonly string[]).includes(name))
      problems.push(`unknown column ${JSON.stringify(header.fields[i])}`); // prettier-ignore
    else if (names.indexOf(name) !== i) problems.push(`column ${name} appears twice`);
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

/** What a valid row will record. */
export interface CheckedScore {
  line: number;
  student: string;
  question: string;
  score: number;
  /** null when the row has none. */
  comment: string | null;
}

export interface ScoreCheckContext {
  module: string;
  questions: ManualQuestion[];
  /** Every latest answer to the module's questions (the students who can be scored). */
  answers: ManualAnswer[];
  /** Student id → how the page showed them (pseudonyms). */
  labels: ReadonlyMap<string, string>;
}

/** Each row checked: the scores to record, and every problem as `file:line: problem`. */
export function checkScores(
  file: string,
  rows: ScoreFileRow[],
  ctx: ScoreCheckContext,
): { scores: CheckedScore[]; errors: string[] } {
  const questions = new Map(ctx.questions.map((q) => [q.id, q]));
  const answered = new Set(ctx.answers.map((a) => JSON.stringify([a.student, a.question])));
  const students = new Set(ctx.answers.map((a) => a.student));
  const byLabel = new Map([...ctx.labels].filter(([id]) => students.has(id)).map(([id, l]) => [l, id])); // prettier-ignore
  const seen = new Map<string, number>();
  const scores: CheckedScore[] = [];
  const errors: string[] = [];
  for (const row of rows) {
    const problems: string[] = [];
    if (row.problem !== undefined) {
      errors.push(`${file}:${row.line}: ${row.problem}`);
      continue;
    }
    // A row without a score or comment (the template's rows still to score, a blank line) says
    // nothing, and is no error even when its student has since lost their answer.
    if (row.score.trim() === "" && row.comment === "") continue;
    const { student, problem } = resolveStudent(row.student, byLabel, students);
    const question = questions.get(row.question.trim());
    if (row.student.trim() === "") problems.push("no student");
    else if (problem !== undefined) problems.push(problem);
    else if (student === undefined) problems.push(`no attempt on ${ctx.module} by ${JSON.stringify(row.student)} (give the pseudonym from the page or template, or the student id)`); // prettier-ignore
    if (row.question.trim() === "") problems.push("no question");
    else if (question === undefined) {
      const known = ctx.questions.map((q) => q.id).join(", ") || "none";
      problems.push(`${JSON.stringify(row.question)} is not a question graded by hand in ${ctx.module} (its questions: ${known})`); // prettier-ignore
    } else if (student !== undefined && !answered.has(JSON.stringify([student, question.id]))) {
      problems.push(`${JSON.stringify(row.student)} has no answer to ${question.id} in their latest attempt`); // prettier-ignore
    }
    const score = parseScore(row.score, question);
    if (typeof score === "string") problems.push(score);
    if (student !== undefined && question !== undefined) {
      const key = JSON.stringify([student, question.id]);
      const first = seen.get(key);
      if (first !== undefined) problems.push(`the same student and question as line ${first}`);
      else seen.set(key, row.line);
    }
    if (problems.length > 0) errors.push(...problems.map((p) => `${file}:${row.line}: ${p}`));
    else if (student !== undefined && question !== undefined && typeof score === "number") {
      scores.push({ line: row.line, student, question: question.id, score, comment: row.comment === "" ? null : row.comment }); // prettier-ignore
    }
  }
  return { scores, errors };
}

/** The student a row names, by pseudonym or id; a text that is both, for two students, is neither. */
function resolveStudent(
  written: string,
  byLabel: ReadonlyMap<string, string>,
  students: ReadonlySet<string>,
): { student?: string; problem?: string } {
  for (const candidate of new Set([written, written.trim()])) {
    const viaLabel = byLabel.get(candidate);
    const viaId = students.has(candidate) ? candidate : undefined;
    if (viaLabel !== undefined && viaId !== undefined && viaLabel !== viaId) {
      return { problem: `${JSON.stringify(written)} is one student's pseudonym and another's id: rerun with --names and use ids` }; // prettier-ignore
    }
    const student = viaLabel ?? viaId;
    if (student !== undefined) return { student };
  }
  return {};
}

/** The score, or the problem with it. */
function parseScore(raw: string, question: ManualQuestion | undefined): number | string {
  const text = raw.trim();
  if (text === "") return "a comment needs a score";
  if (!/^-?(\d+(\.\d*)?|\.\d+)$/.test(text)) {
    return /^\d+,\d+$/.test(text)
      ? `score ${JSON.stringify(raw)} is not a number (write decimals with a point: ${text.replace(",", ".")})` // prettier-ignore
      : `score ${JSON.stringify(raw)} is not a number`;
  }
  const score = Number(text);
  if (score < 0) return `score ${text} is below 0`;
  if (question && score > question.points) {
    return `score ${text} is above the question's ${question.points} point${question.points === 1 ? "" : "s"}`; // prettier-ignore
  }
  return score;
}

/** What an import does to the scores that count now. */
export interface ScoreChanges {
  added: CheckedScore[];
  changed: Array<CheckedScore & { previous: ManualScoreRow }>;
  unchanged: CheckedScore[];
}

export function compareScores(scores: CheckedScore[], current: ManualScoreRow[]): ScoreChanges {
  const now = new Map(current.map((m) => [JSON.stringify([m.student, m.question]), m]));
  const out: ScoreChanges = { added: [], changed: [], unchanged: [] };
  for (const s of scores) {
    const previous = now.get(JSON.stringify([s.student, s.question]));
    if (previous === undefined) out.added.push(s);
    else if (previous.score !== s.score || (previous.comment ?? null) !== s.comment) {
      out.changed.push({ ...s, previous });
    } else out.unchanged.push(s);
  }
  return out;
}
