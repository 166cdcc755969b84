// The exported Tensor checked against numpy's documented behaviour. Every expected value below
// is written from numpy's documentation (the broadcasting guide, and the examples of sum, mean,
// amax, matmul, reshape, transpose and basic indexing), not computed by the code under test;
// the zero-size and size-1 cases follow the same rules.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { inspect } from "node:util";
import {
  Rng,
  Tensor,
  add,
  broadcastShapes,
  div,
  ones,
  randn,
  sub,
  zeros,
} from "../../tinytorch-ts/src/core/tensor";

const arange = (n: number): Tensor => Tensor.arange(n);

function close(actual: number[], expected: number[], tol = 1e-6): void {
  assert.is(actual.length, expected.length, "length");
  actual.forEach((v, i) =>
    assert.ok(Math.abs(v - expected[i]) <= tol, `[${i}] ${v} vs ${expected[i]}`),
  );
}

// ---- broadcasting: the shapes of numpy's broadcasting guide ----
test("broadcast shapes from numpy's guide", () => {
  const cases: [number[], number[], number[]][] = [
    [[256, 256, 3], [3], [256, 256, 3]],
    [
      [8, 1, 6, 1],
      [7, 1, 5],
      [8, 7, 6, 5],
    ],
    [[5, 4], [1], [5, 4]],
    [[5, 4], [4], [5, 4]],
    [
      [15, 3, 5],
      [15, 1, 5],
      [15, 3, 5],
    ],
    [
      [15, 3, 5],
      [3, 5],
      [15, 3, 5],
    ],
    [
      [15, 3, 5],
      [3, 1],
      [15, 3, 5],
    ],
    [[], [2, 3], [2, 3]],
  ];
  for (const [a, b, out] of cases) {
    assert.equal(broadcastShapes(a, b), out, `${a} with ${b}`);
    assert.equal(broadcastShapes(b, a), out, `${b} with ${a}`);
    assert.equal(zeros(a).add(zeros(b)).shape, out, `Tensor.add ${a} + ${b}`);
  }
});

test("incompatible shapes from numpy's guide are rejected with both shapes named", () => {
  assert.throws(() => zeros([3]).add(zeros([4])), /\[3\] \[4\]/);
  assert.throws(() => zeros([2, 1]).mul(zeros([8, 4, 3])), /\[2, 1\] \[8, 4, 3\]/);
});

test("outer sum from numpy's guide: a[:, newaxis] + b", () => {
  const a = new Tensor([0, 10, 20, 30]).reshape(4, 1);
  const b = new Tensor([1, 2, 3]);
  assert.equal(a.add(b).toArray(), [
    [1, 2, 3],
    [11, 12, 13],
    [21, 22, 23],
    [31, 32, 33],
  ]);
});

test("a number on either side of all four operators", () => {
  const x = new Tensor([1, 2, 4]);
  assert.equal(x.mul(2).toArray(), [2, 4, 8], "numpy: [1, 2, 3] * 2.0");
  assert.equal(x.sub(1).toArray(), [0, 1, 3]);
  assert.equal(sub(1, x).toArray(), [0, -1, -3]);
  assert.equal(div(8, x).toArray(), [8, 4, 2]);
  assert.equal(add(0.5, x).toArray(), [1.5, 2.5, 4.5]);
  assert.equal(add(1, 2).shape, [], "two numbers make a 0-d tensor");
});

test("size-1 and zero-size dimensions broadcast like numpy", () => {
  assert.equal(zeros([1, 3]).add(zeros([3, 1])).shape, [3, 3]);
  assert.equal(zeros([0, 3]).add(ones([3])).shape, [0, 3]);
  assert.equal(zeros([5, 0]).add(ones([1])).shape, [5, 0]);
  assert.equal(zeros([0]).add(zeros([0])).shape, [0]);
  assert.equal(zeros([1, 0]).add(zeros([4, 1])).shape, [4, 0]);
  assert.throws(() => zeros([0]).add(zeros([2])), /broadcast/);
});

test("division by zero gives IEEE infinities and NaN, like numpy float32", () => {
  const q = new Tensor([1, -1, 0]).div(0);
  assert.is(q.data[0], Infinity);
  assert.is(q.data[1], -Infinity);
  assert.ok(Number.isNaN(q.data[2]));
});

