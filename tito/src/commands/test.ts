// `tito test <notebook.ipynb | NN>` (student command)
import { exportAdvice } from "../student/explain";
import { testStudentNotebook } from "../student/student-test";

export const summary = "run your notebook with its tests in a fresh kernel and show what passed";

const HELP = `usage: tito test <notebook.ipynb | NN> [--timeout <seconds>]

Runs your notebook top to bottom in a fresh TypeScript kernel: your solution cells, and the test
cells exactly as they were given to you. Prints every test with passed or failed.`;

export async function run(args: string[]): Promise<number> {
  const positional: string[] = [];
  let timeoutS = 60;
  for (let i = 0; i < args.length; i++) {
    const a = args[i] ?? "";
    if (a === "--help" || a === "-h") {
      console.log(HELP);
      return 0;
    }
    if (a === "--timeout") timeoutS = Number(args[++i]);
    else positional.push(a);
  }
  if (positional.length !== 1 || !(timeoutS > 0)) {
    console.error(HELP);
    return 2;
  }
  const report = await testStudentNotebook(positional[0] ?? "", { cellTimeoutMs: timeoutS * 1000 });
  for (const e of report.errors) console.error(e);
  if (report.errors.length > 0) return 1;
  console.log(`${report.module}: ${report.notebook}`);
  for (const e of report.edited)
    console.log(`  note: you edited locked cell ${e}; its original was run`);
  for (const m of report.missing)
    console.log(`  note: exercise ${m} is missing from your notebook`);
  // Problems outside the tests first: they are usually why the tests after them fail.
  for (const p of report.otherProblems) console.log(`  error in ${p}`);
  for (const t of report.tests) {
    const mark = t.passed ? "PASS" : "FAIL";
    console.log(`  ${mark}  ${t.gradeId} (${t.points} pt)${t.problem ? `: ${t.problem}` : ""}`);
  }
  const passed = report.tests.filter((t) => t.passed).length;
  console.log(
    `${passed}/${report.tests.length} tests passed, ${report.points}/${report.totalPoints} points (hidden tests are run only by the grader)`,
  );
  for (const u of report.unexported) console.log(`Export first: ${exportAdvice(u)}`);
  return report.ok ? 0 : 1;
}
