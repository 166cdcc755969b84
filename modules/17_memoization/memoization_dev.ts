// ---
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
// # Module 17: Memoization — the key/value cache
//
// **Memoization** is the oldest trick for a slow computation: if a function is called again
// with inputs it has seen, return the result it gave last time instead of computing it again.
// It pays when three things hold: the result depends only on the inputs, the same inputs come
// back, and remembering is cheaper than recomputing.
//
// Generating text with module 13's GPT is exactly such a case. To draw token `t + 1`,
// `generate` runs the model on all `t` tokens so far, although it ran it on the first `t − 1`
// one step earlier. With a causal mask, a position's **keys and values** depend only on the
// tokens up to it: once computed, they never change. So each layer can remember them, and
// each step can run the newest token alone, attending to the remembered keys and values:
//
// | per generated token, at length `t` | without the cache | with it |
// |---|---|---|
// | projections and MLP | `t` positions | 1 position |
// | attention | `t × t` scores | `1 × t` scores |
// | total | `O(t²)` | `O(t)` |
//
// | you build | what it is |
// |---|---|
// | `LayerCache` | one layer's keys and values, in buffers allocated once, appended to at each step |
// | `KVCache` | a `LayerCache` per block of a GPT: what `GPT.generate` takes as `{ cache }` |
// | `stepFlops` | the cost model of one generation step, with and without the cache |
//
// Module 12's `MultiHeadAttention` and module 13's `gptForward` already accept a cache
// (`append(k, v)`, `layer(i)`, `length`); here you write the cache itself. Everything lands in
// `tinytorch-ts/nn/kvcache`.
//
// ### What you will learn
// - why caching keys and values is exact, and why queries need no cache;
// - how preallocated buffers make each step's append cheap;
// - the cost of a generated token, O(t²) against O(t), modelled and measured;
// - what the cache costs in memory, the price of the speed.

// %%
//| default_exp nn.kvcache

// %%
//| export
import { Tensor } from "tinytorch-ts/core/tensor";
import type { LayerKVCache } from "tinytorch-ts/nn/attention";
import type { GPTConfig, ModelKVCache } from "tinytorch-ts/nn/transformer";

// %% nbgrader={"grade": false, "grade_id": "memoization-test-helpers", "locked": true, "schema_version": 3, "solution": false, "task": false}
// Notebook-only imports (not part of the package).
import { noGrad } from "tinytorch-ts/core/autograd";
import { GPT as Model } from "tinytorch-ts/nn/transformer";
import { assert, assertClose, assertEqual, assertPrediction, assertShape, assertThrows, check, demo, passed, testRandom } from "tinytorch-ts/support/testing";
import { showChart } from "tinytorch-ts/support/chart";

// %% [markdown]
// ## Part 1: One layer's keys and values
//
// A layer's keys and values have shape `[B, H, T, hd]`. At each step the attention layer hands
// the cache the keys and values of the new positions (`[B, H, Tnew, hd]`) and needs back all of
// them so far (`[B, H, length, hd]`).
//
// Growing arrays by concatenation would copy everything at every step. Instead, the cache
// allocates its two buffers **once**, for the longest sequence it will hold (`maxLen`, the
// model's context), with the layout `[B, H, maxLen, hd]`: appending writes the new positions
// after the old ones in each head's block, and nothing that is there moves. What `append`
// returns must be contiguous `[B, H, length, hd]` tensors (module 12's matmuls read them so),
// so it copies the first `length` positions of each head's block out: that copy is `O(t)`,
// which is what the step costs anyway.
//
// ### Exercise 1: `LayerCache.append`
//
// **TODO**: Append `k` and `v` (each `[B, H, Tnew, hd]`) and return all keys and values so far.
//
// **APPROACH**:
// 1. Check that `k` and `v` have shape `[B, H, Tnew, hd]` with this cache's `B`, `H` and `hd`,
//    and that `length + Tnew <= maxLen`; otherwise throw an `Error` (say the cache is `full`).
// 2. For each `b`, `h`: copy `k`'s block of `Tnew · hd` numbers to offset
//    `((b·H + h)·maxLen + length)·hd` of `this.keys` (same for `v` into `this.values`).
// 3. `length += Tnew`; then build the returned tensors: for each `b`, `h`, the first
//    `length · hd` numbers of its block, one after another.
//
// **HINTS**:
// - `buffer.set(source.subarray(from, to), offset)` copies a block; `subarray` copies nothing.
// - Which of the two buffers would a bug that "only appends keys" leave stale, and which test
//   would notice?

