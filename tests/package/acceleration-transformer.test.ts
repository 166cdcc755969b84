// The row kernels the acceleration switch installs for the transformer (module 18, "The
// transformer's row operations"): in module 13's transformerKernelSlot the WebAssembly exp, GELU,
// layer norm and the cross-entropy; in module 12's linearKernelSlot linear's bias; and the rules
// of layer norm, GELU and the masked softmax. Each is checked against float64 formulas computed here, and against
// module 13's and module 04's own functions on the same inputs, including the inputs the kernels
// hand back (null) to them.
import { test } from "uvu";
import * as assert from "uvu/assert";
import {
  Rng,
  Tensor,
  elementwiseBackendSlot,
  elementwiseKernel,
} from "../../tinytorch-ts/src/core/tensor";
import { CrossEntropyLoss } from "../../tinytorch-ts/src/core/losses";
import {
  linear,
  linearKernelSlot,
  maskedSoftmax,
  maskedSoftmaxBackward,
} from "../../tinytorch-ts/src/nn/attention";
import { Linear } from "../../tinytorch-ts/src/core/layers";
import {
  LayerNorm,
  fusedGelu,
  fusedGeluBackward,
  layerNorm,
  layerNormBackward,
  transformerKernelSlot,
} from "../../tinytorch-ts/src/nn/transformer";
import {
  type SimdKernel,
  addBiasSimd,
  crossEntropySimd,
  elementwiseSimd,
  disableAcceleration,
  enableAcceleration,
  geluSimd,
  layerNormSimd,
  loadSimdKernel,
  simdMemory,
  sumBiasSimd,
} from "../../tinytorch-ts/src/accel/matmul";

/** The backward rule registered for `op` (Tensor.backwardRules, module 06). */
function getRule(op: string) {
  return Tensor.backwardRules.get(op);
}

async function simdKernel(): Promise<SimdKernel> {
  const load = await loadSimdKernel();
  if (!load.kernel) throw new Error(`this test needs WebAssembly SIMD: ${load.reason}`);
  return load.kernel;
}

function randomTensor(shape: number[], rng: Rng, scale = 1, offset = 0): Tensor {
  const size = shape.reduce((p, d) => p * d, 1);
  return new Tensor(
    Float32Array.from({ length: size }, () => offset + scale * (2 * rng.next() - 1)),
    shape,
  );
}

function assertClose(
  got: ArrayLike<number>,
  want: ArrayLike<number>,
  what: string,
  tol = { rtol: 1e-5, atol: 1e-6 },
): void {
  assert.is(got.length, want.length, `${what}: length`);
  for (let i = 0; i < want.length; i++) {
    const same = Object.is(got[i], want[i]) || (Number.isNaN(got[i]) && Number.isNaN(want[i]));
    if (!same && !(Math.abs(got[i] - want[i]) <= tol.atol + tol.rtol * Math.abs(want[i]))) {
      assert.unreachable(`${what}: element ${i} is ${got[i]}, expected ${want[i]}`);
    }
  }
}

/** A copy of t's gradient (empty if it has none). */
function gradientOf(t: Tensor): Float32Array {
  return Float32Array.from(t.grad?.data ?? []);
}

/** e^x of each input through the kernel's expArray. */
function simdExp(kernel: SimdKernel, xs: number[]): Float32Array {
  const room = 4 * Math.ceil(xs.length / 4);
  const memory = simdMemory(kernel, 2 * room);
  memory.set(xs, 0);
  kernel.expArray(0, 4 * room, xs.length);
  return memory.slice(room, room + xs.length);
}

