// Shared helpers for the notebook format tests.
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";

export const FIXTURES = join(__dirname, "..", "fixtures", "notebook");

/** A canonical module source used by several tests. */
export const MODULE_SOURCE = `// ---
// jupyter:
//   jupytext:
//     text_representation:
//       extension: .ts
//       format_name: percent
//   kernelspec:
//     display_name: TypeScript
//     language: typescript
//     name: tslab
// ---

// %% [markdown]
// # Module 02: Activations
//
// Why this exists.

// %%
//| default_exp core.activations

// %% nbgrader={"grade": false, "grade_id": "relu", "locked": false, "schema_version": 3, "solution": true, "task": false}
//| export
class ReLU {
  forward(x: number): number {
    // ### BEGIN SOLUTION
    return Math.max(0, x);
    // ### END SOLUTION
  }
}

// %% nbgrader={"grade": true, "grade_id": "test-unit-relu", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
function testUnitReLU(): void {
  assertEqual(new ReLU().forward(-1), 0);
  // ### BEGIN HIDDEN TESTS
  assertEqual(new ReLU().forward(3), 3);
  // ### END HIDDEN TESTS
  passed("testUnitReLU");
}
testUnitReLU();
`;

export function readFixture(name: string): string {
  return readFileSync(join(FIXTURES, name), "utf8");
}

export function fixtureNames(sub: string, ext: string): string[] {
  return readdirSync(join(FIXTURES, sub))
    .filter((f) => f.endsWith(ext))
    .sort()
    .map((f) => join(sub, f));
}

/** Run fn and return the thrown error (failing the test if nothing was thrown). */
export function thrown(fn: () => unknown): Error {
  try {
    fn();
  } catch (e) {
    return e as Error;
  }
  throw new Error("expected an error, but none was thrown");
}
