import { setFlagsFromString } from "node:v8";
import { silentLogger } from "@tandem/test-support";
import { describe, expect, it } from "vitest";
import type { ChannelContext } from "../src/index.js";
import { Presence, PubSub, Tracker } from "../src/index.js";

setFlagsFromString("--allow-natives-syntax");
const sameShape = new Function("a", "b", "return %HaveSameMap(a, b)") as (
  a: unknown,
  b: unknown,
) => boolean;

/** Just what Presence reads of a channel's socket. */
function socketOf(i: number): ChannelContext {
  return {
    ownerId: `o${i}`,
    topic: `room:${i % 50}`,
    connectionId: `c${i}`,
    closed: false,
    onExit: () => {},
  } as unknown as ChannelContext;
}

describe("presence metas in memory", () => {
  // Enough calls for V8 to optimise the code that builds metas: an optimised
  // `{ ...meta, phx_ref }` gave every meta a hidden class of its own, 200 B each.
  it("share one hidden class however many are tracked and updated", () => {
    const pubsub = new PubSub();
    // Our own tracker, to read back the metas exactly as Presence stored them.
    const tracker = new Tracker({ pubsub, logger: silentLogger });
    const presence = new Presence(
      { pubsub, logger: silentLogger, onChannelExit: () => () => {} },
      { rateLimit: false, coalesce: false, tracker },
    );
    const sockets = Array.from({ length: 20_000 }, (_, i) => socketOf(i));
    for (const [i, socket] of sockets.entries()) {
      presence.track(socket, `u${i}`, { name: `u${i}`, typing: false });
    }
    const tracked = sockets.map((s, i) => tracker.get(s.ownerId, s.topic, `u${i}`)!.meta);
    expect(tracked.every((meta) => sameShape(meta, tracked[0]))).toBe(true);

    for (const [i, socket] of sockets.entries()) {
      presence.update(socket, `u${i}`, (meta) => ({ ...meta, typing: true }));
    }
    const updated = sockets.map((s, i) => tracker.get(s.ownerId, s.topic, `u${i}`)!.meta);
    expect(updated[0]).toMatchObject({ typing: true, phx_ref_prev: tracked[0]!.phx_ref });
    expect(updated.every((meta) => sameShape(meta, updated[0]))).toBe(true);
    presence.close();
    tracker.close();
  });
});
