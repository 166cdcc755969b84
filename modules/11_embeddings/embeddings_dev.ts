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
// # Module 11: Embeddings
//
// Module 10 turned text into token ids. An id is a name, not a quantity: token 42 is not "twice"
// token 21, and feeding ids to a `Linear` layer as numbers would pretend it was. An
// **embedding** gives every token a vector of `dim` learned numbers instead: row `id` of a
// table `weight` of shape `[numEmbeddings, dim]`. Looking a token up is reading a row; learning
// moves the rows of the tokens that were read.
//
// A transformer also needs to know *where* each token is: attention (module 12) treats its
// input as a set, so "the whale ate Ahab" and "Ahab ate the whale" would look alike. A
// **positional encoding** adds a vector per position: fixed sine waves (the original
// transformer, 2017) or a second learned table (GPT).
//
// | you build | what it is |
// |---|---|
// | `embeddingLookup` | rows of a table, as a tensor op that autograd knows |
// | `embeddingBackward` | its gradient: a **scatter-add** of the output's gradient into the rows read |
// | `sinusoidalEncoding` | the fixed sine and cosine waves of "Attention Is All You Need" |
// | `PositionalEmbedding.forward` | GPT's learned table of positions, from any starting position |
//
// `Embedding(numEmbeddings, dim, { seed })` has PyTorch's name and shape: `weight`,
// `[numEmbeddings, dim]`, initialised from N(0, 1). Everything lands in
// `tinytorch-ts/nn/embeddings`.
//
// ### What you will learn
// - why an embedding is a matrix product with a one-hot vector, done without the product;
// - why its backward pass must **add** into rows, never overwrite them;
// - what sinusoidal encodings can do that a learned table cannot, and the other way round.

// %%
//| default_exp nn.embeddings

// %%
//| export
import { Rng, Tensor, type GradNode } from "tinytorch-ts/core/tensor";
import { registerRules } from "tinytorch-ts/core/autograd";
import { Layer } from "tinytorch-ts/core/layers";

// %% nbgrader={"grade": false, "grade_id": "embeddings-test-helpers", "locked": true, "schema_version": 3, "solution": false, "task": false}
// Notebook-only imports and helpers (not part of the package).
import { assert, assertClose, assertEqual, assertPrediction, assertShape, assertThrows, check, demo, passed, testRandom } from "tinytorch-ts/support/testing";
import { showChart } from "tinytorch-ts/support/chart";

/**
 * Central differences of sum(w * f(x)) at x, in float64: the gradient a test computes itself,
 * from its own float64 version `f` of the function, never from the code under test.
 */
function centralDifferences(f: (x: Float64Array) => ArrayLike<number>, x: ArrayLike<number>, w: ArrayLike<number>): number[] {
  const at = Float64Array.from(x);
  const objective = (): number => {
    const y = f(at);
    let total = 0;
    for (let i = 0; i < y.length; i++) total += w[i] * y[i];
    return total;
  };
  return Array.from(at, (keep, i) => {
    const h = 1e-5 * Math.max(1, Math.abs(keep));
    at[i] = keep + h;
    const up = objective();
    at[i] = keep - h;
    const down = objective();
    at[i] = keep;
    return (up - down) / (2 * h);
  });
}

// %% [markdown]
// ## Part 1: Looking up rows
//
// With a one-hot row vector `e_id` (a 1 at `id`, 0 elsewhere), `e_id @ weight` is row `id` of
// `weight`. So an embedding *is* a `Linear` layer without bias applied to one-hot inputs, and
// that is how to think about its gradient. But multiplying by a vector that is all zeros but
// one wastes `numEmbeddings` multiply-adds per output number: we read the row instead.
//
// `ids` may have any shape (a batch `[B, T]` of sequences, usually); the result has shape
// `[...ids.shape, dim]`. Like every operation that autograd must see, the lookup leaves a note
// on its output: `Tensor.record(out, "embedding", [weight], { saved: [ids] })`. The ids are
// saved (the rule needs them) but are not an input: nothing is differentiable about an index.
//
// ### Exercise 1: `embeddingLookup`
//
// **TODO**: Return the rows of `weight` named by `ids`, as a recorded tensor.
//
// **APPROACH**:
// 1. Check that `weight` is 2-D; let `[n, dim] = weight.shape`.
// 2. Allocate `new Float32Array(ids.size * dim)`; for each position `i`, check that
//    `ids.data[i]` is an integer in `[0, n)` (otherwise throw an `Error` naming the id), and copy
//    its row: `out.set(weight.data.subarray(id * dim, (id + 1) * dim), i * dim)`.
// 3. Return `Tensor.record(new Tensor(out, [...ids.shape, dim]), "embedding", [weight], { saved: [ids] })`.
//
// **HINTS**:
// - An id of `2.5` or `-1` is as wrong as one past the end: which single condition catches all
//   three?

