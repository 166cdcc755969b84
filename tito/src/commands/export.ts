// `tito export <notebook.ipynb>` (student command)
import { exportStudentNotebook } from "../student/student-export";

export const summary = "put your solutions from a notebook into your tinytorch-ts package";

const HELP = `usage: tito export <notebook.ipynb | NN>

Copies your solution cells (matched by exercise id) into your own tinytorch-ts package and
recompiles it, so later notebooks import your code. If your code does not compile, the package
is left unchanged and the errors are listed.`;

export async function run(args: string[]): Promise<number> {
  if (args.length !== 1 || args[0] === "--help" || args[0] === "-h") {
    console.log(HELP);
    return args.length === 1 ? 0 : 2;
  }
  const report = await exportStudentNotebook(args[0] ?? "");
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
  console.log(`tito export: ${report.module} exported and compiled`);
  return 0;
}
