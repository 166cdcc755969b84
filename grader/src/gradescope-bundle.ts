// The Gradescope autograder bundle for one module: the kit's tool code (tito, grader), the
// module's manifest, the parts of the compiled reference package the module may load, the lock
// file, and the two scripts Gradescope runs: setup.sh (once, when the image is built: Node 20,
// npm ci, the sandbox user) and run_autograder (per submission). Gradescope unpacks the zip into
// /autograder/source; the grader is stateless, so each container grades one submission.
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import JSZip from "jszip";
import {
  DEFAULT_GRADING_LIMITS,
  KIT_ROOT,
  type GradingManifest,
  writeFileAtomic,
} from "@tinytorch-ts/core";
import { ReferenceRunner } from "./reference-run";
import { codeClosure } from "./code-closure";
import { allowedPackageFiles, compiledPackageDir } from "./kit";

export const SETUP_SH = `#!/usr/bin/env bash
# Gradescope runs this once, as root, when it builds the autograder image.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
apt-get update
apt-get install -y --no-install-recommends ca-certificates curl util-linux
major=0
if command -v node >/dev/null 2>&1; then major=$(node -p 'process.versions.node.split(".")[0]'); fi
if [ "$major" -lt 20 ]; then
  curl -fsSL https://deb.nodesource.com/setup_20.x | bash -
  apt-get install -y nodejs
fi
cd /autograder/source
npm ci --no-audit --no-fund
# The user student code runs as (the grader also creates it when missing).
id -u tito-sandbox >/dev/null 2>&1 || useradd --system --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin tito-sandbox
`;

/** What run_autograder runs (and so all the kit code the bundle holds is what this reaches). */
export const RUNNER_ENTRY = "grader/src/gradescope-run.ts";
const WORKSPACES = { "@tinytorch-ts/core": "core", "@tinytorch-ts/grader": "grader" };

export function runAutograderScript(manifestFile: string): string {
  return `#!/usr/bin/env bash
# Gradescope runs this, as root, once per submission: it grades the notebook in
# /autograder/submission and writes /autograder/results/results.json.
# TITO_AUTOGRADER_ROOT replaces /autograder (used by the kit's own tests).
set -uo pipefail
ROOT="\${TITO_AUTOGRADER_ROOT:-/autograder}"
cd "$ROOT/source" || exit 1
mkdir -p "$ROOT/results"
exec node --require tsx/cjs ${RUNNER_ENTRY} ${JSON.stringify(manifestFile)}
`;
}

// A fixed timestamp keeps the zip byte-identical for the same inputs. JSZip would also add an
// entry for every parent folder, dated when the zip is made (so two builds more than two
// seconds apart differed); unzip makes the folders from the file paths without them.
export const FIXED_DATE = new Date("2020-01-01T00:00:00Z");
const ENTRY = { date: FIXED_DATE, createFolders: false };

export async function buildGradescopeZip(
  manifest: GradingManifest,
  manifestPath: string,
  courseRoot = KIT_ROOT,
): Promise<Uint8Array> {
  const zip = new JSZip();
  const manifestName = `${manifest.module}.json`;
  // The grader's code and lockfile come from the kit; the reference package from the course
  // the manifest was built from (the same folder, unless the course lives elsewhere).
  const dist = compiledPackageDir(courseRoot);
  for (const f of ["package.json", "package-lock.json"]) {
    zip.file(f, readFileSync(join(KIT_ROOT, f)), ENTRY);
  }
  // Exactly the code run_autograder runs (its entry point's imports, and the files they load by
  // name), and each workspace's package.json so that `npm ci` can link the workspaces.
  for (const rel of codeClosure(KIT_ROOT, RUNNER_ENTRY, WORKSPACES)) {
    zip.file(rel, readFileSync(join(KIT_ROOT, rel)), ENTRY);
  }
  for (const folder of ["core", "grader", "tito"]) {
    zip.file(`${folder}/package.json`, readFileSync(join(KIT_ROOT, folder, "package.json")), ENTRY); // prettier-ignore
  }
  zip.file(`grader/manifests/${manifestName}`, readFileSync(manifestPath), ENTRY);
  // The trusted reference run's program, compiled here once, so that a container (which grades
  // one submission and is thrown away) does not compile it for every student.
  for (const [name, bytes] of await compiledReference(manifest, courseRoot)) {
    zip.file(`.tito-cache/reference/${name}`, bytes, ENTRY);
  }
  zip.file("tinytorch-ts/package.json", readFileSync(join(courseRoot, "tinytorch-ts", "package.json")), ENTRY); // prettier-ignore
  for (const p of allowedPackageFiles(dist, manifest)) {
    for (const ext of [".js", ".d.ts"]) {
      const file = join(dist, p + ext);
      if (existsSync(file)) zip.file(`tinytorch-ts/dist/${p}${ext}`, readFileSync(file), ENTRY); // prettier-ignore
    }
  }
  const exec = { ...ENTRY, unixPermissions: 0o755 };
  zip.file("setup.sh", SETUP_SH, exec);
  zip.file("run_autograder", runAutograderScript(`grader/manifests/${manifestName}`), exec);
  return zip.generateAsync({ type: "uint8array", platform: "UNIX", compression: "DEFLATE" });
}

/** The reference program files for `manifest` (see reference-run.ts), compiled into a temp dir. */
async function compiledReference(
  manifest: GradingManifest,
  courseRoot: string,
): Promise<Array<[string, Buffer]>> {
  const work = mkdtempSync(join(tmpdir(), "tito-gradescope-"));
  try {
    const cacheDir = join(work, "cache");
    const runner = await ReferenceRunner.open(manifest, {
      scratchRoot: work,
      cacheDir,
      courseRoot,
      timeoutMs: DEFAULT_GRADING_LIMITS.notebookTimeoutMs,
    });
    await runner.close();
    return readdirSync(cacheDir)
      .sort()
      .map((f): [string, Buffer] => [f, readFileSync(join(cacheDir, f))]);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

export async function writeGradescopeZip(
  manifest: GradingManifest,
  manifestPath: string,
  out: string,
  courseRoot = KIT_ROOT,
): Promise<number> {
  const bytes = await buildGradescopeZip(manifest, manifestPath, courseRoot);
  writeFileAtomic(out, bytes);
  return bytes.length;
}