// %% nbgrader={"grade": false, "grade_id": "layer-cache", "locked": false, "schema_version": 3, "solution": true, "task": false}
//| export
/** One attention layer's keys and values: buffers [B, H, maxLen, hd] allocated once, appended to. */
class LayerCache implements LayerKVCache {
  readonly batch: number;
  readonly numHeads: number;
  readonly maxLen: number;
  readonly headDim: number;
  readonly keys: Float32Array;
  readonly values: Float32Array;
  length = 0;

  constructor(batch: number, numHeads: number, maxLen: number, headDim: number) {
    this.batch = batch;
    this.numHeads = numHeads;
    this.maxLen = maxLen;
    this.headDim = headDim;
    this.keys = new Float32Array(batch * numHeads * maxLen * headDim);
    this.values = new Float32Array(batch * numHeads * maxLen * headDim);
  }

  append(k: Tensor, v: Tensor): { k: Tensor; v: Tensor } {
    // ### BEGIN SOLUTION
    const { batch, numHeads, maxLen, headDim } = this;
    const expected = (x: Tensor) => x.ndim === 4 && x.shape[0] === batch && x.shape[1] === numHeads && x.shape[3] === headDim;
    if (!expected(k) || !expected(v) || k.shape[2] !== v.shape[2]) {
      throw new Error(`LayerCache: keys [${k.shape.join(", ")}] and values [${v.shape.join(", ")}] for a cache of [${batch}, ${numHeads}, ·, ${headDim}]`);
    }
    const added = k.shape[2];
    if (this.length + added > maxLen) {
      throw new Error(`LayerCache: full (${this.length} of ${maxLen} positions; cannot add ${added})`);
    }
    for (let block = 0; block < batch * numHeads; block++) {
      const from = block * added * headDim;
      const to = (block * maxLen + this.length) * headDim;
      this.keys.set(k.data.subarray(from, from + added * headDim), to);
      this.values.set(v.data.subarray(from, from + added * headDim), to);
    }
    this.length += added;
    const size = this.length * headDim;
    const allKeys = new Float32Array(batch * numHeads * size);
    const allValues = new Float32Array(batch * numHeads * size);
    for (let block = 0; block < batch * numHeads; block++) {
      allKeys.set(this.keys.subarray(block * maxLen * headDim, block * maxLen * headDim + size), block * size);
      allValues.set(this.values.subarray(block * maxLen * headDim, block * maxLen * headDim + size), block * size);
    }
    const shape = [batch, numHeads, this.length, headDim];
    return { k: new Tensor(allKeys, shape), v: new Tensor(allValues, shape) };
    // ### END SOLUTION
  }

  /** Forgets every position (the buffers are kept). */
  reset(): void {
    this.length = 0;
  }
}

// %% nbgrader={"grade": true, "grade_id": "test-unit-layer-cache", "locked": true, "points": 4, "schema_version": 3, "solution": false, "task": false}
function testUnitLayerCache(): void {
  const cache = new LayerCache(1, 2, 4, 1);
  cache.append(new Tensor([[[[1], [2]], [[10], [20]]]]), new Tensor([[[[-1], [-2]], [[-10], [-20]]]]));
  const { k, v } = cache.append(new Tensor([[[[3]], [[30]]]]), new Tensor([[[[-3]], [[-30]]]]));
  assertShape(k.shape, [1, 2, 3, 1]);
  assertEqual(k.toArray(), [[[[1], [2], [3]], [[10], [20], [30]]]], "each head's keys, in order");
  assertEqual(v.toArray(), [[[[-1], [-2], [-3]], [[-10], [-20], [-30]]]], "and its values");
  assertEqual(cache.length, 3);
  // ### BEGIN HIDDEN TESTS
  assertThrows(() => cache.append(Tensor.zeros([1, 2, 2, 1]), Tensor.zeros([1, 2, 2, 1])), "full");
  assertThrows(() => cache.append(Tensor.zeros([1, 3, 1, 1]), Tensor.zeros([1, 3, 1, 1])), "LayerCache");
  {
    // Seeded: caches of random sizes fed random pieces of random keys and values; what each
    // append returns against the test's own concatenation, and a random overflow.
    const r = testRandom("memoization/layer-cache");
    for (let trial = 0; trial < 3; trial++) {
      const [b, h, maxLen, hd] = [r.int(1, 3), r.int(1, 3), r.int(2, 9), r.int(1, 4)];
      const layer = new LayerCache(b, h, maxLen, hd);
      const total = r.int(1, maxLen);
      const allK = r.numbers(b * h * total * hd);
      const allV = r.numbers(b * h * total * hd);
      /** Oracle: positions from..to of every head's block of a [b, h, total, hd] array. */
      const positions = (x: number[], from: number, to: number): number[] => Array.from({ length: b * h }, (_, blk) => x.slice((blk * total + from) * hd, (blk * total + to) * hd)).flat();
      let at = 0;
      while (at < total) {
        const len = r.int(1, total - at);
        const shape = [b, h, len, hd];
        const got = layer.append(new Tensor(Float32Array.from(positions(allK, at, at + len)), shape), new Tensor(Float32Array.from(positions(allV, at, at + len)), shape));
        at += len;
        assertEqual([layer.length, got.k.shape, got.v.shape], [at, [b, h, at, hd], [b, h, at, hd]], `LayerCache(${b}, ${h}, ${maxLen}, ${hd}) after ${at} positions: length and shapes`);
        assertEqual(Array.from(got.k.data), positions(allK, 0, at), `after ${at} positions: the keys`);
        assertEqual(Array.from(got.v.data), positions(allV, 0, at), `after ${at} positions: the values`);
      }
      const extra = maxLen - total + r.int(1, 3);
      assertThrows(() => layer.append(Tensor.zeros([b, h, extra, hd]), Tensor.zeros([b, h, extra, hd])), "full", `${extra} more positions than ${maxLen - total} free`);
    }
  }
  // ### END HIDDEN TESTS
  passed("testUnitLayerCache");
}
testUnitLayerCache();

