// prettier in worker threads. A full build formats thousands of lines, and prettier is
// CPU-bound and single-threaded, so a build that rebuilds several modules spreads the pieces over
// one worker per core while the main thread goes on parsing and exporting other modules. The
// worker is plain JavaScript (no tsx in workers) and formats to the same fixpoint as format.ts.
import { cpus } from "node:os";
import { Worker } from "node:worker_threads";
import type * as Prettier from "prettier";

const WORKER_SOURCE = `
const { parentPort, workerData } = require("node:worker_threads");
const prettier = require(workerData.prettierPath);
async function fixpoint(text, opts) {
  let current = await prettier.format(text, opts);
  if (current === text || current === text + "\\n") return current;
  for (let pass = 0; pass < 4; pass++) {
    const next = await prettier.format(current, opts);
    if (next === current) return current;
    current = next;
  }
  return current;
}
parentPort.on("message", ({ id, text }) => {
  fixpoint(text, workerData.options).then(
    (formatted) => parentPort.postMessage({ id, formatted }),
    (e) => parentPort.postMessage({ id, error: String((e && e.message) || e) }),
  );
});
`;

interface Pending {
  resolve(text: string): void;
  reject(e: Error): void;
}

interface Slot {
  worker: Worker;
  busy: number;
}

export class FormatPool {
  private readonly slots: Slot[] = [];
  private readonly pending = new Map<number, Pending>();
  private nextId = 0;

  constructor(options: Prettier.Options, size = Math.max(1, Math.min(4, cpus().length))) {
    const prettierPath = require.resolve("prettier");
    for (let i = 0; i < size; i++) {
      const worker = new Worker(WORKER_SOURCE, {
        eval: true,
        workerData: { prettierPath, options },
      });
      const slot: Slot = { worker, busy: 0 };
      worker.on("message", (msg: { id: number; formatted?: string; error?: string }) => {
        slot.busy--;
        const p = this.pending.get(msg.id);
        this.pending.delete(msg.id);
        if (msg.formatted !== undefined) p?.resolve(msg.formatted);
        else p?.reject(new Error(msg.error ?? "prettier failed"));
      });
      worker.on("error", (e) => {
        for (const p of this.pending.values()) p.reject(e);
        this.pending.clear();
      });
      this.slots.push(slot);
    }
  }

  format(text: string): Promise<string> {
    const slot = this.slots.reduce((a, b) => (b.busy < a.busy ? b : a));
    const id = this.nextId++;
    slot.busy++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      slot.worker.postMessage({ id, text });
    });
  }

  async close(): Promise<void> {
    await Promise.all(this.slots.map((s) => s.worker.terminate()));
  }
}
