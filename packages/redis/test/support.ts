import { randomUUID } from "node:crypto";
import type { Broadcast } from "@tandem/protocol";
import type { Subscriber } from "@tandem/server";
import { eventually } from "@tandem/test-support";
import { afterAll, beforeAll } from "vitest";
import { RedisServer } from "../src/testing/redis-server.js";

export { RedisServer, sparePort } from "../src/testing/redis-server.js";

/**
 * A redis-server of the calling test file's own, started before its tests and killed
 * after them; returns the function that gives its URL once started. Tests never depend
 * on a shared Redis being up on 6379.
 */
export function redisForFile(): () => string {
  let server: RedisServer | undefined;
  beforeAll(async () => {
    server = await RedisServer.start();
  });
  afterAll(() => server?.kill());
  return () => {
    if (!server) throw new Error("redis-server is not started yet: call this inside a test");
    return server.url;
  };
}

/** A channel prefix no other test (or test run) shares on the same Redis. */
export function uniquePrefix(name: string): string {
  return `test:${name}:${randomUUID().slice(0, 8)}`;
}

/** A PubSub subscriber that records what it is given. */
export class Collector implements Subscriber {
  readonly received: Broadcast[] = [];

  deliver(broadcast: Broadcast): void {
    this.received.push(broadcast);
  }

  events(): string[] {
    return this.received.map((b) => b.event);
  }

  /** Waits until a broadcast with `event` has arrived. */
  waitFor(event: string, timeoutMs = 3000): Promise<void> {
    return eventually(() => this.events().includes(event), timeoutMs, `event ${event}`);
  }
}