// %%
//| mutation layer-cache appends keys but not values
class LayerCache implements LayerKVCache {
  readonly batch: number;
  readonly numHeads: number;
  readonly maxLen: number;
  readonly headDim: number;
  readonly keys: Float32Array;
  readonly values: Float32Array;
  length = 0;
  constructor(batch: number, numHeads: number, maxLen: number, headDim: number) {
    [this.batch, this.numHeads, this.maxLen, this.headDim] = [batch, numHeads, maxLen, headDim];
    this.keys = new Float32Array(batch * numHeads * maxLen * headDim);
    this.values = new Float32Array(batch * numHeads * maxLen * headDim);
  }
  append(k: Tensor, v: Tensor): { k: Tensor; v: Tensor } {
    const { batch, numHeads, maxLen, headDim } = this;
    const added = k.shape[2];
    if (this.length + added > maxLen || v.shape[2] !== added) throw new Error(`LayerCache: full`);
    for (let block = 0; block < batch * numHeads; block++) {
      this.keys.set(k.data.subarray(block * added * headDim, (block + 1) * added * headDim), (block * maxLen + this.length) * headDim);
    }
    this.length += added;
    const size = this.length * headDim;
    const out = (buffer: Float32Array): Tensor => {
      const data = new Float32Array(batch * numHeads * size);
      for (let block = 0; block < batch * numHeads; block++) data.set(buffer.subarray(block * maxLen * headDim, block * maxLen * headDim + size), block * size);
      return new Tensor(data, [batch, numHeads, this.length, headDim]);
    };
    return { k: out(this.keys), v: out(this.values) };
  }
  reset(): void {
    this.length = 0;
  }
}

// %%
//| mutation layer-cache returns only the new positions, not everything so far
class LayerCache implements LayerKVCache {
  readonly batch: number;
  readonly numHeads: number;
  readonly maxLen: number;
  readonly headDim: number;
  readonly keys: Float32Array;
  readonly values: Float32Array;
  length = 0;
  constructor(batch: number, numHeads: number, maxLen: number, headDim: number) {
    [this.batch, this.numHeads, this.maxLen, this.headDim] = [batch, numHeads, maxLen, headDim];
    this.keys = new Float32Array(batch * numHeads * maxLen * headDim);
    this.values = new Float32Array(batch * numHeads * maxLen * headDim);
  }
  append(k: Tensor, v: Tensor): { k: Tensor; v: Tensor } {
    if (this.length + k.shape[2] > this.maxLen) throw new Error(`LayerCache: full`);
    this.length += k.shape[2];
    return { k, v };
  }
  reset(): void {
    this.length = 0;
  }
}

