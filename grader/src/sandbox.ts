// How a grading kernel is confined. As root (CI, Gradescope) the kernel gets:
// - a root file system BUILT for it, not the host's with parts covered: a small read-only tmpfs
//   holding /usr (and the merged-usr links), five device nodes, its own /proc, the kit directory
//   (/kit: the restricted reference package and links to the third-party packages, read-only;
//   its cwd and HOME), the packages it runs on at their host paths (read-only), its socket
//   directory, and /tmp: a private tmpfs capped in bytes and inodes. pivot_root makes that the
//   only tree it has: no repository, no other checkout, no host /tmp, no /run/lock, no /dev/shm;
// - its own network namespace (no network; the grader reaches it over Unix sockets);
// - its own PID namespace whose init is a root shell that dies with the grader (--kill-child
//   under a parent-death signal), so the whole tree goes when the grader does;
// - RLIMIT_FSIZE (one file cannot outgrow the scratch cap) and RLIMIT_CPU (a backstop);
// - the sandbox user: the kernel starts as root in its namespaces and drops to `tito-sandbox`
//   itself (kernel-drop.cjs) before tslab loads. A process that changes its own uid becomes
//   non-dumpable, so /proc/self/mem and its relatives are root's: student code cannot read the
//   compiled tests out of its own memory.
// Without root the same namespaces are tried inside a user namespace (`unshare --user
// --map-root-user`); TITO_SANDBOX=no-namespaces keeps only the user drop and the rlimits (see
// docs/grading.md for what that mode does not protect); `isolation` says what was in force.
import { lstatSync, readlinkSync, realpathSync, statSync } from "node:fs";
import { dirname, join, resolve, sep } from "node:path";
import { runProcessSync } from "@tinytorch-ts/core";

export const SANDBOX_USER = "tito-sandbox";

/** Where the kit directory appears inside the built root (the kernel's cwd and HOME). */
export const KIT_MOUNT = "/kit";

/**
 * The kernel's only writable space, a tmpfs in its own mount namespace (it vanishes with the
 * kernel, so cleanup costs nothing). 64 MiB is over a thousand times what the kit's modules
 * write (benchmark reports, charts, plugin packages: kilobytes), and bounds the RAM a tmpfs can
 * pin per kernel. 4096 inodes is ample for tens of files and keeps any walk over the scratch
 * cheap (a student making millions of empty files hits ENOSPC instead).
 */
export const SCRATCH_BYTES = 64 * 1024 * 1024;
export const SCRATCH_INODES = 4096;

export interface SandboxConfig {
  /** An empty host directory: the mount point of the kernel's new root (namespace mode). */
  rootMount: string;
  /** The host kit directory, bound read-only at KIT_MOUNT. */
  kitDir: string;
  /** Host paths the kernel reaches at the same path, read-only (node_modules, preload files). */
  readOnly: string[];
  /** Host directories the kernel reaches at the same path, writable (its socket directory). */
  writable: string[];
  /** The kernel's scratch on the host, when there is no mount namespace to give it a tmpfs. */
  hostTmpDir: string;
  /** RLIMIT_CPU in seconds (a backstop against a kernel nobody waits for any more). */
  cpuSeconds: number;
}

export interface SandboxPlan {
  commandPrefix: string[];
  /** The user the kernel drops to (it starts as root and drops itself). */
  owner?: { uid: number; gid: number };
  /** The kernel's HOME/cwd and TMPDIR as the kernel sees them. */
  home: string;
  tmpDir: string;
  /** True in TITO_SANDBOX=no-namespaces mode (one kernel at a time). */
  noNamespaces: boolean;
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
  return runProcessSync(cmd, args, { timeoutMs: 10_000 }).code === 0;
}

/** Creates the sandbox user when missing (root only); returns its ids. */
export function ensureSandboxUser(name = SANDBOX_USER): { uid: number; gid: number } | undefined {
  const id = (flag: "-u" | "-g") => {
    const r = runProcessSync("id", [flag, name], { timeoutMs: 10_000 });
    const n = Number(r.stdout.trim());
    return r.code === 0 && Number.isInteger(n) ? n : undefined;
  };
  const lookup = () => {
    const uid = id("-u");
    const gid = uid === undefined ? undefined : id("-g");
    return uid !== undefined && gid !== undefined ? { uid, gid } : undefined;
  };
  const found = lookup();
  if (found) return found;
  // --system: no aging, a uid below 1000; no home, no login shell.
  runProcessSync(
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
    { timeoutMs: 30_000 },
  );
  return lookup();
}

