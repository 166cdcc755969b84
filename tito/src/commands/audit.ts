// `tito audit [NN...]` (instructor command, run in CI)
import {
  auditModule,
  formatAudit,
  studentNotebookPath,
  findManifest,
  listManifests,
  compiledPackageDir,
} from "@tinytorch-ts/grader";
import { resolveCourseRoot, runCommand, type OptionValues, coursePath } from "@tinytorch-ts/core";
import { spec } from "./audit.args";

export function run(args: string[]): Promise<number> {
  return runCommand(spec, args, ({ values, positionals }) => audit(values, positionals));
}

async function audit(p: OptionValues<typeof spec.options>, modules: string[]): Promise<number> {
  const cellTimeoutMs = p["cell-timeout"];
  const root = resolveCourseRoot(p.root);
  const manifestDir = p.manifests ?? coursePath(root, "manifests");
  const notebooksDir = p.notebooks ?? coursePath(root, "notebooks");
  const files = modules.length > 0 ? modules.map((m) => findManifest(m, manifestDir)) : listManifests(manifestDir); // prettier-ignore
  if (files.length === 0) {
    console.error(`tito audit: no grading manifests in ${manifestDir} (run npm run build)`);
    return 1;
  }
  compiledPackageDir(root);
  let failed = 0;
  for (const file of files) {
    const module = file.slice(file.lastIndexOf("/") + 1, -".json".length);
    const a = await auditModule(file, studentNotebookPath(module, notebooksDir), {
      cellTimeoutMs,
      sandbox: !p["no-sandbox"],
      referenceOnly: p["reference-only"],
      courseRoot: root,
    });
    console.log(formatAudit(a));
    if (a.problems.length > 0) failed++;
  }
  console.log(
    failed === 0
      ? `audit passed: ${files.length} module(s): every reference passes its own tests and earns full marks, no untouched notebook earns a point`
      : `audit FAILED: ${failed} of ${files.length} module(s) have problems (above)`,
  );
  return failed === 0 ? 0 : 1;
}
