// Kernels take seconds to start (tslab loads the TypeScript compiler), and a batch of notebooks
// should not pay that serially. A pool keeps kernels started ahead of need. A kernel is never
// reused for a second notebook: state left by one submission must not leak into the next, so
// a released kernel is shut down and a fresh one is started in the background.
import { cpus } from "node:os";
import { KernelClient, type KernelStartOptions } from "../kernel/client";

/**
 * Starting a kernel is CPU-bound (tslab compiles its TypeScript setup), so starting many at
 * once only makes each one slow, and can push them all past their start timeout. Starts made
 * through this module wait for one of `cores` slots.
 */
const startSlots = { free: Math.max(1, cpus().length), waiting: [] as Array<() => void> };

export async function startLimited(opts: KernelStartOptions): Promise<KernelClient> {
  if (startSlots.free > 0) startSlots.free--;
  else await new Promise<void>((resolve) => startSlots.waiting.push(resolve));
  try {
    return await KernelClient.start(opts);
  } finally {
    const next = startSlots.waiting.shift();
    if (next) next();
    else startSlots.free++;
  }
}

export class KernelPool {
  private readonly ready: Array<Promise<KernelClient>> = [];
  private readonly all = new Set<Promise<KernelClient>>();
  private readonly stopping = new Set<Promise<void>>();
  private closed = false;
  readonly size: number;
  private readonly start: KernelStartOptions;

  private readonly keepFull: boolean;

  /**
   * `refill: false` makes a pool of exactly `size` kernels that starts no replacements (for a
   * batch whose size is known, or to measure runs without start-ups competing for the CPU).
   */
  constructor(opts: { size: number; start: KernelStartOptions; refill?: boolean }) {
    this.size = Math.max(1, Math.floor(opts.size));
    this.start = opts.start;
    this.keepFull = opts.refill ?? true;
    for (let i = 0; i < this.size; i++) this.startOne();
  }

  /** Resolves when every kernel started so far has finished starting (or failed to). */
  async whenReady(): Promise<void> {
    await Promise.all(this.ready.map((p) => p.catch(() => undefined)));
  }

  private refill(): void {
    if (this.keepFull) this.startOne();
  }

  private startOne(): void {
    if (this.closed) return;
    const starting = startLimited(this.start);
    // A failed start is reported to whoever acquires it, never as an unhandled rejection.
    starting.catch(() => undefined);
    this.all.add(starting);
    void starting.then(
      (k) => {
        if (!k.alive) this.all.delete(starting);
      },
      () => this.all.delete(starting),
    );
    this.ready.push(starting);
  }

  /** A fresh kernel (started ahead of time when possible); a replacement starts at once. */
  async acquire(): Promise<KernelClient> {
    if (this.closed) throw new Error("kernel pool is closed");
    const next = this.ready.shift();
    if (!next) return startLimited(this.start);
    this.all.delete(next);
    this.refill();
    const kernel = await next;
    // A pre-started kernel can die or hang while it waits (killed, OOM-killed): start another.
    if (!kernel.alive || !(await kernel.ping(5000))) {
      await kernel.shutdown();
      return startLimited(this.start);
    }
    return kernel;
  }

  /** Ends a kernel's use. It is shut down (in the background), never handed out again. */
  release(k: KernelClient): void {
    const stopping = k.shutdown();
    this.stopping.add(stopping);
    void stopping.finally(() => this.stopping.delete(stopping));
  }

  /** Shuts down every kernel the pool still holds (started, starting, or being released). */
  async close(): Promise<void> {
    this.closed = true;
    const pending = [...this.all];
    this.all.clear();
    this.ready.length = 0;
    await Promise.all([
      ...this.stopping,
      ...pending.map((p) =>
        p.then(
          (k) => k.shutdown(),
          () => undefined,
        ),
      ),
    ]);
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
export async function runNotebooks<T>(
  items: T[],
  work: (item: T, kernel: KernelClient) => Promise<void>,
  opts: BatchOptions<T>,
): Promise<void> {
  const jobs = Math.max(1, Math.floor(opts.jobs ?? cpus().length));
  const prestart = Math.max(0, Math.floor(opts.prestart ?? jobs));
  const startFor = (item: T) => (typeof opts.start === "function" ? opts.start(item) : opts.start);
  // Kernels are started in item order, at most `jobs + prestart` alive or starting at a time,
  // so each item's kernel is usually ready when a worker reaches it.
  const kernels: Array<Promise<KernelClient> | undefined> = new Array(items.length);
  let nextToStart = 0;
  let inFlight = 0;
  const startAhead = () => {
    while (nextToStart < items.length && inFlight < jobs + prestart) {
      const p = startLimited(startFor(items[nextToStart]));
      p.catch(() => undefined);
      kernels[nextToStart++] = p;
      inFlight++;
    }
  };
  const errors: unknown[] = [];
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      startAhead();
      let kernel: KernelClient | undefined;
      try {
        kernel = await kernels[i]!;
        await work(items[i], kernel);
      } catch (e) {
        errors.push(e);
      } finally {
        kernels[i] = undefined;
        inFlight--;
        startAhead();
        if (kernel) await kernel.shutdown();
      }
    }
  };
  startAhead();
  await Promise.all(Array.from({ length: Math.min(jobs, items.length) }, worker));
  if (errors.length > 0) throw new BatchError(errors);
}
