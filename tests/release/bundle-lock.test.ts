// The bundle's package-lock.json is cut from the kit's: the same resolutions, pruned to what the
// bundle's dependencies reach, with the graph flags (dev, optional) recomputed for the bundle.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { bundlePackageJson } from "../../tito/src/release/bundle-files";
import { bundleLockfile, type Lockfile } from "../../tito/src/release/bundle-lock";
import { KIT_ROOT as KIT } from "@tinytorch-ts/core";

const readJson = (p: string) => JSON.parse(readFileSync(join(KIT, p), "utf8"));

const tiny: Lockfile = {
  lockfileVersion: 3,
  packages: {
    "": { name: "kit", version: "1.0.0" },
    "node_modules/a": { version: "1.0.0", dependencies: { b: "^1" }, dev: true },
    "node_modules/b": { version: "1.0.0", optionalDependencies: { c: "^1" } },
    "node_modules/c": { version: "1.0.0", optional: true },
    "node_modules/a/node_modules/b": { version: "2.0.0" },
    "node_modules/unused": { version: "1.0.0" },
    ws: { version: "0.1.0" },
    "node_modules/ws": { resolved: "ws", link: true },
  },
};
const bundle = { name: "b", version: "1.0.0", workspaces: ["ws"], dependencies: { a: "1.0.0" } };

test("keeps what the dependencies reach, nearest node_modules first, and nothing else", () => {
  const lock = bundleLockfile(tiny, bundle, { ws: { version: "0.1.0" } });
  assert.equal(Object.keys(lock.packages), [
    "",
    "node_modules/a",
    "node_modules/a/node_modules/b",
    "ws",
    "node_modules/ws",
  ]);
  assert.is(lock.packages["node_modules/a"]?.dev, undefined, "a is a production dependency here");
  assert.equal(lock.packages[""]?.dependencies, { a: "1.0.0" });
});

test("a package reached only through optional edges is optional", () => {
  const viaB = { ...bundle, dependencies: { b: "1.0.0" } };
  const lock = bundleLockfile(tiny, viaB, {});
  assert.is(lock.packages["node_modules/c"]?.optional, true);
  assert.is(lock.packages["node_modules/b"]?.optional, undefined);
});

test("a dependency missing from the kit's lock is an error, not a broken bundle", () => {
  assert.throws(
    () => bundleLockfile(tiny, { ...bundle, dependencies: { nope: "1" } }, {}),
    /no 'nope'/,
  );
});

test("the kit's real lock gives a complete, deterministic bundle lock", () => {
  const kitPkg = readJson("package.json");
  const pkg = bundlePackageJson(kitPkg);
  for (const gone of ["ajv", "jszip", "sql.js", "eslint"]) assert.not.ok(gone in pkg.dependencies);
  assert.ok("tslab" in pkg.dependencies && "typescript" in pkg.dependencies);
  const workspaces = { "tinytorch-ts": readJson("tinytorch-ts/package.json"), tito: readJson("tito/package.json") }; // prettier-ignore
  const lock = bundleLockfile(readJson("package-lock.json"), pkg, workspaces);
  const again = bundleLockfile(readJson("package-lock.json"), pkg, workspaces);
  assert.is(JSON.stringify(lock), JSON.stringify(again));
  for (const [key, entry] of Object.entries(lock.packages)) {
    if (key === "" || entry.link || !key.includes("node_modules/")) continue;
    // npm leaves out `resolved` for the default registry; the integrity hash is always there.
    assert.ok(entry.integrity, `${key} has no integrity hash`);
    assert.not.ok(entry.dev, `${key} is marked dev`);
  }
  // The overrides, as resolved in the kit: an npm-registry xlsx, a pure-JS TensorFlow.
  assert.is(lock.packages["node_modules/xlsx"]?.version, "0.18.5");
  assert.not.match(String(lock.packages["node_modules/xlsx"]?.resolved ?? ""), /cdn\.sheetjs/);
  assert.is(lock.packages["node_modules/@tensorflow/tfjs-node"]?.name, "@tensorflow/tfjs");
});

test.run();
