// The one argument layer of every command: a command's option table is read by node:util's
// parseArgs, turned into typed values, and printed as the command's help, so an option, its
// help line and its default are each written once. Unknown options and bad values are usage
// errors that name the option and the value (a typo must not silently change how students are
// graded); `runCommand` prints them to stderr and returns exit code 2.
import { parseArgs as nodeParseArgs } from "node:util";

export class UsageError extends Error {}

/** How an option's text becomes a value, and how the help and errors describe it. */
export interface ValueKind<T> {
  /** Placeholder in the help, e.g. "S" in `--timeout S`. */
  placeholder: string;
  /** What a valid value is, for errors: "a number of seconds". */
  expected: string;
  /** The value, or undefined when `raw` is not one. */
  parse(raw: string): T | undefined;
}

/** Plain decimal notation only ("1e3" or "0x10" are more likely typos than intent). */
function positiveNumber(raw: string): number | undefined {
  if (!/^\d+(\.\d+)?$/.test(raw.trim())) return undefined;
  const n = Number(raw);
  return n > 0 ? n : undefined;
}

/** Seconds (fractions allowed), returned in milliseconds. */
export const seconds: ValueKind<number> = {
  placeholder: "S",
  expected: "a number of seconds",
  parse: (raw) => {
    const n = positiveNumber(raw);
    return n === undefined ? undefined : Math.round(n * 1000);
  },
};

export const megabytes: ValueKind<number> = {
  placeholder: "MB",
  expected: "a number of megabytes",
  parse: (raw) => {
    const n = positiveNumber(raw);
    return n === undefined ? undefined : Math.floor(n);
  },
};

/** Kilobytes, returned in bytes. */
export const kilobytes: ValueKind<number> = {
  placeholder: "KB",
  expected: "a number of kilobytes",
  parse: (raw) => {
    const n = positiveNumber(raw);
    return n === undefined ? undefined : Math.floor(n * 1024);
  },
};

export const count: ValueKind<number> = {
  placeholder: "N",
  expected: "a whole number of 1 or more",
  parse: (raw) => (/^\s*\d+\s*$/.test(raw) && Number(raw) >= 1 ? Number(raw) : undefined),
};

export function text(placeholder: string): ValueKind<string> {
  return {
    placeholder,
    expected: "a value",
    parse: (raw) => (raw === "" ? undefined : raw),
  };
}

export function oneOf<const T extends string>(choices: readonly T[]): ValueKind<T> {
  return {
    placeholder: choices.join("|"),
    expected: `one of ${choices.join(", ")}`,
    parse: (raw) => ((choices as readonly string[]).includes(raw) ? (raw as T) : undefined),
  };
}

/** One row of an option table; `V` is the type the command receives. */
export interface OptionSpec<V> {
  help: string;
  short?: string;
  /** Parses the value (absent for flags). */
  kind?: ValueKind<unknown>;
  /** The default, shown in the help unless `defaultText` overrides it. */
  fallback?: V;
  defaultText?: string;
  /** `--csv` alone or `--csv FILE`: absent gives undefined, `--csv` alone gives "". */
  optionalValue?: boolean;
  /** Phantom field carrying V for type inference; never set. */
  readonly __value?: V;
}

/** An option that takes a value; without a fallback the command gets `undefined` when absent. */
export function option<T>(kind: ValueKind<T>, help: string): OptionSpec<T | undefined>;
export function option<T>(
  kind: ValueKind<T>,
  help: string,
  fallback: T,
  defaultText?: string,
): OptionSpec<T>;
export function option<T>(
  kind: ValueKind<T>,
  help: string,
  fallback?: T,
  defaultText?: string,
): OptionSpec<T | undefined> {
  return { kind, help, fallback, defaultText };
}

/** A value that may be left out after the option itself: "" when it is. */
export function optionalValue(
  kind: ValueKind<string>,
  help: string,
): OptionSpec<string | undefined> {
  return { kind, help, optionalValue: true };
}

export function flag(help: string, short?: string): OptionSpec<boolean> {
  return { help, short, fallback: false };
}

export type OptionTable = Record<string, OptionSpec<unknown>>;

export type OptionValues<O extends OptionTable> = {
  [K in keyof O]: O[K] extends OptionSpec<infer V> ? V : never;
};

export interface CommandSpec<O extends OptionTable> {
  /** "tito grade": the prefix of its messages. */
  program: string;
  /** "<submissions> --module <NN|name> [options]" */
  usage: string | string[];
  description?: string;
  options: O;
  /** How many positional arguments the command takes, and what to say when they are missing. */
  positionals: { min: number; max: number; missing?: string };
  /** Text after the option list. */
  footer?: string;
}

export interface ParsedCommand<O extends OptionTable> {
  values: OptionValues<O>;
  positionals: string[];
}

export function defineCommand<O extends OptionTable>(spec: CommandSpec<O>): CommandSpec<O> {
  return spec;
}

function optionName(name: string): string {
  return `--${name}`;
}

function describeOption(name: string, spec: OptionSpec<unknown>): string {
  const short = spec.short ? `-${spec.short}, ` : "";
  const ph = spec.kind ? ` ${spec.optionalValue ? `[${spec.kind.placeholder}]` : spec.kind.placeholder}` : ""; // prettier-ignore
  return `${short}${optionName(name)}${ph}`;
}

function defaultOf(spec: OptionSpec<unknown>): string | undefined {
  if (spec.defaultText !== undefined) return spec.defaultText;
  if (spec.kind === undefined || spec.fallback === undefined) return undefined;
  const v = spec.fallback;
  // Values are stored in the unit the code uses; show them in the unit the user types.
  if (spec.kind === seconds && typeof v === "number") return String(v / 1000);
  if (spec.kind === kilobytes && typeof v === "number") return String(v / 1024);
  return String(v);
}

