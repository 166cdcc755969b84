// The kit: the directory a grading kernel or a trusted reference run works in (its cwd and
// HOME). Its node_modules holds only what a student's notebook may load: the reference package
// restricted to its support code and the EARLIER modules this module depends on (never the
// module being graded: its reference solution would be one import away), plus links to the
// third-party packages (vega, @stdlib, ...), and a copy of @types/node for the type checker
// without its doc comments (kit-types.ts: it makes a kernel start faster). No manifest, no
// test source, nothing of another student is ever written here.
//
// A kit is the same for every run of a module (one build of the package, one install of
// node_modules), and building one costs about 700 symlinks and the package's files: 0.03 s on
// an idle machine, but 0.6 s of CPU beside other busy processes on this kind of virtual disk,
// more than a small module's whole trusted run, paid twice per submission. So a kit is built once and kept in .tito-cache/kits under a name that hashes
// everything in it, then shared, but only where no code of a student's can write to it: by
// trusted runs, and by kernels that run as the sandbox user in a built root where the kit is
// mounted read-only. Any other kernel gets a kit of its own, as before.
import { createHash, randomBytes } from "node:crypto";
import {
  copyFileSync,
  existsSync,
  lstatSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  realpathSync,
  renameSync,
  rmSync,
  statSync,
  symlinkSync,
  utimesSync,
} from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { KIT_ROOT, SourceError, type GradingManifest } from "@tinytorch-ts/core";
import { DOC_FREE_TYPES, docFreeTypes, type TypesCopy } from "./kit-types";

export interface PackageSource {
  /** The reference package root (with package.json and dist/). */
  packageDir: string;
  /** The installed third-party packages (vega, @stdlib/..., @types/node): linked, not copied. */
  nodeModulesDir: string;
}

/**
 * A course's compiled reference package (tinytorch-ts/dist), which every kit is made from. A
 * course whose package was never compiled is refused here, before any kernel starts, saying how
 * to compile it, instead of failing every submission with a missing module.
 */
export function compiledPackageDir(courseRoot: string): string {
  const dist = join(courseRoot, "tinytorch-ts", "dist");
  if (!existsSync(join(dist, "support", "testing.js"))) {
    const how = courseRoot === KIT_ROOT
      ? "run npm run build"
      : "compile the tinytorch-ts/src that tito build wrote into tinytorch-ts/dist, as npm run build:package does for the kit's course"; // prettier-ignore
    throw new SourceError(dist, undefined, `the course's reference package is not compiled (${how})`); // prettier-ignore
  }
  return dist;
}

export function defaultPackageSource(courseRoot: string): PackageSource {
  return {
    packageDir: join(courseRoot, "tinytorch-ts"),
    nodeModulesDir: realpathSync(dirname(dirname(require.resolve("tslab/package.json")))),
  };
}

export interface KitOptions {
  /** The whole reference package, the module's own export included (the trusted full run). */
  wholePackage?: boolean;
  /** Where the doc-free copies of declaration packages are kept (kit-types.ts). */
  typesCacheDir?: string;
}

/** Where shared kits are kept (the grader's own files, like the compiled reference). */
export const KIT_CACHE_DIR = join(KIT_ROOT, ".tito-cache", "kits");
/** A shared kit nobody has used for this long is deleted when another is built. */
const KIT_MAX_IDLE_MS = 7 * 24 * 3600 * 1000;
/** Bumped when what a kit holds changes shape, so that no older kit is reused. */
const KIT_FORMAT = 2;

