// The exported acceleration kernels (module 18): every kernel, the WebAssembly SIMD one included,
// against a float64 product on odd sizes, 1×n and n×1, transposed views and broadcast batches;
// the switch behind Tensor.matmul and Linear; the fallback where WebAssembly SIMD is missing.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { Rng, Tensor, setMatmulBackend } from "../../tinytorch-ts/src/core/tensor";
import { Linear } from "../../tinytorch-ts/src/core/layers";
import {
  type MatmulKernel2d,
  type MatrixView,
  type StridedTensor,
  type WebAssemblyApi,
  addTiles,
  disableAcceleration,
  enableAcceleration,
  loadSimdKernel,
  matmulBlocked,
  matmulIkj,
  matmulRegisterBlocked,
  matmulSimd,
  matmulWithKernel,
  matrixView,
  measureCacheRoofs,
  measureSimdPeak,
  transposeView,
} from "../../tinytorch-ts/src/accel/matmul";

function randomView(rows: number, cols: number, seed: number): MatrixView {
  const rng = new Rng(seed);
  return matrixView(
    Float32Array.from({ length: rows * cols }, () => 2 * rng.next() - 1),
    rows,
    cols,
  );
}

function at(v: MatrixView, i: number, j: number): number {
  return v.data[v.offset + i * v.rowStride + j * v.colStride];
}

function expected64(a: MatrixView, b: MatrixView): Float64Array {
  const out = new Float64Array(a.rows * b.cols);
  for (let i = 0; i < a.rows; i++) {
    for (let j = 0; j < b.cols; j++) {
      let sum = 0;
      for (let p = 0; p < a.cols; p++) sum += at(a, i, p) * at(b, p, j);
      out[i * b.cols + j] = sum;
    }
  }
  return out;
}

function assertClose(got: ArrayLike<number>, want: ArrayLike<number>, what: string): void {
  assert.is(got.length, want.length, `${what}: length`);
  for (let i = 0; i < want.length; i++) {
    const diff = Math.abs(got[i] - want[i]);
    if (!(diff <= 1e-4 + 1e-4 * Math.abs(want[i]))) {
      assert.unreachable(`${what}: element ${i} is ${got[i]}, expected ${want[i]}`);
    }
  }
}

const SHAPES: [number, number, number][] = [
  [13, 17, 11],
  [1, 300, 9],
  [9, 300, 1],
  [1, 1, 1],
  [5, 1, 7],
  [67, 513, 70],
  [130, 257, 129],
];

