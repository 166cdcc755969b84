// THE order of the notebook transforms, in one place. Every notebook the build produces from a
// module source is this list of stages, each tagged with the products it applies to:
//   student : notebooks/NN_name.ipynb, what students open
//   grading : what the grader runs in grade cells (hidden tests still in); the manifest takes
//             everything else (metadata, checksums) from the student notebook, cell by cell
//   package : the source a student package is exported from (no solutions, hidden cells kept
//             because `//| hide` cells may be exported)
//   reference: the manifest's solution cells as the instructor wrote them (the grader's
//             trusted reference run executes them)
import type { Notebook, Transform } from "@tinytorch-ts/core/notebook";
import { addChecksums } from "../transforms/checksum";
import { clearHiddenTests } from "../transforms/clear-hidden-tests";
import { clearOutputs } from "../transforms/clear-outputs";
import { clearRubrics } from "../transforms/clear-rubrics";
import { hideCells } from "../transforms/hide-cells";
import { lockCells } from "../transforms/lock-cells";
import { stripSolutions, type ReleaseTier } from "../transforms/strip-solutions";
import { studentMetadata } from "../transforms/student-metadata";

export type Product = "student" | "grading" | "package" | "reference";

interface Stage {
  name: string;
  transform: (tier: ReleaseTier) => Transform;
  products: readonly Product[];
}

const ALL: readonly Product[] = ["student", "grading", "package"];
const ALL_AND_REFERENCE: readonly Product[] = [...ALL, "reference"];

export const STAGES: readonly Stage[] = [
  { name: "hide-cells", transform: () => hideCells, products: ["student", "grading", "reference"] }, // prettier-ignore
  { name: "clear-outputs", transform: () => clearOutputs, products: ALL_AND_REFERENCE },
  // The manifest takes each rubric from the reference product; no other product keeps one.
  { name: "clear-rubrics", transform: () => clearRubrics, products: ALL },
  { name: "strip-solutions", transform: (tier) => stripSolutions(tier), products: ALL },
  {
    name: "clear-hidden-tests",
    transform: () => clearHiddenTests,
    products: ["student", "package"],
  },
  // Locking and checksums come last: they describe the cells exactly as the student gets them.
  { name: "lock-cells", transform: () => lockCells, products: ["student"] },
  { name: "checksum", transform: () => addChecksums, products: ["student"] },
  { name: "student-metadata", transform: () => studentMetadata, products: ["student"] },
];

/** Runs the stages for one product. `skip` (stage names) exists to test the leak audit. */
export function runPipeline(
  nb: Notebook,
  product: Product,
  tier: ReleaseTier,
  skip: readonly string[] = [],
): Notebook {
  let out = nb;
  for (const stage of STAGES) {
    if (stage.products.includes(product) && !skip.includes(stage.name)) {
      out = stage.transform(tier)(out);
    }
  }
  return out;
}
