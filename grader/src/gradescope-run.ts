// The Gradescope entry point, run by the bundle's run_autograder for one submission: grade the
// notebook in <root>/submission against the bundled manifest and write <root>/results/results.json.
// <root> is /autograder on Gradescope; TITO_AUTOGRADER_ROOT overrides it (tests).
//
// Usage: node --require tsx/cjs grader/src/gradescope-run.ts <manifest.json>
import { chmodSync, existsSync, lstatSync, readdirSync } from "node:fs";
import { join, resolve } from "node:path";
import { gradeSubmission } from "./grade-submission";
import { readManifest } from "./manifest-store";
import { logLine } from "./names";
import { writeResultsJson } from "./results-json";
import { DEFAULT_MAX_SUBMISSION_BYTES, readSubmissionFile } from "./submissions-folder";
import type { SubmissionResult } from "./types";

function findNotebook(dir: string, module: string): string | { problem: string } {
  const found: string[] = [];
  const walk = (d: string, depth: number) => {
    for (const e of readdirSync(d).sort()) {
      const p = join(d, e);
      // lstat: a linked folder is not entered. A linked or special notebook is still picked by
      // its name, and readSubmissionFile then refuses it with a reason.
      try {
        if (lstatSync(p).isDirectory()) {
          if (depth < 3 && !e.startsWith(".")) walk(p, depth + 1);
        } else if (e.endsWith(".ipynb") && !e.startsWith(".")) found.push(p);
      } catch {
        // An entry that vanished or cannot be inspected is not the notebook to grade.
      }
    }
  };
  if (existsSync(dir)) walk(dir, 0);
  const named = found.find((f) => f.endsWith(`/${module}.ipynb`));
  if (named) return named;
  if (found.length === 1) return found[0];
  if (found.length === 0) return { problem: `no .ipynb notebook was submitted (expected ${module}.ipynb)` }; // prettier-ignore
  return { problem: `several notebooks were submitted; name the one to grade ${module}.ipynb` };
}

/** Keeps what the kernel must not read root-only, for containers without mount namespaces. */
function lockDown(paths: string[]): void {
  for (const p of paths) {
    try {
      if (existsSync(p)) chmodSync(p, 0o700);
    } catch {
      // Not root: nothing to lock (the kernel then runs as the same user anyway).
    }
  }
}

export async function gradescopeRun(manifestPath: string, root: string): Promise<SubmissionResult> {
  const { manifest, hash } = readManifest(manifestPath);
  const source = join(root, "source");
  lockDown([
    join(source, "grader", "manifests"),
    join(source, "tinytorch-ts", "dist"),
    join(root, "submission"),
    join(root, "results"),
  ]);
  const found = findNotebook(join(root, "submission"), manifest.module);
  // The same checks as `tito grade`: no link followed, no pipe opened, the size capped.
  const read =
    typeof found === "string"
      ? readSubmissionFile(found, DEFAULT_MAX_SUBMISSION_BYTES)
      : { ok: false as const, reason: found.problem };
  const text = read.ok ? read.text : "";
  const result = await gradeSubmission(manifest, text, {
    student: "submission",
    manifestHash: hash,
    hide: [root],
    repoRoot: source,
  });
  if (!read.ok) {
    result.status = "rejected";
    result.reason = read.reason;
    for (const t of result.tests) t.message = `not graded: ${read.reason}`;
  }
  writeResultsJson(join(root, "results", "results.json"), result);
  return result;
}

if (require.main === module) {
  const manifest = process.argv[2];
  const root = resolve(process.env.TITO_AUTOGRADER_ROOT ?? "/autograder");
  if (!manifest) {
    console.error("usage: gradescope-run.ts <manifest.json>");
    process.exit(2);
  }
  gradescopeRun(resolve(manifest), root).then(
    (r) => {
      console.log(logLine(`${r.module}: ${r.score}/${r.maxScore} (${r.status}${r.reason ? `: ${r.reason}` : ""})`)); // prettier-ignore
      process.exit(0);
    },
    (e: unknown) => {
      console.error(e instanceof Error ? (e.stack ?? e.message) : String(e));
      process.exit(1);
    },
  );
}
