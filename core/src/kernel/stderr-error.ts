// tslab's error replies carry only `status: "error"` and the execution count; what went wrong is
// printed to the cell's stderr. We recover an nbformat-style `ename`/`evalue` from that text:
// - TypeScript diagnostics are printed as `[file ]line:col - message` → ename "TSError";
// - a thrown Error is printed by console.error as Node's inspection of it: an optional source
//   excerpt, then `Name[ [code]]: message` (possibly several lines) and `    at ...` frames;
// - anything else thrown (a string, an object) is printed as it is → ename "Error".
// The cell's status always comes from the reply; this text only explains it.

export interface DerivedError {
  ename: string;
  evalue: string;
}

const DIAGNOSTIC = /^(?:\S+ )?\d+:\d+ - /;
const FRAME = /^\s+at /;
const ERROR_NAME = /(Error|Exception|Failure)$/;
const ERROR_HEADER = /^([A-Za-z_$][\w$]*)(?: \[[^\]]*\])?(?:: ([\s\S]*))?$/;
/** How far above the first stack frame we look for the `Name: message` line. */
const MAX_MESSAGE_LINES = 40;
const MAX_EVALUE_CHARS = 2000;

function clip(text: string): string {
  return text.length > MAX_EVALUE_CHARS ? text.slice(0, MAX_EVALUE_CHARS) + "…" : text;
}

function fromDiagnostics(lines: string[]): DerivedError | undefined {
  // Diagnostics are printed only when the cell did not run, so they are the last thing on
  // stderr; a diagnostic-looking line followed by stack frames was printed by the cell itself.
  let lastFrame = -1;
  lines.forEach((l, i) => {
    if (FRAME.test(l)) lastFrame = i;
  });
  const first = lines.findIndex((l, i) => i > lastFrame && DIAGNOSTIC.test(l));
  if (first < 0) return undefined;
  return { ename: "TSError", evalue: clip(lines.slice(first).join("\n").trim()) };
}

function fromStack(lines: string[]): DerivedError | undefined {
  let lastFrame = -1;
  for (let i = lines.length - 1; i >= 0; i--) {
    if (FRAME.test(lines[i])) {
      lastFrame = i;
      break;
    }
  }
  if (lastFrame < 0) return undefined;
  let firstFrame = lastFrame;
  while (firstFrame > 0 && FRAME.test(lines[firstFrame - 1])) firstFrame--;
  // Walk up from the frames to the `Name: message` line; the lines in between are the rest
  // of a multi-line message. A message line can itself look like `word: text`, so we prefer
  // the nearest name that reads as an error class, then any capitalised name, and accept a
  // bare name (an empty message) only directly above the frames.
  const top = Math.max(0, firstFrame - MAX_MESSAGE_LINES);
  const pick = (accept: (name: string, hasMessage: boolean, at: number) => boolean) => {
    for (let h = firstFrame - 1; h >= top; h--) {
      const m = ERROR_HEADER.exec(lines[h]);
      if (m && accept(m[1], m[2] !== undefined, h)) {
        const message = [m[2] ?? "", ...lines.slice(h + 1, firstFrame)].join("\n").trim();
        return { ename: m[1], evalue: clip(message) };
      }
    }
    return undefined;
  };
  return (
    pick(
      (name, withMessage, at) => ERROR_NAME.test(name) && (withMessage || at === firstFrame - 1),
    ) ??
    pick((name, withMessage) => withMessage && /^[A-Z]/.test(name)) ??
    pick((_name, _withMessage, at) => at === firstFrame - 1)
  );
}

/** Derives ename/evalue from the stderr a failing tslab cell printed. */
export function deriveError(stderr: string): DerivedError {
  const lines = stderr.replace(/\r\n/g, "\n").trimEnd().split("\n");
  const found = fromDiagnostics(lines) ?? fromStack(lines);
  if (found) return found;
  const text = stderr.trim();
  if (text === "") return { ename: "Error", evalue: "the cell failed without a message" };
  // A thrown non-Error value: report the last printed line (the value itself).
  const last = lines.filter((l) => l.trim() !== "").pop() ?? text;
  return { ename: "Error", evalue: clip(last.trim()) };
}
