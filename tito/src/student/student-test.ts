// `tito test <notebook|NN>`: runs the student's own work (their solution cells, from their
// notebook) with the visible tests as released, in a fresh headless tslab kernel started in the
// workspace, so that imports of earlier modules load the student's own package. Test cells and
// provided cells come from the released originals, as the grader does it: a student who edits a
// test cell is told so, and the original test runs. The kernel names each cell's script, so a
// runtime error is traced back to its exercise and the line of its cell (failure-trace.ts).
import { createHash } from "node:crypto";
import { coursePath } from "@tinytorch-ts/core";
import { mergeStudentWork, type Notebook } from "@tinytorch-ts/core/notebook";
import { runNotebook, type NotebookRun } from "@tinytorch-ts/core/run";
import { cellPoints, gradeId, isGradeCell } from "../transforms/cells";
import { NOT_IMPLEMENTED_MESSAGE, stubMessageCore } from "../transforms/strip-solutions";
import {
  causedBy,
  declaredNames,
  describeCell,
  exerciseOwners,
  readableProblem,
  unexportedModule,
  type UnexportedModule,
} from "./explain";
import { CellTracer, nameCells } from "./failure-trace";
import { openStudentNotebook, readCourse, readReleasedModule, recordTest, type TestRecord } from "./workspace"; // prettier-ignore

export interface TestCellResult {
  index: number;
  gradeId: string;
  points: number;
  passed: boolean;
  /**
   * The released test has no visible check (its checks are all hidden, as for predictions):
   * running it locally shows nothing, so it is neither passed nor failed here.
   */
  graderOnly?: boolean;
  /** "ename: evalue", or why the cell did not run. */
  problem?: string;
  /** The stack of a runtime error, in the notebook's terms (cells and their lines). */
  trace?: string[];
}

export interface StudentTestReport {
  ok: boolean;
  module?: string;
  notebook?: string;
  tests: TestCellResult[];
  /** Problems in non-test cells (an exercise cell that throws, a timeout, ...). */
  otherProblems: string[];
  /** The stack of each of otherProblems (empty when it has none worth showing). */
  otherTraces: string[][];
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
  /** Runs the notebook (tests replace the kernel); `nodeFlags` name the cells' scripts. */
  run?: (
    nb: Notebook,
    cwd: string,
    cellTimeoutMs: number,
    nodeFlags: string[],
  ) => Promise<NotebookRun>;
}

const defaultRun = (nb: Notebook, cwd: string, cellTimeoutMs: number, nodeFlags: string[]) =>
  runNotebook(nb, { cellTimeoutMs, allowErrors: true, start: { cwd, nodeFlags } });

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
    otherTraces: [],
    unexported: [],
    missing: [],
    edited: [],
    errors: [],
    points: 0,
    totalPoints: 0,
  };
  const opened = openStudentNotebook(arg, options.workspace);
  if ("error" in opened) {
    if (opened.module !== undefined) report.module = opened.module;
    if (opened.path !== undefined) report.notebook = opened.path;
    report.errors.push(opened.error);
    return report;
  }
  const { ws, entry, path, text, student, released } = opened;
  report.module = entry.module;
  report.notebook = path;
  const merged = mergeStudentWork(released.studentNotebook, student);
  report.missing = merged.missing;
  report.edited = merged.edited;

  const nb = merged.notebook;
  const naming = nameCells();
  let run: NotebookRun;
  let tracer: CellTracer;
  try {
    run = await (options.run ?? defaultRun)(
      nb,
      coursePath(ws, "notebooks"),
      options.cellTimeoutMs ?? 60_000,
      naming.nodeFlags,
    );
    tracer = new CellTracer(naming.dir, nb, ws);
  } finally {
    naming.close();
  }
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
  /** Where a runtime error happened, and its stack; stubs and compile errors need neither. */
  const traceOf = (index: number, r: NotebookRun["cells"][number]) => {
    if (!r.error || r.error.ename === "TSError" || NOT_IMPLEMENTED_MESSAGE.test(r.error.evalue)) {
      return { where: "", frames: [] };
    }
    const t = tracer.trace(r.stderrTail);
    const own = isGradeCell(nb.cells[index]!) ? "this test" : "this cell";
    const where = !t.at ? "" : t.at.cell === index ? `line ${t.at.line} of ${own}` : t.at.text;
    // A failed check's stack is only the test itself: its line says enough.
    const frames = r.error.ename === "TestFailure" ? [] : t.frames;
    return { where: where && ` (at ${where})`, frames };
  };
  const explain = (index: number, r: NotebookRun["cells"][number]): string => {
    const problem = stubMessageCore(problemOf(r, nb)).replace(/\.$/, "");
    const raw = r.error ? `${r.error.ename}: ${r.error.evalue}` : problem;
    const stub = unexportedModule(raw, entry.module, owners);
    if (stub) {
      if (!report.unexported.some((u) => u.module === stub.module)) report.unexported.push(stub);
      return `${problem} (from module ${stub.module}, not exported yet)`;
    }
    const cause = rootCause(index, r);
    return cause ? `${problem}; fix ${cause} first` : `${problem}${traceOf(index, r).where}`;
  };
  nb.cells.forEach((cell, index) => {
    if (cell.cell_type !== "code") return;
    const r = byIndex.get(index);
    if (isGradeCell(cell) && !hasVisibleChecks(cell.source)) {
      report.tests.push({ index, gradeId: gradeId(cell) ?? cell.id, points: cellPoints(cell), passed: false, graderOnly: true }); // prettier-ignore
    } else if (isGradeCell(cell)) {
      const points = cellPoints(cell);
      const passed = r?.status === "ok";
      const trace = r && !passed ? traceOf(index, r).frames : [];
      report.tests.push({
        index,
        gradeId: gradeId(cell) ?? cell.id,
        points,
        passed,
        ...(passed ? {} : { problem: r ? explain(index, r) : "not run" }),
        ...(trace.length > 0 ? { trace } : {}),
      });
      report.totalPoints += points;
      if (passed) report.points += points;
    } else if (r && r.status !== "ok") {
      report.otherProblems.push(`${describeCell(nb, index)}: ${explain(index, r)}`);
      report.otherTraces.push(traceOf(index, r).frames);
      // A cell that does not compile declares nothing: what uses its names fails because of it
      // (and so, in the end, because of the first cell in that chain).
      if (r.error?.ename === "TSError") {
        const origin = rootCause(index, r) ?? describeCell(nb, index);
        for (const name of declaredNames(cell.source)) failedDeclarations.set(name, origin);
      }
    }
  });
  const failing = report.tests.filter((t) => !t.passed && !t.graderOnly);
  report.ok = failing.length === 0 && report.tests.some((t) => !t.graderOnly);
  const record: TestRecord = {
    notebookHash: createHash("sha256").update(text).digest("hex"),
    passed: report.tests.filter((t) => t.passed).length,
    failed: failing.length,
    points: report.points,
    totalPoints: report.totalPoints,
    failing: failing.map((t) => t.gradeId),
    at: new Date().toISOString(),
  };
  recordTest(ws, entry.module, record);
  return report;
}

/**
 * Whether a released test cell checks anything a student can see run: an assertion or a
 * `check(...)` call outside comments. A test whose checks are all hidden keeps only its
 * `passed(...)` call.
 */
export function hasVisibleChecks(source: string): boolean {
  const code = source.replace(/\/\/.*$/gm, "").replace(/\/\*[\s\S]*?\*\//g, "");
  return /\b(assert\w*|check|expectThrows)\s*\(/.test(code);
}
