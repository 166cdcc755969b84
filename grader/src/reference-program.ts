// The trusted reference run's program: the module's cells as instrument.ts makes them, with the
// reference solutions, compiled once with tslab's own converter (reference-compile.cjs, in a
// child process, in the module's restricted kit) and cached by content, in memory and on disk.
// The audit's mutations (wrong answers to an exercise) are compiled in the same pass, each
// against the declarations of the cells before it.
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { KIT_ROOT, runProcess, writeFileAtomic, type GradingManifest } from "@tinytorch-ts/core";
import { instrument } from "./instrument";
import { plannedFromManifest, type PlannedCell } from "./reconstruct";

export interface CompiledCell {
  index: number;
  js: string;
  async: boolean;
  lastExpression: string | null;
  /** The grade_id of a test cell, null for other cells. */
  test: string | null;
}

/** A mutation, compiled to stand in for its exercise's cell (or why it does not compile). */
export interface CompiledMutation {
  exercise: string;
  description: string;
  /** The manifest index of the cell it replaces. */
  index: number;
  cell?: CompiledCell;
  error?: string;
}

export interface CompiledProgram {
  cells: CompiledCell[];
  /** Only for the "graded" variant. */
  mutations: CompiledMutation[];
}

/**
 * "graded": the cells a student's kernel runs (tests without expected values, no demos); "full":
 * the whole notebook, tests with their expected values and demos, to check the reference
 * against its own tests (compiling it type-checks every cell as a student's Jupyter would).
 */
export type ReferenceVariant = "graded" | "full";

export class ReferenceError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ReferenceError";
  }
}

/** The notebook the reference runs: the manifest's cells, solutions from the manifest. */
export function referencePlan(manifest: GradingManifest): PlannedCell[] {
  // gradingSource is the reference solution for solution cells.
  return manifest.cells.map(plannedFromManifest);
}

const TSLAB_VERSION = (() => {
  try {
    return (JSON.parse(readFileSync(require.resolve("tslab/package.json"), "utf8")) as { version: string }).version; // prettier-ignore
  } catch {
    return "unknown";
  }
})();

/** Where compiled reference programs are kept between runs (the grader's own files). */
export const REFERENCE_CACHE_DIR = join(KIT_ROOT, ".tito-cache", "reference");
const memoryCache = new Map<string, Promise<CompiledProgram>>();

/** How long one compile may take before it is stopped. */
const COMPILE_TIMEOUT_MS = 300_000;

type CompileOutput = {
  ok: boolean;
  cells?: Array<Omit<CompiledCell, "test">>;
  mutations?: Array<{ ok: boolean; js?: string; async?: boolean; lastExpression?: string | null; error?: string }>; // prettier-ignore
  index?: number;
  error?: string;
};

/** Writes a compiled program to the disk cache, unless it is there; a failure is no error. */
function keepOnDisk(file: string, program: CompiledProgram): void {
  if (existsSync(file)) return;
  try {
    mkdirSync(dirname(file), { recursive: true });
    writeFileAtomic(file, JSON.stringify(program));
  } catch {
    // The cache is an optimisation: a read-only kit still grades.
  }
}

export function compileReference(
  manifest: GradingManifest,
  variant: ReferenceVariant,
  kitDir: string,
  cacheDir = REFERENCE_CACHE_DIR,
): Promise<CompiledProgram> {
  const cells = instrument(manifest, referencePlan(manifest), { whole: variant === "full" });
  const input = cells.map((c) => ({ index: c.planned.index, code: c.code }));
  const indexOf = new Map(manifest.cells.flatMap((c) => (c.grade_id ? [[c.grade_id, c.index]] : []))); // prettier-ignore
  const mutations =
    variant === "graded"
      ? (manifest.mutations ?? []).map((m) => ({ ...m, index: indexOf.get(m.exercise) ?? -1 }))
      : [];
  const key = createHash("sha256")
    .update(`${TSLAB_VERSION}\n${JSON.stringify(input)}\n${JSON.stringify(mutations)}`)
    .digest("hex");
  const file = join(cacheDir, `${manifest.module}-${variant}-${key.slice(0, 24)}.json`);
  const cached = memoryCache.get(key);
  // Compiled already in this process: the program is kept in every cache folder asked for (a
  // Gradescope bundle collects its folder's files).
  if (cached) return cached.then((program) => (keepOnDisk(file, program), program));
  const promise = (async (): Promise<CompiledProgram> => {
    if (existsSync(file)) {
      try {
        return JSON.parse(readFileSync(file, "utf8")) as CompiledProgram;
      } catch {
        // A damaged cache entry is compiled again.
      }
    }
    const r = await runProcess(process.execPath, [join(__dirname, "reference-compile.cjs")], {
      timeoutMs: COMPILE_TIMEOUT_MS,
      cwd: kitDir,
      env: { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: kitDir, LANG: "C.UTF-8" },
      input: JSON.stringify({ cells: input, mutations: mutations.map((m) => ({ index: m.index, code: m.source })) }), // prettier-ignore
      maxOutputBytes: 256 * 1024 * 1024,
    });
    let parsed: CompileOutput;
    try {
      parsed = JSON.parse(r.stdout) as CompileOutput;
    } catch {
      throw new ReferenceError(`compiling the reference of ${manifest.module} failed: ${r.error ?? r.stderr.split("\n")[0] ?? `exit ${r.code}`}`); // prettier-ignore
    }
    if (!parsed.ok || !parsed.cells) {
      const cell = manifest.cells[parsed.index ?? -1];
      throw new ReferenceError(`${manifest.sourceFile}: the reference of ${manifest.module} does not compile: cell "${cell?.grade_id ?? cell?.id ?? "?"}": ${parsed.error ?? "?"}`); // prettier-ignore
    }
    const byIndex = new Map(cells.map((c) => [c.planned.index, c.planned]));
    const testOf = (index: number) => {
      const planned = byIndex.get(index);
      return planned?.role === "grade" ? (planned.gradeId ?? `cell-${index}`) : null;
    };
    // The compiler reports mutations in cell order; match them up the same way.
    const ordered = [...mutations].sort((a, b) => a.index - b.index);
    const program: CompiledProgram = {
      cells: parsed.cells.map((c) => ({ ...c, test: testOf(c.index) })),
      mutations: ordered.map((m, k) => {
        const out = parsed.mutations?.[k];
        const base = { exercise: m.exercise, description: m.description, index: m.index };
        if (m.index < 0) return { ...base, error: "its exercise is not in the manifest" };
        if (!out?.ok) return { ...base, error: out?.error ?? "it did not compile" };
        return { ...base, cell: { index: m.index, js: out.js ?? "", async: out.async === true, lastExpression: out.lastExpression ?? null, test: null } }; // prettier-ignore
      }),
    };
    keepOnDisk(file, program);
    return program;
  })();
  memoryCache.set(key, promise);
  promise.catch(() => memoryCache.delete(key));
  return promise;
}
