// Answers graded by hand (`tito manual`): which questions a module grades by hand, who answered
// them in their latest attempt, what each answer has scored so far, and the pseudonyms the
// instructor sees instead of student ids. The gradebook holds all of it; this file only reads.
// Pseudonyms exist so that grading by hand is blind: a score should follow from the answer, not
// from who wrote it.
import { createHmac, randomBytes } from "node:crypto";
import type { GradingManifest } from "@tinytorch-ts/core";
import type { Gradebook, ManualScoreRow } from "./gradebook";

/** A question graded by hand, as the manifest describes it. */
export interface ManualQuestion {
  /** The answer cell's grade_id. */
  id: string;
  points: number;
  /** What a full answer contains (from the module source's BEGIN/END RUBRIC), if written. */
  rubric?: string;
  /** The model answer (the cell's solution). */
  modelAnswer: string;
  /** The cell as students got it: the question and the empty answer. */
  studentSource: string;
}

export function manualQuestions(manifest: GradingManifest): ManualQuestion[] {
  return manifest.cells.flatMap((c) =>
    c.role === "manual" && c.grade_id !== undefined
      ? [
          {
            id: c.grade_id,
            points: c.points ?? 0,
            ...(c.rubric !== undefined ? { rubric: c.rubric } : {}),
            modelAnswer: c.gradingSource,
            studentSource: c.studentSource,
          },
        ]
      : [],
  );
}

/** The gradebook's meta key of the secret pseudonyms are made with. */
export const PSEUDONYM_KEY = "pseudonym-key";

/**
 * `student-` and 8 hex digits of an HMAC of the student id. Keyed, so nobody can work out an
 * id's pseudonym without the gradebook; 32 bits, so a class of 500 collides with odds of about
 * 1 in 30,000 (`studentLabels` refuses a collision rather than merge two students).
 */
export function pseudonym(key: string, student: string): string {
  return `student-${createHmac("sha256", key).update(student, "utf8").digest("hex").slice(0, 8)}`;
}

/** The gradebook's pseudonym key, made (and saved with the gradebook) on first use. */
export function pseudonymKey(book: Gradebook): string {
  return book.meta(PSEUDONYM_KEY, () => randomBytes(32).toString("hex")) ?? "";
}

/**
 * How each student is shown: their pseudonym, or their id with `names`. Throws when two students
 * would get the same pseudonym (then use `names`, or start a gradebook with a new key).
 */
export function studentLabels(
  book: Gradebook,
  students: Iterable<string>,
  names: boolean,
): Map<string, string> {
  const key = names ? "" : pseudonymKey(book);
  const labels = new Map<string, string>();
  const taken = new Map<string, string>();
  for (const student of students) {
    if (labels.has(student)) continue;
    const label = names ? student : pseudonym(key, student);
    const other = taken.get(label);
    if (other !== undefined) {
      throw new Error(`two students have the pseudonym ${label}; use --names for this module`);
    }
    taken.set(label, student);
    labels.set(student, label);
  }
  return labels;
}

/** A student's latest answer to one question, with the score that counts now, if any. */
export interface ManualAnswer {
  student: string;
  question: string;
  attempt: number;
  /** What the student wrote (clipped by the grader). */
  answer: string;
  /** True when the answer is the cell exactly as students got it: nothing was written. */
  unchanged: boolean;
  /** When the attempt was graded. */
  gradedAt: string;
  current?: ManualScoreRow;
  /** True when the current score was given before this attempt was graded (to an earlier answer). */
  scoredEarlier: boolean;
}

/** Every latest answer to the module's questions graded by hand (all, or one question). */
export function manualAnswers(
  book: Gradebook,
  manifest: GradingManifest,
  question?: string,
): ManualAnswer[] {
  const questions = new Map(manualQuestions(manifest).map((q) => [q.id, q]));
  const key = (student: string, q: string) => JSON.stringify([student, q]);
  const scores = new Map(book.manualScores(manifest.module).map((m) => [key(m.student, m.question), m])); // prettier-ignore
  return book
    .manualAnswers(manifest.module)
    .filter((a) => questions.has(a.question) && (question === undefined || a.question === question)) // prettier-ignore
    .map((a) => {
      const current = scores.get(key(a.student, a.question));
      const answer = a.answer ?? "";
      return {
        student: a.student,
        question: a.question,
        attempt: a.attempt,
        answer,
        unchanged: answer.trim() === (questions.get(a.question)?.studentSource ?? "").trim(),
        gradedAt: a.finished_at,
        ...(current ? { current } : {}),
        scoredEarlier: current !== undefined && current.recorded_at < a.finished_at,
      };
    });
}

/** One line of `tito manual --module NN`: a question and how far its grading has come. */
export interface QuestionProgress {
  question: ManualQuestion;
  answers: number;
  awaiting: number;
  scored: number;
  /** Scored, but before the student's latest attempt: worth a second look. */
  scoredEarlier: number;
}

export function manualProgress(book: Gradebook, manifest: GradingManifest): QuestionProgress[] {
  const answers = manualAnswers(book, manifest);
  return manualQuestions(manifest).map((question) => {
    const mine = answers.filter((a) => a.question === question.id);
    const scored = mine.filter((a) => a.current !== undefined);
    return {
      question,
      answers: mine.length,
      awaiting: mine.length - scored.length,
      scored: scored.length,
      scoredEarlier: scored.filter((a) => a.scoredEarlier).length,
    };
  });
}
