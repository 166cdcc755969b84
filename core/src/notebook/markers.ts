// Scanning cell sources for the kit's in-cell syntax: nbgrader-style region markers
// (`// ### BEGIN SOLUTION` ... `// ### END SOLUTION`, `// ### BEGIN HIDDEN TESTS` ..., and in
// an answer graded by hand `### BEGIN RUBRIC` ... `### END RUBRIC`) and
// nbdev-style directives (`//| export`). The build's transforms and the validator share these so
// that every stage agrees on what a marker is. A marker must stand alone on its line; in code
// cells, lines inside template literals and block comments are not markers.
import { SourceError } from "../errors";
import { LineLexer } from "./ts-lexer";
import type { CellType } from "./types";

export type RegionKind = "solution" | "hidden" | "rubric";
export type SolutionRole = "scaffold" | "challenge" | "instructor";
export const SOLUTION_ROLES: readonly SolutionRole[] = ["scaffold", "challenge", "instructor"];

export interface Region {
  /** 0-based index, within the cell source, of the BEGIN line. */
  begin: number;
  /** 0-based index, within the cell source, of the END line. */
  end: number;
  /** Leading whitespace of the BEGIN line (the stub is written at this indentation). */
  indent: string;
  role?: SolutionRole;
}

export interface Directive {
  name: string;
  arg?: string;
  /** 0-based index of the directive's line within the cell source. */
  line: number;
}

const WORDS: Record<RegionKind, string> = {
  solution: "SOLUTION",
  hidden: "HIDDEN TESTS",
  rubric: "RUBRIC",
};

interface MarkerMatch {
  begin: boolean;
  indent: string;
  role?: string;
}

function matchMarker(
  line: string,
  kind: RegionKind,
  cellType: CellType,
): MarkerMatch | "malformed" | undefined {
  const word = WORDS[kind];
  if (!line.toUpperCase().includes(word) || !/\b(BEGIN|END)\b/i.test(line)) return undefined;
  const prefix = cellType === "code" ? "\\/\\/\\s*" : "(?:\\/\\/\\s*)?";
  const re = new RegExp(`^(\\s*)${prefix}###\\s*(BEGIN|END) ${word}(?:\\s+role="([^"]*)")?\\s*$`);
  const m = re.exec(line);
  if (m) return { begin: m[2] === "BEGIN", indent: m[1], role: m[3] };
  const loose = new RegExp(`###\\s*(BEGIN|END)\\s+${word.replace(" ", "\\s+")}`, "i");
  return loose.test(line) ? "malformed" : undefined;
}

/**
 * The regions of one kind in a cell's source, in order. Throws SourceError for a marker that is
 * malformed, nested, unclosed or without its BEGIN. `firstLine` is the 1-based file line of the
 * source's first line, used in messages.
 */
export function findRegions(
  source: string,
  kind: RegionKind,
  file = "<cell>",
  firstLine = 1,
  cellType: CellType = "code",
): Region[] {
  const lines = source.split("\n");
  const lexer = cellType === "code" ? new LineLexer() : undefined;
  const word = WORDS[kind];
  const regions: Region[] = [];
  let open: { begin: number; indent: string; role?: SolutionRole } | undefined;
  lines.forEach((line, i) => {
    const top = !lexer || lexer.atTop();
    lexer?.feed(line);
    if (!top) return;
    const m = matchMarker(line, kind, cellType);
    if (m === undefined) return;
    const at = firstLine + i;
    if (m === "malformed") {
      throw new SourceError(
        file,
        at,
        `malformed marker '${line.trim()}': write it alone on its line as '${cellType === "code" ? "// " : ""}### BEGIN ${word}' or '${cellType === "code" ? "// " : ""}### END ${word}'`,
      );
    }
    if (m.role !== undefined && (kind !== "solution" || !m.begin)) {
      throw new SourceError(file, at, `a role is only allowed on BEGIN SOLUTION`);
    }
    if (m.role !== undefined && !(SOLUTION_ROLES as readonly string[]).includes(m.role)) {
      throw new SourceError(
        file,
        at,
        `unknown role "${m.role}" (expected ${SOLUTION_ROLES.join(", ")})`,
      );
    }
    if (m.begin) {
      if (open) {
        throw new SourceError(
          file,
          at,
          `nested BEGIN ${word}: the region opened at line ${firstLine + open.begin} is not closed`,
        );
      }
      open = { begin: i, indent: m.indent, role: m.role as SolutionRole | undefined };
    } else {
      if (!open) throw new SourceError(file, at, `END ${word} without a matching BEGIN ${word}`);
      const region: Region = { begin: open.begin, end: i, indent: open.indent };
      if (open.role) region.role = open.role;
      regions.push(region);
      open = undefined;
    }
  });
  if (open) {
    throw new SourceError(
      file,
      firstLine + open.begin,
      `BEGIN ${word} is never closed by END ${word}`,
    );
  }
  return regions;
}

// A directive line is `//|` first on the line, after any blanks: the one definition every
// reader of directives uses (the build, the exporter, the stubs, the leak audit, tito export).
const DIRECTIVE_LINE = /^\s*\/\/\|/;
const DIRECTIVE_RE = /^\s*\/\/\|\s*([A-Za-z_][\w-]*)(?:[ \t]+(.*?))?[ \t]*$/;

/** True for a `//| …` line (well formed or not: parseDirectives reads the well-formed ones). */
export function isDirectiveLine(line: string): boolean {
  return DIRECTIVE_LINE.test(line);
}

/** The `//| name [arg]` directives on the first lines of a cell (stops at the first other line). */
export function parseDirectives(source: string): Directive[] {
  const out: Directive[] = [];
  const lines = source.split("\n");
  for (let i = 0; i < lines.length; i++) {
    const m = DIRECTIVE_RE.exec(lines[i]);
    if (!m) break;
    const d: Directive = { name: m[1], line: i };
    if (m[2] !== undefined && m[2] !== "") d.arg = m[2];
    out.push(d);
  }
  return out;
}

/** The source without its leading directive lines. */
export function stripDirectives(source: string): string {
  const n = parseDirectives(source).length;
  if (n === 0) return source;
  return source.split("\n").slice(n).join("\n");
}

/** 0-based indices of `//|` lines that are not in the leading directive block (top level only). */
export function misplacedDirectiveLines(source: string): number[] {
  const lines = source.split("\n");
  const lead = parseDirectives(source).length;
  const lexer = new LineLexer();
  const out: number[] = [];
  lines.forEach((line, i) => {
    const top = lexer.atTop();
    lexer.feed(line);
    if (top && i >= lead && isDirectiveLine(line)) out.push(i);
  });
  return out;
}
