// The compiled reference's cache (grader/src/reference-program.ts): one compile per module and
// package, kept by content. The same cells against another package (a rebuilt dependency whose
// declarations changed) are compiled again: a cell's type errors depend on what it imports. The
// key does not depend on where the kit is installed, so the programs a Gradescope bundle ships
// still match in the autograder's copy.
import { cpSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { KIT_ROOT } from "@tinytorch-ts/core";
import { defaultPackageSource, kitContents, sharedKit } from "../../grader/src/kit";
import { compileReference } from "../../grader/src/reference-program";
import { loadFixtureManifest } from "./helpers";

const work = mkdtempSync(join(tmpdir(), "tito-reference-cache-"));
test.after(() => rmSync(work, { recursive: true, force: true }));

test("the key is what the kit holds, not where it is installed", () => {
  const manifest = loadFixtureManifest();
  const source = defaultPackageSource(KIT_ROOT);
  const moved = { ...source, packageDir: join(work, "moved-package") };
  cpSync(source.packageDir, moved.packageDir, { recursive: true, filter: (p) => !p.includes("node_modules") }); // prettier-ignore
  assert.is(kitContents(manifest, moved), kitContents(manifest, source));
  writeFileSync(join(moved.packageDir, "dist", "support", "testing.d.ts"), "export declare const changed: 1;\n"); // prettier-ignore
  assert.is.not(kitContents(manifest, moved), kitContents(manifest, source));
});

test("the cache is keyed by the kit's contents as well as the cells", async () => {
  const manifest = loadFixtureManifest();
  const source = defaultPackageSource(KIT_ROOT);
  const kit = sharedKit(manifest, source, { cacheDir: join(work, "kits") });
  assert.ok(kit);
  const contents = kitContents(manifest, source);
  const cacheDir = join(work, "reference");
  const first = await compileReference(manifest, kit, cacheDir, contents);
  assert.is(await compileReference(manifest, kit, cacheDir, contents), first, "compiled again in one process"); // prettier-ignore
  assert.is(readdirSync(cacheDir).length, 1);
  const other = await compileReference(manifest, kit, cacheDir, `${contents}-another-package`);
  assert.is.not(other, first);
  assert.is(readdirSync(cacheDir).length, 2, "a package with other declarations shares no entry");
});

test.run();
