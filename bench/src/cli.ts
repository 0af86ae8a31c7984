/**
 * `npm run bench -- <scenario> [options]`: runs the scenario's targets one after another,
 * each as its own server process driven by a separate load-generator process.
 */
import {
  CLUSTER_SCALE_DEFAULTS,
  type ClusterScaleOptions,
  runClusterScale,
} from "./cluster-scale/main.js";
import {
  REAL_SCALE_DEFAULTS,
  type RealScaleOptions,
  runRealClusterScale,
} from "./cluster-scale/real.js";
import { DEFAULT_TARGETS, defaultOptions, runScenario } from "./harness.js";
import { PARTITION_DEFAULTS, type PartitionOptions, runPartition } from "./partition/main.js";
import { killAll } from "./procs.js";
import {
  ATTACKS,
  type Attack,
  ENGINES,
  type Engine,
  SCENARIOS,
  type Scenario,
  type ScenarioOptions,
  TARGETS,
  type Target,
} from "./types.js";

const USAGE = `usage: npm run bench -- <scenario|all> [options]

scenarios: ${SCENARIOS.join(", ")}, all, cluster-scale, partition
common options:
  --targets a,b        targets among ${TARGETS.join(", ")}
  --out DIR            where JSON and SVG go (default bench/results)
  --profile            write a CPU profile of each server (DIR/profiles)
  --callgrind          run each server under callgrind and count the instructions it
                       executes (typing: per change; repeatable whatever else runs, but
                       some fifty times slower, so keep the rate low)
  --rounds N           run each scenario N times and count in how many rounds each target
                       was met (these cores are shared: one run can mislead)
join-storm:  --n 2000 --concurrency 200 --timeout-ms 45000 --steady-ms 5000 --workers 2
             (--workers: load-generator threads the clients are spread over)
             (target tandem-counts: counts mode past 1000 entries)
typing:      --room 1000 --typers 100 --interval-ms 2000 --warmup-ms 4000 --duration-ms 20000
             --observers 100   (the warm-up's changes are not measured; it is rounded up to
             whole pairs of intervals, and the duration should be whole pairs too)
broadcast:   --room 1000 --rates 10,25,50,100,200,400,800 --step-ms 4000 --observers 100
capacity:    --connections N (default min(20000, ulimit -n − 200)) --room-size 100
             --idle-ms 10000 --heap-snapshot FILE (Tandem and others: written by the server)
cluster:     --engine redis|redis-cluster|nats --room 200 --typers-per-node 10
             --interval-ms 1000 --duration-ms 10000 --observers-per-node 10
             --broadcast-period-ms 100 --down-period-ms 1000 --kill-timeout-ms 15000
             (two nodes over a bus of its own: a redis-server, a 3-master Redis Cluster
             or a nats-server)
soak:        --duration-ms 180000 --clients 500 --rooms 10 --churn-per-s 20
             --typing-per-s 20 --sample-ms 5000
abuse:       --phase-ms 15000 --probe-interval-ms 100 --members 20 --large-frame-bytes 921600
             --attacks ${ATTACKS.join(",")}
             (probes' connect+join+ping latency with no attacker, then during each flood)
cluster-scale: --nodes 2,4,8,16,32,64 --placements routed,random --rooms-per-node 40
             --members 6 --typing-per-s 0.1
             --churn-per-s 0.01 --shouts-per-s 0.1 --warmup-ms 20000 --duration-ms 10000
             --shards 65536 --seed 1   (simulated: K nodes of the real PubSub and Tracker
             over a counted in-process bus, interest-routed against everything-everywhere;
             not part of "all")
cluster-scale --real: --nodes 2,4,8 --placements routed,random --designs interest,everywhere
             --engine redis|redis-cluster|nats --rooms-per-node 40 --members 6
             --typing-per-s 0.1 --churn-per-s 0.01 --shouts-per-s 0.1 --warmup-ms 10000
             --duration-ms 15000 --seed 1   (K real bench servers over a bus of their own,
             real clients; per node the adapter's bus counters, tandem_presences, CPU)
partition:   --engines redis,nats --runs cut,lossy --nodes 3 --clients-per-node 30 --rooms 3
             --broadcast-period-ms 200 --down-period-ms 2000 --cut-ms 6000 --lossy-ms 15000
             --delay-ms 50 --loss 0.05 --typing-per-s 5 --churn-per-s 2
             --converge-timeout-ms 30000   (root: bus and nodes in network namespaces
             tcr-*, a node cut off from the bus by iptables, or lossy delayed links; then
             every client must list exactly the live connections of its room)
`;

const camel = (flag: string): string =>
  flag.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());

