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

/** What the reference compiler makes of a module, in one pass. */
export interface CompiledPrograms {
  /** The whole notebook: demos, and tests with their expected values (the audit's check). */
  full: CompiledCell[];
  /** The tests with their expected values, without the demos (which do not use the seed). */
  checked: CompiledCell[];
  /** What a student's kernel runs, with the reference's solutions: no demos, no expected values. */
  graded: CompiledCell[];
  /** The same with every solution cell as the student notebook has it (the stubs). */
  untouched: CompiledCell[];
  mutations: CompiledMutation[];
}

/** One program to run, and the cells to swap into it. */
export type CompiledProgram = CompiledCell[];

/**
 * "graded": the cells a student's kernel runs (tests without expected values, no demos); "full":
 * the whole notebook, tests with their expected values and demos, to check the reference
 * against its own tests (compiling it type-checks every cell as a student's Jupyter would);
 * "checked": the full program without its demos (the audit's second seed: demos draw nothing
 * from it); "untouched": the graded program with the student notebook's stubs (the audit's
 * hole check).
 */
export type ReferenceVariant = "graded" | "full" | "checked" | "untouched";

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
const memoryCache = new Map<string, Promise<CompiledPrograms>>();

/** The shape of CompiledPrograms: a cache entry of another shape is not reused. */
const PROGRAMS_FORMAT = 2;

/** How long one compile may take before it is stopped. */
const COMPILE_TIMEOUT_MS = 300_000;

type Compiled = { ok: boolean; js?: string; async?: boolean; lastExpression?: string | null; error?: string }; // prettier-ignore
type CompileOutput = {
  ok: boolean;
  cells?: Array<Omit<CompiledCell, "test"> & { alternatives: Record<string, Compiled> }>;
  index?: number;
  error?: string;
};

/** Writes a compiled program to the disk cache, unless it is there; a failure is no error. */
function keepOnDisk(file: string, program: CompiledPrograms): void {
  if (existsSync(file)) return;
  try {
    mkdirSync(dirname(file), { recursive: true });
    writeFileAtomic(file, JSON.stringify(program));
  } catch {
    // The cache is an optimisation: a read-only kit still grades.
  }
}

/**
 * Every program of a module, compiled in one pass (a cell's alternatives are compiled against
 * the same declarations as its main code: a demo declares nothing, and a test's stripped copy
 * and a solution's stub declare what the originals do).
 */
export function compileReference(
  manifest: GradingManifest,
  kitDir: string,
  cacheDir = REFERENCE_CACHE_DIR,
  /** What the kit holds (kit.ts's kitContents): cells type-check against its declarations. */
  kitContents = kitDir,
): Promise<CompiledPrograms> {
  const plan = referencePlan(manifest);
  const whole = instrument(manifest, plan, { whole: true });
  const graded = new Map(instrument(manifest, plan).map((c) => [c.planned.index, c.code]));
  const mutations = manifest.mutations ?? [];
  const indexOf = new Map(manifest.cells.flatMap((c) => (c.grade_id ? [[c.grade_id, c.index]] : []))); // prettier-ignore
  const input = whole.map((c) => {
    const i = c.planned.index;
    const alternatives: Record<string, string> = {};
    const stripped = graded.get(i);
    if (c.planned.role === "grade" && stripped !== undefined && stripped !== c.code) alternatives.graded = stripped; // prettier-ignore
    const m = manifest.cells[i];
    if ((m.role === "solution" || m.role === "manual") && m.cell_type === "code") alternatives.stub = m.studentSource; // prettier-ignore
    mutations.forEach((mu, k) => {
      if (indexOf.get(mu.exercise) === i) alternatives[`mutation-${k}`] = mu.source;
    });
    return { index: i, code: c.code, alternatives };
  });
  const key = createHash("sha256").update(`${PROGRAMS_FORMAT}\n${TSLAB_VERSION}\n${kitContents}\n${JSON.stringify(input)}`).digest("hex"); // prettier-ignore
  const file = join(cacheDir, `${manifest.module}-${key.slice(0, 24)}.json`);
  const cached = memoryCache.get(key);
  // Compiled already in this process: the programs are kept in every cache folder asked for (a
  // Gradescope bundle collects its folder's files).
  if (cached) return cached.then((programs) => (keepOnDisk(file, programs), programs));
  const promise = (async (): Promise<CompiledPrograms> => {
    if (existsSync(file)) {
      try {
        return JSON.parse(readFileSync(file, "utf8")) as CompiledPrograms;
      } catch {
        // A damaged cache entry is compiled again.
      }
    }
    const r = await runProcess(process.execPath, [join(__dirname, "reference-compile.cjs")], {
      timeoutMs: COMPILE_TIMEOUT_MS,
      cwd: kitDir,
      env: { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: kitDir, LANG: "C.UTF-8" },
      input: JSON.stringify({ cells: input }),
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
    const programs = assemble(
      manifest,
      whole.map((c) => c.planned),
      parsed.cells,
      graded,
    );
    keepOnDisk(file, programs);
    return programs;
  })();
  memoryCache.set(key, promise);
  promise.catch(() => memoryCache.delete(key));
  return promise;
}

/** The programs, from the one pass's cells and their alternatives. */
function assemble(
  manifest: GradingManifest,
  planned: PlannedCell[],
  cells: NonNullable<CompileOutput["cells"]>,
  graded: ReadonlyMap<number, string>,
): CompiledPrograms {
  const byIndex = new Map(planned.map((p) => [p.index, p]));
  const test = (index: number) => {
    const p = byIndex.get(index);
    return p?.role === "grade" ? (p.gradeId ?? `cell-${index}`) : null;
  };
  const as = (index: number, c: Omit<Compiled, "ok">): CompiledCell => ({ index, js: c.js ?? "", async: c.async === true, lastExpression: c.lastExpression ?? null, test: test(index) }); // prettier-ignore
  const full = cells.map((c) => as(c.index, c));
  const gradedCells = cells.filter((c) => graded.has(c.index));
  const gradedProgram = gradedCells.map((c) => as(c.index, c.alternatives.graded ?? c));
  const untouched = gradedCells.map((c) => {
    const stub = c.alternatives.stub;
    if (stub && !stub.ok) throw new ReferenceError(`${manifest.sourceFile}: the stub of cell "${byIndex.get(c.index)?.gradeId ?? c.index}" does not compile: ${stub.error ?? "?"}`); // prettier-ignore
    return as(c.index, stub ?? c.alternatives.graded ?? c);
  });
  const indexOf = new Map(manifest.cells.flatMap((c) => (c.grade_id ? [[c.grade_id, c.index]] : []))); // prettier-ignore
  const mutations = (manifest.mutations ?? []).map((m, k): CompiledMutation => {
    const index = indexOf.get(m.exercise) ?? -1;
    const base = { exercise: m.exercise, description: m.description, index };
    const out = cells.find((c) => c.index === index)?.alternatives[`mutation-${k}`];
    if (index < 0 || !out) return { ...base, error: "its exercise is not in the manifest" };
    if (!out.ok) return { ...base, error: out.error ?? "it did not compile" };
    return { ...base, cell: as(index, out) };
  });
  const checked = full.filter((c) => graded.has(c.index));
  return { full, checked, graded: gradedProgram, untouched, mutations };
}
