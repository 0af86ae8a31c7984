/**
 * The join storm, spread over worker threads: N clients, already connected, send their
 * joins to one room at the same moment, and each tracks whom it sees until it lists all N.
 * In list mode the clients must decode about N² entries between them (2 GB at N = 5 000),
 * more than one thread keeps up with; each crew (storm-crew.ts) takes a share of the
 * clients on its own thread, and this coordinator adds up their reports.
 */
import { Worker } from "node:worker_threads";
import type { JoinStormOptions, JoinStormResult, Target } from "../types.js";
import type { Context } from "./scenarios.js";
import { type CrewCommand, type CrewProgress, type CrewReport, epochMs } from "./storm-crew.js";
import { cpuSeconds, log, serverCpuSeconds, serverStats, settle, sleep } from "./util.js";

const CREW_URL = new URL("./crew-thread.mjs", import.meta.url);

/**
 * The process's Node flags for a worker: the loader (tsx, the source condition) is not
 * passed on by default, and a heap limit must be given as a resource limit instead.
 */
function threadFlags(): {
  execArgv: string[];
  resourceLimits?: { maxOldGenerationSizeMb: number };
} {
  const heap = /^--max-old-space-size=(\d+)$/;
  const execArgv = process.execArgv.filter((flag) => !heap.test(flag));
  const limit = process.execArgv.map((flag) => heap.exec(flag)?.[1]).find(Boolean);
  return limit
    ? { execArgv, resourceLimits: { maxOldGenerationSizeMb: Number(limit) } }
    : { execArgv };
}

/** One running crew: its thread, its latest progress, and a way to wait for a report. */
class Crew {
  readonly worker: Worker;
  progress: CrewProgress | null = null;
  readonly #waiting = new Map<CrewReport["type"], (report: CrewReport) => void>();
  #failure: Error | null = null;

