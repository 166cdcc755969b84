// The kit a kernel or a trusted run works in (grader/src/kit.ts): what it holds, and the shared
// copy that is built once per module and reused while nothing in it changes.
import {
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  rmSync,
  symlinkSync,
  utimesSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "uvu";
import * as assert from "uvu/assert";
import type { GradingManifest } from "@tinytorch-ts/core";
import { buildKit, sharedKit, type PackageSource } from "../../grader/src/kit";
import { kernelMayShareKit } from "../../grader/src/sandbox";
import { makeScratch, makeScratchRoot, removeQuietly } from "../../grader/src/scratch";

const work = mkdtempSync(join(tmpdir(), "tito-kit-test-"));
test.after(() => rmSync(work, { recursive: true, force: true }));
/** The fixtures' doc-free @types/node copies are kept here, not in the kit's own cache. */
const T = { typesCacheDir: join(work, "types") };

function write(path: string, text: string): void {
  mkdirSync(join(path, ".."), { recursive: true });
  writeFileSync(path, text);
}

/** A package with support code, a dependency, the module's own export, and node_modules. */
function fixture(name: string): { source: PackageSource; manifest: GradingManifest } {
  const dir = join(work, name);
  const packageDir = join(dir, "pkg");
  write(join(packageDir, "package.json"), '{"name":"tinytorch-ts"}');
  write(join(packageDir, "dist", "support", "testing.js"), 'require("./checks");');
  write(join(packageDir, "dist", "support", "checks.js"), "");
  write(join(packageDir, "dist", "core", "dep.js"), 'require("../util/helper");');
  write(join(packageDir, "dist", "core", "dep.d.ts"), "export {};");
  write(join(packageDir, "dist", "util", "helper.js"), "");
  write(join(packageDir, "dist", "core", "own.js"), "// the module's reference solution");
  const nodeModulesDir = join(dir, "node_modules");
  write(join(nodeModulesDir, "vega", "package.json"), "{}");
  write(
    join(nodeModulesDir, "@types", "node", "index.d.ts"),
    '/// <reference path="fs.d.ts" />\n/** Docs. */\nexport {};\n',
  );
  write(join(nodeModulesDir, "@types", "node", "package.json"), '{"name":"@types/node"}');
  write(join(nodeModulesDir, ".bin", "tslab"), "");
  symlinkSync(packageDir, join(nodeModulesDir, "tinytorch-ts"));
  symlinkSync(join(dir, "grader"), join(nodeModulesDir, "grader-workspace"));
  const manifest = { module: "77_kit", exportPath: "core/own", dependencies: ["core/dep"] };
  return { source: { packageDir, nodeModulesDir }, manifest: manifest as GradingManifest };
}

function files(dir: string, prefix = ""): string[] {
  return readdirSync(dir).flatMap((e) => {
    const p = join(dir, e);
    const rel = prefix + e;
    return lstatSync(p).isDirectory() ? files(p, `${rel}/`) : [rel];
  });
}

test("a kit holds support code and the dependencies' closure, never the module's own export; third parties are links, @types/node a doc-free copy", () => {
  const { source, manifest } = fixture("contents");
  const kit = join(work, "contents-kit");
  buildKit(kit, manifest, source, T);
  assert.equal(files(kit).sort(), [
    "node_modules/@types/node/index.d.ts",
    "node_modules/@types/node/package.json",
    "node_modules/tinytorch-ts/dist/core/dep.d.ts",
    "node_modules/tinytorch-ts/dist/core/dep.js",
    "node_modules/tinytorch-ts/dist/support/checks.js",
    "node_modules/tinytorch-ts/dist/support/testing.js",
    "node_modules/tinytorch-ts/dist/util/helper.js",
    "node_modules/tinytorch-ts/package.json",
    "node_modules/vega",
  ]);
  assert.is(readlinkSync(join(kit, "node_modules", "vega")), join(source.nodeModulesDir, "vega"));
  assert.is(
    readFileSync(join(kit, "node_modules", "@types", "node", "index.d.ts"), "utf8"),
    '/// <reference path="fs.d.ts" />\n            \nexport {};\n',
  );
  const whole = join(work, "contents-whole");
  buildKit(whole, manifest, source, { ...T, wholePackage: true });
  assert.ok(existsSync(join(whole, "node_modules", "tinytorch-ts", "dist", "core", "own.js")));
});

test("the shared kit is built once, and again only when something it holds changes", () => {
  const { source, manifest } = fixture("shared");
  const cacheDir = join(work, "shared-cache");
  const first = sharedKit(manifest, source, { ...T, cacheDir });
  assert.ok(first);
  const inode = lstatSync(first).ino;
  assert.is(sharedKit(manifest, source, { ...T, cacheDir }), first);
  assert.is(lstatSync(first).ino, inode, "the kit was built again");
  // The restricted and the whole package are two kits.
  const whole = sharedKit(manifest, source, { ...T, cacheDir, wholePackage: true });
  assert.ok(whole && whole !== first);
  // A rebuilt dependency, or a package installed or removed: a new kit.
  writeFileSync(join(source.packageDir, "dist", "core", "dep.js"), "// rebuilt");
  const rebuilt = sharedKit(manifest, source, { ...T, cacheDir });
  assert.ok(rebuilt && rebuilt !== first);
  write(join(source.nodeModulesDir, "ajv", "package.json"), "{}");
  const installed = sharedKit(manifest, source, { ...T, cacheDir });
  assert.ok(installed && installed !== rebuilt);
  assert.ok(existsSync(join(installed, "node_modules", "ajv")));
  // The module's own export is not part of a restricted kit: changing it changes nothing.
  writeFileSync(join(source.packageDir, "dist", "core", "own.js"), "// another solution");
  assert.is(sharedKit(manifest, source, { ...T, cacheDir }), installed);
  // No half-built kit is left beside them.
  assert.equal(
    readdirSync(cacheDir).filter((n) => n.startsWith(".")),
    [],
  );
});

test("kits unused for a week are deleted when another is built; a cache that cannot be written shares nothing", () => {
  const { source, manifest } = fixture("prune");
  const cacheDir = join(work, "prune-cache");
  const old = sharedKit(manifest, source, { ...T, cacheDir });
  assert.ok(old);
  const crashed = join(cacheDir, ".77_kit-restricted-0.abc");
  mkdirSync(crashed);
  const weekAgo = new Date(Date.now() - 8 * 24 * 3600 * 1000);
  utimesSync(old, weekAgo, weekAgo);
  utimesSync(crashed, weekAgo, weekAgo);
  writeFileSync(join(source.packageDir, "dist", "support", "checks.js"), "// changed");
  const fresh = sharedKit(manifest, source, { ...T, cacheDir });
  assert.ok(fresh);
  assert.equal(readdirSync(cacheDir), [fresh.slice(cacheDir.length + 1)]);
  const blocked = join(work, "not-a-dir");
  writeFileSync(blocked, "");
  assert.is(sharedKit(manifest, source, { ...T, cacheDir: join(blocked, "kits") }), undefined);
});

test("a scratch uses the shared kit only when asked, and removing it leaves the kit", async () => {
  const { source, manifest } = fixture("scratch");
  const root = makeScratchRoot(work);
  const own = makeScratch(root, manifest, source, undefined, T);
  assert.is(own.kitDir, join(own.dir, "kit"));
  assert.ok(existsSync(join(own.kitDir, "node_modules", "tinytorch-ts", "dist", "core", "dep.js")));
  const shared = makeScratch(root, manifest, source, undefined, { ...T, shareKit: true, cacheDir: join(work, "scratch-cache") }); // prettier-ignore
  assert.not.ok(shared.kitDir.startsWith(shared.dir), shared.kitDir);
  await shared.remove();
  assert.ok(existsSync(join(shared.kitDir, "node_modules", "tinytorch-ts", "package.json")));
  await own.remove();
  await removeQuietly(root);
});

test("a kernel shares a kit only as the sandbox user in a built root that mounts it read-only", () => {
  const user = { uid: 999, gid: 999 };
  const full = ["--mount", "--net", "--pid", "--fork", "--kill-child", "--mount-proc"];
  // Root with namespaces: the kernel drops to the sandbox user, the kit is mounted read-only.
  assert.ok(kernelMayShareKit({ root: true, user, unshareFlags: full, userNamespace: false }));
  // Sandbox off: no capabilities probed, the kernel is the grader's own user.
  assert.not.ok(kernelMayShareKit(undefined));
  // No namespaces (plain Docker): the sandbox user could reach the kit's host path.
  assert.not.ok(kernelMayShareKit({ root: true, user, unshareFlags: [], userNamespace: false }));
  // Not root (a user namespace builds the root): the kernel is the grader's uid outside it.
  assert.not.ok(kernelMayShareKit({ root: false, unshareFlags: ["--user", "--map-root-user", ...full], userNamespace: true })); // prettier-ignore
  // A network namespace only: no built root.
  assert.not.ok(kernelMayShareKit({ root: true, user, unshareFlags: ["--net"], userNamespace: false })); // prettier-ignore
});

test.run();
