// A grading kernel made ready before its submission is known: a fresh scratch dir, a fresh tslab
// kernel in the sandbox, and the preamble already run (which also warms up the TypeScript
// compiler). Nothing in it depends on the student, so a batch prepares the next kernel while the
// current submission runs; each kernel still serves exactly one submission.
import {
  DEFAULT_GRADING_LIMITS,
  KIT_ROOT,
  type GradingLimits,
  type GradingManifest,
} from "@tinytorch-ts/core";
import { KernelClient, kernelV8Flags, tslabCodeCache } from "@tinytorch-ts/core/kernel";
import { randomBytes } from "node:crypto";
import { preambleCode } from "./instrument";
import {
  dropEnvironment,
  kernelRuntimePaths,
  planSandbox,
  kernelMayShareKit,
  sandboxCapabilities,
  type SandboxPlan,
} from "./sandbox";
import { defaultPackageSource, type PackageSource } from "./kit";
import {
  lockSocketDir,
  makeScratch,
  makeScratchRoot,
  removeQuietly,
  type Scratch,
} from "./scratch";

// The grading limits are part of the core contract: the CLI shows and overrides the same values.
export type KernelLimits = GradingLimits;
export const DEFAULT_LIMITS: Readonly<KernelLimits> = DEFAULT_GRADING_LIMITS;

export interface SessionOptions extends Partial<KernelLimits> {
  /** Confine the kernel (default true; TITO_SANDBOX=off also disables it). */
  sandbox?: boolean;
  /**
   * Paths the kernel must not see (submissions folder, output folder). The kernel's root is
   * built from what it needs, so nothing else is visible anyway; kept for callers that name them.
   */
  hide?: string[];
  packageSource?: PackageSource;
  /** Parent of the scratch dirs (default: a fresh directory in the system tmp). */
  scratchRoot?: string;
  /** The course whose compiled reference package (tinytorch-ts/dist) the kit is made from. */
  courseRoot?: string;
}

export interface PreparedKernel {
  kernel: KernelClient;
  /**
   * The seed this kernel's hidden checks draw their inputs from: drawn when it was prepared,
   * never shown to the student, given to the trusted reference run for the same inputs.
   */
  seed: number;
  isolation: string[];
  /** Shuts the kernel down (its whole tree) and removes its host directory. Never rejects. */
  dispose(): Promise<void>;
}

/** Thrown when the grader itself cannot get a kernel ready (not the student's fault). */
export class GraderSetupError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "GraderSetupError";
  }
}

/**
 * Kernels started in TITO_SANDBOX=no-namespaces mode that are still alive. That mode has no
 * PID or mount namespace: kernels would share /proc, the host's disk and one uid, so it runs
 * one kernel at a time (per grader process) and refuses a second.
 */
let unconfinedKernels = 0;

/**
 * A grading kernel's node flags. V8's runtime flags cannot change once the kernel runs
 * (--allow-natives-syntax would open V8's internals to the student's code); the preamble also
 * refuses the API.
 */
export const KERNEL_NODE_FLAGS: readonly string[] = ["--freeze-flags-after-init"];

/** The V8 code cache of tslab's TypeScript for grading kernels with this memory cap, if any. */
export function kernelCodeCache(memoryMb: number | undefined): string | undefined {
  return tslabCodeCache(kernelV8Flags({ memoryMb, nodeFlags: [...KERNEL_NODE_FLAGS] }));
}