// %% [markdown]
// ## Part 2: A cache for the whole model
//
// A GPT has one attention per block, so its cache is one `LayerCache` per block, all of the
// same size: `B` sequences, the model's heads, its context (`blockSize`) as `maxLen`, and
// `hd = dModel / numHeads`. It answers module 13's `ModelKVCache`: `length` (the positions
// cached, the same in every layer), `layer(i)`, and `reset()`, which `generate` calls before a
// new prompt. `bytes()` tells what the buffers cost: two of `B · H · maxLen · hd` float32 per
// layer.
//
// ### Exercise 2: `KVCache`
//
// **TODO**: Implement the constructor, `length`, `layer`, `reset` and `bytes`.
//
// **APPROACH**: from `model.config`, create `numLayers` caches of
// `LayerCache(batch, numHeads, blockSize, dModel / numHeads)`; `length` is the first layer's
// (0 if there are none); `layer(i)` returns cache `i` (throw an `Error` naming a layer that
// does not exist); `reset` resets every layer; `bytes` adds up the byte lengths of every
// layer's two buffers.
//
// **HINTS**:
// - Why must every layer have its *own* `LayerCache`? Think of what layer 1 appends right
//   after layer 0 did.

// %% nbgrader={"grade": false, "grade_id": "kv-cache", "locked": false, "schema_version": 3, "solution": true, "task": false}
//| export
/** A LayerCache per block of a GPT: what GPT.generate takes as { cache }. */
class KVCache implements ModelKVCache {
  readonly layers: LayerCache[];

  constructor(model: { config: Required<GPTConfig> }, batch = 1) {
    // ### BEGIN SOLUTION
    const { numLayers, numHeads, blockSize, dModel } = model.config;
    this.layers = Array.from({ length: numLayers }, () => new LayerCache(batch, numHeads, blockSize, dModel / numHeads));
    // ### END SOLUTION
  }

  get length(): number {
    // ### BEGIN SOLUTION
    return this.layers.length === 0 ? 0 : this.layers[0].length;
    // ### END SOLUTION
  }

  layer(index: number): LayerCache {
    // ### BEGIN SOLUTION
    const found = this.layers[index];
    if (found === undefined) throw new Error(`KVCache: no layer ${index} (the model has ${this.layers.length})`);
    return found;
    // ### END SOLUTION
  }

  reset(): void {
    // ### BEGIN SOLUTION
    for (const layer of this.layers) layer.reset();
    // ### END SOLUTION
  }

  /** Bytes of every layer's key and value buffers. */
  bytes(): number {
    // ### BEGIN SOLUTION
    return this.layers.reduce((total, layer) => total + layer.keys.byteLength + layer.values.byteLength, 0);
    // ### END SOLUTION
  }
}

// %% nbgrader={"grade": true, "grade_id": "test-unit-kv-cache", "locked": true, "points": 5, "schema_version": 3, "solution": false, "task": false}
function testUnitKVCache(): void {
  const model = new Model({ vocabSize: 7, blockSize: 8, dModel: 8, numHeads: 2, numLayers: 2, seed: 0 });
  const cache = new KVCache(model);
  assertEqual([cache.layers.length, cache.length, cache.bytes()], [2, 0, 2 * 2 * (2 * 8 * 4) * 4], "two layers, nothing cached, 512 bytes each");
  // Feeding the ids one at a time through the cache gives the logits of the whole sequence.
  const ids = [1, 5, 2, 6, 3];
  const whole = noGrad(() => model.forward(new Tensor([ids]))).data;
  const stepwise = ids.flatMap((id) => Array.from(noGrad(() => model.forward(new Tensor([[id]]), { cache })).data));
  assertClose(stepwise, Array.from(whole), { atol: 1e-5 }, "cached logits = uncached logits at every position");
  // ### BEGIN HIDDEN TESTS
  assertEqual(cache.length, 5);
  cache.reset();
  assertEqual([cache.length, cache.layer(1).length], [0, 0], "reset forgets every layer");
  assertThrows(() => cache.layer(2), "layer 2");
  {
    // Seeded: a GPT of random size, seed and biases, a batch of random sequences fed through a
    // KVCache in random pieces, against the same model without a cache on the whole sequences
    // (every position within 1e-5); the bytes against the formula.
    const r = testRandom("memoization/kv-cache");
    const [numHeads, hd, layers, vocab, blockSize, b] = [r.int(1, 3), r.int(1, 4), r.int(1, 3), r.int(2, 9), r.int(2, 9), r.int(1, 3)];
    const gpt = new Model({ vocabSize: vocab, blockSize, dModel: numHeads * hd, numHeads, numLayers: layers, seed: r.seed() });
    for (const [name, p] of gpt.namedParameters()) if (name.endsWith("bias") || name.startsWith("w")) p.data.set(r.numbers(p.size, -1, 1));
    const kv = new KVCache(gpt, b);
    assertEqual(kv.bytes(), 2 * layers * b * blockSize * numHeads * hd * 4, `KVCache for ${layers} layers of ${numHeads} heads of ${hd}, context ${blockSize}, batch ${b}: bytes`);
    const t = r.int(2, blockSize);
    const seqs = Array.from({ length: b }, () => Array.from({ length: t }, () => r.int(0, vocab - 1)));
    const cached: number[][] = seqs.map(() => []);
    let at = 0;
    const pieces: number[] = [];
    while (at < t) {
      const len = r.int(1, t - at);
      pieces.push(len);
      const z = noGrad(() => gpt.forward(new Tensor(seqs.map((s) => s.slice(at, at + len))), { cache: kv })).data;
      seqs.forEach((_, bi) => cached[bi].push(...Array.from(z.subarray(bi * len * vocab, (bi + 1) * len * vocab))));
      at += len;
    }
    const uncached = noGrad(() => gpt.forward(new Tensor(seqs))).data;
    assertClose(cached.flat(), Array.from(uncached), { atol: 1e-5, rtol: 1e-5 }, `${b} sequence(s) of ${t} tokens fed in pieces ${pieces.join("+")}`);
    assertEqual(kv.length, t, "length after the pieces");
  }
  // ### END HIDDEN TESTS
  passed("testUnitKVCache");
}
testUnitKVCache();