// ---- reductions: numpy.sum, numpy.mean, numpy.amax examples ----
test("sum examples from numpy.sum", () => {
  assert.is(new Tensor([0.5, 1.5]).sum().item(), 2);
  const m = new Tensor([
    [0, 1],
    [0, 5],
  ]);
  assert.is(m.sum().item(), 6);
  assert.equal(m.sum(0).toArray(), [0, 6]);
  assert.equal(m.sum(1).toArray(), [1, 5]);
  assert.equal(m.sum(-1).toArray(), [1, 5], "negative axis");
  assert.is(zeros([0]).sum().item(), 0, "np.sum([]) is 0.0");
});

test("mean examples from numpy.mean", () => {
  const a = new Tensor([
    [1, 2],
    [3, 4],
  ]);
  assert.is(a.mean().item(), 2.5);
  assert.equal(a.mean(0).toArray(), [2, 3]);
  assert.equal(a.mean(1).toArray(), [1.5, 3.5]);
  assert.ok(Number.isNaN(zeros([0]).mean().item()), "mean of an empty array is nan");
});

test("max examples from numpy.amax", () => {
  const a = arange(4).reshape(2, 2);
  assert.is(a.max().item(), 3);
  assert.equal(a.max(0).toArray(), [2, 3]);
  assert.equal(a.max(1).toArray(), [1, 3]);
  assert.throws(() => zeros([0]).max(), /identity/, "zero-size array to reduction operation");
});

test("keepdims and axis checks", () => {
  const x = ones([2, 3, 4]);
  assert.equal(x.sum(1, true).shape, [2, 1, 4]);
  assert.equal(x.sum(-1, true).shape, [2, 3, 1]);
  assert.equal(x.sum(null, true).shape, [1, 1, 1]);
  assert.equal(x.mean(0).shape, [3, 4]);
  assert.equal(x.sum().shape, [], "no axis: 0-d");
  assert.throws(() => x.sum(3), /axis 3 is out of bounds for array of dimension 3/);
  assert.throws(() => x.sum(-4), /out of bounds/);
});

test("reductions over zero-size dimensions", () => {
  assert.equal(zeros([0, 3]).sum(0).toArray(), [0, 0, 0]);
  assert.equal(zeros([0, 3]).sum(1).shape, [0]);
  assert.equal(zeros([3, 0]).max(0).shape, [0], "empty result, no error");
  assert.throws(() => zeros([3, 0]).max(1), /identity/);
  assert.equal(ones([2, 1]).sum(1).toArray(), [1, 1], "size-1 axis");
});

// ---- matmul: numpy.matmul examples ----
test("matmul examples from numpy.matmul", () => {
  const a = new Tensor([
    [1, 0],
    [0, 1],
  ]);
  const b = new Tensor([
    [4, 1],
    [2, 2],
  ]);
  assert.equal(a.matmul(b).toArray(), [
    [4, 1],
    [2, 2],
  ]);
  const v = new Tensor([1, 2]);
  assert.equal(a.matmul(v).toArray(), [1, 2], "2-D @ 1-D");
  assert.equal(v.matmul(a).toArray(), [1, 2], "1-D @ 2-D");
  const x = arange(16).reshape(2, 2, 4);
  const y = arange(16).reshape(2, 4, 2);
  const z = x.matmul(y);
  assert.equal(z.shape, [2, 2, 2]);
  assert.is(z.get(0, 1, 1).item(), 98);
  assert.is(new Tensor([1, 2, 3]).matmul(new Tensor([4, 5, 6])).item(), 32);
  assert.equal(new Tensor([1, 2, 3]).matmul(new Tensor([4, 5, 6])).shape, []);
});

test("matmul shapes: stacks, broadcast batches, zero sizes", () => {
  assert.equal(ones([9, 5, 7, 4]).matmul(ones([9, 5, 4, 3])).shape, [9, 5, 7, 3]);
  assert.equal(ones([9, 5, 7, 4]).matmul(ones([5, 4, 3])).shape, [9, 5, 7, 3]);
  assert.equal(ones([1, 7, 4]).matmul(ones([6, 4, 3])).shape, [6, 7, 3]);
  assert.equal(ones([2, 3, 4]).matmul(ones([4])).shape, [2, 3]);
  assert.equal(ones([4]).matmul(ones([2, 4, 5])).shape, [2, 5]);
  assert.equal(zeros([0, 3]).matmul(ones([3, 4])).shape, [0, 4]);
  const inner = zeros([2, 0]).matmul(zeros([0, 3]));
  assert.equal(inner.toArray(), [
    [0, 0, 0],
    [0, 0, 0],
  ]);
  assert.equal(ones([0, 2, 3]).matmul(ones([3, 1])).shape, [0, 2, 1]);
});