export async function prepareKernel(
  manifest: GradingManifest,
  opts: SessionOptions = {},
): Promise<PreparedKernel> {
  const limits = { ...DEFAULT_LIMITS, ...opts };
  const ownRoot = opts.scratchRoot === undefined;
  const scratchRoot = opts.scratchRoot ?? makeScratchRoot();
  const sandboxOn = opts.sandbox !== false && process.env.TITO_SANDBOX !== "off";
  let kernel: KernelClient | undefined;
  let scratch: Scratch | undefined;
  let counted = false;
  let disposing: Promise<void> | undefined;
  // Never throws: a kernel that will not die is SIGKILLed by shutdown(); what cannot be deleted
  // is left behind rather than taking the batch down.
  const dispose = () =>
    (disposing ??= (async () => {
      await kernel?.shutdown().catch(() => undefined);
      if (counted) unconfinedKernels--;
      counted = false;
      await scratch?.remove();
      if (ownRoot) await removeQuietly(scratchRoot);
    })());
  try {
    const source = opts.packageSource ?? defaultPackageSource(opts.courseRoot ?? KIT_ROOT);
    const caps = sandboxOn ? sandboxCapabilities() : undefined;
    // Shared files (the kit, the code cache) only for a kernel that cannot write them: one
    // that could would leave its own code for the next student's kernel.
    const shared = kernelMayShareKit(caps);
    scratch = makeScratch(scratchRoot, manifest, source, caps?.user, { shareKit: shared });
    const codeCache = shared ? kernelCodeCache(limits.memoryMb) : undefined;
    let plan: SandboxPlan = {
      commandPrefix: [],
      home: scratch.kitDir,
      tmpDir: scratch.hostTmpDir,
      noNamespaces: false,
      isolation: ["sandbox disabled"],
    };
    if (sandboxOn) {
      plan = planSandbox({
        rootMount: scratch.rootMount,
        kitDir: scratch.kitDir,
        readOnly: kernelRuntimePaths(codeCache),
        writable: [scratch.socketDir],
        hostTmpDir: scratch.hostTmpDir,
        // A backstop only: twice the notebook's wall time, plus start-up.
        cpuSeconds: Math.ceil((2 * limits.notebookTimeoutMs) / 1000) + 120,
      });
      if (plan.noNamespaces) {
        if (unconfinedKernels > 0) {
          throw new GraderSetupError(
            "TITO_SANDBOX=no-namespaces runs one kernel at a time, and one is running",
          );
        }
        unconfinedKernels++;
        counted = true;
      }
    }
    kernel = await KernelClient.start({
      cwd: scratch.kitDir,
      // Nothing from the grader's environment: no NODE_PATH (it would reach the full reference
      // package), no tokens. HOME is the read-only kit: Node adds $HOME/.node_modules to its
      // module lookup, which must not be a place the student can write.
      env: {
        PATH: process.env.PATH ?? "/usr/local/bin:/usr/bin:/bin",
        HOME: plan.home,
        TMPDIR: plan.tmpDir,
        LANG: "C.UTF-8",
        ...(codeCache ? { TITO_TSLAB_CODE_CACHE: codeCache } : {}),
        ...(plan.owner ? dropEnvironment(plan.owner) : {}),
      },
      commandPrefix: plan.commandPrefix,
      transport: "ipc",
      socketDir: scratch.socketDir,
      memoryMb: limits.memoryMb,
      nodeFlags: [...KERNEL_NODE_FLAGS],
      ...(plan.owner ? { owner: plan.owner, maxProcesses: limits.maxProcesses } : {}),
    });
    if (plan.owner) lockSocketDir(scratch.socketDir);
    const seed = randomBytes(4).readUInt32LE(0);
    const run = await kernel.execute(preambleCode(manifest, seed), { timeoutMs: 60_000 });
    if (run.status !== "ok") {
      const why = run.error ? `${run.error.ename}: ${run.error.evalue}` : (run.reason ?? run.status); // prettier-ignore
      throw new GraderSetupError(`the grading preamble failed: ${why.split("\n")[0]}`);
    }
    const isolation = [
      ...plan.isolation,
      `memory cap ${limits.memoryMb} MiB`,
      "built-ins, module system and V8 flags locked before student code",
    ];
    return { kernel, seed, isolation, dispose };
  } catch (e) {
    await dispose();
    if (e instanceof GraderSetupError) throw e;
    throw new GraderSetupError(e instanceof Error ? e.message.split("\n")[0] : String(e));
  }
}
