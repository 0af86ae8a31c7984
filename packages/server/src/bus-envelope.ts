/**
 * The bytes a bus message travels as between nodes, the same on every engine (Redis,
 * Redis Cluster, NATS). Layout (big-endian lengths):
 *
 *   offset 0  version   u8   {@link ENVELOPE_VERSION}
 *          1  flags     u8   bit 0 set: the payload is raw bytes; clear: UTF-8 JSON
 *          2  origin    u16  byte length of the sending node's name
 *          4  topic     u16  byte length of the topic
 *          6  event     u16  byte length of the event
 *          8  origin, topic, event (UTF-8), then the payload to the end
 *
 * Binary payloads go as they are, with no base64 or JSON wrapping, so a binary
 * broadcast costs its own size plus a small header. Everything here is pure: no I/O.
 */
import { isJsonObject } from "@tandem/protocol";
import type { BusMessage } from "./pubsub-adapter.js";

/** The layout version; a receiver drops envelopes of any other version. */
export const ENVELOPE_VERSION = 1;

/** Longest origin, topic or event in UTF-8 bytes: what a u16 length can say. */
export const MAX_ENVELOPE_FIELD_BYTES = 0xffff;

const HEADER_BYTES = 8;
const FLAG_BINARY = 0b1;
const strictUtf8 = new TextDecoder("utf-8", { fatal: true });

/** A bus message together with the name of the node that sent it. */
export interface Envelope extends BusMessage {
  readonly origin: string;
}

/** Why bytes from the bus are not an envelope. */
export type EnvelopeErrorKind =
  | "truncated"
  | "unknown_version"
  | "unknown_flags"
  | "invalid_utf8"
  | "invalid_json"
  | "not_an_object";

/** Bytes from the bus that are not a valid envelope, or a message too big to wrap. */
export class EnvelopeError extends Error {
  override readonly name = "EnvelopeError";
  constructor(
    readonly kind: EnvelopeErrorKind | "field_too_long",
    message: string,
  ) {
    super(message);
  }
}

/** The outcome of decoding untrusted bytes: never an exception. */
export type EnvelopeResult = { ok: true; value: Envelope } | { ok: false; error: EnvelopeError };

/**
 * Wraps a message for the bus. The result is shared by every node that receives it,
 * so callers encode once per broadcast. Throws {@link EnvelopeError} (`field_too_long`)
 * when the origin, topic or event exceeds {@link MAX_ENVELOPE_FIELD_BYTES}.
 */
export function encodeEnvelope(envelope: Envelope): Buffer {
  const source = envelope.payload;
  const binary = source instanceof Uint8Array;
  const payload = binary ? source : Buffer.from(JSON.stringify(source), "utf8");
  const origin = fieldBytes("origin", envelope.origin);
  const topic = fieldBytes("topic", envelope.topic);
  const event = fieldBytes("event", envelope.event);

  const out = Buffer.allocUnsafe(
    HEADER_BYTES + origin.length + topic.length + event.length + payload.length,
  );
  out.writeUInt8(ENVELOPE_VERSION, 0);
  out.writeUInt8(binary ? FLAG_BINARY : 0, 1);
  out.writeUInt16BE(origin.length, 2);
  out.writeUInt16BE(topic.length, 4);
  out.writeUInt16BE(event.length, 6);
  let offset = HEADER_BYTES;
  for (const part of [origin, topic, event, payload]) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

/**
 * Reads an envelope from bytes that came off the bus. Anyone who can publish to the
 * channel can send anything, so every length is checked against the buffer, strings
 * must be valid UTF-8 and a JSON payload must be an object. Binary payloads are
 * copied so a message kept by a subscriber does not pin the socket's read buffer.
 */
export function decodeEnvelope(bytes: Uint8Array): EnvelopeResult {
  if (bytes.length < HEADER_BYTES) {
    return failed("truncated", `envelope of ${bytes.length} bytes has no complete header`);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const version = view.getUint8(0);
  if (version !== ENVELOPE_VERSION) {
    return failed("unknown_version", `envelope version ${version} is not ${ENVELOPE_VERSION}`);
  }
  const flags = view.getUint8(1);
  if ((flags & ~FLAG_BINARY) !== 0) {
    return failed("unknown_flags", `envelope flags ${flags} are not understood`);
  }
  const originEnd = HEADER_BYTES + view.getUint16(2);
  const topicEnd = originEnd + view.getUint16(4);
  const eventEnd = topicEnd + view.getUint16(6);
  if (eventEnd > bytes.length) {
    return failed("truncated", `envelope fields need ${eventEnd} bytes, got ${bytes.length}`);
  }
  let origin: string;
  let topic: string;
  let event: string;
  try {
    origin = strictUtf8.decode(bytes.subarray(HEADER_BYTES, originEnd));
    topic = strictUtf8.decode(bytes.subarray(originEnd, topicEnd));
    event = strictUtf8.decode(bytes.subarray(topicEnd, eventEnd));
  } catch {
    return failed("invalid_utf8", "envelope field is not valid UTF-8");
  }
  const body = bytes.subarray(eventEnd);
  if (flags & FLAG_BINARY) {
    return { ok: true, value: { origin, topic, event, payload: new Uint8Array(body) } };
  }
  let text: string;
  try {
    text = strictUtf8.decode(body);
  } catch {
    return failed("invalid_utf8", "envelope JSON payload is not valid UTF-8");
  }
  let payload: unknown;
  try {
    payload = JSON.parse(text);
  } catch {
    return failed("invalid_json", "envelope payload is not JSON");
  }
  if (!isJsonObject(payload)) {
    return failed("not_an_object", "envelope JSON payload is not an object");
  }
  return { ok: true, value: { origin, topic, event, payload } };
}

function fieldBytes(name: string, value: string): Buffer {
  const bytes = Buffer.from(value, "utf8");
  if (bytes.length > MAX_ENVELOPE_FIELD_BYTES) {
    throw new EnvelopeError(
      "field_too_long",
      `${name} is ${bytes.length} bytes, more than the ${MAX_ENVELOPE_FIELD_BYTES} an envelope carries`,
    );
  }
  return bytes;
}

function failed(kind: EnvelopeErrorKind, message: string): EnvelopeResult {
  return { ok: false, error: new EnvelopeError(kind, message) };
}
