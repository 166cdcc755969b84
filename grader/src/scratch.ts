// The per-kernel (or per trusted run) directory on the host: the mount point of its built root,
// its socket directory, its TMPDIR, and the kit it works in (kit.ts: the kernel's cwd and HOME,
// read-only to it; shared between runs where no student code can write to it).
import { randomBytes } from "node:crypto";
import {
  chmodSync,
  chownSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  rmSync,
} from "node:fs";
import { rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { runProcess, type GradingManifest } from "@tinytorch-ts/core";
import { buildKit, sharedKit, type KitOptions, type PackageSource } from "./kit";

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

/**
 * A scratch directory for one kernel or one trusted run. `shareKit` uses the shared kit of the
 * module (kit.ts); a caller may ask for it only where no student code can write to the kit.
 */
export function makeScratch(
  root: string,
  manifest: GradingManifest,
  source: PackageSource,
  owner?: { uid: number; gid: number },
  opts: KitOptions & { shareKit?: boolean; cacheDir?: string } = {},
): Scratch {
  const distDir = join(source.packageDir, "dist");
  if (!existsSync(join(distDir, "support", "testing.js"))) {
    throw new Error(`the reference package is not built (${distDir}); run npm run build`);
  }
  // An unguessable name: even without a mount namespace, another kernel cannot find it.
  const dir = join(root, randomBytes(12).toString("hex"));
  mkdirSync(dir, { mode: 0o711 });
  // The kit is the kernel's cwd: it holds nothing the kernel can write, so no file a student
  // makes can sit where a kit module is looked up (tslab's side modules are looked up relative
  // to the cwd, and Node's node_modules walk starts there).
  let kitDir = opts.shareKit ? sharedKit(manifest, source, opts) : undefined;
  if (kitDir === undefined) {
    kitDir = join(dir, "kit");
    try {
      buildKit(kitDir, manifest, source, opts);
    } catch (e) {
      rmSync(dir, { recursive: true, force: true });
      throw e;
    }
  }
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
