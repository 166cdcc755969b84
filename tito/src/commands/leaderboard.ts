// `tito leaderboard [--module 20]` (instructor command): the capstone's class leaderboard, from
// the gradebook, as an HTML page (Pareto chart, one table per event) and a CSV.
import { existsSync } from "node:fs";
import { join, relative, resolve } from "node:path";
import {
  buildLeaderboard,
  findManifest,
  Gradebook,
  isCapstone,
  leaderboardCsv,
  leaderboardHtml,
  readManifest,
  safeName,
} from "@tinytorch-ts/grader";
import { coursePath, resolveCourseRoot, runCommand, writeFileAtomic } from "@tinytorch-ts/core";
import { spec } from "./leaderboard.args";

export function run(args: string[]): Promise<number> {
  return runCommand(spec, args, async ({ values: o }) => {
    const manifests = coursePath(resolveCourseRoot(o.root), "manifests");
    const { manifest } = readManifest(findManifest(o.module, manifests));
    if (!isCapstone(manifest)) {
      console.error(`tito leaderboard: ${manifest.module} is not a capstone (its model files are what a leaderboard ranks)`); // prettier-ignore
      return 1;
    }
    const outDir = resolve(o.out);
    const dbPath = join(outDir, "gradebook.sqlite");
    if (!existsSync(dbPath)) {
      console.error(
        `tito leaderboard: no gradebook at ${dbPath} (run tito grade first, or give --out)`,
      );
      return 1;
    }
    const book = await Gradebook.open(dbPath);
    try {
      const board = await buildLeaderboard(book, manifest.module, o.names);
      const page = resolve(
        o.html ?? join(outDir, "leaderboard", `${safeName(manifest.module)}.html`),
      );
      const csv = resolve(o.csv ?? `${page.replace(/\.html?$/i, "")}.csv`);
      writeFileAtomic(page, await leaderboardHtml(board));
      writeFileAtomic(csv, leaderboardCsv(board));
      const measured = board.entries.filter((e) => e.record.measurement !== undefined).length;
      console.log(`${manifest.module}: ${board.entries.length} student(s), ${measured} measured`);
      for (const ev of board.events) {
        const top = ev.ranked.filter((r) => r.rank === 1).map((r) => r.label);
        console.log(`  ${ev.title.padEnd(9)} ${ev.ranked.length} ranked, ${ev.unranked.length} not${top.length > 0 ? `; first: ${top.join(", ")}` : ""}`); // prettier-ignore
      }
      console.log(`wrote ${shown(page)} and ${shown(csv)}`);
      return 0;
    } finally {
      book.close();
    }
  });
}

/** A path to print: relative to where the instructor is, unless that climbs out of it. */
function shown(path: string): string {
  const rel = relative(process.cwd(), path);
  return rel.startsWith("..") ? path : rel;
}
