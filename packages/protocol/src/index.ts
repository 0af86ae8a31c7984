/**
 * Phoenix's wire protocol for Tandem: messages, reserved events and close codes, the V2
 * (array) and V1 (object) JSON serializers, binary frames, and the presence payloads.
 * Decoding untrusted input never throws: it returns a {@link DecodeResult}.
 *
 * @packageDocumentation
 * @module @tandem/protocol
 */
export {
  BinaryKind,
  decodeClientFrame,
  decodeServerFrame,
  encodeClientPush,
  encodeServerBroadcast,
  encodeServerPush,
  encodeServerReply,
  type ServerBinaryMessage,
} from "./binary.js";
export {
  AUTH_TOKEN_PREFIX,
  ChannelEvent,
  CloseCode,
  DEFAULT_VSN,
  LONGPOLL_PATH,
  PHOENIX_TOPIC,
  PresenceEvent,
  SUBPROTOCOL,
  WEBSOCKET_PATH,
} from "./constants.js";
export { type DecodeResult, FrameError, type FrameErrorKind } from "./errors.js";
export { isJsonObject, type JsonObject, type JsonValue, jsonEqual } from "./json.js";
export type { Broadcast, Message, Payload, Reply, ReplyPayload } from "./message.js";
export type {
  PresenceDiff,
  PresenceEntry,
  PresenceMeta,
  PresenceRefs,
  PresenceState,
  PresenceSummary,
} from "./presence.js";
export type { Frame, Serializer } from "./serializer.js";
export { v1JsonSerializer } from "./v1-json-serializer.js";
export { decodeV2Array, v2JsonSerializer } from "./v2-json-serializer.js";
export { defaultSerializers, type SerializerRoute, serializerForVsn } from "./vsn.js";
