// What the acceleration switch installs besides the matmul backend (module 18, Part 6): the
// matmul rule built on views (no transposes copied, broadcast gradients summed by the kernel's
// +=) and the WebAssembly twins of module 09's im2col, col2im and max pooling. Each is checked against module
// 06's rule on module 01's kernel and against module 09's loops.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { Rng, Tensor } from "../../tinytorch-ts/src/core/tensor";
import { matmulBackward } from "../../tinytorch-ts/src/core/autograd";
import {
  col2im,
  convGeometry,
  im2col,
  maxPool2dKernel,
  windowKernelSlot,
} from "../../tinytorch-ts/src/core/conv";
import {
  type MatmulKernel2d,
  type SimdKernel,
  col2imSimd,
  disableAcceleration,
  enableAcceleration,
  im2colSimd,
  loadSimdKernel,
  matmulBackwardWith,
  maxPool2dSimd,
  matmulRegisterBlocked,
  matmulSimd,
  matmulWithKernel,
} from "../../tinytorch-ts/src/accel/matmul";

function randomTensor(shape: number[], rng: Rng): Tensor {
  const size = shape.reduce((p, d) => p * d, 1);
  return new Tensor(
    Float32Array.from({ length: size }, () => 2 * rng.next() - 1),
    shape,
  );
}

function assertClose(got: ArrayLike<number>, want: ArrayLike<number>, what: string): void {
  assert.is(got.length, want.length, `${what}: length`);
  for (let i = 0; i < want.length; i++) {
    if (!(Math.abs(got[i] - want[i]) <= 1e-4 + 1e-4 * Math.abs(want[i]))) {
      assert.unreachable(`${what}: element ${i} is ${got[i]}, expected ${want[i]}`);
    }
  }
}

async function simdKernel(): Promise<SimdKernel> {
  const load = await loadSimdKernel();
  if (!load.kernel) throw new Error(`this test needs WebAssembly SIMD: ${load.reason}`);
  return load.kernel;
}

test("matmulWithKernel's summedTo adds every batch entry into its target's matrix", () => {
  const rng = new Rng(1);
  const a = randomTensor([4, 3, 2, 5], rng);
  const b = randomTensor([3, 5, 6], rng);
  const full = matmulWithKernel(a, b, matmulRegisterBlocked);
  for (const target of [[], [3], [1, 3], [4, 1], [4, 3]]) {
    const got = matmulWithKernel(a, b, matmulRegisterBlocked, target);
    const lead = 2 - target.length;
    const want = new Float64Array((target.reduce((p, d) => p * d, 1) || 1) * 12);
    for (let s = 0; s < 4; s++) {
      for (let t = 0; t < 3; t++) {
        const index = [s, t].slice(lead).map((v, i) => (target[i] === 1 ? 0 : v));
        const matrix = index.reduce((acc, v, i) => acc * target[i] + v, 0);
        for (let e = 0; e < 12; e++) want[matrix * 12 + e] += full.data[(s * 3 + t) * 12 + e];
      }
    }
    assert.equal(got.shape, [...target, 2, 6], `summed to [${target}]`);
    assertClose(got.data, want, `summed to [${target}]`);
  }
  assert.throws(() => matmulWithKernel(a, b, matmulRegisterBlocked, [2]), /does not sum to \[2\]/);
});

test("given a kernel pair, matmulWithKernel writes the products it does not sum and adds the rest", () => {
  const rng = new Rng(2);
  const a = randomTensor([4, 3, 2, 5], rng);
  const b = randomTensor([3, 5, 6], rng);
  const calls = { add: 0, write: 0 };
  const pair = {
    add: ((x, y, out, offset) => {
      calls.add++;
      matmulRegisterBlocked(x, y, out, offset);
    }) as MatmulKernel2d,
    write: ((x, y, out, offset) => {
      calls.write++;
      // a write entry may assume zeros: prove it by checking them
      for (let i = 0; i < x.rows * y.cols; i++) assert.is(out[offset + i], 0, "a fresh block");
      matmulRegisterBlocked(x, y, out, offset);
    }) as MatmulKernel2d,
  };
  const plain = matmulWithKernel(a, b, matmulRegisterBlocked);
  assertClose(matmulWithKernel(a, b, pair).data, plain.data, "no summing");
  assert.equal(calls, { add: 0, write: 12 });
  matmulWithKernel(a, b, pair, [3]);
  assert.equal(calls, { add: 12, write: 12 }, "summed over the leading axis: every product adds");
});

/** dA and dB for the output gradient g from module 06's rule on module 01's kernel. */
function plainGradients(a: Tensor, b: Tensor, g: Tensor): Tensor[] {
  const plainA = new Tensor(Float32Array.from(a.data), a.shape).setRequiresGrad();
  const plainB = new Tensor(Float32Array.from(b.data), b.shape).setRequiresGrad();
  // module 06's rule, on module 01's kernel, is the reference the switch must agree with
  disableAcceleration();
  plainA.matmul(plainB).backward(g);
  return [plainA.grad as Tensor, plainB.grad as Tensor];
}

const RULE_SHAPES: [number[], number[]][] = [
  [
    [5, 7],
    [7, 3],
  ],
  [[7], [7, 3]],
  [[5, 7], [7]],
  [[7], [7]],
  [
    [4, 5, 7],
    [7, 3],
  ], // a layer's weight against a batch: dB summed over the batch
  [
    [5, 7],
    [4, 7, 3],
  ], // conv's W2d @ cols: dA summed over the batch
  [
    [2, 1, 5, 7],
    [3, 7, 3],
  ],
  [
    [1, 5, 7],
    [2, 7, 9],
  ],
  [
    [67, 130],
    [130, 33],
  ],
];

