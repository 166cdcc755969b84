// `tito test <notebook|NN>`: runs the student's own work (their solution cells, from their
// notebook) with the visible tests as released, in a fresh headless tslab kernel started in the
// workspace, so that imports of earlier modules load the student's own package. Test cells and
// provided cells come from the released originals, as the grader does it: a student who edits a
// test cell is told so, and the original test runs.
import { createHash } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { parseIpynb, type Notebook } from "@tinytorch-ts/core/notebook";
import { runNotebook, type NotebookRun } from "@tinytorch-ts/core/run";
import { gradeId, isGradeCell, isSolutionCell } from "../transforms/cells";
import { mergeStudentWork } from "./merge-solutions";
import {
  findWorkspace,
  readCourse,
  readReleasedModule,
  recordTest,
  resolveModule,
  type TestRecord,
} from "./workspace";

export interface TestCellResult {
  index: number;
  gradeId: string;
  points: number;
  passed: boolean;
  /** "ename: evalue", or why the cell did not run. */
  problem?: string;
}

export interface StudentTestReport {
  ok: boolean;
  module?: string;
  notebook?: string;
  tests: TestCellResult[];
  /** Problems in non-test cells (an exercise cell that throws, a timeout, ...). */
  otherProblems: string[];
  missing: string[];
  edited: string[];
  errors: string[];
  points: number;
  totalPoints: number;
}

export interface StudentTestOptions {
  workspace?: string;
  cellTimeoutMs?: number;
  /** Runs the notebook (tests replace the kernel). */
  run?: (nb: Notebook, cwd: string, cellTimeoutMs: number) => Promise<NotebookRun>;
}

const defaultRun = (nb: Notebook, cwd: string, cellTimeoutMs: number) =>
  runNotebook(nb, { cellTimeoutMs, allowErrors: true, start: { cwd } });

function problemOf(run: NotebookRun["cells"][number]): string {
  if (run.error) return `${run.error.ename}: ${run.error.evalue}`;
  return run.reason ?? run.status;
}

export async function testStudentNotebook(
  arg: string,
  options: StudentTestOptions = {},
): Promise<StudentTestReport> {
  const report: StudentTestReport = {
    ok: false,
    tests: [],
    otherProblems: [],
    missing: [],
    edited: [],
    errors: [],
    points: 0,
    totalPoints: 0,
  };
  const ws =
    options.workspace ??
    (existsSync(arg) ? findWorkspace(resolve(arg)) : undefined) ??
    findWorkspace();
  if (!ws) {
    report.errors.push("not inside a course workspace (a directory made by `tito release`)");
    return report;
  }
  const entry = resolveModule(readCourse(ws), arg);
  if (!entry) {
    report.errors.push(`${arg}: not one of this course's notebooks (give its path or number)`);
    return report;
  }
  report.module = entry.module;
  const path = arg.endsWith(".ipynb") ? resolve(arg) : join(ws, entry.notebook);
  report.notebook = path;
  let text: string;
  let student: Notebook;
  try {
    text = readFileSync(path, "utf8");
    student = parseIpynb(text, path);
  } catch (e) {
    report.errors.push(e instanceof Error ? e.message : String(e));
    return report;
  }
  const released = readReleasedModule(ws, entry.module);
  const merged = mergeStudentWork(released.studentNotebook, student);
  report.missing = merged.missing;
  report.edited = merged.edited;

  const run = await (options.run ?? defaultRun)(
    merged.notebook,
    join(ws, "notebooks"),
    options.cellTimeoutMs ?? 60_000,
  );
  const byIndex = new Map(run.cells.map((c) => [c.index, c]));
  merged.notebook.cells.forEach((cell, index) => {
    if (cell.cell_type !== "code") return;
    const r = byIndex.get(index);
    if (isGradeCell(cell)) {
      const points = cell.metadata.nbgrader?.points ?? 0;
      const passed = r?.status === "ok";
      report.tests.push({
        index,
        gradeId: gradeId(cell) ?? cell.id,
        points,
        passed,
        ...(passed ? {} : { problem: r ? problemOf(r) : "not run" }),
      });
      report.totalPoints += points;
      if (passed) report.points += points;
    } else if (r && r.status !== "ok") {
      const what = isSolutionCell(cell) ? `exercise ${gradeId(cell)}` : `cell ${index + 1}`;
      report.otherProblems.push(`${what}: ${problemOf(r)}`);
    }
  });
  const failing = report.tests.filter((t) => !t.passed);
  report.ok = failing.length === 0 && report.tests.length > 0;
  const record: TestRecord = {
    notebookHash: createHash("sha256").update(text).digest("hex"),
    passed: report.tests.length - failing.length,
    failed: failing.length,
    points: report.points,
    totalPoints: report.totalPoints,
    failing: failing.map((t) => t.gradeId),
    at: new Date().toISOString(),
  };
  recordTest(ws, entry.module, record);
  return report;
}
