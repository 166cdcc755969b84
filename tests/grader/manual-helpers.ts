// Shared by the tests of grading by hand: the fixture manifest with two written answers graded
// by hand, results made by hand (no kernel) as `tito grade` would record them, and a gradebook
// with feedback pages in a fresh temporary folder.
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { GradingManifest, ManifestCell } from "@tinytorch-ts/core";
import { feedbackPath } from "../../grader/src/batch";
import { writeFeedback } from "../../grader/src/feedback-html";
import { Gradebook, type AttemptContext } from "../../grader/src/gradebook";
import type { SubmissionResult, TestResult } from "../../grader/src/types";
import { loadFixtureManifest } from "./helpers";

export const RUBRIC = "2 points: says that x + x is 2x. 1 point: an example only.";
export const PROMPT = "Why is doubling the same as adding a number to itself?\n\nYOUR ANSWER HERE";

/** The fixture with explain-double graded by hand (2 points) and a second such question (1). */
export function manualManifest(): GradingManifest {
  const m = loadFixtureManifest();
  const cells: ManifestCell[] = m.cells.map((c) => {
    if (c.grade_id !== "explain-double") return c;
    const { checksum: _unused, ...rest } = c;
    return { ...rest, role: "manual", points: 2, rubric: RUBRIC, studentSource: PROMPT, gradingSource: "x + x = 2x, so doubling adds x to itself." }; // prettier-ignore
  });
  const extra: ManifestCell = {
    index: cells.length,
    id: "why-triple",
    cell_type: "markdown",
    role: "manual",
    grade_id: "why-triple",
    points: 1,
    studentSource: "YOUR ANSWER HERE",
    gradingSource: "Tripling is three additions.",
    metadata: { nbgrader: { grade: true, solution: true, locked: false, points: 1, grade_id: "why-triple", schema_version: 3 } }, // prettier-ignore
  };
  return { ...m, totalPoints: m.totalPoints + 3, cells: [...cells, extra] };
}

export interface MadeAttempt {
  student: string;
  /** Written answers by question. */
  answers: Record<string, string>;
  /** Automatic points (out of 6). */
  score?: number;
  finishedAt?: string;
  penalty?: number;
}

/** A graded attempt as `tito grade` records it, with printed output on one test. */
export function madeResult(manifest: GradingManifest, a: MadeAttempt): SubmissionResult {
  const tests: TestResult[] = manifest.cells.flatMap((c): TestResult[] => {
    if (c.role === "grade") {
      const passed = (a.score ?? 6) >= 6;
      return [{ gradeId: c.grade_id ?? "", name: c.grade_id ?? "", cellIndex: c.index, score: passed ? (c.points ?? 0) : 0, maxScore: c.points ?? 0, status: passed ? "passed" : "failed", output: `printed by ${c.grade_id}\n` }]; // prettier-ignore
    }
    if (c.role === "manual") {
      const id = c.grade_id ?? "";
      return [{ gradeId: id, name: id, cellIndex: c.index, score: 0, maxScore: c.points ?? 0, status: "manual", output: "", message: "graded by hand", answer: a.answers[id] ?? c.studentSource }]; // prettier-ignore
    }
    return [];
  });
  const at = a.finishedAt ?? "2026-03-01T10:00:00.000Z";
  return {
    module: manifest.module,
    student: a.student,
    submissionHash: `hash-of-${a.student}-${at}`,
    manifestHash: "manifest-hash",
    status: "graded",
    score: a.score ?? 6,
    maxScore: manifest.totalPoints,
    manualMaxScore: 3,
    tests,
    tampering: [],
    studentCells: [{ gradeId: "double", cellType: "code", source: `// ${a.student}'s double`, stub: false }], // prettier-ignore
    isolation: [],
    startedAt: at,
    finishedAt: at,
    executionTimeMs: 1000,
  };
}

export interface Course {
  dir: string;
  out: string;
  manifestFile: string;
  manifest: GradingManifest;
  dbPath: string;
}

/** A temporary course: the manifest file, and an out folder with no gradebook yet. */
export function makeCourse(): Course {
  const dir = mkdtempSync(join(tmpdir(), "tito-manual-"));
  const manifest = manualManifest();
  const manifestFile = join(dir, `${manifest.module}.json`);
  writeFileSync(manifestFile, JSON.stringify(manifest));
  const out = join(dir, "grades");
  return { dir, out, manifestFile, manifest, dbPath: join(out, "gradebook.sqlite") };
}

/** Records each attempt and writes its feedback page, as a batch does. */
export async function grade(course: Course, attempts: MadeAttempt[]): Promise<void> {
  const book = await Gradebook.open(course.dbPath);
  try {
    for (const a of attempts) {
      const r = madeResult(course.manifest, a);
      const context: AttemptContext = a.penalty === undefined ? {} : { penalty: a.penalty };
      book.record(r, context);
      writeFeedback(feedbackPath(course.out, course.manifest.module, a.student), r);
    }
  } finally {
    book.close();
  }
}
