// The `// %%` cell marker line: recognising it, reading its title, cell type and `key=<JSON>`
// metadata, and writing it back exactly as jupytext does. Unlike jupytext, which silently keeps
// metadata it cannot parse under `incorrectly_encoded_metadata`, a malformed value is an error
// here: a typo in nbgrader metadata must not turn a graded cell into an ungraded one.
import { SourceError } from "../errors";
import { compareCodePoints, dumpsCompact, jsonTooDeep, scanJsonValue } from "./pyjson";
import type { CellMetadata, CellType } from "./types";

/** jupytext's start-of-cell patterns for a `//` comment language. */
export const MARKER_RE = /^\s*\/\/\s*%%(%*)\s(.*)$/;
export const ALT_MARKER_RE = /^\s*\/\/\s*(%%|<codecell>|In\[[0-9 ]*\]:?)\s*$/;

export function isMarkerLine(line: string): boolean {
  // Cheap pre-checks first: this runs on every line of every file. A marker's first non-blank
  // characters are `//` (other Unicode spaces are rare; the regexes decide those).
  let j = 0;
  while (line.charCodeAt(j) === 32 || line.charCodeAt(j) === 9) j++;
  if (line.charCodeAt(j) !== 47 || line.charCodeAt(j + 1) !== 47) {
    if (j >= line.length || !/\s/.test(line[j])) return false;
  }
  if (line.includes("%%")) return MARKER_RE.test(line) || ALT_MARKER_RE.test(line);
  return (line.includes("In[") || line.includes("<codecell>")) && ALT_MARKER_RE.test(line);
}

/** Cell metadata that jupytext represents otherwise (title, depth) or never writes to text. */
export const NOT_ON_MARKER = new Set([
  "title",
  "cell_depth",
  "lines_to_next_cell",
  "skipline",
  "noskipline",
  "cell_marker",
  "lines_to_end_of_cell_marker",
]);

/** Run-state metadata jupytext leaves out of text files (Jupyter keeps it in the .ipynb only). */
export const IGNORED_CELL_METADATA = new Set([
  "autoscroll",
  "collapsed",
  "scrolled",
  "trusted",
  "execution",
  "ExecuteTime",
]);

export interface MarkerInfo {
  cellType: CellType;
  metadata: CellMetadata;
}

const KEY_RE = /^[a-zA-Z0-9_.-]+/;

/** Read a marker line (already known to match MARKER_RE or ALT_MARKER_RE). */
export function parseMarkerLine(line: string, file: string, lineNo: number): MarkerInfo {
  if (!MARKER_RE.test(line)) return { cellType: "code", metadata: {} };
  const options = line.slice(line.indexOf("%%") + 2);
  const text = options.trim();
  const firstCurly = text.indexOf("{");
  const firstEqual = text.indexOf("=");
  let title: string;
  let metadata: Record<string, unknown>;
  if (firstCurly < 0 || (firstEqual >= 0 && firstEqual < firstCurly)) {
    // Title words come before the first `key=`; the word just before `=` is the key.
    let words: string[];
    if (firstEqual >= 0) {
      words = text.slice(0, firstEqual).split(" ");
      while (words.length > 0 && !words[words.length - 1]) words.pop();
      if (words.length > 0) words.pop();
    } else words = text.split(" ");
    while (
      words.length > 0 &&
      (!words[words.length - 1].trim() || words[words.length - 1].startsWith("."))
    ) {
      words.pop();
    }
    title = words.join(" ");
    metadata = parseKeyValues(text.slice(title.length), file, lineNo);
  } else {
    // jupytext's alternative form: a title, then the metadata as one JSON object.
    title = text.slice(0, firstCurly).trim();
    let parsed: unknown;
    try {
      parsed = JSON.parse(text.slice(firstCurly));
    } catch (e) {
      throw new SourceError(
        file,
        lineNo,
        `malformed metadata JSON on cell marker: ${(e as Error).message}`,
      );
    }
    if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
      throw new SourceError(file, lineNo, "cell marker metadata must be a JSON object");
    }
    if (jsonTooDeep(parsed))
      throw new SourceError(file, lineNo, "cell marker metadata is nested too deeply");
    metadata = parsed as Record<string, unknown>;
  }
  let cellType: CellType = "code";
  for (const [tag, type] of [
    ["[markdown]", "markdown"],
    ["[raw]", "raw"],
  ] as const) {
    if (title.includes(tag)) {
      title = title.replace(tag, "").trim();
      cellType = type;
      break;
    }
  }
  let depth = 0;
  while (title.startsWith("%")) {
    depth++;
    title = title.slice(1);
  }
  title = title.trim();
  for (const reserved of ["title", "cell_depth"]) {
    if (reserved in metadata) {
      throw new SourceError(
        file,
        lineNo,
        `'${reserved}' is written in the marker's text, not as a key`,
      );
    }
  }
  const out: CellMetadata = { ...metadata };
  if (depth) out.cell_depth = depth;
  if (title) out.title = title;
  return { cellType, metadata: out };
}

