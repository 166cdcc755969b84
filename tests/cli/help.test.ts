// The CLI layer as a user meets it: `tito --help` lists every command without loading any of
// them, `tito NAME --help` loads only the option table, and usage errors name the option and
// the value, go to stderr and exit 2.
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { test } from "uvu";
import * as assert from "uvu/assert";
import {
  formatHelp,
  type CommandSpec,
  type OptionTable,
  KIT_ROOT as KIT,
} from "@tinytorch-ts/core";
import { COMMANDS } from "../../tito/src/command-table";

/** Loads a TypeScript module through this process's tsx hook (CommonJS). */
const loadModule = createRequire(__filename);
const TITO = join(KIT, "tito", "bin", "tito.js");
const HOOK = join(__dirname, "loaded-files.cjs");
const dir = mkdtempSync(join(tmpdir(), "tito-help-"));

/** Runs tito with `args`; returns its exit code, output and the kit files it loaded. */
function tito(...args: string[]) {
  const list = join(dir, "loaded.json");
  const r = spawnSync("node", ["--require", HOOK, TITO, ...args], {
    cwd: KIT,
    encoding: "utf8",
    env: { ...process.env, TITO_LOADED_FILES: list },
  });
  const loaded = (JSON.parse(readFileSync(list, "utf8")) as string[])
    .map((f) => relative(KIT, f).split("\\").join("/"))
    .filter((f) => !f.startsWith("node_modules/") && !f.startsWith(".."));
  return { status: r.status, stdout: r.stdout, stderr: r.stderr, loaded };
}

test("tito --help lists every command and loads no command module", () => {
  const r = tito("--help");
  assert.is(r.status, 0, r.stderr);
  for (const name of Object.keys(COMMANDS)) assert.match(r.stdout, `\n  ${name} `);
  assert.ok(r.loaded.includes("tito/src/cli.ts"), "the hook saw the CLI load");
  const commands = r.loaded.filter((f) => f.startsWith("tito/src/commands/"));
  assert.equal(commands, [], "no command module or option table is loaded");
  const heavy = r.loaded.filter(
    (f) => f.startsWith("grader/") || /^core\/src\/(kernel|run|notebook)\//.test(f),
  );
  assert.equal(heavy, [], "neither the grader, the kernel client nor the notebook format");
});

test("tito grade --help loads the option table only, and shows each default from it", () => {
  const r = tito("grade", "--help");
  assert.is(r.status, 0, r.stderr);
  assert.ok(r.loaded.includes("tito/src/commands/grade.args.ts"));
  assert.not.ok(r.loaded.includes("tito/src/commands/grade.ts"), "not the command");
  assert.equal(
    r.loaded.filter((f) => f.startsWith("grader/")),
    [],
    "not the grader",
  );
  assert.match(r.stdout, /--cell-timeout S\s+seconds per cell \(default: 30\)/);
  assert.match(r.stdout, /--timeout S\s+seconds per notebook \(default: 300\)/);
  assert.match(r.stdout, /--memory MB\s+kernel heap cap \(default: 1024\)/);
});

test("every command has an option table, which is its help", () => {
  // In this process: the CLI's route from `--help` to the table alone is the one the grade
  // test above follows through a real process, the same for every command.
  for (const name of Object.keys(COMMANDS)) {
    const file = join(KIT, "tito", "src", "commands", `${name}.args.ts`);
    assert.ok(existsSync(file), `${name} has an option table`);
    const { spec } = loadModule(file) as { spec: CommandSpec<OptionTable> };
    assert.is(spec.program, `tito ${name}`);
    assert.match(formatHelp(spec), new RegExp(`^usage: tito ${name}\\b`));
  }
});

test("a bad value is named, on stderr, with exit code 2", () => {
  const r = tito("test", "--timeout", "abc", "01");
  assert.is(r.status, 2);
  assert.is(r.stdout, "");
  assert.match(r.stderr, 'tito test: --timeout: expected a number of seconds, got "abc"');
  assert.match(r.stderr, "usage: tito test ");
  const jobs = tito("grade", "subs", "--module", "01", "--jobs", "zero");
  assert.is(jobs.status, 2);
  assert.match(jobs.stderr, 'tito grade: --jobs: expected a whole number of 1 or more, got "zero"');
});

test("unknown options, missing values and missing arguments are usage errors", () => {
  for (const [args, message] of [
    [["run", "a.ipynb", "--frobnicate"], "tito run: unknown option --frobnicate"],
    [["run", "a.ipynb", "--timeout"], "tito run: --timeout: needs a value"],
    [["grade", "subs"], "tito grade: --module is required"],
    [["convert"], "tito convert: give a .ts or .ipynb file"],
    [["status", "extra"], 'tito status: unexpected argument "extra"'],
    [["doctor", "--bogus"], "tito doctor: unknown option --bogus"],
    [["setup", "extra"], 'tito setup: unexpected argument "extra"'],
    [["notebook", "--port", "abc"], 'tito notebook: --port: expected a whole number of 1 or more, got "abc"'], // prettier-ignore
    [["notebook", "x.ipynb"], "Jupyter's own options go after --"],
  ] as const) {
    const r = tito(...args);
    assert.is(r.status, 2, `${args.join(" ")}: ${r.stderr}`);
    assert.is(r.stdout, "");
    assert.match(r.stderr, message);
  }
  const bare = tito();
  assert.is(bare.status, 2);
  assert.match(bare.stderr, "usage: tito <command>");
  const unknown = tito("frobnicate");
  assert.is(unknown.status, 2);
  assert.match(unknown.stderr, "tito: unknown command 'frobnicate'");
});

test.after(() => rmSync(dir, { recursive: true, force: true }));
test.run();
