// Reading and writing jupytext's percent format for TypeScript (docs/module-format.md is the
// specification). The writer produces the text jupytext writes for a notebook; the reader is
// jupytext's, made lossless and strict: exactly one blank line separates cells (any other blank
// lines belong to the cell above), cell markers inside template literals, block comments and
// continued strings do not start cells, and malformed marker metadata is an error. The writer
// re-reads what it wrote and refuses (SourceError) a notebook it cannot represent faithfully.
import { assignCellIds, moduleNameFromPath } from "./cell-ids";
import { SourceError } from "./errors";
import {
  isMarkerLine,
  IGNORED_CELL_METADATA,
  parseMarkerLine,
  writeMarkerLine,
} from "./marker-line";
import { DEFAULT_CELL_FILTER, DEFAULT_NOTEBOOK_FILTER, filterMetadata } from "./metadata-filter";
import { compareCodePoints, sortKeysDeep } from "./pyjson";
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
import { parseYamlHeader, writeYaml } from "./yaml-header";

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
  if (MAGIC_FORCE_ESC_RE.test(line)) return true;
  if (MAGIC_NOT_ESC_RE.test(line)) return false;
  return MAGIC_RE.test(line);
}

/** Feed one code line to the lexer; magic lines at top level are opaque to it. */
function lexLine(lexer: LineLexer, line: string): boolean {
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
}

/** Split lines into cell regions; returns a line to force as a marker when a construct never closes. */
function scanCells(
  lines: string[],
  pos: number,
  forced: Set<number>,
  file: string,
): RawCell[] | number {
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
    for (; i < lines.length; i++) {
      const line = lines[i];
      if (isMarkerLine(line)) {
        if (!lexer || lexer.atTop() || forced.has(i)) break;
        candidates.push(i);
      }
      if (lexer) lexLine(lexer, line);
    }
    if (lexer && !lexer.atTop() && i === lines.length) {
      // The cell ends inside a template literal or comment that never closes: the marker-like
      // lines in it were real markers after all.
      const retry = candidates.find((k) => k - start > lexer.openedAt);
      if (retry !== undefined) return retry;
    }
    if (marker < 0 && lines.slice(start, i).every((l) => l === "")) continue;
    cells.push({ marker, cellType, metadata, start, end: i });
  }
  return cells;
}

function toSource(cellType: CellType, body: string[]): string {
  if (cellType !== "code") return body.map(uncommentLine).join("\n");
  const lexer = new LineLexer();
  return body.map((line) => (lexLine(lexer, line) ? unescapeMagic(line) : line)).join("\n");
}

