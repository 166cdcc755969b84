// A release of the whole course passes its leak audit: no solution or hidden-test line reaches
// the student bundle, and the bundle compiles. Needs no kernel.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { listModules } from "../../tito/src/build/discover";
import { releaseCourse } from "../../tito/src/release/release-course";
import { ROOT } from "./course-checks";

test("a release of the whole course passes the leak audit", async () => {
  const dir = mkdtempSync(join(tmpdir(), "tito-course-release-"));
  try {
    const report = await releaseCourse({ outDir: join(dir, "bundle"), root: ROOT });
    assert.equal(
      report.leaks.map((l) => `${l.file}:${l.line}`),
      [],
    );
    assert.equal(report.compileErrors, []);
    assert.ok(report.ok);
    assert.equal(report.modules.length, listModules(ROOT).length);
    assert.ok(report.secretLines > 0, "the course has solution and hidden-test lines to guard");
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
