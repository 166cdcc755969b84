// The hole audit: grade each module's untouched student notebook exactly as a submission would
// be graded (same reconstruction, hidden tests, sandbox and kernel) and report every point it
// earns. A test that passes without the student's work does not test the student; the target
// is 0 points for every module.
import { existsSync, readFileSync } from "node:fs";
import { basename, join } from "node:path";
import { KIT_ROOT } from "@tinytorch-ts/core";
import { gradeSubmission } from "./grade-submission";
import type { SessionOptions } from "./kernel-session";
import { readManifest } from "./manifest-store";
import type { TestResult } from "./types";

export interface ModuleAudit {
  module: string;
  notebook: string;
  /** Points the untouched notebook earned (target 0). */
  earned: number;
  maxScore: number;
  /** Tests that passed without any work. */
  holes: TestResult[];
  /** Set when the audit could not grade the notebook (missing, rejected, grader error). */
  problem?: string;
}

export function studentNotebookPath(
  module: string,
  notebooksDir = join(KIT_ROOT, "notebooks"),
): string {
  // prettier-ignore
  return join(notebooksDir, `${module}.ipynb`);
}

export async function auditModule(
  manifestPath: string,
  notebookPath: string,
  opts: SessionOptions = {},
): Promise<ModuleAudit> {
  const { manifest, hash } = readManifest(manifestPath);
  const base = { module: manifest.module, notebook: notebookPath, maxScore: manifest.totalPoints };
  if (!existsSync(notebookPath)) {
    return { ...base, earned: 0, holes: [], problem: `no student notebook at ${notebookPath}` };
  }
  const text = readFileSync(notebookPath, "utf8");
  const r = await gradeSubmission(manifest, text, {
    ...opts,
    student: `audit:${basename(notebookPath)}`,
    manifestHash: hash,
  });
  const holes = r.tests.filter((t) => t.status === "passed");
  const audit: ModuleAudit = { ...base, earned: r.score, holes };
  if (r.status !== "graded") audit.problem = `${r.status}: ${r.reason ?? ""}`;
  else if (r.tampering.length > 0) {
    // The student notebook must match its own manifest; if not, the build is stale.
    audit.problem = `the notebook differs from its manifest (${r.tampering.map((t) => t.kind).join(", ")}); rebuild`; // prettier-ignore
  }
  return audit;
}

export function formatAudit(a: ModuleAudit): string {
  if (a.problem) return `${a.module}: cannot audit: ${a.problem}`;
  if (a.earned === 0) return `${a.module}: 0/${a.maxScore} points without work`;
  const lines = [`${a.module}: ${a.earned}/${a.maxScore} points earned by the untouched notebook:`];
  for (const h of a.holes) lines.push(`  ${h.name}: ${h.score} point(s) pass without the student's code`); // prettier-ignore
  return lines.join("\n");
}
