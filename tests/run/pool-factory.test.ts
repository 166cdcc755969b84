// The pool over any factory (kernels, or the grader's prepared kernels), with a fake factory that
// records what it started and stopped: order, no reuse, failed starts, closing, lazy sizing.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { KernelPool, type PoolFactory } from "../../core/src/run/pool";

interface Item {
  id: number;
}

class FakeFactory implements PoolFactory<Item> {
  started = 0;
  stopped: number[] = [];
  /** Start numbers (1-based) that fail. */
  failing = new Set<number>();
  /** Item ids that report themselves unusable after waiting. */
  broken = new Set<number>();

  async start(): Promise<Item> {
    const id = ++this.started;
    await new Promise((r) => setImmediate(r));
    if (this.failing.has(id)) throw new Error(`start ${id} failed`);
    return { id };
  }

  async stop(item: Item): Promise<void> {
    this.stopped.push(item.id);
    if (item.id === 99) throw new Error("stop never rejects out of the pool");
  }

  async usable(item: Item): Promise<boolean> {
    return !this.broken.has(item.id);
  }
}

const unhandled: unknown[] = [];
process.on("unhandledRejection", (e) => unhandled.push(e));
const settle = () => new Promise((r) => setTimeout(r, 5));

test("items are handed out in the order they were started, each once, and replaced", async () => {
  const f = new FakeFactory();
  const pool = new KernelPool({ size: 2, factory: f });
  assert.is(f.started, 2, "started ahead at construction");
  const a = await pool.acquire();
  const b = await pool.acquire();
  assert.equal([a.id, b.id], [1, 2]);
  assert.is(f.started, 4, "a replacement starts for each acquired item");
  pool.release(a);
  const c = await pool.acquire();
  assert.is(c.id, 3);
  assert.ok(![a.id, b.id].includes(c.id), "a released item is never handed out again");
  assert.equal(f.stopped, [1]);
  await pool.close();
  assert.equal(f.stopped.sort(), [1, 4, 5], "close stops what waited, not what was handed out");
});

test("a failed start is reported by the acquire that gets it, never as an unhandled rejection", async () => {
  const f = new FakeFactory();
  f.failing.add(1);
  const pool = new KernelPool({ size: 1, factory: f });
  await settle();
  const err = await pool.acquire().then(
    () => undefined,
    (e: unknown) => e,
  );
  assert.match(String(err), /start 1 failed/);
  assert.is((await pool.acquire()).id, 2, "the next acquire gets the replacement");
  await pool.close();
  await settle();
  assert.equal(unhandled, []);
});

test("an item that stopped being usable while it waited is stopped and replaced", async () => {
  const f = new FakeFactory();
  f.broken.add(1);
  const pool = new KernelPool({ size: 1, factory: f, refill: false });
  const item = await pool.acquire();
  assert.is(item.id, 2);
  assert.equal(f.stopped, [1]);
  await pool.close();
});

test("close stops everything still held, even items still starting; then nothing is handed out", async () => {
  const f = new FakeFactory();
  const pool = new KernelPool({ size: 3, factory: f });
  const released = await pool.acquire();
  pool.release(released);
  await pool.close(); // items 2..4 are still starting
  assert.equal(f.stopped.sort(), [1, 2, 3, 4]);
  const err = await pool.acquire().then(
    () => undefined,
    (e: unknown) => e,
  );
  assert.match(String(err), /closed/);
  assert.is(f.started, 4, "a closed pool starts nothing");
});

test("a stop that rejects does not break release or close", async () => {
  const f = new FakeFactory();
  const pool = new KernelPool({ size: 0, factory: f });
  pool.release({ id: 99 });
  await pool.close();
  await settle();
  assert.equal(f.stopped, [99]);
  assert.equal(unhandled, []);
});

test("size 0 starts each item on acquire; refill false starts no replacements", async () => {
  const f = new FakeFactory();
  const none = new KernelPool({ size: 0, factory: f });
  assert.is(f.started, 0);
  assert.is((await none.acquire()).id, 1);
  assert.is(f.started, 1, "nothing started ahead");
  await none.close();

  const g = new FakeFactory();
  const fixed = new KernelPool({ size: 2, factory: g, refill: false });
  await fixed.acquire();
  await fixed.acquire();
  assert.is(g.started, 2);
  assert.is((await fixed.acquire()).id, 3, "past its size, it starts on demand");
  await fixed.close();
});

test("lazy: nothing starts before the first acquire; a size function bounds each top-up", async () => {
  const f = new FakeFactory();
  let workLeft = 2;
  const pool = new KernelPool({ size: () => Math.min(2, workLeft), factory: f, lazy: true });
  await settle();
  assert.is(f.started, 0);
  workLeft = 1;
  assert.is((await pool.acquire()).id, 1, "the caller's own start comes first");
  assert.is(f.started, 2, "then one ahead, as much as the work left");
  workLeft = 0;
  assert.is((await pool.acquire()).id, 2);
  assert.is(f.started, 2, "no work left: no replacement");
  await pool.close();
  assert.equal(f.stopped, []);
});

test.run();
