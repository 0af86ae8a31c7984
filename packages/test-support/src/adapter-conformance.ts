import type { BusMessage, PubSubAdapter } from "@tandem/server";
import { afterEach, describe, expect, it } from "vitest";
import { eventually, sleep } from "./eventually.js";

/** A cluster-bus adapter as the conformance suite drives it, with the counters every engine keeps. */
export type ConformingAdapter = PubSubAdapter & { readonly stats: { readonly invalid: number } };

/** Adapters of one fresh cluster on an engine: one prefix, distinct node names. */
export interface ConformanceCluster {
  /** Not started yet; the suite starts and closes them. */
  readonly adapters: readonly ConformingAdapter[];
  /** Puts `bytes` on the cluster's broadcast channel from outside any adapter. */
  sendRaw(bytes: Uint8Array): Promise<void>;
}

/** A running engine (servers of the test's own) the suite makes clusters on. */
export interface ConformanceEngine {
  /** `size` adapters of a new cluster, isolated from every other cluster on the engine. */
  cluster(size: number): Promise<ConformanceCluster>;
  /** Kills the engine's servers (no goodbye) and starts them again at the same addresses. */
  restart(): Promise<void>;
}

/** What one started adapter has been given. */
interface Node {
  readonly adapter: ConformingAdapter;
  readonly received: BusMessage[];
}

const message = (event: string, payload: BusMessage["payload"] = {}): BusMessage => ({
  topic: "room:conformance",
  event,
  payload,
});

const events = (node: Node): string[] => node.received.map((m) => m.event);

const arrived = (node: Node, event: string, timeoutMs = 5000): Promise<void> =>
  eventually(() => events(node).includes(event), timeoutMs, `${event} at ${node.adapter.nodeName}`);

/**
 * Sends with `send` every 100 ms until `check` holds: for a bus that is coming back,
 * where what is sent before it is up is dropped.
 */
async function resend(send: () => void, check: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 30_000;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`${what} not delivered within 30 s`);
    send();
    await sleep(100);
  }
}

/**
 * The behaviour every cluster-bus engine must have, as Vitest tests. `engine` is called
 * inside the tests (start the engine in a `beforeAll`).
 *
 * Negative checks ("B did not get it") wait for a later message on the same channel
 * where they can, which the engine must deliver in order; where the two messages take
 * different channels (a node not subscribed to the first), the later message only
 * proves a round trip has passed.
 */
