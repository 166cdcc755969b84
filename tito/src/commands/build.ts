// `tito build [--check] [--tier default|challenge] [--root <dir>]`
import { buildCourse } from "../build/build-course";
import { runCommand, type OptionValues } from "@tinytorch-ts/core";
import { spec } from "./build.args";

export function run(args: string[]): Promise<number> {
  return runCommand(spec, args, ({ values }) => build(values));
}

async function build(parsed: OptionValues<typeof spec.options>): Promise<number> {
  const started = performance.now();
  const report = await buildCourse({ root: parsed.root, tier: parsed.tier, check: parsed.check });
  const ms = Math.round(performance.now() - started);
  if (report.errors.length > 0) {
    for (const e of report.errors) console.error(`tito: ${e.message}`);
    console.error(`tito build: ${report.errors.length} error(s); nothing was written`);
    return 1;
  }
  if (parsed.check) {
    const { changed, stale } = report.diff;
    for (const c of changed) {
      console.error(`${c.path}: ${c.state === "missing" ? "missing" : "differs from its source"}`);
    }
    for (const s of stale) console.error(`${s}: stale (no module source produces it)`);
    if (!report.ok) {
      console.error(
        `tito build --check: ${changed.length + stale.length} generated file(s) out of date; run \`npm run build\``,
      );
      return 1;
    }
    console.log(`tito build --check: ${report.modules.length} module(s) up to date (${ms} ms)`);
    return 0;
  }
  console.log(
    `tito build: ${report.modules.length} module(s), ${report.cached.length} unchanged; ` +
      `${report.written.length} file(s) written, ${report.removed.length} removed (${ms} ms)`,
  );
  for (const p of report.written) console.log(`  wrote ${p}`);
  for (const p of report.removed) console.log(`  removed ${p}`);
  return 0;
}
