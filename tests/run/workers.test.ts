// runWorkers, the one loop that runs a batch N at a time, and runNotebooks' pool over it
// (runPooled) with fake starts that record what was started and stopped: concurrency, order,
// the stop flag, the error contract, and nothing left running whatever the work does.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { BatchError, runPooled } from "../../core/src/run/pool";
import { runWorkers, WorkErrors } from "../../core/src/run/workers";

const unhandled: unknown[] = [];
process.on("unhandledRejection", (e) => unhandled.push(e));
const tick = (n = 1) => new Promise<void>((r) => setTimeout(r, n));

/** Counts how many calls are inside `during` at once. */
function concurrency() {
  let now = 0;
  let most = 0;
  return {
    most: () => most,
    async during<T>(f: () => Promise<T>): Promise<T> {
      now++;
      most = Math.max(most, now);
      try {
        return await f();
      } finally {
        now--;
      }
    },
  };
}

test("runWorkers: every item once, taken in order, never more than jobs at once", async () => {
  const c = concurrency();
  const begun: number[] = [];
  const done: number[] = [];
  const items = [1, 2, 3, 4, 5, 6, 7];
  await runWorkers(items, 3, (i) =>
    c.during(async () => {
      begun.push(i);
      await tick(i % 3 === 0 ? 6 : 1);
      done.push(i);
    }),
  );
  assert.equal(begun, items, "work begins in item order");
  assert.equal([...done].sort(), items);
  assert.is(c.most(), 3);
});

test("runWorkers: jobs below 1 (or not a number) is one worker; more jobs than items is fine", async () => {
  for (const jobs of [0, -2, Number.NaN]) {
    const c = concurrency();
    const seen: number[] = [];
    await runWorkers([1, 2, 3], jobs, (i) => c.during(async () => void seen.push(i)));
    assert.equal(seen, [1, 2, 3], `jobs ${jobs}`);
    assert.is(c.most(), 1, `jobs ${jobs}`);
  }
  const seen: number[] = [];
  await runWorkers([1, 2], 8, async (i) => void seen.push(i));
  assert.equal(seen, [1, 2]);
  await runWorkers([], 4, async () => assert.unreachable("no items, no work"));
});

test("runWorkers: the stop flag is checked before each next item; taken items finish", async () => {
  const stop = { requested: false };
  const finished: number[] = [];
  await runWorkers(
    [1, 2, 3, 4, 5, 6],
    2,
    async (i) => {
      if (i === 2) stop.requested = true;
      await tick();
      finished.push(i);
    },
    { stop },
  );
  assert.equal(finished.sort(), [1, 2], "items 1 and 2 were taken before the stop; none after");
});

test("runWorkers: errors do not stop the others and come back together, in item order", async () => {
  const done: string[] = [];
  const err = await runWorkers(["a", "b", "c", "d"], 2, async (s) => {
    await tick(s === "b" ? 5 : 1);
    if (s === "b" || s === "d") throw new Error(`${s} broke`);
    done.push(s);
  }).then(
    () => undefined,
    (e: unknown) => e,
  );
  assert.equal(done.sort(), ["a", "c"]);
  assert.ok(err instanceof WorkErrors);
  assert.ok(err instanceof AggregateError);
  const we = err as WorkErrors<string>;
  assert.equal(
    we.errors.map((e: Error) => e.message),
    ["b broke", "d broke"],
  );
  assert.equal(we.failedItems, ["b", "d"]);
  assert.match(we.message, /2 item\(s\) failed/);
});

test("runWorkers: a work function that throws before its first await is caught too", async () => {
  const err = await runWorkers([1], 1, (() => {
    throw new Error("sync");
  }) as () => Promise<void>).then(
    () => undefined,
    (e: unknown) => e,
  );
  assert.ok(err instanceof WorkErrors);
});

interface FakeKernel {
  id: number;
  item: string;
}

/** Fake kernels: each remembers the item it was started for; starts and stops are recorded. */
function fakeKernels(failFor = new Set<string>()) {
  const alive = new Set<number>();
  let mostAlive = 0;
  let next = 0;
  const stopped: number[] = [];
  return {
    alive,
    stopped,
    mostAlive: () => mostAlive,
    started: () => next,
    async start(item: string): Promise<FakeKernel> {
      const id = ++next;
      await tick();
      if (failFor.has(item)) throw new Error(`kernel for ${item} did not start`);
      alive.add(id);
      mostAlive = Math.max(mostAlive, alive.size);
      return { id, item };
    },
    async stop(k: FakeKernel): Promise<void> {
      await tick();
      alive.delete(k.id);
      stopped.push(k.id);
    },
  };
}

test("runPooled: each item runs in a kernel started for it, ahead of time, then stopped", async () => {
  const f = fakeKernels();
  const items = ["a", "b", "c", "d", "e"];
  const ran: string[] = [];
  await runPooled<string, FakeKernel>(
    items,
    async (item, k) => {
      assert.is(k.item, item, "the kernel was started with this item's options");
      assert.ok(f.alive.has(k.id));
      await tick(item === "a" ? 8 : 1);
      ran.push(item);
    },
    { jobs: 2, prestart: 1, start: (i) => f.start(i), stop: (k) => f.stop(k) },
  );
  assert.equal(ran.sort(), items);
  assert.is(f.started(), items.length, "one start per item, none to spare");
  assert.equal(f.alive.size, 0);
  assert.ok(f.mostAlive() <= 3, `at most jobs + prestart alive (${f.mostAlive()})`);
});

test("runPooled: work that throws fails its item only; no kernel is left running", async () => {
  const f = fakeKernels();
  const err = await runPooled(
    ["a", "b", "c"],
    async (item) => {
      if (item !== "c") throw new Error(`${item} threw`);
    },
    { jobs: 2, start: (i) => f.start(i), stop: (k) => f.stop(k) },
  ).then(
    () => undefined,
    (e: unknown) => e,
  );
  assert.ok(err instanceof BatchError);
  assert.equal(
    (err as BatchError).errors.map((e: Error) => e.message),
    ["a threw", "b threw"],
  );
  assert.equal(f.alive.size, 0, "every kernel was stopped");
  assert.equal(f.stopped.length, 3);
});

test("runPooled: a kernel that cannot start fails its item; the next items still run", async () => {
  const f = fakeKernels(new Set(["b"]));
  const ran: string[] = [];
  const err = await runPooled(["a", "b", "c"], async (item) => void ran.push(item), {
    jobs: 1,
    start: (i) => f.start(i),
    stop: (k) => f.stop(k),
  }).then(
    () => undefined,
    (e: unknown) => e,
  );
  assert.equal(ran, ["a", "c"]);
  assert.match(String((err as BatchError).errors[0]), /kernel for b did not start/);
  assert.equal(f.alive.size, 0);
  await tick(5);
  assert.equal(unhandled, []);
});

test("runPooled: prestart 0 starts each kernel when its item is taken", async () => {
  const f = fakeKernels();
  const startedWhenRun: number[] = [];
  await runPooled(["a", "b", "c"], async () => void startedWhenRun.push(f.started()), {
    jobs: 1,
    prestart: 0,
    start: (i) => f.start(i),
    stop: (k) => f.stop(k),
  });
  assert.equal(startedWhenRun, [1, 2, 3], "nothing started ahead");
  assert.equal(f.alive.size, 0);
});

test.run();
