// The exported activations: values from the functions' definitions, and stability at ±1000
// (no NaN or Infinity where the true value is finite).
import { test } from "uvu";
import * as assert from "uvu/assert";
import { Tensor } from "../../tinytorch-ts/src/core/tensor";
import { GELU, ReLU, Sigmoid, Softmax, Tanh, erf } from "../../tinytorch-ts/src/core/activations";

function close(actual: number[], expected: number[], tol = 1e-6): void {
  assert.is(actual.length, expected.length, "length");
  actual.forEach((v, i) =>
    assert.ok(Math.abs(v - expected[i]) <= tol, `[${i}] got ${v}, expected ${expected[i]}`),
  );
}
const values = (t: Tensor): number[] => Array.from(t.data);
const finite = (t: Tensor): boolean => values(t).every(Number.isFinite);
const extremes = new Tensor([-1000, -100, 0, 100, 1000]);

test("ReLU: max(0, x), NaN kept, shape kept", () => {
  const relu = new ReLU();
  assert.equal(relu.forward(new Tensor([-2, 0, 3])).toArray(), [0, 0, 3]);
  assert.equal(values(relu.forward(extremes)), [0, 0, 0, 100, 1000]);
  assert.ok(Number.isNaN(relu.forward(new Tensor([NaN])).item()));
  assert.equal(relu.forward(Tensor.zeros([2, 0])).shape, [2, 0]);
  assert.equal(relu.parameters(), []);
});

test("Sigmoid: values, symmetry, and exact saturation at ±1000", () => {
  const s = new Sigmoid();
  close(values(s.forward(new Tensor([-2, 0, 2]))), [0.11920292, 0.5, 0.88079708]);
  const y = s.forward(extremes);
  assert.ok(finite(y));
  close(values(y), [0, 0, 0.5, 1, 1]);
  close(values(s.forward(new Tensor([-30]))), [9.357623e-14], 1e-18);
});

test("Tanh: values and saturation at ±1000", () => {
  const t = new Tanh();
  close(values(t.forward(new Tensor([-1, 0.5]))), [-0.76159416, 0.46211716]);
  const y = t.forward(extremes);
  assert.ok(finite(y));
  close(values(y), [-1, -1, 0, 1, 1]);
});

test("GELU: x * Phi(x) and limits at ±1000", () => {
  const g = new GELU();
  close(
    values(g.forward(new Tensor([-1, 0, 1, 2]))),
    [-0.15865525, 0, 0.84134475, 1.9544997],
    1e-6,
  );
  const y = g.forward(extremes);
  assert.ok(finite(y));
  close(values(y), [0, 0, 0, 100, 1000]);
  close([erf(0.5), erf(-1.2), erf(3)], [0.52049988, -0.91031398, 0.99997791], 2e-7);
  assert.is(erf(0), 0);
});

test("Softmax: distributions along an axis, finite at ±1000", () => {
  const sm = new Softmax();
  close(values(sm.forward(new Tensor([1, 2, 3]))), [0.09003057, 0.24472847, 0.66524096]);
  const y = sm.forward(
    new Tensor([
      [1000, 1000, -1000],
      [-1000, 0, 1000],
    ]),
  );
  assert.ok(finite(y));
  close(values(y), [0.5, 0.5, 0, 0, 0, 1]);
  const cols = new Softmax(0).forward(Tensor.randn([3, 4], 1).mul(100));
  assert.ok(finite(cols));
  close(values(cols.sum(0)), [1, 1, 1, 1], 1e-6);
  assert.equal(sm.forward(Tensor.zeros([2, 0])).shape, [2, 0]);
  assert.is(sm.axis, -1);
});

test("activations do not modify their input", () => {
  const x = new Tensor([-1, 0.5, 2]);
  for (const layer of [new ReLU(), new Sigmoid(), new Tanh(), new GELU(), new Softmax()]) {
    const y = layer.forward(x);
    assert.ok(y !== x);
    assert.equal(values(x), [-1, 0.5, 2]);
  }
});

test.run();