/**
 * What this machine allows, probed once per process. TITO_SANDBOX=off disables it all;
 * TITO_SANDBOX=no-namespaces keeps only the user drop and the rlimits.
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

/**
 * Whether a kernel may work in the module's shared kit (kit.ts): only where it can neither write
 * to it nor see where it is kept, that is as the sandbox user (root drops to it) in a built root
 * that mounts the kit read-only. Without a mount namespace the kit's host path is in reach, and
 * with the sandbox off the kernel is the grader's own user.
 */
export function kernelMayShareKit(caps: SandboxCapabilities | undefined): boolean {
  return caps?.user !== undefined && caps.unshareFlags.includes("--mount");
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

/** The host's system directories, as they are (a real directory, or a merged-usr link). */
const SYSTEM_ENTRIES = ["usr", "bin", "sbin", "lib", "lib64", "lib32", "libx32"];
/** Device nodes a Node process uses; nothing else of /dev. */
const DEVICES = ["null", "zero", "full", "random", "urandom"];

/** The directory holding the Node runtime when it is not under /usr (setup-node, nvm). */
function nodePrefix(): string | undefined {
  const bin = dirname(realpathSync(process.execPath));
  const prefix = dirname(bin);
  return isUnder(prefix, "/usr") ? undefined : prefix;
}

/**
 * The shell script run as (namespace) root inside the new namespaces: build the root, switch
 * to it, and start the kernel command given as "$@" as a child, staying as the namespace's
 * init (a root process whose death tears the namespace down: see the header).
 */
export function mountScript(cfg: SandboxConfig): string {
  const R = quote(cfg.rootMount);
  const at = (p: string) => quote(join(cfg.rootMount, p));
  const lines = [
    "set -e",
    // The root itself is tiny and read-only once built: nothing can be written outside /tmp.
    `mount -t tmpfs -o size=4m,nr_inodes=1024,mode=0755,nosuid,nodev tito-root ${R}`,
  ];
  const bindRo = (host: string) => {
    const file = !statSync(host).isDirectory();
    lines.push(
      file ? `mkdir -p ${at(dirname(host))} && touch ${at(host)}` : `mkdir -p ${at(host)}`,
    );
    lines.push(`mount --bind ${quote(host)} ${at(host)}`);
    lines.push(`mount -o remount,bind,ro,nosuid,nodev ${at(host)}`);
  };
  for (const name of SYSTEM_ENTRIES) {
    const host = `/${name}`;
    let st;
    try {
      st = lstatSync(host);
    } catch {
      continue;
    }
    if (st.isSymbolicLink()) lines.push(`ln -s ${quote(readlinkSync(host))} ${at(host)}`);
    else if (st.isDirectory()) bindRo(host);
  }
  const prefix = nodePrefix();
  if (prefix) bindRo(prefix);
  lines.push(`mkdir ${at("/dev")}`);
  for (const d of DEVICES) {
    lines.push(`touch ${at(`/dev/${d}`)} && mount --bind /dev/${d} ${at(`/dev/${d}`)}`);
  }
  lines.push(`ln -s /proc/self/fd ${at("/dev/fd")}`);
  lines.push(`mkdir ${at("/proc")} && mount -t proc -o nosuid,nodev,noexec proc ${at("/proc")}`);
  lines.push(
    `mkdir ${at("/tmp")} && mount -t tmpfs -o size=${SCRATCH_BYTES},nr_inodes=${SCRATCH_INODES},mode=1777,nosuid,nodev tito-scratch ${at("/tmp")}`,
  );
  lines.push(`mkdir ${at(KIT_MOUNT)}`);
  lines.push(`mount --bind ${quote(cfg.kitDir)} ${at(KIT_MOUNT)}`);
  lines.push(`mount -o remount,bind,ro,nosuid,nodev ${at(KIT_MOUNT)}`);
  for (const p of [...new Set(cfg.readOnly.map((x) => realpathSync(x)))].sort()) bindRo(p);
  for (const p of cfg.writable) {
    lines.push(`mkdir -p ${at(p)} && mount --bind ${quote(p)} ${at(p)}`);
  }
  lines.push(`mount -o remount,ro,nosuid,nodev ${R}`);
  // `pivot_root . .` stacks the old root on the new one; the lazy unmount then detaches it, so
  // no path (not even through /proc/<pid>/root) leads back to the host's tree.
  lines.push(`cd ${R}`, "pivot_root . .", "umount -l .", `cd ${KIT_MOUNT}`);
  // The init ignores the interrupt the grader sends the kernel's process group (a shell that
  // died of it would take the kernel along); Node resets ignored signals when it starts, so
  // the kernel still gets it. SIGKILL, which cannot be ignored, tears the namespace down.
  lines.push("trap '' INT TERM HUP QUIT");
  lines.push(`prlimit --fsize=${SCRATCH_BYTES} --cpu=${cfg.cpuSeconds} -- "$@" &`, "wait $!");
  return lines.join("\n");
}

/**
 * Files and directories every kernel needs at their host paths (read-only), and the V8 code
 * cache of tslab's TypeScript when the kernel gets one (kernel-session.ts).
 */
export function kernelRuntimePaths(codeCache?: string): string[] {
  const tslab = dirname(require.resolve("tslab/package.json"));
  const nodeModules = dirname(tslab);
  const kernelPreload = require.resolve("@tinytorch-ts/core/kernel/kernel-preload.cjs");
  return [nodeModules, kernelPreload, KERNEL_DROP_FILE, ...(codeCache ? [codeCache] : [])];
}

/** Loaded first in the kernel (NODE_OPTIONS --require): drops root for the sandbox user. */
export const KERNEL_DROP_FILE = resolve(__dirname, "kernel-drop.cjs");

/** The environment that tells kernel-drop.cjs whom to become. */
export function dropEnvironment(owner: { uid: number; gid: number }): Record<string, string> {
  return {
    NODE_OPTIONS: `--require ${JSON.stringify(KERNEL_DROP_FILE)}`,
    TITO_KERNEL_USER: `${owner.uid}:${owner.gid}`,
  };
}

export function planSandbox(cfg: SandboxConfig): SandboxPlan {
  const caps = sandboxCapabilities();
  const isolation: string[] = [];
  // The kernel's tree dies with the grader: a parent-death signal on the outermost wrapper.
  const deathSignal = ["setpriv", "--pdeathsig", "SIGKILL", "--"];
  const limits = ["prlimit", `--fsize=${SCRATCH_BYTES}`, `--cpu=${cfg.cpuSeconds}`, "--"];
  if (caps.unshareFlags.length === 0) {
    // Docker without CAP_SYS_ADMIN (Gradescope's default): no namespaces. As root the kernel
    // still drops to the sandbox user itself (so it is non-dumpable); hidden files are then
    // protected only by their permissions, and kernels share /proc, /tmp and the disk, so
    // only one runs at a time.
    const base = { home: cfg.kitDir, tmpDir: cfg.hostTmpDir, noNamespaces: true };
    if (caps.root && caps.user) {
      const { uid } = caps.user;
      isolation.push(`unprivileged user ${SANDBOX_USER} (uid ${uid}), dropped by the kernel itself; no namespaces: secrets protected by file permissions only, one kernel at a time`); // prettier-ignore
      return { ...base, commandPrefix: [...limits, "setpriv", "--no-new-privs", "--"], owner: caps.user, isolation }; // prettier-ignore
    }
    isolation.push("no namespaces available: rlimits and in-kernel protections only");
    return { ...base, commandPrefix: limits, isolation };
  }
  const owner = caps.root ? caps.user : undefined;
  const hasMount = caps.unshareFlags.includes("--mount");
  const script = hasMount ? mountScript(cfg) : `${limits.map(quote).join(" ")} "$@"`;
  const prefix = [...deathSignal, "unshare", ...caps.unshareFlags, "--", "sh", "-c", script, "tito-sandbox"]; // prettier-ignore
  if (hasMount) {
    isolation.push(`built root: only the kit (read-only) and a private /tmp (${SCRATCH_BYTES / 1048576} MiB, ${SCRATCH_INODES} inodes)`); // prettier-ignore
  }
  if (caps.unshareFlags.includes("--net")) isolation.push("no network");
  if (caps.unshareFlags.includes("--pid")) isolation.push("own process namespace");
  if (owner)
    isolation.push(`unprivileged user ${SANDBOX_USER} (uid ${owner.uid}), non-dumpable`); // prettier-ignore
  else if (caps.userNamespace)
    isolation.push("user namespace (not root: the kernel keeps the grader's uid)");
  const where = hasMount
    ? { home: KIT_MOUNT, tmpDir: "/tmp" }
    : { home: cfg.kitDir, tmpDir: cfg.hostTmpDir };
  return { commandPrefix: prefix, ...(owner ? { owner } : {}), ...where, noNamespaces: false, isolation }; // prettier-ignore
}
