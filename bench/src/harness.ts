import { execSync } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { cpus, loadavg, totalmem } from "node:os";
import { join } from "node:path";
import { type Bus, startBus } from "./bus.js";
import { repoRoot, runLoadgen, type ServerProcess, startServer } from "./procs.js";
import { chartFor } from "./report/charts.js";
import { checks, type TargetCheck, tableFor } from "./report/tables.js";
import {
  type AbuseOptions,
  ATTACKS,
  type BroadcastOptions,
  type CapacityOptions,
  type ClusterOptions,
  type JoinStormOptions,
  type Scenario,
  type ScenarioOptions,
  type ScenarioResults,
  type SoakOptions,
  TARGET_LABELS,
  type Target,
  type TypingOptions,
} from "./types.js";

/** The open-files limit children inherit (a server needs one descriptor per connection). */
export function openFilesLimit(): number {
  try {
    const limit = Number(execSync("ulimit -n", { shell: "/bin/sh" }).toString().trim());
    return Number.isFinite(limit) ? limit : 1024;
  } catch {
    return 1024;
  }
}

export const DEFAULT_TARGETS: Record<Scenario, Target[]> = {
  "join-storm": ["tandem", "tandem-nocoalesce", "raw", "socketio"],
  typing: ["tandem", "tandem-nocoalesce", "raw", "socketio"],
  // Coalescing only batches presence diffs: it changes nothing for a broadcast.
  broadcast: ["tandem", "raw", "socketio"],
  capacity: ["tandem", "raw", "socketio"],
  // Both need Phoenix presence semantics (leave, refs, a cluster adapter): Tandem only.
  cluster: ["tandem"],
  soak: ["tandem"],
  // The floods test Tandem's own limits.
  abuse: ["tandem"],
};

/** Targets a scenario can run against. */
const SUPPORTED: Partial<Record<Scenario, Target[]>> = {
  cluster: ["tandem", "tandem-nocoalesce", "tandem-counts"],
  soak: ["tandem", "tandem-nocoalesce", "tandem-counts"],
  abuse: ["tandem", "tandem-nocoalesce", "tandem-counts"],
};

export function defaultOptions<S extends Scenario>(scenario: S): ScenarioOptions[S] {
  const all: ScenarioOptions = {
    "join-storm": {
      n: 2000,
      concurrency: 200,
      timeoutMs: 45_000,
      steadyMs: 5000,
      workers: 2,
    } satisfies JoinStormOptions,
    typing: {
      room: 1000,
      typers: 100,
      intervalMs: 2000,
      warmupMs: 4000,
      durationMs: 20_000,
      observers: 100,
    } satisfies TypingOptions,
    broadcast: {
      room: 1000,
      rates: [10, 25, 50, 100, 200, 400, 800],
      stepMs: 4000,
      observers: 100,
    } satisfies BroadcastOptions,
    capacity: {
      // Server and load generator each need one descriptor per connection.
      connections: Math.min(20_000, openFilesLimit() - 200),
      roomSize: 100,
      idleMs: 10_000,
      heapSnapshot: null,
    } satisfies CapacityOptions,
    cluster: {
      engine: "redis",
      room: 200,
      typersPerNode: 10,
      intervalMs: 1000,
      durationMs: 10_000,
      observersPerNode: 10,
      broadcastPeriodMs: 100,
      downPeriodMs: 1000,
      killTimeoutMs: 15_000,
    } satisfies ClusterOptions,
    soak: {
      durationMs: 180_000,
      clients: 500,
      rooms: 10,
      churnPerS: 20,
      typingPerS: 20,
      sampleMs: 5000,
    } satisfies SoakOptions,
    abuse: {
      phaseMs: 15_000,
      probeIntervalMs: 100,
      members: 20,
      largeFrameBytes: 900 * 1024,
      attacks: [...ATTACKS],
    } satisfies AbuseOptions,
  };
  return all[scenario];
}

