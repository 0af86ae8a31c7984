/**
 * `npm run bench -- cluster-scale --real [options]`: the cluster-scale workload on real
 * processes. K bench Tandem servers (the examples/room endpoint) over a bus of their
 * own, real WebSocket clients from this process, and per node what the bus adapter
 * counted (messages and bytes received from other nodes), the presence entries it holds
 * (`tandem_presences`) and its CPU, for the interest-routed design and for the
 * everything-everywhere one (`TANDEM_DESIGN=everywhere`: one shard, periodic deltas).
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { cpus, loadavg } from "node:os";
import { join } from "node:path";
import { startBus } from "../bus.js";
import type { Conn } from "../loadgen/conn.js";
import { connectPhoenix } from "../loadgen/phoenix-conn.js";
import { heartbeats, serverStats, sleep } from "../loadgen/util.js";
import { repoRoot, type ServerProcess, startServer } from "../procs.js";
import type { ServerStats } from "../servers/common.js";
import { ENGINES, type Engine } from "../types.js";

/** The options `--flag value` may set, with their defaults. */
export const REAL_SCALE_DEFAULTS = {
  nodes: "2,4,8",
  placements: "routed,random",
  designs: "interest,everywhere",
  engine: "redis" as Engine,
  roomsPerNode: 40,
  members: 6,
  typingPerS: 0.1,
  churnPerS: 0.01,
  shoutsPerS: 0.1,
  warmupMs: 10_000,
  durationMs: 15_000,
  seed: 1,
};

export type RealScaleOptions = typeof REAL_SCALE_DEFAULTS;
type Design = "interest" | "everywhere";
type Placement = "routed" | "random";

/** What one node received, held and spent over the measured window. */
export interface RealNodeFigures {
  messagesPerS: number;
  bytesPerS: number;
  /** `tandem_presences` at the end. */
  entries: number;
  /** Entries of the rooms that have a member on this node (what it must hold). */
  servedEntries: number;
  /** CPU of the node process, % of one core. */
  cpuPercent: number;
}

export interface RealScaleRow {
  nodes: number;
  design: Design;
  placement: Placement;
  engine: Engine;
  perNode: RealNodeFigures[];
  clients: number;
  joinFailures: number;
  toggles: number;
  churns: number;
  shouts: number;
  loadavg: { start: number; end: number };
}

/** Seeded, so both designs see the same placement. */
function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

/** The node a member of `room` sits on (routed: the room's node, half of every other room on the next). */
function nodeOf(
  placement: Placement,
  room: number,
  member: number,
  o: { members: number },
  k: number,
  rng: () => number,
): number {
  if (placement === "random") return Math.floor(rng() * k);
  const home = room % k;
  return room % 2 === 1 && member >= o.members / 2 ? (home + 1) % k : home;
}

async function presences(url: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const match = /^tandem_presences (\d+)/m.exec(text);
  return match ? Number(match[1]) : Number.NaN;
}

const round1 = (n: number) => Math.round(n * 10) / 10;

/** One K, design and placement: fresh bus, fresh nodes, the workload, the figures. */
async function runOne(
  o: RealScaleOptions,
  k: number,
  design: Design,
  placement: Placement,
): Promise<RealScaleRow> {
  const load0 = loadavg()[0]!;
  const bus = await startBus(o.engine);
  const servers: ServerProcess[] = [];
  const conns = new Map<number, Conn>();
  let stopHeartbeats = (): void => {};
  let timer: ReturnType<typeof setInterval> | undefined;
  try {
    const prefix = `scale-${Date.now()}`;
    servers.push(
      ...(await Promise.all(
        Array.from({ length: k }, (_, n) =>
          startServer("tandem", {
            name: `scale/${design}/${n}`,
            env: {
              ...bus.env,
              REDIS_PREFIX: prefix,
              NATS_PREFIX: prefix,
              NODE_NAME: `n${n}`,
              TANDEM_DESIGN: design,
            },
          }),
        ),
      )),
    );
    const rng = random(o.seed);
    const rooms = o.roomsPerNode * k;
    // Each member: its room and node; churn replaces a member by a new one in its place.
    const seats: { room: number; node: number; index: number }[] = [];
    for (let room = 0; room < rooms; room++) {
      for (let m = 0; m < o.members; m++) {
        seats.push({ room, node: nodeOf(placement, room, m, o, k, rng), index: seats.length });
      }
    }
    let nextIndex = seats.length;
    let joinFailures = 0;
    const seat = async (s: { room: number; node: number; index: number }): Promise<void> => {
      try {
        const conn = await connectPhoenix({ url: servers[s.node]!.url, index: s.index });
        conns.set(s.index, conn);
        await conn.join(`room:${s.room}`);
      } catch {
        joinFailures++;
      }
    };
    for (let i = 0; i < seats.length; i += 50) {
      await Promise.all(seats.slice(i, i + 50).map(seat));
    }
    stopHeartbeats = heartbeats([...conns.values()]);
    process.stderr.write(
      `  [scale] K=${k} ${placement} ${design}: ${conns.size} clients in ${rooms} rooms (${joinFailures} failed)\n`,
    );
    // Poisson-ish: each 100 ms slice, each member toggles or churns with its rate × 0.1 s.
    let toggles = 0;
    let churns = 0;
    let shouts = 0;
    const typing = new Map<number, boolean>();
    const sliceS = 0.1;
    timer = setInterval(() => {
      for (const s of seats) {
        const conn = conns.get(s.index);
        if (!conn?.open) continue;
        if (rng() < o.typingPerS * sliceS) {
          const value = !(typing.get(s.index) ?? false);
          typing.set(s.index, value);
          conn.typing(`room:${s.room}`, value);
          toggles++;
        }
        if (rng() < o.churnPerS * sliceS) {
          conn.close();
          conns.delete(s.index);
          typing.delete(s.index);
          s.index = nextIndex++;
          churns++;
          void seat(s);
        }
      }
      for (let room = 0; room < rooms; room++) {
        if (rng() >= o.shoutsPerS * sliceS) continue;
        const member = seats[room * o.members + Math.floor(rng() * o.members)]!;
        const conn = conns.get(member.index);
        if (conn?.open) {
          conn.shout(`room:${room}`, "hi");
          shouts++;
        }
      }
    }, sliceS * 1000);
    await sleep(o.warmupMs);
    const before = await Promise.all(servers.map((s) => serverStats(s.url)));
    const counted = { toggles, churns, shouts };
    const start = performance.now();
    await sleep(o.durationMs);
    const after = await Promise.all(servers.map((s) => serverStats(s.url)));
    const seconds = (performance.now() - start) / 1000;
    const entries = await Promise.all(servers.map((s) => presences(s.url)));
    const roomSize = new Map<number, number>();
    for (const s of seats) roomSize.set(s.room, (roomSize.get(s.room) ?? 0) + 1);
    const perNode = servers.map((_, n): RealNodeFigures => {
      const a = after[n]!;
      const b = before[n]!;
      const served = new Set(seats.filter((s) => s.node === n).map((s) => s.room));
      const bus = (stats: ServerStats) => stats.bus ?? { received: 0, receivedBytes: 0 };
      return {
        messagesPerS: round1((bus(a).received - bus(b).received) / seconds),
        bytesPerS: Math.round((bus(a).receivedBytes - bus(b).receivedBytes) / seconds),
        entries: entries[n]!,
        servedEntries: [...served].reduce((sum, room) => sum + roomSize.get(room)!, 0),
        cpuPercent: round1(
          (a.cpuUserUs + a.cpuSystemUs - b.cpuUserUs - b.cpuSystemUs) / 1e4 / seconds,
        ),
      };
    });
    return {
      nodes: k,
      design,
      placement,
      engine: o.engine,
      perNode,
      clients: seats.length,
      joinFailures,
      toggles: toggles - counted.toggles,
      churns: churns - counted.churns,
      shouts: shouts - counted.shouts,
      loadavg: { start: load0, end: loadavg()[0]! },
    };
  } finally {
    if (timer) clearInterval(timer);
    stopHeartbeats();
    for (const conn of conns.values()) conn.close();
    await Promise.all(servers.map((s) => s.stop()));
    await bus.stop();
  }
}

