// Docs that match the code: every repository path the README and docs/ cite in backticks
// (`grader/src/score.ts`, `tests/grader/…`, `bench/conv.ts`) exists. A file that moves or goes
// away fails here, naming the document and the line. Paths with placeholders (`NN_name`,
// `<student>`, `*`) are patterns, not files, and are left out; so are generated paths that a
// fresh clone has not built yet (notebooks/, grader/manifests/, dist/), or that tests write
// (tests/artifacts/, git-ignored: whether it exists depends on which test ran first).
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { KIT_ROOT as ROOT } from "@tinytorch-ts/core";

const TOP = ["core", "grader", "tito", "tinytorch-ts", "tests", "bench", "scripts", "milestones", "modules", "docs"]; // prettier-ignore
const GENERATED = [
  /^notebooks\//,
  /^grader\/manifests\//,
  /\/dist\//,
  /^tinytorch-ts\/src\/(?!support\/)/,
  /^tests\/artifacts\//,
];
const PLACEHOLDER = /NN|NAME|<|>|\*|\{|\}|\.\.\.|…|\$/;
/** A file (it has an extension) or a folder (it ends with /); `core/tensor` is an import path. */
const FILE_OR_FOLDER = /\.[A-Za-z0-9]+$|\/$/;

function documents(): string[] {
  return ["README.md", ...readdirSync(join(ROOT, "docs")).filter((f) => f.endsWith(".md")).map((f) => `docs/${f}`)]; // prettier-ignore
}

/** Every `path/like/this.ext` or `dir/` in backticks that starts at a top-level folder. */
export function citedPaths(text: string): Array<{ path: string; line: number }> {
  const out: Array<{ path: string; line: number }> = [];
  text.split("\n").forEach((line, i) => {
    for (const m of line.matchAll(/`([^`\s]+)`/g)) {
      const raw = m[1].replace(/[:,.;)]+$/, "").replace(/:\d+(-\d+)?$/, "");
      const top = raw.split("/")[0];
      if (!TOP.includes(top) || !raw.includes("/") || !FILE_OR_FOLDER.test(raw)) continue;
      if (PLACEHOLDER.test(raw) || GENERATED.some((g) => g.test(raw))) continue;
      out.push({ path: raw, line: i + 1 });
    }
  });
  return out;
}

test("citedPaths finds repository paths and skips patterns and generated files", () => {
  const found = citedPaths("see `grader/src/score.ts:12`, `tests/course/NN_name.test.ts`, `notebooks/01_tensor.ipynb` and `npm test`"); // prettier-ignore
  assert.equal(found, [{ path: "grader/src/score.ts", line: 1 }]);
});

test("every path the README and docs/ cite exists", () => {
  const missing: string[] = [];
  for (const doc of documents()) {
    for (const { path, line } of citedPaths(readFileSync(join(ROOT, doc), "utf8"))) {
      if (!existsSync(join(ROOT, path))) missing.push(`${doc}:${line}: ${path}`);
    }
  }
  assert.equal(missing, [], `paths cited but not in the repository:\n${missing.join("\n")}`);
});

test.run();
