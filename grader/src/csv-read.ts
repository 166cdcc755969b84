// Reading CSV as spreadsheets write it (RFC 4180): fields separated by commas, records by CRLF or
// LF; a field in double quotes may hold commas, line breaks and doubled quotes; a byte order mark
// at the start is dropped. Each record keeps the line it starts on, so a problem in a file of
// scores can be reported as `scores.csv:7: …` even when an earlier comment spans lines.
// Hand-written rather than a dependency: the format is small, and the line numbers are the point.
import { SourceError } from "@tinytorch-ts/core";

export interface CsvRecord {
  /** 1-based line of the file on which the record starts. */
  line: number;
  fields: string[];
}

/**
 * The records of `text`, in order. A line with nothing on it is no record. A quote that is never
 * closed, or text right after a closing quote, is a SourceError naming `file` and the line.
 */
export function parseCsv(text: string, file: string): CsvRecord[] {
  const records: CsvRecord[] = [];
  const input = text.startsWith("\uFEFF") ? text.slice(1) : text;
  let line = 1;
  let i = 0;
  while (i < input.length) {
    const start = line;
    const fields: string[] = [];
    // One record: fields until an unquoted line break or the end of the text.
    for (;;) {
      let field = "";
      if (input[i] === '"') {
        const opened = line;
        i++;
        for (;;) {
          if (i >= input.length) throw new SourceError(file, opened, "a quoted field is never closed"); // prettier-ignore
          const ch = input[i];
          if (ch === '"') {
            if (input[i + 1] === '"') {
              field += '"';
              i += 2;
              continue;
            }
            i++;
            break;
          }
          if (ch === "\n") line++;
          field += ch;
          i++;
        }
        const after = input[i];
        if (after !== undefined && after !== "," && after !== "\n" && after !== "\r") {
          throw new SourceError(file, line, "text after the closing quote of a field (a quote inside a field is written twice: \"\")"); // prettier-ignore
        }
      } else {
        while (i < input.length && input[i] !== "," && input[i] !== "\n" && input[i] !== "\r") {
          field += input[i];
          i++;
        }
      }
      fields.push(field);
      if (input[i] === ",") {
        i++;
        continue;
      }
      // A line break (CRLF, LF, or a lone CR as old spreadsheets write it) or the end.
      if (input[i] === "\r") i++;
      if (input[i] === "\n") i++;
      line++;
      break;
    }
    if (!(fields.length === 1 && fields[0] === "")) records.push({ line: start, fields });
  }
  return records;
}