test("matmul errors name both shapes", () => {
  assert.throws(() => ones([2, 3]).matmul(ones([2, 3])), /\[2, 3\] and \[2, 3\]/);
  assert.throws(() => ones([3]).matmul(ones([4])), /\[3\] and \[4\]/);
  assert.throws(() => new Tensor(2).matmul(ones([2])), /at least 1 dimension/);
  assert.throws(() => ones([2, 2, 3]).matmul(ones([3, 3, 2])), /\[2, 2, 3\] and \[3, 3, 2\]/);
});

test("matmul agrees with a direct triple loop on random data", () => {
  const a = randn([7, 5], 1);
  const b = randn([5, 9], 2);
  const c = a.matmul(b);
  const expected: number[] = [];
  for (let i = 0; i < 7; i++)
    for (let j = 0; j < 9; j++) {
      let s = 0;
      for (let p = 0; p < 5; p++) s += a.data[i * 5 + p] * b.data[p * 9 + j];
      expected.push(s);
    }
  close(Array.from(c.data), expected, 1e-5);
});

// ---- reshape, transpose: numpy.reshape, numpy.transpose examples ----
test("reshape examples from numpy.reshape", () => {
  const a = new Tensor([
    [1, 2, 3],
    [4, 5, 6],
  ]);
  assert.equal(a.reshape(6).toArray(), [1, 2, 3, 4, 5, 6]);
  assert.equal(a.reshape(3, -1).toArray(), [
    [1, 2],
    [3, 4],
    [5, 6],
  ]);
  assert.equal(a.reshape([-1]).shape, [6]);
  assert.throws(() => a.reshape(4, -1), /cannot reshape array of size 6/);
  assert.throws(() => a.reshape(-1, -1), /one unknown dimension/);
  assert.throws(() => a.reshape(5), /size 6 into shape \[5\]/);
  assert.equal(new Tensor(7).reshape(1, 1).shape, [1, 1]);
  assert.equal(ones([1, 1]).reshape().shape, [], "size 1 to 0-d");
});

test("reshape with zero-size dimensions", () => {
  assert.equal(zeros([0, 3]).reshape(-1).shape, [0]);
  assert.equal(zeros([0, 3]).reshape(3, 0).shape, [3, 0]);
  assert.throws(() => zeros([0, 3]).reshape(0, -1), /cannot reshape/);
});

test("reshape shares the buffer; transpose copies", () => {
  const a = arange(6);
  const b = a.reshape(2, 3);
  assert.ok(b.data === a.data);
  a.data[0] = 42;
  assert.is(b.get(0, 0).item(), 42, "a write through one is seen through the other");
  assert.ok(b.transpose().data !== b.data);
});

