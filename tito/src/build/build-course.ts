// `tito build`: every module source -> student notebooks, reference package files and grading
// manifests. All modules are validated and built in memory first; if any module (or the import
// order between modules) is wrong, nothing is written and the previous outputs stay untouched.
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { findCourseRoot, SourceError, coursePath } from "@tinytorch-ts/core";
import { checkImports } from "../export/import-check";
import { renderIndex } from "../export/package-file";
import type { ReleaseTier } from "../transforms/strip-solutions";
import { cacheKey, readCached, writeCached } from "./cache";
import { listModules, type ModuleInfo } from "./discover";
import { buildModule, type ModuleResult } from "./module-build";
import { applyOutputs, diffOutputs, type OutputDiff } from "./outputs";

export interface BuildOptions {
  /** Repository root; default: found from the working directory. */
  root?: string;
  tier?: ReleaseTier;
  /** Compare with what is on disk instead of writing. */
  check?: boolean;
  /** Use the content-hash cache (default: true when writing, false for --check). */
  cache?: boolean;
}

export interface BuildReport {
  root: string;
  ok: boolean;
  errors: SourceError[];
  modules: ModuleResult[];
  /** Modules served from the cache. */
  cached: string[];
  diff: OutputDiff;
  /** In write mode: files written and removed. */
  written: string[];
  removed: string[];
}

/** Package paths under tinytorch-ts/src/support/ that modules may import ("support/testing"). */
export function supportPaths(root: string): string[] {
  const dir = coursePath(root, "support");
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((f) => f.endsWith(".ts") && !f.endsWith(".d.ts"))
    .map((f) => `support/${f.slice(0, -3)}`)
    .sort();
}

async function buildAll(
  root: string,
  infos: ModuleInfo[],
  tier: ReleaseTier,
  useCache: boolean,
): Promise<{
  results: ModuleResult[];
  fresh: { key: string; result: ModuleResult }[];
  cached: string[];
  errors: SourceError[];
}> {
  const cached: string[] = [];
  const errors: SourceError[] = [];
  const slots: (ModuleResult | undefined)[] = [];
  const todo: { at: number; info: ModuleInfo; text: string; key: string }[] = [];
  infos.forEach((info, at) => {
    const text = readFileSync(info.path, "utf8");
    const key = cacheKey(text, tier);
    const hit = useCache ? readCached(root, info.module, key) : undefined;
    slots.push(hit);
    if (hit) cached.push(info.module);
    else todo.push({ at, info, text, key });
  });
  const fresh: { key: string; result: ModuleResult }[] = [];
  const outcomes = await Promise.all(todo.map((t) => buildModule(t.info, t.text, tier)));
  outcomes.forEach((outcome, n) => {
    const t = todo[n];
    if (!t) return;
    if (!outcome.ok) errors.push(...outcome.errors);
    else {
      slots[t.at] = outcome.result;
      fresh.push({ key: t.key, result: outcome.result });
    }
  });
  const results = slots.filter((r): r is ModuleResult => r !== undefined);
  return { results, fresh, cached, errors };
}

export function expectedOutputs(results: ModuleResult[]): Map<string, string> {
  const expected = new Map<string, string>();
  for (const r of results)
    for (const [path, text] of Object.entries(r.outputs)) expected.set(path, text);
  const paths = results.flatMap((r) => r.targets);
  expected.set("tinytorch-ts/src/index.ts", renderIndex(paths));
  return expected;
}

export async function buildCourse(options: BuildOptions = {}): Promise<BuildReport> {
  const root = options.root ?? findCourseRoot();
  const tier = options.tier ?? "default";
  const check = options.check ?? false;
  const useCache = options.cache ?? !check;
  const report: BuildReport = {
    root,
    ok: false,
    errors: [],
    modules: [],
    cached: [],
    diff: { changed: [], stale: [] },
    written: [],
    removed: [],
  };
  let infos: ModuleInfo[];
  try {
    infos = listModules(root);
  } catch (e) {
    if (e instanceof SourceError) return { ...report, errors: [e] };
    throw e;
  }
  const built = await buildAll(root, infos, tier, useCache);
  report.modules = built.results;
  report.cached = built.cached;
  report.errors = built.errors;
  if (report.errors.length === 0) {
    report.errors = checkImports(built.results, supportPaths(root));
  }
  if (report.errors.length > 0) return report;

  const expected = expectedOutputs(built.results);
  report.diff = diffOutputs(root, expected);
  if (!check) {
    applyOutputs(root, expected, report.diff);
    report.written = report.diff.changed.map((c) => c.path);
    report.removed = report.diff.stale;
    // The cache is updated only after the outputs are in place.
    for (const f of built.fresh) writeCached(root, f.result.module, f.key, f.result);
  }
  report.ok = !check || (report.diff.changed.length === 0 && report.diff.stale.length === 0);
  return report;
}
