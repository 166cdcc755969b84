// test-tier: kernel
// The two-submission attack, on the real 01_tensor notebook. The first submission is correct,
// but its four pure functions log every argument they get: at once (which a hidden check's
// feedback must not show), and all together later, during a visible check (which the feedback
// does show: a known limit, see docs/grading.md). The second submission implements nothing:
// it answers from a lookup table of exactly those arguments and the reference's answers to
// them. Every test draws inputs from the submission's own seed, so the table matches nothing
// that counts, and it earns 0.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { join } from "node:path";
import { constants, inflateSync } from "node:zlib";
import { KIT_ROOT, coursePath } from "@tinytorch-ts/core";
import { gradeSubmission } from "../../grader/src/grade-submission";
import { findManifest, readManifest } from "../../grader/src/manifest-store";
import { referenceSolutions } from "../../grader/src/reference";
import type { SubmissionResult } from "../../grader/src/types";
import { studentNotebook } from "./helpers";

const KIT_MANIFESTS = coursePath(KIT_ROOT, "manifests");

const { manifest } = readManifest(findManifest("01_tensor", KIT_MANIFESTS));
const REFERENCE = referenceSolutions(manifest);
const LIMITS = { cellTimeoutMs: 60_000, notebookTimeoutMs: 290_000, memoryMb: 768 };
/** exercise id -> the function it defines */
const PURE: Record<string, string> = {
  "compute-strides": "computeStrides",
  "flatten-nested": "flattenNested",
  "resolve-shape": "resolveShape",
  "broadcast-shapes": "broadcastShapes",
};

/** The reference exercise, renamed, behind a wrapper that logs its arguments. */
function logging(id: string, fn: string): string {
  const source = REFERENCE.get(id) ?? "";
  return `${source.replace(`function ${fn}(`, `function ${fn}Reference(`)}
function ${fn}(...args: any[]): any {
  const seen = ((globalThis as any).__seen ??= []) as string[];
  seen.push(JSON.stringify([${JSON.stringify(fn)}, args]));
  console.log("ARG " + JSON.stringify([${JSON.stringify(fn)}, args]));
  return (${fn}Reference as any)(...args);
}`;
}

async function grade(sources: Record<string, string>): Promise<SubmissionResult> {
  const r = await gradeSubmission(manifest, studentNotebook(manifest, { sources }), LIMITS);
  assert.is(r.status, "graded", r.reason);
  return r;
}

let leaked: Array<[string, unknown[]]> = [];

test("submission 1: correct, logging; nothing printed during a hidden check is shown", async () => {
  const sources: Record<string, string> = Object.fromEntries(REFERENCE);
  for (const [id, fn] of Object.entries(PURE)) sources[id] = logging(id, fn);
  // The delayed channel: dump everything seen so far during slice-indices' visible check.
  const slice = REFERENCE.get("slice-indices") ?? "";
  sources["slice-indices"] =
    `${slice.replace("function sliceIndices(", "function sliceIndicesReference(")}
let dumped = false;
function sliceIndices(...args: any[]): any {
  // Packed as an attacker would, to fit the feedback's 8000 characters: each call once, compressed.
  if (!dumped) { dumped = true; console.log("DUMP " + require("zlib").deflateSync(JSON.stringify([...new Set((globalThis as any).__seen ?? [])])).toString("base64")); }
  return (sliceIndicesReference as any)(...args);
}`;
  const r = await grade(sources);
  const automatic = manifest.totalPoints - (r.manualMaxScore ?? 0);
  assert.is(r.score, automatic, "a correct submission earns every automatic point, whatever it prints"); // prettier-ignore
  const shown = r.tests.map((t) => t.output).join("\n");
  // A fixed hidden input of computeStrides, logged at once during its hidden check: not shown.
  assert.not.match(shown, /ARG \["computeStrides",\[\[4,3,2,5\]\]\]/);
  // Its visible input, logged the same way: shown.
  assert.match(shown, /ARG \["computeStrides",\[\[2,3\]\]\]/);
  const dump = /DUMP (.*)/.exec(shown)?.[1];
  assert.ok(dump, "the delayed dump reaches the feedback (the documented limit)");
  // The feedback may cut a long dump (the seed draws the hidden inputs' sizes): the attacker
  // keeps what arrived, every call recorded before the cut.
  const unpacked = inflateSync(Buffer.from(dump, "base64"), { finishFlush: constants.Z_SYNC_FLUSH }).toString("utf8"); // prettier-ignore
  leaked = [...unpacked.matchAll(/"((?:[^"\\]|\\.)*)"/g)].flatMap((m) => {
    try {
      return [JSON.parse(JSON.parse(`"${m[1]}"`) as string) as [string, unknown[]]];
    } catch {
      return []; // the last, cut entry
    }
  });
  assert.ok(leaked.some(([fn, a]) => fn === "computeStrides" && JSON.stringify(a) === "[[4,3,2,5]]"), "it holds the hidden inputs"); // prettier-ignore
});

test("submission 2: a lookup table of every leaked input and its right answer earns 0", async () => {
  assert.ok(leaked.length > 20, "submission 1 leaked its inputs");
  // The right answers, from the reference package, to exactly the leaked questions.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const ref = require(join(KIT_ROOT, "tinytorch-ts", "dist", "core", "tensor")) as Record<string, (...a: unknown[]) => unknown>; // prettier-ignore
  const table: Record<string, { value?: unknown; error?: string }> = {};
  for (const [fn, args] of leaked) {
    try {
      const v = ref[fn](...args) as { data?: Float32Array; shape?: number[] } | unknown;
      const plain = v && typeof v === "object" && "data" in (v as object) ? { data: Array.from((v as { data: Float32Array }).data), shape: (v as { shape: number[] }).shape, f32: true } : v; // prettier-ignore
      table[JSON.stringify([fn, args])] = { value: plain };
    } catch (e) {
      table[JSON.stringify([fn, args])] = { error: (e as Error).message };
    }
  }
  const lookup = `const TABLE: Record<string, any> = ${JSON.stringify(table)};
function answer(fn: string, args: any[]): any {
  const hit = TABLE[JSON.stringify([fn, args])];
  if (!hit) throw new Error("Not implemented: " + fn);
  if (hit.error !== undefined) throw new Error(hit.error);
  const v = hit.value;
  return v && v.f32 ? { data: Float32Array.from(v.data), shape: v.shape } : v;
}`;
  const sources: Record<string, string> = {};
  for (const [id, fn] of Object.entries(PURE)) {
    sources[id] = `${id === "compute-strides" ? lookup : ""}
function ${fn}(...args: any[]): any { return answer(${JSON.stringify(fn)}, args); }`;
  }
  const r = await grade(sources);
  for (const id of Object.keys(PURE)) {
    const t = r.tests.find((x) => x.gradeId === `test-unit-${id}`);
    assert.is(t?.status, "failed", `test-unit-${id}: ${t?.message ?? ""}`);
  }
  assert.is(r.score, 0);
});

test.run();
