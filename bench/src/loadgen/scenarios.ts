import type {
  BroadcastOptions,
  BroadcastResult,
  BroadcastStep,
  CapacityOptions,
  CapacityResult,
  TypingOptions,
  TypingResult,
} from "../types.js";
import type { Conn, Driver } from "./conn.js";
import {
  cpuSeconds,
  heapSnapshot,
  heartbeats,
  log,
  now,
  openAll,
  percentiles,
  serverCpuSeconds,
  serverStats,
  settle,
  sleep,
  spread,
  totalFrames,
} from "./util.js";

const ROOM = "room:bench";

export interface Context {
  driver: Driver;
  url: string;
}

/** Joins `room` clients to one room without tracking members, and waits for quiet. */
export async function fillRoom(
  ctx: Context,
  size: number,
  topic: (index: number) => string,
  deadlineMs: number,
  firstIndex = 0,
): Promise<{ conns: Conn[]; failed: number; firstError: string | null; rampS: number }> {
  const start = now();
  const ramp = await openAll(
    ctx.driver,
    ctx.url,
    size,
    200,
    (conn) => conn.join(topic(conn.index)),
    start + deadlineMs,
    firstIndex,
  );
  ramp.conns.sort((a, b) => a.index - b.index);
  await settle(() => totalFrames(ramp.conns), 1000, 30_000);
  const rampS = (now() - start) / 1000;
  log(`${ramp.conns.length} connected (${ramp.failed} failed) in ${rampS.toFixed(1)} s`);
  return { ...ramp, rampS };
}

/** A room of `room`; `typers` members toggle typing; observers time each change. */
export async function typing(ctx: Context, o: TypingOptions): Promise<TypingResult> {
  const { conns, failed, firstError } = await fillRoom(ctx, o.room, () => ROOM, 60_000);
  const stopHeartbeats = heartbeats(conns);
  const typers = conns.slice(0, o.typers);
  const observers = spread(o.typers, conns.length, o.observers).map((i) => conns[i]!);
  const sentAt = new Map<string, number>();
  const samples: number[] = [];
  for (const observer of observers) {
    observer.onTyping = (member, value) => {
      const t = sentAt.get(`${member}:${value}`);
      if (t !== undefined) samples.push(now() - t);
    };
  }
  let toggles = 0;
  const timers: ReturnType<typeof setTimeout>[] = [];
  const stops: (() => void)[] = [];
  typers.forEach((typer, k) => {
    let value = false;
    const toggle = (): void => {
      value = !value;
      sentAt.set(`${typer.index}:${value}`, now());
      typer.typing(ROOM, value);
      toggles++;
    };
    // End on "not typing", so that no server-side revert (Tandem's 3 s transient) fires
    // after the run and gets matched to an old send.
    stops.push(() => {
      if (value) toggle();
    });
    const offset = (k / typers.length) * o.intervalMs;
    timers.push(
      setTimeout(() => {
        toggle();
        timers.push(setInterval(toggle, o.intervalMs));
      }, offset),
    );
  });
  // Measured once both sides' compilers have seen the typing path: a server that coalesces
  // sent few diffs while the room filled, one that does not sent one per join, and would
  // otherwise start warm where the other starts cold.
  // Whole pairs of intervals, so that each typer has toggled an even number of times when
  // the run ends and its stop sends nothing: stops would otherwise come as one burst.
  await sleep(Math.ceil(o.warmupMs / (2 * o.intervalMs)) * 2 * o.intervalMs);
  samples.length = 0;
  toggles = 0;
  const before = await serverStats(ctx.url, "reset");
  const framesBefore = totalFrames(conns);
  const cpu = process.cpuUsage();
  const start = now();
  await sleep(o.durationMs);
  for (const timer of timers) clearTimeout(timer);
  for (const stop of stops) stop();
  // Let the last changes arrive (a coalesced diff may wait up to its cooldown).
  await sleep(2000);
  const durationS = (now() - start) / 1000;
  const loadgenCpuS = cpuSeconds(cpu);
  const after = await serverStats(ctx.url);
  stopHeartbeats();
  const messages = totalFrames(conns) - framesBefore;
  for (const conn of conns) conn.close();
  const latency = percentiles(samples);
  log(`${toggles} toggles, ${latency.count} observations, p99 ${latency.p99.toFixed(1)} ms`);
  return {
    room: o.room,
    typers: typers.length,
    toggles,
    observers: observers.length,
    seenRatio: latency.count / Math.max(1, toggles * observers.length),
    latencyMs: latency,
    messages,
    serverCpuS: serverCpuSeconds(before, after),
    serverInstructions: after.instructions,
    durationS,
    serverPeakRss: after.peakRss,
    failed,
    firstError,
    loadgenCpuS,
  };
}

