// `tito test <notebook.ipynb | NN>` (student command)
import { runCommand } from "@tinytorch-ts/core";
import { exportAdvice } from "../student/explain";
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
  // Problems outside the tests first: they are usually why the tests after them fail.
  report.otherProblems.forEach((p, i) => {
    console.log(`  error in ${p}`);
    for (const frame of report.otherTraces[i] ?? []) console.log(`        ${frame}`);
  });
  for (const t of report.tests) {
    if (t.graderOnly) {
      console.log(`  ----  ${t.gradeId} (${t.points} pt): checked only by the grader (its checks are hidden)`); // prettier-ignore
      continue;
    }
    const mark = t.passed ? "PASS" : "FAIL";
    console.log(`  ${mark}  ${t.gradeId} (${t.points} pt)${t.problem ? `: ${t.problem}` : ""}`);
    for (const frame of t.trace ?? []) console.log(`        ${frame}`);
  }
  const local = report.tests.filter((t) => !t.graderOnly);
  const passed = local.filter((t) => t.passed).length;
  const graderOnly = report.tests.length - local.length;
  console.log(
    `${passed}/${local.length} tests passed, ${report.points}/${report.totalPoints} points (hidden tests are run only by the grader${graderOnly > 0 ? `; ${graderOnly} test(s) here have only hidden checks` : ""})`, // prettier-ignore
  );
  for (const u of report.unexported) console.log(`Export first: ${exportAdvice(u)}`);
  return report.ok ? 0 : 1;
}
