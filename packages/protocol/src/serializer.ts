import type { DecodeResult } from "./errors.js";
import type { Broadcast, Message, Reply } from "./message.js";

/** What the server writes to a socket: text for JSON frames, bytes for binary frames. */
export type Frame = string | Uint8Array;

/**
 * A server-side wire format. Encoders take well-formed messages from the server itself;
 * `decode` takes untrusted client input and never throws.
 */
export interface Serializer {
  /** The protocol version range this serializer speaks, for logs. */
  readonly vsn: string;
  /** Encodes a push or an event for one channel. */
  encodeMessage(msg: Message): Frame;
  /** Encodes the reply to a client's push, `phx_reply` on the wire. */
  encodeReply(reply: Reply): Frame;
  /** Encodes a broadcast, which carries no refs so one frame serves every subscriber. */
  encodeBroadcast(broadcast: Broadcast): Frame;
  /** Decodes a client frame, or says precisely why it is malformed. */
  decode(data: Frame): DecodeResult<Message>;
}
