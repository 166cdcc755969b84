// The trusted side of every verdict: the module's reference solution run with the very test
// cells the student's kernel runs (instrument.ts), on the same seed, in a process of the
// grader's that never sees the student. The cells are compiled once per module with tslab's own
// converter (reference-compile.cjs, cached on disk by content), then each submission's seed
// costs one short Node process that executes the compiled JavaScript (reference-runner.cjs):
// no TypeScript at grading time, so the trusted run does not slow grading down.
import { createHash, randomBytes } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { KIT_ROOT, runProcess, writeFileAtomic, type GradingManifest } from "@tinytorch-ts/core";
import type { TestRecords } from "tinytorch-ts/support/checks";
import { instrument } from "./instrument";
import type { PlannedCell } from "./reconstruct";
import { defaultPackageSource, makeScratch, type PackageSource, type Scratch } from "./scratch";

export interface CompiledCell {
  index: number;
  js: string;
  async: boolean;
  lastExpression: string | null;
  /** The grade_id of a test cell, null for other cells. */
  test: string | null;
}

export interface ReferenceRecords {
  /** What each test cell recorded, by grade_id. */
  records: Map<string, TestRecords>;
  /** Cells of the reference run that failed (a broken reference: no verdict can be trusted). */
  failed: Array<{ index: number; error: string }>;
}

export class ReferenceError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ReferenceError";
  }
}

