/**
 * `npm run bench -- partition [options]` (root): a bus (redis-server or nats-server) in a
 * network namespace of its own and three bench Tandem nodes each in theirs (see
 * netns.ts), clients on every node in rooms spread over all of them, typing and churn.
 * `cut`: node 2 is cut off from the bus (iptables DROP both ways) for longer than the
 * down period, then healed. `lossy`: every node's bus link delays each chunk and drops
 * packets at random for a while. After each, every client must list exactly the live
 * connections of its room with their last typing value: no ghosts, nothing lost.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { cpus, loadavg } from "node:os";
import { join } from "node:path";
import type { Conn, PresenceMetas, PresencePayload } from "../loadgen/conn.js";
import { memberName } from "../loadgen/conn.js";
import { connectPhoenix } from "../loadgen/phoenix-conn.js";
import { type Percentiles, percentiles, sleep } from "../loadgen/util.js";
import { repoRoot, type ServerProcess, spawnTs, startServer } from "../procs.js";
import {
  BUS_NS,
  busAddress,
  cut,
  droppedPackets,
  lossy,
  nodeAddress,
  nodeNs,
  setup,
  teardown,
} from "./netns.js";

/** The options `--flag value` may set, with their defaults. */
export const PARTITION_DEFAULTS = {
  engines: "redis,nats",
  runs: "cut,lossy",
  nodes: 3,
  clientsPerNode: 30,
  rooms: 3,
  broadcastPeriodMs: 200,
  downPeriodMs: 2000,
  cutMs: 6000,
  lossyMs: 15_000,
  delayMs: 50,
  loss: 0.05,
  typingPerS: 5,
  churnPerS: 2,
  convergeTimeoutMs: 30_000,
};

export type PartitionOptions = typeof PARTITION_DEFAULTS;
type Engine = "redis" | "nats";
type Kind = "cut" | "lossy";

// Inside the namespaces every port is ours; still within the range this bench keeps to.
const BUS_PORT = 43_901;
const RELAY_PORT = 43_902;
const NODE_PORT = 43_903;

/** One client: where it sits, what it sent last, and its room as it sees it (key → ref → typing). */
interface Client {
  index: number;
  node: number;
  room: number;
  typing: boolean;
  /** When the last toggle was sent, and its number. */
  sentAt: number;
  toggle: number;
  /** Per member seen: the last toggle this client saw arrive. */
  seen: Map<Client, number>;
  conn: Conn | null;
  view: Map<string, Map<string, boolean>>;
  live: boolean;
}

export interface PartitionResult {
  engine: Engine;
  kind: Kind;
  /** From the joins until every client lists its room exactly. */
  initialMs: number | null;
  /** Cut: until no client elsewhere lists a member of the cut node, and the reverse. */
  detectOthersMs: number | null;
  detectIsolatedMs: number | null;
  /** From the heal (lossy: from the end of the changes, impairments still on) to exact lists. */
  convergeMs: number | null;
  /** At the end, summed over clients. */
  ghosts: number;
  lost: number;
  duplicates: number;
  staleTyping: number;
  /** `tandem_presences` of each node against the live connections (every node serves every room). */
  presences: number[];
  expectedPresences: number;
  /** Live members that vanished from a view outside a cut. */
  falseLeaves: number;
  /** While the link was impaired (cut or lossy), typing seen by observers on other nodes. */
  crossTyping: Percentiles;
  /** Packets the iptables rules dropped. */
  droppedPackets: number;
  toggles: number;
  churns: number;
  loadavg: { start: number; end: number };
}

function applyPresence(view: Client["view"], event: "state" | "diff", payload: PresencePayload) {
  const metas = (entry: PresenceMetas) =>
    new Map(entry.metas.map((m) => [m.phx_ref, m.typing === true] as const));
  if (event === "state") {
    view.clear();
    for (const [key, entry] of Object.entries(payload as Record<string, PresenceMetas>)) {
      view.set(key, metas(entry));
    }
    return;
  }
  const diff = payload as {
    joins: Record<string, PresenceMetas>;
    leaves: Record<string, PresenceMetas>;
  };
  for (const [key, entry] of Object.entries(diff.joins)) {
    const refs = view.get(key) ?? new Map<string, boolean>();
    for (const [ref, typing] of metas(entry)) refs.set(ref, typing);
    view.set(key, refs);
  }
  for (const [key, entry] of Object.entries(diff.leaves)) {
    const refs = view.get(key);
    if (!refs) continue;
    for (const meta of entry.metas) refs.delete(meta.phx_ref);
    if (refs.size === 0) view.delete(key);
  }
}

