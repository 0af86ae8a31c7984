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
  encodeMessage(msg: Message): Frame;
  encodeReply(reply: Reply): Frame;
  encodeBroadcast(broadcast: Broadcast): Frame;
  decode(data: Frame): DecodeResult<Message>;
}