/** Relative requires/imports of a compiled file or declaration ("./tensor", "../core/x"). */
function relativeDeps(text: string): string[] {
  const out: string[] = [];
  const re = /(?:require\(|from\s+|import\()\s*["'](\.{1,2}\/[^"']+)["']/g;
  for (let m = re.exec(text); m; m = re.exec(text)) out.push(m[1]);
  return out;
}

/**
 * The files of dist/ a module may see: support/** and the dependency paths, closed over their
 * relative imports, minus the module's own export path. Paths are relative to dist/, without
 * extension.
 */
export function allowedPackageFiles(
  distDir: string,
  manifest: GradingManifest,
  opts: KitOptions = {},
): string[] {
  const own = opts.wholePackage ? undefined : manifest.exportPath;
  const wanted = new Set<string>();
  const queue: string[] = [];
  const add = (p: string) => {
    const norm = p.replace(/\\/g, "/").replace(/\.(js|d\.ts)$/, "");
    if (norm === own || wanted.has(norm)) return;
    wanted.add(norm);
    queue.push(norm);
  };
  const walkSupport = (dir: string) => {
    if (!existsSync(dir)) return;
    for (const e of readdirSync(dir)) {
      const p = join(dir, e);
      if (statSync(p).isDirectory()) walkSupport(p);
      else if (e.endsWith(".js")) add(relative(distDir, p));
    }
  };
  walkSupport(join(distDir, opts.wholePackage ? "" : "support"));
  for (const dep of manifest.dependencies) add(dep);
  while (queue.length > 0) {
    const p = queue.shift() as string;
    for (const ext of [".js", ".d.ts"]) {
      const file = join(distDir, p + ext);
      if (!existsSync(file)) continue;
      for (const rel of relativeDeps(readFileSync(file, "utf8"))) {
        add(relative(distDir, resolve(dirname(file), rel)));
      }
    }
  }
  return [...wanted].sort();
}

/** What a kit holds: the package files it copies and the third-party packages it links. */
interface KitPlan {
  /** [path under dist/, absolute source path] */
  files: Array<readonly [string, string]>;
  /** Package names under node_modules ("vega", "@stdlib/stats-ttest2"). */
  links: string[];
  /** Declaration packages copied without their doc comments (kit-types.ts), not linked. */
  typeCopies: TypesCopy[];
}

function planKit(manifest: GradingManifest, source: PackageSource, opts: KitOptions): KitPlan {
  const distDir = join(source.packageDir, "dist");
  const files = allowedPackageFiles(distDir, manifest, opts).flatMap((p) =>
    [".js", ".d.ts"].flatMap((ext) => {
      const from = join(distDir, p + ext);
      return existsSync(from) ? [[p + ext, from] as const] : [];
    }),
  );
  const all = thirdPartyPackages(source.nodeModulesDir);
  const typeCopies = DOC_FREE_TYPES.filter((name) => all.includes(name)).flatMap((name) => {
    const copy = docFreeTypes(source.nodeModulesDir, name, opts.typesCacheDir);
    return copy ? [copy] : [];
  });
  const copied = new Set(typeCopies.map((c) => c.name));
  return { files, links: all.filter((name) => !copied.has(name)), typeCopies };
}

/**
 * The third-party packages a kit links, by name: every one but the workspace links
 * (tinytorch-ts, tito, @tinytorch-ts/grader: the full reference package and the grader) and
 * `.bin`.
 */
function thirdPartyPackages(nodeModulesDir: string): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(nodeModulesDir).sort()) {
    if (entry.startsWith(".") || entry === "tinytorch-ts") continue;
    const src = join(nodeModulesDir, entry);
    if (lstatSync(src).isSymbolicLink()) continue;
    if (!entry.startsWith("@")) {
      out.push(entry);
      continue;
    }
    for (const inner of readdirSync(src).sort()) {
      if (!lstatSync(join(src, inner)).isSymbolicLink()) out.push(`${entry}/${inner}`);
    }
  }
  return out;
}

/** Builds a kit in `kitDir` (which must not exist yet). */
export function buildKit(
  kitDir: string,
  manifest: GradingManifest,
  source: PackageSource,
  opts: KitOptions = {},
  plan = planKit(manifest, source, opts),
): void {
  const pkgOut = join(kitDir, "node_modules", "tinytorch-ts");
  mkdirSync(join(pkgOut, "dist"), { recursive: true });
  copyFileSync(join(source.packageDir, "package.json"), join(pkgOut, "package.json"));
  for (const [path, from] of plan.files) {
    const to = join(pkgOut, "dist", path);
    mkdirSync(dirname(to), { recursive: true });
    copyFileSync(from, to);
  }
  for (const name of plan.links) {
    const to = join(kitDir, "node_modules", name);
    mkdirSync(dirname(to), { recursive: true });
    symlinkSync(join(source.nodeModulesDir, name), to, "dir");
  }
  for (const copy of plan.typeCopies) {
    for (const path of copy.files) {
      const to = join(kitDir, "node_modules", copy.name, path);
      mkdirSync(dirname(to), { recursive: true });
      copyFileSync(join(copy.dir, path), to);
    }
  }
}

