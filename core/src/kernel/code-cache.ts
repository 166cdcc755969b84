// A V8 code cache of tslab's TypeScript (typescript.js, 9 MB), for the grader's kernels. Every
// kernel compiles that file before it can run a cell; with the cache V8 skips most of that work
// (about 0.25 s of CPU per kernel start on this 2-core machine: 2.51 → 2.26 s to create tslab's
// converter and convert a cell, mean of five runs each).
//
// The grader makes the cache itself, once per machine, Node and TypeScript version and set of V8
// flags, in a process of its own (code-cache-make.cjs) run with the kernels' exact V8 flags:
// V8 silently rejects a cache made under other flags (even another --max-old-space-size). The
// kernel gets the file's path in TITO_TSLAB_CODE_CACHE and reads it, read-only, in
// kernel-preload.cjs before tslab loads. Only kernels that cannot write it get it (the sandbox
// user in a mount namespace, as for shared kits): a kernel that could would leave compiled code
// for the next student's kernel. Reading it gains a kernel nothing: it could compile anything.
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join } from "node:path";
import { KIT_ROOT } from "../course-root";
import { runProcessSync } from "../process-run";

/** Where the caches are kept: the grader's own files. */
export const CODE_CACHE_DIR = join(KIT_ROOT, ".tito-cache", "v8");
/** Bumped when what the maker runs changes. */
const CODE_CACHE_FORMAT = 1;
const MAKE_TIMEOUT_MS = 120_000;

/** tslab's own TypeScript (the dependency of tslab's named like it): the file the cache is for. */
export function tslabTypeScriptFile(): string {
  const manifest = require.resolve("tslab/package.json");
  const { dependencies = {} } = JSON.parse(readFileSync(manifest, "utf8")) as { dependencies?: Record<string, string> }; // prettier-ignore
  const name = Object.keys(dependencies).find((d) => /(^|\/)typescript/.test(d));
  if (!name) throw new Error(`${manifest} names no TypeScript`);
  return require.resolve(`${name}/lib/typescript.js`, { paths: [dirname(manifest)] });
}

const made = new Map<string, string | undefined>();

/**
 * The code cache for kernels run with `v8Flags`, made on first use; undefined when it cannot be
 * made (a read-only kit, a failed run): the kernel then compiles typescript.js as usual.
 */
export function tslabCodeCache(v8Flags: string[], cacheDir = CODE_CACHE_DIR): string | undefined {
  // Asked at every kernel start: after the first answer, no file is read again.
  const asked = `${cacheDir}\n${v8Flags.join(" ")}`;
  if (made.has(asked)) return made.get(asked);
  let source: string;
  try {
    source = tslabTypeScriptFile();
  } catch {
    made.set(asked, undefined);
    return undefined;
  }
  const version = readFileSync(join(dirname(dirname(source)), "package.json"), "utf8");
  const key = createHash("sha256")
    .update(`${CODE_CACHE_FORMAT}\n${process.version}\n${process.arch}\n${v8Flags.join(" ")}\n`)
    .update(`${source}\n${statSync(source).size}\n${version}`)
    .digest("hex")
    .slice(0, 24);
  const file = join(cacheDir, `tslab-typescript-${key}.bin`);
  let result: string | undefined = file;
  if (!existsSync(file)) {
    try {
      mkdirSync(cacheDir, { recursive: true });
      const maker = join(__dirname, "code-cache-make.cjs");
      const run = runProcessSync(process.execPath, [...v8Flags, maker, file], {
        timeoutMs: MAKE_TIMEOUT_MS,
        cwd: KIT_ROOT,
        // No NODE_OPTIONS of ours: its V8 flags would make a cache the kernels reject.
        env: { PATH: process.env.PATH ?? "/usr/bin:/bin", LANG: "C.UTF-8" },
      });
      if (run.code !== 0 || !existsSync(file)) result = undefined;
    } catch {
      result = undefined;
    }
  }
  made.set(asked, result);
  return result;
}
