import type {
  BroadcastOptions,
  BroadcastResult,
  BroadcastStep,
  CapacityOptions,
  CapacityResult,
  JoinStormOptions,
  JoinStormResult,
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
  totalBytes,
  totalFrames,
} from "./util.js";

const ROOM = "room:bench";

export interface Context {
  driver: Driver;
  url: string;
}

/**
 * N clients, already connected, send their joins to one room at the same moment; each
 * tracks whom it sees until it lists all N. The clock starts when the joins go out. In
 * counts mode a client has converged when a presence_summary of its counts N entries.
 */
export async function joinStorm(ctx: Context, o: JoinStormOptions): Promise<JoinStormResult> {
  const n = o.n;
  const counts = new Int32Array(n);
  // Entries in each client's last summary (-1: none yet).
  const summaries = new Int32Array(n).fill(-1);
  let summaryClients = 0;
  let known = 0;
  let converged = 0;
  let joined = 0;
  let allJoinedMs: number | null = null;
  let convergenceMs: number | null = null;
  let done: () => void = () => {};
  const allConverged = new Promise<void>((resolve) => {
    done = resolve;
  });

  const connectStart = now();
  const ramp = await openAll(ctx.driver, ctx.url, n, o.concurrency, async () => {}, now() + 90_000);
  const conns = ramp.conns.sort((a, b) => a.index - b.index);
  const connectS = (now() - connectStart) / 1000;
  log(`${conns.length} connected (${ramp.failed} failed) in ${connectS.toFixed(1)} s; joining`);
  const stopHeartbeats = heartbeats(conns);
  await sleep(500);

  const before = await serverStats(ctx.url, "gc&reset");
  const cpu = process.cpuUsage();
  const t0 = now();
  const curve: JoinStormResult["curve"] = [];
  const point = (): JoinStormResult["curve"][number] => ({
    tMs: Math.round(now() - t0),
    converged,
    known: known / (n * n),
    frames: totalFrames(conns),
    bytes: totalBytes(conns),
  });
  const sampler = setInterval(() => curve.push(point()), 100);
  let failed = ramp.failed;
  let firstError = ramp.firstError;
  const convergedOne = (): void => {
    converged++;
    if (converged === conns.length) {
      convergenceMs = now() - t0;
      done();
    }
  };
  for (const conn of conns) {
    const seen = new Uint8Array(n);
    const i = conn.index;
    // What the client knows: its last summary once it has one, else its list.
    const knows = (): number => (summaries[i]! >= 0 ? summaries[i]! : counts[i]!);
    let finished = false;
    const check = (previous: number): void => {
      known += knows() - previous;
      if (!finished && knows() === n) {
        finished = true;
        conn.onMembers = null;
        conn.onSummary = null;
        convergedOne();
      }
    };
    conn.onMembers = (joins, leaves) => {
      const previous = knows();
      for (const j of joins) {
        if (j < n && seen[j] === 0) {
          seen[j] = 1;
          counts[i]!++;
        }
      }
      for (const l of leaves) {
        if (l < n && seen[l] === 1) {
          seen[l] = 0;
          counts[i]!--;
        }
      }
      check(previous);
    };
    conn.onSummary = (entries) => {
      const previous = knows();
      if (summaries[i] === -1) summaryClients++;
      summaries[i] = entries;
      check(previous);
    };
    conn.join(ROOM).then(
      () => {
        if (++joined === conns.length) allJoinedMs = now() - t0;
      },
      (err: unknown) => {
        failed++;
        firstError ??= String(err);
      },
    );
  }
  await Promise.race([allConverged, sleep(o.timeoutMs)]);
  log(
    convergenceMs === null
      ? `not converged within ${o.timeoutMs} ms (${converged}/${n} clients, ${joined} joined)`
      : `converged in ${Math.round(convergenceMs)} ms`,
  );
  // Count what is still on its way (bounded), then stop. Counts mode sends one more
  // summary per interval while the room changes, so quiet means > 1 s without frames.
  if (convergenceMs !== null) await settle(() => totalFrames(conns), 1500, 5000);
  clearInterval(sampler);
  curve.push(point());
  const messages = totalFrames(conns);
  const bytes = totalBytes(conns);
  const loadgenCpuS = cpuSeconds(cpu);
  const after = await serverStats(ctx.url);
  const steady =
    convergenceMs !== null && o.steadyMs > 0 ? await steadyTraffic(ctx, conns, o.steadyMs) : null;
  stopHeartbeats();
  for (const conn of conns) conn.close();
  return {
    n,
    connectS,
    failed,
    firstError,
    loadgenCpuS,
    allJoinedMs,
    convergenceMs,
    convergedClients: converged,
    summaryClients,
    messages,
    bytes,
    serverCpuS: serverCpuSeconds(before, after),
    serverPeakRss: after.peakRss,
    curve,
    steady,
  };
}

