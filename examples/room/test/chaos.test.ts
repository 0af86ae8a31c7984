import { prng } from "@tandem/test-support";
import { afterEach, describe, expect, it } from "vitest";
import { cleanUp, cluster, type Member, member, type RoomNode, until } from "./cluster-support.js";

afterEach(cleanUp);

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Keys and meta counts a member sees, e.g. "u0:1,u1:1". */
function view(m: Member): string {
  return m.presence
    .list((key: string, p: { metas: unknown[] }) => `${key}:${p.metas.length}`)
    .sort()
    .join(",");
}

describe("chaos over a three-node cluster", () => {
  it("lists exactly the live connections after random kills and restarts of nodes and Redis", async () => {
    const seed = Number(process.env.CHAOS_SEED ?? Date.now() % 100_000);
    const random = prng(seed);
    const { redis, nodes } = await cluster(3);
    const clients: Member[] = [];
    const keys: string[] = [];
    for (const [i, node] of nodes.entries()) {
      for (let j = 0; j < 3; j++) {
        keys.push(`u${i}${j}`);
        clients.push(await member(node, `u${i}${j}`));
      }
    }

    // Load: presence updates from random clients throughout.
    let loading = true;
    const load = (async () => {
      while (loading) {
        const client = clients[Math.floor(random() * clients.length)]!;
        if (client.channel.state === "joined") {
          client.channel.push("typing", { typing: random() < 0.5 });
        }
        await sleep(20);
      }
    })();

    let redisUp = true;
    const actions: string[] = [];
    for (let step = 0; step < 8; step++) {
      await sleep(200 + random() * 500);
      const roll = random();
      const live = nodes.filter((n) => n.alive);
      const dead = nodes.filter((n) => !n.alive);
      if (roll < 0.35 && live.length > 1) {
        const victim = live[Math.floor(random() * live.length)]!;
        actions.push(`kill ${victim.name}`);
        await victim.kill("SIGKILL");
      } else if (roll < 0.6 && dead.length > 0) {
        const node = dead[0]!;
        actions.push(`restart ${node.name}`);
        nodes[nodes.indexOf(node)] = await node.restart();
      } else if (roll < 0.8 && redisUp) {
        actions.push("kill redis");
        await redis.kill();
        redisUp = false;
      } else if (!redisUp) {
        actions.push("restart redis");
        await redis.restart();
        redisUp = true;
      }
    }
    loading = false;
    await load;

    // Heal everything, let clients reconnect, then every node must agree on the truth.
    if (!redisUp) await redis.restart();
    for (const [i, node] of nodes.entries()) {
      if (!node.alive) nodes[i] = await (node as RoomNode).restart();
    }
    await until(() => clients.every((c) => c.channel.state === "joined"), 20_000);
    const observers: Member[] = [];
    for (const [i, node] of nodes.entries()) observers.push(await member(node, `observer${i}`));
    const expected = [...clients.map((_, k) => k), ...observers.map((_, k) => k)]
      .map((_, k) =>
        k < clients.length ? `u${Math.floor(k / 3)}${k % 3}` : `observer${k - clients.length}`,
      )
      .map((key) => `${key}:1`)
      .sort()
      .join(",");
    try {
      await until(() => observers.every((o) => view(o) === expected), 30_000);
    } catch (err) {
      throw new Error(
        `seed ${seed}, actions [${actions.join("; ")}]: ${observers.map(view).join(" | ")} != ${expected}`,
        { cause: err },
      );
    }
    expect(observers.map(view)).toEqual(observers.map(() => expected));
  }, 120_000);
});
