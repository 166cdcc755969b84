// The Jupyter wire format: what we send verifies with the key, what we receive must verify.
import { createHmac } from "node:crypto";
import { test } from "uvu";
import * as assert from "uvu/assert";
import {
  DELIMITER,
  WireError,
  decodeMessage,
  encodeMessage,
  newMessage,
} from "../../core/src/kernel/wire";

const KEY = "0123456789abcdef";

test("encoded messages carry an HMAC-SHA256 of the four JSON parts", () => {
  const msg = newMessage("execute_request", { code: "1 + 1" }, "session-1");
  const frames = encodeMessage(msg, KEY);
  assert.ok(frames[0].equals(DELIMITER));
  const hmac = createHmac("sha256", KEY);
  for (const f of frames.slice(2, 6)) hmac.update(f);
  assert.is(frames[1].toString(), hmac.digest("hex"));
  assert.equal(JSON.parse(frames[5].toString()), { code: "1 + 1" });
  const header = JSON.parse(frames[2].toString());
  assert.is(header.msg_type, "execute_request");
  assert.is(header.session, "session-1");
  assert.is(header.version, "5.3");
});

test("decoding skips routing identities and returns the parts", () => {
  const msg = newMessage("stream", { name: "stdout", text: "hi\n" }, "s");
  msg.parent_header = { msg_id: "parent-1" };
  const frames = [Buffer.from("identity-a"), Buffer.from("identity-b"), ...encodeMessage(msg, KEY)];
  const back = decodeMessage(frames, KEY);
  assert.is(back.header.msg_type, "stream");
  assert.is(back.parent_header.msg_id, "parent-1");
  assert.equal(back.content, { name: "stdout", text: "hi\n" });
});

test("a message signed with another key, or tampered with, is rejected", () => {
  const msg = newMessage("execute_reply", { status: "ok" }, "s");
  assert.throws(
    () => decodeMessage(encodeMessage(msg, "other-key"), KEY),
    (e: unknown) => e instanceof WireError,
  );
  const frames = encodeMessage(msg, KEY);
  frames[5] = Buffer.from(JSON.stringify({ status: "error" }));
  assert.throws(() => decodeMessage(frames, KEY), /signature/);
});

test("malformed frames are rejected with a WireError", () => {
  assert.throws(() => decodeMessage([Buffer.from("no delimiter")], KEY), /delimiter/);
  const msg = newMessage("status", {}, "s");
  assert.throws(() => decodeMessage(encodeMessage(msg, KEY).slice(0, 4), KEY), /fewer/);
  const bad = [Buffer.from("{"), Buffer.from("{}"), Buffer.from("{}"), Buffer.from("{}")];
  const hmac = createHmac("sha256", KEY);
  for (const f of bad) hmac.update(f);
  assert.throws(
    () => decodeMessage([DELIMITER, Buffer.from(hmac.digest("hex")), ...bad], KEY),
    /not JSON/,
  );
});

test.run();
