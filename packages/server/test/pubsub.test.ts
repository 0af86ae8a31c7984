import type { Broadcast } from "@tandem/protocol";
import {
  RawClient,
  recordingLogger,
  socketHandler,
  startServer,
  type TestServer,
} from "@tandem/test-support";
import { afterEach, describe, expect, it } from "vitest";
import { PubSub } from "../src/index.js";

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
