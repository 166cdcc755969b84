// The benchmarks' yardstick: tfjs-core on its plain JavaScript CPU backend, and optionally its
// WASM backend (XNNPACK, one thread). The "install tfjs-node" banner is printed on first use, so
// output is muted until a first tensor has been made on every backend.
export type Tf = typeof import("@tensorflow/tfjs-core");

export interface TfOptions {
  /** Also register the WASM backend, single-threaded (the backend stays "cpu" on return). */
  wasm?: boolean;
  /** Register the ops' gradients (needed by tf.train optimizers; the full @tensorflow/tfjs does it). */
  gradients?: boolean;
}

export async function loadTf(options: TfOptions = {}): Promise<Tf> {
  const log = console.log;
  const warn = console.warn;
  console.log = () => undefined;
  console.warn = () => undefined;
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const tf = require("@tensorflow/tfjs-core") as Tf;
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    if (options.gradients) require("@tensorflow/tfjs-core/dist/register_all_gradients");
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    require("@tensorflow/tfjs-backend-cpu");
    const backends = ["cpu"];
    if (options.wasm) {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      require("@tensorflow/tfjs-backend-wasm");
      tf.env().set("WASM_HAS_MULTITHREAD_SUPPORT", false);
      backends.unshift("wasm");
    }
    for (const backend of backends) {
      if (!(await tf.setBackend(backend))) throw new Error(`tfjs backend ${backend} did not start`);
      await tf.ready();
      tf.tensor([1]).dispose();
    }
    return tf;
  } finally {
    console.log = log;
    console.warn = warn;
  }
}
