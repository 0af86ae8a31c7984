import type { Broadcast } from "@tandem/protocol";
import {
  RawClient,
  recordingLogger,
  socketHandler,
  startServer,
  type TestServer,
} from "@tandem/test-support";
import fc from "fast-check";
import { afterEach, describe, expect, it } from "vitest";
import { PubSub, shardChannel, shardOf } from "../src/index.js";
import { SimNetwork } from "./sim-network.js";

let server: TestServer | undefined;

afterEach(async () => {
  await server?.close();
  server = undefined;
});

describe("local fan-out", () => {
  it("delivers to every subscriber after one that throws, and does not throw itself", () => {
    const logger = recordingLogger();
    const pubsub = new PubSub({ logger });
    const seen: string[] = [];
    const recorder = (name: string) => ({
      deliver: (b: Broadcast) => seen.push(`${name}:${b.event}`),
    });
    pubsub.subscribe("room:a", recorder("first"));
    pubsub.subscribe("room:a", {
      deliver: () => {
        throw new Error("subscriber bug");
      },
    });
    pubsub.subscribe("room:a", recorder("third"));

    expect(pubsub.broadcast("room:a", "news", { n: 1 })).toBe(3);
    expect(seen).toEqual(["first:news", "third:news"]);
    expect(logger.entries.filter((e) => e.level === "error").map((e) => e.msg)).toEqual([
      "broadcast delivery failed",
    ]);
  });

  it("keeps a broadcasting channel alive when an app subscriber of its topic throws", async () => {
    server = await startServer(socketHandler);
    server.endpoint.pubsub.subscribe("room:a", {
      deliver: () => {
        throw new Error("app subscriber bug");
      },
    });
    const sender = await RawClient.connect(server.url, "vsn=2.0.0&user=alice");
    const listener = await RawClient.connect(server.url, "vsn=2.0.0&user=bob");
    for (const client of [sender, listener]) {
      client.send(["1", "1", "room:a", "phx_join", {}]);
      await client.reply("1");
    }
    sender.send(["1", "2", "room:a", "shout", { hello: true }]);
    expect((await sender.reply("2"))[4]).toEqual({ status: "ok", response: {} });
    const heard = await listener.next((f) => f[3] === "shout");
    expect(heard[4]).toEqual({ hello: true });
    sender.send(["1", "3", "room:a", "ping", { still: "here" }]);
    expect((await sender.reply("3"))[4]).toEqual({ status: "ok", response: { still: "here" } });
    sender.close();
    listener.close();
  });
});

describe("interest routing", () => {
  it("subscribes a shard's channel while a topic of it has interested subscribers or a hold", () => {
    const network = new SimNetwork();
    const pubsub = new PubSub({ adapter: network.adapter("a"), shards: 8 });
    const changes: string[] = [];
    pubsub.onInterest((shard, interested) => changes.push(`${interested ? "+" : "-"}${shard}`));
    const shard = pubsub.shardOf("room:1");
    const channels = () => [...network.channelsOf("a")];
    const offFirst = pubsub.subscribe("room:1", { deliver() {} });
    const offSecond = pubsub.subscribe("room:1", { deliver() {} });
    pubsub.subscribe("control", { deliver() {} }, { interest: false });
    expect(channels()).toEqual([shardChannel(shard)]);
    const release = pubsub.hold(shard);
    offFirst();
    offSecond();
    offSecond();
    expect(channels()).toEqual([shardChannel(shard)]);
    expect(pubsub.interested(shard)).toBe(true);
    release();
    release();
    expect(channels()).toEqual([]);
    expect(pubsub.interests()).toEqual([]);
    expect(changes).toEqual([`+${shard}`, `-${shard}`]);
  });

  it("delivers a broadcast to the nodes that serve its topic and to no other", async () => {
    const network = new SimNetwork();
    const nodes = ["a", "b", "c"].map((name) => new PubSub({ adapter: network.adapter(name) }));
    await Promise.all(nodes.map((n) => n.start()));
    const [a, b, c] = nodes as [PubSub, PubSub, PubSub];
    const heard: string[] = [];
    b.subscribe("room:1", { deliver: (m) => heard.push(`b:${m.event}`) });
    c.subscribe("room:2", { deliver: (m) => heard.push(`c:${m.event}`) });
    let toC = 0;
    network.filter = ({ to }) => {
      if (to === "c") toC++;
      return true;
    };
    a.broadcast("room:1", "hello", {});
    network.deliver(() => 0.5);
    expect(heard).toEqual(["b:hello"]);
    expect(toC).toBe(a.shardOf("room:1") === a.shardOf("room:2") ? 1 : 0);
  });

  it("spreads topics evenly over the shards and keeps each in range", () => {
    fc.assert(
      fc.property(fc.string(), fc.integer({ min: 1, max: 65_536 }), (topic, shards) => {
        const shard = shardOf(topic, shards);
        expect(Number.isInteger(shard) && shard >= 0 && shard < shards).toBe(true);
      }),
    );
    const counts = new Array<number>(64).fill(0);
    for (let i = 0; i < 64_000; i++) counts[shardOf(`room:${i}`, 64)]!++;
    expect(Math.max(...counts) / Math.min(...counts)).toBeLessThan(1.2);
  });
});
