// test-tier: kernel
// A memory-capped kernel must still run WebAssembly (module 18 assembles and runs it in the
// kernel). Under the address-space cap, V8's default WebAssembly memories (about 10 GiB of
// reserved guard regions each) cannot be allocated; the launch plan turns the trap handler off.
// The second test runs the planned wrappers and NODE_OPTIONS for real, on `node -e`, no tslab.
import { spawnSync } from "node:child_process";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { buildLaunch } from "../../core/src/kernel/launch";

const CREATE_MEMORY =
  "new WebAssembly.Instance(new WebAssembly.Module(Uint8Array.of(0,97,115,109,1,0,0,0,5,3,1,0,1)));" +
  "new WebAssembly.Memory({ initial: 1 }); console.log('wasm ok')";

function plan(memoryMb?: number) {
  return buildLaunch({ configPath: "/nonexistent.json", memoryMb });
}

test("a memory-capped launch disables the WebAssembly trap handler, an uncapped one does not", () => {
  const capped = plan(512).env.NODE_OPTIONS ?? "";
  assert.ok(capped.split(" ").includes("--disable-wasm-trap-handler"), capped);
  assert.ok(capped.split(" ").includes("--max-old-space-size=512"), capped);
  assert.not.ok((plan().env.NODE_OPTIONS ?? "").includes("--disable-wasm-trap-handler"));
});

test("under the planned address-space cap, a WebAssembly memory can be created", () => {
  const launch = plan(512);
  // The wrappers up to (not including) the kernel's node: prlimit ... -- [setpriv ... --]
  const nodeAt = launch.args.indexOf(process.execPath);
  assert.ok(launch.command === "prlimit" && nodeAt > 0, `${launch.command} ${launch.args}`);
  const wrappers = launch.args.slice(0, nodeAt);
  const run = (nodeOptions: string) =>
    spawnSync(launch.command, [...wrappers, process.execPath, "-e", CREATE_MEMORY], {
      env: { ...launch.env, NODE_OPTIONS: nodeOptions },
      encoding: "utf8",
      timeout: 60_000,
    });
  const withFlag = run(launch.env.NODE_OPTIONS ?? "");
  assert.is(withFlag.stdout.trim(), "wasm ok", withFlag.stderr);
  // Without the flag the same cap refuses the memory: the test above is not vacuous here.
  const without = run("--max-old-space-size=512");
  assert.is.not(without.status, 0, "the address-space cap alone should refuse WebAssembly memory");
});

test.run();