// %% nbgrader={"grade": false, "grade_id": "embedding-lookup", "locked": false, "schema_version": 3, "solution": true, "task": false}
//| export
/** Rows `ids` of `weight` ([n, dim]): shape [...ids.shape, dim], recorded as "embedding". */
function embeddingLookup(weight: Tensor, ids: Tensor): Tensor {
  if (weight.ndim !== 2) throw new Error(`embedding: the weight must be 2-D, got shape [${weight.shape.join(", ")}]`);
  // ### BEGIN SOLUTION
  const [n, dim] = weight.shape;
  const out = new Float32Array(ids.size * dim);
  for (let i = 0; i < ids.size; i++) {
    const id = ids.data[i];
    if (!(Number.isInteger(id) && id >= 0 && id < n)) {
      throw new Error(`embedding: id ${id} is outside [0, ${n})`);
    }
    out.set(weight.data.subarray(id * dim, (id + 1) * dim), i * dim);
  }
  return Tensor.record(new Tensor(out, [...ids.shape, dim]), "embedding", [weight], { saved: [ids] });
  // ### END SOLUTION
}

// %% nbgrader={"grade": true, "grade_id": "test-unit-embedding-lookup", "locked": true, "points": 3, "schema_version": 3, "solution": false, "task": false}
function testUnitEmbeddingLookup(): void {
  const weight = new Tensor([[0, 1], [10, 11], [20, 21]]);
  const out = embeddingLookup(weight, new Tensor([[2, 0], [1, 1]]));
  assertShape(out.shape, [2, 2, 2]);
  assertEqual(out.toArray(), [[[20, 21], [0, 1]], [[10, 11], [10, 11]]]);
  assertThrows(() => embeddingLookup(weight, new Tensor([3])), "3");
  // ### BEGIN HIDDEN TESTS
  assertThrows(() => embeddingLookup(weight, new Tensor([-1])), "-1");
  assertThrows(() => embeddingLookup(weight, new Tensor([1.5])), "1.5");
  const tracked = new Tensor([[1, 2]]).setRequiresGrad();
  const note = embeddingLookup(tracked, new Tensor([0, 0]));
  assertEqual([note.requiresGrad, note.gradFn?.op, note.gradFn?.inputs.length], [true, "embedding", 1], "recorded on the weight alone");
  {
    // Seeded: random tables and random id tensors of random rank (0-d included); the rows
    // against the test's own indexing.
    const r = testRandom("embeddings/lookup");
    for (let trial = 0; trial < 5; trial++) {
      const [n, dim] = [r.int(1, 9), r.int(1, 6)];
      const values = r.numbers(n * dim, -3, 3);
      const idShape = r.shape(r.int(0, 3), 4);
      const ids = Array.from({ length: idShape.reduce((p, d) => p * d, 1) }, () => r.int(0, n - 1));
      const got = embeddingLookup(new Tensor(Float32Array.from(values), [n, dim]), new Tensor(Float32Array.from(ids), idShape));
      assertShape(got.shape, [...idShape, dim], `ids of shape [${idShape}] into a [${n}, ${dim}] table`);
      assertEqual(Array.from(got.data), ids.flatMap((id) => values.slice(id * dim, (id + 1) * dim)), "the rows, in order");
    }
    const n = r.int(2, 8);
    const bad = r.pick([n, n + r.int(1, 5), -r.int(1, 3), r.int(0, n - 2) + 0.5]);
    assertThrows(() => embeddingLookup(Tensor.zeros([n, 3]), new Tensor([0, bad])), String(bad), `a random bad id ${bad}`);
  }
  // ### END HIDDEN TESTS
  passed("testUnitEmbeddingLookup");
}
testUnitEmbeddingLookup();

// %%
//| mutation embedding-lookup reads column id instead of row id
function embeddingLookup(weight: Tensor, ids: Tensor): Tensor {
  const [n, dim] = weight.shape;
  const out = new Float32Array(ids.size * dim);
  for (let i = 0; i < ids.size; i++) {
    const id = ids.data[i];
    if (!(Number.isInteger(id) && id >= 0 && id < n)) throw new Error(`embedding: id ${id} is outside [0, ${n})`);
    for (let j = 0; j < dim; j++) out[i * dim + j] = weight.data[(j * n + id) % weight.size];
  }
  return Tensor.record(new Tensor(out, [...ids.shape, dim]), "embedding", [weight], { saved: [ids] });
}

// %%
//| mutation embedding-lookup accepts a fractional id by rounding it down
function embeddingLookup(weight: Tensor, ids: Tensor): Tensor {
  const [n, dim] = weight.shape;
  const out = new Float32Array(ids.size * dim);
  for (let i = 0; i < ids.size; i++) {
    const id = Math.floor(ids.data[i]);
    if (id < 0 || id >= n) throw new Error(`embedding: id ${ids.data[i]} is outside [0, ${n})`);
    out.set(weight.data.subarray(id * dim, (id + 1) * dim), i * dim);
  }
  return Tensor.record(new Tensor(out, [...ids.shape, dim]), "embedding", [weight], { saved: [ids] });
}

