/**
 * The abuse scenario: how responsive the server stays for everyone else while one client
 * attacks it. Probes (connect + join + ping, then close) run first with no attacker, then
 * during each flood of {@link AbuseOptions.attacks}; each phase reports the probes' latency as a ratio
 * to the quiet phase's, what the attacker managed to send, and the server's CPU and peak
 * memory.
 */
import { fork } from "node:child_process";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { WebSocket } from "ws";
import type { AbuseOptions, AbusePhase, AbuseResult, Attack, AttackerReport } from "../types.js";
import type { AttackerRequest } from "./attacker.js";
import { type Context, fillRoom } from "./scenarios.js";
import {
  cpuSeconds,
  heartbeats,
  log,
  now,
  percentiles,
  serverCpuSeconds,
  serverStats,
  sleep,
} from "./util.js";

const ROOM = "room:abuse";
const PROBE_TIMEOUT_MS = 10_000;
const MAX_PROBES_IN_FLIGHT = 20;
const attackerFile = join(fileURLToPath(new URL(".", import.meta.url)), "attacker.ts");

/** One probe: resolves with its latency (ms), or null when it did not complete in time. */
function probe(wsUrl: string, index: number): Promise<number | null> {
  const start = now();
  return new Promise((resolve) => {
    const ws = new WebSocket(`${wsUrl}/websocket?vsn=2.0.0&name=probe-${index}`);
    const finish = (latency: number | null): void => {
      clearTimeout(timer);
      ws.terminate();
      resolve(latency);
    };
    const timer = setTimeout(() => finish(null), PROBE_TIMEOUT_MS);
    ws.on("error", () => finish(null));
    ws.on("open", () => ws.send(`["1","1","${ROOM}","phx_join",{}]`));
    ws.on("message", (data: Buffer) => {
      const text = data.subarray(0, 64).toString();
      if (text.startsWith('["1","1",') && text.includes("phx_reply")) {
        ws.send(`["1","2","${ROOM}","ping",{"probe":${index}}]`);
      } else if (text.startsWith('["1","2",') && text.includes("phx_reply")) {
        finish(now() - start);
      }
    });
  });
}

/** Starts probes every `intervalMs` for `durationMs` (open loop); resolves with the results. */
async function probeFor(
  wsUrl: string,
  o: AbuseOptions,
  firstIndex: number,
): Promise<(number | null)[]> {
  const results: Promise<number | null>[] = [];
  let inFlight = 0;
  const end = now() + o.phaseMs;
  for (let i = firstIndex; now() < end; i++) {
    if (inFlight < MAX_PROBES_IN_FLIGHT) {
      inFlight++;
      results.push(
        probe(wsUrl, i).finally(() => {
          inFlight--;
        }),
      );
    }
    await sleep(o.probeIntervalMs);
  }
  return Promise.all(results);
}

interface Attacker {
  stop(): Promise<AttackerReport>;
}

async function startAttacker(request: AttackerRequest): Promise<Attacker> {
  const child = fork(attackerFile, [], {
    execArgv: process.execArgv,
    stdio: ["ignore", "inherit", "inherit", "ipc"],
  });
  const exited = new Promise<never>((_, reject) =>
    child.once("exit", (code) => reject(new Error(`attacker exited with ${code}`))),
  );
  const started = new Promise<void>((resolve) =>
    child.once("message", (message) => {
      if (message === "started") resolve();
    }),
  );
  child.send(request);
  await Promise.race([started, exited]);
  return {
    async stop() {
      const report = new Promise<AttackerReport>((resolve) =>
        child.once("message", (message) => resolve(message as AttackerReport)),
      );
      child.send("stop");
      return Promise.race([report, exited]);
    },
  };
}

export async function abuse(ctx: Context, o: AbuseOptions): Promise<AbuseResult> {
  const wsUrl = `${ctx.url.replace(/^http/, "ws")}/socket`;
  const cpu = process.cpuUsage();
  const room = await fillRoom(ctx, o.members, () => ROOM, 30_000);
  const stopHeartbeats = heartbeats(room.conns);
  const phases: AbusePhase[] = [];
  let baseline: { p50: number; p99: number } | undefined;
  let probeIndex = 0;
  for (const attack of ["none", ...o.attacks] as const) {
    log(`phase ${attack}`);
    const before = await serverStats(ctx.url, "reset");
    const attacker =
      attack === "none"
        ? null
        : await startAttacker({
            url: wsUrl,
            attack: attack as Attack,
            largeFrameBytes: o.largeFrameBytes,
            topic: ROOM,
          });
    const samples = await probeFor(wsUrl, o, probeIndex);
    probeIndex += samples.length;
    const report = attacker ? await attacker.stop() : null;
    const after = await serverStats(ctx.url);
    const done = samples.filter((s): s is number => s !== null);
    const latencyMs = percentiles(done);
    baseline ??= { p50: latencyMs.p50, p99: latencyMs.p99 };
    phases.push({
      attack,
      probes: samples.length,
      failedProbes: samples.length - done.length,
      latencyMs,
      p50Ratio: latencyMs.p50 / baseline.p50,
      p99Ratio: latencyMs.p99 / baseline.p99,
      serverCpuS: serverCpuSeconds(before, after),
      serverPeakRss: after.peakRss,
      membersConnected: room.conns.filter((c) => c.open).length,
      attacker: report,
    });
    log(
      `  p50 ${latencyMs.p50.toFixed(1)} ms, p99 ${latencyMs.p99.toFixed(1)} ms, ${samples.length - done.length} failed${report ? `; attacker sent ${report.framesSent} frames over ${report.connections} connections, closes ${JSON.stringify(report.closes)}` : ""}`,
    );
    // Let the server finish what the attacker left queued before the next phase.
    await sleep(1000);
  }
  stopHeartbeats();
  for (const conn of room.conns) conn.close();
  return {
    phases,
    failed: room.failed,
    firstError: room.firstError,
    loadgenCpuS: cpuSeconds(cpu),
  };
}
