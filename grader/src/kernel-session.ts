// A grading kernel made ready before its submission is known: a fresh scratch dir, a fresh tslab
// kernel in the sandbox, and the preamble already run (which also warms up the TypeScript
// compiler). Nothing in it depends on the student, so a batch prepares the next kernel while the
// current submission runs; each kernel still serves exactly one submission.
import { existsSync, rmSync } from "node:fs";
import {
  DEFAULT_GRADING_LIMITS,
  KIT_ROOT,
  type GradingLimits,
  type GradingManifest,
} from "@tinytorch-ts/core";
import { KernelClient } from "@tinytorch-ts/core/kernel";
import { makeKeys, preambleCode, type GradingKeys } from "./instrument";
import { kernelRuntimePaths, planSandbox, sandboxCapabilities, type SandboxPlan } from "./sandbox";
import { defaultPackageSource, makeScratch, makeScratchRoot, type PackageSource } from "./scratch";

// The grading limits are part of the core contract: the CLI shows and overrides the same values.
export type KernelLimits = GradingLimits;
export const DEFAULT_LIMITS: Readonly<KernelLimits> = DEFAULT_GRADING_LIMITS;

export interface SessionOptions extends Partial<KernelLimits> {
  /** Confine the kernel (default true; TITO_SANDBOX=off also disables it). */
  sandbox?: boolean;
  /** Extra paths the kernel must not see (submissions folder, output folder). */
  hide?: string[];
  packageSource?: PackageSource;
  /** Parent of the scratch dirs (default: a fresh directory in the system tmp). */
  scratchRoot?: string;
  /** Repository root (hidden from the kernel). */
  repoRoot?: string;
}

export interface PreparedKernel {
  kernel: KernelClient;
  keys: GradingKeys;
  isolation: string[];
  /** Shuts the kernel down and removes the scratch dir. */
  dispose(): Promise<void>;
}

/** Thrown when the grader itself cannot get a kernel ready (not the student's fault). */
export class GraderSetupError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "GraderSetupError";
  }
}

export async function prepareKernel(
  manifest: GradingManifest,
  opts: SessionOptions = {},
): Promise<PreparedKernel> {
  const limits = { ...DEFAULT_LIMITS, ...opts };
  const repoRoot = opts.repoRoot ?? KIT_ROOT;
  const ownRoot = opts.scratchRoot === undefined;
  const scratchRoot = opts.scratchRoot ?? makeScratchRoot();
  const sandboxOn = opts.sandbox !== false && process.env.TITO_SANDBOX !== "off";
  let kernel: KernelClient | undefined;
  let scratch: ReturnType<typeof makeScratch> | undefined;
  const dispose = async () => {
    await kernel?.shutdown().catch(() => undefined);
    scratch?.remove();
    if (ownRoot) rmSync(scratchRoot, { recursive: true, force: true });
  };
  try {
    const owner = sandboxOn ? sandboxCapabilities().user : undefined;
    const source = opts.packageSource ?? defaultPackageSource(repoRoot);
    scratch = makeScratch(scratchRoot, manifest, source, owner);
    let plan: SandboxPlan = { commandPrefix: [], isolation: ["sandbox disabled"] };
    if (sandboxOn) {
      const hide = [repoRoot, "/tmp", "/var/tmp", "/dev/shm", scratchRoot, ...(opts.hide ?? [])];
      plan = planSandbox({
        scratchDir: scratch.dir,
        hide: hide.filter((p) => existsSync(p)),
        keep: kernelRuntimePaths(),
      });
    }
    kernel = await KernelClient.start({
      cwd: scratch.dir,
      // Nothing from the grader's environment: no NODE_PATH (it would reach the full reference
      // package), no tokens.
      env: {
        PATH: process.env.PATH ?? "/usr/local/bin:/usr/bin:/bin",
        HOME: scratch.dir,
        TMPDIR: "/tmp",
        LANG: "C.UTF-8",
      },
      commandPrefix: plan.commandPrefix,
      transport: "ipc",
      socketDir: scratch.dir,
      memoryMb: limits.memoryMb,
      ...(plan.owner ? { owner: plan.owner, maxProcesses: limits.maxProcesses } : {}),
    });
    const keys = makeKeys(manifest);
    const run = await kernel.execute(preambleCode(manifest, keys), { timeoutMs: 60_000 });
    if (run.status !== "ok") {
      const why = run.error ? `${run.error.ename}: ${run.error.evalue}` : (run.reason ?? run.status); // prettier-ignore
      throw new GraderSetupError(`the grading preamble failed: ${why.split("\n")[0]}`);
    }
    const isolation = [
      ...plan.isolation,
      `memory cap ${limits.memoryMb} MiB`,
      "built-ins, harness and module system locked before student code",
    ];
    return { kernel, keys, isolation, dispose };
  } catch (e) {
    await dispose();
    if (e instanceof GraderSetupError) throw e;
    throw new GraderSetupError(e instanceof Error ? e.message.split("\n")[0] : String(e));
  }
}