/** How long one target's load generator may run before it is killed. */
function loadgenTimeoutMs<S extends Scenario>(scenario: S, options: ScenarioOptions[S]): number {
  switch (scenario) {
    case "join-storm": {
      const o = options as JoinStormOptions;
      return o.timeoutMs + o.steadyMs + 180_000;
    }
    case "cluster": {
      const o = options as ClusterOptions;
      return o.durationMs + o.killTimeoutMs + 120_000;
    }
    case "soak":
      return (options as SoakOptions).durationMs + 120_000;
    case "typing":
      // The warm-up is rounded up to whole pairs of intervals.
      return (
        2 * (options as TypingOptions).warmupMs + (options as TypingOptions).durationMs + 120_000
      );
    case "abuse":
      return 5 * ((options as AbuseOptions).phaseMs + 15_000) + 60_000;
    case "broadcast": {
      const o = options as BroadcastOptions;
      return o.rates.length * (o.stepMs + 12_000) + 90_000;
    }
    default:
      return (options as CapacityOptions).idleMs + 240_000;
  }
}

export interface RunOptions<S extends Scenario> {
  targets?: Target[];
  options?: Partial<ScenarioOptions[S]>;
  /** Where JSON and SVG go. Default bench/results. */
  outDir?: string;
  /** Write a CPU profile of each server into outDir/profiles. */
  profile?: boolean;
  /** Print the table (default true). */
  print?: boolean;
  /** Run each server under callgrind and report the instructions it executed. */
  callgrind?: boolean;
}

export interface TargetRun<S extends Scenario> {
  target: Target;
  label: string;
  result?: ScenarioResults[S];
  error?: string;
}

export interface Report<S extends Scenario> {
  scenario: S;
  date: string;
  machine: {
    cpus: number;
    cpuModel: string;
    memoryGiB: number;
    node: string;
    platform: string;
    openFiles: number;
    loadavgAtStart: number[];
  };
  options: ScenarioOptions[S];
  /** TANDEM_COALESCE when set: the Tandem target's coalescing cooldowns for this run. */
  tandemCoalesce: string | null;
  runs: TargetRun<S>[];
  /** The targets this run can judge. */
  checks: TargetCheck[];
  table: string;
  files: { json: string; svg: string; profiles: string[] };
}

