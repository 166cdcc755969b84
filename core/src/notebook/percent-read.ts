// Reading jupytext's percent format for TypeScript (docs/module-format.md is the specification).
// The reader is jupytext's, made lossless and strict: exactly one blank line separates cells (any
// other blank lines belong to the cell above), cell markers inside template literals, block
// comments and continued strings do not start cells, and malformed marker metadata is an error.
import { gradeId } from "./cell-roles";
import { assignCellIds, moduleNameFromPath } from "./cell-ids";
import { SourceError } from "../errors";
import { isMarkerLine, parseMarkerLine } from "./marker-line";
import { LineLexer } from "./ts-lexer";
import {
  TSLAB_KERNELSPEC,
  TSLAB_LANGUAGE_INFO,
  type Cell,
  type CellMetadata,
  type CellType,
  type Notebook,
  type NotebookMetadata,
} from "./types";
import { parseYamlHeader } from "./yaml-header";

export interface ParsedSource {
  notebook: Notebook;
  /** 1-based line of cell i's marker (or of its first line, for a first cell without marker). */
  cellLines: number[];
  /** 1-based line of cell i's first source line (source line j is file line sourceLines[i] + j). */
  sourceLines: number[];
  /** The text as given (before line-ending normalisation), for canonical-form checks. */
  text: string;
}

const HEADER_RE = /^\/\/\s?---\s*$/;
/** jupytext's magic patterns for `//` languages (a magic escaped zero or more times). */
const MAGIC_RE = /^\s*(\/\/ |\/\/)*(%|%%|%%%)[a-zA-Z]/;
const MAGIC_FORCE_ESC_RE = /^\s*(\/\/ |\/\/)*(%|%%|%%%)[a-zA-Z](.*)\/\/\s*escape/;
const MAGIC_NOT_ESC_RE = /^\s*(\/\/ |\/\/)*(%|%%|%%%)[a-zA-Z](.*)\/\/\s*noescape/;

export function isMagicLine(line: string): boolean {
  if (!line.includes("%")) return false;
  if (MAGIC_FORCE_ESC_RE.test(line)) return true;
  if (MAGIC_NOT_ESC_RE.test(line)) return false;
  return MAGIC_RE.test(line);
}

/** Feed one code line to the lexer; magic lines at top level are opaque to it. */
export function lexLine(lexer: LineLexer, line: string): boolean {
  const magic = lexer.atTop() && isMagicLine(line);
  if (magic) lexer.skip();
  else lexer.feed(line);
  return magic;
}

function uncommentLine(line: string): string {
  if (line.startsWith("// ")) return line.slice(3);
  if (line.startsWith("//")) return line.slice(2);
  return line;
}

function unescapeMagic(line: string): string {
  const body = line.trimStart();
  const indent = line.slice(0, line.length - body.length);
  return indent + uncommentLine(body);
}

interface RawCell {
  marker: number;
  cellType: CellType;
  metadata: CellMetadata;
  start: number;
  end: number;
  /** Absolute indices of escaped magic lines (code cells), found while lexing. */
  magics: number[];
}

const CONSTRUCT: Record<string, string> = {
  template: "template literal",
  block: "block comment",
  string: "string (continued with a backslash)",
  nested: "template literal",
  top: "",
};

/**
 * Split lines into cell regions. A code cell that ends inside a template literal, block comment
 * or continued string is an error: the construct swallowed the rest of the file, so the marker
 * lines in it cannot be told from text (and the cell could not be written back).
 */
function scanCells(lines: string[], pos: number, file: string): RawCell[] {
  const cells: RawCell[] = [];
  let i = pos;
  while (i < lines.length) {
    let marker = -1;
    let cellType: CellType = "code";
    let metadata: CellMetadata = {};
    if (isMarkerLine(lines[i])) {
      marker = i;
      ({ cellType, metadata } = parseMarkerLine(lines[i], file, i + 1));
      i++;
    }
    const start = i;
    const lexer = cellType === "code" ? new LineLexer() : undefined;
    const candidates: number[] = [];
    const magics: number[] = [];
    for (; i < lines.length; i++) {
      const line = lines[i];
      if (isMarkerLine(line)) {
        if (!lexer || lexer.atTop()) break;
        candidates.push(i);
      }
      if (lexer && lexLine(lexer, line)) magics.push(i);
    }
    if (lexer && !lexer.atTop()) {
      const hidden =
        candidates.length > 0 ? `; it hides the cell marker at line ${candidates[0] + 1}` : "";
      throw new SourceError(
        file,
        start + lexer.openedAt + 1,
        `unterminated ${CONSTRUCT[lexer.where()]} runs to the end of the file${hidden}`,
      );
    }
    if (marker < 0 && lines.slice(start, i).every((l) => l === "")) continue;
    cells.push({ marker, cellType, metadata, start, end: i, magics });
  }
  return cells;
}