// %% [markdown]
// ## Part 2: The gradient is a scatter-add
//
// Output position `i` is a copy of row `ids[i]`. So the gradient of the loss with respect to
// row `r` of `weight` is the sum of the output gradients of **every** position that read row
// `r`:
//
// ```
// dweight[r] = Σ over i with ids[i] = r of  grad[i]          (rows nobody read: 0)
// ```
//
// That is the one-hot product's rule `dweight = onehot(ids)ᵀ @ grad`, once more without the
// product. In a batch of text, the letter "e" appears hundreds of times: its row must collect
// all of their gradients. A loop that *assigns* `dweight[r] = grad[i]` keeps only the last one,
// and the model learns from a fraction of its data without any error to say so.
//
// ### Exercise 2: `embeddingBackward`
//
// **TODO**: Return `[dweight]`, the scatter-add of `grad` into a zero tensor of the weight's
// shape.
//
// **APPROACH**: `const [weight] = node.inputs`, `const [ids] = node.args.saved`; allocate zeros
// of `weight.size`; for each position `i` and each `j < dim`, add `grad.data[i * dim + j]` into
// element `ids.data[i] * dim + j`.
//
// **HINTS**:
// - `grad` has the output's shape `[...ids.shape, dim]`; its flat layout matches the output's.

// %% nbgrader={"grade": false, "grade_id": "embedding-backward", "locked": false, "schema_version": 3, "solution": true, "task": false}
//| export
/** The embedding's rule: each output row's gradient added into the row it was read from. */
function embeddingBackward(grad: Tensor, node: GradNode): (Tensor | null)[] {
  const weight = node.inputs[0];
  const ids = (node.args.saved ?? [])[0];
  if (ids === undefined) throw new Error("embedding: the ids were not saved");
  // ### BEGIN SOLUTION
  const dim = weight.shape[1];
  const out = new Float32Array(weight.size);
  for (let i = 0; i < ids.size; i++) {
    const row = ids.data[i] * dim;
    for (let j = 0; j < dim; j++) out[row + j] += grad.data[i * dim + j];
  }
  return [new Tensor(out, weight.shape)];
  // ### END SOLUTION
}

// %% nbgrader={"grade": false, "grade_id": "embedding-rule", "locked": true, "schema_version": 3, "solution": false, "task": false}
//| export
registerRules({ embedding: embeddingBackward });

// %% nbgrader={"grade": true, "grade_id": "test-unit-embedding-backward", "locked": true, "points": 4, "schema_version": 3, "solution": false, "task": false}
function testUnitEmbeddingBackward(): void {
  const weight = Tensor.zeros([3, 2]).setRequiresGrad();
  const out = embeddingLookup(weight, new Tensor([2, 0, 2]));
  out.backward(new Tensor([[1, 2], [3, 4], [5, 6]]));
  assertEqual(weight.grad?.toArray(), [[3, 4], [0, 0], [6, 8]], "id 2 read twice: its gradients add up");
  // ### BEGIN HIDDEN TESTS
  {
    // Seeded: random tables and random batches of ids with many repeats; the gradient against
    // float64 central differences of sum(w * lookup(weight)), computed here.
    const r = testRandom("embeddings/backward");
    for (let trial = 0; trial < 4; trial++) {
      const [n, dim] = [r.int(1, 6), r.int(1, 5)];
      const values = r.numbers(n * dim, -2, 2);
      const idShape = r.shape(r.int(1, 3), 5);
      const ids = Array.from({ length: idShape.reduce((p, d) => p * d, 1) }, () => r.int(0, n - 1));
      const w = r.numbers(ids.length * dim, -1, 1);
      const table = new Tensor(Float32Array.from(values), [n, dim]).setRequiresGrad();
      embeddingLookup(table, new Tensor(Float32Array.from(ids), idShape)).backward(new Tensor(Float32Array.from(w), [...idShape, dim]));
      /** Oracle: the lookup in float64. */
      const lookup64 = (x: Float64Array): number[] => ids.flatMap((id) => Array.from(x.subarray(id * dim, (id + 1) * dim)));
      assertClose(Array.from(table.grad?.data ?? []), centralDifferences(lookup64, values, w), { rtol: 1e-6, atol: 1e-6 }, `ids of shape [${idShape}] (${ids.length} lookups of ${n} rows): d weight`);
    }
  }
  // ### END HIDDEN TESTS
  passed("testUnitEmbeddingBackward");
}
testUnitEmbeddingBackward();

// %%
//| mutation embedding-backward overwrites a row instead of accumulating
function embeddingBackward(grad: Tensor, node: GradNode): (Tensor | null)[] {
  const weight = node.inputs[0];
  const ids = (node.args.saved ?? [])[0];
  const dim = weight.shape[1];
  const out = new Float32Array(weight.size);
  for (let i = 0; i < ids.size; i++) {
    for (let j = 0; j < dim; j++) out[ids.data[i] * dim + j] = grad.data[i * dim + j];
  }
  return [new Tensor(out, weight.shape)];
}

