// The `// ---` YAML header of a percent script, holding the notebook metadata under `jupyter:`.
// jupytext writes it with PyYAML's `safe_dump(..., default_flow_style=False)`; we read and write
// the subset such headers use (nested block mappings, block sequences of scalars, plain and quoted
// scalars, `{}` and `[]`), and report anything else as a SourceError rather than guessing.
import { SourceError } from "../errors";

type Yaml = null | boolean | number | string | Yaml[] | { [key: string]: Yaml };

interface YamlLine {
  indent: number;
  text: string;
  /** 1-based line in the source file. */
  line: number;
}

/** Parse the uncommented header lines (between the `---` lines). */
export function parseYamlHeader(
  lines: string[],
  firstLine: number,
  file: string,
): Record<string, unknown> {
  const items: YamlLine[] = [];
  lines.forEach((raw, i) => {
    if (raw.trim() === "" || raw.trimStart().startsWith("#")) return;
    if (raw.includes("\t")) throw new SourceError(file, firstLine + i, "tab in YAML header");
    items.push({
      indent: raw.length - raw.trimStart().length,
      text: raw.trim(),
      line: firstLine + i,
    });
  });
  if (items.length === 0) return {};
  const [value, next] = parseBlock(items, 0, items[0].indent, file);
  if (next < items.length) {
    throw new SourceError(file, items[next].line, "unexpected indentation in YAML header");
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new SourceError(file, items[0].line, "the YAML header must be a mapping");
  }
  return value;
}

function parseBlock(items: YamlLine[], pos: number, indent: number, file: string): [Yaml, number] {
  if (items[pos].text.startsWith("- ") || items[pos].text === "-") {
    const list: Yaml[] = [];
    while (pos < items.length && items[pos].indent === indent && /^-( |$)/.test(items[pos].text)) {
      const rest = items[pos].text.slice(1).trim();
      if (rest === "" || /^[^'"]*:( |$)/.test(rest)) {
        throw new SourceError(
          file,
          items[pos].line,
          "nested values in YAML lists are not supported",
        );
      }
      list.push(parseScalar(rest, items[pos].line, file));
      pos++;
    }
    return [list, pos];
  }
  const map: { [key: string]: Yaml } = {};
  while (pos < items.length && items[pos].indent === indent) {
    const it = items[pos];
    const m = /^("(?:[^"\\]|\\.)*"|'(?:[^']|'')*'|[^'":][^:]*?)\s*:(?: +(.*))?$/.exec(it.text);
    if (!m) throw new SourceError(file, it.line, `cannot read YAML header line: ${it.text}`);
    const key = String(parseScalar(m[1], it.line, file));
    if (key in map) throw new SourceError(file, it.line, `duplicate key '${key}' in YAML header`);
    pos++;
    if (m[2] !== undefined && m[2] !== "") {
      map[key] = parseScalar(m[2], it.line, file);
    } else if (
      pos < items.length &&
      (items[pos].indent > indent ||
        (items[pos].indent === indent && /^-( |$)/.test(items[pos].text)))
    ) {
      const [child, next] = parseBlock(items, pos, items[pos].indent, file);
      map[key] = child;
      pos = next;
    } else {
      map[key] = null;
    }
  }
  return [map, pos];
}

const YAML_NULL = /^(?:~|null|Null|NULL)$/;
const YAML_TRUE = /^(?:yes|Yes|YES|true|True|TRUE|on|On|ON)$/;
const YAML_FALSE = /^(?:no|No|NO|false|False|FALSE|off|Off|OFF)$/;
const YAML_INT = /^[-+]?(?:0|[1-9][0-9_]*)$/;
const YAML_FLOAT =
  /^[-+]?(?:[0-9][0-9_]*)?\.[0-9_]*(?:[eE][-+][0-9]+)?$|^[-+]?\.(?:inf|Inf|INF)$|^\.(?:nan|NaN|NAN)$/;

function parseScalar(text: string, line: number, file: string): Yaml {
  const t = text.replace(/\s+#.*$/, "").trim();
  if (t.startsWith("'")) {
    if (!/^'(?:[^']|'')*'$/.test(t)) throw new SourceError(file, line, `bad quoted string: ${t}`);
    return t.slice(1, -1).replace(/''/g, "'");
  }
  if (t.startsWith('"')) {
    try {
      return JSON.parse(t) as string;
    } catch {
      throw new SourceError(file, line, `bad quoted string: ${t}`);
    }
  }
  if (t === "{}") return {};
  if (t === "[]") return [];
  if (/^[[{|>&*!%@`]/.test(t)) {
    throw new SourceError(file, line, `unsupported YAML value in header: ${t}`);
  }
  if (YAML_NULL.test(t)) return null;
  if (YAML_TRUE.test(t)) return true;
  if (YAML_FALSE.test(t)) return false;
  if (YAML_INT.test(t)) return Number(t.replace(/_/g, ""));
  if (YAML_FLOAT.test(t) && /\d/.test(t)) return Number(t.replace(/_/g, ""));
  return t;
}

function hasControl(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x20 || (c >= 0x7f && c <= 0x9f)) return true;
  }
  return false;
}

/** Would PyYAML write this string without quotes? (Its rules, for the strings headers hold.) */
function plainOk(s: string): boolean {
  if (s === "" || s.trim() !== s) return false;
  if (hasControl(s) || s.includes("\ufeff")) return false;
  if (/^[-?:,[\]{}#&*!|>'"%@`]/.test(s) && !/^[-?:][^\s]/.test(s)) return false;
  if (s.includes(": ") || s.includes(" #") || s.endsWith(":")) return false;
  if (/^(?:---|\.\.\.)/.test(s)) return false;
  // A plain scalar that would read back as another type must be quoted.
  const back = parseScalar(s, 0, "");
  return back === s;
}

function writeScalar(v: Yaml): string {
  if (v === null) return "null";
  if (typeof v === "boolean") return v ? "true" : "false";
  if (typeof v === "number") {
    if (!Number.isFinite(v)) return v > 0 ? ".inf" : v < 0 ? "-.inf" : ".nan";
    return String(v);
  }
  if (typeof v === "string") {
    if (plainOk(v)) return v;
    if (hasControl(v)) return JSON.stringify(v);
    return "'" + v.replace(/'/g, "''") + "'";
  }
  throw new Error("not a scalar");
}

/** The header body, as PyYAML's safe_dump writes it (sorted keys, 2-space indentation). */
export function writeYaml(
  value: Record<string, unknown>,
  sortKeys: (keys: string[]) => string[],
): string[] {
  const out: string[] = [];
  writeMap(value as { [key: string]: Yaml }, "");
  return out;

  function writeMap(map: { [key: string]: Yaml }, indent: string): void {
    for (const key of sortKeys(Object.keys(map))) {
      const v = map[key];
      if (v === undefined) continue;
      const k = writeScalar(key);
      if (Array.isArray(v) && v.length > 0) {
        out.push(`${indent}${k}:`);
        for (const item of v) {
          if (typeof item === "object" && item !== null) {
            throw new Error(`cannot write nested values in the YAML list '${key}'`);
          }
          out.push(`${indent}- ${writeScalar(item)}`);
        }
      } else if (Array.isArray(v)) out.push(`${indent}${k}: []`);
      else if (typeof v === "object" && v !== null) {
        if (Object.keys(v).length === 0) out.push(`${indent}${k}: {}`);
        else {
          out.push(`${indent}${k}:`);
          writeMap(v, indent + "  ");
        }
      } else out.push(`${indent}${k}: ${writeScalar(v)}`);
    }
  }
}
