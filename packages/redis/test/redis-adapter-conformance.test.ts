import { describeAdapterConformance, silentLogger } from "@tandem/test-support";
import { Redis } from "ioredis";
import { afterAll, beforeAll } from "vitest";
import { RedisAdapter } from "../src/index.js";
import { RedisServer, uniquePrefix } from "./support.js";

let server: RedisServer | undefined;
beforeAll(async () => {
  server = await RedisServer.start();
});
afterAll(() => server?.kill());

function running(): RedisServer {
  if (!server) throw new Error("redis-server is not started yet");
  return server;
}

describeAdapterConformance("RedisAdapter", () => ({
  async cluster(size) {
    const prefix = uniquePrefix("conformance");
    const adapters = Array.from(
      { length: size },
      (_, i) =>
        new RedisAdapter({
          url: running().url,
          prefix,
          nodeName: `node-${i}`,
          logger: silentLogger,
        }),
    );
    return {
      adapters,
      async sendRaw(bytes) {
        const client = new Redis(running().url);
        try {
          await client.publish(adapters[0]?.channels.broadcast ?? "", Buffer.from(bytes));
        } finally {
          await client.quit();
        }
      },
    };
  },
  async restart() {
    await running().kill();
    await running().restart();
  },
}));
