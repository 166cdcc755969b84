// test-tier: kernel
// The grader assumes the student's kernel is fully compromised: whatever runs in it may answer
// every request however it likes. These attacks replace or wrap the kernel the grader talks to,
// which is exactly the power a student with V8's internals would have, and check that a point is
// earned only by values that match the trusted reference run on this submission's own inputs.
// The last test is the door a real student tried: V8's runtime flags, from a solution cell.
import { test } from "uvu";
import * as assert from "uvu/assert";
import type { CellRun, KernelClient } from "@tinytorch-ts/core/kernel";
import { gradeSubmission } from "../../grader/src/grade-submission";
import { prepareKernel, type PreparedKernel } from "../../grader/src/kernel-session";
import { ReferenceRunner } from "../../grader/src/reference-run";
import { makeScratchRoot } from "../../grader/src/scratch";
import type { TestRecords } from "tinytorch-ts/support/checks";
import { NOTEBOOK_SEED } from "tinytorch-ts/support/test-random";
import { byId, grade, LIMITS, manifest } from "./adversarial-grading";
import { GOOD, studentNotebook } from "./helpers";

/** A test cell's begin call, as written or inside the compiled JavaScript the kernel is sent. */
const BEGIN = /[gG]rading\.begin\(\\?"([^"\\]+)\\?"\)/;

function run(extra: Partial<CellRun> = {}): CellRun {
  return { status: "ok", outputs: [], executionCount: 1, durationMs: 1, truncated: false, ...extra }; // prettier-ignore
}

/** A kernel that runs nothing and answers each test cell with `forge(gradeId)`'s records. */
function forgingKernel(forge: (test: string) => TestRecords | undefined): PreparedKernel {
  const kernel = {
    alive: true,
    deathReason: "",
    async execute(code: string): Promise<CellRun> {
      const test = BEGIN.exec(code)?.[1];
      const records = test === undefined ? undefined : forge(test);
      return run(records ? { captured: [{ at: 0, data: { type: "records", records } }] } : {});
    },
  };
  return {
    kernel: kernel as unknown as KernelClient,
    seed: 0x5eed,
    isolation: ["forged"],
    dispose: async () => undefined,
  };
}

/** A real sandboxed kernel whose every reply is rewritten to "ok". */
async function alwaysOkKernel(): Promise<PreparedKernel> {
  const prepared = await prepareKernel(manifest, LIMITS);
  const real = prepared.kernel;
  const lying = new Proxy(real, {
    get(target, key) {
      if (key === "execute") {
        return async (code: string, opts?: object) => ({ ...(await target.execute(code, opts)), status: "ok" }); // prettier-ignore
      }
      const value: unknown = Reflect.get(target, key, target);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
  return { ...prepared, kernel: lying };
}

test("a kernel whose every reply says ok: the untouched notebook earns 0, the reference full marks", async () => {
  const untouched = await grade({}, { acquireKernel: alwaysOkKernel });
  assert.is(untouched.score, 0);
  for (const t of untouched.tests) assert.is(t.status, "failed", t.gradeId);
  const honest = await grade({ sources: GOOD }, { acquireKernel: alwaysOkKernel });
  assert.is(honest.score, 6);
});

test("a kernel that records nothing, or sends two record sets for a test, earns nothing", async () => {
  const silent = await grade({ sources: GOOD }, { acquireKernel: async () => forgingKernel(() => undefined) }); // prettier-ignore
  assert.is(silent.score, 0);
  assert.match(byId(silent, "test-unit-double").message ?? "", /the test did not run/);
  const twice: PreparedKernel = forgingKernel(() => undefined);
  (twice.kernel as unknown as { execute: (c: string) => Promise<CellRun> }).execute = async (
    code,
  ) => {
    // prettier-ignore
    const test = BEGIN.exec(code)?.[1] ?? "";
    const records = { test, checks: [] };
    return run({ captured: [{ at: 0, data: { type: "records", records } }, { at: 0, data: { type: "records", records } }] }); // prettier-ignore
  };
  assert.is((await grade({ sources: GOOD }, { acquireKernel: async () => twice })).score, 0);
});

test("a kernel that replays the reference's records for another seed earns nothing", async () => {
  // The strongest forgery a student can make without a working solution: every value the
  // reference produces, for the inputs of a run the student could have seen (here the seed a
  // notebook uses). Every test draws inputs from this submission's own seed, so none matches.
  const runner = await ReferenceRunner.open(manifest, { scratchRoot: makeScratchRoot(), timeoutMs: 60_000 }); // prettier-ignore
  const seen = await runner.run(NOTEBOOK_SEED);
  await runner.close();
  const replay = await grade({}, { acquireKernel: async () => forgingKernel((t) => seen.records.get(t)) }); // prettier-ignore
  assert.is(replay.score, 0);
  for (const t of replay.tests) {
    assert.is(t.status, "failed", t.gradeId);
    assert.match(t.message ?? "", /failed/);
  }
  // Made-up values fare no better: every condition true, every number 0.
  const madeUp = await grade(
    {},
    {
      acquireKernel: async () =>
        forgingKernel((t) => {
          const r = seen.records.get(t);
          return r && { test: t, checks: r.checks.map((c) => ({ kind: c.kind, actual: c.kind === "assert" ? true : 0 })) }; // prettier-ignore
        }),
    },
  );
  assert.is(madeUp.score, 0);
});

test("a kernel's claimed expected values, tolerances and patterns are ignored", async () => {
  const forged = await grade(
    {},
    {
      acquireKernel: async () =>
        forgingKernel((t) => ({
          test: t,
          checks: Array.from({ length: 12 }, () => ({ kind: "close" as const, actual: 0, expected: 0, tolerance: { atol: 1e9 } })), // prettier-ignore
        })),
    },
  );
  assert.is(forged.score, 0);
});

test("the reference graded through a forging kernel that is honest about values earns full marks", async () => {
  // The control for the tests above: the same fake kernel, fed the reference's records for the
  // grader's own seed, earns everything. So the zeros above come from the values, not the fake.
  const runner = await ReferenceRunner.open(manifest, { scratchRoot: makeScratchRoot(), timeoutMs: 60_000 }); // prettier-ignore
  const truth = await runner.run(0x5eed);
  await runner.close();
  const r = await gradeSubmission(manifest, studentNotebook(manifest, { sources: GOOD }), {
    ...LIMITS,
    acquireKernel: async () => forgingKernel((t) => truth.records.get(t)),
  });
  assert.is(r.score, 6);
});

test("V8's internals stay closed: flags refused, natives unavailable, the kernel's flags frozen", async () => {
  const probe = `let status = "";
try { require("v8").setFlagsFromString("--allow-natives-syntax"); status += "flags set; "; } catch (e: any) { status += "flags refused; "; }
try { status += "natives " + new Function("return typeof %GetOptimizationStatus")(); } catch (e: any) { status += "natives unavailable: " + e.name; }
status += process.execArgv.includes("--freeze-flags-after-init") ? "; frozen" : "; not frozen";
function double(x: number): number {
  console.log(status);
  throw new Error("Not implemented: double");
}`;
  const r = await grade({ sources: { double: probe } });
  assert.is(r.score, 0);
  assert.match(byId(r, "test-unit-double").output, /flags refused; natives unavailable: SyntaxError; frozen/); // prettier-ignore
});

test.run();
