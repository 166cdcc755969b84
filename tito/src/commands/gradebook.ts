// `tito gradebook [--csv [FILE]]` (instructor command)
import { existsSync } from "node:fs";
import { resolve } from "node:path";
import { runCommand, UsageError, writeFileAtomic } from "@tinytorch-ts/core";
import { spec } from "./gradebook.args";
import {
  formatPoints,
  Gradebook,
  gradebookCsv,
  logLine,
  summarizeGradebook,
  summaryCsv,
  summaryHtml,
} from "@tinytorch-ts/grader";

export function run(args: string[]): Promise<number> {
  return runCommand(spec, args, async ({ values: p }) => {
    const dbPath = resolve(p.db);
    if (!existsSync(dbPath)) {
      console.error(`tito gradebook: no gradebook at ${dbPath} (run tito grade first)`);
      return 1;
    }
    if (p.summary) return summary(dbPath, p.csv, p.html);
    if (p.html !== undefined) throw new UsageError("--html needs --summary");
    const book = await Gradebook.open(dbPath);
    const rows = book.attempts(!p.all);
    const totals = new Map(book.totals().map((t) => [JSON.stringify([t.student, t.module, t.attempt]), t])); // prettier-ignore
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
      // The latest attempt has a total (manual points, penalty); an earlier one only its score.
      const t = totals.get(JSON.stringify([r.student, r.module, r.attempt]));
      const points = [`auto ${formatPoints(r.score)}/${formatPoints(r.max_score - r.manual_max)}`];
      if (t && t.manualMax > 0) points.push(`manual ${formatPoints(t.manualScore)}/${formatPoints(t.manualMax)} (${t.manualUnscored} unscored)`); // prettier-ignore
      if (t) points.push(`total ${formatPoints(t.total)}${t.penalty > 0 ? ` (after a ${formatPoints(t.penalty * 100)}% penalty)` : ""}`); // prettier-ignore
      console.log(`${logLine(r.student).padEnd(20)} ${r.module.padEnd(18)} #${r.attempt}  ${points.join(", ")}${note}`); // prettier-ignore
    }
    if (rows.length === 0) console.log("(no attempts yet)");
    return 0;
  });
}

/**
 * `--summary`: the class summary as a wide CSV (`--csv`), an HTML page (`--html`), or, with
 * neither, a table on stdout. Student ids lose their control characters on the terminal.
 */
async function summary(
  dbPath: string,
  csv: string | undefined,
  html: string | undefined,
): Promise<number> {
  // prettier-ignore
  const book = await Gradebook.open(dbPath);
  const s = summarizeGradebook(book);
  book.close();
  if (csv !== undefined) {
    if (csv === "") process.stdout.write(summaryCsv(s));
    else {
      writeFileAtomic(resolve(csv), summaryCsv(s));
      console.error(`wrote ${s.students.length} student row(s) to ${csv}`);
    }
  }
  if (html !== undefined) {
    writeFileAtomic(resolve(html), await summaryHtml(s, `Class summary (${dbPath})`));
    console.error(`wrote the summary page to ${html}`);
  }
  if (csv !== undefined || html !== undefined) return 0;
  const width = Math.max(20, ...s.students.map((id) => logLine(id).length + 2));
  console.log(["student".padEnd(width), ...s.modules.map((m) => `${m.module} (/${m.maxScore})`), `course (/${s.courseMax})`].join("  ")); // prettier-ignore
  for (const student of s.students) {
    const cells = s.modules.map((m) => {
      const t = s.byStudent.get(student)?.get(m.module);
      const text = t === undefined ? "—" : `${Math.round(t.total * 100) / 100}${t.penalty > 0 ? "*" : ""}`; // prettier-ignore
      return text.padEnd(`${m.module} (/${m.maxScore})`.length);
    });
    console.log([logLine(student).padEnd(width), ...cells, String(Math.round(s.courseTotal(student) * 100) / 100)].join("  ")); // prettier-ignore
  }
  if (s.students.length === 0) console.log("(no attempts yet)");
  else console.log("* after a late penalty");
  return 0;
}
