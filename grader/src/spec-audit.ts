// Spec and test agree: a student who follows an exercise's text exactly must pass its hidden
// tests. The checkable part: every word a test requires in an error message (assertThrows's
// pattern) must appear in what the student is shown for that exercise — its instructions (the
// cells since the previous test), its stub, and the visible part of its test. A hidden check
// that wants "addTiles" in a message no text mentions fails a correct solution.
import type { GradingManifest } from "@tinytorch-ts/core";
import type { Pattern, TestRecords } from "tinytorch-ts/support/checks";

/** Words a message needs by itself, not data the test feeds in (shapes, numbers, file names). */
const STOP = new Set(["the", "and", "but", "for", "with", "has", "have", "not", "was", "are", "from", "into", "than", "that", "this"]); // prettier-ignore

/** The words a pattern needs: its words of 3+ letters (a RegExp's literal ones), stop words aside. */
export function requiredTokens(pattern: Pattern): string[] {
  const text =
    "text" in pattern
      ? pattern.text
      : // Drop escapes and classes (\d, \s, [a-z], {2,}), keep the literal runs.
        pattern.source.replace(/\\[a-zA-Z]|\[[^\]]*\]|\{[^}]*\}/g, " ");
  return (text.match(/[A-Za-z][A-Za-z_-]{2,}/g) ?? []).filter((w) => !STOP.has(w.toLowerCase()));
}

/** What a student sees of the exercise a test cell grades: the cells since the previous test. */
export function exerciseText(manifest: GradingManifest, testIndex: number): string {
  const parts: string[] = [];
  for (let i = testIndex; i >= 0; i--) {
    const c = manifest.cells[i];
    if (i < testIndex && c.role === "grade") break;
    parts.push(c.studentSource);
  }
  return parts.join("\n");
}

/** Each required word that the exercise's text never states, as a problem. */
export function unstatedErrorWords(
  manifest: GradingManifest,
  records: Map<string, TestRecords>,
): string[] {
  // prettier-ignore
  const problems: string[] = [];
  for (const [test, r] of records) {
    const index = manifest.cells.findIndex((c) => c.grade_id === test);
    if (index < 0) continue;
    const text = exerciseText(manifest, index).toLowerCase();
    const code = manifest.cells[index].gradingSource.toLowerCase();
    r.checks.forEach((c, i) => {
      if (c.kind !== "throws" || !c.pattern) return;
      for (const word of requiredTokens(c.pattern)) {
        const w = word.toLowerCase();
        // A word the test also uses elsewhere is data it fed in (`load("missing.ckpt")`).
        if (code.split(w).length - 1 >= 2) continue;
        if (!text.includes(w)) {
          problems.push(`${test}, check ${i + 1}: the error message must contain "${word}", which the exercise's text never says; state it in the TODO or HINTS`); // prettier-ignore
        }
      }
    });
  }
  return problems;
}
