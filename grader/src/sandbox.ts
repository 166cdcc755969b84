// How a grading kernel is confined. As root (CI, Gradescope) the kernel gets:
// - its own mount namespace, where the repository (module sources, manifests, the full
//   reference package), /tmp (other submissions' scratch dirs), /dev/shm and every extra path
//   the caller names (submissions, output) are covered by empty tmpfs mounts, with only the
//   packages the kernel runs on (node_modules, read-only) and its own scratch dir put back;
// - its own network namespace (no network; the grader reaches it over Unix sockets);
// - its own PID namespace (it cannot see or signal other kernels, and anything it forks dies
//   with it);
// - an unprivileged user (`tito-sandbox`), no supplementary groups, no_new_privs;
// - the kernel client's rlimits: address space / data (memory), process count.
// Without root the same namespaces are tried inside a user namespace (`unshare --user
// --map-root-user`), which most Linux systems allow; where even that is refused, only the
// rlimits and the in-kernel preamble remain, and `isolation` says so.
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, realpathSync, statSync } from "node:fs";
import { dirname, resolve, sep } from "node:path";

export const SANDBOX_USER = "tito-sandbox";

export interface SandboxConfig {
  /** The submission's scratch directory (the kernel's cwd and HOME). */
  scratchDir: string;
  /** Paths the kernel must not see (repository, manifests, submissions, output...). */
  hide: string[];
  /** Paths under a hidden one that the kernel needs (node_modules, the kernel preload). */
  keep: string[];
}

export interface SandboxPlan {
  commandPrefix: string[];
  owner?: { uid: number; gid: number };
  /** Human-readable list of the layers in force, for the report. */
  isolation: string[];
}

export interface SandboxCapabilities {
  root: boolean;
  user?: { uid: number; gid: number };
  /** unshare flags that work here (empty when none do). */
  unshareFlags: string[];
  /** True when the namespaces are made inside a user namespace (not root). */
  userNamespace: boolean;
}

let capabilities: SandboxCapabilities | undefined;

function works(cmd: string, args: string[]): boolean {
  const r = spawnSync(cmd, args, { stdio: "ignore", timeout: 10_000 });
  return r.status === 0;
}

/** Creates the sandbox user when missing (root only); returns its ids. */
export function ensureSandboxUser(name = SANDBOX_USER): { uid: number; gid: number } | undefined {
  const lookup = () => {
    try {
      const opts = {
        encoding: "utf8" as const,
        stdio: ["ignore", "pipe", "ignore"] as ["ignore", "pipe", "ignore"],
      };
      const uid = Number(execFileSync("id", ["-u", name], opts).trim());
      const gid = Number(execFileSync("id", ["-g", name], opts).trim());
      return Number.isInteger(uid) && Number.isInteger(gid) ? { uid, gid } : undefined;
    } catch {
      return undefined;
    }
  };
  const found = lookup();
  if (found) return found;
  // --system: no aging, a uid below 1000; no home, no login shell.
  spawnSync(
    "useradd",
    [
      "--system",
      "--no-create-home",
      "--home-dir",
      "/nonexistent",
      "--shell",
      "/usr/sbin/nologin",
      name,
    ],
    { stdio: "ignore", timeout: 30_000 },
  );
  return lookup();
}

/**
 * What this machine allows, probed once per process. TITO_SANDBOX=off disables it all;
 * TITO_SANDBOX=no-namespaces keeps only the user switch (as in a locked-down container).
 */
export function sandboxCapabilities(): SandboxCapabilities {
  if (capabilities) return capabilities;
  const root = typeof process.getuid === "function" && process.getuid() === 0;
  const off = process.env.TITO_SANDBOX === "off";
  // "no-namespaces" imitates a container without CAP_SYS_ADMIN (tests of that path).
  const noNamespaces = off || process.env.TITO_SANDBOX === "no-namespaces";
  const full = ["--mount", "--net", "--pid", "--fork", "--kill-child", "--mount-proc"];
  let unshareFlags: string[] = [];
  let userNamespace = false;
  if (noNamespaces) unshareFlags = [];
  else if (root && works("unshare", [...full, "true"])) unshareFlags = full;
  else if (works("unshare", ["--user", "--map-root-user", ...full, "true"])) {
    unshareFlags = ["--user", "--map-root-user", ...full];
    userNamespace = true;
  } else if (works("unshare", ["--user", "--map-root-user", "--net", "true"])) {
    unshareFlags = ["--user", "--map-root-user", "--net"];
    userNamespace = true;
  }
  const user = root && !off ? ensureSandboxUser() : undefined;
  capabilities = { root, unshareFlags, userNamespace, ...(user ? { user } : {}) };
  return capabilities;
}

/** For tests: forget the probe (e.g. after changing TITO_SANDBOX). */
export function resetSandboxProbe(): void {
  capabilities = undefined;
}

