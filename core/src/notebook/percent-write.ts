// Writing jupytext's percent format for TypeScript: the text jupytext writes for a notebook
// (docs/module-format.md). The writer refuses, with a SourceError, any notebook it cannot write
// so that reading the text back gives the same cells: a code line that would start a new cell, a
// code cell ending inside an unterminated template literal or comment, a title the marker line
// cannot carry, a carriage return at a line end. Spacing that the default reading would not
// reproduce is written as an explicit `lines_to_next_cell=N` on the marker.
import { SourceError } from "../errors";
import {
  IGNORED_CELL_METADATA,
  isMarkerLine,
  parseMarkerLine,
  writeMarkerLine,
} from "./marker-line";
import { DEFAULT_CELL_FILTER, DEFAULT_NOTEBOOK_FILTER, filterMetadata } from "./metadata-filter";
import { lexLine, readHeader } from "./percent-read";
import { jsonEqual, sortKeys } from "./pyjson";
import { LineLexer } from "./ts-lexer";
import type { Cell, CellMetadata, Notebook, NotebookMetadata } from "./types";
import { writeYaml } from "./yaml-header";

function headerLines(metadata: NotebookMetadata, file: string): string[] {
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
  const yaml = writeYaml({ jupyter: filtered }, sortKeys);
  const lines = ["// ---", ...yaml.map((l) => (l ? "// " + l : "//")), "// ---"];
  // The header must read back as the metadata it was written from.
  const back = readHeader(lines, "<header>")?.metadata;
  const expected = structuredClone(filtered) as NotebookMetadata;
  const written = expected.jupytext?.text_representation as Record<string, unknown>;
  delete written.extension;
  delete written.format_name;
  if (Object.keys(written).length === 0) delete expected.jupytext!.text_representation;
  if (Object.keys(expected.jupytext!).length === 0) delete expected.jupytext;
  if (!back || !jsonEqual(back, expected)) {
    throw new SourceError(
      file,
      undefined,
      "the notebook metadata cannot be written as a YAML header",
    );
  }
  return lines;
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

/** A code cell's lines as written (magics escaped), and whether any line differs from the source. */
function codeBody(cell: Cell, file: string, index: number): { lines: string[]; changed: boolean } {
  if (cell.source === "") return { lines: [], changed: false };
  const lexer = new LineLexer();
  let changed = false;
  const lines = cell.source.split("\n");
  for (let j = 0; j < lines.length; j++) {
    const line = lines[j];
    if (lexer.atTop() && isMarkerLine(line)) {
      throw new SourceError(
        file,
        undefined,
        `cell ${index + 1}, line ${j + 1}: '${line.trim()}' would start a new cell in percent format`,
      );
    }
    if (!lexLine(lexer, line)) continue;
    const body = line.trimStart();
    lines[j] = line.slice(0, line.length - body.length) + "// " + body;
    changed = true;
  }
  if (!lexer.atTop()) {
    // The next marker would read as part of this cell.
    throw new SourceError(
      file,
      undefined,
      `cell ${index + 1} ends inside an unterminated ${lexer.where()} (template literal, comment or string); percent format cannot delimit it`,
    );
  }
  return { lines, changed };
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

/**
 * The separator the reader finds after a cell's text when its marker has no explicit
 * lines_to_next_cell, and the lines_to_next_cell it records: one blank line separates cells,
 * none means 0, and the last cell has none.
 */
function defaultReading(
  body: string[],
  sep: number,
  isLast: boolean,
): { sep: number; ltnc?: number } {
  if (isLast) return { sep: 0 };
  let t = 0;
  while (t < body.length && body[body.length - 1 - t] === "") t++;
  return t + sep >= 1 ? { sep: 1 } : { sep: 0, ltnc: 0 };
}

/** The percent-format text for a notebook (jupytext's output, see docs/module-format.md). */
export function writePercent(nb: Notebook, file = "<notebook>"): string {
  // The text is built as chunks, each a run of complete lines ending in "\n".
  const header = headerLines(nb.metadata, file);
  const chunks: string[] = header.map((l) => l + "\n");
  if (header.length > 0 && nb.cells.length > 0) chunks.push("\n");
  const cellFilter = nb.metadata.jupytext?.cell_metadata_filter;
  nb.cells.forEach((cell, index) => {
    const isLast = index === nb.cells.length - 1;
    if (cell.source.includes("\r") && /\r(\n|$)/.test(cell.source)) {
      throw new SourceError(
        file,
        undefined,
        `cell ${index + 1} has a carriage return at the end of a line, which a text file with LF line endings cannot keep`,
      );
    }
    const md = textMetadata(cell, cellFilter);
    let body: string[];
    let bodyText: string;
    if (cell.cell_type === "code") {
      const code = codeBody(cell, file, index);
      body = code.lines;
      bodyText = code.changed ? body.join("\n") : cell.source;
    } else {
      body = commentBody(cell, file, index);
      bodyText = body.join("\n");
    }
    const nl = cell.source.indexOf("\n");
    const first = nl < 0 ? cell.source : cell.source.slice(0, nl);
    const indent = cell.cell_type === "code" && first.trim() ? /^\s*/.exec(first)![0] : "";
    const given = md.lines_to_next_cell;
    const sep =
      typeof given === "number" && Number.isInteger(given) && given >= 0 ? given : isLast ? 0 : 1;
    const reading = defaultReading(body, sep, isLast);
    const explicit = reading.sep !== sep || reading.ltnc !== given;
    const marker = writeMarkerLine(
      cell.cell_type,
      md,
      indent,
      explicit ? { lines_to_next_cell: sep } : {},
    );
    checkMarker(marker, cell, md, explicit ? undefined : reading.ltnc, file, index);
    chunks.push(marker + "\n");
    if (body.length > 0) chunks.push(bodyText + "\n");
    if (sep > 0) chunks.push("\n".repeat(sep));
  });
  return chunks.join("");
}

/** The marker line must read back as the cell's type and metadata (titles can be ambiguous). */
function checkMarker(
  marker: string,
  cell: Cell,
  md: CellMetadata,
  readerLtnc: number | undefined,
  file: string,
  index: number,
): void {
  let back;
  try {
    back = parseMarkerLine(marker, file, 0);
  } catch {
    back = undefined;
  }
  const got = back ? { ...back.metadata } : undefined;
  if (got && readerLtnc !== undefined) got.lines_to_next_cell = readerLtnc;
  if (!back || back.cellType !== cell.cell_type || !jsonEqual(got, md)) {
    throw new SourceError(
      file,
      undefined,
      `cell ${index + 1}: its title or metadata cannot be written on a percent marker line (${marker})`,
    );
  }
}