test("the WebAssembly exp is within 2 float32 ulps of e^x, with exact edges", async () => {
  const kernel = await simdKernel();
  const rng = new Rng(3);
  const xs = [
    ...Array.from({ length: 4000 }, () => -104 + 192.7 * rng.next()),
    ...Array.from({ length: 1000 }, () => 2 * rng.next() - 1),
    0,
    -0,
    1,
    -1,
    88.7,
    88.72,
    -87.3,
    -87.4,
    -100,
    -103.9,
  ];
  const got = simdExp(kernel, xs);
  for (const [i, x64] of xs.entries()) {
    const x = Math.fround(x64); // what the kernel's memory holds
    const want = Math.fround(Math.exp(x));
    // an ulp of the float32 result (subnormals: the smallest one)
    const ulp = Math.max(2 ** -149, 2 ** (Math.floor(Math.log2(want)) - 23));
    assert.ok(Math.abs(got[i] - Math.exp(x)) <= 2 * ulp, `exp(${x}): ${got[i]}, expected ${want}`);
  }
  const edges = simdExp(kernel, [-Infinity, -104.5, -1000, Infinity, 88.73, 1000, NaN]);
  assert.equal(Array.from(edges.subarray(0, 6)), [0, 0, 0, Infinity, Infinity, Infinity]);
  assert.ok(Number.isNaN(edges[6]), "NaN stays NaN");
});

test("the WebAssembly GELU gives module 13's output and slope, special values included", async () => {
  const kernel = await simdKernel();
  const rng = new Rng(5);
  for (const shape of [[7], [3, 5], [64, 512], [2, 3, 4, 1]]) {
    const x = randomTensor(shape, rng, 6);
    const mine = geluSimd(kernel, x.setRequiresGrad());
    const theirs = fusedGelu(x);
    assert.ok(mine !== null, `[${shape}] handled`);
    assert.equal(mine.shape, x.shape);
    assert.is(mine.gradFn?.op, "fusedGelu");
    assertClose(mine.data, theirs.data, `GELU [${shape}]`);
    const [mySlope] = mine.gradFn?.args.saved ?? [];
    const [theirSlope] = theirs.gradFn?.args.saved ?? [];
    assertClose(mySlope.data, theirSlope.data, `slope [${shape}]`);
  }
  const special = new Tensor([
    0,
    -0,
    1e-30,
    -1e-30,
    40,
    -40,
    Infinity,
    -Infinity,
    NaN,
    1e30,
    -1e30,
  ]);
  const mine = geluSimd(kernel, special.setRequiresGrad());
  assert.ok(mine !== null);
  assertClose(mine.data, fusedGelu(special).data, "special values", { rtol: 1e-6, atol: 0 });
  assertClose(
    mine.gradFn?.args.saved?.[0].data ?? [],
    fusedGelu(special).gradFn?.args.saved?.[0].data ?? [],
    "special values' slopes",
    { rtol: 1e-6, atol: 1e-7 },
  );
});

/** Layer norm of each row in float64: (x - mean) / sqrt(var + eps) * w + b. */
function layerNorm64(x: Tensor, w: Tensor, b: Tensor, eps: number): number[] {
  const c = w.size;
  const out: number[] = [];
  for (let start = 0; start < x.size; start += c) {
    const row = Array.from(x.data.subarray(start, start + c));
    const mean = row.reduce((s, v) => s + v, 0) / c;
    const variance = row.reduce((s, v) => s + (v - mean) ** 2, 0) / c;
    row.forEach((v, j) =>
      out.push(((v - mean) / Math.sqrt(variance + eps)) * w.data[j] + b.data[j]),
    );
  }
  return out;
}

