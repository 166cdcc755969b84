// `tito audit [NN...]` (instructor command, run in CI)
import { join } from "node:path";
import {
  auditModule,
  formatAudit,
  studentNotebookPath,
  REPO_ROOT,
  findManifest,
  listManifests,
  MANIFEST_DIR,
} from "@tinytorch-ts/grader";
import { numberOption, parseArgs, UsageError } from "@tinytorch-ts/core";

export const summary = "grade every untouched student notebook; fail if any test passes without work"; // prettier-ignore

const HELP = `usage: tito audit [NN ...] [options]

Grades each module's untouched student notebook (notebooks/NN_name.ipynb) exactly as the grader
grades a submission, hidden tests included, and reports the points it earns. Every test should
fail until the student does the work: the target is 0, and the exit code is 1 otherwise.

options:
  --manifests DIR     grading manifests (default: grader/manifests)
  --notebooks DIR     student notebooks (default: notebooks)
  --cell-timeout S    seconds per cell (default 30)
  --no-sandbox        run kernels without namespaces or the sandbox user`;

export async function run(args: string[]): Promise<number> {
  let p;
  let cellTimeoutMs;
  try {
    p = parseArgs(args, ["--manifests", "--notebooks", "--cell-timeout"], ["--no-sandbox", "--help", "-h"]); // prettier-ignore
    if (p.flags.has("--help") || p.flags.has("-h")) {
      console.log(HELP);
      return 0;
    }
    cellTimeoutMs = numberOption(p, "--cell-timeout", 30) * 1000;
  } catch (e) {
    if (!(e instanceof UsageError)) throw e;
    console.error(`tito audit: ${e.message}\n\n${HELP}`);
    return 2;
  }
  const manifestDir = p.values.get("--manifests") ?? MANIFEST_DIR;
  const notebooksDir = p.values.get("--notebooks") ?? join(REPO_ROOT, "notebooks");
  const files = p.positional.length > 0 ? p.positional.map((m) => findManifest(m, manifestDir)) : listManifests(manifestDir); // prettier-ignore
  if (files.length === 0) {
    console.error(`tito audit: no grading manifests in ${manifestDir} (run npm run build)`);
    return 1;
  }
  let failed = 0;
  let earned = 0;
  for (const file of files) {
    const module = file.slice(file.lastIndexOf("/") + 1, -".json".length);
    const a = await auditModule(file, studentNotebookPath(module, notebooksDir), {
      cellTimeoutMs,
      sandbox: !p.flags.has("--no-sandbox"),
    });
    console.log(formatAudit(a));
    earned += a.earned;
    if (a.problem || a.earned > 0) failed++;
  }
  console.log(
    failed === 0
      ? `audit passed: ${files.length} module(s), no points without work`
      : `audit FAILED: ${failed} module(s) with points earnable without work or not auditable (${earned} points in all)`, // prettier-ignore
  );
  return failed === 0 ? 0 : 1;
}