function readHeader(
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
  const header = readHeader(lines, file);
  const pos = header ? header.next : 0;
  const forced = new Set<number>();
  let raw = scanCells(lines, pos, forced, file);
  while (typeof raw === "number") {
    forced.add(raw);
    raw = scanCells(lines, pos, forced, file);
  }
  const cells: Cell[] = [];
  const cellLines: number[] = [];
  const sourceLines: number[] = [];
  raw.forEach((rc, index) => {
    const isLast = index === (raw as RawCell[]).length - 1;
    const region = lines.slice(rc.start, rc.end);
    let k = 0;
    while (k < region.length && region[region.length - 1 - k] === "") k++;
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
    const source = toSource(rc.cellType, region.slice(0, region.length - sep));
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
    cells.map((c) => ({ gradeId: c.metadata.nbgrader?.grade_id })),
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

function headerLines(metadata: NotebookMetadata): string[] {
  const jupytext = { ...(metadata.jupytext ?? {}) };
  const rep = jupytext.text_representation;
  jupytext.text_representation = {
    ...(rep && typeof rep === "object" ? rep : {}),
    extension: ".ts",
    format_name: "percent",
  };
  const filtered = filterMetadata(
    { ...metadata, jupytext },
    jupytext.notebook_metadata_filter,
    DEFAULT_NOTEBOOK_FILTER,
  );
  if (filtered.jupytext && Object.keys(filtered.jupytext).length === 0) delete filtered.jupytext;
  if (Object.keys(filtered).length === 0) return [];
  const yaml = writeYaml({ jupyter: filtered }, (keys) => keys.sort(compareCodePoints));
  return ["// ---", ...yaml.map((l) => (l ? "// " + l : "//")), "// ---"];
}

/**
 * The cell metadata the percent text carries for a cell, i.e. what reading it back gives: all of
 * it except Jupyter's run-state keys (and whatever the notebook's cell_metadata_filter removes).
 */
export function textMetadata(cell: Cell, cellFilter: unknown): CellMetadata {
  const md = filterMetadata(cell.metadata, cellFilter, DEFAULT_CELL_FILTER);
  for (const key of IGNORED_CELL_METADATA) delete md[key];
  for (const key of ["skipline", "noskipline", "cell_marker", "lines_to_end_of_cell_marker"])
    delete md[key];
  return md;
}

function codeBody(cell: Cell, file: string, index: number): string[] {
  if (cell.source === "") return [];
  const lexer = new LineLexer();
  return cell.source.split("\n").map((line, j) => {
    if (lexer.atTop() && isMarkerLine(line)) {
      throw new SourceError(
        file,
        undefined,
        `cell ${index + 1}, line ${j + 1}: '${line.trim()}' would start a new cell in percent format`,
      );
    }
    if (!lexLine(lexer, line)) return line;
    const body = line.trimStart();
    return line.slice(0, line.length - body.length) + "// " + body;
  });
}

function commentBody(cell: Cell, file: string, index: number): string[] {
  return cell.source.split("\n").map((line, j) => {
    const out = line ? "// " + line : "//";
    if (isMarkerLine(out)) {
      throw new SourceError(
        file,
        undefined,
        `cell ${index + 1}, line ${j + 1}: '${line.trim()}' would read back as a cell marker`,
      );
    }
    return out;
  });
}

/** How the reader interprets a region, without an explicit lines_to_next_cell on the marker. */
function defaultReading(
  body: string[],
  sep: number,
  isLast: boolean,
): { body: string; ltnc?: number } {
  const region = [...body, ...Array<string>(sep).fill("")];
  let k = 0;
  while (k < region.length && region[region.length - 1 - k] === "") k++;
  const s = isLast ? 0 : k >= 1 ? 1 : 0;
  return {
    body: region.slice(0, region.length - s).join("\n"),
    ltnc: !isLast && s === 0 ? 0 : undefined,
  };
}

/** The percent-format text for a notebook (jupytext's output, see docs/module-format.md). */
export function writePercent(nb: Notebook, file = "<notebook>"): string {
  const out = headerLines(nb.metadata);
  if (out.length > 0 && nb.cells.length > 0) out.push("");
  const cellFilter = nb.metadata.jupytext?.cell_metadata_filter;
  const expected: CellMetadata[] = [];
  nb.cells.forEach((cell, index) => {
    const isLast = index === nb.cells.length - 1;
    const md = textMetadata(cell, cellFilter);
    expected.push(md);
    const body =
      cell.cell_type === "code" ? codeBody(cell, file, index) : commentBody(cell, file, index);
    const first = cell.source.split("\n")[0];
    const indent = cell.cell_type === "code" && first.trim() ? /^\s*/.exec(first)![0] : "";
    const given = md.lines_to_next_cell;
    const sep =
      typeof given === "number" && Number.isInteger(given) && given >= 0 ? given : isLast ? 0 : 1;
    const reading = defaultReading(body, sep, isLast);
    const explicit = reading.body !== body.join("\n") || reading.ltnc !== given;
    out.push(
      writeMarkerLine(cell.cell_type, md, indent, explicit ? { lines_to_next_cell: sep } : {}),
    );
    out.push(...body);
    for (let s = 0; s < sep; s++) out.push("");
  });
  const text = out.length > 0 ? out.join("\n") + "\n" : "";
  verifyRoundTrip(text, nb, expected, file);
  return text;
}

/** Refuse to hand back text that would read as a different notebook. */
function verifyRoundTrip(text: string, nb: Notebook, expected: CellMetadata[], file: string): void {
  let back: Notebook;
  try {
    back = parsePercent(text, file).notebook;
  } catch (e) {
    if (e instanceof SourceError) {
      throw new SourceError(file, undefined, `cannot be written in percent format: ${e.problem}`);
    }
    throw e;
  }
  const same = (a: unknown, b: unknown) =>
    JSON.stringify(sortKeysDeep(a)) === JSON.stringify(sortKeysDeep(b));
  const n = Math.max(back.cells.length, nb.cells.length);
  for (let i = 0; i < n; i++) {
    const a = nb.cells[i];
    const b = back.cells[i];
    if (
      !a ||
      !b ||
      a.cell_type !== b.cell_type ||
      a.source !== b.source ||
      !same(expected[i], b.metadata)
    ) {
      throw new SourceError(
        file,
        undefined,
        `cell ${i + 1} cannot be written in percent format without changing it (check for an unterminated template literal or comment, or an unusual title)`,
      );
    }
  }
}
