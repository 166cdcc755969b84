// The Jupyter messaging wire format (protocol 5.3), client side. A message on a ZeroMQ socket
// is a list of frames: routing identities, the delimiter `<IDS|MSG>`, an HMAC-SHA256 signature
// (hex) over the next four frames, then the JSON header, parent header, metadata and content,
// then optional binary buffers. We sign everything we send and reject anything whose
// signature does not verify, so a process without the connection key cannot inject replies.
import { createHmac, randomUUID, timingSafeEqual } from "node:crypto";

export const DELIMITER = Buffer.from("<IDS|MSG>");
export const PROTOCOL_VERSION = "5.3";

export interface MessageHeader {
  msg_id: string;
  msg_type: string;
  session: string;
  username: string;
  date: string;
  version: string;
}

export interface JupyterMessage {
  header: MessageHeader;
  /** Empty object for messages that answer nothing. */
  parent_header: Partial<MessageHeader>;
  metadata: Record<string, unknown>;
  content: Record<string, unknown>;
  buffers: Buffer[];
}

export function sign(key: string, frames: ReadonlyArray<Buffer | string>): string {
  const hmac = createHmac("sha256", key);
  for (const f of frames) hmac.update(f);
  return hmac.digest("hex");
}

export function newMessage(
  msgType: string,
  content: Record<string, unknown>,
  session: string,
): JupyterMessage {
  return {
    header: {
      msg_id: randomUUID(),
      msg_type: msgType,
      session,
      username: "tito",
      date: new Date().toISOString(),
      version: PROTOCOL_VERSION,
    },
    parent_header: {},
    metadata: {},
    content,
    buffers: [],
  };
}

/** The frames to send on a DEALER socket (no routing identity: the kernel's ROUTER adds ours). */
export function encodeMessage(msg: JupyterMessage, key: string): Buffer[] {
  const body = [
    Buffer.from(JSON.stringify(msg.header)),
    Buffer.from(JSON.stringify(msg.parent_header)),
    Buffer.from(JSON.stringify(msg.metadata)),
    Buffer.from(JSON.stringify(msg.content)),
  ];
  return [DELIMITER, Buffer.from(sign(key, body)), ...body, ...msg.buffers];
}

export class WireError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "WireError";
  }
}

function parseJson(frame: Buffer, what: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(frame.toString("utf8"));
  } catch {
    throw new WireError(`${what} is not JSON`);
  }
  if (!value || typeof value !== "object" || Array.isArray(value)) {
    throw new WireError(`${what} is not a JSON object`);
  }
  return value as Record<string, unknown>;
}

/**
 * Parses and verifies received frames. Identities before the delimiter are skipped (IOPub
 * messages from tslab carry the requester's identity as a topic). Throws WireError when the
 * delimiter is missing, the signature is wrong, or a part is not a JSON object.
 */
export function decodeMessage(frames: Buffer[], key: string): JupyterMessage {
  const at = frames.findIndex((f) => f.equals(DELIMITER));
  if (at < 0) throw new WireError("message has no <IDS|MSG> delimiter");
  if (frames.length < at + 6) throw new WireError("message has fewer than 4 JSON parts");
  const signature = frames[at + 1];
  const body = frames.slice(at + 2, at + 6);
  if (key !== "") {
    const expected = Buffer.from(sign(key, body));
    if (signature.length !== expected.length || !timingSafeEqual(signature, expected)) {
      throw new WireError("message signature does not verify");
    }
  }
  const header = parseJson(body[0], "header");
  if (typeof header.msg_type !== "string" || typeof header.msg_id !== "string") {
    throw new WireError("header lacks msg_type or msg_id");
  }
  return {
    header: header as unknown as MessageHeader,
    parent_header: parseJson(body[1], "parent header") as Partial<MessageHeader>,
    metadata: parseJson(body[2], "metadata"),
    content: parseJson(body[3], "content"),
    buffers: frames.slice(at + 6),
  };
}