test("transpose examples from numpy.transpose", () => {
  assert.equal(
    new Tensor([
      [1, 2],
      [3, 4],
    ])
      .transpose()
      .toArray(),
    [
      [1, 3],
      [2, 4],
    ],
  );
  assert.equal(ones([1, 2, 3]).permute([1, 0, 2]).shape, [2, 1, 3]);
  assert.equal(ones([2, 3, 4, 5]).permute([3, 2, 1, 0]).shape, [5, 4, 3, 2]);
  assert.equal(ones([2, 3, 4]).transpose(0, -1).shape, [4, 3, 2]);
  assert.equal(ones([2, 3, 4]).transpose().shape, [2, 4, 3], "default: the last two axes");
  assert.equal(arange(3).transpose().toArray(), [0, 1, 2], "1-D: unchanged");
  assert.throws(() => ones([2, 3]).permute([0, 0]), /repeated/);
  assert.throws(() => ones([2, 3]).permute([0]), /don't match/);
  const x = arange(24).reshape(2, 3, 4);
  assert.is(x.permute([2, 0, 1]).get(3, 1, 2).item(), x.get(1, 2, 3).item());
});

// ---- indexing and slicing: numpy's basic indexing guide ----
test("indexing and slicing examples from numpy's indexing guide", () => {
  const x = arange(10);
  assert.is(x.get(2).item(), 2);
  assert.is(x.get(-2).item(), 8);
  assert.equal(x.slice([2, 5]).toArray(), [2, 3, 4]);
  assert.equal(x.slice([null, -7]).toArray(), [0, 1, 2]);
  assert.equal(x.slice([1, 7, 2]).toArray(), [1, 3, 5]);
  assert.equal(x.slice([-2, 10]).toArray(), [8, 9]);
  assert.equal(x.slice([-3, 3, -1]).toArray(), [7, 6, 5, 4]);
  assert.equal(x.slice([5]).toArray(), [5, 6, 7, 8, 9]);
  assert.equal(x.slice([7, 100]).toArray(), [7, 8, 9], "out-of-range stops are clamped");
  assert.equal(x.slice([-100, 2]).toArray(), [0, 1], "out-of-range starts are clamped");
  assert.equal(x.slice([null, null, -3]).toArray(), [9, 6, 3, 0]);
  const y = arange(10).reshape(2, 5);
  assert.is(y.get(1, 3).item(), 8);
  assert.is(y.get(1, -1).item(), 9);
  assert.equal(y.get(0).toArray(), [0, 1, 2, 3, 4]);
  const z = new Tensor([
    [[1], [2], [3]],
    [[4], [5], [6]],
  ]);
  assert.equal(z.shape, [2, 3, 1]);
  assert.equal(z.slice([1, 2]).toArray(), [[[4], [5], [6]]]);
  assert.throws(() => y.get(2), /index 2 is out of bounds for axis 0 with size 2/);
  assert.throws(() => y.get(0, 0, 0), /too many indices/);
  assert.equal(x.slice([7, 2]).shape, [0], "an empty slice");
});

// ---- construction, factories, sizes, printing ----
test("construction, sizes and memory", () => {
  const t = new Tensor([
    [1, 2, 3],
    [4, 5, 6],
  ]);
  assert.equal([t.size, t.ndim, t.nbytes], [6, 2, 24]);
  assert.equal(t.strides, [3, 1]);
  assert.ok(t.memoryFootprint() > t.nbytes);
  assert.equal(new Tensor(5).shape, []);
  assert.equal(new Tensor([]).shape, [0]);
  assert.equal(zeros([2, 0, 3]).strides, [3, 3, 1], "zero-size dims stride like size 1");
  assert.throws(() => new Tensor([[1, 2], [3]]), /ragged/);
  assert.throws(() => new Tensor([1, 2, 3], [2, 2]), /size 3/);
  assert.ok(new Tensor([0.1]).data[0] === Math.fround(0.1), "float32 storage");
});

test("seeded generators repeat exactly; factories fill as named", () => {
  assert.equal(Array.from(randn([6], 9).data), Array.from(randn([6], 9).data));
  const r = new Rng(3);
  const s = new Rng(3);
  for (let i = 0; i < 10; i++) assert.is(r.next(), s.next());
  assert.ok(Array.from(randn([6], 9).data).join() !== Array.from(randn([6], 10).data).join());
  assert.equal(ones([2]).toArray(), [1, 1]);
  assert.equal(Tensor.full([2], 7).toArray(), [7, 7]);
  const u = Tensor.rand([5000], 1);
  assert.ok(u.min().item() >= 0 && u.max().item() < 1);
  const g = Tensor.randn([20000], 2);
  assert.ok(Math.abs(g.mean().item()) < 0.03, "mean near 0");
  assert.ok(Math.abs(g.pow(2).mean().item() - 1) < 0.05, "variance near 1");
});

test("prints like numpy through util.inspect", () => {
  assert.is(
    inspect(
      new Tensor([
        [1, 2],
        [3, 4],
      ]),
    ),
    "Tensor([[1., 2.],\n        [3., 4.]])",
  );
  assert.is(inspect(new Tensor([1, 2.5, 3.25])), "Tensor([1.  , 2.5 , 3.25])");
  assert.is(inspect(new Tensor([-1, 2])), "Tensor([-1.,  2.])");
  assert.is(inspect(zeros([2, 0])), "Tensor([], shape=[2, 0])");
  assert.match(inspect(arange(2000)), /\.\.\./);
});

test.run();