/** A room of `room`; one publisher shouts at rising rates until the server saturates. */
export async function broadcast(ctx: Context, o: BroadcastOptions): Promise<BroadcastResult> {
  const { conns, failed, firstError } = await fillRoom(ctx, o.room, () => ROOM, 60_000);
  const stopHeartbeats = heartbeats(conns);
  const publisher = conns[0]!;
  const observers = spread(1, conns.length, o.observers).map((i) => conns[i]!);
  let samples: number[] = [];
  for (const observer of observers) {
    observer.onShout = (body) => {
      samples.push(now() - Number(body));
    };
  }
  const shouts = (): number => {
    let total = 0;
    for (const conn of conns) total += conn.shouts;
    return total;
  };
  const steps: BroadcastStep[] = [];
  const cpuAll = process.cpuUsage();
  await serverStats(ctx.url, "reset");
  for (const rate of o.rates) {
    samples = [];
    const before = await serverStats(ctx.url);
    const deliveredBefore = shouts();
    const cpu = process.cpuUsage();
    const start = now();
    let sent = 0;
    await new Promise<void>((resolve) => {
      const timer = setInterval(() => {
        const elapsed = now() - start;
        const due = Math.floor((Math.min(elapsed, o.stepMs) * rate) / 1000);
        while (sent < due) {
          publisher.shout(ROOM, String(now()));
          sent++;
        }
        if (elapsed >= o.stepMs) {
          clearInterval(timer);
          resolve();
        }
      }, 5);
    });
    // Drain: wait until deliveries stop, then rate them up to the last one.
    const lastDelivery = await settleAt(shouts, 300, 10_000);
    const seconds = Math.max(o.stepMs, lastDelivery - start) / 1000;
    const after = await serverStats(ctx.url);
    const delivered = shouts() - deliveredBefore;
    const expected = sent * conns.length;
    const latency = percentiles(samples);
    const serverCpuS = serverCpuSeconds(before, after);
    const step: BroadcastStep = {
      rate,
      sent,
      deliveredPerS: delivered / seconds,
      offeredPerS: expected / (o.stepMs / 1000),
      deliveredRatio: delivered / Math.max(1, expected),
      latencyMs: latency,
      serverCpuS,
      serverUsPerDelivery: (serverCpuS * 1e6) / Math.max(1, delivered),
      loadgenCpuS: cpuSeconds(cpu),
      seconds,
      saturated: false,
    };
    step.saturated =
      step.deliveredPerS < 0.9 * step.offeredPerS ||
      step.deliveredRatio < 0.99 ||
      !(latency.p99 < 1000);
    steps.push(step);
    log(
      `rate ${rate}/s: ${Math.round(step.deliveredPerS)} deliveries/s of ${Math.round(step.offeredPerS)} offered, p99 ${latency.p99.toFixed(1)} ms, server ${serverCpuS.toFixed(2)} s CPU${step.saturated ? " (saturated)" : ""}`,
    );
    if (step.saturated) break;
  }
  const after = await serverStats(ctx.url);
  stopHeartbeats();
  for (const conn of conns) conn.close();
  return {
    room: o.room,
    steps,
    maxDeliveredPerS: Math.max(0, ...steps.map((s) => s.deliveredPerS)),
    serverPeakRss: after.peakRss,
    failed,
    firstError,
    loadgenCpuS: cpuSeconds(cpuAll),
  };
}

