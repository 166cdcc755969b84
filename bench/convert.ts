// `npm run bench:convert`: 50 generated module-sized sources (about 60 cells each) converted
// .ts -> .ipynb and .ipynb -> .ts in one process. Prints the time of each direction and the
// total (the issue's target: under 0.5 s for both directions). Nothing is timed in the tests.
import { performance } from "node:perf_hooks";
import { parseIpynb, parsePercent, writeIpynb, writePercent } from "@tinytorch-ts/core/notebook";

const FILES = 50;
const STEPS = 14; // each step: exercise markdown, solution cell, test cell, demo cell
/** A paragraph of prose, repeated to give markdown cells the size they have in real modules. */
const PROSE =
  "// A tensor stores numbers in a flat buffer and reads them through a shape and strides; " +
  "this paragraph stands in for the explanations a real module gives at every step.";

function header(): string[] {
  return [
    "// ---",
    "// jupyter:",
    "//   jupytext:",
    "//     text_representation:",
    "//       extension: .ts",
    "//       format_name: percent",
    "//   kernelspec:",
    "//     display_name: TypeScript",
    "//     language: typescript",
    "//     name: tslab",
    "// ---",
    "",
  ];
}

function nbgrader(kind: "solution" | "grade", id: string): string {
  return kind === "solution"
    ? `nbgrader={"grade": false, "grade_id": "${id}", "locked": false, "schema_version": 3, "solution": true, "task": false}`
    : `nbgrader={"grade": true, "grade_id": "${id}", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}`;
}

function moduleSource(m: number): string {
  const out = header();
  out.push(
    "// %% [markdown]",
    `// # Module ${m}: Generated`,
    "//",
    "// Why this module exists, in a few lines of prose.",
    "",
  );
  out.push("// %%", `//| default_exp core.generated${m}`, "");
  out.push("// %%", "//| export", 'import { Tensor } from "tinytorch-ts/core/tensor";', "");
  for (let s = 0; s < STEPS; s++) {
    const id = `step-${s}`;
    out.push(
      "// %% [markdown]",
      `// ## Step ${s}: an operation`,
      "//",
      "// **TODO**: implement it.",
      "//",
    );
    out.push(
      "// **APPROACH**: 1. read the shape 2. loop 3. return a new tensor",
      "//",
      "// **HINTS**: use `Math.max`.",
    );
    for (let p = 0; p < 12; p++) out.push("//", PROSE);
    out.push("");
    out.push(
      `// %% ${nbgrader("solution", id)}`,
      "//| export",
      `class Op${s} {`,
      "  forward(x: number[]): number[] {",
    );
    out.push(
      "    // ### BEGIN SOLUTION",
      "    const out: number[] = [];",
      "    for (const v of x) {",
    );
    for (let k = 0; k < 12; k++) {
      out.push(`      // step ${k}: "${k}" and 'quotes', a / b, and /re/ in a comment`);
      out.push(`      const label${k} = "item ${k}: " + String(v / ${k + 1}) + \`/${k}\`;`);
    }
    out.push(
      `      out.push(Math.max(0, v) * ${s + 1});`,
      "    }",
      "    const note = `template ${out.length}`;",
    );
    out.push("    return out;", "    // ### END SOLUTION", "  }", "}", "");
    out.push(`// %% ${nbgrader("grade", `test-${id}`)}`, `function testUnit${s}(): void {`);
    out.push(
      `  assertEqual(new Op${s}().forward([-1, 2]), [0, ${2 * (s + 1)}]);`,
      "  // ### BEGIN HIDDEN TESTS",
    );
    out.push(
      `  assertEqual(new Op${s}().forward([3]), [${3 * (s + 1)}]);`,
      "  // ### END HIDDEN TESTS",
    );
    out.push(`  passed("testUnit${s}");`, "}", `testUnit${s}();`, "");
    out.push("// %%", `await demo("op${s}", () => new Op${s}().forward([1, -2, 3]));`, "");
  }
  out.push("// %% [markdown]", "// ## Summary", "//", "// What we built.");
  return out.join("\n") + "\n";
}

const sources = Array.from({ length: FILES }, (_, m) => moduleSource(m));
const cells = parsePercent(sources[0], "m0_dev.ts").notebook.cells.length;

interface Pass {
  toIpynb: number;
  toTs: number;
  cpu: number;
}

function once(): Pass {
  const cpu0 = process.cpuUsage();
  let t = performance.now();
  const notebooks = sources.map((s, i) => writeIpynb(parsePercent(s, `m${i}_dev.ts`).notebook));
  const toIpynb = performance.now() - t;
  t = performance.now();
  const back = notebooks.map((n, i) => writePercent(parseIpynb(n, `m${i}_dev.ipynb`)));
  const toTs = performance.now() - t;
  const used = process.cpuUsage(cpu0);
  back.forEach((b, i) => {
    if (b !== sources[i]) throw new Error(`round trip changed module ${i}`);
  });
  return { toIpynb, toTs, cpu: (used.user + used.system) / 1000 };
}

// The first pass includes JIT warm-up; report it and a steady-state pass. Wall time depends on
// what else the machine runs, so the process's CPU time is printed too.
const cold = once();
const warm = once();
const kb = Math.round(sources.reduce((n, s) => n + s.length, 0) / 1024);
const fmt = (ms: number) => `${(ms / 1000).toFixed(3)} s`;
console.log(
  `convert: ${FILES} modules x ${cells} cells (${kb} KiB of source, ${Math.round(kb / FILES)} KiB each), both directions, one process`,
);
for (const [name, r] of [
  ["first pass", cold],
  ["second pass", warm],
] as const) {
  console.log(
    `  ${name.padEnd(12)} .ts->.ipynb ${fmt(r.toIpynb)}  .ipynb->.ts ${fmt(r.toTs)}  total ${fmt(r.toIpynb + r.toTs)} wall, ${fmt(r.cpu)} cpu`,
  );
}
const total = cold.toIpynb + cold.toTs;
console.log(`  target < 0.5 s (first pass, wall): ${total < 500 ? "met" : "NOT met"}`);
