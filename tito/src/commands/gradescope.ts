// `tito gradescope <module> <out.zip>` (instructor command)
import { resolve } from "node:path";
import { coursePath, resolveCourseRoot, runCommand } from "@tinytorch-ts/core";
import { spec } from "./gradescope.args";
import { writeGradescopeZip, findManifest, readManifest } from "@tinytorch-ts/grader";

export function run(args: string[]): Promise<number> {
  return runCommand(spec, args, ({ values, positionals }) => {
    const [module, out] = positionals as [string, string];
    return writeZip(module, out, resolveCourseRoot(values.root), values.manifest);
  });
}

async function writeZip(
  module: string,
  out: string,
  root: string,
  manifestFile?: string,
): Promise<number> {
  // prettier-ignore
  const manifestPath = manifestFile ?? findManifest(module, coursePath(root, "manifests"));
  const { manifest } = readManifest(manifestPath);
  const bytes = await writeGradescopeZip(manifest, manifestPath, resolve(out), root);
  console.log(`${manifest.module}: wrote ${out} (${Math.round(bytes / 1024)} KiB)`);
  return 0;
}