function parse(argv: string[]): {
  scenarios: Scenario[];
  targets?: Target[];
  outDir?: string;
  profile: boolean;
  callgrind: boolean;
  rounds: number;
  options: Record<string, unknown>;
} {
  const [first, ...rest] = argv;
  if (!first || first === "--help" || first === "-h") {
    process.stdout.write(USAGE);
    process.exit(first ? 0 : 2);
  }
  const scenarios =
    first === "all"
      ? [...SCENARIOS]
      : SCENARIOS.includes(first as Scenario)
        ? [first as Scenario]
        : null;
  if (!scenarios) throw new Error(`unknown scenario "${first}"\n${USAGE}`);
  const parsed: ReturnType<typeof parse> = {
    scenarios,
    profile: false,
    callgrind: false,
    rounds: 1,
    options: {},
  };
  for (let i = 0; i < rest.length; i++) {
    const flag = rest[i]!;
    if (!flag.startsWith("--")) throw new Error(`unexpected argument "${flag}"`);
    const name = flag.slice(2);
    if (name === "profile" || name === "callgrind") {
      parsed[name] = true;
      continue;
    }
    const value = rest[++i];
    if (value === undefined) throw new Error(`${flag} needs a value`);
    if (name === "targets") {
      const targets = value.split(",");
      for (const t of targets) {
        if (!TARGETS.includes(t as Target)) throw new Error(`unknown target "${t}"`);
      }
      parsed.targets = targets as Target[];
    } else if (name === "out") {
      parsed.outDir = value;
    } else if (name === "rounds") {
      const rounds = Number(value);
      if (!Number.isInteger(rounds) || rounds < 1) throw new Error("--rounds needs a count ≥ 1");
      parsed.rounds = rounds;
    } else if (name === "rates") {
      parsed.options.rates = value.split(",").map(Number);
    } else if (name === "attacks") {
      const attacks = value.split(",");
      for (const a of attacks) {
        if (!ATTACKS.includes(a as Attack)) throw new Error(`unknown attack "${a}"`);
      }
      parsed.options.attacks = attacks;
    } else if (name === "engine") {
      if (!ENGINES.includes(value as Engine)) throw new Error(`unknown engine "${value}"`);
      parsed.options.engine = value;
    } else if (name === "heap-snapshot") {
      parsed.options.heapSnapshot = value;
    } else {
      const number = Number(value);
      if (!Number.isFinite(number)) throw new Error(`${flag} needs a number`);
      parsed.options[camel(name)] = number;
    }
  }
  return parsed;
}

for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.once(signal, () => {
    killAll();
    process.exit(130);
  });
}

/** cluster-scale takes its own flags: it runs in this process, with no targets. */
function parseClusterScale<T extends object>(argv: string[], defaults: T): Partial<T> {
  const options: Record<string, unknown> = {};
  for (let i = 0; i < argv.length; i += 2) {
    const flag = argv[i]!;
    const value = argv[i + 1];
    const name = camel(flag.replace(/^--/, ""));
    if (!flag.startsWith("--") || !(name in defaults)) {
      throw new Error(`no option "${flag}"`);
    }
    if (value === undefined) throw new Error(`${flag} needs a value`);
    if (typeof defaults[name as keyof T] === "string") options[name] = value;
    else if (Number.isFinite(Number(value))) options[name] = Number(value);
    else throw new Error(`${flag} needs a number`);
  }
  return options as Partial<T>;
}

try {
  if (process.argv[2] === "partition") {
    await runPartition(
      parseClusterScale<PartitionOptions>(process.argv.slice(3), PARTITION_DEFAULTS),
    );
    process.exit(0);
  }
  if (process.argv[2] === "cluster-scale") {
    const rest = process.argv.slice(3);
    if (rest.includes("--real")) {
      const flags = rest.filter((flag) => flag !== "--real");
      await runRealClusterScale(parseClusterScale<RealScaleOptions>(flags, REAL_SCALE_DEFAULTS));
    } else {
      await runClusterScale(parseClusterScale<ClusterScaleOptions>(rest, CLUSTER_SCALE_DEFAULTS));
    }
    process.exit(0);
  }
  const args = parse(process.argv.slice(2));
  for (const scenario of args.scenarios) {
    const known = Object.keys(defaultOptions(scenario));
    const options: Partial<ScenarioOptions[typeof scenario]> = {};
    for (const [key, value] of Object.entries(args.options)) {
      if (known.includes(key)) (options as Record<string, unknown>)[key] = value;
      else if (args.scenarios.length === 1) throw new Error(`${scenario} has no option "${key}"`);
    }
    const verdicts = new Map<string, { met: number; details: string[] }>();
    for (let round = 1; round <= args.rounds; round++) {
      if (args.rounds > 1) process.stderr.write(`${scenario}: round ${round} of ${args.rounds}\n`);
      // Every other round in reverse order, so that going first or second favours no target.
      const targets = args.targets ?? DEFAULT_TARGETS[scenario];
      const report = await runScenario(scenario, {
        targets: round % 2 === 0 ? [...targets].reverse() : targets,
        options,
        ...(args.outDir ? { outDir: args.outDir } : {}),
        profile: args.profile,
        callgrind: args.callgrind,
      });
      for (const check of report.checks) {
        const verdict = verdicts.get(check.target) ?? { met: 0, details: [] };
        if (check.met) verdict.met++;
        verdict.details.push(`${check.met ? "met" : "missed"}: ${check.detail}`);
        verdicts.set(check.target, verdict);
      }
    }
    if (args.rounds > 1) {
      process.stdout.write(`\n${scenario} over ${args.rounds} rounds\n`);
      for (const [target, { met, details }] of verdicts) {
        process.stdout.write(`${target}: met in ${met}/${args.rounds}\n`);
        for (const detail of details) process.stdout.write(`  ${detail}\n`);
      }
    }
  }
} catch (err) {
  process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
  killAll();
  process.exitCode = 1;
}
