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
  | { kind: "string"; quote: number };

const SPECIAL_AT_TOP = /[`'"/]/;
const IN_CODE = /[`'"/{}]/g;
const IN_SINGLE = /['\\]/g;
const IN_DOUBLE = /["\\]/g;
const IN_TEMPLATE = /[`\\]|\$\{/g;
const BACKSLASH = 92;
const BACKTICK = 96;
const LBRACE = 123;
const SPACE = 32;
const TAB = 9;
const SLASH = 47;
const STAR = 42;
const QUOTE = 39;
const DQUOTE = 34;

function isWordChar(c: number): boolean {
  return (
    (c >= 97 && c <= 122) || (c >= 65 && c <= 90) || (c >= 48 && c <= 57) || c === 95 || c === 36
  );
}

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
    // Fast path: at top level only quotes, backticks and slashes can open a construct.
    if (this.stack.length === 1 && !SPECIAL_AT_TOP.test(line)) {
      this.notePrev(line, line.length, 0);
      return;
    }
    let i = 0;
    const n = line.length;
    // Where the code being scanned on this line started (for the regex look-behind).
    let codeFrom = 0;
    while (i < n) {
      const top = this.stack[this.stack.length - 1];
      if (top.kind === "block") {
        const end = line.indexOf("*/", i);
        if (end < 0) return;
        this.stack.pop();
        i = codeFrom = end + 2;
        continue;
      }
      if (top.kind === "string") {
        const re = top.quote === QUOTE ? IN_SINGLE : IN_DOUBLE;
        re.lastIndex = i;
        const m = re.exec(line);
        if (!m) break;
        if (line.charCodeAt(m.index) === BACKSLASH) i = m.index + 2;
        else {
          this.stack.pop();
          this.prev = '"';
          i = codeFrom = m.index + 1;
        }
        continue;
      }
      if (top.kind === "template") {
        IN_TEMPLATE.lastIndex = i;
        const m = IN_TEMPLATE.exec(line);
        if (!m) break;
        const c = line.charCodeAt(m.index);
        if (c === BACKSLASH) i = m.index + 2;
        else if (c === BACKTICK) {
          this.stack.pop();
          this.prev = "`";
          i = codeFrom = m.index + 1;
        } else {
          this.stack.push({ kind: "code", braces: 0 });
          this.prev = "{";
          i = codeFrom = m.index + 2;
        }
        continue;
      }
      // Code: jump to the next character that can change the state.
      IN_CODE.lastIndex = i;
      const m = IN_CODE.exec(line);
      if (!m) break;
      i = m.index;
      const c = line.charCodeAt(i);
      if (c === SLASH) {
        const next = line.charCodeAt(i + 1);
        if (next === SLASH) {
          this.notePrev(line, i, codeFrom);
          return;
        }
        if (next === STAR) {
          this.stack.push({ kind: "block" });
          i += 2;
          continue;
        }
        this.notePrev(line, i, codeFrom);
        if (this.regexAllowed()) i = skipRegex(line, i);
        else i++;
        this.prev = "/";
        continue;
      }
      if (c === QUOTE || c === DQUOTE) this.stack.push({ kind: "string", quote: c });
      else if (c === BACKTICK) this.stack.push({ kind: "template" });
      else if (c === LBRACE) top.braces++;
      else if (top.braces === 0 && this.stack.length > 1) this.stack.pop();
      else top.braces = Math.max(0, top.braces - 1);
      this.prev = line[i];
      i++;
      codeFrom = i;
    }
    const top = this.stack[this.stack.length - 1];
    if (top.kind === "code") this.notePrev(line, n, codeFrom);
    // A line ends an unterminated '...' or "..." string unless the newline is escaped.
    if (top.kind === "string" && !endsWithOddBackslashes(line)) this.stack.pop();
  }

  /** Record the last significant token in line[from, end), for the regex heuristic. */
  private notePrev(line: string, end: number, from: number): void {
    let j = end - 1;
    while (j >= from && (line.charCodeAt(j) === SPACE || line.charCodeAt(j) === TAB)) j--;
    if (j < from) return;
    if (!isWordChar(line.charCodeAt(j))) {
      this.prev = line[j];
      return;
    }
    let k = j;
    while (k > from && isWordChar(line.charCodeAt(k - 1))) k--;
    this.prev = line.slice(k, j + 1);
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
