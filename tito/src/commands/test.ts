// `tito test <notebook.ipynb | NN>` (student command)
import { runCommand } from "@tinytorch-ts/core";
import { testStudentNotebook } from "../student/student-test";
import { spec } from "./test.args";

export function run(args: string[]): Promise<number> {
  return runCommand(spec, args, ({ values, positionals }) =>
    test(positionals[0] ?? "", values.timeout),
  );
}

async function test(notebook: string, cellTimeoutMs: number): Promise<number> {
  const report = await testStudentNotebook(notebook, { cellTimeoutMs });
  for (const e of report.errors) console.error(e);
  if (report.errors.length > 0) return 1;
  console.log(`${report.module}: ${report.notebook}`);
  for (const e of report.edited)
    console.log(`  note: you edited locked cell ${e}; its original was run`);
  for (const m of report.missing)
    console.log(`  note: exercise ${m} is missing from your notebook`);
  for (const t of report.tests) {
    const mark = t.passed ? "PASS" : "FAIL";
    console.log(`  ${mark}  ${t.gradeId} (${t.points} pt)${t.problem ? `: ${t.problem}` : ""}`);
  }
  for (const p of report.otherProblems) console.log(`  error in ${p}`);
  const passed = report.tests.filter((t) => t.passed).length;
  console.log(
    `${passed}/${report.tests.length} tests passed, ${report.points}/${report.totalPoints} points (hidden tests are run only by the grader)`,
  );
  return report.ok ? 0 : 1;
}
