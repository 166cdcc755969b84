// Mutation cells (`//| mutation <exercise> <what is wrong>`) are plausible wrong answers to an
// exercise, written next to it in the module source. They are taken out of the notebook before
// anything else is built, so no student notebook, package file or grading cell ever holds one;
// the manifest carries them for the audit, which grades each and fails if one earns the
// exercise's points.
import { parseDirectives, stripDirectives, type Notebook } from "@tinytorch-ts/core/notebook";
import type { ManifestMutation } from "@tinytorch-ts/core";

export function takeMutations(nb: Notebook): { notebook: Notebook; mutations: ManifestMutation[] } {
  // prettier-ignore
  const mutations: ManifestMutation[] = [];
  const cells = nb.cells.filter((cell) => {
    if (cell.cell_type !== "code") return true;
    const d = parseDirectives(cell.source).find((x) => x.name === "mutation");
    if (!d) return true;
    const m = /^([a-zA-Z0-9_-]+)\s+(.+)$/.exec(d.arg ?? "");
    if (m) mutations.push({ exercise: m[1], description: m[2].trim(), source: stripDirectives(cell.source) }); // prettier-ignore
    return false;
  });
  return { notebook: { ...nb, cells }, mutations };
}
