// The start slots every kernel start waits for, with fake starts (no kernel): never more than N
// at once, first come first served, a failed start gives its slot back; and the slot is taken
// in one place only, so that no start can wait inside another.
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join, relative } from "node:path";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { StartSlots } from "../../core/src/kernel/start-slot";
import { KIT_ROOT as KIT } from "../../core/src/course-root";

/** A start that stays pending until `finish` is called, recording how many run at once. */
function gate() {
  let running = 0;
  let most = 0;
  const began: number[] = [];
  const pending = new Map<number, { resolve: () => void; reject: (e: Error) => void }>();
  const start = (id: number) => async () => {
    began.push(id);
    running++;
    most = Math.max(most, running);
    try {
      await new Promise<void>((resolve, reject) => pending.set(id, { resolve, reject }));
      return id;
    } finally {
      running--;
    }
  };
  return {
    start,
    began,
    most: () => most,
    finish: (id: number) => pending.get(id)?.resolve(),
    fail: (id: number) => pending.get(id)?.reject(new Error(`start ${id} failed`)),
  };
}

const settle = () => new Promise((r) => setTimeout(r, 5));

test("never more than N starts at once; the others wait their turn in order", async () => {
  const slots = new StartSlots(2);
  const g = gate();
  const all = [1, 2, 3, 4, 5].map((id) => slots.run(g.start(id)));
  await settle();
  assert.equal(g.began, [1, 2], "two slots: the first two run");
  g.finish(2);
  await settle();
  assert.equal(g.began, [1, 2, 3], "a freed slot goes to the first in line");
  g.finish(1);
  g.finish(3);
  await settle();
  assert.equal(g.began, [1, 2, 3, 4, 5]);
  g.finish(4);
  g.finish(5);
  assert.equal(await Promise.all(all), [1, 2, 3, 4, 5]);
  assert.is(g.most(), 2);
});

test("a start that throws gives its slot back once, and the error reaches its caller", async () => {
  const slots = new StartSlots(1);
  const g = gate();
  const failing = slots.run(g.start(1)).then(
    () => undefined,
    (e: unknown) => e,
  );
  const next = slots.run(g.start(2));
  const after = slots.run(g.start(3));
  await settle();
  g.fail(1);
  assert.match(String(await failing), /start 1 failed/);
  await settle();
  assert.equal(g.began, [1, 2], "the failed start's slot went to the next in line");
  g.finish(2);
  await settle();
  g.finish(3);
  assert.equal(await Promise.all([next, after]), [2, 3]);
  assert.is(g.most(), 1, "a slot freed once is not handed out twice");
});

test("a start that throws synchronously gives its slot back too", async () => {
  const slots = new StartSlots(1);
  const err = await slots
    .run(() => {
      throw new Error("at once");
    })
    .then(
      () => undefined,
      (e: unknown) => e,
    );
  assert.match(String(err), /at once/);
  assert.is(await slots.run(async () => "free again"), "free again");
});

test("a size below 1 still has one slot", async () => {
  const slots = new StartSlots(0);
  assert.is(await slots.run(async () => 1), 1);
});

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((entry) => {
    const full = join(dir, entry);
    if (statSync(full).isDirectory()) return entry === "node_modules" ? [] : sources(full);
    return /\.(ts|cjs|js)$/.test(entry) ? [full] : [];
  });
}

test("the slot is taken in KernelClient's start only, so no start waits inside another", () => {
  const users: string[] = [];
  for (const dir of ["core/src", "grader/src", "tito/src", "bench"]) {
    for (const file of sources(join(KIT, dir))) {
      const text = readFileSync(file, "utf8");
      if (/kernelStartSlots|withStartSlot|startLimited/.test(text)) {
        users.push(relative(KIT, file));
      }
    }
  }
  assert.equal(users.sort(), ["core/src/kernel/client.ts", "core/src/kernel/start-slot.ts"]);
});

test.run();