test("the WebAssembly layer norm and its rule agree with float64 and with module 13's", async () => {
  const kernel = await simdKernel();
  const rng = new Rng(9);
  for (const [shape, eps] of [
    [[4], 1e-5],
    [[3, 8], 1e-2],
    [[2, 5, 128], 1e-5],
    [[2048, 16], 1e-5],
  ] as const) {
    const c = shape[shape.length - 1];
    // rows far from 0 and of small spread: what a one-pass variance would get wrong
    const x = randomTensor([...shape], rng, 0.5, 30).setRequiresGrad();
    const w = randomTensor([c], rng, 2).setRequiresGrad();
    const b = randomTensor([c], rng).setRequiresGrad();
    const y = layerNormSimd(kernel, x, w, b, eps);
    assert.ok(y !== null, `[${shape}] handled`);
    assert.is(y.gradFn?.op, "layerNorm");
    assertClose(y.data, layerNorm64(x, w, b, eps), `layer norm [${shape}]`, {
      rtol: 1e-4,
      atol: 1e-4,
    });
    // the saved x̂ and rstd are module 13's, so its rule and the kernel's give the same gradients
    const theirs = layerNorm(x, w, b, eps);
    for (const [k, saved] of (y.gradFn?.args.saved ?? []).entries()) {
      assertClose(saved.data, theirs.gradFn?.args.saved?.[k].data ?? [], `saved ${k} [${shape}]`, {
        rtol: 1e-4,
        atol: 1e-4,
      });
    }
    const g = randomTensor([...shape], rng);
    await enableAcceleration();
    const rule = getRule("layerNorm");
    disableAcceleration();
    const node = y.gradFn;
    assert.ok(rule !== undefined && node !== null && node !== undefined);
    const mine = rule(g, node, y);
    const want = layerNormBackward(g, node);
    ["dx", "dweight", "dbias"].forEach((name, k) =>
      assertClose(mine[k]?.data ?? [], want[k]?.data ?? [], `${name} [${shape}]`, {
        rtol: 1e-4,
        atol: 1e-4,
      }),
    );
  }
  // Rows whose length is not a multiple of 4 are module 13's.
  const odd = randomTensor([2, 3], rng);
  assert.is(layerNormSimd(kernel, odd, Tensor.ones([3]), Tensor.zeros([3]), 1e-5), null);
});

test("the accelerated cross-entropy equals module 04's loss and gradient, and leaves bad input to it", async () => {
  const kernel = await simdKernel();
  const rng = new Rng(11);
  for (const [n, c] of [
    [1, 3],
    [5, 7],
    [2048, 77],
  ]) {
    const logits = randomTensor([n, c], rng, 8).setRequiresGrad();
    const labels = new Tensor(Float32Array.from({ length: n }, () => Math.floor(rng.next() * c)));
    // float64 oracle: mean of logsumexp(row) - row[label]
    let want = 0;
    for (let i = 0; i < n; i++) {
      const row = Array.from(logits.data.subarray(i * c, (i + 1) * c));
      const max = Math.max(...row);
      want += max + Math.log(row.reduce((s, v) => s + Math.exp(v - max), 0)) - row[labels.data[i]];
    }
    const loss = crossEntropySimd(kernel, logits, labels);
    assert.ok(loss !== null, `[${n}, ${c}] handled`);
    assert.ok(
      Math.abs(loss.item() - want / n) <= 1e-5 * (1 + want / n),
      `loss [${n}, ${c}]: ${loss.item()} vs ${want / n}`,
    );
    loss.backward();
    const mine = gradientOf(logits);
    logits.grad = null;
    new CrossEntropyLoss().forward(logits, labels).backward();
    assertClose(mine, gradientOf(logits), `gradient [${n}, ${c}]`, { rtol: 1e-4, atol: 1e-7 });
  }
  const logits = randomTensor([2, 3], rng);
  for (const bad of [[0, 3], [0, 1.5], [-1, 0], [0]]) {
    assert.is(crossEntropySimd(kernel, logits, new Tensor(bad)), null, `labels [${bad}]`);
  }
  assert.is(
    crossEntropySimd(
      kernel,
      new Tensor([
        [0, Infinity],
        [1, 2],
      ]),
      new Tensor([0, 1]),
    ),
    null,
  );
  assert.is(crossEntropySimd(kernel, Tensor.zeros([2, 3, 1]), new Tensor([0, 1])), null);
});