function checkEverything(name: string, kernel: MatmulKernel2d): void {
  for (const [m, k, n] of SHAPES) {
    const a = randomView(m, k, m + 7 * k);
    const b = randomView(k, n, n + 5 * k);
    const out = new Float32Array(m * n);
    kernel(a, b, out, 0);
    assertClose(out, expected64(a, b), `${name} [${m}, ${k}] @ [${k}, ${n}]`);
    // The same product from transposed views of stored transposes.
    const at = transposeView(randomView(k, m, m + 7 * k));
    const bt = transposeView(randomView(n, k, n + 5 * k));
    const outT = new Float32Array(m * n);
    kernel(at, bt, outT, 0);
    assertClose(outT, expected64(at, bt), `${name} transposed [${m}, ${k}] @ [${k}, ${n}]`);
  }
  // Views whose rows are contiguous but spaced (columns 2..2+cols of a wider matrix), taken
  // after the larger products above, so any padding the kernel reads from reused memory shows.
  for (const [m, k, n] of [
    [6, 9, 13],
    [5, 3, 2],
  ] as const) {
    const wideA = randomView(m, k + 5, 11);
    const wideB = randomView(k, n + 3, 12);
    const a = { ...wideA, offset: 2, cols: k };
    const b = { ...wideB, offset: 1, cols: n };
    const out = new Float32Array(m * n);
    kernel(a, b, out, 0);
    assertClose(out, expected64(a, b), `${name} spaced rows [${m}, ${k}] @ [${k}, ${n}]`);
    // And transposed views of spaced storage (the backward pass's Aᵀ and Bᵀ of such views).
    const at = transposeView({ ...randomView(k, m + 4, 13), offset: 1, cols: m });
    const bt = transposeView({ ...randomView(n, k + 2, 14), offset: 2, cols: k });
    const outT = new Float32Array(m * n);
    kernel(at, bt, outT, 0);
    assertClose(outT, expected64(at, bt), `${name} spaced transposed [${m}, ${k}] @ [${k}, ${n}]`);
  }
  // Adds into out at an offset and leaves the rest alone.
  const a = randomView(3, 5, 1);
  const b = randomView(5, 6, 2);
  const out = new Float32Array(2 + 18 + 2).fill(1);
  kernel(a, b, out, 2);
  assertClose(
    out,
    [1, 1, ...Array.from(expected64(a, b), (x) => x + 1), 1, 1],
    `${name} accumulates at an offset`,
  );
  // A broadcast batch of transposed views: [2, 3, 5, 7] (stored [2, 3, 7, 5]) @ [3, 7, 9].
  const stored = randomView(1, 210, 3).data;
  const left: StridedTensor = { data: stored, shape: [2, 3, 5, 7], strides: [105, 35, 1, 5] };
  const right = new Tensor(randomView(1, 189, 4).data, [3, 7, 9]);
  const got = matmulWithKernel(left, right, kernel);
  assert.equal(got.shape, [2, 3, 5, 9]);
  const want: number[] = [];
  for (let s = 0; s < 2; s++) {
    for (let t = 0; t < 3; t++) {
      const av = {
        data: stored,
        offset: s * 105 + t * 35,
        rows: 5,
        cols: 7,
        rowStride: 1,
        colStride: 5,
      };
      want.push(...expected64(av, matrixView(right.data, 7, 9, t * 63)));
    }
  }
  assertClose(got.data, want, `${name} broadcast batch of transposed views`);
}

test("the i-k-j, cache-blocked and register-blocked kernels agree with float64", () => {
  checkEverything("i-k-j", matmulIkj);
  checkEverything("blocked", matmulBlocked);
  checkEverything("blocked, tile 5", (a, b, o, off) => matmulBlocked(a, b, o, off, 5));
  checkEverything("register-blocked", matmulRegisterBlocked);
});

test("the WebAssembly SIMD kernel agrees with float64, and its memory grows on demand", async () => {
  const load = await loadSimdKernel();
  assert.ok(load.kernel, `the SIMD kernel loads in Node ${process.version}: ${load.reason}`);
  const simd = load.kernel;
  checkEverything("wasm-simd", (a, b, o, off) => matmulSimd(simd, a, b, o, off));
  // Larger than the initial page: several MB of packed panels, then a small product again.
  const a = randomView(300, 400, 5);
  const b = randomView(400, 350, 6);
  const out = new Float32Array(300 * 350);
  matmulSimd(simd, a, b, out, 0);
  assertClose(out, expected64(a, b), "wasm-simd [300, 400] @ [400, 350]");
  assert.ok(simd.memory.buffer.byteLength >= 4 * (300 * 400 + 400 * 352 + 300 * 352));
  assert.ok(measureSimdPeak(simd, 10_000, 1) > 0);
  // The WAT's addTiles against the TypeScript one on odd shapes (full tiles and a ragged edge).
  for (const [m, n] of [
    [5, 10],
    [9, 17],
    [1, 3],
    [4, 8],
  ]) {
    const tiles = Float32Array.from(
      { length: Math.ceil(m / 4) * Math.ceil(n / 8) * 32 },
      (_, i) => i % 13,
    );
    const start = Float32Array.from({ length: m * n }, (_, i) => i / 4);
    const want = Float32Array.from(start);
    addTiles(tiles, 4, 8, m, n, want, 0);
    const memory = new Float32Array(simd.memory.buffer, 0, tiles.length + m * n);
    memory.set(tiles, 0);
    memory.set(start, tiles.length);
    simd.addTiles(0, 4 * tiles.length, m, n);
    assert.equal(Array.from(memory.subarray(tiles.length)), Array.from(want), `addTiles ${m}×${n}`);
    // overwrite: whatever out held counts as zeros (NaN included), and -0 tiles stay -0 as 0 + -0
    memory.subarray(tiles.length).fill(NaN);
    simd.addTiles(0, 4 * tiles.length, m, n, 1);
    const written = new Float32Array(m * n);
    addTiles(tiles, 4, 8, m, n, written, 0);
    assert.equal(
      Array.from(memory.subarray(tiles.length)),
      Array.from(written),
      `addTiles ${m}×${n}, overwrite`,
    );
  }
  // A product written into a new matrix: garbage left in the kernel's memory changes nothing.
  new Float32Array(simd.memory.buffer).fill(NaN);
  const fresh = new Float32Array(9 * 11);
  matmulSimd(simd, randomView(9, 300, 7), randomView(300, 11, 8), fresh, 0, true);
  assertClose(
    fresh,
    expected64(randomView(9, 300, 7), randomView(300, 11, 8)),
    "wasm-simd, fresh out, depth over two bands",
  );
  const roofs = measureCacheRoofs(1e9, simd, { elements: 1000, passes: 10, repeats: 1 });
  assert.is(roofs.scalar.peakFlopsPerSecond, 1e9);
  assert.ok(roofs.scalar.bandwidthBytesPerSecond > 0);
  assert.ok(
    (roofs.simd?.peakFlopsPerSecond ?? 0) > 0 && (roofs.simd?.bandwidthBytesPerSecond ?? 0) > 0,
  );
  assert.is(measureCacheRoofs(1e9, null, { elements: 8, passes: 1, repeats: 1 }).simd, null);
});

