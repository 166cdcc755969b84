// The connection file a Jupyter kernel reads at start: where to bind its five sockets and the
// key that signs every message. Two transports:
// - "tcp" on 127.0.0.1 with five free ports found by binding port 0 (a port can still be taken
//   between our probe and the kernel's bind; the client reports that and retries);
// - "ipc" with Unix sockets in a directory, which need no ports at all and keep working when
//   the kernel runs in its own network namespace (`unshare --net` has no usable loopback).
import { randomBytes } from "node:crypto";
import { createServer } from "node:net";
import { join } from "node:path";

export type Transport = "tcp" | "ipc";
export type Channel = "shell" | "iopub" | "stdin" | "control" | "hb";
export const CHANNELS: readonly Channel[] = ["shell", "iopub", "stdin", "control", "hb"];

export interface ConnectionInfo {
  transport: Transport;
  /** For tcp an address; for ipc a socket path prefix (the kernel binds `ipc://<ip>:<port>`). */
  ip: string;
  shell_port: number;
  iopub_port: number;
  stdin_port: number;
  control_port: number;
  hb_port: number;
  key: string;
  signature_scheme: "hmac-sha256";
  kernel_name: string;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const addr = server.address();
      const port = typeof addr === "object" && addr ? addr.port : 0;
      server.close(() => (port > 0 ? resolve(port) : reject(new Error("no free port"))));
    });
  });
}

/**
 * Builds connection info. For ipc, `socketDir` must be a directory both we and the kernel can
 * use; Unix socket paths are limited to 107 bytes, which we check here rather than let ZeroMQ
 * fail obscurely.
 */
export async function makeConnectionInfo(
  transport: Transport,
  socketDir: string,
): Promise<ConnectionInfo> {
  const key = randomBytes(32).toString("hex");
  if (transport === "ipc") {
    // tslab binds `${transport}://${ip}:${port}`, so `ip` is a path prefix and the "ports"
    // only make the five socket names distinct.
    const ip = join(socketDir, "k");
    if (Buffer.byteLength(`${ip}:5`) > 107) {
      throw new Error(`socket directory path is too long for a Unix socket: ${socketDir}`);
    }
    return {
      transport,
      ip,
      shell_port: 1,
      iopub_port: 2,
      stdin_port: 3,
      control_port: 4,
      hb_port: 5,
      key,
      signature_scheme: "hmac-sha256",
      kernel_name: "tslab",
    };
  }
  // Probe the five ports concurrently so that they are distinct.
  const servers = await Promise.all(CHANNELS.map(() => freePort()));
  const distinct = new Set(servers);
  if (distinct.size !== servers.length) return makeConnectionInfo(transport, socketDir);
  const [shell, iopub, stdin, control, hb] = servers;
  return {
    transport,
    ip: "127.0.0.1",
    shell_port: shell,
    iopub_port: iopub,
    stdin_port: stdin,
    control_port: control,
    hb_port: hb,
    key,
    signature_scheme: "hmac-sha256",
    kernel_name: "tslab",
  };
}

export function endpoint(info: ConnectionInfo, channel: Channel): string {
  const port = info[`${channel}_port`];
  return `${info.transport}://${info.ip}:${port}`;
}