// %%
//| mutation embedding-backward adds into row i (the position) instead of row ids[i]
function embeddingBackward(grad: Tensor, node: GradNode): (Tensor | null)[] {
  const weight = node.inputs[0];
  const ids = (node.args.saved ?? [])[0];
  const dim = weight.shape[1];
  const out = new Float32Array(weight.size);
  for (let i = 0; i < ids.size; i++) {
    for (let j = 0; j < dim; j++) out[((i % weight.shape[0]) * dim + j)] += grad.data[i * dim + j];
  }
  return [new Tensor(out, weight.shape)];
}

// %% [markdown]
// With both in place, `Embedding` is a layer like module 03's: one parameter, PyTorch's name
// and shape, and a `forward` that takes a tensor of ids (or a plain array of them).

// %% nbgrader={"grade": false, "grade_id": "embedding-layer", "locked": true, "schema_version": 3, "solution": false, "task": false}
//| export
/** Options of an Embedding. */
interface EmbeddingOptions {
  /** Seed of the N(0, 1) initialisation (default: the shared generator). */
  seed?: number;
}

/** A learned vector per token: `weight` [numEmbeddings, dim] ~ N(0, 1), as torch.nn.Embedding. */
class Embedding extends Layer {
  readonly numEmbeddings: number;
  readonly dim: number;
  weight: Tensor;

  constructor(numEmbeddings: number, dim: number, options: EmbeddingOptions = {}) {
    super();
    for (const [name, value] of [["numEmbeddings", numEmbeddings], ["dim", dim]] as const) {
      if (!Number.isInteger(value) || value < 1) throw new Error(`Embedding: ${name} must be a positive integer, got ${value}`);
    }
    this.numEmbeddings = numEmbeddings;
    this.dim = dim;
    const rng = options.seed === undefined ? Rng.shared : new Rng(options.seed);
    this.weight = Tensor.randn([numEmbeddings, dim], rng).setRequiresGrad();
  }

  forward(ids: Tensor | readonly number[]): Tensor {
    return embeddingLookup(this.weight, ids instanceof Tensor ? ids : new Tensor(Float32Array.from(ids)));
  }

  override parameters(): Tensor[] {
    return [this.weight];
  }
}

// %% [markdown]
// ## Part 3: Where a token is
//
// **Sinusoidal encodings** (Vaswani et al., 2017) give position `p` a fixed vector whose pairs
// of coordinates turn like clock hands at geometrically spaced speeds:
//
// ```
// PE[p, 2i]     = sin(p / 10000^(2i / dim))
// PE[p, 2i + 1] = cos(p / 10000^(2i / dim))
// ```
//
// The first pair turns once every 2π positions, the last pair hardly at all over the whole
// context. Two properties follow: every position gets a distinct vector, and moving by `k`
// positions is the same rotation of each pair wherever you start, so `PE[p] · PE[p + k]`
// depends on `k` only. Nothing is learned, and the formula works for any `p`, even beyond the
// longest training sequence.
//
// ### Exercise 3: `sinusoidalEncoding`
//
// **TODO**: Return the `[maxLen, dim]` tensor of the formula above (no gradient).
//
// **APPROACH**: for each position `p` and each column `c`, let `i = Math.floor(c / 2)` and
// `angle = p / 10000 ** (2 * i / dim)`; the value is `sin(angle)` for even `c`, `cos(angle)`
// for odd `c`. (With an odd `dim`, the last column is a sine without its cosine.)
//
// **HINTS**:
// - Row 0 is `[0, 1, 0, 1, ...]`: a quick check of which of sine and cosine goes where.

// %% nbgrader={"grade": false, "grade_id": "sinusoidal-encoding", "locked": false, "schema_version": 3, "solution": true, "task": false}
//| export
/** The transformer's fixed positional encodings: [maxLen, dim] of sines (even columns) and cosines (odd). */
function sinusoidalEncoding(maxLen: number, dim: number): Tensor {
  // ### BEGIN SOLUTION
  const out = new Float32Array(maxLen * dim);
  for (let p = 0; p < maxLen; p++) {
    for (let c = 0; c < dim; c++) {
      const angle = p / 10000 ** ((2 * Math.floor(c / 2)) / dim);
      out[p * dim + c] = c % 2 === 0 ? Math.sin(angle) : Math.cos(angle);
    }
  }
  return new Tensor(out, [maxLen, dim]);
  // ### END SOLUTION
}

