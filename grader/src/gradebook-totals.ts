// A student's total on a module: the latest attempt's automatic points, plus the points given by
// hand to its written answers, after the late penalty. Kept apart from the gradebook's storage so
// the arithmetic every report relies on (the gradebook listing, the CSV, the class summary) is
// defined once, here, and tested without a database.
import type { AttemptRow, ManualAnswerRow, ManualScoreRow } from "./gradebook";

/** A student's standing on a module. See `moduleTotals` for how each figure is made. */
export interface ModuleTotal {
  student: string;
  module: string;
  /** The latest attempt's number and status (a rejected or failed attempt has 0 automatic points). */
  attempt: number;
  status: string;
  /** Points the latest attempt earned automatically, out of `autoMax`. */
  autoScore: number;
  autoMax: number;
  /** Points given by hand so far to the latest attempt's written answers, out of `manualMax`. */
  manualScore: number;
  manualMax: number;
  /** Written answers of the latest attempt that have no score yet (they count 0 until scored). */
  manualUnscored: number;
  /** The fraction taken off for lateness, as stored on the attempt (0 none, 1 everything). */
  penalty: number;
  /** (autoScore + manualScore) × (1 − penalty). */
  total: number;
  /** Every point of the module (before any penalty). */
  maxScore: number;
}

/**
 * One total per attempt in `latest` (each student's latest attempt per module), in its order.
 * The contract, for every report built on it:
 * - everything comes from the **latest** attempt, whatever its status: `autoScore` is its
 *   `score`, `autoMax` its `max_score − manual_max`, `manualMax` its `manual_max`;
 * - `manualScore` adds, for each answer graded by hand *that this attempt recorded* (`answers`),
 *   the latest score given by hand for that student, module and question (`scores`, as
 *   `Gradebook.manualScores` gives them); a score for a question the attempt does not have is
 *   not counted;
 * - `manualUnscored` counts this attempt's answers that have no score yet; they count 0, so a
 *   total is final only once it is 0;
 * - `penalty` is the attempt's stored fraction, used as it is (the late-work policy decided it
 *   when the attempt was recorded);
 * - `total` = (autoScore + manualScore) × (1 − penalty), unrounded; `maxScore` is the attempt's
 *   `max_score`, before any penalty.
 */
export function moduleTotals(
  latest: AttemptRow[],
  answers: ManualAnswerRow[],
  scores: ManualScoreRow[],
): ModuleTotal[] {
  const key = (...parts: string[]) => JSON.stringify(parts);
  const given = new Map(scores.map((m) => [key(m.student, m.module, m.question), m.score]));
  const manual = new Map<string, { scored: number; unscored: number }>();
  for (const a of answers) {
    const sum = manual.get(key(a.student, a.module, String(a.attempt))) ?? { scored: 0, unscored: 0 }; // prettier-ignore
    const score = given.get(key(a.student, a.module, a.question));
    if (score === undefined) sum.unscored++;
    else sum.scored += score;
    manual.set(key(a.student, a.module, String(a.attempt)), sum);
  }
  return latest.map((a) => {
    const sum = manual.get(key(a.student, a.module, String(a.attempt))) ?? { scored: 0, unscored: 0 }; // prettier-ignore
    return {
      student: a.student,
      module: a.module,
      attempt: a.attempt,
      status: a.status,
      autoScore: a.score,
      autoMax: a.max_score - a.manual_max,
      manualScore: sum.scored,
      manualMax: a.manual_max,
      manualUnscored: sum.unscored,
      penalty: a.penalty,
      total: (a.score + sum.scored) * (1 - a.penalty),
      maxScore: a.max_score,
    };
  });
}

/** Points for people to read: at most two decimals, no float noise (0.1 + 0.2 shows as 0.3). */
export function formatPoints(points: number): string {
  return String(Math.round(points * 100) / 100);
}
