// `tito gradebook [--csv [FILE]]` (instructor command)
import { existsSync } from "node:fs";
import { resolve } from "node:path";
import { parseArgs, UsageError, writeFileAtomic } from "@tinytorch-ts/core";
import { Gradebook, gradebookCsv, logLine } from "@tinytorch-ts/grader";

export const summary = "show the gradebook, or export it as CSV";

const HELP = `usage: tito gradebook [--db FILE] [--csv [FILE]] [--all]

  --db FILE    the gradebook (default: grades/gradebook.sqlite)
  --csv        print CSV (one row per student and module, latest attempt) to stdout,
               or write it to FILE with --csv FILE
  --all        every attempt instead of the latest`;

export async function run(args: string[]): Promise<number> {
  let p;
  try {
    // --csv takes an optional file: take the next argument when it is not an option.
    const csvAt = args.indexOf("--csv");
    const csvFile =
      csvAt >= 0 && args[csvAt + 1] !== undefined && !args[csvAt + 1]?.startsWith("-")
        ? args[csvAt + 1]
        : undefined;
    const rest = args.filter((_a, i) => i !== csvAt && !(csvFile !== undefined && i === csvAt + 1)); // prettier-ignore
    p = parseArgs(rest, ["--db"], ["--all", "--help", "-h"]);
    if (p.flags.has("--help") || p.flags.has("-h")) {
      console.log(HELP);
      return 0;
    }
    if (p.positional.length > 0) throw new UsageError(`unexpected argument ${p.positional[0]}`);
    const dbPath = resolve(p.values.get("--db") ?? "grades/gradebook.sqlite");
    if (!existsSync(dbPath)) {
      console.error(`tito gradebook: no gradebook at ${dbPath} (run tito grade first)`);
      return 1;
    }
    const book = await Gradebook.open(dbPath);
    const rows = book.attempts(!p.flags.has("--all"));
    book.close();
    if (csvAt >= 0) {
      const csv = gradebookCsv(rows);
      if (csvFile) {
        writeFileAtomic(resolve(csvFile), csv);
        console.error(`wrote ${rows.length} rows to ${csvFile}`);
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
  } catch (e) {
    if (!(e instanceof UsageError)) throw e;
    console.error(`tito gradebook: ${e.message}\n\n${HELP}`);
    return 2;
  }
}
