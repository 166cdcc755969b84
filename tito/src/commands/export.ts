// `tito export <notebook.ipynb>` (student command)
import { runCommand } from "@tinytorch-ts/core";
import { RESTART_NOTE } from "../student/export-notes";
import { exportStudentNotebook } from "../student/student-export";
import { spec } from "./export.args";

export function run(args: string[]): Promise<number> {
  return runCommand(spec, args, ({ positionals }) => exportNotebook(positionals[0] ?? ""));
}

async function exportNotebook(notebook: string): Promise<number> {
  const report = await exportStudentNotebook(notebook);
  for (const e of report.errors) console.error(e);
  if (!report.ok) {
    console.error(
      `tito export: nothing was changed${report.module ? ` for ${report.module}` : ""}`,
    );
    return 1;
  }
  for (const w of report.written) console.log(`  wrote ${w}`);
  for (const m of report.missing)
    console.log(`  exercise ${m} is not in the notebook: its stub stays`);
  if (report.notImplemented.length > 0) {
    console.log(`  still "Not implemented": ${[...new Set(report.notImplemented)].join(", ")}`);
  }
  // The code is exported all the same (a student may export work in progress), but later
  // modules and milestones build on it.
  for (const f of report.failedTests) {
    const what = f.exercise ? `exercise ${f.exercise} is exported, but its test ${f.test}` : `test ${f.test}`; // prettier-ignore
    console.log(`  warning: ${what} failed when you last ran the notebook (${f.why})`);
  }
  console.log(`tito export: ${report.module} exported and compiled`);
  console.log(RESTART_NOTE);
  return 0;
}
