// Scores given by hand, read from a file (the CSV template `tito manual` writes, or a JSON array
// of {student, question, score, comment}) and checked row by row before anything is written: one
// wrong score can be a typo for another student's, so a file with any bad row is refused whole,
// and every bad row is named at once (`scores.csv:7: score 3 is above the question's 2 points`)
// so that one round of corrections is enough.
import type { GradingManifest } from "@tinytorch-ts/core";
import type { Gradebook, ManualScoreRow } from "./gradebook";
import { refreshManualFeedback, type FeedbackRefresh } from "./manual-feedback";
import { manualAnswers, manualQuestions, pseudonym, PSEUDONYM_KEY } from "./manual";
import type { ManualAnswer, ManualQuestion } from "./manual";
import { readScoreFile, type ScoreFileRow } from "./manual-score-file";

/** What a valid row will record. */
export interface CheckedScore {
  line: number;
  student: string;
  question: string;
  score: number;
  /** null when the row has none. */
  comment: string | null;
  /** When the attempt holding the answer was graded. */
  gradedAt: string;
}

export interface ScoreCheckContext {
  module: string;
  questions: ManualQuestion[];
  /** Every student with an attempt on the module. */
  attempted: ReadonlySet<string>;
  /** Every latest answer to the module's questions (what can be scored). */
  answers: ManualAnswer[];
  /** Student id → how the page showed them (pseudonyms). */
  labels: ReadonlyMap<string, string>;
}

