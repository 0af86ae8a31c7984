import {
  decodeServerFrame,
  decodeV2Array,
  encodeClientPush,
  FrameError,
  type ServerBinaryMessage,
} from "@tandem/protocol";

/** A message as the client sends it. Heartbeats carry no `join_ref`. */
export interface OutgoingMessage {
  join_ref?: string | null;
  ref: string | null;
  topic: string;
  event: string;
  /** A JSON-encodable value, or an `ArrayBuffer` to send a binary frame. */
  payload: unknown;
}

/**
 * A message as the client receives it. Binary payloads are `ArrayBuffer`s; a binary
 * reply's payload is `{status, response}` with an `ArrayBuffer` response.
 */
export interface IncomingMessage {
  join_ref: string | null;
  ref: string | null;
  topic: string;
  event: string;
  payload: unknown;
}

/** Encodes a message into a frame and hands it to `callback`, possibly asynchronously. */
export type Encode = (
  msg: OutgoingMessage,
  callback: (frame: string | ArrayBuffer) => void,
) => void;

/** Decodes a raw frame into a message and hands it to `callback`, possibly asynchronously. */
export type Decode = (raw: unknown, callback: (msg: IncomingMessage) => void) => void;

/**
 * True for an `ArrayBuffer` of this realm, the one payload type sent as a binary frame.
 * Typed arrays and Blobs are JSON-encoded, as phoenix does.
 */
export function isArrayBuffer(value: unknown): value is ArrayBuffer {
  return typeof value === "object" && value !== null && value.constructor === ArrayBuffer;
}

/** Copies a view into an `ArrayBuffer` of its own, as phoenix hands out binary payloads. */
function toArrayBuffer(bytes: Uint8Array): ArrayBuffer {
  const copy = new Uint8Array(bytes.byteLength);
  copy.set(bytes);
  return copy.buffer;
}

function encodeBinary(msg: OutgoingMessage, payload: ArrayBuffer): ArrayBuffer {
  const frame = encodeClientPush({
    join_ref: msg.join_ref ?? null,
    ref: msg.ref,
    topic: msg.topic,
    event: msg.event,
    payload: new Uint8Array(payload),
  });
  return frame.byteLength === frame.buffer.byteLength
    ? (frame.buffer as ArrayBuffer)
    : toArrayBuffer(frame);
}

function fromBinary(msg: ServerBinaryMessage): IncomingMessage {
  const { payload } = msg;
  return {
    join_ref: msg.join_ref,
    ref: msg.ref,
    topic: msg.topic,
    event: msg.event,
    payload:
      payload instanceof Uint8Array
        ? toArrayBuffer(payload)
        : { status: payload.status, response: toArrayBuffer(payload.response) },
  };
}

/**
 * The default V2 serializer: text frames are `[join_ref, ref, topic, event, payload]`
 * JSON arrays, and `ArrayBuffer` payloads travel as binary frames. Both functions throw a
 * `FrameError` on input that is not a valid frame.
 */
export const serializer: { encode: Encode; decode: Decode } = {
  encode(msg, callback) {
    if (isArrayBuffer(msg.payload)) {
      callback(encodeBinary(msg, msg.payload));
      return;
    }
    callback(JSON.stringify([msg.join_ref ?? null, msg.ref, msg.topic, msg.event, msg.payload]));
  },

  decode(raw, callback) {
    if (isArrayBuffer(raw)) {
      const result = decodeServerFrame(new Uint8Array(raw));
      if (!result.ok) throw result.error;
      callback(fromBinary(result.value));
      return;
    }
    if (typeof raw !== "string") {
      throw new FrameError("unsupported", "expected a text frame or an ArrayBuffer");
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(raw);
    } catch (error) {
      throw new FrameError("invalid_json", `frame is not valid JSON: ${(error as Error).message}`);
    }
    const result = decodeV2Array(parsed);
    if (!result.ok) throw result.error;
    callback(result.value);
  },
};