// %%
//| mutation kv-cache every layer shares one LayerCache
class KVCache implements ModelKVCache {
  readonly layers: LayerCache[];
  constructor(model: { config: Required<GPTConfig> }, batch = 1) {
    const { numLayers, numHeads, blockSize, dModel } = model.config;
    const shared = new LayerCache(batch, numHeads, blockSize * numLayers, dModel / numHeads);
    this.layers = Array.from({ length: numLayers }, () => shared);
  }
  get length(): number {
    return this.layers.length === 0 ? 0 : this.layers[0].length;
  }
  layer(index: number): LayerCache {
    if (this.layers[index] === undefined) throw new Error(`KVCache: no layer ${index}`);
    return this.layers[index];
  }
  reset(): void {
    for (const layer of this.layers) layer.reset();
  }
  bytes(): number {
    return this.layers.reduce((total, layer) => total + layer.keys.byteLength + layer.values.byteLength, 0);
  }
}

// %%
//| mutation kv-cache reset forgets only the first layer
class KVCache implements ModelKVCache {
  readonly layers: LayerCache[];
  constructor(model: { config: Required<GPTConfig> }, batch = 1) {
    const { numLayers, numHeads, blockSize, dModel } = model.config;
    this.layers = Array.from({ length: numLayers }, () => new LayerCache(batch, numHeads, blockSize, dModel / numHeads));
  }
  get length(): number {
    return this.layers.length === 0 ? 0 : this.layers[0].length;
  }
  layer(index: number): LayerCache {
    if (this.layers[index] === undefined) throw new Error(`KVCache: no layer ${index}`);
    return this.layers[index];
  }
  reset(): void {
    this.layers[0]?.reset();
  }
  bytes(): number {
    return this.layers.reduce((total, layer) => total + layer.keys.byteLength + layer.values.byteLength, 0);
  }
}

// %% [markdown]
// ## Part 3: What a generated token costs
//
// Count the multiply-adds (2 FLOPs each) of one generation step of a GPT with `L` blocks,
// width `C`, vocabulary `V`, when the sequence has `t` tokens:
//
// - a position's projections (`q`, `k`, `v`, `out`: `4 · 2C²`) and MLP (`2 · 2 · C · 4C`): `24C²`
//   per position and block;
// - attention, for one query against `t` keys: the scores `2tC` and the weighted sum `2tC`,
//   all heads together: `4tC` per query and block;
// - the head: `2CV` per position.
//
// Without the cache, the step runs all `t` positions (our forward computes every position's
// logits); with it, only the newest one, attending to `t` keys.
//
// ### Exercise 3: `stepFlops`
//
// **TODO**: Return the FLOPs of one step at length `t`, with or without the cache.
//
// **APPROACH**: without: `L · (24·t·C² + 4·t²·C) + 2·t·C·V`; with: `L · (24·C² + 4·t·C) + 2·C·V`.
//
// **HINTS**:
// - Divide the first by the second. What do you get, and why?

