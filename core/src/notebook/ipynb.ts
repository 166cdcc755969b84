// Reading and writing .ipynb files (nbformat 4). The writer produces what Jupyter writes
// (nbformat: sorted keys, 1-space indent, non-ASCII kept, multi-line strings as lists of lines,
// a final newline), always as nbformat 4.5 with cell ids, so a rebuild is byte-identical.
// The reader accepts any 4.x notebook, joins list-of-lines fields back into strings and reports
// structural problems as SourceErrors with the line they occur on.
import { gradeId } from "./cell-roles";
import { assignCellIds, isValidCellId, moduleNameFromPath } from "./cell-ids";
import { SourceError } from "../errors";
import {
  dumpsIndented,
  jsonTooDeep,
  lineOfJsonPath,
  lineOfOffset,
  MAX_JSON_DEPTH,
  pythonReady,
} from "./pyjson";
import type { Cell, CellMetadata, Notebook, NotebookMetadata, Output } from "./types";

type Json = Record<string, unknown>;

function isObject(v: unknown): v is Json {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** Python's str.splitlines(keepends=True), which nbformat uses to store multi-line strings. */
const PY_LINE_RE =
  // eslint-disable-next-line no-control-regex
  /[^\n\r\v\f\x1c\x1d\x1e\x85\u2028\u2029]*(?:\r\n|[\n\r\v\f\x1c\x1d\x1e\x85\u2028\u2029]|$)/g;

// eslint-disable-next-line no-control-regex
const RARE_BREAKS = /[\r\v\f\x1c\x1d\x1e\x85\u2028\u2029]/;

export function splitLinesKeepEnds(s: string): string[] {
  if (s === "") return [];
  if (!RARE_BREAKS.test(s)) {
    // The common case: only \n ends lines.
    const parts = s.split("\n");
    const out = new Array<string>(parts.length);
    for (let i = 0; i < parts.length - 1; i++) out[i] = parts[i] + "\n";
    const last = parts[parts.length - 1];
    if (last === "") out.length = parts.length - 1;
    else out[parts.length - 1] = last;
    return out;
  }
  const out = s.match(PY_LINE_RE);
  return (out ?? []).filter((x) => x !== "");
}

function isJsonMime(mime: string): boolean {
  return mime === "application/json" || (mime.startsWith("application/") && mime.endsWith("+json"));
}

class IpynbReader {
  constructor(
    private readonly text: string,
    private readonly file: string,
  ) {}

  fail(path: (string | number)[], problem: string): never {
    throw new SourceError(this.file, lineOfJsonPath(this.text, path), problem);
  }

  multiline(v: unknown, path: (string | number)[], what: string): string {
    if (typeof v === "string") return v;
    if (Array.isArray(v) && v.every((x) => typeof x === "string")) return v.join("");
    return this.fail(path, `${what} must be a string or a list of strings`);
  }

  mimeBundle(v: unknown, path: (string | number)[]): Json {
    if (!isObject(v)) return this.fail(path, "output data must be an object");
    const out: Json = {};
    for (const [mime, value] of Object.entries(v)) {
      out[mime] =
        !isJsonMime(mime) && (typeof value === "string" || Array.isArray(value))
          ? this.multiline(value, [...path, mime], `output data '${mime}'`)
          : value;
    }
    return out;
  }

  output(o: unknown, path: (string | number)[]): Output {
    if (!isObject(o)) return this.fail(path, "an output must be an object");
    const type = o.output_type;
    switch (type) {
      case "stream":
        if (o.name !== "stdout" && o.name !== "stderr")
          this.fail([...path, "name"], "stream name must be stdout or stderr");
        return {
          ...o,
          output_type: "stream",
          name: o.name,
          text: this.multiline(o.text, [...path, "text"], "stream text"),
        };
      case "display_data":
        return {
          ...o,
          output_type: "display_data",
          data: this.mimeBundle(o.data, [...path, "data"]),
          metadata: isObject(o.metadata) ? o.metadata : {},
        };
      case "execute_result":
        return {
          ...o,
          output_type: "execute_result",
          execution_count: typeof o.execution_count === "number" ? o.execution_count : null,
          data: this.mimeBundle(o.data, [...path, "data"]),
          metadata: isObject(o.metadata) ? o.metadata : {},
        };
      case "error":
        if (!Array.isArray(o.traceback))
          this.fail([...path, "traceback"], "error traceback must be a list");
        return {
          ...o,
          output_type: "error",
          ename: String(o.ename ?? ""),
          evalue: String(o.evalue ?? ""),
          traceback: (o.traceback as unknown[]).map(String),
        };
      default:
        return this.fail([...path, "output_type"], `unknown output_type ${JSON.stringify(type)}`);
    }
  }

  cell(c: unknown, i: number): Cell {
    const path = ["cells", i];
    if (!isObject(c)) return this.fail(path, `cell ${i + 1} is not an object`);
    const metadata = c.metadata ?? {};
    if (!isObject(metadata))
      this.fail([...path, "metadata"], `cell ${i + 1}: metadata must be an object`);
    const source = this.multiline(c.source ?? "", [...path, "source"], `cell ${i + 1}: source`);
    if (c.id !== undefined && !isValidCellId(c.id)) {
      this.fail(
        [...path, "id"],
        `cell ${i + 1}: invalid cell id ${JSON.stringify(c.id)} (must match ^[a-zA-Z0-9-_]+$, 1-64 chars)`,
      );
    }
    const base = {
      id: typeof c.id === "string" ? c.id : "",
      metadata: metadata as CellMetadata,
      source,
    };
    switch (c.cell_type) {
      case "code": {
        const outputs = c.outputs ?? [];
        if (!Array.isArray(outputs))
          this.fail([...path, "outputs"], `cell ${i + 1}: outputs must be a list`);
        const count = c.execution_count;
        if (count !== null && count !== undefined && !Number.isInteger(count)) {
          this.fail(
            [...path, "execution_count"],
            `cell ${i + 1}: execution_count must be an integer or null`,
          );
        }
        return {
          ...base,
          cell_type: "code",
          execution_count: (count as number | null | undefined) ?? null,
          outputs: (outputs as unknown[]).map((o, k) => this.output(o, [...path, "outputs", k])),
        };
      }
      case "markdown":
      case "raw": {
        if (c.attachments === undefined) return { ...base, cell_type: c.cell_type };
        if (!isObject(c.attachments))
          this.fail([...path, "attachments"], `cell ${i + 1}: attachments must be an object`);
        return { ...base, cell_type: c.cell_type, attachments: c.attachments };
      }
      default:
        return this.fail(
          [...path, "cell_type"],
          `cell ${i + 1}: unknown cell type ${JSON.stringify(c.cell_type)}`,
        );
    }
  }
}

/** Read an .ipynb (nbformat 4.x). Throws SourceError naming the file and line on bad input. */
export function parseIpynb(text: string, file: string): Notebook {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (e) {
    const msg = (e as Error).message;
    const at = /position (\d+)/.exec(msg);
    // V8 gives an offset for most errors; a truncated text fails at its end.
    const line = at ? lineOfOffset(text, Number(at[1])) : lineOfOffset(text, text.trimEnd().length);
    throw new SourceError(file, line, `not a JSON notebook: ${msg}`);
  }
  const r = new IpynbReader(text, file);
  if (!isObject(data)) throw new SourceError(file, 1, "a notebook must be a JSON object");
  if (jsonTooDeep(data, MAX_JSON_DEPTH + 8)) {
    throw new SourceError(file, undefined, `JSON nested more than ${MAX_JSON_DEPTH} levels deep`);
  }
  if (data.nbformat !== 4) {
    r.fail(
      ["nbformat"],
      `unsupported nbformat ${JSON.stringify(data.nbformat)} (only nbformat 4 is supported)`,
    );
  }
  const minor = data.nbformat_minor ?? 0;
  if (!Number.isInteger(minor) || (minor as number) < 0)
    r.fail(["nbformat_minor"], "nbformat_minor must be a non-negative integer");
  const metadata = data.metadata ?? {};
  if (!isObject(metadata)) r.fail(["metadata"], "notebook metadata must be an object");
  if (!Array.isArray(data.cells)) r.fail(["cells"], "a notebook must have a list of cells");
  const cells = (data.cells as unknown[]).map((c, i) => r.cell(c, i));
  const ids = assignCellIds(
    cells.map((c) => ({ id: c.id || undefined, gradeId: gradeId(c) })),
    moduleNameFromPath(file),
  );
  cells.forEach((c, i) => (c.id = ids[i]));
  return { nbformat: 4, nbformat_minor: 5, metadata: metadata as NotebookMetadata, cells };
}

function outputJson(o: Output): Json {
  const out: Json = { ...o };
  if (o.output_type === "stream") out.text = splitLinesKeepEnds(o.text);
  if (o.output_type === "display_data" || o.output_type === "execute_result") {
    const data: Json = {};
    for (const [mime, v] of Object.entries(o.data)) {
      data[mime] = typeof v === "string" && !isJsonMime(mime) ? splitLinesKeepEnds(v) : v;
    }
    out.data = data;
  }
  return out;
}

/** The .ipynb text for a notebook, exactly as Jupyter would save it (nbformat 4.5). */
export function writeIpynb(nb: Notebook): string {
  // A transform may add a cell without an id; fill in missing or duplicate ids deterministically.
  const ids = assignCellIds(
    nb.cells.map((c) => ({ id: c.id, gradeId: gradeId(c) })),
    "cell",
  );
  // Objects are built with their keys already in sorted order, so only the user-supplied parts
  // (metadata, outputs, attachments) need a sorted copy before JSON.stringify writes it all.
  let slow = false;
  const ready = (v: unknown) => {
    const r = pythonReady(v);
    if (r === undefined) slow = true;
    return r;
  };
  const cells = nb.cells.map((c, i): Json => {
    const cell: Json = {};
    if (c.cell_type !== "code" && c.attachments !== undefined)
      cell.attachments = ready(c.attachments);
    cell.cell_type = c.cell_type;
    if (c.cell_type === "code") cell.execution_count = c.execution_count;
    cell.id = ids[i];
    cell.metadata = ready(c.metadata);
    if (c.cell_type === "code") cell.outputs = ready(c.outputs.map(outputJson));
    cell.source = splitLinesKeepEnds(c.source);
    return cell;
  });
  const doc = { cells, metadata: ready(nb.metadata), nbformat: 4, nbformat_minor: 5 };
  if (!slow) return JSON.stringify(doc, null, 1) + "\n";
  // Integer-like keys or numbers JavaScript spells differently: the hand-written serialiser.
  return (
    dumpsIndented({
      ...doc,
      metadata: nb.metadata,
      cells: nb.cells.map((c, i) => rawCell(c, ids[i])),
    }) + "\n"
  );
}

function rawCell(c: Notebook["cells"][number], id: string): Json {
  const base: Json = {
    cell_type: c.cell_type,
    id,
    metadata: c.metadata,
    source: splitLinesKeepEnds(c.source),
  };
  if (c.cell_type === "code") {
    base.execution_count = c.execution_count;
    base.outputs = c.outputs.map(outputJson);
  } else if (c.attachments !== undefined) base.attachments = c.attachments;
  return base;
}
