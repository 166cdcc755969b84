// `tito status`: where a student stands in each module, from files only (no kernel):
//   exercises  how many solution cells differ from the released stub
//   tests      the last `tito test` result, and whether the notebook changed since
//   exported   whether the student's package still has this module's "Not implemented" stubs
// A module is complete when its last test passed every test cell, the notebook has not changed
// since, and its exercises are in the student's package.
import { createHash } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { coursePath } from "@tinytorch-ts/core";
import { parseIpynb, studentCellsById } from "@tinytorch-ts/core/notebook";
import { gradeId, isSolutionCell } from "../transforms/cells";
import {
  readCourse,
  readReleasedModule,
  readStatus,
  type CourseModuleEntry,
  type ReleasedModule,
} from "./workspace";

export interface ModuleStatus {
  module: string;
  notebookExists: boolean;
  exercises: number;
  attempted: number;
  /** Last test: passed/total test cells, and whether it tested the current notebook. */
  lastTest?: {
    passed: number;
    total: number;
    points: number;
    totalPoints: number;
    current: boolean;
  };
  /** Exercise ids still stubbed in the student's package (exported cells only). */
  unexported: string[];
  complete: boolean;
}

/** The module's exercises whose stub is still in the student's package (exported cells only). */
export function packageStubs(
  ws: string,
  entry: CourseModuleEntry,
  released: ReleasedModule = readReleasedModule(ws, entry.module),
): string[] {
  const pkgText = entry.targets
    .map((t) => coursePath(ws, "packageSrc", `${t}.ts`))
    .filter((f) => existsSync(f))
    .map((f) => readFileSync(f, "utf8"))
    .join("\n");
  return released.studentNotebook.cells
    .filter(isSolutionCell)
    .map((c) => gradeId(c) ?? "")
    .filter(
      (id) =>
        id &&
        (pkgText.includes(`Not implemented: ${id}"`) ||
          pkgText.includes(`Not implemented: ${id} (`)),
    );
}

export function moduleStatuses(ws: string): ModuleStatus[] {
  const course = readCourse(ws);
  const status = readStatus(ws);
  return course.modules.map((entry) => {
    const released = readReleasedModule(ws, entry.module);
    const path = join(ws, entry.notebook);
    const exists = existsSync(path);
    const text = exists ? readFileSync(path, "utf8") : "";
    const stubs = released.studentNotebook.cells.filter(isSolutionCell);
    let attempted = 0;
    if (exists) {
      try {
        const mine = studentCellsById(parseIpynb(text, path)).last;
        attempted = stubs.filter((c) => {
          const src = mine.get(gradeId(c) ?? "")?.source;
          return src !== undefined && src !== c.source;
        }).length;
      } catch {
        attempted = 0; // an unreadable notebook has no counted work; `tito test` reports why
      }
    }
    const unexported = packageStubs(ws, entry, released);
    const rec = status[entry.module];
    const hash = createHash("sha256").update(text).digest("hex");
    const lastTest = rec
      ? {
          passed: rec.passed,
          total: rec.passed + rec.failed,
          points: rec.points,
          totalPoints: rec.totalPoints,
          current: exists && rec.notebookHash === hash,
        }
      : undefined;
    const complete =
      lastTest !== undefined &&
      lastTest.current &&
      lastTest.total > 0 &&
      lastTest.passed === lastTest.total &&
      unexported.length === 0;
    return {
      module: entry.module,
      notebookExists: exists,
      exercises: stubs.length,
      attempted,
      lastTest,
      unexported,
      complete,
    };
  });
}

export function renderStatus(rows: ModuleStatus[]): string {
  const lines = [
    `${"module".padEnd(22)} ${"exercises".padEnd(10)} ${"last test".padEnd(24)} ${"package".padEnd(16)} status`,
  ];
  for (const r of rows) {
    const ex = `${r.attempted}/${r.exercises}`;
    const t = r.lastTest
      ? `${r.lastTest.passed}/${r.lastTest.total} tests${r.lastTest.current ? "" : " (outdated)"}`
      : "not run";
    const pkg = r.unexported.length === 0 ? "exported" : `${r.unexported.length} stub(s) left`;
    // No exercise written yet is "not started", whatever a test of the stubs said.
    const state = !r.notebookExists
      ? "notebook missing"
      : r.complete
        ? "complete"
        : r.attempted === 0
          ? "not started"
          : "in progress";
    lines.push(
      `${r.module.padEnd(22)} ${ex.padEnd(10)} ${t.padEnd(24)} ${pkg.padEnd(16)} ${state}`,
    );
  }
  const done = rows.filter((r) => r.complete).length;
  lines.push("", `${done} of ${rows.length} module(s) complete`);
  return lines.join("\n");
}