// %% nbgrader={"grade": false, "grade_id": "step-flops", "locked": false, "schema_version": 3, "solution": true, "task": false}
//| export
/** FLOPs of one generation step at sequence length t: all t positions (uncached) or the newest one (cached). */
function stepFlops(config: GPTConfig, t: number, cached: boolean): number {
  const { numLayers: layers, dModel: c, vocabSize: v } = config;
  // ### BEGIN SOLUTION
  if (cached) return layers * (24 * c * c + 4 * t * c) + 2 * c * v;
  return layers * (24 * t * c * c + 4 * t * t * c) + 2 * t * c * v;
  // ### END SOLUTION
}

// %% nbgrader={"grade": true, "grade_id": "test-unit-step-flops", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
function testUnitStepFlops(): void {
  const small = { vocabSize: 10, blockSize: 16, dModel: 4, numHeads: 2, numLayers: 1 };
  assertEqual(stepFlops(small, 1, true), 24 * 16 + 16 + 80, "one position, one key");
  // ### BEGIN HIDDEN TESTS
  {
    // Seeded: random model sizes and lengths, both ways, against the count written here.
    const r = testRandom("memoization/step-flops");
    for (let trial = 0; trial < 4; trial++) {
      const cfg = { vocabSize: r.int(2, 60000), blockSize: 2048, dModel: 8 * r.int(1, 200), numHeads: 8, numLayers: r.int(1, 48) };
      const t = r.int(1, 2048);
      /** Oracle: the count, position by position. */
      const count = (positions: number): number => {
        let flops = 0;
        for (let p = t - positions; p < t; p++) flops += cfg.numLayers * (8 * cfg.dModel ** 2 + 16 * cfg.dModel ** 2 + 4 * t * cfg.dModel) + 2 * cfg.dModel * cfg.vocabSize;
        return flops;
      };
      const what = `L ${cfg.numLayers}, C ${cfg.dModel}, V ${cfg.vocabSize}, t ${t}`;
      assertEqual(stepFlops(cfg, t, true), count(1), `${what}, cached`);
      assertEqual(stepFlops(cfg, t, false), count(t), `${what}, uncached`);
    }
  }
  // ### END HIDDEN TESTS
  passed("testUnitStepFlops");
}
testUnitStepFlops();

// %%
//| mutation step-flops the uncached attention counted linear in t
function stepFlops(config: GPTConfig, t: number, cached: boolean): number {
  const { numLayers: layers, dModel: c, vocabSize: v } = config;
  if (cached) return layers * (24 * c * c + 4 * t * c) + 2 * c * v;
  return layers * (24 * t * c * c + 4 * t * c) + 2 * t * c * v;
}

// %%
//| mutation step-flops forgets the MLP
function stepFlops(config: GPTConfig, t: number, cached: boolean): number {
  const { numLayers: layers, dModel: c, vocabSize: v } = config;
  if (cached) return layers * (8 * c * c + 4 * t * c) + 2 * c * v;
  return layers * (8 * t * c * c + 4 * t * t * c) + 2 * t * c * v;
}

// %% [markdown]
// ### Predict, then measure
//
// 1. For the milestone's model (`L = 2`, `C = 128`, `V = 81`), how many times more FLOPs does
//    an uncached step cost than a cached one at `t = 64`?
// 2. GPT-2 small has 12 blocks of width 768 (12 heads of 64). How many **bytes** does its
//    float32 key/value cache take for one sequence of 1,024 tokens?

// %% nbgrader={"grade": false, "grade_id": "predict-flops-ratio", "locked": false, "schema_version": 3, "solution": true, "task": false}
/** Your prediction: uncached / cached FLOPs of a step at t = 64 for the milestone's model. */
function predictedFlopsRatio(): number {
  // ### BEGIN SOLUTION
  return 64; // the uncached step is t times the cached one, term by term
  // ### END SOLUTION
}

// %%
//| mutation predict-flops-ratio t squared
function predictedFlopsRatio(): number {
  return 64 * 64;
}

// %% nbgrader={"grade": false, "grade_id": "predict-cache-bytes", "locked": false, "schema_version": 3, "solution": true, "task": false}
/** Your prediction: bytes of GPT-2 small's key/value cache for 1,024 tokens (float32, one sequence). */
function predictedCacheBytes(): number {
  // ### BEGIN SOLUTION
  return 2 * 12 * 1024 * 768 * 4;
  // ### END SOLUTION
}

// %%
//| mutation predict-cache-bytes forgets the values (keys only)
function predictedCacheBytes(): number {
  return 12 * 1024 * 768 * 4;
}

