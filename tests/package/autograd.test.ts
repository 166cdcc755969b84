// The exported autograd (core/autograd, loaded by core/tensor itself): gradients against float64
// central differences of independent reference functions, accumulation, graph release, depth,
// the no-grad scope, and a flat heap over 1,000 training steps of the digits MLP.
import { runInNewContext } from "node:vm";
import { setFlagsFromString } from "node:v8";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { Tensor } from "../../tinytorch-ts/src/core/tensor";
import { noGrad } from "../../tinytorch-ts/src/core/autograd";
import { Dropout, Linear, Sequential } from "../../tinytorch-ts/src/core/layers";
import { ReLU, Softmax } from "../../tinytorch-ts/src/core/activations";
import { CrossEntropyLoss } from "../../tinytorch-ts/src/core/losses";
import { disableAcceleration, enableAcceleration } from "../../tinytorch-ts/src/accel/matmul";

/** Float32-exact values in [-1, 1) from a seed. */
function sample(count: number, seed: number): Float64Array {
  const out = new Float64Array(count);
  let state = seed >>> 0;
  for (let i = 0; i < count; i++) {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    out[i] = Math.fround((state / 4294967296 - 0.5) * 2);
  }
  return out;
}

/** Analytic gradients of sum(w * build(x)) against float64 central differences of `reference`. */
function gradcheck(
  shapes: number[][],
  build: (xs: Tensor[]) => Tensor,
  reference: (xs: Float64Array[]) => Float64Array,
): void {
  const values = shapes.map((s, k) =>
    sample(
      s.reduce((p, d) => p * d, 1),
      7 + k,
    ),
  );
  const tensors = values.map((v, k) =>
    new Tensor(Float32Array.from(v), shapes[k]).setRequiresGrad(),
  );
  const out = build(tensors);
  const w = sample(out.size, 99);
  out.backward(new Tensor(Float32Array.from(w), out.shape));
  const f = (xs: Float64Array[]) => reference(xs).reduce((s, y, i) => s + w[i] * y, 0);
  values.forEach((v, k) => {
    const grad = tensors[k].grad;
    assert.ok(grad, `input ${k} has a gradient`);
    for (let i = 0; i < v.length; i++) {
      const keep = v[i];
      v[i] = keep + 1e-6;
      const up = f(values);
      v[i] = keep - 1e-6;
      const down = f(values);
      v[i] = keep;
      const numeric = (up - down) / 2e-6;
      const ok = Math.abs(grad.data[i] - numeric) <= 2e-4 + 2e-3 * Math.abs(numeric);
      assert.ok(ok, `d/dx${k}[${i}]: ${grad.data[i]} vs ${numeric}`);
    }
  });
}

test("importing Tensor alone brings the backward pass", () => {
  assert.ok(Tensor.backwardPass !== null);
  for (const op of ["add", "matmul", "sum", "relu", "crossEntropy", "gather"]) {
    assert.ok(Tensor.backwardRules.has(op), op);
  }
});

test("ReLU's rule (bit masks) is x > 0 ? g : 0 bit for bit, NaN and infinities included", () => {
  const specials = [NaN, -NaN, Infinity, -Infinity, 0, -0, 1e-45, -1e-45, 3.5, -2];
  const xs = [...specials, ...specials.map(() => Math.random() - 0.5)];
  for (const gSpecial of [1.25, NaN, Infinity, -Infinity, -0]) {
    const x = new Tensor(Float32Array.from(xs), [xs.length]).setRequiresGrad();
    const g = Float32Array.from(xs, (_, i) => (i % 3 === 0 ? gSpecial : i - 7.5));
    new ReLU().forward(x).backward(new Tensor(g, [xs.length]));
    const want = Float32Array.from(xs, (v, i) => (v > 0 ? g[i] : 0));
    const bits = (a: Float32Array): number[] => Array.from(new Int32Array(a.buffer));
    assert.equal(bits((x.grad as Tensor).data), bits(want), `gradient ${gSpecial}`);
  }
});

test("broadcast mul and div in both directions", () => {
  const bin =
    (sa: number[], sb: number[], fn: (a: number, b: number) => number) => (xs: Float64Array[]) => {
      // [3, 1] op [1, 4] -> [3, 4]
      const out = new Float64Array(12);
      for (let i = 0; i < 3; i++)
        for (let j = 0; j < 4; j++)
          out[i * 4 + j] = fn(
            xs[0][sa[1] === 1 ? i : i * 4 + j],
            xs[1][sb[0] === 1 ? j : i * 4 + j],
          );
      return out;
    };
  gradcheck(
    [
      [3, 1],
      [1, 4],
    ],
    ([a, b]) => a.mul(b),
    bin([3, 1], [1, 4], (a, b) => a * b),
  );
  gradcheck(
    [
      [3, 1],
      [1, 4],
    ],
    ([a, b]) => a.div(b.add(2)),
    bin([3, 1], [1, 4], (a, b) => a / (b + 2)),
  );
});

test("batched matmul with a broadcast weight", () => {
  gradcheck(
    [
      [2, 3, 4],
      [4, 5],
    ],
    ([a, b]) => a.matmul(b),
    ([a, b]) => {
      const out = new Float64Array(30);
      for (let t = 0; t < 2; t++)
        for (let i = 0; i < 3; i++)
          for (let j = 0; j < 5; j++) {
            let s = 0;
            for (let p = 0; p < 4; p++) s += a[t * 12 + i * 4 + p] * b[p * 5 + j];
            out[t * 15 + i * 5 + j] = s;
          }
      return out;
    },
  );
});

