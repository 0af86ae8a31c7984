import {
  decodeClientFrame,
  encodeServerBroadcast,
  encodeServerPush,
  encodeServerReply,
} from "./binary.js";
import { type DecodeResult, decoded, failed } from "./errors.js";
import { parseJson, readName, readRef } from "./fields.js";
import type { JsonValue } from "./json.js";
import type { Broadcast, Message, Reply } from "./message.js";
import type { Frame, Serializer } from "./serializer.js";

/**
 * The default wire format (`vsn=2.0.0`): text frames are `[join_ref, ref, topic, event,
 * payload]` arrays, binary payloads use the binary frame layouts.
 */
export const v2JsonSerializer: Serializer = {
  vsn: "2.0.0",

  encodeMessage(msg: Message): Frame {
    if (msg.payload instanceof Uint8Array) {
      return encodeServerPush({ ...msg, payload: msg.payload });
    }
    return JSON.stringify([msg.join_ref, msg.ref, msg.topic, msg.event, msg.payload]);
  },

  encodeReply(reply: Reply): Frame {
    if (reply.response instanceof Uint8Array) {
      return encodeServerReply({ ...reply, response: reply.response });
    }
    return JSON.stringify([
      reply.join_ref,
      reply.ref,
      reply.topic,
      "phx_reply",
      { status: reply.status, response: reply.response },
    ]);
  },

  encodeBroadcast(b: Broadcast): Frame {
    if (b.payload instanceof Uint8Array) {
      return encodeServerBroadcast({ ...b, payload: b.payload });
    }
    return JSON.stringify([null, null, b.topic, b.event, b.payload]);
  },

  decode(data: Frame): DecodeResult<Message> {
    if (data instanceof Uint8Array) return decodeClientFrame(data);
    const parsed = parseJson(data);
    if (!parsed.ok) return parsed;
    return decodeV2Array(parsed.value);
  },
};

/** Validates a parsed V2 frame. Extra elements past the fifth are ignored, as Phoenix does. */
export function decodeV2Array(value: unknown): DecodeResult<Message> {
  if (!Array.isArray(value) || value.length < 5) {
    return failed("invalid_shape", "frame must be an array [join_ref, ref, topic, event, payload]");
  }
  const joinRef = readRef(value[0], "join_ref");
  if (!joinRef.ok) return joinRef;
  const ref = readRef(value[1], "ref");
  if (!ref.ok) return ref;
  const topic = readName(value[2], "topic");
  if (!topic.ok) return topic;
  const event = readName(value[3], "event");
  if (!event.ok) return event;
  return decoded({
    join_ref: joinRef.value,
    ref: ref.value,
    topic: topic.value,
    event: event.value,
    payload: value[4] as JsonValue,
  });
}