function toSource(
  rc: RawCell,
  lines: string[],
  end: number,
  text: string,
  offsets: number[],
): string {
  if (rc.cellType !== "code") return lines.slice(rc.start, end).map(uncommentLine).join("\n");
  // A code cell without magics is a slice of the text: no per-line copies.
  if (rc.magics.length === 0)
    return end > rc.start ? text.slice(offsets[rc.start], offsets[end] - 1) : "";
  const body = lines.slice(rc.start, end);
  for (const k of rc.magics) if (k < end) body[k - rc.start] = unescapeMagic(lines[k]);
  return body.join("\n");
}

export function readHeader(
  lines: string[],
  file: string,
): { metadata: NotebookMetadata; next: number } | undefined {
  if (lines.length === 0 || !HEADER_RE.test(lines[0])) return undefined;
  let close = -1;
  for (let j = 1; j < lines.length; j++) {
    if (!lines[j].startsWith("//")) return undefined;
    if (HEADER_RE.test(lines[j])) {
      close = j;
      break;
    }
  }
  if (close < 0) return undefined;
  const yaml = parseYamlHeader(lines.slice(1, close).map(uncommentLine), 2, file);
  for (const key of Object.keys(yaml)) {
    if (key !== "jupyter") {
      throw new SourceError(
        file,
        2,
        `unsupported top-level key '${key}' in the header (only 'jupyter:')`,
      );
    }
  }
  const jupyter = yaml.jupyter ?? {};
  if (typeof jupyter !== "object" || Array.isArray(jupyter)) {
    throw new SourceError(file, 2, "'jupyter:' in the header must be a mapping");
  }
  const metadata = { ...(jupyter as NotebookMetadata) };
  const jt = metadata.jupytext;
  if (jt && typeof jt === "object" && !Array.isArray(jt)) {
    const rest = { ...jt };
    const rep = rest.text_representation;
    if (rep && typeof rep === "object" && !Array.isArray(rep)) {
      // Extension and format are implied by the file; keep any other fields (versions).
      const { extension: _e, format_name: _f, ...others } = rep as Record<string, unknown>;
      if (Object.keys(others).length > 0) rest.text_representation = others;
      else delete rest.text_representation;
    }
    if (Object.keys(rest).length > 0) metadata.jupytext = rest;
    else delete metadata.jupytext;
  }
  let next = close + 1;
  if (next < lines.length && lines[next] === "") next++;
  return { metadata, next };
}

/** Read a percent-format TypeScript source. Throws SourceError on malformed input. */
export function parsePercent(text: string, file: string): ParsedSource {
  const norm = text.replace(/^\uFEFF/, "").replace(/\r\n/g, "\n");
  const lines = norm === "" ? [] : norm.split("\n");
  if (lines.length > 0 && lines[lines.length - 1] === "") lines.pop();
  const offsets = new Array<number>(lines.length + 1);
  offsets[0] = 0;
  for (let i = 0; i < lines.length; i++) offsets[i + 1] = offsets[i] + lines[i].length + 1;
  const header = readHeader(lines, file);
  const pos = header ? header.next : 0;
  const raw = scanCells(lines, pos, file);
  const cells: Cell[] = [];
  const cellLines: number[] = [];
  const sourceLines: number[] = [];
  raw.forEach((rc, index) => {
    const isLast = index === raw.length - 1;
    let k = 0;
    while (rc.end - 1 - k >= rc.start && lines[rc.end - 1 - k] === "") k++;
    const metadata = rc.metadata;
    let sep: number;
    const explicit = metadata.lines_to_next_cell;
    if (typeof explicit === "number" && Number.isInteger(explicit) && explicit >= 0) {
      sep = Math.min(explicit, k);
    } else if (isLast) sep = 0;
    else {
      sep = k >= 1 ? 1 : 0;
      if (sep === 0) metadata.lines_to_next_cell = 0;
    }
    const source = toSource(rc, lines, rc.end - sep, norm, offsets);
    const base = { id: "", metadata, source };
    cells.push(
      rc.cellType === "code"
        ? { ...base, cell_type: "code", execution_count: null, outputs: [] }
        : { ...base, cell_type: rc.cellType },
    );
    cellLines.push((rc.marker >= 0 ? rc.marker : rc.start) + 1);
    sourceLines.push(rc.start + 1);
  });
  const ids = assignCellIds(
    cells.map((c) => ({ gradeId: gradeId(c) })),
    moduleNameFromPath(file),
  );
  cells.forEach((c, i) => (c.id = ids[i]));
  const metadata: NotebookMetadata = header
    ? header.metadata
    : { jupytext: { notebook_metadata_filter: "-all" } };
  metadata.kernelspec ??= { ...TSLAB_KERNELSPEC };
  metadata.language_info ??= structuredClone(TSLAB_LANGUAGE_INFO);
  return {
    notebook: { nbformat: 4, nbformat_minor: 5, metadata, cells },
    cellLines,
    sourceLines,
    text,
  };
}
