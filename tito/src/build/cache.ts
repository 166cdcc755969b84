// The build cache (.tito-cache/build/, git-ignored): each module's full result, keyed by a hash
// of its source text, the release tier and the kit's own build code. A module whose key matches
// is not parsed, transformed, exported or formatted again, which keeps a no-change rebuild fast.
// The key includes the kit's code so that changing a transform can never serve stale output.
import { createHash } from "node:crypto";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { writeFileAtomic } from "@tinytorch-ts/core";
import type { ModuleResult } from "./module-build";

const CACHE_VERSION = 1;
/** The code that decides build output: tito's build side and the core's notebook format. */
const KIT_DIRS: [label: string, dir: string][] = [
  ["notebook", dirname(require.resolve("@tinytorch-ts/core/notebook"))],
  ["core", dirname(require.resolve("@tinytorch-ts/core"))],
  ["transforms", join(__dirname, "..", "transforms")],
  ["export", join(__dirname, "..", "export")],
  ["build", __dirname],
];
let kitHashMemo: string | undefined;

/** Hash of the code that decides build output, plus the tools whose output we embed. */
export function kitHash(): string {
  if (kitHashMemo) return kitHashMemo;
  const h = createHash("sha256").update(`v${CACHE_VERSION}\n`);
  const src = join(__dirname, "..");
  for (const [label, abs] of KIT_DIRS) {
    if (!existsSync(abs)) continue;
    for (const f of readdirSync(abs).sort()) {
      if (!f.endsWith(".ts")) continue;
      h.update(`${label}/${f}\n`)
        .update(readFileSync(join(abs, f)))
        .update("\n");
    }
  }
  const kitRoot = join(src, "..", "..");
  for (const extra of ["node_modules/typescript/package.json"]) {
    const p = join(kitRoot, extra);
    if (existsSync(p)) h.update(extra).update(readFileSync(p));
  }
  kitHashMemo = h.digest("hex");
  return kitHashMemo;
}

export function cacheKey(sourceText: string, tier: string): string {
  return createHash("sha256")
    .update(kitHash())
    .update(`\0${tier}\0`)
    .update(sourceText)
    .digest("hex");
}

function cacheFile(root: string, module: string): string {
  return join(root, ".tito-cache", "build", `${module}.json`);
}

export function readCached(root: string, module: string, key: string): ModuleResult | undefined {
  try {
    const entry = JSON.parse(readFileSync(cacheFile(root, module), "utf8")) as {
      key?: string;
      result?: ModuleResult;
    };
    return entry.key === key ? entry.result : undefined;
  } catch {
    return undefined; // missing or corrupt cache: just rebuild
  }
}

export function writeCached(root: string, module: string, key: string, result: ModuleResult): void {
  writeFileAtomic(cacheFile(root, module), JSON.stringify({ key, result }));
}