/** Like settle, but returns when the count last changed. */
async function settleAt(count: () => number, quietMs: number, maxMs: number): Promise<number> {
  const start = now();
  let last = count();
  let lastChange = now();
  while (now() - start < maxMs) {
    await sleep(20);
    const current = count();
    if (current !== last) {
      last = current;
      lastChange = now();
    } else if (now() - lastChange >= quietMs) break;
  }
  return lastChange;
}

/**
 * C idle connections, each joined (rooms of `roomSize`) and tracked: memory and idle CPU.
 * Memory is read after GC before the first connection, after the first half and after
 * all; the second half's growth is the marginal cost of a connection, free of what the
 * process pays once (the young generation growing to its size, code, allocator arenas).
 */
export async function capacity(ctx: Context, o: CapacityOptions): Promise<CapacityResult> {
  const baseline = await serverStats(ctx.url, "gc&reset");
  const cpu = process.cpuUsage();
  const room = (i: number): string => `room:cap-${Math.floor(i / o.roomSize)}`;
  const half = Math.floor(o.connections / 2);
  const first = await fillRoom(ctx, half, room, 150_000);
  const stopFirst = heartbeats(first.conns);
  const middle = await serverStats(ctx.url, "gc");
  const second = await fillRoom(ctx, o.connections - half, room, 150_000, half);
  const conns = [...first.conns, ...second.conns];
  const failed = first.failed + second.failed;
  const firstError = first.firstError ?? second.firstError;
  const rampS = first.rampS + second.rampS;
  const stopSecond = heartbeats(second.conns);
  const stopHeartbeats = (): void => {
    stopFirst();
    stopSecond();
  };
  const loaded = await serverStats(ctx.url, "gc");
  const kbPer = (a: number, b: number): string => ((a - b) / 1024 / second.conns.length).toFixed(2);
  log(
    `second half, per connection: RSS ${kbPer(loaded.rss, middle.rss)} KB, heap used ${kbPer(loaded.heapUsed, middle.heapUsed)} KB, heap committed ${kbPer(loaded.heapTotal, middle.heapTotal)} KB`,
  );
  const idleStart = now();
  await sleep(o.idleMs);
  const idleEnd = await serverStats(ctx.url);
  const idleS = (now() - idleStart) / 1000;
  let snapshot: string | null = null;
  if (o.heapSnapshot) snapshot = await heapSnapshot(ctx.url, o.heapSnapshot);
  stopHeartbeats();
  const joined = conns.length;
  const loadgenCpuS = cpuSeconds(cpu);
  for (const conn of conns) conn.close();
  const per = (a: number, b: number): number => (a - b) / Math.max(1, joined);
  const perSecond = (a: number, b: number): number => (a - b) / Math.max(1, second.conns.length);
  return {
    connections: o.connections,
    joined,
    roomSize: o.roomSize,
    baselineRss: baseline.rss,
    rss: loaded.rss,
    heapUsed: loaded.heapUsed,
    rssPerConn: per(loaded.rss, baseline.rss),
    heapPerConn: per(loaded.heapUsed, baseline.heapUsed),
    marginalRssPerConn: perSecond(loaded.rss, middle.rss),
    marginalHeapPerConn: perSecond(loaded.heapUsed, middle.heapUsed),
    externalPerConn: per(
      loaded.external + loaded.arrayBuffers,
      baseline.external + baseline.arrayBuffers,
    ),
    idleCpu: serverCpuSeconds(loaded, idleEnd) / idleS,
    idleS,
    rampS,
    serverPeakRss: idleEnd.peakRss,
    heapSnapshot: snapshot,
    failed,
    firstError,
    loadgenCpuS,
  };
}
