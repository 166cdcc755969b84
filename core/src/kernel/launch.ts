// How a kernel process is started: the tslab command, the wrappers that apply limits, and the
// environment it sees. The command line is, from outside in:
//   [commandPrefix...]  e.g. unshare/setpriv chosen by the caller (isolation)
//   prlimit --data=… --as=… --nproc=…   kernel-enforced limits that student code cannot lift
//   setpriv --pdeathsig SIGKILL          the kernel dies with us, even if we are SIGKILLed
//   node --require kernel-preload.cjs <tslab>/bin/tslab kernel --config-path <file>
// Every wrapper execs the next, so the spawned pid is the kernel's (we signal its process group).
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { runProcessSync } from "../process-run";

export interface LaunchLimits {
  memoryMb?: number;
  maxProcesses?: number;
}

export interface LaunchPlan {
  command: string;
  args: string[];
  env: NodeJS.ProcessEnv;
}

/**
 * Room for what is not V8's old space: tslab's young generation, compiled code, ZeroMQ's
 * threads and their stacks. RLIMIT_DATA counts private writable memory, so JS heap, Buffers
 * and typed arrays all count against `memoryMb + DATA_HEADROOM_MB`.
 */
export const DATA_HEADROOM_MB = 384;
/** V8 reserves large ranges of address space it never touches; the address-space cap is loose. */
export const ADDRESS_SPACE_HEADROOM_MB = 4096;

/** Where tslab's launcher is, resolved from this repository's node_modules. */
export function resolveTslabBin(): string {
  const pkg = require.resolve("tslab/package.json");
  return join(dirname(pkg), "bin", "tslab");
}

/** The directories holding the packages a kernel may load (so NODE_PATH can point at them). */
function repoNodeModules(): string {
  const pkg = require.resolve("tslab/package.json");
  return dirname(dirname(pkg));
}

/**
 * The environment a kernel gets when the caller does not give one: enough to run Node and find
 * packages, nothing else (no tokens, no credentials from our own environment).
 */
export function defaultKernelEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH ?? "/usr/local/bin:/usr/bin:/bin",
    HOME: process.env.HOME ?? "/tmp",
    NODE_PATH: repoNodeModules(),
    LANG: process.env.LANG ?? "C.UTF-8",
  };
  if (process.env.TZ) env.TZ = process.env.TZ;
  if (process.env.TMPDIR) env.TMPDIR = process.env.TMPDIR;
  return env;
}

let prlimitAvailable: boolean | undefined;
let setprivAvailable: boolean | undefined;

function available(tool: string): boolean {
  return runProcessSync(tool, ["--version"], { timeoutMs: 5000 }).code === 0;
}

export interface LaunchInput extends LaunchLimits {
  configPath: string;
  tslabBin?: string;
  /** A Jupyter kernelspec's argv, run as Jupyter runs it ({connection_file} filled in). */
  kernelSpecArgv?: string[];
  /** Flags for the kernel's node, before tslab (ignored with kernelSpecArgv). */
  nodeFlags?: string[];
  env?: NodeJS.ProcessEnv;
  commandPrefix?: string[];
}

/**
 * Set by the test runner for every test file without the `// test-tier: kernel` marker, so that a
 * fast-tier file that starts a kernel fails at once instead of silently slowing the fast tier.
 */
export const FAST_TIER_REFUSAL =
  "refusing to start a tslab kernel: TITO_TEST_TIER=fast. This test file is in the fast tier; " +
  "if it needs a kernel, make `// test-tier: kernel` its first line (see docs/contributing.md)";

let refusalPrinted = false;

/** The V8 flags a memory cap adds to a kernel's NODE_OPTIONS. */
function memoryV8Flags(mb: number): string[] {
  // V8 reserves about 10 GiB of address space (guard regions) for every WebAssembly memory,
  // so under the address-space cap any instance with a memory fails ("Out of memory: Cannot
  // allocate Wasm memory"). Explicit bounds checks need only the memory itself.
  return [`--max-old-space-size=${mb}`, "--disable-wasm-trap-handler"];
}

/**
 * Every V8 flag a kernel launched with `input` runs under (its node flags and those a memory cap
 * adds): a V8 code cache is only accepted by a process with the same flags (code-cache.ts).
 */
export function kernelV8Flags(input: Pick<LaunchInput, "memoryMb" | "nodeFlags">): string[] {
  const memory = input.memoryMb === undefined ? [] : memoryV8Flags(Math.max(64, Math.floor(input.memoryMb))); // prettier-ignore
  return [...(input.nodeFlags ?? []), ...memory];
}

export function buildLaunch(input: LaunchInput): LaunchPlan {
  if (process.env.TITO_TEST_TIER === "fast") {
    // Also on stderr: a test harness may swallow the error (uvu does, in a before hook).
    if (!refusalPrinted) process.stderr.write(`${FAST_TIER_REFUSAL}\n`);
    refusalPrinted = true;
    throw new Error(FAST_TIER_REFUSAL);
  }
  const tslab = input.kernelSpecArgv?.[0] ?? input.tslabBin ?? resolveTslabBin();
  if (!existsSync(tslab)) {
    throw new Error(`tslab is missing: ${tslab} does not exist (run npm ci)`);
  }
  const env = { ...(input.env ?? defaultKernelEnv()) };
  const wrappers: string[] = [];
  if (input.memoryMb !== undefined || input.maxProcesses !== undefined) {
    prlimitAvailable ??= available("prlimit");
    if (!prlimitAvailable) throw new Error("memory/process limits need prlimit (util-linux)");
    wrappers.push("prlimit");
    if (input.memoryMb !== undefined) {
      const mb = Math.max(64, Math.floor(input.memoryMb));
      const nodeOptions = (env.NODE_OPTIONS ?? "").split(" ").filter((o) => o !== "");
      nodeOptions.push(...memoryV8Flags(mb));
      env.NODE_OPTIONS = nodeOptions.join(" ");
      const MB = 1024 * 1024;
      wrappers.push(`--data=${(mb + DATA_HEADROOM_MB) * MB}`);
      wrappers.push(`--as=${(mb + DATA_HEADROOM_MB + ADDRESS_SPACE_HEADROOM_MB) * MB}`);
    }
    if (input.maxProcesses !== undefined) {
      wrappers.push(`--nproc=${Math.max(1, Math.floor(input.maxProcesses))}`);
    }
    wrappers.push("--");
  }
  setprivAvailable ??= available("setpriv");
  if (setprivAvailable) wrappers.push("setpriv", "--pdeathsig", "SIGKILL", "--");
  const preload = join(__dirname, "kernel-preload.cjs");
  const kernel = input.kernelSpecArgv
    ? input.kernelSpecArgv.map((a) => a.replaceAll("{connection_file}", input.configPath))
    : [process.execPath, ...(input.nodeFlags ?? []), "--require", preload, tslab, "kernel", "--config-path", input.configPath]; // prettier-ignore
  const full = [...(input.commandPrefix ?? []), ...wrappers, ...kernel];
  return { command: full[0], args: full.slice(1), env };
}
