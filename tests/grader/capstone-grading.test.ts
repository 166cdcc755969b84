// test-tier: kernel
// The capstone graded end to end (module 20, real kernels): three students' folders, each a
// notebook and a model file. The reference submission (tests/fixtures/capstone/reference.ttm,
// written by scripts/capstone-reference.ts) meets every event; a weak one (an untrained MLP)
// misses the accuracy floor; a boastful one claims figures in its notebook and in a
// submission.json but ships a model made slow on purpose (an exact identity convolution of
// 1.2 million multiply-adds in front of the reference's layers). Points and ranks come from the
// grader's measurement alone: the claims are never read, and changing them changes nothing.
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { Linear, Sequential } from "tinytorch-ts/core/layers";
import { ReLU } from "tinytorch-ts/core/activations";
import { Conv2d } from "tinytorch-ts/core/conv";
import { decodeCapstoneModel, encodeCapstoneModel } from "tinytorch-ts/capstone";
import { findSubmissions, gradeBatch } from "../../grader/src/batch";
import { Gradebook } from "../../grader/src/gradebook";
import { buildLeaderboard, leaderboardCsv } from "../../grader/src/leaderboard";
import { leaderboardHtml } from "../../grader/src/leaderboard-html";
import { findManifest, readManifest } from "../../grader/src/manifest-store";
import { referenceNotebook } from "../../grader/src/reference";
import { coursePath, KIT_ROOT } from "@tinytorch-ts/core";

const KIT_MANIFESTS = coursePath(KIT_ROOT, "manifests");

const { manifest, hash } = readManifest(findManifest("20_capstone", KIT_MANIFESTS));
const work = mkdtempSync(join(tmpdir(), "tito-capstone-grade-"));
const subs = join(work, "submissions");
const out = join(work, "out");
const FIXTURE = join(__dirname, "..", "fixtures", "capstone", "reference.ttm");
/** Few queries and a fixed perturbation seed (on which the reference scores 96.0%): CI is busy. */
const OPTIONS = {
  cellTimeoutMs: 60_000,
  memoryMb: 768,
  jobs: 1,
  outDir: out,
  manifestHash: hash,
  capstone: { queries: 120, rounds: 2, seed: 2_000_023 },
};
const CLAIMS = {
  latency_ms: 0.01,
  accuracy: 0.999,
  model_bytes: 100,
  note: "measured on my laptop",
};

/**
 * An exact identity on images that costs 64·784·49 multiply-adds: the boaster's dead weight. At
 * 32 channels it measured 3.1× the baseline when idle but under 2× once under CI's load.
 */
function slowIdentity(): Conv2d[] {
  const spread = new Conv2d(1, 64, 7, { padding: 3, seed: 0 });
  spread.weight.data.fill(0);
  spread.weight.data[24] = 1; // channel 0, the centre of its 7×7 window
  (spread.bias as NonNullable<Conv2d["bias"]>).data.fill(0);
  const pick = new Conv2d(64, 1, 1, { seed: 0 });
  pick.weight.data.fill(0);
  pick.weight.data[0] = 1;
  (pick.bias as NonNullable<Conv2d["bias"]>).data.fill(0);
  return [spread, pick];
}

const notebook = referenceNotebook(manifest);
const reference = readFileSync(FIXTURE);
const folder = (who: string, model: Uint8Array, text = notebook) => {
  mkdirSync(join(subs, who), { recursive: true });
  writeFileSync(join(subs, who, "20_capstone.ipynb"), text);
  writeFileSync(join(subs, who, "capstone.ttm"), model);
};
folder("ref", reference);
folder("weak", encodeCapstoneModel(new Sequential([new Linear(784, 16, { seed: 5 }), new ReLU(), new Linear(16, 10, { seed: 6 })]), { accelerate: true })); // prettier-ignore
const decoded = decodeCapstoneModel(new Uint8Array(reference));
const boastful = JSON.parse(notebook) as { cells: unknown[] };
boastful.cells.push({ cell_type: "markdown", id: "my-results", metadata: {}, source: [`My model: ${JSON.stringify(CLAIMS)}`] }); // prettier-ignore
folder("boast", encodeCapstoneModel([...slowIdentity(), ...decoded.model.layers], { input: "images", accelerate: true }), JSON.stringify(boastful)); // prettier-ignore
writeFileSync(join(subs, "boast", "submission.json"), JSON.stringify(CLAIMS));

const events = (who: string, book: Gradebook) => new Map((book.capstone(manifest.module).find((e) => e.student === who)?.record.events ?? []).map((e) => [e.event, e])); // prettier-ignore

