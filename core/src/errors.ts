// Every problem with a user's file is reported as a SourceError naming the file, the 1-based
// line (when there is one) and what is wrong, so a CLI can print `file:line: message` and exit
// without a stack trace.

export class SourceError extends Error {
  constructor(
    readonly file: string,
    readonly line: number | undefined,
    readonly problem: string,
  ) {
    super(line === undefined ? `${file}: ${problem}` : `${file}:${line}: ${problem}`);
    this.name = "SourceError";
  }
}

export function isSourceError(e: unknown): e is SourceError {
  return e instanceof SourceError;
}
