// A clock that moves only when a test says so. The benchmarking package reads time through
// process.hrtime.bigint; with this clock in its place, stage, query and arm timings are exact, so
// a test can check what the package does with time without depending on the machine's load.
import * as assert from "uvu/assert";

/** Runs `body` with process.hrtime.bigint replaced by a clock that `advanceMs` moves. */
export async function withVirtualClock<T>(
  body: (advanceMs: (ms: number) => void) => Promise<T>,
): Promise<T> {
  const real = process.hrtime.bigint;
  let now = 1_000_000_000n;
  process.hrtime.bigint = () => now;
  try {
    return await body((ms) => {
      now += BigInt(Math.round(ms * 1e6));
    });
  } finally {
    process.hrtime.bigint = real;
  }
}

/** Equal up to floating-point rounding. */
export function near(actual: number, expected: number, message?: string): void {
  assert.ok(Math.abs(actual - expected) < 1e-9, message ?? `${actual} is not ${expected}`);
}
