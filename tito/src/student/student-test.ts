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
import { gradeId, isGradeCell } from "../transforms/cells";
import {
  causedBy,
  declaredNames,
  describeCell,
  exerciseOwners,
  readableProblem,
  unexportedModule,
  type UnexportedModule,
} from "./explain";
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
  /** Earlier modules whose stubs this notebook ran into: they need `tito export` first. */
  unexported: UnexportedModule[];
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

/** What went wrong in a cell, in the student's terms (cells named by exercise, not index). */
function problemOf(run: NotebookRun["cells"][number], nb: Notebook): string {
  if (run.error) return readableProblem(run.error.ename, run.error.evalue);
  const reason = run.reason ?? run.status;
  return reason.replace(/\bcell (\d+)\b/g, (_, i: string) => describeCell(nb, Number(i)));
}

export async function testStudentNotebook(
  arg: string,
  options: StudentTestOptions = {},
): Promise<StudentTestReport> {
  const report: StudentTestReport = {
    ok: false,
    tests: [],
    otherProblems: [],
    unexported: [],
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
  const nb = merged.notebook;
  const byIndex = new Map(run.cells.map((c) => [c.index, c]));
  const owners = exerciseOwners(readCourse(ws).modules, (m) => readReleasedModule(ws, m));
  /** Names declared by exercises that failed -> that exercise, to explain what follows. */
  const failedDeclarations = new Map<string, string>();
  /** The cell that failed first, when `r` failed only because of it. */
  const rootCause = (index: number, r: NotebookRun["cells"][number]): string | undefined => {
    const raw = r.error ? `${r.error.ename}: ${r.error.evalue}` : "";
    const cause = causedBy(raw, failedDeclarations);
    return cause === describeCell(nb, index) ? undefined : cause;
  };
  const explain = (index: number, r: NotebookRun["cells"][number]): string => {
    const problem = problemOf(r, nb).replace(/\.$/, "");
    const raw = r.error ? `${r.error.ename}: ${r.error.evalue}` : problem;
    const stub = unexportedModule(raw, entry.module, owners);
    if (stub) {
      if (!report.unexported.some((u) => u.module === stub.module)) report.unexported.push(stub);
      return `${problem} (from module ${stub.module}, not exported yet)`;
    }
    const cause = rootCause(index, r);
    return cause ? `${problem}; fix ${cause} first` : problem;
  };
  nb.cells.forEach((cell, index) => {
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
        ...(passed ? {} : { problem: r ? explain(index, r) : "not run" }),
      });
      report.totalPoints += points;
      if (passed) report.points += points;
    } else if (r && r.status !== "ok") {
      report.otherProblems.push(`${describeCell(nb, index)}: ${explain(index, r)}`);
      // A cell that does not compile declares nothing: what uses its names fails because of it
      // (and so, in the end, because of the first cell in that chain).
      if (r.error?.ename === "TSError") {
        const origin = rootCause(index, r) ?? describeCell(nb, index);
        for (const name of declaredNames(cell.source)) failedDeclarations.set(name, origin);
      }
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
