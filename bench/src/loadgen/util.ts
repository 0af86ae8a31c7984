import type { ServerStats } from "../servers/common.js";
import { type Conn, type Driver, sourceAddress } from "./conn.js";

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export const now = (): number => performance.now();

/** Progress goes to stderr, which the harness shows as it runs. */
export function log(message: string): void {
  process.stderr.write(`  [loadgen] ${message}\n`);
}

export async function serverStats(
  statsUrl: string,
  query: "gc" | "reset" | "gc&reset" | "" = "",
): Promise<ServerStats> {
  const response = await fetch(`${statsUrl}/stats${query ? `?${query}` : ""}`);
  return (await response.json()) as ServerStats;
}

export async function heapSnapshot(statsUrl: string, file: string): Promise<string> {
  const response = await fetch(`${statsUrl}/heapsnapshot?file=${encodeURIComponent(file)}`);
  return ((await response.json()) as { file: string }).file;
}

/** This process's CPU since `since`, in seconds. */
export function cpuSeconds(since: NodeJS.CpuUsage): number {
  const used = process.cpuUsage(since);
  return (used.user + used.system) / 1e6;
}

export function serverCpuSeconds(before: ServerStats, after: ServerStats): number {
  return (after.cpuUserUs + after.cpuSystemUs - before.cpuUserUs - before.cpuSystemUs) / 1e6;
}

export interface Ramp {
  conns: Conn[];
  failed: number;
  firstError: string | null;
}

/**
 * Opens `count` connections (indexes from `firstIndex`) with at most `concurrency`
 * handshakes in flight, then runs `each` (e.g. join) on each connection as soon as it is
 * open. Failures are counted.
 */
export async function openAll(
  driver: Driver,
  url: string,
  count: number,
  concurrency: number,
  each: (conn: Conn) => Promise<void>,
  deadline: number,
  firstIndex = 0,
): Promise<Ramp> {
  const conns: Conn[] = [];
  let failed = 0;
  let firstError: string | null = null;
  let next = firstIndex;
  const end = firstIndex + count;
  const pending: Promise<void>[] = [];
  let lastLog = now();
  const worker = async (): Promise<void> => {
    while (next < end && now() < deadline) {
      const index = next++;
      try {
        const localAddress = sourceAddress(index);
        const conn = await driver({ url, index, ...(localAddress ? { localAddress } : {}) });
        conns.push(conn);
        pending.push(
          each(conn).catch((err: unknown) => {
            failed++;
            firstError ??= String(err);
          }),
        );
      } catch (err) {
        failed++;
        firstError ??= String(err);
      }
      if (now() - lastLog > 2000) {
        lastLog = now();
        log(`opened ${conns.length}/${count} (${failed} failed)`);
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, worker));
  await Promise.race([Promise.all(pending), sleep(Math.max(0, deadline - now()))]);
  return { conns, failed, firstError };
}

/** Sends Phoenix heartbeats every 30 s, spread over the period; returns the stopper. */
export function heartbeats(conns: readonly Conn[], periodMs = 30_000): () => void {
  const tickMs = 250;
  const perTick = Math.max(1, Math.ceil((conns.length * tickMs) / periodMs));
  let cursor = 0;
  const timer = setInterval(() => {
    for (let i = 0; i < perTick && conns.length > 0; i++) {
      conns[cursor % conns.length]?.heartbeat();
      cursor++;
    }
  }, tickMs);
  return () => clearInterval(timer);
}

/** Waits until `count()` has not changed for `quietMs`, or `maxMs` has passed. */
export async function settle(count: () => number, quietMs: number, maxMs: number): Promise<void> {
  const start = now();
  let last = count();
  let lastChange = now();
  while (now() - start < maxMs) {
    await sleep(50);
    const current = count();
    if (current !== last) {
      last = current;
      lastChange = now();
    } else if (now() - lastChange >= quietMs) return;
  }
}

export function totalFrames(conns: readonly Conn[]): number {
  let frames = 0;
  for (const conn of conns) frames += conn.frames;
  return frames;
}

export function totalBytes(conns: readonly Conn[]): number {
  let bytes = 0;
  for (const conn of conns) bytes += conn.bytes;
  return bytes;
}

export interface Percentiles {
  count: number;
  p50: number;
  p95: number;
  p99: number;
  max: number;
  mean: number;
}

export function percentiles(samples: number[]): Percentiles {
  if (samples.length === 0) return { count: 0, p50: NaN, p95: NaN, p99: NaN, max: NaN, mean: NaN };
  const sorted = Float64Array.from(samples).sort();
  const at = (q: number): number =>
    sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)] ?? NaN;
  let sum = 0;
  for (const value of sorted) sum += value;
  return {
    count: sorted.length,
    p50: at(0.5),
    p95: at(0.95),
    p99: at(0.99),
    max: sorted[sorted.length - 1] ?? NaN,
    mean: sum / sorted.length,
  };
}

/** Evenly spaced indexes in [from, to): the connections that measure latency. */
export function spread(from: number, to: number, count: number): number[] {
  const span = to - from;
  const n = Math.min(count, span);
  return Array.from({ length: n }, (_, i) => from + Math.floor((i * span) / n));
}
