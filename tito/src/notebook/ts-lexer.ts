// A line-oriented TypeScript lexer that knows just enough to tell whether a line *starts* inside
// a template literal, a block comment or a string continued with a backslash. The percent reader
// uses it so that a line like `// %%` inside a template literal does not start a new cell, and so
// that magic escaping (`// %cmd`) only applies to real top-level lines. It is deliberately small:
// it tracks strings, template literals with nested `${...}` expressions, comments and regular
// expression literals (with the usual "what came before the slash" heuristic), and nothing else.

type Frame =
  | { kind: "code"; braces: number }
  | { kind: "template" }
  | { kind: "block" }
  | { kind: "string"; quote: string };

/** Keywords after which a `/` starts a regular expression rather than a division. */
const REGEX_AFTER_WORD = new Set([
  "return",
  "typeof",
  "instanceof",
  "in",
  "of",
  "new",
  "delete",
  "void",
  "throw",
  "case",
  "do",
  "else",
  "yield",
  "await",
]);
const REGEX_AFTER_PUNCT = "(,=:[!&|?{};+-*%<>~^";

/** What the lexer knows about where the next line begins. */
export type LineStart = "top" | "template" | "block" | "string" | "nested";

export class LineLexer {
  private stack: Frame[] = [{ kind: "code", braces: 0 }];
  /** Last significant character (or word) seen in code, for the regex heuristic. */
  private prev = "";
  /** 0-based index of the line on which the current outermost non-code construct opened. */
  openedAt = -1;
  private lineIndex = -1;

  /** Where the next line starts: at top level, or inside some construct. */
  where(): LineStart {
    if (this.stack.length === 1) return "top";
    const first = this.stack[1];
    if (first.kind === "template") return "template";
    if (first.kind === "block") return "block";
    if (first.kind === "string") return "string";
    return "nested";
  }

  atTop(): boolean {
    return this.stack.length === 1;
  }

  /** Consume one line (without its newline). */
  feed(line: string): void {
    this.lineIndex++;
    const wasTop = this.stack.length === 1;
    this.scan(line);
    if (wasTop && this.stack.length > 1) this.openedAt = this.lineIndex;
  }

  /** Consume a line without lexing it (a magic command line is opaque). */
  skip(): void {
    this.lineIndex++;
  }

  private scan(line: string): void {
    let i = 0;
    const n = line.length;
    while (i < n) {
      const top = this.stack[this.stack.length - 1];
      const c = line[i];
      if (top.kind === "block") {
        const end = line.indexOf("*/", i);
        if (end < 0) return;
        this.stack.pop();
        i = end + 2;
        continue;
      }
      if (top.kind === "string") {
        if (c === "\\") {
          i += 2;
          continue;
        }
        if (c === top.quote) this.stack.pop();
        i++;
        continue;
      }
      if (top.kind === "template") {
        if (c === "\\") {
          i += 2;
          continue;
        }
        if (c === "`") {
          this.stack.pop();
          this.prev = "`";
          i++;
          continue;
        }
        if (c === "$" && line[i + 1] === "{") {
          this.stack.push({ kind: "code", braces: 0 });
          this.prev = "{";
          i += 2;
          continue;
        }
        i++;
        continue;
      }
      // Code.
      if (c === " " || c === "\t") {
        i++;
        continue;
      }
      if (c === "/" && line[i + 1] === "/") return;
      if (c === "/" && line[i + 1] === "*") {
        this.stack.push({ kind: "block" });
        i += 2;
        continue;
      }
      if (c === "'" || c === '"') {
        this.stack.push({ kind: "string", quote: c });
        this.prev = c;
        i++;
        continue;
      }
      if (c === "`") {
        this.stack.push({ kind: "template" });
        i++;
        continue;
      }
      if (c === "{") {
        top.braces++;
        this.prev = c;
        i++;
        continue;
      }
      if (c === "}") {
        if (top.braces === 0 && this.stack.length > 1) this.stack.pop();
        else top.braces = Math.max(0, top.braces - 1);
        this.prev = c;
        i++;
        continue;
      }
      if (c === "/") {
        if (this.regexAllowed()) {
          i = skipRegex(line, i);
          this.prev = "/re";
          continue;
        }
        this.prev = c;
        i++;
        continue;
      }
      if (/[A-Za-z0-9_$]/.test(c)) {
        let j = i + 1;
        while (j < n && /[A-Za-z0-9_$]/.test(line[j])) j++;
        this.prev = line.slice(i, j);
        i = j;
        continue;
      }
      this.prev = c;
      i++;
    }
    // A line ends an unterminated '...' or "..." string unless the newline is escaped.
    const top = this.stack[this.stack.length - 1];
    if (top.kind === "string" && !endsWithOddBackslashes(line)) this.stack.pop();
  }

  private regexAllowed(): boolean {
    const p = this.prev;
    if (p === "") return true;
    if (p.length === 1) return REGEX_AFTER_PUNCT.includes(p);
    return REGEX_AFTER_WORD.has(p);
  }
}

function endsWithOddBackslashes(line: string): boolean {
  let k = 0;
  for (let i = line.length - 1; i >= 0 && line[i] === "\\"; i--) k++;
  return k % 2 === 1;
}

/** Skip a regular expression literal starting at `start` (the opening slash). */
function skipRegex(line: string, start: number): number {
  let i = start + 1;
  let inClass = false;
  while (i < line.length) {
    const c = line[i];
    if (c === "\\") {
      i += 2;
      continue;
    }
    if (inClass) {
      if (c === "]") inClass = false;
    } else if (c === "[") inClass = true;
    else if (c === "/") {
      i++;
      while (i < line.length && /[a-z]/.test(line[i])) i++;
      return i;
    }
    i++;
  }
  // Unterminated: not a regex after all; treat the slash as an operator.
  return start + 1;
}