function quote(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

function isUnder(path: string, dir: string): boolean {
  return path === dir || path.startsWith(dir.endsWith(sep) ? dir : dir + sep);
}

function real(path: string): string | undefined {
  try {
    return realpathSync(resolve(path));
  } catch {
    return undefined;
  }
}

/**
 * The shell script run as (namespace) root inside the new namespaces: hide, put back, drop
 * privileges, exec the kernel command given as "$@".
 */
export function mountScript(
  cfg: SandboxConfig,
  owner?: { uid: number; gid: number },
  mounts = true,
): string {
  // A file (a single submitted notebook) is hidden with the directory that holds it.
  const asDir = (p: string) => (statSync(p).isDirectory() ? p : dirname(p));
  const found = (mounts ? cfg.hide : []).map(real).filter((p): p is string => p !== undefined);
  const hides = [...new Set(found.map(asDir))].filter((p) => p !== "/").sort();
  // An inner path is hidden with its parent already.
  const outer = hides.filter((p) => !hides.some((q) => q !== p && isUnder(p, q)));
  const scratch = real(cfg.scratchDir) ?? resolve(cfg.scratchDir);
  const keeps = [...new Set([...cfg.keep.map(real), scratch])]
    .filter((p): p is string => p !== undefined)
    .filter((p) => outer.some((h) => isUnder(p, h)));
  const lines = ["set -e"];
  // Open what we put back before covering it: a bind from /proc/self/fd/N reaches the directory
  // itself, not the (by then covered) path.
  keeps.forEach((k, i) => lines.push(`exec ${i + 3}<${quote(k)}`));
  for (const h of outer) {
    const mode = h === "/tmp" || h === "/var/tmp" || h === "/dev/shm" ? "1777" : "0755";
    lines.push(`mount -t tmpfs -o mode=${mode},size=64m,nosuid,nodev tito-hidden ${quote(h)}`);
  }
  keeps.forEach((k, i) => {
    lines.push(`mkdir -p ${quote(k)}`);
    lines.push(`mount --no-canonicalize --bind /proc/self/fd/${i + 3} ${quote(k)}`);
    if (k !== scratch) lines.push(`mount -o remount,bind,ro,nosuid,nodev ${quote(k)}`);
  });
  keeps.forEach((_k, i) => lines.push(`exec ${i + 3}<&-`));
  lines.push(`cd ${quote(scratch)}`);
  if (owner) {
    lines.push(
      `exec setpriv --reuid=${owner.uid} --regid=${owner.gid} --clear-groups --no-new-privs -- "$@"`,
    );
  } else {
    lines.push('exec "$@"');
  }
  return lines.join("\n");
}

/** Directories every kernel needs even when their parents are hidden. */
export function kernelRuntimePaths(): string[] {
  const tslab = dirname(require.resolve("tslab/package.json"));
  const nodeModules = dirname(tslab);
  const kernelDir = dirname(require.resolve("@tinytorch-ts/core/kernel/kernel-preload.cjs"));
  return [nodeModules, kernelDir];
}

export function planSandbox(cfg: SandboxConfig): SandboxPlan {
  const caps = sandboxCapabilities();
  const isolation: string[] = [];
  if (caps.unshareFlags.length === 0) {
    // Docker without CAP_SYS_ADMIN (Gradescope's default): no namespaces, but as root we can
    // still run the kernel as the sandbox user; hidden files are then protected only by their
    // permissions (the Gradescope runner makes its secrets root-only before grading).
    if (caps.root && caps.user) {
      const { uid, gid } = caps.user;
      isolation.push(`unprivileged user ${SANDBOX_USER} (uid ${uid}); no namespaces: secrets protected by file permissions only`); // prettier-ignore
      return {
        commandPrefix: ["setpriv", `--reuid=${uid}`, `--regid=${gid}`, "--clear-groups", "--no-new-privs", "--"], // prettier-ignore
        owner: caps.user,
        isolation,
      };
    }
    isolation.push("no namespaces available: rlimits and in-kernel protections only");
    return { commandPrefix: [], isolation };
  }
  const owner = caps.root ? caps.user : undefined;
  const prefix = ["unshare", ...caps.unshareFlags, "--", "sh", "-c", mountScript(cfg, owner, caps.unshareFlags.includes("--mount")), "tito-sandbox"]; // prettier-ignore
  if (caps.unshareFlags.includes("--mount"))
    isolation.push("private mounts (sources, manifests and other submissions hidden)");
  if (caps.unshareFlags.includes("--net")) isolation.push("no network");
  if (caps.unshareFlags.includes("--pid")) isolation.push("own process namespace");
  if (owner) isolation.push(`unprivileged user ${SANDBOX_USER} (uid ${owner.uid})`);
  else if (caps.userNamespace)
    isolation.push("user namespace (not root: the kernel keeps the grader's uid)");
  return owner ? { commandPrefix: prefix, owner, isolation } : { commandPrefix: prefix, isolation };
}

export function sandboxAvailable(): boolean {
  return existsSync("/proc/self") && sandboxCapabilities().unshareFlags.length > 0;
}