test("the WebAssembly bias kernels and GELU and softmax rules equal modules 12 and 13's loops", async () => {
  const kernel = await simdKernel();
  const rng = new Rng(13);
  await enableAcceleration();
  const rules = ["fusedGelu", "maskedSoftmax"].map((op) => getRule(op));
  disableAcceleration();
  for (const [rows, n] of [
    [1, 1],
    [3, 5],
    [7, 8],
    [2048, 77],
    [64, 130],
  ]) {
    const g = randomTensor([rows, n], rng, 3);
    const bias = randomTensor([n], rng);
    const added = Float32Array.from(g.data);
    assert.ok(addBiasSimd(kernel, added, bias.data), `[${rows}, ${n}] handled`);
    assertClose(
      added,
      Array.from(g.data, (v, i) => Math.fround(v + bias.data[i % n])),
      `rows + bias [${rows}, ${n}]`,
      { rtol: 0, atol: 0 },
    );
    const sums = Array.from({ length: n }, (_, j) => {
      let s = 0;
      for (let r = 0; r < rows; r++) s += g.data[r * n + j];
      return s;
    });
    assertClose(sumBiasSimd(kernel, g.data, n) ?? [], sums, `column sums [${rows}, ${n}]`, {
      rtol: 1e-6,
      atol: 1e-6,
    });
  }
  assert.not.ok(
    addBiasSimd(kernel, new Float32Array(7), new Float32Array(3)),
    "7 floats are not rows of 3",
  );
  assert.is(sumBiasSimd(kernel, new Float32Array(7), 3), null);
  // GELU's rule and the masked softmax's rule, on recorded nodes
  const [geluRule, softmaxRule] = rules;
  assert.ok(geluRule && softmaxRule);
  for (const shape of [[5], [64, 512], [3, 7]]) {
    const x = randomTensor(shape, rng, 3).setRequiresGrad();
    const y = fusedGelu(x);
    const g = randomTensor(shape, rng);
    const node = y.gradFn;
    assert.ok(node);
    assertClose(
      geluRule(g, node, y)[0]?.data ?? [],
      fusedGeluBackward(g, node)[0]?.data ?? [],
      `GELU rule [${shape}]`,
      { rtol: 0, atol: 0 },
    );
  }
  for (const [shape, masked] of [
    [[2, 4, 8, 8], true],
    [[3, 12], false],
    [[2, 5, 5], true],
  ] as const) {
    const x = randomTensor([...shape], rng, 3).setRequiresGrad();
    const [tq, tk] = shape.slice(-2);
    const mask = masked
      ? new Tensor(
          Float32Array.from({ length: tq * tk }, (_, f) => Number(f % tk <= Math.floor(f / tk))),
          [tq, tk],
        )
      : null;
    const y = maskedSoftmax(x, mask);
    const g = randomTensor([...shape], rng);
    const node = y.gradFn;
    assert.ok(node);
    assertClose(
      softmaxRule(g, node, y)[0]?.data ?? [],
      maskedSoftmaxBackward(g, node, y)[0]?.data ?? [],
      `softmax rule [${shape}]`,
      { rtol: 1e-5, atol: 1e-6 },
    );
  }
});

test("a linear layer gives the same output and gradients through the switch's bias kernels", async () => {
  const rng = new Rng(17);
  const layer = new Linear(12, 9, { seed: 3 });
  const x = randomTensor([33, 12], rng).setRequiresGrad();
  const g = randomTensor([33, 9], rng);
  const run = (): Float32Array[] => {
    for (const t of [x, layer.weight, layer.bias]) if (t) t.grad = null;
    const y = linear(x, layer);
    y.backward(g);
    return [
      y.data,
      gradientOf(x),
      gradientOf(layer.weight),
      layer.bias ? gradientOf(layer.bias) : new Float32Array(0),
    ];
  };
  const plain = run();
  await enableAcceleration();
  assert.ok(linearKernelSlot.addBias && linearKernelSlot.sumBias);
  const accelerated = run();
  disableAcceleration();
  ["output", "dx", "dweight", "dbias"].forEach((name, k) =>
    assertClose(accelerated[k], plain[k], name, { rtol: 1e-5, atol: 1e-5 }),
  );
});