// %% nbgrader={"grade": true, "grade_id": "test-unit-sinusoidal-encoding", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
function testUnitSinusoidalEncoding(): void {
  const pe = sinusoidalEncoding(3, 4);
  assertShape(pe.shape, [3, 4]);
  assertClose(pe.toArray(), [[0, 1, 0, 1], [Math.sin(1), Math.cos(1), Math.sin(0.01), Math.cos(0.01)], [Math.sin(2), Math.cos(2), Math.sin(0.02), Math.cos(0.02)]]);
  // ### BEGIN HIDDEN TESTS
  {
    // Seeded: random sizes (odd dims included), against the formula in float64; and the
    // property that PE[p] · PE[p + k] depends on k only.
    const r = testRandom("embeddings/sinusoidal");
    for (let trial = 0; trial < 3; trial++) {
      const [maxLen, dim] = [r.int(1, 40), r.int(1, 24)];
      /** Oracle: the formula, in float64. */
      const pe64 = (): number[] => Array.from({ length: maxLen * dim }, (_, f) => {
        const [p, c] = [Math.floor(f / dim), f % dim];
        const angle = p * Math.exp((-Math.log(10000) * 2 * Math.floor(c / 2)) / dim);
        return c % 2 === 0 ? Math.sin(angle) : Math.cos(angle);
      });
      assertClose(Array.from(sinusoidalEncoding(maxLen, dim).data), pe64(), { rtol: 1e-5, atol: 1e-6 }, `sinusoidalEncoding(${maxLen}, ${dim})`);
    }
    const dim = 2 * r.int(2, 16);
    const big = sinusoidalEncoding(64, dim);
    const k = r.int(1, 20);
    const dots = [0, r.int(1, 20), r.int(21, 40)].map((p) => Array.from({ length: dim }, (_, c) => big.data[p * dim + c] * big.data[(p + k) * dim + c]).reduce((s, v) => s + v, 0));
    assertClose(dots[1], dots[0], { atol: 1e-4 }, `PE[p] · PE[p + ${k}] is the same at every p`);
    assertClose(dots[2], dots[0], { atol: 1e-4 });
  }
  // ### END HIDDEN TESTS
  passed("testUnitSinusoidalEncoding");
}
testUnitSinusoidalEncoding();

// %%
//| mutation sinusoidal-encoding sine and cosine swapped
function sinusoidalEncoding(maxLen: number, dim: number): Tensor {
  const out = new Float32Array(maxLen * dim);
  for (let p = 0; p < maxLen; p++) {
    for (let c = 0; c < dim; c++) {
      const angle = p / 10000 ** ((2 * Math.floor(c / 2)) / dim);
      out[p * dim + c] = c % 2 === 0 ? Math.cos(angle) : Math.sin(angle);
    }
  }
  return new Tensor(out, [maxLen, dim]);
}

// %%
//| mutation sinusoidal-encoding frequency exponent c / dim instead of 2i / dim
function sinusoidalEncoding(maxLen: number, dim: number): Tensor {
  const out = new Float32Array(maxLen * dim);
  for (let p = 0; p < maxLen; p++) {
    for (let c = 0; c < dim; c++) {
      const angle = p / 10000 ** (c / dim);
      out[p * dim + c] = c % 2 === 0 ? Math.sin(angle) : Math.cos(angle);
    }
  }
  return new Tensor(out, [maxLen, dim]);
}

// %% [markdown]
// **Learned positions** (GPT-1 to GPT-3) are simpler still: a second embedding table with one
// row per position, `[maxLen, dim]`, learned like the token table. The model may find better
// vectors than sine waves, but only for the positions it trained on: there is no row for
// position `maxLen`, so a learned table sets a hard limit on the context.
//
// During generation with a cache (module 17), the model sees only the newest tokens, which sit
// at positions `offset, offset + 1, ...`: the table must be read from any starting position.
//
// ### Exercise 4: `PositionalEmbedding.forward`
//
// **TODO**: Return rows `offset … offset + seqLen − 1` of the table, shape `[seqLen, dim]`,
// through `embeddingLookup` (so that they get gradients).
//
// **APPROACH**: check `offset + seqLen <= maxLen` (otherwise throw an `Error` that says the
// context is `maxLen` positions); build the ids `offset, …, offset + seqLen − 1` as a tensor
// and look them up.
//
// **HINTS**:
// - The model adds these `[T, dim]` rows to token vectors of shape `[B, T, dim]`: which
//   operation of module 01 lines them up for every sequence of the batch, and which rule of
//   module 06 sums their gradient over the batch?

// %% nbgrader={"grade": false, "grade_id": "positional-embedding", "locked": false, "schema_version": 3, "solution": true, "task": false}
//| export
/** GPT's learned positions: `weight` [maxLen, dim] ~ N(0, 1); forward(T, offset) gives rows offset..offset+T-1. */
class PositionalEmbedding {
  readonly maxLen: number;
  readonly dim: number;
  weight: Tensor;

  constructor(maxLen: number, dim: number, options: EmbeddingOptions = {}) {
    this.maxLen = maxLen;
    this.dim = dim;
    this.weight = Tensor.randn([maxLen, dim], options.seed === undefined ? Rng.shared : new Rng(options.seed)).setRequiresGrad();
  }