for (const [name, kernel] of [
  ["register-blocked", null],
  ["SIMD", "simd"],
] as const) {
  test(`matmulBackwardWith (${name}) gives module 06's gradients, on every kind of operand`, async () => {
    const simd = kernel === "simd" ? await simdKernel() : null;
    const k2d: MatmulKernel2d = simd
      ? (x, y, out, offset) => matmulSimd(simd, x, y, out, offset)
      : matmulRegisterBlocked;
    const rule = matmulBackwardWith(k2d);
    const rng = new Rng(2);
    for (const [aShape, bShape] of RULE_SHAPES) {
      const a = randomTensor(aShape, rng).setRequiresGrad();
      const b = randomTensor(bShape, rng).setRequiresGrad();
      const out = a.matmul(b);
      const g = randomTensor(out.shape, rng);
      const [wantA, wantB] = plainGradients(a, b, g);
      const [gotA, gotB] = rule(g, { op: "matmul", inputs: [a, b], args: {} }, out);
      const label = `[${aShape}] @ [${bShape}]`;
      assert.equal(gotA?.shape, a.shape, `${label}: dA's shape`);
      assert.equal(gotB?.shape, b.shape, `${label}: dB's shape`);
      assertClose((gotA as Tensor).data, wantA.data, `${label}: dA`);
      assertClose((gotB as Tensor).data, wantB.data, `${label}: dB`);
      // An operand that needs no gradient gets none, and costs no product.
      const fixed = b.detach();
      const [onlyA, none] = rule(g, { op: "matmul", inputs: [a, fixed], args: {} }, out);
      assert.is(none, null, `${label}: no gradient for a constant`);
      assertClose((onlyA as Tensor).data, wantA.data, `${label}: dA alone`);
    }
  });
}

test("the switch installs the view-based rule and the window kernels, and takes them back", async () => {
  disableAcceleration();
  assert.is(Tensor.backwardRules.get("matmul"), matmulBackward);
  const status = await enableAcceleration();
  try {
    assert.is(status.backend, "wasm-simd");
    assert.is.not(Tensor.backwardRules.get("matmul"), matmulBackward);
    assert.type(windowKernelSlot.im2col, "function");
    assert.type(windowKernelSlot.col2im, "function");
    assert.type(windowKernelSlot.maxPool2d, "function");
  } finally {
    disableAcceleration();
  }
  assert.is(Tensor.backwardRules.get("matmul"), matmulBackward);
  assert.is(windowKernelSlot.im2col, null);
  assert.is(windowKernelSlot.col2im, null);
  assert.is(windowKernelSlot.maxPool2d, null);
});

test("the WebAssembly im2col, col2im and max pooling equal module 09's, on random geometries", async () => {
  const simd = await simdKernel();
  const rng = new Rng(3);
  const int = (lo: number, hi: number) => lo + Math.floor(rng.next() * (hi - lo + 1));
  const cases: number[][] = [
    // [N, C, H, W, kernel, stride, padding]: the milestone's two layers, then edge cases
    [64, 1, 28, 28, 5, 1, 0],
    [64, 8, 12, 12, 5, 1, 0],
    [1, 1, 1, 1, 1, 1, 0],
    [1, 2, 1, 1, 3, 1, 1], // every window mostly padding
    [2, 1, 3, 9, 3, 3, 2],
  ];
  for (let trial = 0; trial < 40; trial++) {
    const k = int(1, 5);
    const padding = int(0, Math.min(3, k));
    cases.push([int(1, 3), int(1, 4), int(k, 13), int(k, 13), k, int(1, 3), padding]);
  }
  for (const [n, c, h, w, k, stride, padding] of cases) {
    const g = convGeometry([n, c, h, w], k, stride, padding);
    const label = `[${n}, ${c}, ${h}, ${w}] k ${k} stride ${stride} padding ${padding}`;
    const x = randomTensor([n, c, h, w], rng);
    const want = im2col(x, g);
    // Run the large case first, so stale numbers left in the kernel's memory would show.
    const got = im2colSimd(simd, x, g);
    assert.equal(got.shape, want.shape, `${label}: im2col shape`);
    assert.ok(
      got.data.every((v, i) => v === want.data[i]),
      `${label}: im2col copies the same numbers`,
    );
    const cols = randomTensor([...want.shape], rng);
    const back = col2im(cols, g);
    const backSimd = col2imSimd(simd, cols, g);
    assert.equal(backSimd.shape, back.shape, `${label}: col2im shape`);
    assertClose(backSimd.data, back.data, `${label}: col2im`);
    // Max pooling (no padding): the same maxima from the same cells, NaN and ties included.
    if (h < k || w < k) continue;
    const pool = convGeometry([n, c, h, w], k, stride);
    const maps = randomTensor([n, c, h, w], rng);
    maps.data[int(0, maps.size - 1)] = NaN;
    maps.data[0] = maps.data[1] = 5; // a tie: the first cell wins
    const mine = maxPool2dKernel(maps, pool);
    const twin = maxPool2dSimd(simd, maps, pool);
    assert.equal(twin.out.shape, mine.out.shape, `${label}: max pooling shape`);
    assert.equal(Array.from(twin.argmax), Array.from(mine.argmax), `${label}: max pooling's cells`);
    assert.equal(
      Array.from(twin.out.data),
      Array.from(mine.out.data),
      `${label}: max pooling's maxima`,
    );
  }
  assert.throws(
    () => im2colSimd(simd, randomTensor([1, 2, 5, 5], rng), convGeometry([1, 1, 5, 5], 3)),
    /im2col: expected shape/,
  );
});

test.run();