// %%
await demo("time per generated token, with and without the cache", async () => {
  const model = new Model({ vocabSize: 81, blockSize: 256, dModel: 128, numHeads: 4, numLayers: 2, seed: 0 });
  const cache = new KVCache(model);
  const prompt = Array.from({ length: 256 }, (_, i) => (i * 7) % 81);
  const rows: { t: number; mode: string; ms: number }[] = [];
  noGrad(() => {
    for (const t of [16, 32, 64, 128, 256]) {
      const window = new Tensor([prompt.slice(0, t)]);
      let uncached = Infinity;
      for (let rep = 0; rep < 2; rep++) {
        const t0 = performance.now();
        model.forward(window);
        uncached = Math.min(uncached, performance.now() - t0);
      }
      let withCache = Infinity;
      for (let rep = 0; rep < 3; rep++) {
        cache.reset();
        if (t > 1) model.forward(new Tensor([prompt.slice(0, t - 1)]), { cache });
        const t0 = performance.now();
        model.forward(new Tensor([[prompt[t - 1]]]), { cache });
        withCache = Math.min(withCache, performance.now() - t0);
      }
      rows.push({ t, mode: "without cache", ms: uncached }, { t, mode: "with cache", ms: withCache });
    }
  });
  const cfg = model.config;
  console.log("   t   without (ms)   with (ms)   measured ratio   FLOPs ratio");
  for (let i = 0; i < rows.length; i += 2) {
    const t = rows[i].t;
    console.log(`${String(t).padStart(4)} ${rows[i].ms.toFixed(2).padStart(14)} ${rows[i + 1].ms.toFixed(3).padStart(11)} ${(rows[i].ms / rows[i + 1].ms).toFixed(1).padStart(16)} ${(stepFlops(cfg, t, false) / stepFlops(cfg, t, true)).toFixed(1).padStart(13)}`);
  }
  console.log(`your predictions: ratio ${predictedFlopsRatio()} at t = 64; GPT-2's cache ${predictedCacheBytes().toLocaleString("en")} bytes; this model's cache: ${cache.bytes().toLocaleString("en")} bytes`);
  await showChart({
    title: "Milliseconds per generated token (GPT 2x128, context 256)",
    data: { values: rows },
    mark: { type: "line", point: true },
    encoding: {
      x: { field: "t", type: "quantitative", scale: { type: "log", base: 2 }, title: "tokens so far t" },
      y: { field: "ms", type: "quantitative", scale: { type: "log" }, title: "ms per token (log)" },
      color: { field: "mode", type: "nominal" },
    },
  });
});

// %% nbgrader={"grade": true, "grade_id": "test-unit-memoization-predictions", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
function testUnitMemoizationPredictions(): void {
  // ### BEGIN HIDDEN TESTS
  check("the FLOPs ratio at t = 64", 1, () => assertPrediction(predictedFlopsRatio(), 64, { rtol: 0.1 }));
  check("GPT-2's cache for 1,024 tokens", 1, () => assertPrediction(predictedCacheBytes(), 75_497_472, { rtol: 0.05 }));
  // ### END HIDDEN TESTS
  passed("testUnitMemoizationPredictions");
}
testUnitMemoizationPredictions();

// %% [markdown] nbgrader={"grade": true, "grade_id": "explain-exactness", "locked": false, "points": 2, "schema_version": 3, "solution": true, "task": false}
// **Question 1.** The cache stores keys and values but no queries, and the cached logits equal
// the uncached ones to within rounding. Explain both facts. Would they still hold without the
// causal mask?
//
// ### BEGIN SOLUTION
// With a causal mask, the keys and values of position p are computed from the tokens 0..p only
// (every layer's input at p depends on earlier positions alone), so appending tokens later
// never changes them: reusing them gives the same numbers as recomputing (up to the order of
// float32 sums). Queries are used only by their own position, to produce that position's
// output; past positions' outputs are never needed again when generating, so their queries
// are never reused. Without the causal mask, an earlier position would attend to later tokens,
// so its layer outputs, and hence the keys and values of the next layers, would change with
// every new token: the cache would be stale and the results wrong.
// ### END SOLUTION
//
// ### BEGIN RUBRIC
// 2 points: keys/values of a position depend only on earlier tokens under the causal mask, so
// they never change (exactness); queries are needed only for the new position; without the
// mask past representations change with new tokens, so caching breaks. 1 point: two of the three.
// ### END RUBRIC

