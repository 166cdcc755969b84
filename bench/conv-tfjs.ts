// bench:conv's yardstick: milestone 04's CNN written with TensorFlow.js ops (tfjs-core 3.21)
// and trained with tf.train.adam on @tensorflow/tfjs-backend-wasm (XNNPACK, WebAssembly SIMD,
// one thread), from the same initial weights as tinytorch-ts's model.
//
// tfjs-backend-wasm 3.21 registers no Conv2DBackpropFilter and no MaxPoolGrad kernel, so
// `tf.grad` through `tf.conv2d` or `tf.maxPool` throws on it. The CNN therefore uses only
// kernels it has: a convolution whose gradient (tf.customGrad) computes the input's gradient
// with Conv2DBackpropInput (`tf.conv2dTranspose`) and the filter's as a convolution of
// transposed tensors, and max pooling as a reshape and a `max` over the two window axes (whose
// gradient uses Equal, Cast and Multiply). tfjs works in NHWC; the classifier's weight rows are
// permuted so that both networks compute the same function.
import type { Rank, Tensor as TfTensor, Tensor2D, Tensor4D, Variable } from "@tensorflow/tfjs-core";
import type { Sequential } from "tinytorch-ts/core/layers";
import { Conv2d } from "tinytorch-ts/core/conv";
import { Tensor } from "tinytorch-ts/core/tensor";
import type { Tf } from "./tfjs";

/** The milestone's two convolutions on a batch of 64, as bench:conv times them. */
export const CONV_LAYERS = [
  { name: "conv1 1→8 5×5 on [64, 1, 28, 28]", shape: [64, 1, 28, 28], out: 8, k: 5 },
  { name: "conv2 8→16 5×5 on [64, 8, 12, 12]", shape: [64, 8, 12, 12], out: 16, k: 5 },
];

/** The tensors both sides of bench:conv time layer `index` on: the layer, its input and an output gradient (fixed seeds). */
export function layerTensors(index: number) {
  const layer = CONV_LAYERS[index];
  const [n, c, h, w] = layer.shape;
  const conv = new Conv2d(c, layer.out, layer.k, { seed: 1 });
  const x = Tensor.randn(layer.shape, 2);
  const dy = Tensor.randn([n, layer.out, h - layer.k + 1, w - layer.k + 1], 3);
  return { layer, conv, x, dy };
}

/** dL/dfilter [k, k, C, O] of a stride-1 "valid" convolution: Σ over images and positions of x · dy. */
export function filterGradient(tf: Tf, x: Tensor4D, dy: Tensor4D): Tensor4D {
  // Images become channels and channels images: conv(x [C, H, W, N], dy [Ho, Wo, N, O]) is
  // [C, k, k, O], the filter's gradient with its axes in another order.
  const images = tf.transpose(x, [3, 1, 2, 0]);
  const filters = tf.transpose(dy, [1, 2, 0, 3]);
  return tf.transpose(tf.conv2d(images, filters, 1, "valid"), [1, 2, 0, 3]);
}

/** The input's and the filter's gradients of a stride-1 "valid" convolution, with wasm kernels only. */
export function convBackward(tf: Tf, x: Tensor4D, w: Tensor4D, dy: Tensor4D): [Tensor4D, Tensor4D] {
  const [n, h, width, c] = x.shape;
  return [tf.conv2dTranspose(dy, w, [n, h, width, c], 1, "valid"), filterGradient(tf, x, dy)];
}

/** A stride-1 "valid" convolution with the gradient above; the input's only when asked (as tfjs's own rule). */
export function convolution(
  tf: Tf,
  inputNeedsGrad: boolean,
): (x: Tensor4D, w: Tensor4D) => Tensor4D {
  return tf.customGrad((...args: unknown[]) => {
    const [x, w, save] = args as [Tensor4D, Tensor4D, (tensors: TfTensor[]) => void];
    save([x, w]);
    return {
      value: tf.conv2d(x, w, 1, "valid"),
      gradFunc: (dy: Tensor4D, saved: TfTensor[]) => {
        const [sx, sw] = saved as Tensor4D[];
        return [
          inputNeedsGrad ? tf.conv2dTranspose(dy, sw, sx.shape, 1, "valid") : tf.zerosLike(sx),
          filterGradient(tf, sx, dy),
        ];
      },
    };
  }) as (x: Tensor4D, w: Tensor4D) => Tensor4D;
}

/** 2×2 max pooling, stride 2, as a reshape and a max (tfjs-wasm has no MaxPoolGrad). */
export function maxPool2(tf: Tf, x: Tensor4D): Tensor4D {
  const [n, h, w, c] = x.shape;
  return tf.max(tf.reshape(x, [n, h / 2, 2, w / 2, 2, c]), [2, 4]) as Tensor4D;
}

/** The CNN of milestone 04 in tfjs ops, with tinytorch-ts's initial weights. */
export function tfjsCnn(tf: Tf, model: Sequential) {
  const conv1 = model.layers[0] as Conv2d;
  const conv2 = model.layers[3] as Conv2d;
  const linear = model.layers[7].parameters();
  const hwio = (c: Conv2d): Variable<Rank> =>
    tf.variable(tf.transpose(tf.tensor(c.weight.data, [...c.weight.shape]), [2, 3, 1, 0]));
  const bias = (t: { data: Float32Array }): Variable<Rank> => tf.variable(tf.tensor1d(t.data));
  // Row (c·4 + h)·4 + w of tinytorch-ts's classifier (NCHW flattening) is row (h·4 + w)·16 + c here.
  const rows = new Float32Array(256 * 10);
  for (let c = 0; c < 16; c++)
    for (let p = 0; p < 16; p++)
      rows.set(
        linear[0].data.subarray((c * 16 + p) * 10, (c * 16 + p + 1) * 10),
        (p * 16 + c) * 10,
      );
  const variables = [
    hwio(conv1),
    bias(conv1.bias ?? { data: new Float32Array(8) }),
    hwio(conv2),
    bias(conv2.bias ?? { data: new Float32Array(16) }),
    tf.variable(tf.tensor2d(rows, [256, 10])),
    bias(linear[1]),
  ];
  const [w1, b1, w2, b2, w3, b3] = variables;
  const first = convolution(tf, false);
  const second = convolution(tf, true);
  const forward = (x: Tensor4D): Tensor2D => {
    let h = tf.relu(maxPool2(tf, tf.add(first(x, w1 as Tensor4D), b1) as Tensor4D));
    h = tf.relu(maxPool2(tf, tf.add(second(h, w2 as Tensor4D), b2) as Tensor4D));
    return tf.add(tf.matMul(tf.reshape(h, [x.shape[0], 256]), w3 as Tensor2D), b3) as Tensor2D;
  };
  return { variables, forward };
}