const mean = (rows: RealNodeFigures[], pick: (f: RealNodeFigures) => number): number =>
  rows.reduce((sum, f) => sum + pick(f), 0) / rows.length;

/**
 * Runs every K, placement and design in turn; prints a table per placement, writes JSON
 * into `outDir` (default bench/results) and returns the rows.
 */
export async function runRealClusterScale(
  overrides: Partial<RealScaleOptions>,
  outDir = join(repoRoot, "bench", "results"),
): Promise<RealScaleRow[]> {
  const o = { ...REAL_SCALE_DEFAULTS, ...overrides };
  if (!ENGINES.includes(o.engine)) throw new Error(`unknown engine "${o.engine}"`);
  const ks = String(o.nodes).split(",").map(Number);
  const placements = String(o.placements).split(",") as Placement[];
  const designs = String(o.designs).split(",") as Design[];
  for (const p of placements) {
    if (p !== "routed" && p !== "random") throw new Error(`unknown placement "${p}"`);
  }
  for (const d of designs) {
    if (d !== "interest" && d !== "everywhere") throw new Error(`unknown design "${d}"`);
  }
  const rows: RealScaleRow[] = [];
  for (const placement of placements) {
    for (const k of ks) {
      for (const design of designs) rows.push(await runOne(o, k, design, placement));
    }
  }
  const out = process.stdout;
  for (const placement of placements) {
    out.write(
      `\n${placement}, over ${o.engine}: means per node (max), entries (of rooms served)\n\n`,
    );
    out.write(
      `| K | design | msgs/s | KB/s (max) | entries (served) | CPU % (max) | toggles/churns/shouts | load |\n|---:|---|---:|---:|---:|---:|---:|---:|\n`,
    );
    for (const r of rows.filter((row) => row.placement === placement)) {
      const f = r.perNode;
      const maxKb = Math.max(...f.map((n) => n.bytesPerS)) / 1024;
      const maxCpu = Math.max(...f.map((n) => n.cpuPercent));
      out.write(
        `| ${r.nodes} | ${r.design} | ${mean(f, (n) => n.messagesPerS).toFixed(1)} | ${(mean(f, (n) => n.bytesPerS) / 1024).toFixed(1)} (${maxKb.toFixed(1)}) | ${mean(f, (n) => n.entries).toFixed(0)} (${mean(f, (n) => n.servedEntries).toFixed(0)}) | ${mean(f, (n) => n.cpuPercent).toFixed(1)} (${maxCpu.toFixed(1)}) | ${r.toggles}/${r.churns}/${r.shouts} | ${r.loadavg.start.toFixed(1)}→${r.loadavg.end.toFixed(1)} |\n`,
      );
    }
  }
  mkdirSync(outDir, { recursive: true });
  const file = join(outDir, `cluster-scale-real-${Date.now()}.json`);
  const machine = { cpus: cpus().length, model: cpus()[0]?.model ?? "unknown" };
  writeFileSync(file, `${JSON.stringify({ options: o, machine, rows }, null, 2)}\n`);
  out.write(`\nwrote ${file}\n`);
  return rows;
}
