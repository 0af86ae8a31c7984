import { type ChildProcess, spawn } from "node:child_process";
import { Presence, Socket } from "phoenix";
import { afterEach, describe, expect, it } from "vitest";
import { WebSocket } from "ws";
import { RedisServer, sparePort } from "../../../packages/redis/test/support.js";

// Fast timings so that failure detection fits in a test; the logic is the same.
const BROADCAST_MS = 100;
const DOWN_MS = 1000;

const transport = WebSocket as unknown as typeof globalThis.WebSocket;
const root = new URL("../../../", import.meta.url).pathname;
const processes: ChildProcess[] = [];
const sockets: Socket[] = [];
const redisServers: RedisServer[] = [];

class RoomNode {
  private constructor(
    readonly name: string,
    readonly port: number,
    readonly child: ChildProcess,
  ) {}

  /** Starts examples/room as its own process, joined to the cluster over Redis. */
  static async start(name: string, redisUrl: string, prefix: string): Promise<RoomNode> {
    const port = await sparePort();
    const child = spawn(process.execPath, ["--import", "tsx", "examples/room/src/main.ts"], {
      cwd: root,
      env: {
        ...process.env,
        PORT: String(port),
        REDIS_URL: redisUrl,
        REDIS_PREFIX: prefix,
        NODE_NAME: name,
        TRACKER_BROADCAST_PERIOD_MS: String(BROADCAST_MS),
        TRACKER_DOWN_PERIOD_MS: String(DOWN_MS),
        TRACKER_PERMDOWN_PERIOD_MS: "60000",
        LOG_LEVEL: "error",
      },
      stdio: ["ignore", "pipe", "inherit"],
    });
    processes.push(child);
    await new Promise<void>((resolve, reject) => {
      let out = "";
      child.stdout!.on("data", (chunk: Buffer) => {
        out += chunk.toString();
        if (out.includes("listening")) resolve();
      });
      child.once("exit", (code) => reject(new Error(`node ${name} exited with ${code}`)));
    });
    return new RoomNode(name, port, child);
  }

  kill(signal: NodeJS.Signals): Promise<void> {
    return new Promise((resolve) => {
      this.child.once("exit", () => resolve());
      this.child.kill(signal);
    });
  }
}

interface Member {
  socket: Socket;
  channel: ReturnType<Socket["channel"]>;
  presence: Presence;
}

async function member(node: RoomNode, name: string, topic = "room:cluster"): Promise<Member> {
  const socket = new Socket(`ws://127.0.0.1:${node.port}/socket`, {
    transport,
    params: { name },
    reconnectAfterMs: () => 100,
    rejoinAfterMs: () => 100,
  });
  sockets.push(socket);
  socket.connect();
  const channel = socket.channel(topic, {});
  const presence = new Presence(channel);
  await new Promise<void>((resolve, reject) => {
    channel
      .join()
      .receive("ok", () => resolve())
      .receive("error", reject);
  });
  return { socket, channel, presence };
}

const names = (m: Member): string[] => m.presence.list((key: string) => key).sort();
const typing = (m: Member, key: string): boolean[] =>
  m.presence
    .list((k: string, p: { metas: { typing: boolean }[] }) =>
      k === key ? p.metas.map((x) => x.typing) : [],
    )
    .flat();

async function until(check: () => boolean, timeoutMs = 10_000): Promise<number> {
  const started = Date.now();
  while (!check()) {
    if (Date.now() - started > timeoutMs) throw new Error("condition not met in time");
    await new Promise((r) => setTimeout(r, 10));
  }
  return Date.now() - started;
}

async function cluster(count: number): Promise<{ redis: RedisServer; nodes: RoomNode[] }> {
  const redis = await RedisServer.start();
  redisServers.push(redis);
  const prefix = `cluster-test-${process.pid}-${Date.now()}`;
  const nodes = await Promise.all(
    Array.from({ length: count }, (_, i) => RoomNode.start(`node-${i}`, redis.url, prefix)),
  );
  return { redis, nodes };
}

afterEach(async () => {
  for (const s of sockets.splice(0)) s.disconnect();
  for (const p of processes.splice(0)) if (p.exitCode === null) p.kill("SIGKILL");
  for (const r of redisServers.splice(0)) await r.kill();
});

describe("examples/room as a cluster over Redis", () => {
  it("shares presence and broadcasts across three node processes", async () => {
    const { nodes } = await cluster(3);
    const ada = await member(nodes[0]!, "ada");
    const bob = await member(nodes[1]!, "bob");
    await until(() => names(ada).join() === "ada,bob" && names(bob).join() === "ada,bob");
    // A late joiner on a third node gets everyone in its presence_state.
    const cy = await member(nodes[2]!, "cy");
    await until(() => [ada, bob, cy].every((m) => names(m).join() === "ada,bob,cy"));

    const heard = new Promise((resolve) => cy.channel.on("shout", resolve));
    bob.channel.push("typing", { typing: true });
    ada.channel.push("shout", { body: "hello" });
    expect(await heard).toEqual({ from: "ada", body: "hello" });
    await until(() => typing(ada, "bob").includes(true) && typing(cy, "bob").includes(true));

    bob.channel.leave();
    await until(() => names(ada).join() === "ada,cy" && names(cy).join() === "ada,cy");
  }, 60_000);

  it("turns a killed node's users into leaves within the down period", async () => {
    const { nodes } = await cluster(2);
    const ada = await member(nodes[0]!, "ada");
    await member(nodes[1]!, "bob");
    await until(() => names(ada).join() === "ada,bob");
    const killed = Date.now();
    await nodes[1]!.kill("SIGKILL");
    await until(() => names(ada).join() === "ada");
    const detection = Date.now() - killed;
    // Down period after the last heartbeat, plus one tick, plus scheduling slack.
    expect(detection).toBeLessThan(DOWN_MS + BROADCAST_MS + 1000);
  }, 60_000);

  it("makes a gracefully stopped node's users leave at once", async () => {
    const { nodes } = await cluster(2);
    const ada = await member(nodes[0]!, "ada");
    await member(nodes[1]!, "bob");
    await until(() => names(ada).join() === "ada,bob");
    await nodes[1]!.kill("SIGTERM");
    expect(await until(() => names(ada).join() === "ada")).toBeLessThan(DOWN_MS);
  }, 60_000);

  it("converges without ghosts after Redis dies and comes back under traffic", async () => {
    const { redis, nodes } = await cluster(2);
    const ada = await member(nodes[0]!, "ada");
    const bob = await member(nodes[1]!, "bob");
    const eve = await member(nodes[1]!, "eve");
    await until(() => names(ada).join() === "ada,bob,eve");

    await redis.kill();
    // While the bus is down: one user leaves, another arrives, one changes state.
    eve.channel.leave();
    const fay = await member(nodes[1]!, "fay");
    bob.channel.push("typing", { typing: true });
    // Each node serves its own clients meanwhile, and drops the silent peer's users.
    await until(() => names(fay).join() === "bob,fay");
    await until(() => names(ada).join() === "ada", DOWN_MS * 5);

    await redis.restart();
    await until(
      () => names(ada).join() === "ada,bob,fay" && names(fay).join() === "ada,bob,fay",
      20_000,
    );
    expect(names(bob)).toEqual(["ada", "bob", "fay"]);
  }, 60_000);
});