/** Runs one scenario against each target in turn (a fresh server each) and writes results. */
export async function runScenario<S extends Scenario>(
  scenario: S,
  run: RunOptions<S> = {},
): Promise<Report<S>> {
  const options = { ...defaultOptions(scenario), ...run.options } as ScenarioOptions[S];
  const targets = run.targets ?? DEFAULT_TARGETS[scenario];
  const outDir = run.outDir ?? join(repoRoot, "bench", "results");
  mkdirSync(outDir, { recursive: true });
  const profileDir = run.profile ? join(outDir, "profiles") : undefined;
  const stamp = new Date().toISOString().replace(/[:.]/g, "-");
  const report: Report<S> = {
    scenario,
    date: new Date().toISOString(),
    machine: {
      cpus: cpus().length,
      cpuModel: cpus()[0]?.model ?? "unknown",
      memoryGiB: Math.round(totalmem() / 2 ** 30),
      node: process.version,
      platform: `${process.platform} ${process.arch}`,
      openFiles: openFilesLimit(),
      loadavgAtStart: loadavg().map((l) => Math.round(l * 100) / 100),
    },
    options,
    tandemCoalesce: process.env.TANDEM_COALESCE ?? null,
    runs: [],
    checks: [],
    table: "",
    files: { json: "", svg: "", profiles: [] },
  };
  for (const target of targets) {
    process.stderr.write(`${scenario} / ${TARGET_LABELS[target]}\n`);
    const entry: TargetRun<S> = { target, label: TARGET_LABELS[target] };
    // One directory per server: the tsx loader thread writes its own profile next to
    // the main thread's (the larger file).
    const profileTarget = profileDir
      ? join(profileDir, `${scenario}-${target}-${stamp}`)
      : undefined;
    const servers: ServerProcess[] = [];
    let bus: Bus | undefined;
    try {
      const supported = SUPPORTED[scenario];
      if (supported && !supported.includes(target)) {
        throw new Error(`${scenario} does not support ${target} (only ${supported.join(", ")})`);
      }
      if (scenario === "cluster") {
        // Two nodes over a bus of our own (one we may disturb).
        const o = options as ClusterOptions;
        bus = await startBus(o.engine);
        const prefix = `bench-${stamp}`;
        for (const node of ["a", "b"]) {
          servers.push(
            await startServer(target, {
              name: `${target}/${node}`,
              ...(profileTarget ? { cpuProfileDir: `${profileTarget}-${node}` } : {}),
              env: {
                ...bus.env,
                REDIS_PREFIX: prefix,
                NATS_PREFIX: prefix,
                NODE_NAME: `bench-${node}`,
                TRACKER_BROADCAST_PERIOD_MS: String(o.broadcastPeriodMs),
                TRACKER_DOWN_PERIOD_MS: String(o.downPeriodMs),
                TRACKER_PERMDOWN_PERIOD_MS: String(Math.max(60_000, o.downPeriodMs * 10)),
              },
            }),
          );
        }
      } else {
        servers.push(
          await startServer(target, {
            ...(profileTarget ? { cpuProfileDir: profileTarget } : {}),
            ...(run.callgrind ? { callgrindDir: join(outDir, "callgrind") } : {}),
          }),
        );
      }
      const first = servers[0]!;
      entry.result = await runLoadgen<ScenarioResults[S]>(
        {
          scenario,
          target,
          url: first.url,
          options: perTarget(scenario, options, target),
          ...(servers.length > 1
            ? { nodes: servers.map((s) => ({ url: s.url, pid: s.pid })) }
            : {}),
        },
        loadgenTimeoutMs(scenario, options),
        scenario === "capacity" ? 8192 : 4096,
      );
    } catch (err) {
      entry.error = err instanceof Error ? err.message : String(err);
      process.stderr.write(`  ${target} failed: ${entry.error}\n`);
    } finally {
      for (const server of servers) await server.stop();
      await bus?.stop();
    }
    if (profileTarget) report.files.profiles.push(profileTarget);
    report.runs.push(entry);
    // Let the previous server's sockets close and the CPU calm before the next target.
    if (target !== targets[targets.length - 1]) await new Promise((r) => setTimeout(r, 1000));
  }
  report.checks = checks(report);
  report.table = tableFor(report);
  report.files.json = join(outDir, `${scenario}-${stamp}.json`);
  report.files.svg = join(outDir, `${scenario}-${stamp}.svg`);
  const svg = chartFor(report);
  writeFileSync(report.files.json, `${JSON.stringify(report, null, 2)}\n`);
  writeFileSync(report.files.svg, svg);
  writeFileSync(join(outDir, `${scenario}-latest.json`), `${JSON.stringify(report, null, 2)}\n`);
  writeFileSync(join(outDir, `${scenario}-latest.svg`), svg);
  if (run.print !== false) {
    process.stdout.write(`\n${report.table}\n`);
    for (const check of report.checks) {
      process.stdout.write(
        `${check.met ? "MET    " : "MISSED "} ${check.target}: ${check.detail}\n`,
      );
    }
    process.stdout.write(`\nwrote ${report.files.json}\n      ${report.files.svg}\n`);
  }
  return report;
}

/** A heap snapshot path gets the target's name, so that targets do not overwrite each other. */
function perTarget<S extends Scenario>(
  scenario: S,
  options: ScenarioOptions[S],
  target: Target,
): ScenarioOptions[S] {
  if (scenario !== "capacity") return options;
  const o = options as CapacityOptions;
  if (!o.heapSnapshot) return options;
  const file = o.heapSnapshot.replace(/(\.heapsnapshot)?$/, `-${target}.heapsnapshot`);
  return { ...o, heapSnapshot: file } as ScenarioOptions[S];
}
