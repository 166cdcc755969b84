// Starting a kernel is CPU-bound (tslab loads and runs the TypeScript compiler), so starting
// many at once only makes each one slower, and can push them all past their start timeout.
// Kernel starts therefore wait for one of `cores` slots, in the order they asked. The slot is
// taken in one place, KernelClient's start (client.ts), so no caller can skip it; and since
// nothing holding a slot starts another kernel, no start ever waits inside another (which, with
// as few slots as a 2-core machine has, would deadlock).
import { cpus } from "node:os";

export class StartSlots {
  private free: number;
  private readonly waiting: Array<() => void> = [];

  constructor(size: number) {
    this.free = Math.max(1, Math.floor(size));
  }

  /**
   * Runs `start` once a slot is free (first come, first served) and frees the slot when it
   * settles, whether it resolved or threw.
   */
  async run<T>(start: () => Promise<T>): Promise<T> {
    if (this.free > 0) this.free--;
    else await new Promise<void>((resolve) => this.waiting.push(resolve));
    try {
      return await start();
    } finally {
      // The slot passes straight to the next in line, so a newcomer cannot overtake it.
      const next = this.waiting.shift();
      if (next) next();
      else this.free++;
    }
  }
}

/** The slots every kernel start in this process shares. */
export const kernelStartSlots = new StartSlots(cpus().length);
