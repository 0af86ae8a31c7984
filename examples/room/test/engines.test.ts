import { NatsServer } from "@tandem/nats/testing";
import { RedisCluster } from "@tandem/redis/testing";
import { afterEach, describe, expect, it } from "vitest";
import { type Bus, cleanUp, member, names, RoomNode, until } from "./cluster-support.js";

// Each bus variable makes examples/room a node of its engine: two nodes share presence
// and broadcasts, and converge to exactly the live connections after the engine's fault.
const stops: (() => Promise<void>)[] = [];
afterEach(async () => {
  await cleanUp();
  for (const stop of stops.splice(0)) await stop();
});

async function nodesOn(bus: Bus): Promise<[RoomNode, RoomNode]> {
  return Promise.all([RoomNode.start("node-a", bus), RoomNode.start("node-b", bus)]);
}

describe("examples/room on NATS (NATS_URL)", () => {
  it("shares presence, and converges without ghosts after nats-server restarts", async () => {
    const nats = await NatsServer.start();
    stops.push(() => nats.kill());
    const [a, b] = await nodesOn({ NATS_URL: nats.url, NATS_PREFIX: `room-${process.pid}` });
    const ada = await member(a, "ada");
    const bob = await member(b, "bob");
    await until(() => names(ada).join() === "ada,bob" && names(bob).join() === "ada,bob");
    const heard = new Promise((resolve) => bob.channel.on("shout", resolve));
    ada.channel.push("shout", { body: "over nats" });
    expect(await heard).toEqual({ from: "ada", body: "over nats" });

    await nats.kill();
    // While NATS is down bob leaves and cy joins on node b; ada's node cannot hear it.
    bob.channel.leave();
    const cy = await member(b, "cy");
    await nats.restart();
    await until(() => names(ada).join() === "ada,cy" && names(cy).join() === "ada,cy", 20_000);
  }, 60_000);
});

describe("examples/room on Redis Cluster (REDIS_CLUSTER_URLS)", () => {
  it("shares presence, and converges without ghosts after a master fails over", async () => {
    const cluster = await RedisCluster.start({ masters: 3, replicasPerMaster: 1 });
    stops.push(() => cluster.stop());
    const prefix = `room-${process.pid}`;
    const [a, b] = await nodesOn({
      REDIS_CLUSTER_URLS: cluster.seeds.slice(0, 2).join(","),
      REDIS_PREFIX: prefix,
    });
    const ada = await member(a, "ada");
    const bob = await member(b, "bob");
    await until(() => names(ada).join() === "ada,bob" && names(bob).join() === "ada,bob");

    // The master carrying the broadcast channel (heartbeats, presence diffs) dies.
    await (await cluster.ownerOf(`${prefix}:bc`)).kill();
    bob.channel.leave();
    const cy = await member(b, "cy");
    await cluster.healthy();
    await until(() => names(ada).join() === "ada,cy" && names(cy).join() === "ada,cy", 20_000);

    // A node killed with SIGKILL leaves no ghost behind.
    await b.kill("SIGKILL");
    await until(() => names(ada).join() === "ada", 20_000);
  }, 90_000);
});
