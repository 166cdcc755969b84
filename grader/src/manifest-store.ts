// Finding and reading grading manifests (grader/manifests/NN_name.json, written by `tito build`).
// Every caller names the folder (coursePath(root, "manifests")), so that a course built with
// `tito build --root DIR` is graded from the manifests that build wrote.
// A manifest is instructor input: a malformed one is a SourceError naming the file, never a crash
// in the middle of a batch.
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { cellChecksum, type GradingManifest, SourceError } from "@tinytorch-ts/core";
import { sha256Hex } from "./submission";

export interface LoadedManifest {
  manifest: GradingManifest;
  path: string;
  /** sha256 of the file's bytes: part of the "already graded" key. */
  hash: string;
}

function check(cond: unknown, file: string, problem: string): asserts cond {
  if (!cond) throw new SourceError(file, undefined, problem);
}

export function readManifest(path: string): LoadedManifest {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (e) {
    throw new SourceError(path, undefined, `cannot read the manifest (${(e as Error).message})`);
  }
  let m: GradingManifest;
  try {
    m = JSON.parse(text) as GradingManifest;
  } catch (e) {
    throw new SourceError(path, undefined, `the manifest is not valid JSON (${(e as Error).message})`); // prettier-ignore
  }
  check(m && typeof m === "object", path, "the manifest is not an object");
  check(m.schema === 2, path, `unsupported manifest schema ${String(m.schema)} (expected 2; rebuild with npm run build)`); // prettier-ignore
  check(typeof m.module === "string" && m.module !== "", path, "the manifest names no module");
  check(Array.isArray(m.cells), path, "the manifest has no cell list");
  check(Array.isArray(m.dependencies), path, "the manifest has no dependency list");
  m.cells.forEach((c, i) => {
    check(c && typeof c === "object", path, `cell ${i} is not an object`);
    check(c.index === i, path, `cell ${i} has index ${String(c.index)}`);
    check(["solution", "manual", "grade", "locked", "plain"].includes(c.role), path, `cell ${i} has an unknown role`); // prettier-ignore
    check(typeof c.studentSource === "string" && typeof c.gradingSource === "string", path, `cell ${i} lacks its sources`); // prettier-ignore
    if (c.role === "grade" || c.role === "solution" || c.role === "manual") {
      check(typeof c.grade_id === "string", path, `${c.role} cell ${i} has no grade_id`);
    }
    if (c.checksum !== undefined) {
      // Recomputed, so that a hand-edited manifest is refused here rather than reported as
      // tampering in every student's untouched cell.
      const metadata = c.metadata && typeof c.metadata === "object" ? c.metadata : {};
      const ok = cellChecksum({ cell_type: c.cell_type, source: c.studentSource, metadata }) === c.checksum; // prettier-ignore
      check(ok, path, `cell ${i} ("${c.grade_id ?? c.id}"): its checksum does not match its source or grading flags; rebuild the manifest (npm run build)`); // prettier-ignore
    }
  });
  return { manifest: m, path, hash: sha256Hex(text) };
}

/** The manifest files in a directory, sorted by name. */
export function listManifests(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((f) => /^\d+_.+\.json$/.test(f))
    .sort()
    .map((f) => join(dir, f));
}

/**
 * Finds a module's manifest by number ("01", "1"), full name ("01_tensor") or name alone
 * ("tensor"). A number or name that fits more than one manifest, or none, is an error that
 * lists the modules there are.
 */
export function findManifest(module: string, dir: string): string {
  const files = listManifests(dir);
  const base = (f: string) => f.slice(dir.length + 1, -".json".length);
  const known = () => files.map(base).join(", ") || "none (run npm run build)";
  const want = module.replace(/\.json$/, "");
  const exact = files.find((f) => base(f) === want);
  if (exact) return exact;
  const number = /^\d+$/.test(want) ? want.padStart(2, "0") : undefined;
  const hits = files.filter((f) =>
    number !== undefined
      ? base(f).startsWith(`${number}_`)
      : base(f).slice(base(f).indexOf("_") + 1) === want,
  );
  if (hits.length === 1) return hits[0];
  if (hits.length > 1) {
    throw new SourceError(dir, undefined, `module '${module}' is ambiguous: it could be ${hits.map(base).join(" or ")}; give the full name`); // prettier-ignore
  }
  throw new SourceError(dir, undefined, `no grading manifest for module '${module}' (there are: ${known()})`); // prettier-ignore
}
