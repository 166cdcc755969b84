// Generated package files are formatted with the kit's own prettier settings (.prettierrc.json
// at the kit's root, wherever the build's output root is), so that they pass `prettier --check`
// like hand-written code and diffs of regenerated files stay readable.
import { join } from "node:path";
import type * as Prettier from "prettier";

let prettierModule: typeof Prettier | undefined;
let options: Prettier.Options | undefined;

const KIT_ROOT = join(__dirname, "..", "..", "..");

export async function formatTypeScript(text: string): Promise<string> {
  // Loaded on first use: a build where nothing changed never formats anything.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  prettierModule ??= require("prettier") as typeof Prettier;
  options ??= {
    ...((await prettierModule.resolveConfig(join(KIT_ROOT, "tinytorch-ts", "src", "index.ts"))) ??
      {}),
    parser: "typescript",
  };
  return prettierModule.format(text, options);
}
