// The student bundle's package-lock.json, cut from the kit's own: the same resolved versions,
// tarball URLs and integrity hashes, pruned to what the bundle's dependencies reach. A bundle
// that ships it installs with `npm ci` from the registry alone, exactly the versions the kit was
// tested with (the kit's `overrides` included: they are already resolved in the kit's lock).
// Pure and deterministic: no npm run, no network, no cache; the same inputs give the same bytes.

interface LockEntry {
  version?: string;
  resolved?: string;
  link?: boolean;
  dependencies?: Record<string, string>;
  optionalDependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
  peerDependenciesMeta?: Record<string, { optional?: boolean }>;
  [field: string]: unknown;
}

export interface Lockfile {
  name?: string;
  version?: string;
  lockfileVersion: number;
  requires?: boolean;
  packages: Record<string, LockEntry>;
}

export interface BundlePackageJson {
  name: string;
  version: string;
  workspaces: string[];
  dependencies: Record<string, string>;
  [field: string]: unknown;
}

/** Flags npm derives from the dependency graph; recomputed for the bundle's own graph. */
const GRAPH_FLAGS = ["dev", "optional", "devOptional", "peer"];

/** The package folder that contains `path` (one `node_modules/` level up), "" at the top. */
function parentOf(path: string): string | undefined {
  if (path === "") return undefined;
  const cut = path.lastIndexOf("/node_modules/");
  return cut < 0 ? "" : path.slice(0, cut);
}

/** Node's resolution: the nearest `node_modules/<name>` from `from` upwards. */
function resolveIn(lock: Lockfile, from: string, name: string): string | undefined {
  for (let dir: string | undefined = from; dir !== undefined; dir = parentOf(dir)) {
    const key = dir === "" ? `node_modules/${name}` : `${dir}/node_modules/${name}`;
    if (lock.packages[key]) return key;
  }
  return undefined;
}

interface Edge {
  name: string;
  optional: boolean;
}

function edgesOf(entry: LockEntry): Edge[] {
  const edges: Edge[] = [];
  for (const name of Object.keys(entry.dependencies ?? {})) edges.push({ name, optional: false });
  for (const name of Object.keys(entry.optionalDependencies ?? {})) {
    edges.push({ name, optional: true });
  }
  // npm 7+ installs peer dependencies; an optional peer is installed only if something else
  // brings it, so it is followed only when the kit's lock has it.
  for (const name of Object.keys(entry.peerDependencies ?? {})) {
    edges.push({ name, optional: entry.peerDependenciesMeta?.[name]?.optional === true });
  }
  return edges;
}

/**
 * Walks the graph from the root and the workspaces. Returns every lock key reached, and which
 * of them are reached through required edges only (the others are optional).
 */
function reach(
  lock: Lockfile,
  roots: Array<{ from: string; entry: LockEntry }>,
): { all: Set<string>; required: Set<string> } {
  const walk = (followOptional: boolean): Set<string> => {
    const seen = new Set<string>();
    const queue = [...roots];
    while (queue.length > 0) {
      const { from, entry } = queue.shift()!;
      for (const edge of edgesOf(entry)) {
        if (edge.optional && !followOptional) continue;
        let key = resolveIn(lock, from, edge.name);
        if (key === undefined) {
          if (edge.optional) continue;
          throw new Error(`the kit's package-lock.json has no '${edge.name}' for '${from || "."}'`);
        }
        const target = lock.packages[key]!;
        // A workspace appears as a link (node_modules/x -> x); its folder holds its real entry.
        if (target.link && typeof target.resolved === "string") key = target.resolved;
        if (seen.has(key)) continue;
        seen.add(key);
        const real = lock.packages[key];
        if (real) queue.push({ from: key, entry: real });
      }
    }
    return seen;
  };
  return { all: walk(true), required: walk(false) };
}

/**
 * The bundle's lock: the root entry from the bundle's package.json, each workspace and its link,
 * and every package the bundle's dependencies reach in the kit's lock, in the kit's key order.
 */
export function bundleLockfile(
  kitLock: Lockfile,
  bundlePkg: BundlePackageJson,
  workspacePackages: Record<string, Record<string, unknown>>,
): Lockfile {
  if (kitLock.lockfileVersion < 2 || !kitLock.packages) {
    throw new Error("the kit's package-lock.json must be lockfileVersion 2 or 3 (npm 7+)");
  }
  const rootEntry: LockEntry = {
    name: bundlePkg.name,
    version: bundlePkg.version,
    workspaces: bundlePkg.workspaces,
    dependencies: bundlePkg.dependencies,
  };
  if (bundlePkg.engines) rootEntry.engines = bundlePkg.engines;
  const roots: Array<{ from: string; entry: LockEntry }> = [{ from: "", entry: rootEntry }];
  const workspaceEntries: Record<string, LockEntry> = {};
  for (const ws of bundlePkg.workspaces) {
    const pkg = workspacePackages[ws] ?? {};
    // npm's field order: the name only when it is not the folder's, then version, dependencies, bin.
    const entry: LockEntry = {};
    if (typeof pkg.name === "string" && pkg.name !== ws) entry.name = pkg.name;
    entry.version = String(pkg.version ?? "0.0.0");
    for (const field of ["dependencies", "optionalDependencies", "peerDependencies", "bin"]) {
      if (pkg[field] !== undefined) entry[field] = pkg[field];
    }
    workspaceEntries[ws] = entry;
    roots.push({ from: ws, entry });
  }
  const { all, required } = reach(kitLock, roots);
  const packages: Record<string, LockEntry> = { "": rootEntry };
  // A workspace's link is named after its package (node_modules/@tinytorch-ts/core -> core).
  const linkKey = (ws: string): string =>
    `node_modules/${String(workspacePackages[ws]?.name ?? ws)}`;
  for (const [key, kitEntry] of Object.entries(kitLock.packages)) {
    const wsName = bundlePkg.workspaces.find((w) => key === w || key === linkKey(w));
    if (wsName !== undefined) {
      packages[key] = key === wsName ? workspaceEntries[wsName]! : { resolved: wsName, link: true };
      continue;
    }
    if (!all.has(key)) continue;
    // Fields keep the kit's order (npm's), so that npm would write the very same file.
    const optional = !required.has(key);
    const entry: LockEntry = {};
    for (const [field, value] of Object.entries(kitEntry)) {
      if (!GRAPH_FLAGS.includes(field)) entry[field] = value;
      else if (field === "optional" && optional) entry.optional = true;
    }
    if (optional) entry.optional = true;
    packages[key] = entry;
  }
  for (const ws of bundlePkg.workspaces) {
    packages[ws] ??= workspaceEntries[ws]!;
    packages[linkKey(ws)] ??= { resolved: ws, link: true };
  }
  return {
    name: bundlePkg.name,
    version: bundlePkg.version,
    lockfileVersion: kitLock.lockfileVersion,
    requires: true,
    packages,
  };
}
