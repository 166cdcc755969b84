// Kernels take seconds to start (tslab loads the TypeScript compiler), and a batch of notebooks
// should not pay that serially. A pool keeps kernels (or anything a factory starts: the grader
// pools its sandboxed, preamble-ready kernels) started ahead of need. A kernel is never reused
// for a second notebook: state left by one submission must not leak into the next, so a released
// kernel is shut down and a fresh one is started in the background.
import { cpus } from "node:os";
import { KernelClient, type KernelStartOptions } from "../kernel/client";
import { runWorkers, WorkErrors } from "./workers";

/** How a pool starts and ends what it hands out. */
export interface PoolFactory<T> {
  start(): Promise<T>;
  /** Ends an item (its whole process tree). A rejection is ignored. */
  stop(item: T): Promise<void>;
  /**
   * Whether an item that waited in the pool can still be handed out (a kernel can die or hang
   * while it waits: killed, OOM-killed). Default: yes. One that cannot is stopped and replaced.
   */
  usable?(item: T): Promise<boolean>;
}

/**
 * Plain kernels (each start waits for a start slot: kernel/start-slot.ts), pinged before a
 * waiting one is handed out.
 */
export function kernelFactory(start: KernelStartOptions): PoolFactory<KernelClient> {
  return {
    start: () => KernelClient.start(start),
    stop: (k) => k.shutdown(),
    usable: async (k) => k.alive && (await k.ping(5000)),
  };
}

export interface PoolOptions<T> {
  factory: PoolFactory<T>;
  /**
   * How many to keep started ahead of need; 0 starts each one when it is acquired. A function
   * is asked at every top-up (e.g. "no more than the work left").
   */
  size: number | (() => number);
  /**
   * `false` starts the first `size` and no replacements (for a batch whose size is known, or to
   * measure runs without start-ups competing for the CPU). Default true.
   */
  refill?: boolean;
  /** Start nothing before the first acquire (for work that may turn out to need none). */
  lazy?: boolean;
}

/**
 * Hands out freshly started items (kernels, or the grader's prepared kernels), started ahead of
 * need when it can. Nothing is reused: whoever acquires an item owns it, and ends it (or gives it
 * back with `release`, which ends it). A start that fails is reported to whoever acquires it,
 * never as an unhandled rejection. `close` ends every item the pool still holds.
 */
export class KernelPool<T = KernelClient> {
  private readonly ready: Array<Promise<T>> = [];
  private readonly stopping = new Set<Promise<void>>();
  private readonly factory: PoolFactory<T>;
  private readonly size: () => number;
  private readonly keepFull: boolean;
  private filled = false;
  private closed = false;

  constructor(opts: PoolOptions<T>) {
    this.factory = opts.factory;
    const size = opts.size;
    this.size = () => Math.max(0, Math.floor(typeof size === "function" ? size() : size));
    this.keepFull = opts.refill ?? true;
    if (!opts.lazy) this.topUp();
  }

  /** Resolves when every item started ahead so far has finished starting (or failed to). */
  async whenReady(): Promise<void> {
    await Promise.all(this.ready.map((p) => p.catch(() => undefined)));
  }

  private topUp(): void {
    this.filled = true;
    while (!this.closed && this.ready.length < this.size()) {
      const starting = this.factory.start();
      // Reported to whoever acquires it, never as an unhandled rejection.
      starting.catch(() => undefined);
      this.ready.push(starting);
    }
  }

  /** A fresh item (started ahead of time when possible); replacements start at once. */
  async acquire(): Promise<T> {
    if (this.closed) throw new Error("the pool is closed");
    const waited = this.ready.shift();
    // The caller's own start (when none waits) is asked for before any replacement's.
    const next = waited ?? this.factory.start();
    if (this.keepFull || !this.filled) this.topUp();
    const item = await next;
    if (waited && this.factory.usable && !(await this.factory.usable(item))) {
      await this.stopQuietly(item);
      return this.factory.start();
    }
    return item;
  }