// %% [markdown] nbgrader={"grade": true, "grade_id": "explain-cache-memory", "locked": false, "points": 2, "schema_version": 3, "solution": true, "task": false}
// **Question 2.** A server generates for 64 users at once with a model of 32 blocks of width
// 4,096 and a context of 8,192 tokens, in 16-bit floats. Estimate its key/value cache, compare
// it with the model's 7 billion parameters, and name one way such systems reduce it.
//
// ### BEGIN SOLUTION
// 2 (keys and values) · 32 layers · 8,192 tokens · 4,096 numbers · 2 bytes = 4.3 GB per
// sequence; for 64 sequences about 275 GB, twenty times the 14 GB of weights. The cache, not
// the model, limits how many users a GPU can serve. Remedies: fewer key/value heads than query
// heads (multi-query or grouped-query attention), quantising the cache to 8 or 4 bits, paging
// it so that unused context takes no memory (PagedAttention), or shorter / sliding contexts.
// ### END SOLUTION
//
// ### BEGIN RUBRIC
// 2 points: a correct order of magnitude (about 4 GB per sequence, hundreds of GB for 64),
// compared with the 14 GB of weights, and one real remedy (GQA/MQA, quantisation, paging,
// sliding windows, offloading). 1 point: the estimate or the remedy alone.
// ### END RUBRIC

// %% [markdown]
// ## Module test

// %% nbgrader={"grade": true, "grade_id": "test-module-memoization", "locked": true, "points": 3, "schema_version": 3, "solution": false, "task": false}
function testModule(): void {
  const model = new Model({ vocabSize: 9, blockSize: 6, dModel: 8, numHeads: 2, numLayers: 2, seed: 2 });
  const cache = new KVCache(model);
  const plain = model.generate([1, 2, 3], 10, { seed: 5, temperature: 0.9 });
  const fast = model.generate([1, 2, 3], 10, { seed: 5, temperature: 0.9, cache });
  assertEqual(fast, plain, "the same tokens with and without the cache, past the context too");
  // ### BEGIN HIDDEN TESTS
  {
    // Seeded: a GPT of random size, seed and tables; generation with random prompts, lengths,
    // temperatures and top-k, with a cache and without: the same tokens (the logits agree to
    // 1e-5, so the draws agree away from exact ties), and the cache's bytes.
    const r = testRandom("memoization/module");
    const [numHeads, hd, layers, vocab, blockSize] = [r.int(1, 2), r.int(1, 4), r.int(1, 2), r.int(3, 12), r.int(3, 8)];
    const gpt = new Model({ vocabSize: vocab, blockSize, dModel: numHeads * hd, numHeads, numLayers: layers, seed: r.seed() });
    for (const [name, p] of gpt.namedParameters()) if (name.startsWith("w")) p.data.set(r.numbers(p.size, -1, 1));
    const kv = new KVCache(gpt);
    for (let trial = 0; trial < 3; trial++) {
      const prompt = Array.from({ length: r.int(1, blockSize) }, () => r.int(0, vocab - 1));
      const options = { seed: r.seed(), temperature: r.pick([0, 0.7, 1]), topK: r.bool() ? r.int(1, vocab) : undefined };
      const n = r.int(1, 2 * blockSize);
      /** Oracle: the model without a cache (module 13's generation). */
      const withoutCache = (): number[] => gpt.generate(prompt, n, options);
      assertEqual(gpt.generate(prompt, n, { ...options, cache: kv }), withoutCache(), `prompt of ${prompt.length}, ${n} tokens, temperature ${options.temperature}, topK ${options.topK}, context ${blockSize}`);
    }
    assertEqual(kv.bytes(), 8 * layers * blockSize * numHeads * hd, "the cache's bytes");
  }
  // ### END HIDDEN TESTS
  passed("testModule (memoization)");
}
testModule();

// %% [markdown]
// ## Summary
//
// - Memoization pays when results depend only on their inputs and the inputs come back. In
//   causal generation, past positions' keys and values never change, so each layer keeps them.
// - `LayerCache` allocates `[B, H, maxLen, hd]` buffers once; `append` writes the new positions
//   in place and returns the contiguous keys and values so far.
// - `KVCache` holds one per block and plugs into `GPT.generate({ cache })`: each step runs the
//   newest token only, and the logits match the uncached model's at every position.
// - One uncached step at length `t` costs exactly `t` cached steps: `O(t²)` against `O(t)` per
//   token, as measured; the price is `2 · L · B · maxLen · C` numbers of memory.
//
// The milestone uses it to print its samples (`npx tito milestone 05`); `npm run bench:gpt`
// measures cached and uncached tokens per second.
