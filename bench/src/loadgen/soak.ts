import type { SoakOptions, SoakResult, SoakSample } from "../types.js";
import { type Conn, memberName } from "./conn.js";
import { MemberView } from "./members.js";
import type { Context } from "./scenarios.js";
import { cpuSeconds, log, now, serverStats, settle, sleep, totalFrames } from "./util.js";

const topicOf = (room: number): string => `room:soak-${room}`;

interface Client {
  index: number;
  conn: Conn | null;
  room: number;
  joined: boolean;
  busy: boolean;
  typing: boolean;
}

/** Reads one unlabelled gauge from Prometheus text; null when absent. */
export function gauge(text: string, name: string): number | null {
  const match = new RegExp(`^${name}(?:\\{[^}]*\\})? ([0-9.eE+-]+)$`, "m").exec(text);
  return match ? Number(match[1]) : null;
}

/** Least-squares slope of y over x. */
function slope(points: readonly [number, number][]): number {
  const n = points.length;
  if (n < 2) return Number.NaN;
  let sx = 0;
  let sy = 0;
  for (const [x, y] of points) {
    sx += x;
    sy += y;
  }
  const mx = sx / n;
  const my = sy / n;
  let num = 0;
  let den = 0;
  for (const [x, y] of points) {
    num += (x - mx) * (y - my);
    den += (x - mx) ** 2;
  }
  return den === 0 ? Number.NaN : num / den;
}

/** Heap growth per minute (after GC) below which memory counts as flat. */
export const FLAT_BYTES_PER_MIN = 256 * 1024;

/**
 * A steady population churns for `durationMs`: clients drop their connection and come
 * back, or leave their room and join another, and toggle typing. One observer per room
 * never churns. The server's heap after GC is sampled throughout. At the end the churn
 * stops, everyone is connected and joined again, and each observer's list must be
 * exactly the clients in its room.
 */