/** Each row checked: the scores to record, and every problem as `file:line: problem`. */
export function checkScores(
  file: string,
  rows: ScoreFileRow[],
  ctx: ScoreCheckContext,
): { scores: CheckedScore[]; errors: string[]; unscored: number } {
  const questions = new Map(ctx.questions.map((q) => [q.id, q]));
  const answered = new Map(ctx.answers.map((a) => [JSON.stringify([a.student, a.question]), a]));
  const students = ctx.attempted;
  // A pseudonym two students share (about 1 in 30,000 for a class of 500) names neither.
  const byLabel = new Map<string, string | undefined>();
  for (const [id, label] of ctx.labels) {
    if (students.has(id)) byLabel.set(label, byLabel.has(label) ? undefined : id);
  }
  const seen = new Map<string, number>();
  const scores: CheckedScore[] = [];
  const errors: string[] = [];
  let unscored = 0;
  for (const row of rows) {
    const problems: string[] = [];
    if (row.problem !== undefined) {
      errors.push(`${file}:${row.line}: ${row.problem}`);
      continue;
    }
    // A row without a score or comment (the template's rows still to score, a blank line) says
    // nothing, and is no error even when its student has since lost their answer.
    if (row.score.trim() === "" && row.comment === "") {
      unscored++;
      continue;
    }
    const { student, problem } = resolveStudent(row.student, byLabel, students);
    const question = questions.get(row.question.trim());
    if (row.student.trim() === "") problems.push("no student");
    else if (problem !== undefined) problems.push(problem);
    else if (student === undefined) problems.push(`no attempt on ${ctx.module} by ${JSON.stringify(row.student)} (give the pseudonym from the page or template, or the student id)`); // prettier-ignore
    if (row.question.trim() === "") problems.push("no question");
    else if (question === undefined) {
      const known = ctx.questions.map((q) => q.id).join(", ") || "none";
      problems.push(`${JSON.stringify(row.question)} is not a question graded by hand in ${ctx.module} (its questions: ${known})`); // prettier-ignore
    }
    const answer = question && student !== undefined ? answered.get(JSON.stringify([student, question.id])) : undefined; // prettier-ignore
    if (question !== undefined && student !== undefined && answer === undefined) {
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
    else if (answer !== undefined && typeof score === "number") {
      scores.push({ line: row.line, student: answer.student, question: answer.question, score, comment: row.comment === "" ? null : row.comment, gradedAt: answer.gradedAt }); // prettier-ignore
    }
  }
  return { scores, errors, unscored };
}

/** The student a row names, by pseudonym or id; a text that is both, for two students, is neither. */
function resolveStudent(
  written: string,
  byLabel: ReadonlyMap<string, string | undefined>,
  students: ReadonlySet<string>,
): { student?: string; problem?: string } {
  for (const candidate of new Set([written, written.trim()])) {
    const viaLabel = byLabel.get(candidate);
    const viaId = students.has(candidate) ? candidate : undefined;
    if (viaLabel !== undefined && viaId !== undefined && viaLabel !== viaId) {
      return { problem: `${JSON.stringify(written)} is one student's pseudonym and another student's id, so this row cannot say whose score it is` }; // prettier-ignore
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
  /** The same score and comment again, for an answer resubmitted since it was scored. */
  confirmed: Array<CheckedScore & { previous: ManualScoreRow }>;
  unchanged: CheckedScore[];
}

export function compareScores(scores: CheckedScore[], current: ManualScoreRow[]): ScoreChanges {
  const now = new Map(current.map((m) => [JSON.stringify([m.student, m.question]), m]));
  const out: ScoreChanges = { added: [], changed: [], confirmed: [], unchanged: [] };
  for (const s of scores) {
    const previous = now.get(JSON.stringify([s.student, s.question]));
    if (previous === undefined) out.added.push(s);
    else if (previous.score !== s.score || (previous.comment ?? null) !== s.comment) {
      out.changed.push({ ...s, previous });
    } else if (previous.recorded_at < s.gradedAt) out.confirmed.push({ ...s, previous });
    else out.unchanged.push(s);
  }
  return out;
}

export interface ImportOptions {
  /** Where `tito grade` wrote the feedback pages (its --out). */
  outDir: string;
  /** Who gave the scores, kept in the history. */
  grader?: string | null;
  /** When, ISO 8601 (default now). */
  at?: string;
}

export interface ImportOutcome {
  /** Every problem found, `file:line: problem`; when there is any, nothing was written. */
  errors: string[];
  changes?: ScoreChanges;
  /** Rows with neither a score nor a comment (still to be scored): skipped. */
  unscored?: number;
  feedback?: FeedbackRefresh;
}

/**
 * Reads, checks and records one file of scores for `manifest`'s module: all of it or, at the
 * first bad row, none of it. Only new, changed and confirmed scores are recorded (re-importing
 * a file adds nothing to the history); then the feedback pages of their students are redrawn.
 */
export function importScores(
  book: Gradebook,
  manifest: GradingManifest,
  file: string,
  text: string,
  opts: ImportOptions,
): ImportOutcome {
  let rows: ScoreFileRow[];
  try {
    rows = readScoreFile(file, text);
  } catch (e) {
    return { errors: [(e as Error).message] };
  }
  const answers = manualAnswers(book, manifest);
  const attempted = new Set(book.attempts(true).flatMap((a) => (a.module === manifest.module ? [a.student] : []))); // prettier-ignore
  // Pseudonyms only if a page or template was ever made: no key is created (nothing is written).
  const key = book.meta(PSEUDONYM_KEY);
  const labels = new Map(key === undefined ? [] : [...attempted].map((s) => [s, pseudonym(key, s)])); // prettier-ignore
  const ctx = { module: manifest.module, questions: manualQuestions(manifest), attempted, answers, labels }; // prettier-ignore
  const { scores, errors, unscored } = checkScores(file, rows, ctx);
  if (errors.length > 0) return { errors };
  const changes = compareScores(scores, book.manualScores(manifest.module));
  const record = [...changes.added, ...changes.changed, ...changes.confirmed];
  if (record.length === 0) return { errors: [], changes, unscored };
  const points = new Map(ctx.questions.map((q) => [q.id, q.points]));
  book.recordManual(
    record.map((s) => ({
      student: s.student,
      module: manifest.module,
      question: s.question,
      score: s.score,
      max_score: points.get(s.question) ?? 0,
      comment: s.comment,
      grader: opts.grader ?? null,
      source: file,
    })),
    opts.at,
  );
  const students = record.map((s) => s.student);
  const feedback = refreshManualFeedback(book, opts.outDir, manifest.module, students);
  return { errors: [], changes, unscored, feedback };
}
