import { createConnection, createServer, type Server, type Socket } from "node:net";
import { PubSub } from "@tandem/server";
import { eventually, recordingLogger } from "@tandem/test-support";
import { afterAll, expect, it } from "vitest";
import { RedisAdapter, type RedisAdapterStatus } from "../src/index.js";
import { Collector, redisForFile, uniquePrefix } from "./support.js";

const redisUrl = redisForFile();

/**
 * A TCP relay to Redis that can go silent, as a network partition does: while cut it
 * forwards nothing and closes nothing (open connections just stop), and new connections
 * get nowhere.
 */
class Partition {
  cut = false;
  readonly #sockets = new Set<Socket>();
  private constructor(readonly server: Server) {}

  static async start(target: URL): Promise<Partition> {
    let partition: Partition | undefined;
    const server = createServer((client) => {
      if (partition!.cut) {
        client.destroy();
        return;
      }
      const upstream = createConnection({ host: target.hostname, port: Number(target.port) });
      for (const [from, to] of [
        [client, upstream],
        [upstream, client],
      ] as const) {
        partition!.#sockets.add(from);
        from.on("data", (chunk) => {
          if (!partition!.cut) to.write(chunk);
        });
        from.on("close", () => to.destroy());
        from.on("error", () => {});
      }
    });
    partition = new Partition(server);
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    return partition;
  }

  get url(): string {
    return `redis://127.0.0.1:${(this.server.address() as { port: number }).port}`;
  }

  close(): void {
    for (const socket of this.#sockets) socket.destroy();
    this.server.close();
  }
}

const closers: (() => unknown)[] = [];
afterAll(async () => {
  for (const close of closers) await close();
});

it("drops a connection Redis stopped answering and is back soon after the network heals", async () => {
  const partition = await Partition.start(new URL(redisUrl()));
  closers.push(() => partition.close());
  const prefix = uniquePrefix("partition");
  const logger = recordingLogger();
  const cutOff = new RedisAdapter({
    url: partition.url,
    prefix,
    nodeName: "cut-off",
    logger,
    pingIntervalMs: 100,
  });
  const other = new RedisAdapter({ url: redisUrl(), prefix, nodeName: "other", logger });
  const pubsubs = [new PubSub({ adapter: cutOff }), new PubSub({ adapter: other })];
  closers.push(() => Promise.all(pubsubs.map((p) => p.close())));
  await Promise.all(pubsubs.map((p) => p.start()));
  const statuses: RedisAdapterStatus[] = [];
  cutOff.onStatus((status) => statuses.push(status));
  const heard = new Collector();
  pubsubs[0]!.subscribe("room:1", heard);
  // Until the subscription has reached Redis.
  await eventually(
    () => {
      pubsubs[1]!.broadcast("room:1", "before", {});
      return heard.events().includes("before");
    },
    3000,
    "a broadcast before the cut",
  );

  partition.cut = true;
  // Two unanswered pings 100 ms apart: down within a few intervals, not TCP's minutes.
  await eventually(() => cutOff.status === "down", 2000, "down while cut off");
  expect(logger.entries.some((e) => e.msg === "Redis stopped answering: reconnecting")).toBe(true);

  partition.cut = false;
  await eventually(() => cutOff.status === "ready", 5000, "ready after the heal");
  expect(statuses).toEqual(["down", "ready"]);
  // Resubscribed: messages flow again on the new connection.
  await eventually(
    () => {
      pubsubs[1]!.broadcast("room:1", "after", {});
      return heard.events().includes("after");
    },
    3000,
    "a broadcast after the heal",
  );
}, 15_000);