export async function soak(ctx: Context, o: SoakOptions): Promise<SoakResult> {
  const cpu = process.cpuUsage();
  let opErrors = 0;
  let firstError: string | null = null;
  const fail = (err: unknown): void => {
    opErrors++;
    firstError ??= err instanceof Error ? err.message : String(err);
  };
  const connect = (index: number): Promise<Conn> => ctx.driver({ url: ctx.url, index });

  // Observers: one per room, indexes after the population.
  const observers: { conn: Conn; view: MemberView }[] = [];
  for (let room = 0; room < o.rooms; room++) {
    const conn = await connect(o.clients + room);
    const view = new MemberView();
    conn.onPresence = (event, payload) => view.apply(event, payload);
    await conn.join(topicOf(room));
    observers.push({ conn, view });
  }
  const clients: Client[] = Array.from({ length: o.clients }, (_, index) => ({
    index,
    conn: null,
    room: index % o.rooms,
    joined: false,
    busy: false,
    typing: false,
  }));
  const bringUp = async (client: Client): Promise<void> => {
    client.busy = true;
    try {
      if (!client.conn?.open) {
        client.conn?.close();
        client.joined = false;
        const conn = await connect(client.index);
        client.conn = conn;
        conn.onClose = () => {
          if (client.conn === conn) client.joined = false;
        };
      }
      if (!client.joined) {
        await client.conn!.join(topicOf(client.room));
        client.joined = true;
        client.typing = false;
      }
    } finally {
      client.busy = false;
    }
  };
  // Open the population, 50 handshakes at a time.
  for (let i = 0; i < clients.length; i += 50) {
    await Promise.all(clients.slice(i, i + 50).map((c) => bringUp(c).catch(fail)));
  }
  const failed = clients.filter((c) => !c.joined).length;
  log(`${o.clients - failed} clients in ${o.rooms} rooms, ${o.rooms} observers; churning`);

  const heartbeat = setInterval(() => {
    for (const c of clients) c.conn?.heartbeat();
    for (const ob of observers) ob.conn.heartbeat();
  }, 10_000);
  const samples: SoakSample[] = [];
  const start = now();
  const sample = async (): Promise<void> => {
    const stats = await serverStats(ctx.url, "gc");
    samples.push({
      tS: (now() - start) / 1000,
      heapUsed: stats.heapUsed,
      rss: stats.rss,
      connections: stats.connections,
    });
  };
  await sample();
  let sampling = false;
  const sampler = setInterval(() => {
    if (sampling) return;
    sampling = true;
    sample()
      .catch(fail)
      .finally(() => {
        sampling = false;
      });
  }, o.sampleMs);

  let reconnects = 0;
  let rejoins = 0;
  let toggles = 0;
  const pick = (): Client | undefined => {
    for (let tries = 0; tries < 10; tries++) {
      const c = clients[Math.floor(Math.random() * clients.length)]!;
      if (!c.busy && c.joined) return c;
    }
    return undefined;
  };
  const churnOne = async (client: Client): Promise<void> => {
    client.busy = true;
    try {
      if (Math.random() < 0.5) {
        // Drop the connection without a goodbye, come back a moment later.
        reconnects++;
        client.conn?.close();
        client.joined = false;
        await sleep(Math.random() * 200);
        client.room = Math.floor(Math.random() * o.rooms);
      } else {
        rejoins++;
        await client.conn!.leave(topicOf(client.room));
        client.joined = false;
        client.room = Math.floor(Math.random() * o.rooms);
      }
    } finally {
      client.busy = false;
    }
    await bringUp(client);
  };
  const tickMs = 20;
  let churnDue = 0;
  let typingDue = 0;
  const ticker = setInterval(() => {
    churnDue += (o.churnPerS * tickMs) / 1000;
    typingDue += (o.typingPerS * tickMs) / 1000;
    for (; churnDue >= 1; churnDue--) {
      const c = pick();
      if (c) churnOne(c).catch(fail);
    }
    for (; typingDue >= 1; typingDue--) {
      const c = pick();
      if (!c) continue;
      c.typing = !c.typing;
      c.conn!.typing(topicOf(c.room), c.typing);
      toggles++;
    }
  }, tickMs);
  let lastLog = now();
  while (now() - start < o.durationMs) {
    await sleep(250);
    if (now() - lastLog >= 30_000) {
      lastLog = now();
      const last = samples[samples.length - 1];
      log(
        `${Math.round((now() - start) / 1000)} s: ${reconnects} reconnects, ${rejoins} rejoins, ${toggles} toggles; heap ${last ? (last.heapUsed / 2 ** 20).toFixed(1) : "?"} MB`,
      );
    }
  }
  clearInterval(ticker);
  clearInterval(sampler);
  const durationS = (now() - start) / 1000;

  // Quiesce: ops in flight finish, everyone is brought back, then diffs settle.
  const quiesceStart = now();
  while (clients.some((c) => c.busy) && now() - quiesceStart < 15_000) await sleep(50);
  for (let round = 0; round < 3; round++) {
    const down = clients.filter((c) => !c.joined || !c.conn?.open);
    if (down.length === 0) break;
    await Promise.all(down.map((c) => bringUp(c).catch(fail)));
  }
  for (const c of clients) {
    if (c.typing && c.joined) c.conn!.typing(topicOf(c.room), false);
    c.typing = false;
  }
  const observerConns = observers.map((ob) => ob.conn);
  await sleep(500);
  await settle(() => totalFrames(observerConns), 2000, 20_000);
  await sample();

  // Every observer's list against who is connected and joined.
  let ghosts = 0;
  let lost = 0;
  let duplicates = 0;
  observers.forEach(({ view }, room) => {
    const expected = new Set(
      clients.filter((c) => c.joined && c.room === room).map((c) => memberName(c.index)),
    );
    expected.add(memberName(o.clients + room));
    for (const [key, refs] of view.refs) {
      if (!expected.has(key)) ghosts++;
      if (refs.size > 1) duplicates++;
    }
    for (const key of expected) if (!view.has(key)) lost++;
  });
  const joinedNow = clients.filter((c) => c.joined).length;
  const expectedPresences = joinedNow + o.rooms;
  let metricsPresences: number | null = null;
  let metricsConnections: number | null = null;
  try {
    const text = await (await fetch(`${ctx.url}/metrics`)).text();
    metricsPresences = gauge(text, "tandem_presences");
    metricsConnections = gauge(text, "tandem_connections");
  } catch (err) {
    fail(err);
  }
  clearInterval(heartbeat);
  for (const c of clients) c.conn?.close();
  for (const ob of observers) ob.conn.close();

  // Memory: heap after GC, slope over each half (the first sample is the warm start).
  const half = durationS / 2;
  const points = (from: number, to: number): [number, number][] =>
    samples.filter((s) => s.tS >= from && s.tS <= to).map((s) => [s.tS / 60, s.heapUsed]);
  const heapSlopeFirst = slope(points(0, half));
  const heapSlopeSecond = slope(points(half, durationS + 60));
  const middle = samples.reduce((best, s) =>
    Math.abs(s.tS - half) < Math.abs(best.tS - half) ? s : best,
  );
  const end = samples[samples.length - 1]!;
  const heapGrowthSecondHalf = end.heapUsed - middle.heapUsed;
  // A slope per minute from a few seconds only extrapolates warm-up: judge memory on
  // runs of a minute or more.
  const memoryJudged = durationS >= 60;
  const memoryFlat =
    !memoryJudged || (Number.isFinite(heapSlopeSecond) && heapSlopeSecond <= FLAT_BYTES_PER_MIN);
  const consistent =
    (metricsPresences === null || metricsPresences === expectedPresences) &&
    (metricsConnections === null || metricsConnections === expectedPresences);
  const verdict =
    memoryFlat && ghosts === 0 && lost === 0 && duplicates === 0 && consistent ? "PASS" : "FAIL";
  log(
    `${reconnects} reconnects, ${rejoins} rejoins, ${toggles} toggles in ${durationS.toFixed(0)} s; ghosts ${ghosts}, lost ${lost}, duplicates ${duplicates}; presences ${metricsPresences}/${expectedPresences}; heap slope ${(heapSlopeFirst / 1024).toFixed(0)} then ${(heapSlopeSecond / 1024).toFixed(0)} KB/min${memoryJudged ? "" : " (not judged: run under 60 s)"}: ${verdict}`,
  );
  return {
    clients: o.clients,
    rooms: o.rooms,
    durationS,
    reconnects,
    rejoins,
    toggles,
    opErrors,
    samples,
    heapSlopeFirst,
    heapSlopeSecond,
    heapGrowthSecondHalf,
    ghosts,
    lost,
    duplicates,
    expectedPresences,
    metricsPresences,
    metricsConnections,
    memoryFlat,
    verdict,
    failed,
    firstError,
    loadgenCpuS: cpuSeconds(cpu),
  };
}
