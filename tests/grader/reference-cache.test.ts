// The compiled reference's cache (grader/src/reference-program.ts): one compile per module and
// package, kept by content. The same cells against another package (a rebuilt dependency whose
// declarations changed) are compiled again: a cell's type errors depend on what it imports.
import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { KIT_ROOT } from "../../core/src/course-root";
import { defaultPackageSource, kitName, sharedKit } from "../../grader/src/kit";
import { compileReference } from "../../grader/src/reference-program";
import { loadFixtureManifest } from "./helpers";

const work = mkdtempSync(join(tmpdir(), "tito-reference-cache-"));
test.after(() => rmSync(work, { recursive: true, force: true }));

test("the cache is keyed by the kit's contents as well as the cells", async () => {
  const manifest = loadFixtureManifest();
  const source = defaultPackageSource(KIT_ROOT);
  const kit = sharedKit(manifest, source, { cacheDir: join(work, "kits") });
  assert.ok(kit);
  const name = kitName(manifest, source);
  assert.ok(kit.endsWith(name), `${kit} is not named ${name}`);
  assert.not.equal(kitName(manifest, source, { wholePackage: true }), name);
  const cacheDir = join(work, "reference");
  const first = await compileReference(manifest, kit, cacheDir, name);
  assert.is(await compileReference(manifest, kit, cacheDir, name), first, "compiled again in one process"); // prettier-ignore
  assert.is(readdirSync(cacheDir).length, 1);
  const other = await compileReference(manifest, kit, cacheDir, `${name}-another-package`);
  assert.is.not(other, first);
  assert.is(readdirSync(cacheDir).length, 2, "a package with other declarations shares no entry");
});

test.run();
