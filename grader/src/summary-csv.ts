// The class summary as one wide CSV for a spreadsheet or an LMS import: one row per student;
// per module its automatic, manual, penalty and total columns; then the course total. A header
// says each column's maximum ("01_tensor total (of 37)"), so no row has to stand for the maxima
// (a row label could collide with a student id, which is a file name the student chose). A
// module without an attempt is left empty (it counts 0 in the course total). Fields go through
// gradebook-csv's csvField: formulas are neutralised as there.
import { csvField } from "./gradebook-csv";
import { round2, type ClassSummary } from "./summary";

export function summaryCsv(s: ClassSummary): string {
  const header = ["student"];
  for (const m of s.modules) {
    header.push(
      `${m.module} automatic (of ${m.autoMax})`,
      `${m.module} manual (of ${m.manualMax})`,
      `${m.module} penalty`,
      `${m.module} total (of ${m.maxScore})`,
    );
  }
  header.push(`course total (of ${s.courseMax})`);
  const lines = [header.map(csvField).join(",")];
  for (const student of s.students) {
    const row: unknown[] = [student];
    for (const m of s.modules) {
      const t = s.byStudent.get(student)?.get(m.module);
      if (t === undefined) row.push("", "", "", "");
      else row.push(round2(t.autoScore), round2(t.manualScore), t.penalty, round2(t.total));
    }
    row.push(round2(s.courseTotal(student)));
    lines.push(row.map(csvField).join(","));
  }
  return lines.join("\n") + "\n";
}
