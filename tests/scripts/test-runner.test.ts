// The test runner's own parts: tiers from the first-line marker, longest-first ordering from
// history or static weights, the timings file, uvu summaries, arguments, and the pool itself.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { KERNEL_MARKER, tierOf, type Job } from "../../scripts/test-runner/jobs";
import { parseArgs } from "../../scripts/test-runner/main";
import { runPool, type JobResult } from "../../scripts/test-runner/pool";
import { judge } from "../../scripts/test-runner/report";
import { loadTimings, longestFirst, saveTimings } from "../../scripts/test-runner/timings";

const scratch = mkdtempSync(join(tmpdir(), "tito-runner-test-"));
test.after(() => rmSync(scratch, { recursive: true, force: true }));

function job(name: string, tier: Job["tier"] = "fast", kind: Job["kind"] = "test"): Job {
  return { name, kind, tier, command: process.execPath, args: [] };
}

function result(j: Job, output: string, code: number | null = 0): JobResult {
  return { job: j, seconds: 1.5, code, signal: null, output, timedOut: false };
}

const UVU_OK = "  Total:     3\n  Passed:    3\n  Skipped:   0\n  Duration:  5ms\n";

test("the tier comes from the exact marker on the first line only", () => {
  assert.is(tierOf(`${KERNEL_MARKER}\n// A kernel test\n`), "kernel");
  assert.is(tierOf(KERNEL_MARKER), "kernel");
  assert.is(tierOf(`// A test\n${KERNEL_MARKER}\n`), "fast");
  assert.is(tierOf("// test-tier: kernels\n"), "fast");
  assert.is(tierOf(""), "fast");
});

test("longest first: recorded durations win, static weights order the unknown", () => {
  const course = job("tests/course/01_tensor.test.ts", "kernel");
  const kernel = job("tests/run/runner.test.ts", "kernel");
  const fast = job("tests/notebook/lexer.test.ts");
  const check = job("eslint", "fast", "check");
  assert.equal(
    longestFirst([fast, check, kernel, course], new Map()).map((j) => j.name),
    [course.name, kernel.name, check.name, fast.name],
  );
  const history = new Map([
    [fast.name, 500],
    [course.name, 1],
  ]);
  assert.equal(
    longestFirst([fast, check, kernel, course], history).map((j) => j.name),
    [fast.name, kernel.name, check.name, course.name],
  );
});

test("the timings file: round trip, merge, and no history from a bad file", () => {
  const file = join(scratch, "cache", "test-times.json");
  assert.equal(loadTimings(file), new Map(), "missing file");
  saveTimings(
    file,
    new Map([
      ["a", 1.04],
      ["b", 2],
    ]),
    new Map([["b", 3.26]]),
  );
  assert.equal(
    loadTimings(file),
    new Map([
      ["a", 1],
      ["b", 3.3],
    ]),
  );
  writeFileSync(file, "{ not json");
  assert.equal(loadTimings(file), new Map());
  writeFileSync(file, JSON.stringify({ version: 99, seconds: { a: 1 } }));
  assert.equal(loadTimings(file), new Map());
  writeFileSync(file, JSON.stringify({ version: 1, seconds: { a: "x", b: -1, c: 2 } }));
  assert.equal(loadTimings(file), new Map([["c", 2]]));
});

test("judging a test file from uvu's summary and its exit", () => {
  const t = job("tests/x.test.ts");
  assert.equal(judge(result(t, UVU_OK)), {
    passed: 3,
    failed: 0,
    block: "ok   tests/x.test.ts (1.5s): 3 passed",
  });
  const someFailed = judge(result(t, UVU_OK.replace("Passed:    3", "Passed:    1"), 1));
  assert.is(someFailed.failed, 2);
  assert.match(someFailed.block, /^FAIL tests\/x\.test\.ts \(1\.5s\): 1 passed, 2 failed/);
  const lateCrash = judge(result(t, UVU_OK, 1));
  assert.equal([lateCrash.passed, lateCrash.failed], [3, 1]);
  const crashed = judge(result(t, "TypeError: boom", 1));
  assert.equal([crashed.passed, crashed.failed], [0, 1]);
  assert.match(crashed.block, /no test summary \(exit 1\)\n {5}TypeError: boom/);
});

test("a fast-tier file refused a kernel gets the marker hint; a check counts once", () => {
  const refused = judge(result(job("tests/y.test.ts"), "refusing ... TITO_TEST_TIER=fast ...", 1));
  assert.match(refused.block, /make `\/\/ test-tier: kernel` its first line/);
  const check = job("eslint", "fast", "check");
  assert.equal(judge(result(check, "")).passed, 1);
  assert.match(
    judge(result(check, "x.ts: error", 2)).block,
    /^FAIL eslint \(1\.5s\): exit 2\n {5}x\.ts: error/,
  );
});

test("arguments: workers from flag or environment, tiers, filters; bad values are named", () => {
  const saved = process.env.TITO_TEST_WORKERS;
  try {
    delete process.env.TITO_TEST_WORKERS;
    assert.ok(parseArgs([]).workers >= 2, "at least 2 workers by default");
    process.env.TITO_TEST_WORKERS = "3";
    assert.is(parseArgs([]).workers, 3);
    assert.is(parseArgs(["--workers=5"]).workers, 5);
    assert.is(parseArgs(["-j", "1"]).workers, 1);
    assert.equal(parseArgs(["--tier", "fast", "--no-static", "tests/a"]), {
      workers: 3,
      tier: "fast",
      runStatic: false,
      filters: ["tests/a"],
    });
    assert.throws(() => parseArgs(["--workers=0"]), /--workers: expected a whole number/);
    assert.throws(() => parseArgs(["--tier=slow"]), /--tier: expected fast, kernel or all/);
    assert.throws(() => parseArgs(["--bogus"]), /unknown option --bogus/);
    process.env.TITO_TEST_WORKERS = "many";
    assert.throws(() => parseArgs([]), /TITO_TEST_WORKERS/);
  } finally {
    if (saved === undefined) delete process.env.TITO_TEST_WORKERS;
    else process.env.TITO_TEST_WORKERS = saved;
  }
});

test("the pool runs every job once, never more at a time than it has workers", async () => {
  // Each job notes how many jobs were running when it started, through files in a directory.
  const dir = mkdtempSync(join(scratch, "pool-"));
  const script = `
    const fs = require("node:fs"), path = require("node:path");
    const dir = process.argv[1], me = process.argv[2];
    fs.writeFileSync(path.join(dir, me + ".running"), "");
    const running = fs.readdirSync(dir).filter((f) => f.endsWith(".running")).length;
    fs.writeFileSync(path.join(dir, me + ".seen"), String(running));
    setTimeout(() => { fs.rmSync(path.join(dir, me + ".running")); console.log(me); }, 200);`;
  const jobs: Job[] = ["a", "b", "c", "d", "e"].map((name) => ({
    ...job(name),
    args: ["-e", script, dir, name],
  }));
  const finished: string[] = [];
  const results = await runPool(jobs, {
    workers: 2,
    cwd: scratch,
    env: () => process.env,
    timeoutMs: 60_000,
    onDone: (r) => finished.push(r.job.name),
  });
  assert.equal([...finished].sort(), ["a", "b", "c", "d", "e"]);
  assert.equal(results.map((r) => r.output.trim()).sort(), ["a", "b", "c", "d", "e"]);
  for (const name of finished) {
    const seen = Number(readFileSync(join(dir, `${name}.seen`), "utf8"));
    assert.ok(seen >= 1 && seen <= 2, `${name} saw ${seen} jobs running`);
  }
});

test.run();
