// The Gradescope entry point, run by the bundle's run_autograder for one submission: grade the
// notebook in <root>/submission against the bundled manifest and write <root>/results/results.json.
// <root> is /autograder on Gradescope; TITO_AUTOGRADER_ROOT overrides it (tests).
//
// Time and visibility: the submission time is Gradescope's `created_at` from
// <root>/submission_metadata.json when present; a course file bundled as <root>/source/course.json
// gives the due date (extensions keyed by the student's Gradescope sid or email), the late policy
// and the visibility of tests with hidden checks. results.json's score stays the raw automatic
// score, as everywhere in the kit; the penalty is stated in its output.
//
// Usage: node --require tsx/cjs grader/src/gradescope-run.ts <manifest.json>
import { chmodSync, existsSync, lstatSync, readdirSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { coursePath } from "@tinytorch-ts/core";
import {
  COURSE_FILE_NAME,
  loadCourseSettings,
  parseInstant,
  timingFor,
  type AttemptTiming,
  type CourseSettings,
} from "./course-file";
import { gradeSubmission } from "./grade-submission";
import { readManifest } from "./manifest-store";
import { logLine } from "./names";
import { hiddenTestIds, writeResultsJson } from "./results-json";
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

/** What Gradescope says about the submission (only the fields used here). */
export interface SubmissionMetadata {
  /** When it was submitted, epoch ms. */
  createdMs?: number;
  /** The submitters' Gradescope sids and emails, for extensions. */
  ids: string[];
}

/**
 * Reads <root>/submission_metadata.json. A missing or unreadable file, or a field of another
 * shape, gives what could be read: the runner grades anyway (lateness needs a time).
 */
export function readSubmissionMetadata(root: string): SubmissionMetadata {
  const file = join(root, "submission_metadata.json");
  let data: unknown;
  try {
    data = JSON.parse(readFileSync(file, "utf8"));
  } catch {
    return { ids: [] };
  }
  const meta = (data ?? {}) as { created_at?: unknown; users?: unknown };
  // Gradescope writes created_at with an offset ("2026-02-06T23:59:00.123456-08:00"); fractions
  // beyond milliseconds are dropped by parseInstant.
  const createdMs = typeof meta.created_at === "string" ? parseInstant(meta.created_at) : undefined; // prettier-ignore
  const ids: string[] = [];
  for (const u of Array.isArray(meta.users) ? (meta.users as unknown[]) : []) {
    const user = (u ?? {}) as { sid?: unknown; email?: unknown };
    for (const id of [user.sid, user.email]) if (typeof id === "string" && id !== "") ids.push(id);
  }
  return { createdMs, ids };
}

/** The submission's timing: the latest due date any of its submitters has. */
function gradescopeTiming(
  course: CourseSettings,
  module: string,
  meta: SubmissionMetadata,
): AttemptTiming {
  const candidates = [undefined, ...meta.ids].map((id) => timingFor(course, module, id ?? "", meta.createdMs)); // prettier-ignore
  return candidates.reduce((a, b) => ((b.dueMs ?? -Infinity) > (a.dueMs ?? -Infinity) ? b : a));
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
  // Read before the lock-down: a bad course file stops the run with its problems, like tito grade.
  const course = loadCourseSettings(undefined, existsSync(join(source, COURSE_FILE_NAME)) ? source : undefined); // prettier-ignore
  const timing = gradescopeTiming(course, manifest.module, readSubmissionMetadata(root));
  lockDown([
    coursePath(source, "manifests"),
    join(source, "tinytorch-ts", "dist"),
    // The compiled reference (every test with its expected values, every solution) and kits.
    join(source, ".tito-cache"),
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
    courseRoot: source,
  });
  if (!read.ok) {
    result.status = "rejected";
    result.reason = read.reason;
    for (const t of result.tests) t.message = `not graded: ${read.reason}`;
  }
  writeResultsJson(join(root, "results", "results.json"), result, {
    hiddenTests: hiddenTestIds(manifest),
    hiddenVisibility: course.hiddenTests,
    late: timing.dueMs === undefined ? undefined : timing,
  });
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