function parseKeyValues(text: string, file: string, lineNo: number): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  let i = 0;
  const s = text;
  for (;;) {
    while (s[i] === " " || s[i] === "\t") i++;
    if (i >= s.length) return out;
    const key = KEY_RE.exec(s.slice(i))?.[0];
    if (!key) {
      throw new SourceError(
        file,
        lineNo,
        `malformed metadata on cell marker near '${s.slice(i, i + 30)}'`,
      );
    }
    i += key.length;
    if (key in out)
      throw new SourceError(file, lineNo, `duplicate metadata key '${key}' on cell marker`);
    if (s[i] !== "=") {
      if (i < s.length && s[i] !== " " && s[i] !== "\t") {
        throw new SourceError(
          file,
          lineNo,
          `malformed metadata on cell marker near '${s.slice(i - key.length, i + 30)}'`,
        );
      }
      // A bare key stands for a key whose value is null (jupytext's convention).
      out[key] = null;
      continue;
    }
    i++;
    const end = scanJsonValue(s, i);
    let value: unknown;
    try {
      if (end < 0) throw new Error("not a complete JSON value");
      value = JSON.parse(s.slice(i, end));
    } catch (e) {
      throw new SourceError(
        file,
        lineNo,
        `malformed metadata JSON for '${key}' on cell marker (${(e as Error).message}): ${s.slice(i, i + 60)}`,
      );
    }
    if (jsonTooDeep(value)) {
      throw new SourceError(file, lineNo, `metadata '${key}' is nested too deeply`);
    }
    if (end < s.length && s[end] !== " " && s[end] !== "\t") {
      throw new SourceError(
        file,
        lineNo,
        `unexpected text after the JSON value of '${key}' on cell marker`,
      );
    }
    out[key] = value;
    i = end;
  }
}

/** The marker line jupytext writes for a cell (without the lines_to_next_cell escape hatch). */
export function writeMarkerLine(
  cellType: CellType,
  metadata: CellMetadata,
  indent: string,
  extra: Record<string, unknown> = {},
): string {
  const text: string[] = [];
  if (typeof metadata.title === "string" && metadata.title) text.push(metadata.title);
  const depth = metadata.cell_depth;
  if (typeof depth === "number" && depth > 0) text.unshift("%".repeat(depth));
  if (cellType !== "code") text.push(`[${cellType}]`);
  const pairs: string[] = [];
  const keys = Object.keys(metadata).sort(compareCodePoints);
  for (const key of keys) {
    if (NOT_ON_MARKER.has(key) || IGNORED_CELL_METADATA.has(key)) continue;
    const v = metadata[key];
    if (v === undefined) continue;
    pairs.push(v === null ? key : `${key}=${dumpsCompact(v)}`);
  }
  for (const [key, v] of Object.entries(extra)) pairs.push(`${key}=${dumpsCompact(v)}`);
  const options = [...text, ...pairs].join(" ");
  const body = options.startsWith("%") || !options ? "%%" + options : "%% " + options;
  return `${indent}// ${body}`;
}
