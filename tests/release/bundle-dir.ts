// Release tests write bundles under tests/artifacts/ (git-ignored) rather than /tmp: a bundle's
// tito and package resolve tsx, tslab and vega from the kit's node_modules above it, as they
// would from the student's own node_modules after `npm install`.
import { mkdirSync, mkdtempSync } from "node:fs";
import { join } from "node:path";

export function artifactDir(prefix: string): string {
  const base = join(__dirname, "..", "artifacts");
  mkdirSync(base, { recursive: true });
  return mkdtempSync(join(base, prefix));
}
