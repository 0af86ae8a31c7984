import { type ChildProcess, spawn } from "node:child_process";
import { RedisServer, sparePort } from "@tandem/redis/testing";
import { BUS_VARIABLES } from "@tandem/server";
import { Presence, Socket } from "phoenix";
import { WebSocket } from "ws";

// Fast timings so that failure detection fits in a test; the logic is the same.
export const BROADCAST_MS = 100;
export const DOWN_MS = 1000;

const transport = WebSocket as unknown as typeof globalThis.WebSocket;
const root = new URL("../../../", import.meta.url).pathname;
export const processes: ChildProcess[] = [];
export const sockets: Socket[] = [];
export const redisServers: RedisServer[] = [];

/**
 * The variables that choose a node's bus engine and its prefix, e.g. `REDIS_URL` and
 * `REDIS_PREFIX`, `REDIS_CLUSTER_URLS`, or `NATS_URL` and `NATS_PREFIX`.
 */
export type Bus = Readonly<Record<string, string>>;

/** The environment without any bus variable, so that only `bus` chooses the engine. */
function withoutBus(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const rest = { ...env };
  for (const name of BUS_VARIABLES) delete rest[name];
  return rest;
}

export class RoomNode {
  private constructor(
    readonly name: string,
    readonly port: number,
    readonly child: ChildProcess,
    readonly bus: Bus,
  ) {}

  /** A new process with the same name and port: a new incarnation of this node. */
  restart(): Promise<RoomNode> {
    return RoomNode.start(this.name, this.bus, this.port);
  }

  get alive(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  /** Starts examples/room as its own process, joined to the cluster over `bus`. */
  static async start(name: string, bus: Bus, port?: number): Promise<RoomNode> {
    port ??= await sparePort();
    const child = spawn(
      process.execPath,
      ["--conditions=@tandem/source", "--import", "tsx", "examples/room/src/main.ts"],
      {
        cwd: root,
        env: {
          ...withoutBus(process.env),
          PORT: String(port),
          ...bus,
          NODE_NAME: name,
          TRACKER_BROADCAST_PERIOD_MS: String(BROADCAST_MS),
          TRACKER_DOWN_PERIOD_MS: String(DOWN_MS),
          TRACKER_PERMDOWN_PERIOD_MS: "60000",
          LOG_LEVEL: "error",
        },
        stdio: ["ignore", "pipe", "inherit"],
      },
    );
    processes.push(child);
    await new Promise<void>((resolve, reject) => {
      let out = "";
      child.stdout!.on("data", (chunk: Buffer) => {
        out += chunk.toString();
        if (out.includes("listening")) resolve();
      });
      child.once("exit", (code) => reject(new Error(`node ${name} exited with ${code}`)));
    });
    return new RoomNode(name, port, child, bus);
  }

  kill(signal: NodeJS.Signals): Promise<void> {
    return new Promise((resolve) => {
      this.child.once("exit", () => resolve());
      this.child.kill(signal);
    });
  }
}

export interface Member {
  socket: Socket;
  channel: ReturnType<Socket["channel"]>;
  presence: Presence;
}

export async function member(
  node: RoomNode,
  name: string,
  topic = "room:cluster",
): Promise<Member> {
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

export const names = (m: Member): string[] => m.presence.list((key: string) => key).sort();
export const typing = (m: Member, key: string): boolean[] =>
  m.presence
    .list((k: string, p: { metas: { typing: boolean }[] }) =>
      k === key ? p.metas.map((x) => x.typing) : [],
    )
    .flat();

export async function until(check: () => boolean, timeoutMs = 10_000): Promise<number> {
  const started = Date.now();
  while (!check()) {
    if (Date.now() - started > timeoutMs) throw new Error("condition not met in time");
    await new Promise((r) => setTimeout(r, 10));
  }
  return Date.now() - started;
}

export async function cluster(count: number): Promise<{ redis: RedisServer; nodes: RoomNode[] }> {
  const redis = await RedisServer.start();
  redisServers.push(redis);
  const prefix = `cluster-test-${process.pid}-${Date.now()}`;
  const nodes = await Promise.all(
    Array.from({ length: count }, (_, i) =>
      RoomNode.start(`node-${i}`, { REDIS_URL: redis.url, REDIS_PREFIX: prefix }),
    ),
  );
  return { redis, nodes };
}

/** Stops every process, socket and Redis a test started. */
export async function cleanUp(): Promise<void> {
  for (const s of sockets.splice(0)) s.disconnect();
  for (const p of processes.splice(0)) if (p.exitCode === null) p.kill("SIGKILL");
  for (const r of redisServers.splice(0)) await r.kill();
}