test("the grader measures each model file; the events' points follow its figures only", async () => {
  const s = await gradeBatch(manifest, findSubmissions(subs, manifest.module), OPTIONS);
  assert.is(s.graded, 3, s.results.map((r) => `${r.student}: ${r.reason ?? ""}`).join("; "));
  const notebookPoints = manifest.totalPoints - manifest.cells.reduce((n, c) => n + (c.role === "manual" ? (c.points ?? 0) : 0), 0); // prettier-ignore
  const by = new Map(s.results.map((r) => [r.student, r]));
  for (const r of s.results)
    assert.is(r.maxScore, manifest.totalPoints + 8, `${r.student}: four events of 2 points`);
  assert.is(by.get("ref")?.score, notebookPoints + 8, "the reference meets every event");
  const book = await Gradebook.open(join(out, "gradebook.sqlite"));
  try {
    const ref = book.capstone(manifest.module).find((e) => e.student === "ref")?.record;
    assert.is(ref?.status, "measured");
    assert.is(ref?.seed, 2_000_023);
    assert.is(ref?.modelBytes, reference.length);
    assert.ok(
      (ref?.measurement?.perturbedAccuracy ?? 0) >= 0.95,
      "the reference holds up on the perturbed copy",
    );
    const weak = events("weak", book);
    for (const e of ["latency", "size", "all-round"]) {
      assert.is(weak.get(e)?.met, false, `weak: ${e}`);
      assert.match(weak.get(e)?.reason ?? "", /< 95\.0%$/);
    }
    assert.is(
      weak.get("accuracy")?.met,
      true,
      "a fast model meets the accuracy event's latency budget, whatever its accuracy",
    );
    const boast = events("boast", book);
    assert.is(boast.get("accuracy")?.met, false, "the boaster's model is over the latency budget");
    assert.match(
      boast.get("accuracy")?.reason ?? "",
      /^measured by the grader: p50 latency \d+\.\d+ x the baseline's > 2$/,
    );
    const m = book.capstone(manifest.module).find((e) => e.student === "boast")?.record.measurement;
    assert.is(
      m?.cleanAccuracy,
      ref?.measurement?.cleanAccuracy,
      "the identity in front changes no prediction",
    );
    assert.ok((m?.relativeLatency.low ?? 0) > (ref?.measurement?.relativeLatency.high ?? Infinity), "and it is measurably slower"); // prettier-ignore
  } finally {
    book.close();
  }
});

test("the leaderboard ranks by measured figures; the claims change nothing", async () => {
  const book = await Gradebook.open(join(out, "gradebook.sqlite"));
  try {
    const board = await buildLeaderboard(book, manifest.module, true);
    const ranks = (id: string) =>
      board.events.find((e) => e.id === id)?.ranked.map((r) => [r.label, r.rank]);
    assert.equal(
      ranks("latency"),
      [
        ["ref", 1],
        ["boast", 2],
      ],
      "the boaster claimed 0.01 ms; it is measured slower",
    );
    assert.equal(
      ranks("size"),
      [
        ["ref", 1],
        ["boast", 2],
      ],
      "and it claimed 100 bytes",
    );
    assert.equal(
      board.events.find((e) => e.id === "accuracy")?.ranked.map((r) => r.label),
      ["ref", "weak"],
    );
    assert.equal(
      board.events.find((e) => e.id === "latency")?.unranked.map((u) => u.label),
      ["weak"],
    );
    assert.equal(board.entries.filter((e) => e.front).map((e) => e.label), ["ref", "weak"], "the boaster is dominated by the reference"); // prettier-ignore
    const csv = leaderboardCsv(board);
    assert.not.match(csv, /0\.999|measured on my laptop/);
    assert.not.match(await leaderboardHtml(board), /measured on my laptop/);
    // Pseudonyms unless asked: no student id on the default page.
    const hidden = await leaderboardHtml(await buildLeaderboard(book, manifest.module, false));
    for (const who of ["ref", "weak", "boast"])
      assert.not.match(hidden, new RegExp(`<td>${who}</td>`));
  } finally {
    book.close();
  }
  // Other claims, the same notebook and model: nothing to grade again.
  writeFileSync(
    join(subs, "boast", "submission.json"),
    JSON.stringify({ ...CLAIMS, latency_ms: 0.0001 }),
  );
  const again = await gradeBatch(manifest, findSubmissions(subs, manifest.module), OPTIONS);
  assert.is(again.skipped, 3, "a changed claim is not a new attempt");
  assert.is(again.graded, 0);
});

test.run();
