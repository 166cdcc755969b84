// The kit's test command; see scripts/test.mjs for its usage. It gathers the jobs (static checks
// and test files), orders them longest first from the recorded timings, runs them on a pool of
// workers, prints one block per job as it finishes, then the slowest five and the line CI reads:
// `N passed, N failed`.
import { availableParallelism, loadavg } from "node:os";
import { join } from "node:path";
import { staticJobs, testJobs, type Job, type TestTier } from "./jobs";
import { killAll, runPool } from "./pool";
import { formatDuration, judge, slowest } from "./report";
import { loadTimings, longestFirst, saveTimings, type Timings } from "./timings";

export interface RunnerArgs {
  workers: number;
  tier: TestTier | "all";
  runStatic: boolean;
  filters: string[];
}

const USAGE = `usage: node scripts/test.mjs [--tier=fast|kernel|all] [--workers=N] [--no-static] [substring...]`;

function defaultWorkers(): number {
  const fromEnv = process.env.TITO_TEST_WORKERS;
  if (fromEnv !== undefined && fromEnv !== "") return parseWorkers(fromEnv, "TITO_TEST_WORKERS");
  return Math.max(2, availableParallelism());
}

function parseWorkers(text: string, what: string): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1) throw new UsageError(`${what}: expected a whole number ≥ 1, got "${text}"`); // prettier-ignore
  return n;
}

class UsageError extends Error {}

export function parseArgs(argv: string[]): RunnerArgs {
  const args: RunnerArgs = { workers: 0, tier: "all", runStatic: true, filters: [] };
  let workers: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const [flag, inline] = a.startsWith("--") ? a.split(/=(.*)/s, 2) : [a, undefined];
    const value = () => inline ?? argv[++i] ?? "";
    if (flag === "--no-static") args.runStatic = false;
    else if (flag === "--workers" || flag === "-j") workers = value();
    else if (flag === "--tier") {
      const t = value();
      if (t !== "fast" && t !== "kernel" && t !== "all") throw new UsageError(`--tier: expected fast, kernel or all, got "${t}"`); // prettier-ignore
      args.tier = t;
    } else if (flag.startsWith("-")) throw new UsageError(`unknown option ${flag}`);
    else args.filters.push(a);
  }
  args.workers = workers === undefined ? defaultWorkers() : parseWorkers(workers, "--workers");
  return args;
}

function selectJobs(root: string, args: RunnerArgs): Job[] {
  const inTier = (j: Job) => args.tier === "all" || j.tier === args.tier;
  const tests = testJobs(root).filter(
    (j) => inTier(j) && (args.filters.length === 0 || args.filters.some((s) => j.name.includes(s))),
  );
  const checks = args.runStatic && args.filters.length === 0 && args.tier !== "kernel";
  return [...(checks ? staticJobs(root) : []), ...tests];
}

/** A job's environment: plain output, and the tier that tells the kernel launcher to refuse. */
function jobEnv(job: Job): NodeJS.ProcessEnv {
  return { ...process.env, NODE_DISABLE_COLORS: "1", FORCE_COLOR: "0", TITO_TEST_TIER: job.tier };
}

export async function main(root: string, argv: string[]): Promise<number> {
  let args: RunnerArgs;
  try {
    args = parseArgs(argv);
  } catch (e) {
    if (!(e instanceof UsageError)) throw e;
    console.error(`test: ${e.message}\n${USAGE}`);
    return 2;
  }
  const timingsFile = join(root, ".tito-cache", "test-times.json");
  const history = loadTimings(timingsFile);
  const queue = longestFirst(selectJobs(root, args), history);
  if (queue.length === 0) {
    console.error(`test: no test file matches ${args.filters.join(", ")}`);
    return 1;
  }
  const workers = Math.min(args.workers, queue.length);
  console.log(`${queue.length} jobs (tier: ${args.tier}) on ${workers} workers, longest first`);

  let passed = 0;
  let failed = 0;
  const failures: string[] = [];
  const measured: Timings = new Map();
  const started = performance.now();
  // Jobs run in their own process groups, out of reach of the terminal's Ctrl-C: pass it on.
  for (const [signal, code] of [
    ["SIGINT", 130],
    ["SIGTERM", 143],
  ] as const) {
    process.once(signal, () => {
      killAll();
      process.exit(code);
    });
  }
  const results = await runPool(queue, {
    workers,
    cwd: root,
    env: jobEnv,
    timeoutMs: 20 * 60_000,
    onDone: (r) => {
      const v = judge(r);
      passed += v.passed;
      failed += v.failed;
      if (v.failed > 0) failures.push(r.job.name);
      if (!r.timedOut) measured.set(r.job.name, r.seconds);
      console.log(v.block);
    },
  });
  saveTimings(timingsFile, history, measured);

  console.log(`\nSlowest files:\n${slowest(results.filter((r) => r.job.kind === "test")).join("\n")}`); // prettier-ignore
  // The load average beside the time: on a shared machine it explains most of the variation.
  const load = loadavg()
    .map((l) => l.toFixed(2))
    .join(" ");
  console.log(`Wall time ${formatDuration((performance.now() - started) / 1000)} on ${workers} workers (load average ${load})`); // prettier-ignore
  if (failures.length > 0) console.log(`Failed: ${failures.join(", ")}`);
  console.log(`${passed} passed, ${failed} failed`);
  return failed > 0 ? 1 : 0;
}
