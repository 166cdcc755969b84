// When each student submitted: `tito grade --times FILE`, a CSV `student,submitted_at` exported
// from wherever the notebooks were collected (an LMS, a form), for when the files' own times are
// not the submission times (a downloaded archive's files all carry the download time). It
// decides penalties, so it is checked row by row before anything is graded, and every problem is
// reported as file:line (csv-read.ts keeps the line each record starts on).
import { readFileSync } from "node:fs";
import { SourceError } from "@tinytorch-ts/core";
import { parseInstant } from "./course-file";
import { parseCsv, type CsvRecord } from "./csv-read";

export const TIMES_HEADER = ["student", "submitted_at"] as const;

/** Every problem of a times file at once, one "file:line: problem" per line. */
export class SubmissionTimesError extends SourceError {
  constructor(readonly problems: SourceError[]) {
    super(problems[0].file, problems[0].line, problems[0].problem);
    this.message = problems.map((p) => p.message).join("\n");
    this.name = "SubmissionTimesError";
  }
}

/** Parses a times file: student id -> submission time (epoch ms). Throws with every problem. */
export function parseSubmissionTimes(text: string, file: string): Map<string, number> {
  let records: CsvRecord[];
  try {
    records = parseCsv(text, file);
  } catch (e) {
    if (e instanceof SourceError) throw new SubmissionTimesError([e]);
    throw e;
  }
  const problems: SourceError[] = [];
  const times = new Map<string, number>();
  const firstLine = new Map<string, number>();
  const [header, ...rows] = records;
  if (header?.fields.map((h) => h.trim()).join(",") !== TIMES_HEADER.join(",")) {
    problems.push(new SourceError(file, header?.line ?? 1, `the first line must be the header "${TIMES_HEADER.join(",")}"`)); // prettier-ignore
  }
  for (const { line, fields } of rows) {
    const bad = (problem: string) => problems.push(new SourceError(file, line, problem));
    if (fields.length !== 2) {
      bad(`expected 2 fields (student,submitted_at), found ${fields.length}`);
      continue;
    }
    const [student, time] = [fields[0].trim(), fields[1].trim()];
    const ms = parseInstant(time);
    const seen = firstLine.get(student);
    if (student === "") bad("the student id is empty");
    else if (ms === undefined)
      bad(`"${time}" is not an ISO 8601 date and time with a UTC offset (e.g. 2026-02-06T23:59:00-05:00)`); // prettier-ignore
    else if (seen !== undefined)
      bad(`a second time for ${student} (the first is on line ${seen})`); // prettier-ignore
    else {
      firstLine.set(student, line);
      times.set(student, ms);
    }
  }
  if (problems.length > 0) throw new SubmissionTimesError(problems);
  return times;
}

export function readSubmissionTimes(path: string): Map<string, number> {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (e) {
    throw new SubmissionTimesError([new SourceError(path, undefined, `cannot read the times file (${(e as Error).message})`)]); // prettier-ignore
  }
  return parseSubmissionTimes(text, path);
}

/**
 * The students of a batch that a times file gives no time for. With a times file, each one is
 * an error rather than a fall-back to the file's time: a file time is what the times file was
 * given to replace.
 */
export function studentsWithoutTimes(students: string[], times: Map<string, number>): string[] {
  return students.filter((s) => !times.has(s));
}