const noSimd: WebAssemblyApi = {
  validate: () => false,
  Module: class {} as unknown as WebAssemblyApi["Module"],
  Instance: class {} as unknown as WebAssemblyApi["Instance"],
};

test("enableAcceleration: SIMD behind Tensor.matmul and Linear, same results, then off again", async () => {
  const layer = new Linear(33, 17, { seed: 1 });
  const x = Tensor.randn([4, 6, 33], 2);
  const before = layer.forward(x);
  const status = await enableAcceleration();
  try {
    assert.is(status.backend, "wasm-simd");
    const installed = setMatmulBackend(null);
    assert.ok(installed, "enableAcceleration installed a backend behind this Tensor class");
    setMatmulBackend(installed);
    assertClose(layer.forward(x).data, before.data, "Linear on a batch");
    const t = Tensor.randn([9, 5], 3).transpose();
    const plain = Tensor.randn([9, 5], 3).transpose();
    assert.equal(t.matmul(Tensor.randn([9, 2], 4)).shape, [5, 2]);
    disableAcceleration();
    const want = plain.matmul(Tensor.randn([9, 2], 4));
    await enableAcceleration();
    assertClose(t.matmul(Tensor.randn([9, 2], 4)).data, want.data, "transposed operand");
    assert.throws(() => Tensor.ones([2, 3]).matmul(Tensor.ones([2, 3])), /\[2, 3\] and \[2, 3\]/);
  } finally {
    disableAcceleration();
  }
});

test("the fallback: register-blocked TypeScript where SIMD or WebAssembly is missing, said once per reason", async () => {
  const lines: string[] = [];
  const log = (line: string): void => {
    lines.push(line);
  };
  const x = Tensor.randn([7, 13], 5);
  const w = Tensor.randn([13, 3], 6);
  const want = x.matmul(w);
  try {
    assert.equal(await enableAcceleration({ webAssembly: noSimd, log }), {
      backend: "typescript",
      reason: "this runtime's WebAssembly has no 128-bit SIMD",
    });
    assertClose(x.matmul(w).data, want.data, "fallback Tensor.matmul");
    await enableAcceleration({ webAssembly: noSimd, log });
    assert.is(lines.length, 1);
    assert.match(lines[0], /no 128-bit SIMD; matmul uses the register-blocked TypeScript kernel/);
    const none = await enableAcceleration({ webAssembly: null, log });
    assert.is(none.backend, "typescript");
    assert.is(lines.length, 2);
    assert.match(lines[1], /no WebAssembly/);
    assertClose(x.matmul(w).data, want.data, "fallback without WebAssembly");
    assert.equal(await loadSimdKernel(null), {
      kernel: null,
      reason: "this runtime has no WebAssembly",
    });
  } finally {
    disableAcceleration();
  }
});

test.run();