/** A hash of what a kit holds, wherever it is installed: file contents and package names. */
function contentHash(plan: KitPlan, source: PackageSource): string {
  const hash = createHash("sha256");
  hash.update(readFileSync(join(source.packageDir, "package.json")));
  for (const [path, from] of plan.files) hash.update(`\n${path}\n`).update(readFileSync(from));
  hash.update(`\n${plan.links.join("\n")}`);
  for (const copy of plan.typeCopies) hash.update(`\n${copy.name}\n${copy.key}`);
  return hash.digest("hex");
}

/** A name for the kit that changes whenever anything it would hold changes. */
function kitKey(
  manifest: GradingManifest,
  source: PackageSource,
  opts: KitOptions,
  plan: KitPlan,
): string {
  // The paths too: a kit's links point into this installation's node_modules.
  const hash = createHash("sha256");
  hash.update(`${KIT_FORMAT}\n${source.packageDir}\n${source.nodeModulesDir}\n${contentHash(plan, source)}`); // prettier-ignore
  return `${manifest.module}-${opts.wholePackage ? "whole" : "restricted"}-${hash.digest("hex").slice(0, 24)}`; // prettier-ignore
}

/**
 * What a module's restricted kit holds, as a hash that does not depend on where the kit is
 * installed. It keys the compiled reference (reference-program.ts): a cell's type errors depend
 * on the package declarations it is compiled against, and a Gradescope bundle's compiled
 * programs, made in the instructor's kit, must still match in the autograder's copy.
 */
export function kitContents(manifest: GradingManifest, source: PackageSource): string {
  return contentHash(planKit(manifest, source, {}), source);
}

/** Deletes shared kits nobody has used for a week (a rebuilt package leaves its old ones). */
function pruneIdleKits(cacheDir: string, keep: string): void {
  for (const name of readdirSync(cacheDir)) {
    const dir = join(cacheDir, name);
    try {
      if (name !== keep && Date.now() - lstatSync(dir).mtimeMs > KIT_MAX_IDLE_MS) {
        rmSync(dir, { recursive: true, force: true });
      }
    } catch {
      // Another grader may be deleting it too.
    }
  }
}

/**
 * The shared kit for this module, built on first use (in a temporary directory, then renamed
 * into place, so a kit is either whole or absent, even when two graders build it at once).
 * Undefined when the cache cannot be written (a read-only kit): the caller builds its own.
 */
export function sharedKit(
  manifest: GradingManifest,
  source: PackageSource,
  opts: KitOptions & { cacheDir?: string } = {},
): string | undefined {
  const cacheDir = opts.cacheDir ?? KIT_CACHE_DIR;
  try {
    const plan = planKit(manifest, source, opts);
    const key = kitKey(manifest, source, opts, plan);
    const kitDir = join(cacheDir, key);
    if (existsSync(kitDir)) {
      const now = new Date();
      utimesSync(kitDir, now, now);
      return kitDir;
    }
    mkdirSync(cacheDir, { recursive: true });
    const building = join(cacheDir, `.${key}.${randomBytes(6).toString("hex")}`);
    try {
      buildKit(building, manifest, source, opts, plan);
      renameSync(building, kitDir);
    } catch (e) {
      rmSync(building, { recursive: true, force: true });
      // Another grader renamed its copy first: use that one.
      if (!existsSync(kitDir)) throw e;
    }
    pruneIdleKits(cacheDir, key);
    return kitDir;
  } catch {
    return undefined;
  }
}
