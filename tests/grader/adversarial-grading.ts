// The adversarial suites' way to grade the fixture: a hostile notebook graded in a real,
// sandboxed kernel, its result searched for hidden-test text (as printed, and after base64, hex
// and zlib decoding), which must never reach a student.
import * as assert from "uvu/assert";
import { gradeSubmission, type GradeOptions } from "../../grader/src/grade-submission";
import type { SubmissionResult } from "../../grader/src/types";
import {
  HIDDEN_SNIPPETS,
  loadFixtureManifest,
  studentNotebook,
  WRONG_FOR_NEGATIVES_SOURCES,
} from "./helpers";
import type { StudentEdits } from "./helpers";
import { leakedSnippets } from "./leak-check";

export const manifest = loadFixtureManifest();
/** Tight limits: the fixture's honest cells take milliseconds. */
export const LIMITS = { cellTimeoutMs: 6000, notebookTimeoutMs: 90_000, memoryMb: 256 };

export async function grade(
  edits: StudentEdits | string,
  opts: GradeOptions = {},
): Promise<SubmissionResult> {
  const text = typeof edits === "string" ? edits : studentNotebook(manifest, edits);
  const result = await gradeSubmission(manifest, text, { ...LIMITS, ...opts });
  assert.equal(leakedSnippets(result, HIDDEN_SNIPPETS), [], "hidden test text leaked");
  return result;
}

export function byId(r: SubmissionResult, id: string) {
  const t = r.tests.find((x) => x.gradeId === id);
  if (!t) throw new Error(`no result for ${id}`);
  return t;
}

/** Right for positive inputs only: passes each test's visible checks, fails its hidden negative inputs. */
export const WRONG_FOR_NEGATIVES = WRONG_FOR_NEGATIVES_SOURCES;
