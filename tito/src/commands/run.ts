// `tito run`: execute notebooks top to bottom in real tslab kernels, without Python, like
// `jupyter nbconvert --execute`. Inputs are loaded and checked before any kernel starts, so a
// bad file costs nothing and leaves nothing behind; outputs are written atomically.
import { cpus } from "node:os";
import { resolve } from "node:path";
import type { CellRun, KernelStartOptions } from "@tinytorch-ts/core/kernel";
import { writeFileAtomic, isSourceError } from "@tinytorch-ts/core";
import { writeIpynb, type Notebook } from "@tinytorch-ts/core/notebook";
import { loadRunnable, type RunnableNotebook } from "../run/load";
import {
  DEFAULT_CELL_TIMEOUT_MS,
  DEFAULT_OUTPUT_LIMIT,
  parseSeconds,
  seconds,
  BatchError,
  runNotebooks,
  runNotebook,
  type NotebookRun,
} from "@tinytorch-ts/core/run";

export const summary = "execute notebooks in tslab kernels (no Python) and report every cell";

const USAGE = `usage: tito run <notebook.ipynb | module>... [options]

  <notebook.ipynb>      a notebook; its kernel starts in the notebook's directory
  <module>              a module source (modules/01_tensor/tensor_dev.ts) or its number or
                        name (01, 01_tensor, tensor), run as the full reference notebook
  --out F               write the executed notebook to F (one input only; nbformat 4.5)
  --inplace             write each executed notebook back to its .ipynb
  --timeout S           seconds a cell may run before it is interrupted (default ${DEFAULT_CELL_TIMEOUT_MS / 1000})
  --notebook-timeout S  seconds all cells of a notebook may take together (default: no limit)
  --allow-errors        go on past failing cells (the exit code still reports them)
  --jobs N              notebooks run at once, each in its own kernel (default: cores)
  --memory MB           cap each kernel's memory (V8 heap and process data)
  --output-limit KB     output kept per cell (default ${DEFAULT_OUTPUT_LIMIT / 1024}); the rest is counted and dropped
  --quiet               print one line per notebook instead of one per cell

Exit code: 0 when every cell of every notebook ran without error, 1 otherwise, 2 for usage.`;

interface Options {
  inputs: string[];
  out?: string;
  inplace: boolean;
  cellTimeoutMs: number;
  notebookTimeoutMs?: number;
  allowErrors: boolean;
  jobs: number;
  memoryMb?: number;
  outputLimitBytes: number;
  quiet: boolean;
}

function parseArgs(args: string[]): Options | string {
  const o: Options = {
    inputs: [],
    inplace: false,
    cellTimeoutMs: DEFAULT_CELL_TIMEOUT_MS,
    allowErrors: false,
    jobs: cpus().length,
    outputLimitBytes: DEFAULT_OUTPUT_LIMIT,
    quiet: false,
  };
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    const eq = a.indexOf("=");
    const name = a.startsWith("--") && eq > 0 ? a.slice(0, eq) : a;
    const value = () => (a.startsWith("--") && eq > 0 ? a.slice(eq + 1) : args[++i]);
    const positive = (what: string) => {
      const v = value();
      const n = parseSeconds(v);
      if (n === undefined) throw new Error(`${what} needs a positive number, got '${v ?? ""}'`);
      return n / 1000;
    };
    try {
      if (name === "--out" || name === "-o") o.out = value();
      else if (name === "--inplace") o.inplace = true;
      else if (name === "--timeout") o.cellTimeoutMs = positive("--timeout") * 1000;
      else if (name === "--notebook-timeout") {
        o.notebookTimeoutMs = positive("--notebook-timeout") * 1000;
      } else if (name === "--allow-errors") o.allowErrors = true;
      else if (name === "--jobs" || name === "-j")
        o.jobs = Math.max(1, Math.floor(positive("--jobs")));
      else if (name === "--memory") o.memoryMb = Math.floor(positive("--memory"));
      else if (name === "--output-limit") {
        o.outputLimitBytes = Math.floor(positive("--output-limit") * 1024);
      } else if (name === "--quiet" || name === "-q") o.quiet = true;
      else if (a.startsWith("-")) return `unknown option ${a}`;
      else o.inputs.push(a);
    } catch (e) {
      return (e as Error).message;
    }
  }
  if (o.inputs.length === 0) return "no notebook given";
  if (o.out !== undefined && o.out === "") return "--out needs a path";
  if (o.out !== undefined && o.inputs.length > 1) return "--out takes one input only";
  if (o.out !== undefined && o.inplace) return "use --out or --inplace, not both";
  return o;
}

function label(nb: Notebook, index: number): string {
  const cell = nb.cells[index];
  const gradeId = cell.metadata.nbgrader?.grade_id;
  if (typeof gradeId === "string") return gradeId;
  // The first line that says something (not a `//|` directive).
  const first = cell.source.split("\n").find((l) => l.trim() !== "" && !l.startsWith("//|")) ?? "";
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
    `${run.ok ? "PASS" : "FAIL"} ${item.display}: ${run.cells.length} cells: ${parts.join(", ")} (${seconds(run.durationMs)})`,
  );
  if (!quiet) {
    for (const c of run.cells) {
      const time = c.status === "not-run" ? "" : seconds(c.durationMs);
      const note = c.status === "ok" ? (c.truncated ? (c.reason ?? "") : "") : describe(c);
      lines.push(
        `  [${String(c.index).padStart(3)}] ${c.status.padEnd(7)} ${time.padStart(7)}  ${label(run.notebook, c.index)}${note ? `  — ${note}` : ""}`,
      );
    }
  }
  return lines.join("\n");
}

export async function run(args: string[]): Promise<number> {
  if (args.includes("--help") || args.includes("-h")) {
    console.log(USAGE);
    return 0;
  }
  const opts = parseArgs(args);
  if (typeof opts === "string") {
    console.error(`tito run: ${opts}\n\n${USAGE}`);
    return 2;
  }
  // Load everything first: bad inputs are reported before any kernel starts.
  const items: RunnableNotebook[] = [];
  let failed = false;
  for (const input of opts.inputs) {
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
    memoryMb: opts.memoryMb,
  });
  try {
    await runNotebooks(
      items,
      async (item, kernel) => {
        const result = await runNotebook(item.notebook, {
          kernel,
          file: item.display,
          cellTimeoutMs: opts.cellTimeoutMs,
          notebookTimeoutMs: opts.notebookTimeoutMs,
          outputLimitBytes: opts.outputLimitBytes,
          allowErrors: opts.allowErrors,
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
