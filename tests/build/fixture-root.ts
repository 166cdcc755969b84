// A throwaway course tree for build/release tests: the two fixture modules under
// tests/fixtures/build/modules plus the kit's hand-written support code, in a temp directory.
import { cpSync, mkdtempSync, readdirSync, readFileSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { KIT_ROOT } from "@tinytorch-ts/core";

/** The kit's root (core's KIT_ROOT), under the name the build and release tests use. */
export const KIT = KIT_ROOT;

export function makeFixtureRoot(prefix = "tito-build-"): string {
  const root = mkdtempSync(join(tmpdir(), prefix));
  cpSync(join(KIT, "tests", "fixtures", "build", "modules"), join(root, "modules"), {
    recursive: true,
  });
  cpSync(
    join(KIT, "tinytorch-ts", "src", "support"),
    join(root, "tinytorch-ts", "src", "support"),
    {
      recursive: true,
    },
  );
  return root;
}

/** Every file under `dir` (relative path -> content), skipping the build cache. */
export function snapshotTree(dir: string): Map<string, string> {
  const out = new Map<string, string>();
  const visit = (d: string) => {
    for (const entry of readdirSync(d).sort()) {
      if (entry === ".tito-cache") continue;
      const p = join(d, entry);
      if (statSync(p).isDirectory()) visit(p);
      else out.set(relative(dir, p), readFileSync(p, "utf8"));
    }
  };
  visit(dir);
  return out;
}
