import type { Frame } from "@tandem/protocol";

/**
 * A text frame already encoded to UTF-8. Fan-out hands the same bytes to every socket, so
 * a large frame (a presence list, a broadcast) is copied once, not once per subscriber.
 */
export class TextBytes {
  constructor(readonly bytes: Buffer) {}
}

/** What a connection writes: a frame, or text encoded once for many connections. */
export type OutboundFrame = Frame | TextBytes;

/** Encodes text frames to bytes once, for writing to many sockets. */
export function forMany(frame: Frame): OutboundFrame {
  return typeof frame === "string" ? new TextBytes(Buffer.from(frame, "utf8")) : frame;
}
