// test-tier: kernel
// The notebook version of milestone 03 (milestones/03_mlp_digits.ipynb) runs in a real tslab
// kernel and draws the misclassified digits as an image. To keep the test short it trains one
// epoch on every tenth digit (the same cell with options); the full run is the notebook as given.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { KIT_ROOT } from "@tinytorch-ts/core";
import { parseIpynb } from "@tinytorch-ts/core/notebook";
import { runNotebook } from "@tinytorch-ts/core/run";

const MILESTONES = join(KIT_ROOT, "milestones");

test("the notebook runs and shows the report and the misclassified digits", async () => {
  const file = join(MILESTONES, "03_mlp_digits.ipynb");
  const nb = parseIpynb(readFileSync(file, "utf8"), file);
  const code = nb.cells.filter((c) => c.cell_type === "code");
  assert.is(code.length, 1);
  assert.match(code[0].source, /runMilestone\(\)/);
  code[0].source = code[0].source.replace(
    "runMilestone()",
    "runMilestone({ epochs: 1, stride: 10 })",
  );
  const run = await runNotebook(nb, {
    cellTimeoutMs: 300_000,
    start: { cwd: MILESTONES },
    file,
  });
  assert.equal(
    run.cells.filter((c) => c.status !== "ok").map((c) => c.error?.evalue ?? c.reason),
    [],
  );
  const outputs = run.notebook.cells.flatMap((c) => (c.cell_type === "code" ? c.outputs : []));
  const images = outputs.filter(
    (o) => o.output_type === "display_data" && "image/svg+xml" in o.data,
  );
  assert.is(images.length, 1, "one strip of misclassified digits");
  const svg = String((images[0] as { data: Record<string, unknown> }).data["image/svg+xml"]);
  assert.match(svg, /<svg [^>]*>.*\d → \d/s);
  const text = outputs
    .filter((o) => o.output_type === "stream")
    .map((o) => String((o as { text: unknown }).text))
    .join("");
  assert.match(text, /Milestone 03/);
  assert.match(text, /confusion matrix/);
});

test.run();