/** Starts a bus server in the bus namespace; resolves once it accepts connections. */
async function startBusServer(engine: Engine): Promise<ChildProcess> {
  const args =
    engine === "redis"
      ? [
          "redis-server",
          ...["--port", String(BUS_PORT), "--bind", "0.0.0.0", "--protected-mode", "no"],
          ...["--save", "", "--appendonly", "no"],
        ]
      : [
          process.env.NATS_SERVER ?? "/usr/sbin/nats-server",
          "--addr",
          "0.0.0.0",
          "--port",
          String(BUS_PORT),
        ];
  const child = spawn("ip", ["netns", "exec", BUS_NS, ...args], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  process.once("exit", () => child.kill("SIGKILL"));
  const ready = engine === "redis" ? "Ready to accept connections" : "Server is ready";
  await new Promise<void>((resolve, reject) => {
    let output = "";
    const timer = setTimeout(() => reject(new Error(`${engine} did not start: ${output}`)), 10_000);
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      if (output.includes(ready)) {
        clearTimeout(timer);
        resolve();
      }
    };
    child.stdout?.on("data", onData);
    child.stderr?.on("data", onData);
    child.once("exit", (code) => reject(new Error(`${engine} exited ${code}: ${output}`)));
  });
  return child;
}

async function startRelay(delayMs: number): Promise<ChildProcess> {
  const relay = spawnTs(
    "partition/delay-relay.ts",
    [String(RELAY_PORT), String(BUS_PORT), String(delayMs)],
    [],
    {},
    ["ip", "netns", "exec", BUS_NS],
  );
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error("relay did not start")), 30_000);
    relay.stdout?.on("data", (chunk: Buffer) => {
      if (chunk.toString().includes("relaying")) {
        clearTimeout(timer);
        resolve();
      }
    });
  });
  return relay;
}

async function nodePresences(url: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  return Number(/^tandem_presences (\d+)/m.exec(text)?.[1] ?? Number.NaN);
}

/** Polls `done` every 50 ms; the ms it took, or null after `timeoutMs`. */
async function waitFor(done: () => boolean, timeoutMs: number): Promise<number | null> {
  const start = performance.now();
  while (performance.now() - start < timeoutMs) {
    if (done()) return performance.now() - start;
    await sleep(50);
  }
  return done() ? performance.now() - start : null;
}

