// `tito run`: execute notebooks top to bottom in real tslab kernels, without Python, like
// `jupyter nbconvert --execute`. Inputs are loaded and checked before any kernel starts, so a
// bad file costs nothing and leaves nothing behind; outputs are written atomically.
import { resolve } from "node:path";
import type { CellRun, KernelStartOptions } from "@tinytorch-ts/core/kernel";
import {
  writeFileAtomic,
  isSourceError,
  runCommand,
  UsageError,
  type OptionValues,
} from "@tinytorch-ts/core";
import { gradeId, isDirectiveLine, writeIpynb, type Notebook } from "@tinytorch-ts/core/notebook";
import { loadRunnable, type RunnableNotebook } from "../run/load";
import {
  formatSeconds,
  BatchError,
  runNotebooks,
  runNotebook,
  type NotebookRun,
} from "@tinytorch-ts/core/run";
import { spec } from "./run.args";

type Options = OptionValues<typeof spec.options>;

/** What the table cannot say: combinations of options. */
function checkCombinations(o: Options, inputs: string[]): void {
  if (o.out !== undefined && inputs.length > 1) throw new UsageError("--out takes one input only");
  if (o.out !== undefined && o.inplace) throw new UsageError("use --out or --inplace, not both");
}

function label(nb: Notebook, index: number): string {
  const cell = nb.cells[index];
  const id = gradeId(cell);
  if (typeof id === "string") return id;
  // The first line that says something (not a `//|` directive).
  const first = cell.source.split("\n").find((l) => l.trim() !== "" && !isDirectiveLine(l)) ?? "";
  return first.length > 40 ? first.slice(0, 39) + "…" : first;
}

function describe(run: CellRun): string {
  if (run.status === "error") return `${run.error?.ename}: ${firstLine(run.error?.evalue ?? "")}`;
  return run.reason ?? "";
}

function firstLine(text: string): string {
  const line = text.split("\n")[0];
  return line.length > 100 ? line.slice(0, 99) + "…" : line;
}

function report(item: RunnableNotebook, run: NotebookRun, quiet: boolean): string {
  const lines: string[] = [];
  const count = (s: CellRun["status"]) => run.cells.filter((c) => c.status === s).length;
  const parts = [`${count("ok")} ok`];
  for (const s of ["error", "timeout", "died", "not-run"] as const) {
    if (count(s) > 0) parts.push(`${count(s)} ${s}`);
  }
  const cut = run.cells.filter((c) => c.truncated).length;
  if (cut > 0) parts.push(`${cut} with output cut`);
  lines.push(
    `${run.ok ? "PASS" : "FAIL"} ${item.display}: ${run.cells.length} cells: ${parts.join(", ")} (${formatSeconds(run.durationMs)})`,
  );
  if (!quiet) {
    for (const c of run.cells) {
      const time = c.status === "not-run" ? "" : formatSeconds(c.durationMs);
      const note = c.status === "ok" ? (c.truncated ? (c.reason ?? "") : "") : describe(c);
      lines.push(
        `  [${String(c.index).padStart(3)}] ${c.status.padEnd(7)} ${time.padStart(7)}  ${label(run.notebook, c.index)}${note ? `  — ${note}` : ""}`,
      );
    }
  }
  return lines.join("\n");
}

export function run(args: string[]): Promise<number> {
  return runCommand(spec, args, ({ values, positionals }) => {
    checkCombinations(values, positionals);
    return runAll(values, positionals);
  });
}

async function runAll(opts: Options, inputs: string[]): Promise<number> {
  // Load everything first: bad inputs are reported before any kernel starts.
  const items: RunnableNotebook[] = [];
  let failed = false;
  for (const input of inputs) {
    try {
      const item = loadRunnable(input);
      if (opts.inplace && item.kind !== "ipynb") {
        throw new Error(`${input}: --inplace writes .ipynb files only`);
      }
      items.push(item);
    } catch (e) {
      failed = true;
      console.error(`tito run: ${isSourceError(e) ? e.message : (e as Error).message}`);
    }
  }
  if (opts.out !== undefined && failed) return 1;
  const start = (item: RunnableNotebook): KernelStartOptions => ({
    cwd: item.cwd,
    memoryMb: opts.memory,
  });
  try {
    await runNotebooks(
      items,
      async (item, kernel) => {
        const result = await runNotebook(item.notebook, {
          kernel,
          file: item.display,
          cellTimeoutMs: opts.timeout,
          notebookTimeoutMs: opts["notebook-timeout"],
          outputLimitBytes: opts["output-limit"],
          allowErrors: opts["allow-errors"],
        });
        if (!result.ok) failed = true;
        const target = opts.out ?? (opts.inplace ? item.path : undefined);
        if (target) writeFileAtomic(resolve(target), writeIpynb(result.notebook));
        console.log(report(item, result, opts.quiet) + (target ? `\n  wrote ${target}` : ""));
      },
      { jobs: Math.min(opts.jobs, Math.max(1, items.length)), start },
    );
  } catch (e) {
    failed = true;
    const errors = e instanceof BatchError ? e.errors : [e];
    for (const err of errors) {
      console.error(`tito run: ${err instanceof Error ? err.message : String(err)}`);
    }
  }
  return failed ? 1 : 0;
}
