// The per-kernel directory on the host: the kit (the kernel's cwd and HOME, read-only to it),
// the mount point of its built root, its socket directory. The kit holds a node_modules with
// only what a student's notebook may load: the reference package restricted to its support code
// and the EARLIER modules this module depends on (never the module being graded: its reference
// solution would be one import away), plus links to the third-party packages (@types/node for
// the type checker, vega, @stdlib, ...). No manifest, no test source, nothing of another student
// is ever written here.
import { randomBytes } from "node:crypto";
import {
  chmodSync,
  chownSync,
  copyFileSync,
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  realpathSync,
  rmSync,
  statSync,
  symlinkSync,
} from "node:fs";
import { rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join, relative, resolve } from "node:path";
import { runProcess, type GradingManifest } from "@tinytorch-ts/core";

export interface PackageSource {
  /** The reference package root (with package.json and dist/). */
  packageDir: string;
  /** The installed third-party packages (vega, @stdlib/..., @types/node): linked, not copied. */
  nodeModulesDir: string;
}

export function defaultPackageSource(repoRoot: string): PackageSource {
  return {
    packageDir: join(repoRoot, "tinytorch-ts"),
    nodeModulesDir: realpathSync(dirname(dirname(require.resolve("tslab/package.json")))),
  };
}

/**
 * Links every third-party package into the scratch node_modules (the reference package and the
 * modules use vega, @stdlib and others), but not the workspace links (tinytorch-ts, tito,
 * @tinytorch-ts/grader: the full reference package and the grader) and not `.bin`.
 */
function linkThirdParty(from: string, to: string): void {
  for (const entry of readdirSync(from)) {
    if (entry.startsWith(".") || entry === "tinytorch-ts") continue;
    const src = join(from, entry);
    if (lstatSync(src).isSymbolicLink()) continue;
    if (entry.startsWith("@")) {
      mkdirSync(join(to, entry), { recursive: true });
      for (const inner of readdirSync(src)) {
        const innerSrc = join(src, inner);
        if (!lstatSync(innerSrc).isSymbolicLink()) symlinkSync(innerSrc, join(to, entry, inner), "dir"); // prettier-ignore
      }
    } else {
      symlinkSync(src, join(to, entry), "dir");
    }
  }
}

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
  opts: { wholePackage?: boolean } = {},
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

export interface Scratch {
  root: string;
  /** This kernel's own directory on the host (0711, root's): everything below is its. */
  dir: string;
  /** The kit: restricted package and third-party links. Root's and read-only to the kernel. */
  kitDir: string;
  /** The empty mount point of the kernel's built root (namespace mode). */
  rootMount: string;
  /** The kernel's socket directory (writable by it only until its handshake is done). */
  socketDir: string;
  /** The kernel's TMPDIR when it has no tmpfs of its own (no mount namespace). */
  hostTmpDir: string;
  /** Deletes the directory, asynchronously; never rejects. */
  remove(): Promise<void>;
}

/** A directory for all the scratch dirs of one run: traversable, not listable, by others. */
export function makeScratchRoot(parent = tmpdir()): string {
  const root = mkdtempSync(join(parent, "tito-grade-"));
  chmodSync(root, 0o711);
  return root;
}

/**
 * How long rm(1) may take. A scratch tree is small (a 64 MiB tmpfs, or a few thousand files),
 * so this only ends an rm stuck on a dying file system instead of a grading run.
 */
const RM_TIMEOUT_MS = 120_000;

/**
 * Deletes a tree without blocking the event loop and without throwing, whatever is in it:
 * Node's recursive rm first; if it fails (paths longer than PATH_MAX, ENAMETOOLONG), GNU rm,
 * which walks with openat and has no path-length limit. What cannot be deleted is left and
 * reported to `onProblem`, never thrown.
 */
export async function removeQuietly(
  path: string,
  onProblem?: (why: string) => void,
): Promise<void> {
  try {
    await rm(path, { recursive: true, force: true, maxRetries: 2 });
    return;
  } catch {
    // Fall through to rm(1).
  }
  const gnuRm = await runProcess("rm", ["-rf", "--one-file-system", "--", path], {
    timeoutMs: RM_TIMEOUT_MS,
  });
  if (gnuRm.timedOut) {
    onProblem?.(`could not delete ${path} (rm did not finish in ${RM_TIMEOUT_MS / 1000} s)`);
  } else if (gnuRm.code !== 0) {
    onProblem?.(`could not delete ${path} (rm exited ${gnuRm.code ?? "unstarted"})`);
  }
}

export function makeScratch(
  root: string,
  manifest: GradingManifest,
  source: PackageSource,
  owner?: { uid: number; gid: number },
  opts: { wholePackage?: boolean } = {},
): Scratch {
  // An unguessable name: even without a mount namespace, another kernel cannot find it.
  const dir = join(root, randomBytes(12).toString("hex"));
  mkdirSync(dir, { mode: 0o711 });
  const distDir = join(source.packageDir, "dist");
  if (!existsSync(join(distDir, "support", "testing.js"))) {
    rmSync(dir, { recursive: true, force: true });
    throw new Error(`the reference package is not built (${distDir}); run npm run build`);
  }
  // The kit is the kernel's cwd: it holds nothing the kernel can write, so no file a student
  // makes can sit where a kit module is looked up (tslab's side modules are looked up relative
  // to the cwd, and Node's node_modules walk starts there).
  const kitDir = join(dir, "kit");
  const pkgOut = join(kitDir, "node_modules", "tinytorch-ts");
  mkdirSync(join(pkgOut, "dist"), { recursive: true });
  copyFileSync(join(source.packageDir, "package.json"), join(pkgOut, "package.json"));
  for (const p of allowedPackageFiles(distDir, manifest, opts)) {
    for (const ext of [".js", ".d.ts"]) {
      const from = join(distDir, p + ext);
      if (!existsSync(from)) continue;
      const to = join(pkgOut, "dist", p + ext);
      mkdirSync(dirname(to), { recursive: true });
      copyFileSync(from, to);
    }
  }
  linkThirdParty(source.nodeModulesDir, join(kitDir, "node_modules"));
  const rootMount = join(dir, "root");
  mkdirSync(rootMount, { mode: 0o700 });
  const socketDir = join(dir, "sock");
  mkdirSync(socketDir, { mode: 0o700 });
  const hostTmpDir = join(dir, "tmp");
  mkdirSync(hostTmpDir, { mode: 0o700 });
  if (owner) {
    chownSync(socketDir, owner.uid, owner.gid);
    chownSync(hostTmpDir, owner.uid, owner.gid);
  }
  return {
    root,
    dir,
    kitDir,
    rootMount,
    socketDir,
    hostTmpDir,
    remove: () => removeQuietly(dir),
  };
}

/**
 * Once the kernel has bound its sockets, its socket directory becomes root's: the kernel
 * cannot create anything there (it is the only host directory it could write to).
 */
export function lockSocketDir(socketDir: string): void {
  const lock = (p: string) => {
    chownSync(p, 0, 0);
    chmodSync(p, 0o755);
  };
  lock(socketDir);
  for (const e of readdirSync(socketDir, { withFileTypes: true })) {
    if (e.isDirectory()) lock(join(socketDir, e.name));
  }
}