async function runOne(o: PartitionOptions, engine: Engine, kind: Kind): Promise<PartitionResult> {
  const load0 = loadavg()[0]!;
  const children: ChildProcess[] = [];
  const servers: ServerProcess[] = [];
  const clients: Client[] = [];
  let activity: ReturnType<typeof setInterval> | undefined;
  setup(o.nodes);
  try {
    children.push(await startBusServer(engine));
    const relay = kind === "lossy" ? await startRelay(o.delayMs) : undefined;
    if (relay) children.push(relay);
    const port = relay ? RELAY_PORT : BUS_PORT;
    servers.push(
      ...(await Promise.all(
        Array.from({ length: o.nodes }, (_, k) =>
          startServer("tandem", {
            name: `partition/${k}`,
            netns: nodeNs(k),
            host: nodeAddress(k),
            env: {
              ...(engine === "redis"
                ? { REDIS_URL: `redis://${busAddress(k)}:${port}` }
                : { NATS_URL: `nats://${busAddress(k)}:${port}` }),
              NODE_NAME: `p${k}`,
              HOST: nodeAddress(k),
              PORT: String(NODE_PORT),
              TRACKER_BROADCAST_PERIOD_MS: String(o.broadcastPeriodMs),
              TRACKER_DOWN_PERIOD_MS: String(o.downPeriodMs),
              TRACKER_PERMDOWN_PERIOD_MS: String(Math.max(60_000, 10 * o.downPeriodMs)),
            },
          }),
        ),
      )),
    );

    // During a cut, members of the other side are expected to vanish.
    let cutOff: number | null = null;
    let falseLeaves = 0;
    let impaired = false;
    const crossMs: number[] = [];
    const byName = new Map<string, Client>();
    const connect = async (client: Client): Promise<void> => {
      const conn = await connectPhoenix({ url: servers[client.node]!.url, index: client.index });
      client.conn = conn;
      conn.onPresence = (event, payload) => {
        const before = new Set(client.view.keys());
        applyPresence(client.view, event, payload);
        if (event === "diff") {
          const joins = (payload as { joins: Record<string, PresenceMetas> }).joins;
          for (const [key, entry] of Object.entries(joins)) {
            const member = byName.get(key);
            if (!member || member.node === client.node || member.toggle === 0) continue;
            if (client.seen.get(member) === member.toggle) continue;
            if (!entry.metas.some((m) => (m.typing === true) === member.typing)) continue;
            client.seen.set(member, member.toggle);
            if (impaired) crossMs.push(performance.now() - member.sentAt);
          }
        }
        for (const key of before) {
          if (client.view.has(key)) continue;
          const member = byName.get(key);
          const acrossCut =
            cutOff !== null && member && (member.node === cutOff) !== (client.node === cutOff);
          if (member?.live && !acrossCut) falseLeaves++;
        }
      };
      await conn.join(`room:${client.room}`);
    };
    const addClient = (node: number, room: number): Client => {
      const client: Client = {
        index: clients.length,
        node,
        room,
        typing: false,
        sentAt: 0,
        toggle: 0,
        seen: new Map(),
        conn: null,
        view: new Map(),
        live: true,
      };
      clients.push(client);
      byName.set(memberName(client.index), client);
      return client;
    };
    const total = o.nodes * o.clientsPerNode;
    // Client i on node i mod K, room ⌊i / K⌋ mod R: every room has members on every node.
    for (let i = 0; i < total; i++) addClient(i % o.nodes, Math.floor(i / o.nodes) % o.rooms);
    const t0 = performance.now();
    await Promise.all(clients.map(connect));

    const tally = () => {
      let ghosts = 0;
      let lost = 0;
      let duplicates = 0;
      let staleTyping = 0;
      const rooms = new Map<number, Client[]>();
      for (const c of clients) {
        if (!c.live) continue;
        rooms.set(c.room, [...(rooms.get(c.room) ?? []), c]);
      }
      for (const c of clients) {
        if (!c.live) continue;
        const expected = rooms.get(c.room)!;
        for (const key of c.view.keys()) if (!byName.get(key)?.live) ghosts++;
        for (const m of expected) {
          const refs = c.view.get(memberName(m.index));
          if (!refs) {
            lost++;
            continue;
          }
          if (refs.size > 1) duplicates++;
          if ([...refs.values()].some((typing) => typing !== m.typing)) staleTyping++;
        }
      }
      return { ghosts, lost, duplicates, staleTyping };
    };
    const exact = () => {
      const t = tally();
      return t.ghosts + t.lost + t.duplicates + t.staleTyping === 0;
    };
    const initialMs =
      (await waitFor(exact, o.convergeTimeoutMs)) === null ? null : performance.now() - t0;

    let toggles = 0;
    let churns = 0;
    const slice = 0.1;
    // Steady rates: each slice earns its share of toggles and churns, spent when whole.
    let typingCredit = 0;
    let churnCredit = 0;
    activity = setInterval(() => {
      const live = clients.filter((c) => c.live && c.conn?.open);
      if (live.length === 0) return;
      const pick = () => live[Math.floor(Math.random() * live.length)]!;
      for (typingCredit += o.typingPerS * slice; typingCredit >= 1; typingCredit--) {
        const c = pick();
        c.typing = !c.typing;
        c.toggle++;
        c.sentAt = performance.now();
        c.conn!.typing(`room:${c.room}`, c.typing);
        toggles++;
      }
      for (churnCredit += o.churnPerS * slice; churnCredit >= 1; churnCredit--) {
        const c = pick();
        c.live = false;
        c.conn!.close();
        churns++;
        void connect(addClient(c.node, c.room)).catch(() => {});
      }
    }, slice * 1000);
    const stopActivity = async () => {
      clearInterval(activity);
      activity = undefined;
      // The room reverts typing after 3 s of quiet; an explicit false makes the end state
      // certain, and is one more change that must get through.
      for (const c of clients) {
        if (!c.live || !c.typing || !c.conn?.open) continue;
        c.typing = false;
        c.conn.typing(`room:${c.room}`, false);
      }
      // Let the last joins land before judging.
      await waitFor(() => clients.every((c) => !c.live || c.conn?.open), 5000);
    };

    let detectOthersMs: number | null = null;
    let detectIsolatedMs: number | null = null;
    let convergeMs: number | null = null;
    let dropped = 0;
    await sleep(2000);
    if (kind === "cut") {
      const isolated = o.nodes - 1;
      cutOff = isolated;
      const start = performance.now();
      cut(isolated, true);
      impaired = true;
      const listsAcross = (c: Client) =>
        [...c.view.keys()].some((key) => {
          const m = byName.get(key);
          return m !== undefined && (m.node === isolated) !== (c.node === isolated);
        });
      const others = waitFor(
        () => clients.every((c) => !c.live || c.node === isolated || !listsAcross(c)),
        o.cutMs,
      ).then((ms) => {
        detectOthersMs = ms;
      });
      const inside = waitFor(
        () => clients.every((c) => !c.live || c.node !== isolated || !listsAcross(c)),
        o.cutMs,
      ).then((ms) => {
        detectIsolatedMs = ms;
      });
      await Promise.all([others, inside]);
      await sleep(Math.max(0, o.cutMs - (performance.now() - start)));
      dropped = droppedPackets(isolated);
      cut(isolated, false);
      impaired = false;
      const healed = performance.now();
      await stopActivity();
      cutOff = null;
      const ms = await waitFor(exact, o.convergeTimeoutMs);
      convergeMs = ms === null ? null : performance.now() - healed;
    } else {
      for (let k = 0; k < o.nodes; k++) lossy(k, o.loss, true);
      relay!.kill("SIGUSR1");
      impaired = true;
      await sleep(o.lossyMs);
      impaired = false;
      const stopped = performance.now();
      await stopActivity();
      const ms = await waitFor(exact, o.convergeTimeoutMs);
      convergeMs = ms === null ? null : performance.now() - stopped;
      relay!.kill("SIGUSR2");
      for (let k = 0; k < o.nodes; k++) dropped += droppedPackets(k);
      for (let k = 0; k < o.nodes; k++) lossy(k, o.loss, false);
    }
    // Still exact a while later: nothing flaps back.
    await sleep(3000);
    const final = tally();
    const presences = await Promise.all(servers.map((s) => nodePresences(s.url)));
    return {
      engine,
      kind,
      initialMs: initialMs === null ? null : Math.round(initialMs),
      detectOthersMs,
      detectIsolatedMs,
      convergeMs,
      ...final,
      presences,
      expectedPresences: clients.filter((c) => c.live).length,
      falseLeaves,
      crossTyping: percentiles(crossMs),
      droppedPackets: dropped,
      toggles,
      churns,
      loadavg: { start: load0, end: loadavg()[0]! },
    };
  } finally {
    if (activity) clearInterval(activity);
    for (const c of clients) c.conn?.close();
    await Promise.all(servers.map((s) => s.stop()));
    for (const child of children) child.kill("SIGKILL");
    teardown(o.nodes);
  }
}

