import { type DecodeResult, decoded, FrameError, failed } from "./errors.js";
import { parseJson, readName, readRef } from "./fields.js";
import { isJsonObject, type JsonValue } from "./json.js";
import type { Broadcast, Message, Reply } from "./message.js";
import type { Frame, Serializer } from "./serializer.js";

function binaryUnsupported(): never {
  throw new FrameError("unsupported", "the V1 serializer cannot carry binary payloads");
}

/**
 * The legacy wire format (`vsn` 1.x or none): frames are objects. Outgoing frames never
 * carry a join_ref, so V1 clients cannot drop stale messages. Text only.
 */
export const v1JsonSerializer: Serializer = {
  vsn: "1.0.0",

  encodeMessage(msg: Message): Frame {
    if (msg.payload instanceof Uint8Array) binaryUnsupported();
    return JSON.stringify({
      topic: msg.topic,
      event: msg.event,
      payload: msg.payload,
      ref: msg.ref,
    });
  },

  encodeReply(reply: Reply): Frame {
    if (reply.response instanceof Uint8Array) binaryUnsupported();
    return JSON.stringify({
      topic: reply.topic,
      event: "phx_reply",
      payload: { status: reply.status, response: reply.response },
      ref: reply.ref,
    });
  },

  encodeBroadcast(b: Broadcast): Frame {
    if (b.payload instanceof Uint8Array) binaryUnsupported();
    return JSON.stringify({ topic: b.topic, event: b.event, payload: b.payload, ref: null });
  },

  decode(data: Frame): DecodeResult<Message> {
    if (data instanceof Uint8Array) {
      return failed("unsupported", "the V1 protocol has no binary frames");
    }
    const parsed = parseJson(data);
    if (!parsed.ok) return parsed;
    const obj = parsed.value;
    if (!isJsonObject(obj)) return failed("invalid_shape", "V1 frame must be a JSON object");
    for (const key of ["topic", "event", "payload", "ref"]) {
      if (!(key in obj)) return failed("invalid_shape", `V1 frame is missing "${key}"`);
    }
    const ref = readRef(obj.ref, "ref");
    if (!ref.ok) return ref;
    const joinRef = readRef(obj.join_ref, "join_ref");
    if (!joinRef.ok) return joinRef;
    const topic = readName(obj.topic, "topic");
    if (!topic.ok) return topic;
    const event = readName(obj.event, "event");
    if (!event.ok) return event;
    return decoded({
      join_ref: joinRef.value,
      ref: ref.value,
      topic: topic.value,
      event: event.value,
      payload: obj.payload as JsonValue,
    });
  },
};
