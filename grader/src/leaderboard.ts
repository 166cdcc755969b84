// The class leaderboard of a capstone (`tito leaderboard`): from the gradebook, each student's
// latest attempt as the grader measured it, ranked per event. Only measured figures are used:
// an event ranks the entries that met its constraint, by the figure it names, with module 20's
// `rankEntries` (entries inside the noise of their group's first entry share its rank), and
// the Pareto front over (latency, size, accuracy) is module 19's `paretoFront`. Both come from
// the reference package, so the leaderboard is computed by the code the course teaches.
// Students appear by pseudonym (tito manual's) unless the instructor asks for names.
import { csvField } from "./gradebook-csv";
import { capstoneRules, type CapstoneRecord } from "./capstone";
import type { Gradebook } from "./gradebook";
import { studentLabels } from "./manual";

type Interval = { value: number; low: number; high: number };

export interface LeaderboardEntry {
  student: string;
  /** What the page shows: a pseudonym, or the student id with `names`. */
  label: string;
  attempt: number;
  record: CapstoneRecord;
  /** On the Pareto front of the measured entries over latency, size and accuracy. */
  front: boolean;
}

export interface RankedRow {
  label: string;
  rank: number;
  value: number;
  low: number;
  high: number;
}

export interface EventBoard {
  id: string;
  title: string;
  constraint: string;
  better: "lower" | "higher";
  /** What the ranked figure is, for headings. */
  figure: string;
  ranked: RankedRow[];
  /** Entries that did not meet the constraint, or were not measured, with the grader's reason. */
  unranked: Array<{ label: string; reason: string }>;
}

export interface Leaderboard {
  module: string;
  entries: LeaderboardEntry[];
  events: EventBoard[];
}

const FIGURES: Record<string, string> = {
  relativeLatency: "p50 latency, × the baseline's",
  bytes: "model file, bytes",
  accuracy: "accuracy (the lower of test and perturbed)",
  composite: "composite (geometric mean of latency, size and error ratios)",
};

/** The leaderboard of `module` from the gradebook's latest capstone attempts. */
export async function buildLeaderboard(
  book: Gradebook,
  module: string,
  names: boolean,
): Promise<Leaderboard> {
  // prettier-ignore
  const rules = await capstoneRules();
  const { paretoFront } = await import("tinytorch-ts/perf/benchmarking");
  const rows = book.capstone(module);
  const labels = studentLabels(
    book,
    rows.map((r) => r.student),
    names,
  );
  const entries: LeaderboardEntry[] = rows
    .map((r) => ({
      student: r.student,
      label: labels.get(r.student) ?? r.student,
      attempt: r.attempt,
      record: r.record,
      front: false,
    })) // prettier-ignore
    .sort((a, b) => (a.label < b.label ? -1 : a.label > b.label ? 1 : 0));
  const measured = entries.filter((e) => e.record.measurement !== undefined);
  const points = measured.map((e) => {
    const m = e.record.measurement as NonNullable<CapstoneRecord["measurement"]>;
    return [m.relativeLatency.value, m.bytes, m.accuracy.value];
  });
  for (const i of paretoFront(points, ["lower", "lower", "higher"])) measured[i].front = true;
  const events = rules.CAPSTONE_EVENTS.map((e): EventBoard => {
    const scored: Array<{ id: string; value: number; low: number; high: number }> = [];
    const unranked: EventBoard["unranked"] = [];
    for (const entry of entries) {
      const outcome = entry.record.events.find((o) => o.event === e.id);
      const objective: Interval | undefined = outcome?.objective;
      if (outcome?.met && objective) scored.push({ id: entry.label, ...objective });
      else unranked.push({ label: entry.label, reason: outcome?.reason ?? entry.record.reason ?? "not measured" }); // prettier-ignore
    }
    const ranked = rules.rankEntries(scored, e.better).map((r) => ({ label: r.id, rank: r.rank, value: r.value, low: r.low, high: r.high })); // prettier-ignore
    return { id: e.id, title: e.title, constraint: e.constraint, better: e.better, figure: FIGURES[e.objective] ?? e.objective, ranked, unranked }; // prettier-ignore
  });
  return { module, entries, events };
}

const CSV_COLUMNS = [
  "event", "rank", "student", "value", "low", "high", "constraint_met", "pareto_front",
  "accuracy", "clean_accuracy", "perturbed_accuracy", "relative_latency", "p50_ms",
  "baseline_p50_ms", "model_bytes", "composite", "attempt", "status", "reason",
]; // prettier-ignore

/** One row per event and student: ranked ones first, in rank order, then the others. */
export function leaderboardCsv(board: Leaderboard): string {
  const byLabel = new Map(board.entries.map((e) => [e.label, e]));
  const lines = [CSV_COLUMNS.join(",")];
  for (const ev of board.events) {
    const rows: Array<[RankedRow | undefined, string, string | undefined]> = [
      ...ev.ranked.map((r): [RankedRow, string, undefined] => [r, r.label, undefined]),
      ...ev.unranked.map((u): [undefined, string, string] => [undefined, u.label, u.reason]),
    ];
    for (const [ranked, label, reason] of rows) {
      const entry = byLabel.get(label);
      const m = entry?.record.measurement;
      lines.push(
        [ev.id, ranked?.rank, label, ranked?.value, ranked?.low, ranked?.high, ranked !== undefined,
          entry?.front ?? false, m?.accuracy.value, m?.cleanAccuracy, m?.perturbedAccuracy,
          m?.relativeLatency.value, m ? m.p50S.value * 1e3 : undefined,
          m ? m.baselineP50S.value * 1e3 : undefined, entry?.record.modelBytes, m?.composite.value,
          entry?.attempt, entry?.record.status, reason ?? ""].map(csvField).join(","), // prettier-ignore
      );
    }
  }
  return lines.join("\n") + "\n";
}
