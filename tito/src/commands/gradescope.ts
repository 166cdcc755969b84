// `tito gradescope <module> <out.zip>` (instructor command)
import { resolve } from "node:path";
import { parseArgs, UsageError } from "@tinytorch-ts/core";
import { writeGradescopeZip, findManifest, readManifest } from "@tinytorch-ts/grader";

export const summary = "write a Gradescope autograder bundle (setup.sh, run_autograder) for a module"; // prettier-ignore

const HELP = `usage: tito gradescope <NN|module> <out.zip> [--manifest FILE]

Writes a zip to upload as a Gradescope "zip file upload" autograder. setup.sh installs Node 20
and the kit's packages; run_autograder grades /autograder/submission (the notebook named
<module>.ipynb, or the only notebook) into /autograder/results/results.json.`;

export async function run(args: string[]): Promise<number> {
  let p;
  try {
    p = parseArgs(args, ["--manifest"], ["--help", "-h"]);
    if (p.flags.has("--help") || p.flags.has("-h")) {
      console.log(HELP);
      return 0;
    }
    if (p.positional.length !== 2) throw new UsageError("give a module and an output zip");
  } catch (e) {
    if (!(e instanceof UsageError)) throw e;
    console.error(`tito gradescope: ${e.message}\n\n${HELP}`);
    return 2;
  }
  const [module, out] = p.positional as [string, string];
  const manifestPath = p.values.get("--manifest") ?? findManifest(module);
  const { manifest } = readManifest(manifestPath);
  const bytes = await writeGradescopeZip(manifest, manifestPath, resolve(out));
  console.log(`${manifest.module}: wrote ${out} (${Math.round(bytes / 1024)} KiB)`);
  return 0;
}
