// A benchmark's TensorFlow.js side in a worker thread: a V8 isolate of its own, so its own heap
// and its own garbage collector. Sharing one heap, the two libraries set each other's collector
// going: in bench:conv, tfjs's objects beside tinytorch-ts's short-lived buffers put V8 into a
// regime of a full mark-compact every ~65 ms (about 50 ms of background marking each), which
// cost one library's epochs or the other's up to 80% on some runs and nothing on others. Each
// side's time is measured inside its own thread while the other waits, so the process-wide CPU
// clock still charges each library only for its own work.
import { Worker, parentPort } from "node:worker_threads";

export interface TfjsWorker {
  /** Sends one request and waits for its answer (requests are answered one at a time). */
  call<T>(request: object): Promise<T>;
  close(): Promise<void>;
}

/** Starts `file` (a .ts module that answers with `serveRequests`) in a worker thread, through tsx. */
export function startTfjsWorker(file: string): TfjsWorker {
  const boot = `require("tsx/cjs/api").register(); require(require("node:worker_threads").workerData.file);`;
  const worker = new Worker(boot, { eval: true, workerData: { file }, execArgv: [] });
  return {
    call<T>(request: object): Promise<T> {
      return new Promise<T>((resolve, reject) => {
        const onError = (e: Error): void => {
          worker.off("message", onMessage);
          reject(e);
        };
        const onMessage = (answer: { result?: T; error?: string }): void => {
          worker.off("error", onError);
          if (answer.error !== undefined) reject(new Error(`tfjs worker: ${answer.error}`));
          else resolve(answer.result as T);
        };
        worker.once("message", onMessage);
        worker.once("error", onError);
        worker.postMessage(request);
      });
    },
    close: async () => {
      await worker.terminate();
    },
  };
}

/** The worker's side: answers each request with `handle`'s result, or the error's stack. */
export function serveRequests<R>(handle: (request: R) => Promise<unknown>): void {
  if (parentPort === null) throw new Error("serveRequests: not in a worker thread");
  const port = parentPort;
  port.on("message", (request: R) => {
    handle(request).then(
      (result) => port.postMessage({ result }),
      (e: unknown) =>
        port.postMessage({ error: e instanceof Error ? (e.stack ?? e.message) : String(e) }),
    );
  });
}
