// Grading a folder of submissions: find one notebook per student, skip those whose submission and
// manifest are unchanged since the last run, grade the rest with N workers (each preparing its
// next kernel while the current submission runs), and write each student's results.json and
// feedback page and gradebook row as soon as they are done. One bad submission never stops the
// others, and an interrupted run simply continues on the next invocation.
import { existsSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { basename, join } from "node:path";
import type { GradingManifest } from "@tinytorch-ts/core";
import { writeFeedback } from "./feedback-html";
import { gradeSubmission } from "./grade-submission";
import { Gradebook } from "./gradebook";
import { prepareKernel, type PreparedKernel, type SessionOptions } from "./kernel-session";
import { ProgressBar } from "./progress";
import { writeResultsJson } from "./results-json";
import { safeName } from "./names";
import { makeScratchRoot } from "./scratch";
import { sha256Hex } from "./submission";
import type { SubmissionResult } from "./types";

export interface Submission {
  student: string;
  /** The notebook, or undefined when the student's folder holds none. */
  file?: string;
  /** Why no notebook was picked. */
  problem?: string;
}

function notebooksIn(dir: string): string[] {
  return readdirSync(dir)
    .filter((f) => f.endsWith(".ipynb") && !f.startsWith("."))
    .sort();
}

/**
 * `<dir>/<student>.ipynb` or `<dir>/<student>/<notebook>.ipynb`, or a single notebook file. In a
 * student folder the notebook named after the module wins (`01_tensor.ipynb`), else the only one.
 */
export function findSubmissions(path: string, module: string): Submission[] {
  if (!existsSync(path)) return [];
  if (statSync(path).isFile()) return [{ student: basename(path).replace(/\.ipynb$/, ""), file: path }]; // prettier-ignore
  const out: Submission[] = [];
  for (const entry of readdirSync(path).sort()) {
    if (entry.startsWith(".")) continue;
    const full = join(path, entry);
    if (statSync(full).isFile()) {
      if (entry.endsWith(".ipynb")) out.push({ student: entry.slice(0, -".ipynb".length), file: full }); // prettier-ignore
      continue;
    }
    const books = notebooksIn(full);
    const number = module.split("_")[0];
    const pick =
      books.find((b) => b === `${module}.ipynb`) ??
      (books.length === 1 ? books[0] : books.find((b) => b.startsWith(`${number}_`)));
    if (pick) out.push({ student: entry, file: join(full, pick) });
    else {
      const problem = books.length === 0
        ? "no .ipynb notebook in the submission folder"
        : `several notebooks (${books.join(", ")}) and none is named ${module}.ipynb`; // prettier-ignore
      out.push({ student: entry, problem });
    }
  }
  return out;
}

export interface BatchOptions extends SessionOptions {
  outDir: string;
  jobs?: number;
  /** Grade even unchanged submissions again. */
  force?: boolean;
  /** Prepare each worker's next kernel ahead of time (default true). */
  prefetch?: boolean;
  manifestHash: string;
  progress?: ProgressBar;
  /** Set to true (e.g. on Ctrl-C) to stop starting new submissions. */
  stop?: { requested: boolean };
  onResult?: (r: SubmissionResult) => void;
}

export interface BatchSummary {
  graded: number;
  skipped: number;
  rejected: number;
  errors: number;
  results: SubmissionResult[];
}

export function resultsPath(outDir: string, student: string): string {
  return join(outDir, "results", safeName(student), "results.json");
}

export function feedbackPath(outDir: string, student: string): string {
  return join(outDir, "feedback", `${safeName(student)}.html`);
}

export async function gradeBatch(
  manifest: GradingManifest,
  submissions: Submission[],
  opts: BatchOptions,
): Promise<BatchSummary> {
  const book = await Gradebook.open(join(opts.outDir, "gradebook.sqlite"));
  const summary: BatchSummary = { graded: 0, skipped: 0, rejected: 0, errors: 0, results: [] };
  const queue = [...submissions];
  const scratchRoot = opts.scratchRoot ?? makeScratchRoot();
  // Students' submissions and every output are out of the kernels' sight.
  const session: SessionOptions = { ...opts, scratchRoot, hide: [...(opts.hide ?? []), opts.outDir] }; // prettier-ignore
  const prepare = (): Promise<PreparedKernel> => {
    const p = prepareKernel(manifest, session);
    p.catch(() => undefined); // reported when acquired, never as an unhandled rejection
    return p;
  };

  const worker = async () => {
    let next: Promise<PreparedKernel> | undefined;
    while (queue.length > 0 && !opts.stop?.requested) {
      const sub = queue.shift() as Submission;
      let text: string;
      try {
        if (!sub.file) throw new Error(sub.problem ?? "no notebook");
        text = readFileSync(sub.file, "utf8");
      } catch (e) {
        text = "";
        sub.problem = sub.problem ?? `cannot read the submission (${(e as Error).message})`;
      }
      if (
        !opts.force &&
        book.isUpToDate(sub.student, manifest.module, sha256Hex(text), opts.manifestHash)
      ) {
        // prettier-ignore
        summary.skipped++;
        opts.progress?.tick("skipped", sub.student);
        continue;
      }
      const r = await gradeSubmission(manifest, sub.problem ? "" : text, {
        ...session,
        student: sub.student,
        manifestHash: opts.manifestHash,
        acquireKernel: () => {
          const k = next ?? prepare();
          next = opts.prefetch !== false && queue.length > 0 ? prepare() : undefined;
          return k;
        },
      });
      if (sub.problem) {
        r.status = "rejected";
        r.reason = sub.problem;
        for (const t of r.tests) t.message = `not graded: ${sub.problem}`;
      }
      writeResultsJson(resultsPath(opts.outDir, sub.student), r);
      writeFeedback(feedbackPath(opts.outDir, sub.student), r);
      book.record(r);
      summary.results.push(r);
      const kind = r.status === "graded" ? "graded" : r.status === "rejected" ? "rejected" : "errors"; // prettier-ignore
      summary[kind]++;
      opts.progress?.tick(kind, `${sub.student}: ${r.score}/${r.maxScore}${r.reason ? ` (${r.reason})` : ""}`); // prettier-ignore
      opts.onResult?.(r);
    }
    if (next) await (await next.catch(() => undefined))?.dispose();
  };

  try {
    const jobs = Math.max(1, Math.floor(opts.jobs ?? 1));
    await Promise.all(Array.from({ length: jobs }, worker));
  } finally {
    book.close();
    if (opts.scratchRoot === undefined) {
      rmSync(scratchRoot, { recursive: true, force: true });
    }
  }
  return summary;
}