  forward(seqLen: number, offset = 0): Tensor {
    // ### BEGIN SOLUTION
    if (!(Number.isInteger(seqLen) && Number.isInteger(offset) && seqLen >= 0 && offset >= 0 && offset + seqLen <= this.maxLen)) {
      throw new Error(`PositionalEmbedding: positions ${offset}..${offset + seqLen - 1} are beyond the context of ${this.maxLen} positions`);
    }
    const ids = Float32Array.from({ length: seqLen }, (_, t) => offset + t);
    return embeddingLookup(this.weight, new Tensor(ids, [seqLen]));
    // ### END SOLUTION
  }

  parameters(): Tensor[] {
    return [this.weight];
  }
}

// %% nbgrader={"grade": true, "grade_id": "test-unit-positional-embedding", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
function testUnitPositionalEmbedding(): void {
  const pos = new PositionalEmbedding(4, 2, { seed: 0 });
  assertEqual(pos.forward(2, 1).toArray(), [Array.from(pos.weight.data.subarray(2, 4)), Array.from(pos.weight.data.subarray(4, 6))]);
  assertThrows(() => pos.forward(3, 2), "4 positions");
  // ### BEGIN HIDDEN TESTS
  assertShape(pos.forward(0).shape, [0, 2]);
  {
    // Seeded: random tables, lengths and offsets; rows against the table read here, and the
    // gradient of rows added to a random batch [B, T, dim] (summed over the batch) against
    // float64 central differences.
    const r = testRandom("embeddings/positional");
    for (let trial = 0; trial < 3; trial++) {
      const [maxLen, dim] = [r.int(2, 12), r.int(1, 5)];
      const table = new PositionalEmbedding(maxLen, dim, { seed: r.seed() });
      const seqLen = r.int(1, maxLen);
      const offset = r.int(0, maxLen - seqLen);
      const values = Array.from(table.weight.data);
      const rows = table.forward(seqLen, offset);
      assertEqual(Array.from(rows.data), values.slice(offset * dim, (offset + seqLen) * dim), `rows ${offset}..${offset + seqLen - 1} of a [${maxLen}, ${dim}] table`);
      const batch = r.int(1, 3);
      const tokens = new Tensor(Float32Array.from(r.numbers(batch * seqLen * dim)), [batch, seqLen, dim]);
      const w = r.numbers(batch * seqLen * dim, -1, 1);
      tokens.add(rows).backward(new Tensor(Float32Array.from(w), [batch, seqLen, dim]));
      /** Oracle: tokens + rows offset.. of the table, in float64 (broadcast over the batch). */
      const added64 = (x: Float64Array): number[] => Array.from({ length: batch * seqLen * dim }, (_, f) => tokens.data[f] + x[offset * dim + (f % (seqLen * dim))]);
      assertClose(Array.from(table.weight.grad?.data ?? []), centralDifferences(added64, values, w), { rtol: 1e-5, atol: 1e-5 }, "the gradient of the rows, summed over the batch");
      assertThrows(() => table.forward(seqLen, maxLen - seqLen + r.int(1, 3)), `${maxLen} positions`, "past the end of the table");
    }
  }
  // ### END HIDDEN TESTS
  passed("testUnitPositionalEmbedding");
}
testUnitPositionalEmbedding();

// %%
//| mutation positional-embedding ignores the offset
class PositionalEmbedding {
  readonly maxLen: number;
  readonly dim: number;
  weight: Tensor;
  constructor(maxLen: number, dim: number, options: EmbeddingOptions = {}) {
    this.maxLen = maxLen;
    this.dim = dim;
    this.weight = Tensor.randn([maxLen, dim], options.seed === undefined ? Rng.shared : new Rng(options.seed)).setRequiresGrad();
  }
  forward(seqLen: number, offset = 0): Tensor {
    if (offset + seqLen > this.maxLen) throw new Error(`beyond the context of ${this.maxLen} positions`);
    return embeddingLookup(this.weight, new Tensor(Float32Array.from({ length: seqLen }, (_, t) => t), [seqLen]));
  }
  parameters(): Tensor[] {
    return [this.weight];
  }
}

// %%
//| mutation positional-embedding copies the rows, so the table gets no gradient
class PositionalEmbedding {
  readonly maxLen: number;
  readonly dim: number;
  weight: Tensor;
  constructor(maxLen: number, dim: number, options: EmbeddingOptions = {}) {
    this.maxLen = maxLen;
    this.dim = dim;
    this.weight = Tensor.randn([maxLen, dim], options.seed === undefined ? Rng.shared : new Rng(options.seed)).setRequiresGrad();
  }
  forward(seqLen: number, offset = 0): Tensor {
    if (offset + seqLen > this.maxLen) throw new Error(`beyond the context of ${this.maxLen} positions`);
    return new Tensor(this.weight.data.slice(offset * this.dim, (offset + seqLen) * this.dim), [seqLen, this.dim]);
  }
  parameters(): Tensor[] {
    return [this.weight];
  }
}

