// A small argument reader shared by the grader's commands: `--name value`, `--name=value`,
// boolean flags, and positionals. Unknown options are errors (a typo must not silently change
// how students are graded).
export interface ParsedArgs {
  positional: string[];
  values: Map<string, string>;
  flags: Set<string>;
}

export class UsageError extends Error {}

export function parseArgs(args: string[], valued: string[], booleans: string[]): ParsedArgs {
  const out: ParsedArgs = { positional: [], values: new Map(), flags: new Set() };
  for (let i = 0; i < args.length; i++) {
    const a = args[i] ?? "";
    if (!a.startsWith("-") || a === "-") {
      out.positional.push(a);
      continue;
    }
    const eq = a.indexOf("=");
    const name = eq > 0 ? a.slice(0, eq) : a;
    if (booleans.includes(name)) {
      out.flags.add(name);
    } else if (valued.includes(name)) {
      const value = eq > 0 ? a.slice(eq + 1) : args[++i];
      if (value === undefined) throw new UsageError(`${name} needs a value`);
      out.values.set(name, value);
    } else {
      throw new UsageError(`unknown option ${name}`);
    }
  }
  return out;
}

export function numberOption(p: ParsedArgs, name: string, fallback: number): number {
  const raw = p.values.get(name);
  if (raw === undefined) return fallback;
  const n = Number(raw);
  if (!Number.isFinite(n) || n <= 0) throw new UsageError(`${name} must be a positive number`);
  return n;
}
