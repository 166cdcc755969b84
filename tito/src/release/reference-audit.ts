// Before a release: every module's reference solution must pass its own tests. Students are
// graded against the reference, so a broken reference grades every one of them wrong, and a
// release is when that is still cheap to fix. Each module's grading manifest is run through the
// audit's trusted reference run (grader's `auditReference`: no kernel, two seeds, determinism,
// the seed rule); it costs about 10 s per module, so `tito release --skip-reference-audit` can
// leave it out, with a warning.
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { coursePath } from "@tinytorch-ts/core";
import { auditReference, readManifest } from "@tinytorch-ts/grader";
import { sha256 } from "../build/manifest";

export interface ReferenceAuditModule {
  module: string;
  /** Repository-relative path of the module's source (to see whether the manifest is current). */
  sourceFile: string;
}

/**
 * Every problem of every module's reference, as "module: problem"; empty when all pass. A
 * module without a manifest, or with one older than its source, is a problem too: auditing a
 * stale manifest would check a reference that is not the one released.
 */
export async function auditReferences(
  root: string,
  modules: ReferenceAuditModule[],
  onModule: (module: string) => void = () => undefined,
): Promise<string[]> {
  const problems: string[] = [];
  for (const m of modules) {
    onModule(m.module);
    const file = coursePath(root, "manifests", `${m.module}.json`);
    if (!existsSync(file)) {
      problems.push(`${m.module}: no grading manifest at ${file} (run npm run build)`);
      continue;
    }
    let loaded;
    try {
      loaded = readManifest(file);
    } catch (e) {
      problems.push(`${m.module}: ${(e as Error).message}`);
      continue;
    }
    const source = readFileSync(join(root, m.sourceFile), "utf8");
    if (loaded.manifest.sourceHash !== sha256(source)) {
      problems.push(`${m.module}: the grading manifest is older than ${m.sourceFile} (run npm run build)`); // prettier-ignore
      continue;
    }
    for (const p of await auditReference(loaded.manifest)) problems.push(`${m.module}: ${p}`);
  }
  return problems;
}
