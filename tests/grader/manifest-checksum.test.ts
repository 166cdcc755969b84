// A manifest is checked when it is loaded: each locked or grade cell's checksum is recomputed
// from the cell's source and flags, so a manifest edited by hand (or by a broken build) without
// its checksum is refused, naming the file and the cell, instead of blaming every student's
// untouched cell for a mismatch.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { isSourceError, KIT_ROOT, coursePath } from "@tinytorch-ts/core";
import { listManifests, readManifest } from "../../grader/src/manifest-store";
import { FIXTURES, loadFixtureManifest } from "./helpers";

const KIT_MANIFESTS = coursePath(KIT_ROOT, "manifests");

const dir = mkdtempSync(join(tmpdir(), "tito-manifest-"));

function problemWith(edit: (m: ReturnType<typeof loadFixtureManifest>) => void): string {
  const m = loadFixtureManifest();
  edit(m);
  const file = join(dir, "90_fixture.json");
  writeFileSync(file, JSON.stringify(m, null, 2));
  try {
    readManifest(file);
  } catch (e) {
    assert.ok(isSourceError(e), String(e));
    return (e as Error).message;
  }
  throw new Error("the manifest was accepted");
}

test("the fixtures and every built manifest load: their checksums match their cells", () => {
  const files = [...listManifests(FIXTURES), ...listManifests(KIT_MANIFESTS)];
  assert.ok(
    files.some((f) => f.endsWith("90_fixture.json")),
    "the fixture is among them",
  );
  assert.ok(
    files.some((f) => f.endsWith("01_tensor.json")),
    "the course's manifests are built",
  );
  for (const file of files) {
    const { manifest } = readManifest(file);
    assert.ok(manifest.cells.some((c) => c.checksum !== undefined), `${file} has checksummed cells`); // prettier-ignore
  }
});

test("a locked cell edited in the source but with its checksum left unchanged is refused", () => {
  const message = problemWith((m) => {
    const cell = m.cells.find((c) => c.grade_id === "provided-input");
    if (!cell) throw new Error("fixture changed");
    cell.studentSource += "\nconst extra = 1;";
  });
  assert.match(message, join(dir, "90_fixture.json"));
  assert.match(message, /cell 4 \("provided-input"\): its checksum does not match its source/);
});

test("a grade cell whose points were raised without its checksum is refused", () => {
  const message = problemWith((m) => {
    const cell = m.cells.find((c) => c.grade_id === "test-unit-double");
    if (!cell?.metadata.nbgrader) throw new Error("fixture changed");
    cell.metadata.nbgrader.points = 20;
  });
  assert.match(message, /"test-unit-double"\): its checksum does not match/);
});

test.after(() => rmSync(dir, { recursive: true, force: true }));
test.run();
