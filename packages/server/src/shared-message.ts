import type { JsonObject, Serializer } from "@tandem/protocol";
import { forMany, type OutboundFrame } from "./text-bytes.js";

/**
 * One message for many clients of a topic, such as a presence list for everyone who
 * just joined: encoded once per wire format instead of once per client. It travels as a
 * broadcast frame (no join_ref), which every incarnation of the channel accepts.
 */
export class SharedMessage {
  readonly #frames = new Map<Serializer, OutboundFrame>();

  constructor(
    readonly topic: string,
    readonly event: string,
    readonly payload: JsonObject | Uint8Array,
  ) {}

  /** The frame for one wire format, encoded on first use. */
  frameFor(serializer: Serializer): OutboundFrame {
    let frame = this.#frames.get(serializer);
    if (frame === undefined) {
      frame = forMany(
        serializer.encodeBroadcast({ topic: this.topic, event: this.event, payload: this.payload }),
      );
      this.#frames.set(serializer, frame);
    }
    return frame;
  }
}