test("keepdims reductions and softmax", () => {
  gradcheck(
    [[3, 4]],
    ([x]) => x.sub(x.max(1, true)).mul(x.sum(1, true)),
    ([x]) => {
      const out = new Float64Array(12);
      for (let r = 0; r < 3; r++) {
        const row = Array.from(x.slice(r * 4, r * 4 + 4));
        const m = Math.max(...row);
        const s = row.reduce((p, v) => p + v, 0);
        row.forEach((v, c) => (out[r * 4 + c] = (v - m) * s));
      }
      return out;
    },
  );
  gradcheck(
    [[2, 5]],
    ([x]) => new Softmax().forward(x),
    ([x]) => {
      const out = new Float64Array(10);
      for (let r = 0; r < 2; r++) {
        const row = Array.from(x.slice(r * 5, r * 5 + 5));
        const z = row.reduce((p, v) => p + Math.exp(v), 0);
        row.forEach((v, c) => (out[r * 5 + c] = Math.exp(v) / z));
      }
      return out;
    },
  );
});

test("a reused tensor accumulates; backward twice accumulates into .grad", () => {
  const x = new Tensor([3]).setRequiresGrad();
  x.mul(x).add(x).sum().backward();
  assert.equal(x.grad?.toArray(), [7]);
  x.mul(2).sum().backward();
  assert.equal(x.grad?.toArray(), [9]);
});

test("a chain of 10,000 operations does not overflow the stack", () => {
  const x = new Tensor([1]).setRequiresGrad();
  let y = x;
  for (let i = 0; i < 10_000; i++) y = y.add(1);
  y.sum().backward();
  assert.equal(x.grad?.toArray(), [1]);
});

test("the graph is released; noGrad records nothing; Dropout's gradient is its mask", () => {
  const net = new Sequential([
    new Linear(3, 4, { seed: 1 }),
    new ReLU(),
    new Linear(4, 2, { seed: 2 }),
  ]);
  const out = net.forward(new Tensor([[1, 2, 3]]));
  assert.ok(out.gradFn !== null);
  out.sum().backward();
  assert.is(out.gradFn, null);
  assert.is(noGrad(() => net.forward(new Tensor([[1, 2, 3]]))).gradFn, null);
  assert.ok(Tensor.gradEnabled);
  const x = Tensor.ones([20]).setRequiresGrad();
  const y = new Dropout(0.5, { seed: 3 }).forward(x);
  y.sum().backward();
  assert.equal(Array.from(x.grad?.data ?? []), Array.from(y.data));
});

/**
 * Bytes in use after a full garbage collection: the JavaScript heap plus ArrayBuffer backing
 * stores, which V8 keeps outside the heap (a tensor's data of more than a few bytes lives there).
 */
function heapAfterGc(gc: () => void): number {
  gc();
  gc();
  const usage = process.memoryUsage();
  return usage.heapUsed + usage.arrayBuffers;
}

test("1,000 training steps of a 784-128-10 MLP keep the heap flat", async () => {
  // The products run through module 18's SIMD matmul (a sixth of the time; the graph and its
  // release are the same whichever kernel multiplies). Its WebAssembly memory grows during the
  // warm-up and is reused after, so it does not count as growth.
  await enableAcceleration({ log: () => undefined });
  try {
    trainAndMeasure();
  } finally {
    disableAcceleration();
  }
});

function trainAndMeasure(): void {
  setFlagsFromString("--expose-gc");
  const gc = runInNewContext("gc") as () => void;
  const net = new Sequential([
    new Linear(784, 128, { seed: 1 }),
    new ReLU(),
    new Linear(128, 10, { seed: 2 }),
  ]);
  const x = Tensor.rand([16, 784], 3);
  const labels = Array.from({ length: 16 }, (_, i) => i % 10);
  const lossFn = new CrossEntropyLoss();
  const step = () => {
    for (const p of net.parameters()) p.zeroGrad();
    const loss = lossFn.forward(net.forward(x), labels);
    loss.backward();
    for (const p of net.parameters()) {
      const g = p.grad as Tensor;
      for (let i = 0; i < p.size; i++) p.data[i] -= 0.01 * g.data[i];
    }
    return loss;
  };
  for (let i = 0; i < 50; i++) step(); // warm up: JIT code, hidden classes
  const before = heapAfterGc(gc);
  const losses: number[] = [];
  for (let i = 0; i < 1000; i++) losses.push(step().item());
  const growth = heapAfterGc(gc) - before;
  console.log(`  heap + ArrayBuffer growth after 1,000 steps: ${(growth / 1024).toFixed(0)} KiB`);
  assert.ok(losses[999] < losses[0], "it trains");
  assert.ok(growth < 1024 * 1024, `heap grew by ${growth} bytes`);
  // The same measurement sees a leak: 20 graphs kept alive (forward without backward) hold
  // their activations, 20 x (16 x 128 + 16 x 10) floats and the notes around them.
  const kept: Tensor[] = [];
  const base = heapAfterGc(gc);
  for (let i = 0; i < 20; i++) kept.push(lossFn.forward(net.forward(x), labels));
  const held = heapAfterGc(gc) - base;
  assert.ok(held > 20 * 16 * 138 * 4, `kept graphs hold ${held} bytes`);
  assert.is(kept.length, 20);
}

test.run();
