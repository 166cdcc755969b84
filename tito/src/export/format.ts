// Generated package files are formatted with the kit's own prettier settings (.prettierrc.json
// at the kit's root, wherever the build's output root is), so that they pass `prettier --check`
// like hand-written code and diffs of regenerated files stay readable.
//
// prettier is by far the slowest step of a build (about 0.4 ms of CPU per line), so each piece
// of a file (the import block, each exported cell) is formatted on its own and the result is
// cached by content under <root>/.tito-cache/format/: a cell that did not change is never
// formatted again, even when its module is rebuilt. Formatting top-level pieces separately and
// joining them with one blank line gives the same text as formatting the whole file (a test
// holds us to that).
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import type * as Prettier from "prettier";
import { writeFileAtomic } from "../notebook/atomic";
import { FormatPool } from "./format-pool";

/** Formats one self-contained piece of TypeScript; the result ends with one newline. */
export interface Formatter {
  (text: string): Promise<string>;
  /** Releases worker threads, if any. */
  close?(): Promise<void>;
}

/** For packages nobody lints (student bundles): the text as generated. */
export const noFormatting: Formatter = (text) => Promise.resolve(text.trimEnd() + "\n");

let prettierModule: typeof Prettier | undefined;
let options: Prettier.Options | undefined;
let optionsKey = "";

const KIT_ROOT = join(__dirname, "..", "..", "..");
/** Part of every cache key: bump it when the way pieces are formatted changes. */
const FORMAT_VERSION = "fixpoint-1";

async function loadPrettier(): Promise<{ prettier: typeof Prettier; options: Prettier.Options }> {
  // Loaded on first use: a build where nothing changed never formats anything.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  prettierModule ??= require("prettier") as typeof Prettier;
  if (!options) {
    const config = await prettierModule.resolveConfig(
      join(KIT_ROOT, "tinytorch-ts", "src", "index.ts"),
    );
    options = { ...(config ?? {}), parser: "typescript" };
    optionsKey = `${FORMAT_VERSION}\0${prettierModule.version}\0${JSON.stringify(options)}\0`;
  }
  return { prettier: prettierModule, options };
}

/**
 * prettier with a content-addressed cache (in memory, and on disk when `cacheDir` is given).
 * With `parallel`, pieces not in the cache are formatted in worker threads (see format-pool.ts).
 */
export function prettierFormatter(cacheDir?: string, parallel = false): Formatter {
  const memory = new Map<string, Promise<string>>();
  let pool: FormatPool | undefined;
  const format: Formatter = async (text) => {
    const { prettier, options: opts } = await loadPrettier();
    const key = createHash("sha256").update(optionsKey).update(text).digest("hex");
    const known = memory.get(key);
    if (known !== undefined) return known;
    const file = cacheDir ? join(cacheDir, key.slice(0, 2), key) : undefined;
    const job = (async () => {
      if (file) {
        try {
          return readFileSync(file, "utf8");
        } catch {
          // not cached yet
        }
      }
      if (parallel) pool ??= new FormatPool(opts);
      const formatted = pool
        ? await pool.format(text)
        : await formatToFixpoint(prettier, text, opts);
      if (file) writeFileAtomic(file, formatted);
      return formatted;
    })();
    memory.set(key, job);
    return job;
  };
  format.close = async () => {
    await pool?.close();
    pool = undefined;
  };
  return format;
}

/**
 * prettier is not always idempotent: an object type in a return position, for one, is laid out
 * differently on the second pass. `prettier --check` compares a file with one more pass, so we
 * format until the text stops changing (two passes in practice).
 */
async function formatToFixpoint(
  prettier: typeof Prettier,
  text: string,
  opts: Prettier.Options,
): Promise<string> {
  let current = await prettier.format(text, opts);
  // Text that one pass left unchanged is a fixpoint already (the common case for tidy sources).
  if (current === text || current === `${text}\n`) return current;
  for (let pass = 0; pass < 4; pass++) {
    const next = await prettier.format(current, opts);
    if (next === current) return current;
    current = next;
  }
  return current;
}

/** Formats a whole file without any cache (tests compare the piecewise result with this). */
export async function formatWholeFile(text: string): Promise<string> {
  const { prettier, options: opts } = await loadPrettier();
  return formatToFixpoint(prettier, text, opts);
}
