// `tito`: one entry point, one file per command under ./commands. `commands/NAME.ts` exports
// `run(args)`; `commands/NAME.args.ts` holds its option table (which is also its help). The
// summaries are a static table (command-table.ts), so `tito --help` loads no command, and
// `tito NAME --help` loads only the option table: neither pays for the kernel client or grader.
import { existsSync } from "node:fs";
import { join } from "node:path";
import { COMMANDS } from "./command-table";
import { formatHelp, isSourceError, wantsHelp, type CommandSpec, type OptionTable } from "@tinytorch-ts/core"; // prettier-ignore

export interface Command {
  run(args: string[]): Promise<number>;
}

/** A command ships when its file does: a student bundle has only the student commands. */
function commandFile(name: string, suffix = ""): string | undefined {
  if (!Object.hasOwn(COMMANDS, name)) return undefined;
  const file = join(__dirname, "commands", `${name}${suffix}.ts`);
  return existsSync(file) ? file : undefined;
}

function usage(): string {
  const lines = ["usage: tito <command> [options]", "", "commands:"];
  for (const [name, summary] of Object.entries(COMMANDS)) {
    if (commandFile(name)) lines.push(`  ${name.padEnd(11)} ${summary}`);
  }
  lines.push("", "Run `tito <command> --help` for a command's options.");
  return lines.join("\n");
}

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === "--help" || name === "-h" || name === "help") {
    if (name) console.log(usage());
    else console.error(usage());
    return name ? 0 : 2;
  }
  const file = commandFile(name);
  if (!file) {
    console.error(`tito: unknown command '${name}'\n\n${usage()}`);
    return 2;
  }
  const specFile = commandFile(name, ".args");
  if (specFile && wantsHelp(rest)) {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { spec } = require(specFile) as { spec: CommandSpec<OptionTable> };
    console.log(formatHelp(spec));
    return 0;
  }
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return (require(file) as Command).run(rest);
}

// `tito milestone --list | head` closes our stdout early: stop quietly, as other command-line
// tools do, instead of dying on an unhandled EPIPE with a stack trace.
process.stdout.on("error", (e: NodeJS.ErrnoException) => {
  if (e.code !== "EPIPE") throw e;
  process.exit(process.exitCode ?? 0);
});

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