test("the WebAssembly add, sub, mul and div give module 01's bits, and decline what they do not handle", async () => {
  const kernel = await simdKernel();
  const rng = new Rng(19);
  const special = [0, -0, Infinity, -Infinity, NaN, 1e-40, -3e-39, 3.4e38, -1, 1];
  const sample = (shape: number[]): Tensor => {
    const t = randomTensor(shape, rng, 100);
    for (let i = 0; i < t.size; i += 7) t.data[i] = special[(i / 7) % special.length];
    return t;
  };
  const fns: Record<string, (x: number, y: number) => number> = {
    add: (x, y) => x + y,
    sub: (x, y) => x - y,
    mul: (x, y) => x * y,
    div: (x, y) => x / y,
  };
  const cases: [number[], number[]][] = [
    [
      [3, 1000],
      [3, 1000],
    ],
    [[1027], [1027]],
    [
      [32, 64, 128],
      [64, 128],
    ],
    [[40, 36], [36]],
    [[2048], []],
    [[5, 300], [1]],
  ];
  for (const [aShape, bShape] of cases) {
    const a = sample(aShape);
    const b = sample(bShape);
    for (const [op, fn] of Object.entries(fns)) {
      const got = elementwiseSimd(kernel, op, a, b);
      assert.ok(got !== null, `${op} [${aShape}] [${bShape}] handled`);
      const want = elementwiseKernel(a, b, fn);
      assert.equal(got.shape, want.shape);
      // bit for bit, NaN for NaN
      assertClose(got.data, want.data, `${op} [${aShape}] with [${bShape}]`, { rtol: 0, atol: 0 });
    }
  }
  const a = sample([64, 30]);
  const declined: [string, Tensor, Tensor | null][] = [
    ["add", sample([10]), sample([10])], // too small to be worth the copies
    ["add", a, sample([64, 1])], // broadcast along a middle axis
    ["add", a, sample([30])], // a period that is not whole vectors
    ["add", sample([30]), a], // a smaller than the result
    ["pow", a, a],
    ["exp", a, a],
  ];
  for (const [op, x, y] of declined)
    assert.is(elementwiseSimd(kernel, op, x, y), null, `${op} [${x.shape}] [${y?.shape}]`);
  const e = elementwiseSimd(kernel, "exp", a, null);
  assert.ok(e !== null);
  assertClose(
    e.data,
    Array.from(a.data, (v) => Math.fround(Math.exp(v))),
    "exp",
    { rtol: 3e-7, atol: 3e-45 },
  );
});

test("the switch fills module 13's slot and layer-norm rule, and empties them", async () => {
  const status = await enableAcceleration();
  assert.is(status.backend, "wasm-simd");
  assert.ok(
    transformerKernelSlot.gelu &&
      transformerKernelSlot.layerNorm &&
      transformerKernelSlot.crossEntropy,
  );
  assert.is.not(getRule("layerNorm"), layerNormBackward);
  // LayerNorm goes through the slot for width 8, and falls back to module 13's for width 3
  const ln = new LayerNorm(8);
  const x = randomTensor([3, 8], new Rng(2), 2);
  assertClose(ln.forward(x).data, layerNorm(x, ln.weight, ln.bias, ln.eps).data, "LayerNorm(8)", {
    rtol: 1e-5,
    atol: 1e-5,
  });
  const narrow = new LayerNorm(3);
  const y = randomTensor([2, 3], new Rng(4));
  assertClose(
    narrow.forward(y).data,
    layerNorm(y, narrow.weight, narrow.bias, narrow.eps).data,
    "LayerNorm(3)",
    { rtol: 0, atol: 0 },
  );
  disableAcceleration();
  assert.equal(transformerKernelSlot, { gelu: null, layerNorm: null, crossEntropy: null });
  assert.equal(linearKernelSlot, { addBias: null, sumBias: null });
  assert.is(elementwiseBackendSlot.current, null);
  assert.is(getRule("layerNorm"), layerNormBackward);
  assert.is(getRule("fusedGelu"), fusedGeluBackward);
  assert.is(getRule("maskedSoftmax"), maskedSoftmaxBackward);
});

test.run();
