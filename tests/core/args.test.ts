// The argument layer: one option table gives typed values, defaults, named errors and the help.
import { test } from "uvu";
import * as assert from "uvu/assert";
import {
  count,
  defineCommand,
  flag,
  formatHelp,
  kilobytes,
  oneOf,
  option,
  optionalValue,
  parseCommand,
  seconds,
  text,
  UsageError,
} from "../../core/src/args";

const spec = defineCommand({
  program: "tito demo",
  usage: "<file> [options]",
  options: {
    timeout: option(seconds, "seconds per cell", 30_000),
    limit: option(kilobytes, "output kept", 1024),
    jobs: { ...option(count, "at once", 1), short: "j" },
    to: option(oneOf(["ipynb", "ts"] as const), "format"),
    out: option(text("F"), "output path"),
    csv: optionalValue(text("FILE"), "CSV to stdout or FILE"),
    quiet: flag("say less", "q"),
  },
  positionals: { min: 1, max: 2, missing: "give a file" },
});

function usageError(args: string[]): string {
  try {
    parseCommand(spec, args);
  } catch (e) {
    assert.instance(e, UsageError);
    return (e as Error).message;
  }
  throw new Error(`no usage error for ${args.join(" ")}`);
}

test("defaults come from the table; values are converted to the unit the code uses", () => {
  const d = parseCommand(spec, ["a.ipynb"]);
  assert.equal(d.positionals, ["a.ipynb"]);
  assert.is(d.values.timeout, 30_000);
  assert.is(d.values.limit, 1024);
  assert.is(d.values.jobs, 1);
  assert.is(d.values.to, undefined);
  assert.is(d.values.csv, undefined);
  assert.is(d.values.quiet, false);
  const v = parseCommand(spec, ["a", "--timeout", "1.5", "--limit=2", "-j", "3", "--to", "ts", "-q"]); // prettier-ignore
  assert.is(v.values.timeout, 1500);
  assert.is(v.values.limit, 2048);
  assert.is(v.values.jobs, 3);
  assert.is(v.values.to, "ts");
  assert.is(v.values.quiet, true);
  assert.is(parseCommand(spec, ["a", "--out", "-"]).values.out, "-");
});

test("an option with an optional value: alone, or followed by its value", () => {
  assert.is(parseCommand(spec, ["a", "--csv"]).values.csv, "");
  assert.is(parseCommand(spec, ["a", "--csv", "--quiet"]).values.csv, "");
  const withFile = parseCommand(spec, ["--csv", "out.csv", "a"]);
  assert.is(withFile.values.csv, "out.csv");
  assert.equal(withFile.positionals, ["a"]);
});

test("bad values name the option, what it expects and what it got", () => {
  assert.is(usageError(["a", "--timeout", "abc"]), '--timeout: expected a number of seconds, got "abc"'); // prettier-ignore
  assert.is(
    usageError(["a", "--timeout", "0"]),
    '--timeout: expected a number of seconds, got "0"',
  );
  assert.is(usageError(["a", "--timeout="]), '--timeout: expected a number of seconds, got ""');
  assert.is(usageError(["a", "-j", "1.5"]), '--jobs: expected a whole number of 1 or more, got "1.5"'); // prettier-ignore
  assert.is(usageError(["a", "--to", "py"]), '--to: expected one of ipynb, ts, got "py"');
});

test("unknown options, missing values and wrong argument counts", () => {
  assert.is(usageError(["a", "--frobnicate"]), "unknown option --frobnicate");
  assert.is(usageError(["a", "--timeout"]), "--timeout: needs a value");
  assert.is(usageError(["a", "--quiet=yes"]), "--quiet: takes no value");
  assert.is(usageError([]), "give a file");
  assert.is(usageError(["a", "b", "c"]), 'unexpected argument "c"');
});

test("the help is the table: every option, its placeholder and its default", () => {
  const help = formatHelp(spec);
  assert.match(help, "usage: tito demo <file> [options]");
  assert.match(help, /--timeout S\s+seconds per cell \(default: 30\)/);
  assert.match(help, /--limit KB\s+output kept \(default: 1\)/);
  assert.match(help, /-j, --jobs N\s+at once \(default: 1\)/);
  assert.match(help, /--to ipynb\|ts\s+format\n/);
  assert.match(help, /--csv \[FILE\]\s+CSV to stdout or FILE\n/);
  assert.match(help, /-q, --quiet\s+say less\n/);
  assert.match(help, /-h, --help\s+show this help/);
});

test.run();