/**
 * A converged room where 1 % of the members toggle typing, each once a second (staggered):
 * frames and bytes per member per second, in one-second buckets.
 */
async function steadyTraffic(
  ctx: Context,
  conns: readonly Conn[],
  durationMs: number,
): Promise<JoinStormResult["steady"]> {
  const typers = conns.slice(0, Math.max(1, Math.floor(conns.length / 100)));
  const members = conns.length;
  const before = await serverStats(ctx.url);
  const frames0 = totalFrames(conns);
  const bytes0 = totalBytes(conns);
  const buckets: NonNullable<JoinStormResult["steady"]>["buckets"] = [];
  let lastFrames = frames0;
  let lastBytes = bytes0;
  const bucketTimer = setInterval(() => {
    const f = totalFrames(conns);
    const b = totalBytes(conns);
    buckets.push({
      framesPerMember: (f - lastFrames) / members,
      bytesPerMember: (b - lastBytes) / members,
    });
    lastFrames = f;
    lastBytes = b;
  }, 1000);
  let toggles = 0;
  const values = new Uint8Array(typers.length);
  const start = now();
  const timers = typers.map((typer, k) =>
    setTimeout(
      () => {
        const toggle = (): void => {
          values[k] = values[k] ? 0 : 1;
          typer.typing(ROOM, values[k] === 1);
          toggles++;
        };
        toggle();
        timers[k] = setInterval(toggle, 1000);
      },
      (k / typers.length) * 1000,
    ),
  );
  await sleep(durationMs);
  for (const timer of timers) clearTimeout(timer);
  const seconds = (now() - start) / 1000;
  clearInterval(bucketTimer);
  const after = await serverStats(ctx.url);
  // Leave nobody typing (the revert would otherwise fire later).
  typers.forEach((typer, k) => {
    if (values[k]) typer.typing(ROOM, false);
  });
  const frames = lastFrames - frames0;
  const bytes = lastBytes - bytes0;
  const bucketSeconds = Math.max(1, buckets.length);
  log(
    `steady: ${toggles} toggles by ${typers.length} typers in ${seconds.toFixed(1)} s, ${(frames / members / bucketSeconds).toFixed(2)} frames and ${(bytes / members / bucketSeconds).toFixed(0)} B per member per s`,
  );
  return {
    seconds,
    typers: typers.length,
    toggles,
    framesPerMemberPerS: frames / members / bucketSeconds,
    bytesPerMemberPerS: bytes / members / bucketSeconds,
    buckets,
    serverCpuS: serverCpuSeconds(before, after),
  };
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
  const before = await serverStats(ctx.url, "reset");
  const framesBefore = totalFrames(conns);
  const cpu = process.cpuUsage();
  const start = now();
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
  log(`${toggles} toggles, ${samples.length} observations, p99 ${latency.p99.toFixed(1)} ms`);
  return {
    room: o.room,
    typers: typers.length,
    toggles,
    observers: observers.length,
    seenRatio: samples.length / Math.max(1, toggles * observers.length),
    latencyMs: latency,
    messages,
    serverCpuS: serverCpuSeconds(before, after),
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