/** The command's help: usage, description, one line (or more) per option, footer. */
export function formatHelp<O extends OptionTable>(spec: CommandSpec<O>): string {
  const usages = Array.isArray(spec.usage) ? spec.usage : [spec.usage];
  const lines = usages.map((u, i) => `${i === 0 ? "usage:" : "      "} ${spec.program} ${u}`.trimEnd()); // prettier-ignore
  if (spec.description) lines.push("", spec.description);
  const rows: [string, string][] = Object.entries(spec.options).map(([name, o]) => {
    const d = defaultOf(o);
    return [describeOption(name, o), d === undefined ? o.help : `${o.help} (default: ${d})`];
  });
  rows.push(["-h, --help", "show this help"]);
  const width = Math.min(24, Math.max(...rows.map(([l]) => l.length)) + 2);
  lines.push("", "options:");
  for (const [left, help] of rows) {
    const [first, ...rest] = help.split("\n");
    if (left.length + 2 > width) {
      lines.push(`  ${left}`, `  ${" ".repeat(width)}${first}`);
    } else lines.push(`  ${left.padEnd(width)}${first}`);
    for (const r of rest) lines.push(`  ${" ".repeat(width)}${r}`);
  }
  if (spec.footer) lines.push("", spec.footer);
  return lines.join("\n");
}

function nodeErrorMessage(e: Error & { code?: string }): string {
  // Node names the option as '--name', '-n, --name' or '--name <value>'.
  const option = /(--[\w-]+)/.exec(e.message)?.[1] ?? /'(-\w)/.exec(e.message)?.[1];
  switch (e.code) {
    case "ERR_PARSE_ARGS_UNKNOWN_OPTION":
      return `unknown option ${option ?? e.message}`;
    case "ERR_PARSE_ARGS_INVALID_OPTION_VALUE":
      return /argument missing|ambiguous/.test(e.message)
        ? `${option ?? "option"}: needs a value`
        : `${option ?? "option"}: takes no value`;
    default:
      return e.message;
  }
}

/** Parses `args` against the table. Throws UsageError naming the option and the bad value. */
export function parseCommand<O extends OptionTable>(
  spec: CommandSpec<O>,
  args: string[],
): ParsedCommand<O> {
  // `--name` of an option whose value is optional, not followed by a value: make it explicit.
  const argv = args.map((a, i) => {
    const o = a.startsWith("--") ? spec.options[a.slice(2)] : undefined;
    const next = args[i + 1];
    return o?.optionalValue && (next === undefined || next.startsWith("-")) ? `${a}=` : a;
  });
  const config: Record<string, { type: "string" | "boolean"; short?: string }> = {
    help: { type: "boolean", short: "h" },
  };
  for (const [name, o] of Object.entries(spec.options)) {
    config[name] = { type: o.kind ? "string" : "boolean", ...(o.short ? { short: o.short } : {}) };
  }
  let parsed;
  try {
    parsed = nodeParseArgs({ args: argv, options: config, strict: true, allowPositionals: true });
  } catch (e) {
    throw new UsageError(nodeErrorMessage(e as Error));
  }
  const values: Record<string, unknown> = {};
  for (const [name, o] of Object.entries(spec.options)) {
    const raw = parsed.values[name];
    if (raw === undefined) values[name] = o.fallback;
    else if (typeof raw === "boolean" || o.kind === undefined) values[name] = raw;
    else if (o.optionalValue && raw === "") values[name] = "";
    else {
      const v = o.kind.parse(String(raw));
      if (v === undefined) {
        throw new UsageError(`${optionName(name)}: expected ${o.kind.expected}, got ${JSON.stringify(raw)}`); // prettier-ignore
      }
      values[name] = v;
    }
  }
  const { min, max, missing } = spec.positionals;
  const positionals = parsed.positionals;
  if (positionals.length < min) throw new UsageError(missing ?? "too few arguments");
  if (positionals.length > max) {
    throw new UsageError(`unexpected argument ${JSON.stringify(positionals[max])}`);
  }
  return { values: values as OptionValues<O>, positionals };
}

/** True when `args` ask for help (so the help can be shown without loading the command). */
export function wantsHelp(args: string[]): boolean {
  return args.some((a) => a === "--help" || a === "-h");
}

/** Prints a usage error the way every command does: stderr, one line, the usage, exit 2. */
export function usageError<O extends OptionTable>(spec: CommandSpec<O>, message: string): number {
  const usage = Array.isArray(spec.usage) ? spec.usage[0] : spec.usage;
  console.error(
    `${spec.program}: ${message}\nusage: ${`${spec.program} ${usage}`.trimEnd()}\n(\`${spec.program} --help\` lists the options)`,
  );
  return 2;
}

/**
 * Runs a command: `--help` prints the help (exit 0); a usage error, from the table or thrown
 * by `body` as a UsageError, is reported by `usageError` (exit 2); otherwise `body`'s code.
 */
export async function runCommand<O extends OptionTable>(
  spec: CommandSpec<O>,
  args: string[],
  body: (parsed: ParsedCommand<O>) => Promise<number> | number,
): Promise<number> {
  if (wantsHelp(args)) {
    console.log(formatHelp(spec));
    return 0;
  }
  try {
    return await body(parseCommand(spec, args));
  } catch (e) {
    if (e instanceof UsageError) return usageError(spec, e.message);
    throw e;
  }
}