  /** Ends an item's use. It is stopped (in the background), never handed out again. */
  release(item: T): void {
    const stopping = this.stopQuietly(item);
    this.stopping.add(stopping);
    void stopping.finally(() => this.stopping.delete(stopping));
  }

  /** Stops every item the pool still holds (started, starting, or being released). */
  async close(): Promise<void> {
    this.closed = true;
    const pending = this.ready.splice(0);
    await Promise.all([
      ...this.stopping,
      ...pending.map((p) =>
        p.then(
          (item) => this.stopQuietly(item),
          () => undefined,
        ),
      ),
    ]);
  }

  private stopQuietly(item: T): Promise<void> {
    return this.factory.stop(item).catch(() => undefined);
  }
}

export interface BatchOptions<T> {
  /** How many notebooks run at once (default: the number of cores). */
  jobs?: number;
  start: KernelStartOptions | ((item: T) => KernelStartOptions);
  /** How many kernels to start ahead of the running ones (default: jobs). */
  prestart?: number;
}

export class BatchError extends AggregateError {
  constructor(errors: unknown[]) {
    super(errors, `${errors.length} notebook(s) of the batch failed to run`);
    this.name = "BatchError";
  }
}

/**
 * Runs `work` for every item, `jobs` at a time, each in a fresh kernel started ahead of time.
 * Kernels are shut down after their item. A failure (a kernel that cannot start, or `work`
 * throwing) does not stop the batch; they are thrown together as a BatchError at the end.
 */
export function runNotebooks<T>(
  items: T[],
  work: (item: T, kernel: KernelClient) => Promise<void>,
  opts: BatchOptions<T>,
): Promise<void> {
  const startFor = (item: T) => (typeof opts.start === "function" ? opts.start(item) : opts.start);
  return runPooled(items, work, {
    jobs: opts.jobs,
    prestart: opts.prestart,
    start: (item) => KernelClient.start(startFor(item)),
    stop: (kernel) => kernel.shutdown(),
  });
}

export interface PooledOptions<T, K> {
  /** How many items run at once (default: the number of cores). */
  jobs?: number;
  /** How many to start ahead of the running ones (default: jobs). */
  prestart?: number;
  /** Starts what `item` runs in (a kernel for its notebook). */
  start(item: T): Promise<K>;
  stop(started: K): Promise<void>;
}

/**
 * runNotebooks over any start and stop: `jobs` at a time (runWorkers), each item in a fresh
 * K from a KernelPool that starts up to `prestart` ahead, never more than the items not yet
 * taken. Each K is stopped after its item, whatever happened; the failures come together as a
 * BatchError at the end.
 */
export async function runPooled<T, K>(
  items: T[],
  work: (item: T, started: K) => Promise<void>,
  opts: PooledOptions<T, K>,
): Promise<void> {
  const jobs = Math.max(1, Math.floor(opts.jobs ?? cpus().length));
  const prestart = Math.max(0, Math.floor(opts.prestart ?? jobs));
  // The pool's n-th start is for the n-th item: runWorkers begins the items' work in order,
  // each acquires at once, and the pool hands out its starts in the order it made them. (So no
  // `usable` check: its replacement start would take the options of a later item.)
  let started = 0;
  let taken = 0;
  const pool = new KernelPool<K>({
    factory: { start: () => opts.start(items[started++]), stop: (k) => opts.stop(k) },
    size: () => Math.min(prestart, items.length - taken),
  });
  try {
    await runWorkers(items, jobs, async (item) => {
      taken++;
      const fresh = await pool.acquire();
      try {
        await work(item, fresh);
      } finally {
        await opts.stop(fresh);
      }
    });
  } catch (e) {
    throw e instanceof WorkErrors ? new BatchError(e.errors) : e;
  } finally {
    // Every start has its item, so nothing should be left; but nothing is ever leaked.
    await pool.close();
  }
}
