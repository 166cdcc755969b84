// `tito gradebook [--csv [FILE]]` (instructor command)
import { existsSync } from "node:fs";
import { resolve } from "node:path";
import { runCommand, writeFileAtomic } from "@tinytorch-ts/core";
import { spec } from "./gradebook.args";
import { Gradebook, gradebookCsv, logLine } from "@tinytorch-ts/grader";

export function run(args: string[]): Promise<number> {
  return runCommand(spec, args, async ({ values: p }) => {
    const dbPath = resolve(p.db);
    if (!existsSync(dbPath)) {
      console.error(`tito gradebook: no gradebook at ${dbPath} (run tito grade first)`);
      return 1;
    }
    const book = await Gradebook.open(dbPath);
    const rows = book.attempts(!p.all);
    book.close();
    if (p.csv !== undefined) {
      const csv = gradebookCsv(rows);
      if (p.csv !== "") {
        writeFileAtomic(resolve(p.csv), csv);
        console.error(`wrote ${rows.length} rows to ${p.csv}`);
      } else {
        process.stdout.write(csv);
      }
      return 0;
    }
    for (const r of rows) {
      // Ids and reasons come from students: no control characters reach the terminal.
      const note = r.status === "graded" ? "" : `  (${r.status}: ${logLine(r.reason ?? "")})`;
      console.log(`${logLine(r.student).padEnd(20)} ${r.module.padEnd(18)} #${r.attempt}  ${r.score}/${r.max_score}${note}`); // prettier-ignore
    }
    if (rows.length === 0) console.log("(no attempts yet)");
    return 0;
  });
}
