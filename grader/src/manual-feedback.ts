// After scores are given by hand, each affected student's feedback page shows them: the page
// `tito grade` wrote for the student's latest attempt gets its manual parts (the score line and
// each written answer) drawn again from the gradebook, and keeps everything else as it was.
import { existsSync, readFileSync } from "node:fs";
import { writeFileAtomic } from "@tinytorch-ts/core";
import { feedbackPath } from "./batch";
import { updateManualFeedback, type ManualMark } from "./feedback-html";
import type { Gradebook } from "./gradebook";

export interface FeedbackRefresh {
  /** Pages rewritten with the current scores. */
  updated: string[];
  /** Students without a page where `tito grade` writes it. */
  missing: string[];
  /** Students whose page is of another attempt (or older than scores given by hand). */
  stale: string[];
}

/** The scores given by hand that count now, for one student, by question. */
export function manualMarksFor(
  book: Gradebook,
  module: string,
  student: string,
): Map<string, ManualMark> {
  const marks = new Map<string, ManualMark>();
  for (const m of book.manualScores(module)) {
    if (m.student === student) marks.set(m.question, { score: m.score, comment: m.comment });
  }
  return marks;
}

/** Redraws the manual parts of each student's feedback page for `module` in `outDir`. */
export function refreshManualFeedback(
  book: Gradebook,
  outDir: string,
  module: string,
  students: Iterable<string>,
): FeedbackRefresh {
  const out: FeedbackRefresh = { updated: [], missing: [], stale: [] };
  const answers = book.manualAnswers(module);
  for (const student of new Set(students)) {
    const path = feedbackPath(outDir, module, student);
    const attempt = book.latest(student, module);
    if (!attempt || !existsSync(path)) {
      out.missing.push(student);
      continue;
    }
    const page = updateManualFeedback(readFileSync(path, "utf8"), {
      module,
      submissionHash: attempt.submission_hash,
      score: attempt.score,
      maxScore: attempt.max_score,
      manualMaxScore: attempt.manual_max,
      answers: answers
        .filter((a) => a.student === student)
        .map((a) => ({
          gradeId: a.question,
          name: a.question,
          cellIndex: 0,
          score: 0,
          maxScore: a.max_score,
          status: "manual" as const,
          output: "",
          ...(a.answer !== null ? { answer: a.answer } : {}),
        })),
      marks: manualMarksFor(book, module, student),
    });
    if (page === undefined) out.stale.push(student);
    else {
      writeFileAtomic(path, page);
      out.updated.push(path);
    }
  }
  return out;
}