  constructor(setup: {
    target: Target;
    url: string;
    n: number;
    from: number;
    count: number;
    concurrency: number;
    deadline: number;
  }) {
    this.worker = new Worker(CREW_URL, { workerData: setup, ...threadFlags() });
    this.worker.on("message", (report: CrewReport) => {
      if (report.type === "progress") this.progress = report;
      this.#waiting.get(report.type)?.(report);
      this.#waiting.delete(report.type);
    });
    this.worker.on("error", (err) => {
      this.#failure = err;
      for (const resolve of this.#waiting.values()) resolve({ type: "closed" });
    });
  }

  send(command: CrewCommand): void {
    this.worker.postMessage(command);
  }

  /** The crew's next report of `type`; throws if the crew died instead. */
  next<T extends CrewReport["type"]>(type: T): Promise<Extract<CrewReport, { type: T }>> {
    return new Promise((resolve, reject) => {
      if (this.#failure) {
        reject(this.#failure);
        return;
      }
      this.#waiting.set(type, (report) => {
        if (this.#failure) reject(this.#failure);
        else resolve(report as Extract<CrewReport, { type: T }>);
      });
    });
  }
}

/** Sums a field of every crew's latest progress. */
function total(crews: readonly Crew[], field: "converged" | "known" | "joined" | "failed"): number;
function total(crews: readonly Crew[], field: "frames" | "bytes" | "summaryClients"): number;
function total(crews: readonly Crew[], field: keyof CrewProgress): number {
  let sum = 0;
  for (const crew of crews) sum += Number(crew.progress?.[field] ?? 0);
  return sum;
}

export async function joinStorm(
  ctx: Context,
  o: JoinStormOptions,
  target: Target,
): Promise<JoinStormResult> {
  const n = o.n;
  const workers = Math.max(1, Math.min(o.workers, n));
  const connectStart = performance.now();
  const crews = Array.from({ length: workers }, (_, w) => {
    const from = Math.floor((w * n) / workers);
    const to = Math.floor(((w + 1) * n) / workers);
    return new Crew({
      target,
      url: ctx.url,
      n,
      from,
      count: to - from,
      concurrency: Math.max(1, Math.round(o.concurrency / workers)),
      deadline: epochMs() + 90_000,
    });
  });
  const opened = await Promise.all(crews.map((crew) => crew.next("opened")));
  const connected = opened.reduce((sum, r) => sum + r.opened, 0);
  let failed = opened.reduce((sum, r) => sum + r.failed, 0);
  let firstError = opened.find((r) => r.firstError)?.firstError ?? null;
  const connectS = (performance.now() - connectStart) / 1000;
  log(
    `${connected} connected (${failed} failed) in ${connectS.toFixed(1)} s over ${workers} threads; joining`,
  );
  await sleep(500);

  const before = await serverStats(ctx.url, "gc&reset");
  const cpu = process.cpuUsage();
  const t0 = epochMs();
  for (const crew of crews) crew.send({ type: "join" });
  const curve: JoinStormResult["curve"] = [];
  const point = (): JoinStormResult["curve"][number] => ({
    tMs: Math.round(epochMs() - t0),
    converged: total(crews, "converged"),
    known: total(crews, "known") / (n * n),
    frames: total(crews, "frames"),
    bytes: total(crews, "bytes"),
  });
  const sampler = setInterval(() => curve.push(point()), 100);
  const deadline = t0 + o.timeoutMs;
  while (total(crews, "converged") < connected && epochMs() < deadline) await sleep(20);
  const latest = (field: "convergedAt" | "joinedAt"): number | null => {
    let last = Number.NEGATIVE_INFINITY;
    for (const crew of crews) {
      const at = crew.progress?.[field];
      if (at == null) return null;
      last = Math.max(last, at);
    }
    return last - t0;
  };
  const convergenceMs = total(crews, "converged") === connected ? latest("convergedAt") : null;
  // Which side was saturated during the storm itself, before the quiet tail dilutes it.
  const stormS = (epochMs() - t0) / 1000;
  const atStormEnd = await serverStats(ctx.url);
  const stormServerCpuS = serverCpuSeconds(before, atStormEnd);
  const busy = {
    server: stormServerCpuS / stormS,
    serverKernel: (atStormEnd.cpuSystemUs - before.cpuSystemUs) / 1e6 / stormServerCpuS,
    loadgen: cpuSeconds(cpu) / stormS,
  };
  log(
    convergenceMs === null
      ? `not converged within ${o.timeoutMs} ms (${total(crews, "converged")}/${n} clients, ${total(crews, "joined")} joined)`
      : `converged in ${Math.round(convergenceMs)} ms`,
  );
  // Count what is still on its way (bounded), then stop. Counts mode sends one more
  // summary per interval while the room changes, so quiet means > 1.5 s without frames.
  if (convergenceMs !== null) await settle(() => total(crews, "frames"), 1500, 5000);
  clearInterval(sampler);
  curve.push(point());
  const measuredS = (epochMs() - t0) / 1000;
  const loadgenCpuS = cpuSeconds(cpu);
  const after = await serverStats(ctx.url);
  const serverCpuS = serverCpuSeconds(before, after);
  failed = Math.max(failed, total(crews, "failed"));
  firstError ??= crews.find((crew) => crew.progress?.firstError)?.progress?.firstError ?? null;
  log(
    `storm: server ${(100 * busy.server).toFixed(0)} % of a core (${(100 * busy.serverKernel).toFixed(0)} % of it in the kernel), load generator ${(100 * busy.loadgen).toFixed(0)} % over ${workers} threads, for ${stormS.toFixed(1)} s`,
  );
  const steady =
    convergenceMs !== null && o.steadyMs > 0
      ? await steadyTraffic(ctx, crews, n, o.steadyMs)
      : null;
  await Promise.all(
    crews.map((crew) => {
      const closed = crew.next("closed");
      crew.send({ type: "close" });
      return closed;
    }),
  );
  return {
    n,
    connectS,
    failed,
    firstError,
    loadgenCpuS,
    loadgenThreads: workers,
    measuredS,
    busy,
    allJoinedMs: latest("joinedAt"),
    convergenceMs,
    convergedClients: total(crews, "converged"),
    summaryClients: total(crews, "summaryClients"),
    messages: total(crews, "frames"),
    bytes: total(crews, "bytes"),
    serverCpuS,
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
  crews: readonly Crew[],
  members: number,
  durationMs: number,
): Promise<JoinStormResult["steady"]> {
  const typers = Math.max(1, Math.floor(members / 100));
  const before = await serverStats(ctx.url);
  const frames0 = total(crews, "frames");
  const bytes0 = total(crews, "bytes");
  const buckets: NonNullable<JoinStormResult["steady"]>["buckets"] = [];
  let lastFrames = frames0;
  let lastBytes = bytes0;
  const bucketTimer = setInterval(() => {
    const f = total(crews, "frames");
    const b = total(crews, "bytes");
    buckets.push({
      framesPerMember: (f - lastFrames) / members,
      bytesPerMember: (b - lastBytes) / members,
    });
    lastFrames = f;
    lastBytes = b;
  }, 1000);
  const start = performance.now();
  const typed = crews.map((crew) => crew.next("typed"));
  for (const crew of crews) crew.send({ type: "type", typers, durationMs });
  const toggles = (await Promise.all(typed)).reduce((sum, r) => sum + r.toggles, 0);
  const seconds = (performance.now() - start) / 1000;
  clearInterval(bucketTimer);
  const after = await serverStats(ctx.url);
  const frames = lastFrames - frames0;
  const bytes = lastBytes - bytes0;
  const bucketSeconds = Math.max(1, buckets.length);
  log(
    `steady: ${toggles} toggles by ${typers} typers in ${seconds.toFixed(1)} s, ${(frames / members / bucketSeconds).toFixed(2)} frames and ${(bytes / members / bucketSeconds).toFixed(0)} B per member per s`,
  );
  return {
    seconds,
    typers,
    toggles,
    framesPerMemberPerS: frames / members / bucketSeconds,
    bytesPerMemberPerS: bytes / members / bucketSeconds,
    buckets,
    serverCpuS: serverCpuSeconds(before, after),
  };
}