/** The notebook the reference runs: the manifest's cells, solutions from the manifest. */
export function referencePlan(manifest: GradingManifest): PlannedCell[] {
  return manifest.cells.map((m) => {
    const planned: PlannedCell = {
      index: m.index,
      cellType: m.cell_type,
      role: m.role,
      source: m.gradingSource,
      origin: "manifest",
    };
    if (m.grade_id !== undefined) planned.gradeId = m.grade_id;
    if (m.points !== undefined) planned.points = m.points;
    return planned;
  });
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
const memoryCache = new Map<string, Promise<CompiledCell[]>>();

/** How long one compile or one run may take before it is stopped. */
const COMPILE_TIMEOUT_MS = 300_000;

/**
 * "graded": the cells a student's kernel runs (tests without expected values, no demos); "full":
 * the whole notebook, tests with their expected values and demos, to check the reference
 * against its own tests (compiling it type-checks every cell as a student's Jupyter would).
 */
export type ReferenceVariant = "graded" | "full";

async function compile(
  manifest: GradingManifest,
  variant: ReferenceVariant,
  kitDir: string,
  cacheDir: string,
): Promise<CompiledCell[]> {
  const cells = instrument(manifest, referencePlan(manifest), { whole: variant === "full" });
  const input = cells.map((c) => ({ index: c.planned.index, code: c.code }));
  const key = createHash("sha256")
    .update(`${TSLAB_VERSION}\n${JSON.stringify(input)}`)
    .digest("hex");
  const cached = memoryCache.get(key);
  if (cached) return cached;
  const promise = (async () => {
    const file = join(cacheDir, `${manifest.module}-${variant}-${key.slice(0, 24)}.json`);
    if (existsSync(file)) {
      try {
        return JSON.parse(readFileSync(file, "utf8")) as CompiledCell[];
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
    let parsed: { ok: boolean; cells?: Array<Omit<CompiledCell, "test">>; index?: number; error?: string }; // prettier-ignore
    try {
      parsed = JSON.parse(r.stdout) as typeof parsed;
    } catch {
      throw new ReferenceError(`compiling the reference of ${manifest.module} failed: ${r.error ?? r.stderr.split("\n")[0] ?? `exit ${r.code}`}`); // prettier-ignore
    }
    if (!parsed.ok || !parsed.cells) {
      const cell = manifest.cells[parsed.index ?? -1];
      throw new ReferenceError(`${manifest.sourceFile}: the reference of ${manifest.module} does not compile: cell "${cell?.grade_id ?? cell?.id ?? "?"}": ${parsed.error ?? "?"}`); // prettier-ignore
    }
    const byIndex = new Map(cells.map((c) => [c.planned.index, c.planned]));
    const compiled = parsed.cells.map((c) => {
      const planned = byIndex.get(c.index);
      return { ...c, test: planned?.role === "grade" ? (planned.gradeId ?? `cell-${c.index}`) : null }; // prettier-ignore
    });
    try {
      mkdirSync(cacheDir, { recursive: true });
      writeFileAtomic(file, JSON.stringify(compiled));
    } catch {
      // The cache is an optimisation: a read-only kit still grades.
    }
    return compiled;
  })();
  memoryCache.set(key, promise);
  promise.catch(() => memoryCache.delete(key));
  return promise;
}

export interface ReferenceRunnerOptions {
  /** Parent of the runner's scratch directory. */
  scratchRoot: string;
  packageSource?: PackageSource;
  repoRoot?: string;
  cacheDir?: string;
  /** The longest one reference run may take (the notebook's time limit). */
  timeoutMs: number;
  /** Default "graded". */
  variant?: ReferenceVariant;
}

/** Runs a module's reference for any seed; one per module per batch. */
export class ReferenceRunner {
  private constructor(
    readonly manifest: GradingManifest,
    private readonly scratch: Scratch,
    private readonly program: CompiledCell[],
    private readonly timeoutMs: number,
  ) {}

  static async open(
    manifest: GradingManifest,
    opts: ReferenceRunnerOptions,
  ): Promise<ReferenceRunner> {
    // prettier-ignore
    const source = opts.packageSource ?? defaultPackageSource(opts.repoRoot ?? KIT_ROOT);
    const variant = opts.variant ?? "graded";
    // The whole notebook's demos may load the module's own exports (a worker requires its
    // package path), as in a student's Jupyter after `tito export`: that run, which never sees
    // a student, gets the whole package; a graded run never does.
    const scratch = makeScratch(opts.scratchRoot, manifest, source, undefined, { wholePackage: variant === "full" }); // prettier-ignore
    try {
      const program = await compile(manifest, variant, scratch.kitDir, opts.cacheDir ?? REFERENCE_CACHE_DIR); // prettier-ignore
      return new ReferenceRunner(manifest, scratch, program, opts.timeoutMs);
    } catch (e) {
      await scratch.remove();
      throw e;
    }
  }

  /** The reference's records for one seed. */
  async run(seed: number): Promise<ReferenceRecords> {
    const resultPath = join(this.scratch.hostTmpDir, `result-${randomBytes(6).toString("hex")}.json`); // prettier-ignore
    try {
      const r = await runProcess(process.execPath, [join(__dirname, "reference-runner.cjs")], {
        timeoutMs: this.timeoutMs,
        cwd: this.scratch.kitDir,
        env: {
          PATH: process.env.PATH ?? "/usr/bin:/bin",
          HOME: this.scratch.kitDir,
          TMPDIR: this.scratch.hostTmpDir,
          LANG: "C.UTF-8",
        },
        input: JSON.stringify({ seed, resultPath, cells: this.program }),
      });
      if (r.timedOut) throw new ReferenceError(`the reference run of ${this.manifest.module} took longer than ${this.timeoutMs / 1000} s`); // prettier-ignore
      let parsed: { records: Record<string, TestRecords>; failed: ReferenceRecords["failed"] };
      try {
        parsed = JSON.parse(readFileSync(resultPath, "utf8")) as typeof parsed;
      } catch {
        throw new ReferenceError(`the reference run of ${this.manifest.module} ended without a result (${r.error ?? `exit ${r.code}, signal ${r.signal}`}): ${r.stderr.slice(0, 500)}`); // prettier-ignore
      }
      return { records: new Map(Object.entries(parsed.records)), failed: parsed.failed };
    } finally {
      rmSync(resultPath, { force: true });
    }
  }

  close(): Promise<void> {
    return this.scratch.remove();
  }
}