const ms = (value: number | null) =>
  value === null || Number.isNaN(value) ? "—" : String(Math.round(value));

/**
 * Runs each engine and kind in turn; prints a table, writes JSON into `outDir` (default
 * bench/results) and returns the results. Removes its namespaces even on failure.
 */
export async function runPartition(
  overrides: Partial<PartitionOptions>,
  outDir = join(repoRoot, "bench", "results"),
): Promise<PartitionResult[]> {
  const o = { ...PARTITION_DEFAULTS, ...overrides };
  if (process.getuid?.() !== 0) throw new Error("partition needs root (network namespaces)");
  process.once("exit", () => teardown(o.nodes));
  const engines = String(o.engines).split(",") as Engine[];
  const kinds = String(o.runs).split(",") as Kind[];
  for (const e of engines)
    if (e !== "redis" && e !== "nats") throw new Error(`unknown engine "${e}"`);
  for (const k of kinds) if (k !== "cut" && k !== "lossy") throw new Error(`unknown run "${k}"`);
  const results: PartitionResult[] = [];
  for (const engine of engines) {
    for (const kind of kinds) {
      process.stderr.write(`partition / ${engine} / ${kind}\n`);
      const result = await runOne(o, engine, kind);
      process.stderr.write(`  ${JSON.stringify(result)}\n`);
      results.push(result);
    }
  }
  const out = process.stdout;
  out.write(
    `\n| bus | run | initial ms | detect: others / isolated ms | converge ms | ghosts | lost | dup metas | stale typing | false leaves | cross-node typing while impaired p50 / p99 ms (n) | dropped packets | presences per node (expected) | toggles / churns | load |\n|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---:|---:|\n`,
  );
  for (const r of results) {
    out.write(
      `| ${r.engine} | ${r.kind} | ${ms(r.initialMs)} | ${r.kind === "cut" ? `${ms(r.detectOthersMs)} / ${ms(r.detectIsolatedMs)}` : "—"} | ${ms(r.convergeMs)} | ${r.ghosts} | ${r.lost} | ${r.duplicates} | ${r.staleTyping} | ${r.falseLeaves} | ${ms(r.crossTyping.p50)} / ${ms(r.crossTyping.p99)} (${r.crossTyping.count}) | ${r.droppedPackets} | ${r.presences.join(", ")} (${r.expectedPresences}) | ${r.toggles} / ${r.churns} | ${r.loadavg.start.toFixed(1)}→${r.loadavg.end.toFixed(1)} |\n`,
    );
  }
  mkdirSync(outDir, { recursive: true });
  const file = join(outDir, `partition-${Date.now()}.json`);
  const machine = { cpus: cpus().length, model: cpus()[0]?.model ?? "unknown" };
  writeFileSync(file, `${JSON.stringify({ options: o, machine, results }, null, 2)}\n`);
  out.write(`\nwrote ${file}\n`);
  return results;
}
