// Late work, as arithmetic only: from a due date, a submission time and a policy, how late the
// submission was and what fraction of its points it loses. No clock, no files, no gradebook:
// the batch and the Gradescope runner bring the times, the gradebook keeps the result beside
// the raw score (so a changed policy or a late extension never loses a point for good).
//
// The rules (docs/grading.md, "Late work"):
// - Times are instants. A due date carries its UTC offset, so time zones and daylight-saving
//   changes cannot move it; a "day" is 24 hours of elapsed time, never a calendar day.
// - A submission is late when it arrives after the due date, to the millisecond. Exactly on
//   the due date is on time.
// - `per-day`: every started day late costs `perDay` (one millisecond late is one day,
//   exactly 24 h late is one day, 24 h and one millisecond is two), at most 1. With
//   `cutoffDays`, a submission more than that many days (24 h each) late loses everything;
//   exactly at the cut-off still counts by days.
// - `cutoff`: anything late loses everything.
// - `none`: lateness is recorded, nothing is taken off.

export type LatePolicy =
  { kind: "none" } | { kind: "per-day"; perDay: number; cutoffDays?: number } | { kind: "cutoff" };

export const NO_LATE_POLICY: LatePolicy = { kind: "none" };

export const DAY_MS = 24 * 60 * 60 * 1000;

export interface Lateness {
  /** How late, in seconds (0 when on time). */
  lateSeconds: number;
  /** Started days late (0 when on time). */
  daysLate: number;
  /** Fraction of the points taken off, 0..1. */
  penalty: number;
  /** True when the policy's cut-off took everything. */
  pastCutoff: boolean;
}

export const ON_TIME: Lateness = { lateSeconds: 0, daysLate: 0, penalty: 0, pastCutoff: false };

/** Rounded to a millionth, so 3 × 0.1 is stored and shown as 0.3. */
function tidy(fraction: number): number {
  return Math.round(fraction * 1e6) / 1e6;
}

/** The lateness of a submission made at `submittedMs` against `dueMs` (both epoch ms). */
export function lateness(submittedMs: number, dueMs: number, policy: LatePolicy): Lateness {
  const lateMs = submittedMs - dueMs;
  if (!(lateMs > 0)) return ON_TIME;
  const daysLate = Math.ceil(lateMs / DAY_MS);
  const base = { lateSeconds: lateMs / 1000, daysLate };
  switch (policy.kind) {
    case "none":
      return { ...base, penalty: 0, pastCutoff: false };
    case "cutoff":
      return { ...base, penalty: 1, pastCutoff: true };
    case "per-day": {
      if (policy.cutoffDays !== undefined && lateMs > policy.cutoffDays * DAY_MS) {
        return { ...base, penalty: 1, pastCutoff: true };
      }
      return { ...base, penalty: tidy(Math.min(1, daysLate * policy.perDay)), pastCutoff: false };
    }
  }
}

/** "1 day 3 h", "2 h 5 min", "40 s": the largest two units, rounded down. */
export function formatDuration(seconds: number): string {
  const s = Math.floor(seconds);
  const units: Array<[number, string, string]> = [
    [86400, " day", " days"],
    [3600, " h", " h"],
    [60, " min", " min"],
    [1, " s", " s"],
  ];
  const parts: string[] = [];
  let rest = s;
  for (const [size, one, many] of units) {
    const n = Math.floor(rest / size);
    rest -= n * size;
    if (n > 0 || parts.length > 0) parts.push(`${n}${n === 1 ? one : many}`);
    if (parts.length === 2) break;
  }
  // Under a second late still reads as late.
  if (parts.length === 0) return "less than 1 s";
  return parts.filter((p) => !p.startsWith("0")).join(" ");
}

/** "−20%" (a minus sign, not a hyphen). */
export function formatPenalty(penalty: number): string {
  return `−${tidy(penalty * 100)}%`;
}

/**
 * The line students and instructors read: "submitted 1 day 3 h late: −20%", or undefined when
 * the submission was on time.
 */
export function describeLateness(l: Lateness): string | undefined {
  if (l.lateSeconds <= 0) return undefined;
  const late = `submitted ${formatDuration(l.lateSeconds)} late`;
  if (l.pastCutoff) return `${late}, after the cut-off: ${formatPenalty(1)}`;
  if (l.penalty === 0) return `${late} (no penalty)`;
  return `${late}: ${formatPenalty(l.penalty)}`;
}

/** Points after the penalty, to two decimals (what the course total counts). */
export function penalised(points: number, penalty: number): number {
  return Math.round(points * (1 - penalty) * 100) / 100;
}