export function describeAdapterConformance(name: string, engine: () => ConformanceEngine): void {
  describe(`${name} conforms to the cluster-bus interface`, () => {
    const started: ConformingAdapter[] = [];

    afterEach(async () => {
      await Promise.all(started.splice(0).map((adapter) => adapter.close()));
    });

    async function cluster(size: number): Promise<{ nodes: Node[]; bus: ConformanceCluster }> {
      const bus = await engine().cluster(size);
      const nodes = bus.adapters.map((adapter) => ({ adapter, received: [] as BusMessage[] }));
      started.push(...bus.adapters);
      await Promise.all(nodes.map((node) => node.adapter.start((m) => node.received.push(m))));
      return { nodes, bus };
    }

    it("publish reaches exactly the subscribers of the channel, never the sender", async () => {
      const { nodes } = await cluster(3);
      const [a, b, c] = nodes as [Node, Node, Node];
      await Promise.all([
        a.adapter.subscribe("room.1"),
        b.adapter.subscribe("room.1"),
        c.adapter.subscribe("room.2"),
      ]);
      a.adapter.publish("room.1", message("m"));
      await arrived(b, "m");
      b.adapter.publish("room.1", message("after-m"));
      a.adapter.publish("room.2", message("fence"));
      await arrived(a, "after-m");
      await arrived(c, "fence");
      expect(events(a)).toEqual(["after-m"]);
      expect(events(b)).toEqual(["m"]);
      expect(events(c)).toEqual(["fence"]);
    });

    it("subscribes idempotently, confirmed: one publish after subscribe arrives once", async () => {
      const { nodes } = await cluster(2);
      const [a, b] = nodes as [Node, Node];
      await b.adapter.subscribe("once:a-b_c");
      await b.adapter.subscribe("once:a-b_c");
      a.adapter.publish("once:a-b_c", message("one"));
      a.adapter.publish("once:a-b_c", message("two"));
      await arrived(b, "two");
      expect(events(b)).toEqual(["one", "two"]);
    });

    it("unsubscribe stops delivery, and is idempotent", async () => {
      const { nodes } = await cluster(2);
      const [a, b] = nodes as [Node, Node];
      await Promise.all([b.adapter.subscribe("leave"), a.adapter.subscribe("stay")]);
      a.adapter.publish("leave", message("before"));
      await arrived(b, "before");
      await b.adapter.unsubscribe("leave");
      await b.adapter.unsubscribe("leave");
      await b.adapter.unsubscribe("never-held");
      await b.adapter.subscribe("leave2");
      a.adapter.publish("leave", message("after"));
      a.adapter.publish("leave2", message("fence"));
      await arrived(b, "fence");
      expect(events(b)).toEqual(["before", "fence"]);
    });

    it("broadcast reaches every other node, never the sender", async () => {
      const { nodes } = await cluster(3);
      const [a, b, c] = nodes as [Node, Node, Node];
      a.adapter.broadcast(message("all"));
      await Promise.all([arrived(b, "all"), arrived(c, "all")]);
      b.adapter.broadcast(message("fence"));
      await arrived(a, "fence");
      expect(events(a)).toEqual(["fence"]);
      expect(events(b)).toEqual(["all"]);
    });

    it("directBroadcast reaches the one node named", async () => {
      const { nodes } = await cluster(3);
      const [a, b, c] = nodes as [Node, Node, Node];
      a.adapter.directBroadcast(b.adapter.nodeName, message("for-b"));
      a.adapter.directBroadcast("nobody-by-this-name", message("for-nobody"));
      await arrived(b, "for-b");
      a.adapter.broadcast(message("fence"));
      await Promise.all([arrived(b, "fence"), arrived(c, "fence")]);
      expect(events(b)).toEqual(["for-b", "fence"]);
      expect(events(c)).toEqual(["fence"]);
    });

    it("carries binary and JSON payloads unchanged", async () => {
      const { nodes } = await cluster(2);
      const [a, b] = nodes as [Node, Node];
      const bytes = new Uint8Array([0, 255, 1, 128, 10, 13, 0]);
      const json = { text: "héllo 👋 \u0000", list: [1, null, { deep: true }], n: -0.5 };
      a.adapter.broadcast(message("bin", bytes));
      a.adapter.broadcast(message("json", json));
      a.adapter.broadcast(message("empty", new Uint8Array(0)));
      await arrived(b, "empty");
      expect(b.received).toEqual([
        message("bin", bytes),
        message("json", json),
        message("empty", new Uint8Array(0)),
      ]);
      expect(b.received[0]?.payload).toBeInstanceOf(Uint8Array);
    });

    it("counts invalid envelopes instead of throwing, and keeps working", async () => {
      const { nodes, bus } = await cluster(2);
      const [a, b] = nodes as [Node, Node];
      await bus.sendRaw(new Uint8Array([9, 9, 9]));
      await bus.sendRaw(new TextEncoder().encode("not an envelope at all"));
      await eventually(() => b.adapter.stats.invalid === 2, 5000, "invalid counted");
      await eventually(() => a.adapter.stats.invalid === 2, 5000, "invalid counted");
      a.adapter.broadcast(message("still"));
      await arrived(b, "still");
      expect(events(b)).toEqual(["still"]);
    });

    it("subscriptions, broadcast and direct come back after the engine restarts", async () => {
      const { nodes } = await cluster(2);
      const [a, b] = nodes as [Node, Node];
      await b.adapter.subscribe("survivor");
      a.adapter.publish("survivor", message("before"));
      await arrived(b, "before");

      await engine().restart();

      await resend(
        () => a.adapter.publish("survivor", message("channel")),
        () => events(b).includes("channel"),
        "publish after restart",
      );
      await resend(
        () => a.adapter.broadcast(message("broadcast")),
        () => events(b).includes("broadcast"),
        "broadcast after restart",
      );
      await resend(
        () => a.adapter.directBroadcast(b.adapter.nodeName, message("direct")),
        () => events(b).includes("direct"),
        "direct after restart",
      );
      // A channel subscribed after the restart works at once, too.
      await b.adapter.subscribe("newcomer");
      a.adapter.publish("newcomer", message("fresh"));
      await arrived(b, "fresh");
      expect(
        events(b).every((e) => ["before", "channel", "broadcast", "direct", "fresh"].includes(e)),
      ).toBe(true);
    }, 90_000);

    it("closes cleanly: idempotent, sends nothing, receives nothing, never throws", async () => {
      const { nodes } = await cluster(3);
      const [a, b, c] = nodes as [Node, Node, Node];
      await Promise.all([b.adapter.subscribe("after-close"), c.adapter.subscribe("after-close")]);
      await b.adapter.close();
      await b.adapter.close();
      b.adapter.broadcast(message("from-closed"));
      b.adapter.publish("after-close", message("from-closed"));
      b.adapter.directBroadcast(a.adapter.nodeName, message("from-closed"));
      await b.adapter.subscribe("later");
      await b.adapter.unsubscribe("after-close");
      a.adapter.publish("after-close", message("to-closed"));
      a.adapter.broadcast(message("fence"));
      await Promise.all([arrived(c, "to-closed"), arrived(c, "fence")]);
      c.adapter.directBroadcast(a.adapter.nodeName, message("fence-a"));
      await arrived(a, "fence-a");
      expect(events(a)).toEqual(["fence-a"]);
      expect(events(b)).toEqual([]);
      await expect(b.adapter.start(() => {})).rejects.toThrow();
    });
  });
}
