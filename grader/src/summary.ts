// The class summary behind `tito gradebook --summary`: every student's total per module and for
// the course, and per test (per part, for a test with parts) how many students failed it. The
// totals come from the gradebook's one definition of a total (gradebook-totals.ts: the latest
// attempt's automatic points plus the points given by hand, after the late penalty); this file
// only arranges them, so the CSV and the HTML page (summary-csv.ts, summary-html.ts) agree.
import type { Gradebook } from "./gradebook";
import type { ModuleTotal } from "./gradebook-totals";
import type { PartResult } from "./types";

/** The figures of a total this summary uses (the gradebook's ModuleTotal has them all). */
export type SummaryTotal = Pick<
  ModuleTotal,
  | "student"
  | "module"
  | "status"
  | "autoScore"
  | "autoMax"
  | "manualScore"
  | "manualMax"
  | "penalty"
  | "total"
  | "maxScore"
>;

/** One test result of a student's latest attempt on a module. */
export interface TestOutcome {
  student: string;
  module: string;
  /** The attempt's status: only "graded" attempts count towards failures. */
  attemptStatus: string;
  gradeId: string;
  name: string;
  status: string;
  /** The test's parts as the gradebook stores them (JSON), or null. */
  parts: string | null;
}

/** How many students failed a test (or one part of it). */
export interface FailureCount {
  /** The test's name, or "test: part". */
  label: string;
  failed: number;
  /** Students whose latest attempt was graded (the denominator). */
  graded: number;
}

export interface ModuleSummary {
  module: string;
  /** Every point of the module (the largest any attempt was graded against). */
  maxScore: number;
  autoMax: number;
  manualMax: number;
  totals: SummaryTotal[];
  /** Most failed first; ties by label. Answers graded by hand are not here. */
  failures: FailureCount[];
}

export interface ClassSummary {
  /** Sorted. */
  modules: ModuleSummary[];
  /** Every student with an attempt on some module, sorted. */
  students: string[];
  /** By student, then module. */
  byStudent: Map<string, Map<string, SummaryTotal>>;
  /** A student's course total: the sum of their module totals (a module without one counts 0). */
  courseTotal(student: string): number;
  courseMax: number;
}

function partsOf(json: string | null): PartResult[] {
  if (json === null) return [];
  try {
    const parts = JSON.parse(json) as unknown;
    return Array.isArray(parts) ? (parts as PartResult[]) : [];
  } catch {
    return [];
  }
}

function failuresOf(outcomes: TestOutcome[]): FailureCount[] {
  const graded = new Set(outcomes.filter((o) => o.attemptStatus === "graded").map((o) => o.student)); // prettier-ignore
  const counts = new Map<string, number>();
  const count = (label: string, failed: boolean) => counts.set(label, (counts.get(label) ?? 0) + (failed ? 1 : 0)); // prettier-ignore
  for (const o of outcomes) {
    if (o.attemptStatus !== "graded" || o.status === "manual") continue;
    const parts = partsOf(o.parts);
    if (parts.length === 0) count(o.name, o.status !== "passed");
    for (const p of parts) count(`${o.name}: ${p.name}`, !p.passed);
  }
  return [...counts]
    .map(([label, failed]) => ({ label, failed, graded: graded.size }))
    .sort((a, b) => b.failed - a.failed || (a.label < b.label ? -1 : a.label > b.label ? 1 : 0));
}

/** Arranges totals and test outcomes (each student's latest attempt per module) by module. */
export function buildSummary(totals: SummaryTotal[], outcomes: TestOutcome[]): ClassSummary {
  const moduleNames = [...new Set(totals.map((t) => t.module))].sort();
  const modules = moduleNames.map((module): ModuleSummary => {
    const mine = totals.filter((t) => t.module === module);
    return {
      module,
      maxScore: Math.max(...mine.map((t) => t.maxScore)),
      autoMax: Math.max(...mine.map((t) => t.autoMax)),
      manualMax: Math.max(...mine.map((t) => t.manualMax)),
      totals: mine,
      failures: failuresOf(outcomes.filter((o) => o.module === module)),
    };
  });
  const byStudent = new Map<string, Map<string, SummaryTotal>>();
  for (const t of totals) {
    const row = byStudent.get(t.student) ?? new Map<string, SummaryTotal>();
    row.set(t.module, t);
    byStudent.set(t.student, row);
  }
  return {
    modules,
    students: [...byStudent.keys()].sort(),
    byStudent,
    courseTotal: (student) =>
      [...(byStudent.get(student)?.values() ?? [])].reduce((sum, t) => sum + t.total, 0),
    courseMax: modules.reduce((sum, m) => sum + m.maxScore, 0),
  };
}

/** Each student's latest attempt per module, test by test. */
export function latestOutcomes(book: Gradebook): TestOutcome[] {
  return book.query<TestOutcome>(
    `SELECT a.student, a.module, a.status AS attemptStatus, t.grade_id AS gradeId, t.name,
       t.status, t.parts
     FROM attempts a JOIN test_results t ON t.attempt_id = a.id
     WHERE a.attempt = (SELECT MAX(attempt) FROM attempts b
       WHERE b.student = a.student AND b.module = a.module)
     ORDER BY a.student, a.module, t.grade_id`,
  );
}

/** The summary of a whole gradebook. */
export function summarizeGradebook(book: Gradebook): ClassSummary {
  return buildSummary(book.totals(), latestOutcomes(book));
}

/** Points to two decimals, as numbers (for CSV cells and charts). */
export function round2(points: number): number {
  return Math.round(points * 100) / 100;
}