// %%
await demo("sinusoidal encodings", async () => {
  const pe = sinusoidalEncoding(64, 32);
  const rows: { position: number; column: number; value: number }[] = [];
  for (let p = 0; p < 64; p++) for (let c = 0; c < 32; c++) rows.push({ position: p, column: c, value: pe.data[p * 32 + c] });
  await showChart({
    title: "Sinusoidal positional encodings (64 positions, dim 32)",
    data: { values: rows },
    mark: "rect",
    encoding: {
      x: { field: "column", type: "ordinal", axis: { labels: false } },
      y: { field: "position", type: "ordinal", axis: { values: [0, 16, 32, 48, 63] } },
      color: { field: "value", type: "quantitative", scale: { scheme: "redblue", domain: [-1, 1] } },
    },
    width: 320,
    height: 320,
  });
});

// %% [markdown]
// ## Reflection
//
// ### Predict, then measure
//
// 1. GPT-2 (small) has a vocabulary of 50,257 tokens and vectors of 768 numbers. How many
//    **parameters** are in its token embedding table?
// 2. For `dim = 128`, what is `PE[0] · PE[0]`, the squared length of the sinusoidal encoding
//    of position 0? (And of any other position?)

// %% nbgrader={"grade": false, "grade_id": "predict-gpt2-embedding", "locked": false, "schema_version": 3, "solution": true, "task": false}
/** Your prediction: parameters of GPT-2's token embedding table. */
function predictedGpt2EmbeddingParameters(): number {
  // ### BEGIN SOLUTION
  return 50_257 * 768;
  // ### END SOLUTION
}

// %%
//| mutation predict-gpt2-embedding counts bytes instead of parameters
function predictedGpt2EmbeddingParameters(): number {
  return 50_257 * 768 * 4;
}

// %% nbgrader={"grade": false, "grade_id": "predict-encoding-norm", "locked": false, "schema_version": 3, "solution": true, "task": false}
/** Your prediction: PE[0] · PE[0] for dim 128. */
function predictedEncodingSquaredNorm(): number {
  // ### BEGIN SOLUTION
  return 64; // each (sin, cos) pair contributes sin² + cos² = 1, and there are 64 pairs
  // ### END SOLUTION
}

// %%
//| mutation predict-encoding-norm one per column
function predictedEncodingSquaredNorm(): number {
  return 128;
}

// %%
await demo("measure the predictions", () => {
  // GPT-2's table, zero-filled (drawing 38 million normal numbers would take a while).
  const table = { weight: Tensor.zeros([50_257, 768]) };
  const pe = sinusoidalEncoding(100, 128);
  const norm = (p: number) => Array.from(pe.data.subarray(p * 128, (p + 1) * 128)).reduce((s, v) => s + v * v, 0);
  console.log(`GPT-2's table: ${table.weight.size.toLocaleString("en")} parameters (you predicted ${predictedGpt2EmbeddingParameters().toLocaleString("en")}), ${(table.weight.nbytes / 2 ** 20).toFixed(0)} MiB in float32`);
  console.log(`PE[0]·PE[0] = ${norm(0).toFixed(4)}, PE[37]·PE[37] = ${norm(37).toFixed(4)} (you predicted ${predictedEncodingSquaredNorm()})`);
});

// %% nbgrader={"grade": true, "grade_id": "test-unit-embedding-predictions", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
function testUnitEmbeddingPredictions(): void {
  // ### BEGIN HIDDEN TESTS
  check("GPT-2's embedding parameters", 1, () => assertPrediction(predictedGpt2EmbeddingParameters(), 38_597_376, { rtol: 0.02 }));
  check("the squared norm of a sinusoidal encoding", 1, () => assertPrediction(predictedEncodingSquaredNorm(), 64, { rtol: 0.02 }));
  // ### END HIDDEN TESTS
  passed("testUnitEmbeddingPredictions");
}
testUnitEmbeddingPredictions();

// %% [markdown] nbgrader={"grade": true, "grade_id": "explain-scatter-add", "locked": false, "points": 2, "schema_version": 3, "solution": true, "task": false}
// **Question 1.** A classmate's embedding backward assigns `dweight[ids[i]] = grad[i]` instead
// of adding. Their character-level model still trains, and the loss still falls. Explain what
// is wrong, which tokens suffer most, and why no error ever appears.
//
// ### BEGIN SOLUTION
// When a token occurs several times in a batch, only the gradient of its last occurrence is
// kept; the others are lost. The gradient of the loss is the sum over all occurrences, so the
// update is wrong (too small and biased to the last position). Frequent tokens suffer most:
// " ", "e", "t" occur hundreds of times per batch and get one occurrence's worth of learning.
// Nothing crashes because the shapes are right and the loss still falls (each step still moves
// in a roughly useful direction), so only a gradient check against finite differences, or a
// comparison with a correct implementation, reveals it.
// ### END SOLUTION
//
// ### BEGIN RUBRIC
// 2 points: repeated ids lose all but one gradient (the true gradient is a sum over
// occurrences), the most frequent tokens are hurt most, and it is silent because shapes and a
// falling loss look normal (a gradient check would catch it). 1 point: the lost gradients
// without the frequency or the silence.
// ### END RUBRIC

