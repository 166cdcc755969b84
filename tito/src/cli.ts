// `tito`: one entry point, one file per command under ./commands. Each command module exports
// `run(args)` and a one-line `summary`; they are loaded lazily so that `tito convert` does not
// pay for loading the kernel client or the grader.
import { existsSync } from "node:fs";
import { join } from "node:path";
import { isSourceError } from "@tinytorch-ts/core";

export interface Command {
  summary: string;
  run(args: string[]): Promise<number>;
}

const COMMANDS = [
  "convert",
  "build",
  "run",
  "test",
  "export",
  "status",
  "release",
  "audit",
  "grade",
  "gradebook",
  "gradescope",
  "milestone",
  "setup",
  "notebook",
  "doctor",
] as const;

function load(name: string): Command | undefined {
  const file = join(__dirname, "commands", `${name}.ts`);
  if (!existsSync(file)) return undefined;
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return require(file) as Command;
}

function usage(): string {
  const lines = ["usage: tito <command> [options]", "", "commands:"];
  for (const name of COMMANDS) {
    const cmd = load(name);
    if (cmd) lines.push(`  ${name.padEnd(11)} ${cmd.summary}`);
  }
  lines.push("", "Run `tito <command> --help` for a command's options.");
  return lines.join("\n");
}

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === "--help" || name === "-h" || name === "help") {
    console.log(usage());
    return name ? 0 : 2;
  }
  const cmd = (COMMANDS as readonly string[]).includes(name) ? load(name) : undefined;
  if (!cmd) {
    console.error(`tito: unknown command '${name}'\n\n${usage()}`);
    return 2;
  }
  return cmd.run(rest);
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (e: unknown) => {
    // A problem with the user's input is reported as file:line: message, without a stack.
    if (isSourceError(e)) console.error(`tito: ${e.message}`);
    else console.error(e instanceof Error ? (e.stack ?? e.message) : String(e));
    process.exitCode = 1;
  },
);
