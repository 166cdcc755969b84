// test-tier: kernel
// Names chosen by students, end to end through a batch: ids that the old file-name cleaning
// merged keep separate results, an id that reads as a spreadsheet formula stays text in the CSV,
// and control characters from an id or a notebook's metadata never reach the progress log.
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { feedbackPath, findSubmissions, gradeBatch, resultsPath } from "../../grader/src/batch";
import { Gradebook } from "../../grader/src/gradebook";
import { gradebookCsv } from "../../grader/src/gradebook-csv";
import { ProgressBar } from "../../grader/src/progress";
import { GOOD, loadFixtureManifest, studentNotebook } from "./helpers";

const manifest = loadFixtureManifest();
const work = mkdtempSync(join(tmpdir(), "tito-names-test-"));
const subs = join(work, "submissions");
const out = join(work, "out");
const FORMULA = '=HYPERLINK("http:evil.example","open me")';
const ESCAPES = "\u001b[2K\u001b[1A\rmallory\n[########] 9 of 9 · 9 graded";

mkdirSync(subs, { recursive: true });
writeFileSync(join(subs, "alice~smith.ipynb"), studentNotebook(manifest, { sources: GOOD }));
writeFileSync(join(subs, "alice_smith.ipynb"), studentNotebook(manifest, {}));
writeFileSync(join(subs, `${FORMULA}.ipynb`), "not a notebook");
// A notebook for "another module" whose grade ids carry escape codes and fake lines: the reason
// quotes them, and reasons reach the progress log.
const hostile = {
  nbformat: 4,
  nbformat_minor: 5,
  metadata: { kernelspec: { name: "\u001b[31mtslab", language: "typescript" } },
  cells: [{ id: "x", cell_type: "code", metadata: { nbgrader: { grade_id: ESCAPES, solution: true } }, source: "", outputs: [] }], // prettier-ignore
};
writeFileSync(join(subs, `${ESCAPES}.ipynb`), JSON.stringify(hostile));

function hasControl(text: string): boolean {
  return [...text].some((ch) => {
    const c = ch.codePointAt(0) ?? 0;
    return (c < 0x20 && ch !== "\n") || (c >= 0x7f && c <= 0x9f);
  });
}

test("colliding ids keep separate results; formulas and escape codes stay inert", async () => {
  let log = "";
  const stream = { isTTY: false, write: (s: string) => ((log += s), true) };
  const progress = new ProgressBar(4, stream as unknown as NodeJS.WriteStream);
  const found = findSubmissions(subs, manifest.module);
  assert.is(found.length, 4);
  const s = await gradeBatch(manifest, found, {
    outDir: out,
    manifestHash: "m1",
    cellTimeoutMs: 8000,
    memoryMb: 256,
    progress,
  });
  assert.equal([s.graded, s.rejected, s.errors], [2, 2, 0]);

  // alice~smith earned every point and alice_smith none: each keeps their own files.
  const full = JSON.parse(readFileSync(resultsPath(out, manifest.module, "alice~smith"), "utf8"));
  const none = JSON.parse(readFileSync(resultsPath(out, manifest.module, "alice_smith"), "utf8"));
  assert.equal([full.score, none.score], [6, 0]);
  assert.is.not(
    resultsPath(out, manifest.module, "alice~smith"),
    resultsPath(out, manifest.module, "alice_smith"),
  );
  assert.match(
    readFileSync(feedbackPath(out, manifest.module, "alice~smith"), "utf8"),
    /Score: 6 \/ 6/,
  );
  assert.match(
    readFileSync(feedbackPath(out, manifest.module, "alice_smith"), "utf8"),
    /Score: 0 \/ 6/,
  );

  // The formula-like id is text in the CSV.
  const book = await Gradebook.open(join(out, "gradebook.sqlite"));
  const csv = gradebookCsv(book.attempts(true));
  book.close();
  const row = csv.split("\n").find((l) => l.includes("HYPERLINK"));
  assert.ok(row?.startsWith(`"'=HYPERLINK(""http:evil.example"",""open me"")",90_fixture,`), row); // prettier-ignore
  for (const line of csv.split("\n")) assert.not.match(line, /^[=+\-@\t\r]/);

  // The log: one line per submission, no control characters, no fake lines.
  const lines = log.trimEnd().split("\n");
  assert.is(lines.length, 4, log);
  assert.not.ok(hasControl(log), JSON.stringify(log));
  assert.ok(
    lines.every((l) => /^\[[#.]+\] \d\/4 · /.test(l)),
    log,
  );
  assert.ok(lines.some((l) => l.includes("mallory [########] 9 of 9 · 9 graded")), "the text is kept, flattened"); // prettier-ignore
});

test.after(() => rmSync(work, { recursive: true, force: true }));

test.run();