// %% [markdown] nbgrader={"grade": true, "grade_id": "explain-positions", "locked": false, "points": 2, "schema_version": 3, "solution": true, "task": false}
// **Question 2.** The milestone's GPT uses a learned table of 64 positions. What happens if you
// ask it for the logits of a 65-token sequence, and what would happen with sinusoidal
// encodings instead? Why might GPT still prefer the learned table?
//
// ### BEGIN SOLUTION
// With a learned table there is no row for position 64, so the model cannot be run on 65
// tokens: it must crop the input to the last 64 (generation does). Sinusoidal encodings are a
// formula, defined for every position, so the model can be run, though positions it never saw
// in training give it inputs unlike anything it learned from, and quality usually drops. GPT
// uses a learned table because it is simple, costs only maxLen × dim parameters, and the model
// can learn whatever position signal suits the task; the context is fixed anyway.
// ### END SOLUTION
//
// ### BEGIN RUBRIC
// 2 points: learned table has no row beyond maxLen (error or cropping); sinusoidal is defined
// at every position but extrapolates poorly; a reason for the learned table (flexibility,
// simplicity, fixed context). 1 point: two of the three.
// ### END RUBRIC

// %% [markdown]
// ## Module test

// %% nbgrader={"grade": true, "grade_id": "test-module-embeddings", "locked": true, "points": 3, "schema_version": 3, "solution": false, "task": false}
function testModule(): void {
  const tokens = new Embedding(10, 4, { seed: 1 });
  const positions = new PositionalEmbedding(8, 4, { seed: 2 });
  const ids = new Tensor([[1, 2, 1], [3, 1, 0]]);
  const x = tokens.forward(ids).add(positions.forward(3));
  assertShape(x.shape, [2, 3, 4]);
  assertEqual([tokens.weight.shape, tokens.parameters().length], [[10, 4], 1], "PyTorch's name and shape");
  // ### BEGIN HIDDEN TESTS
  {
    // Seeded end to end: token and position tables of random sizes and seeds, a random batch of
    // ids; x = tokens(ids) + positions(T, offset), loss = sum(w * x). Both tables' gradients
    // against float64 central differences.
    const r = testRandom("embeddings/module");
    const [vocab, dim, maxLen] = [r.int(2, 12), r.int(1, 6), r.int(3, 10)];
    const [batch, seqLen] = [r.int(1, 3), r.int(1, 3)];
    const offset = r.int(0, maxLen - seqLen);
    const tok = new Embedding(vocab, dim, { seed: r.seed() });
    const pos = new PositionalEmbedding(maxLen, dim, { seed: r.seed() });
    const idList = Array.from({ length: batch * seqLen }, () => r.int(0, vocab - 1));
    const w = r.numbers(batch * seqLen * dim, -1, 1);
    const tokValues = Array.from(tok.weight.data);
    const posValues = Array.from(pos.weight.data);
    tok.forward(new Tensor(Float32Array.from(idList), [batch, seqLen])).add(pos.forward(seqLen, offset)).backward(new Tensor(Float32Array.from(w), [batch, seqLen, dim]));
    /** Oracle: both lookups and the sum in float64, as a function of one table with the other fixed. */
    const sum64 = (tokT: ArrayLike<number>, posT: ArrayLike<number>): number[] => Array.from({ length: batch * seqLen * dim }, (_, f) => {
      const [i, j] = [Math.floor(f / dim), f % dim];
      return tokT[idList[i] * dim + j] + posT[(offset + (i % seqLen)) * dim + j];
    });
    assertClose(Array.from(tok.weight.grad?.data ?? []), centralDifferences((x) => sum64(x, posValues), tokValues, w), { rtol: 1e-5, atol: 1e-5 }, `Embedding(${vocab}, ${dim}): d weight`);
    assertClose(Array.from(pos.weight.grad?.data ?? []), centralDifferences((x) => sum64(tokValues, x), posValues, w), { rtol: 1e-5, atol: 1e-5 }, `PositionalEmbedding(${maxLen}, ${dim}) from ${offset}: d weight`);
  }
  // ### END HIDDEN TESTS
  passed("testModule (embeddings)");
}
testModule();

// %% [markdown]
// ## Summary
//
// - An embedding is row `id` of a table `[numEmbeddings, dim]`: the product of a one-hot vector
//   with the table, without the product.
// - Its gradient is a **scatter-add**: every position that read a row adds its gradient into
//   that row; assigning instead silently drops all but one occurrence.
// - Sinusoidal encodings are fixed waves, defined at every position, with `PE[p] · PE[p + k]`
//   depending on `k` only; learned positions are a second table, flexible but limited to
//   `maxLen`, readable from any offset (for the cache of module 17).
//
// Next, module 12 lets the vectors of a sequence look at each other: attention.
