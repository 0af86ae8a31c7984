/**
 * Binary frames (V2 over WebSocket): a kind byte, one length byte per string field,
 * the UTF-8 fields, then the raw payload. Layouts per direction:
 *
 *   client push  [0, jr, ref, topic, event]   join_ref ref topic event payload
 *   server push  [0, jr, topic, event]        join_ref topic event payload (no ref)
 *   reply        [1, jr, ref, topic, status]  join_ref ref topic status payload
 *   broadcast    [2, topic, event]            topic event payload
 */
import { type DecodeResult, decoded, FrameError, failed } from "./errors.js";
import type { Broadcast, Message, Reply } from "./message.js";

/** The first byte of a binary frame: which of the three messages it carries. */
export const BinaryKind = { push: 0, reply: 1, broadcast: 2 } as const;

const MAX_FIELD_BYTES = 255;
const utf8 = new TextEncoder();
const strictUtf8 = new TextDecoder("utf-8", { fatal: true });

function fieldBytes(name: string, value: string | null): Uint8Array {
  const bytes = utf8.encode(value ?? "");
  if (bytes.length > MAX_FIELD_BYTES) {
    throw new FrameError(
      "field_too_long",
      `unable to convert ${name} to binary: ${bytes.length} bytes exceeds the limit of ${MAX_FIELD_BYTES}`,
    );
  }
  return bytes;
}

function frame(kind: number, fields: Uint8Array[], payload: Uint8Array): Uint8Array {
  const headerLength = 1 + fields.length;
  let total = headerLength + payload.length;
  for (const f of fields) total += f.length;
  const out = new Uint8Array(total);
  out[0] = kind;
  let offset = headerLength;
  fields.forEach((f, i) => {
    out[1 + i] = f.length;
    out.set(f, offset);
    offset += f.length;
  });
  out.set(payload, offset);
  return out;
}

/** Client to server push. Throws {@link FrameError} if a field exceeds 255 bytes. */
export function encodeClientPush(msg: Message<Uint8Array>): Uint8Array {
  return frame(
    BinaryKind.push,
    [
      fieldBytes("join_ref", msg.join_ref),
      fieldBytes("ref", msg.ref),
      fieldBytes("topic", msg.topic),
      fieldBytes("event", msg.event),
    ],
    msg.payload,
  );
}

/** Server to client push: the layout has no ref field. */
export function encodeServerPush(msg: Message<Uint8Array>): Uint8Array {
  return frame(
    BinaryKind.push,
    [
      fieldBytes("join_ref", msg.join_ref),
      fieldBytes("topic", msg.topic),
      fieldBytes("event", msg.event),
    ],
    msg.payload,
  );
}

/** Server to client reply whose response is bytes. */
export function encodeServerReply(reply: Reply & { response: Uint8Array }): Uint8Array {
  return frame(
    BinaryKind.reply,
    [
      fieldBytes("join_ref", reply.join_ref),
      fieldBytes("ref", reply.ref),
      fieldBytes("topic", reply.topic),
      fieldBytes("status", reply.status),
    ],
    reply.response,
  );
}

/** Server to client broadcast whose payload is bytes. */
export function encodeServerBroadcast(b: Broadcast & { payload: Uint8Array }): Uint8Array {
  return frame(
    BinaryKind.broadcast,
    [fieldBytes("topic", b.topic), fieldBytes("event", b.event)],
    b.payload,
  );
}

/** Reads the length-prefixed fields of a frame; fails instead of reading past its end. */
function readFields(
  bytes: Uint8Array,
  count: number,
): DecodeResult<{ fields: string[]; payload: Uint8Array }> {
  const headerLength = 1 + count;
  if (bytes.length < headerLength) {
    return failed("truncated", `binary frame of ${bytes.length} bytes has no complete header`);
  }
  const fields: string[] = [];
  let offset = headerLength;
  for (let i = 0; i < count; i++) {
    const length = bytes[1 + i]!;
    if (offset + length > bytes.length) {
      return failed("truncated", `binary frame ends inside field ${i}`);
    }
    try {
      fields.push(strictUtf8.decode(bytes.subarray(offset, offset + length)));
    } catch {
      return failed("invalid_utf8", `binary frame field ${i} is not valid UTF-8`);
    }
    offset += length;
  }
  return decoded({ fields, payload: bytes.subarray(offset) });
}

const orNull = (s: string | undefined): string | null => (s ? s : null);

/** Decodes what a client sends: only pushes are valid in this direction. */
export function decodeClientFrame(bytes: Uint8Array): DecodeResult<Message<Uint8Array>> {
  if (bytes.length === 0) return failed("truncated", "empty binary frame");
  if (bytes[0] !== BinaryKind.push) {
    return failed("unknown_kind", `binary frame kind ${bytes[0]} is not a client push`);
  }
  const read = readFields(bytes, 4);
  if (!read.ok) return read;
  const [joinRef, ref, topic, event] = read.value.fields;
  if (!topic) return failed("invalid_field", "binary frame has an empty topic");
  if (!event) return failed("invalid_field", "binary frame has an empty event");
  return decoded({
    join_ref: orNull(joinRef),
    ref: orNull(ref),
    topic,
    event,
    payload: read.value.payload,
  });
}

/** A server frame as the client sees it: replies become `phx_reply` with a byte response. */
export type ServerBinaryMessage = Message<Uint8Array | { status: string; response: Uint8Array }>;

/** Decodes what a server sends: push, reply or broadcast. */
export function decodeServerFrame(bytes: Uint8Array): DecodeResult<ServerBinaryMessage> {
  if (bytes.length === 0) return failed("truncated", "empty binary frame");
  switch (bytes[0]) {
    case BinaryKind.push: {
      const read = readFields(bytes, 3);
      if (!read.ok) return read;
      const [joinRef, topic, event] = read.value.fields as [string, string, string];
      return decoded({
        join_ref: orNull(joinRef),
        ref: null,
        topic,
        event,
        payload: read.value.payload,
      });
    }
    case BinaryKind.reply: {
      const read = readFields(bytes, 4);
      if (!read.ok) return read;
      const [joinRef, ref, topic, status] = read.value.fields as [string, string, string, string];
      return decoded({
        join_ref: orNull(joinRef),
        ref: orNull(ref),
        topic,
        event: "phx_reply",
        payload: { status, response: read.value.payload },
      });
    }
    case BinaryKind.broadcast: {
      const read = readFields(bytes, 2);
      if (!read.ok) return read;
      const [topic, event] = read.value.fields as [string, string];
      return decoded({ join_ref: null, ref: null, topic, event, payload: read.value.payload });
    }
    default:
      return failed("unknown_kind", `unknown binary frame kind ${bytes[0]}`);
  }
}
