// A benchmark's TensorFlow.js side in a child process, so that each library has its own V8 heap,
// its own collector threads and its own CPU clock (process.cpuUsage counts every thread of a
// process). Each side is timed inside its own process while the other waits. (What this does not
// remove: every tinytorch-ts epoch still starts after the other side's turn, and after a pause
// of a few seconds V8's collector can enter a regime of a mark-compact every ~40 ms; bench:conv
// therefore also times epochs back to back. Reproduced in one process without tfjs by sleeping
// 6 s between epochs: 141-270 mark-compacts in 3 epochs against 9 without the sleep. Core's
// tuneHeapForTraining prevents it; both processes use it. See docs/convolutions.md.)
import { fork, type ChildProcess } from "node:child_process";
import { TRAINING_HEAP_FLAG } from "@tinytorch-ts/core";

export interface TfjsWorker {
  /** Sends one request and waits for its answer (requests are answered one at a time). */
  call<T>(request: object): Promise<T>;
  close(): Promise<void>;
}

/** Starts `file` (a .ts module that answers with `serveRequests`) in a child process, through tsx. */
export function startTfjsWorker(file: string): TfjsWorker {
  // "advanced" serialization carries typed arrays as they are.
  const child: ChildProcess = fork(file, [], {
    execArgv: ["--import", "tsx", TRAINING_HEAP_FLAG],
    serialization: "advanced",
    stdio: ["ignore", "inherit", "inherit", "ipc"],
  });
  let exited: Error | null = null;
  child.on("exit", (code, signal) => {
    exited = new Error(`the tfjs process exited (code ${code}, signal ${signal})`);
  });
  return {
    call<T>(request: object): Promise<T> {
      if (exited) return Promise.reject(exited);
      return new Promise<T>((resolve, reject) => {
        const onExit = (): void => {
          child.off("message", onMessage);
          reject(exited ?? new Error("the tfjs process exited"));
        };
        const onMessage = (answer: unknown): void => {
          child.off("exit", onExit);
          const { result, error } = answer as { result?: T; error?: string };
          if (error !== undefined) reject(new Error(`tfjs process: ${error}`));
          else resolve(result as T);
        };
        child.once("message", onMessage);
        child.once("exit", onExit);
        child.send(request);
      });
    },
    close: () =>
      new Promise<void>((resolve) => {
        if (exited || child.exitCode !== null) {
          resolve();
          return;
        }
        child.once("exit", () => resolve());
        child.kill();
      }),
  };
}

/** Runs `body` with `file` started as the tfjs side, and stops it afterwards, whatever happens. */
export async function withTfjsWorker(
  file: string,
  body: (tfjs: TfjsWorker) => Promise<void>,
): Promise<void> {
  const tfjs = startTfjsWorker(file);
  try {
    await body(tfjs);
  } finally {
    await tfjs.close();
  }
}

/** The child's side: answers each request with `handle`'s result, or the error's stack. */
export function serveRequests<R>(handle: (request: R) => Promise<unknown>): void {
  const send = process.send?.bind(process);
  if (send === undefined) throw new Error("serveRequests: not started by startTfjsWorker");
  process.on("message", (request: R) => {
    handle(request).then(
      (result) => send({ result }),
      (e: unknown) => send({ error: e instanceof Error ? (e.stack ?? e.message) : String(e) }),
    );
  });
}
