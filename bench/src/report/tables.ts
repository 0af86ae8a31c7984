import type { Report, TargetRun } from "../harness.js";
import type {
  AbuseOptions,
  AbuseResult,
  BroadcastResult,
  CapacityResult,
  ClusterResult,
  JoinStormResult,
  Scenario,
  SoakResult,
  Target,
  TypingResult,
} from "../types.js";

/**
 * How much slower other clients may get while one client floods the server: p99 within
 * this ratio of the quiet phase's, or within {@link ABUSE_P99_SLACK_MS} of it (a quiet p99
 * of a few ms on shared cores moves by more than 3× with scheduling noise alone).
 */
const ABUSE_P99_RATIO = 3;
const ABUSE_P99_SLACK_MS = 25;

export interface TargetCheck {
  target: string;
  met: boolean;
  detail: string;
}

type Row = (string | number)[];

function markdown(header: string[], rows: Row[]): string {
  const cells = [header, ...rows.map((r) => r.map(String))];
  const widths = header.map((_, i) => Math.max(...cells.map((r) => (r[i] ?? "").length)));
  const line = (r: string[]): string =>
    `| ${r.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join(" | ")} |`;
  const rule = `|${widths.map((w, i) => (i === 0 ? ` ${"-".repeat(w)} ` : ` ${"-".repeat(w - 1)}: `)).join("|")}|`;
  return [line(cells[0]!), rule, ...cells.slice(1).map(line)].join("\n");
}

const ms = (v: number | null | undefined): string =>
  v === null || v === undefined || !Number.isFinite(v) ? "—" : v < 10 ? v.toFixed(2) : v.toFixed(0);
const fixed = (v: number, digits = 2): string => (Number.isFinite(v) ? v.toFixed(digits) : "—");
const mb = (bytes: number): string => (bytes / 2 ** 20).toFixed(1);
const kb = (bytes: number): string => (bytes / 1024).toFixed(2);
const count = (v: number): string => Math.round(v).toLocaleString("en-US");

/** `value / ceiling` as "1.23×", or "—" when either is missing. */
function ratio(value: number | null | undefined, ceiling: number | null | undefined): string {
  if (value === null || value === undefined || ceiling === null || ceiling === undefined)
    return "—";
  if (!Number.isFinite(value) || !Number.isFinite(ceiling) || ceiling === 0) return "—";
  const r = value / ceiling;
  return `${r < 0.1 ? r.toFixed(3) : r.toFixed(2)}×`;
}

function find<S extends Scenario>(report: Report<S>, target: Target): TargetRun<S> | undefined {
  return report.runs.find((r) => r.target === target && r.result);
}

function failedRows<S extends Scenario>(report: Report<S>, width: number): Row[] {
  return report.runs
    .filter((r) => !r.result)
    .map((r) => [
      r.label,
      `failed: ${(r.error ?? "").split("\n")[0]!.slice(0, 80)}`,
      ...Array(width - 2).fill(""),
    ]);
}

export function tableFor<S extends Scenario>(report: Report<S>): string {
  switch (report.scenario) {
    case "join-storm":
      return joinStormTable(report as unknown as Report<"join-storm">);
    case "typing":
      return typingTable(report as unknown as Report<"typing">);
    case "broadcast":
      return broadcastTable(report as unknown as Report<"broadcast">);
    case "cluster":
      return clusterTable(report as unknown as Report<"cluster">);
    case "soak":
      return soakTable(report as unknown as Report<"soak">);
    case "abuse":
      return abuseTable(report as unknown as Report<"abuse">);
    default:
      return capacityTable(report as unknown as Report<"capacity">);
  }
}

function ok<S extends Scenario>(
  report: Report<S>,
): { label: string; r: NonNullable<TargetRun<S>["result"]> }[] {
  return report.runs.flatMap((run) => (run.result ? [{ label: run.label, r: run.result }] : []));
}

function joinStormTable(report: Report<"join-storm">): string {
  const ceiling = find(report, "raw")?.result as JoinStormResult | undefined;
  const header = [
    `join-storm N=${report.options.n}`,
    "converged ms",
    "× ceiling",
    "all joined ms",
    "clients converged",
    "messages",
    "× ceiling",
    "MB",
    "msgs/member",
    "KB/member",
    "server CPU s",
    "× ceiling",
    "peak RSS MB",
    "loadgen CPU s",
    "busy: server (kernel share), loadgen (cores)",
  ];
  const rows: Row[] = ok(report).map(({ label, r }) => [
    label,
    ms(r.convergenceMs),
    ratio(r.convergenceMs, ceiling?.convergenceMs),
    ms(r.allJoinedMs),
    `${r.convergedClients}/${r.n}${r.summaryClients > 0 ? ` (${r.summaryClients} got summaries)` : ""}`,
    count(r.messages),
    ratio(r.messages, ceiling?.messages),
    mb(r.bytes),
    fixed(r.messages / r.n, 1),
    kb(r.bytes / r.n),
    fixed(r.serverCpuS),
    ratio(r.serverCpuS, ceiling?.serverCpuS),
    mb(r.serverPeakRss),
    fixed(r.loadgenCpuS),
    `${fixed(r.busy.server)} (${fixed(100 * r.busy.serverKernel, 0)} %), ${fixed(r.busy.loadgen)} of ${r.loadgenThreads}`,
  ]);
  const main = markdown(header, [...rows, ...failedRows(report, header.length)]);
  const steady = ok(report).filter(({ r }) => r.steady);
  if (steady.length === 0) return main;
  const steadyHeader = [
    `steady: 1% of N=${report.options.n} toggle typing 1/s`,
    "toggles",
    "frames/member/s",
    "B/member/s",
    "B/member in each 1 s bucket",
    "server CPU %",
  ];
  const steadyRows: Row[] = steady.map(({ label, r }) => {
    const s = r.steady!;
    return [
      label,
      s.toggles,
      fixed(s.framesPerMemberPerS),
      count(s.bytesPerMemberPerS),
      s.buckets.map((b) => Math.round(b.bytesPerMember)).join(" "),
      fixed((s.serverCpuS / s.seconds) * 100, 0),
    ];
  });
  return `${main}\n\n${markdown(steadyHeader, steadyRows)}`;
}

function clusterTable(report: Report<"cluster">): string {
  const o = report.options;
  const header = [
    `cluster 2 nodes over ${o.engine}, room=${o.room}, tracker ${o.broadcastPeriodMs}/${o.downPeriodMs} ms`,
    "converged ms",
    "toggles",
    "cross seen",
    "cross p50 ms",
    "p95",
    "p99",
    "max",
    "same-node p50/p99 ms",
    "false leaves / repeated joins before kill",
    "kill -9: observers done",
    "leave p50 ms",
    "leave max ms",
    "false leaves after kill",
  ];
  const rows: Row[] = ok(report).map(({ label, r }) => [
    `${label} (${r.perNode.join("+")})`,
    ms(r.convergenceMs),
    r.toggles,
    `${(r.crossSeenRatio * 100).toFixed(1)}%`,
    ms(r.crossNode.p50),
    ms(r.crossNode.p95),
    ms(r.crossNode.p99),
    ms(r.crossNode.max),
    `${ms(r.sameNode.p50)}/${ms(r.sameNode.p99)}`,
    `${r.spuriousLeaves} / ${r.repeatedJoins}`,
    `${r.kill.complete}/${r.kill.observers} (${r.kill.killedUsers} users)`,
    ms(r.kill.leaveMs.p50),
    ms(r.kill.leaveMs.max),
    r.kill.falseLeaves,
  ]);
  return markdown(header, [...rows, ...failedRows(report, header.length)]);
}

function abuseTable(report: Report<"abuse">): string {
  const o = report.options;
  const header = [
    `abuse: ${o.phaseMs / 1000} s per phase, a probe every ${o.probeIntervalMs} ms, ${o.members} members`,
    "probes",
    "failed",
    "p50 ms",
    "p99 ms",
    "p50 ratio",
    "p99 ratio",
    "server CPU s",
    "peak RSS MB",
    "members left",
    "attacker frames",
    "attacker MB",
    "attacker connections",
    "attacker closes",
  ];
  const rows: Row[] = ok(report).flatMap(({ label, r }) =>
    r.phases.map((phase) => [
      `${label}: ${phase.attack === "none" ? "no attacker" : phase.attack}`,
      phase.probes,
      phase.failedProbes,
      ms(phase.latencyMs.p50),
      ms(phase.latencyMs.p99),
      `${fixed(phase.p50Ratio)}×`,
      `${fixed(phase.p99Ratio)}×`,
      fixed(phase.serverCpuS, 1),
      mb(phase.serverPeakRss),
      `${phase.membersConnected}/${o.members}`,
      phase.attacker ? count(phase.attacker.framesSent) : "—",
      phase.attacker ? mb(phase.attacker.bytesSent) : "—",
      phase.attacker ? phase.attacker.connections : "—",
      phase.attacker
        ? Object.entries(phase.attacker.closes)
            .map(([code, n]) => `${code}×${n}`)
            .join(" ") || "none"
        : "—",
    ]),
  );
  return markdown(header, [...rows, ...failedRows(report, header.length)]);
}

function soakTable(report: Report<"soak">): string {
  const o = report.options;
  const header = [
    `soak ${Math.round(o.durationMs / 1000)} s, ${o.clients} clients, ${o.rooms} rooms`,
    "reconnects",
    "rejoins",
    "toggles",
    "op errors",
    "heap MB start→mid→end",
    "RSS MB start→end",
    "heap slope KB/min 1st/2nd half",
    "ghosts",
    "lost",
    "dup metas",
    "presences (metrics/expected)",
    "verdict",
  ];
  const rows: Row[] = ok(report).map(({ label, r }) => {
    const first = r.samples[0];
    const last = r.samples[r.samples.length - 1];
    const mid = r.samples[Math.floor(r.samples.length / 2)];
    return [
      label,
      r.reconnects,
      r.rejoins,
      r.toggles,
      r.opErrors,
      `${mb(first?.heapUsed ?? NaN)}→${mb(mid?.heapUsed ?? NaN)}→${mb(last?.heapUsed ?? NaN)}`,
      `${mb(first?.rss ?? NaN)}→${mb(last?.rss ?? NaN)}`,
      `${fixed(r.heapSlopeFirst / 1024, 0)}/${fixed(r.heapSlopeSecond / 1024, 0)}`,
      r.ghosts,
      r.lost,
      r.duplicates,
      `${r.metricsPresences ?? "—"}/${r.expectedPresences}`,
      `${r.verdict}${r.memoryFlat ? "" : " (memory grows)"}`,
    ];
  });
  return markdown(header, [...rows, ...failedRows(report, header.length)]);
}

function typingTable(report: Report<"typing">): string {
  const ceiling = find(report, "raw")?.result as TypingResult | undefined;
  const o = report.options;
  const header = [
    `typing room=${o.room} typers=${o.typers} every ${o.intervalMs} ms`,
    "toggles",
    "seen",
    "p50 ms",
    "p95 ms",
    "p99 ms",
    "max ms",
    "p99 × ceiling",
    "messages",
    "server CPU s",
    "× ceiling",
    "server Minstr/change",
    "loadgen CPU s",
  ];
  const rows: Row[] = ok(report).map(({ label, r }) => [
    label,
    r.toggles,
    `${(r.seenRatio * 100).toFixed(1)}%`,
    ms(r.latencyMs.p50),
    ms(r.latencyMs.p95),
    ms(r.latencyMs.p99),
    ms(r.latencyMs.max),
    ratio(r.latencyMs.p99, ceiling?.latencyMs.p99),
    count(r.messages),
    fixed(r.serverCpuS),
    ratio(r.serverCpuS, ceiling?.serverCpuS),
    r.serverInstructions === null ? "—" : fixed(r.serverInstructions / r.toggles / 1e6, 3),
    fixed(r.loadgenCpuS),
  ]);
  return markdown(header, [...rows, ...failedRows(report, header.length)]);
}

function broadcastTable(report: Report<"broadcast">): string {
  const ceiling = find(report, "raw")?.result as BroadcastResult | undefined;
  const header = [
    `broadcast room=${report.options.room}`,
    "max deliveries/s",
    "× ceiling",
    "saturated at msg/s",
    "p99 ms at highest unsaturated",
    "server µs/delivery",
    "× ceiling",
    "loadgen CPU s",
  ];
  // Server CPU per delivery, compared at the highest rate every target sustained.
  const results = ok(report);
  const common = Math.min(
    ...results.map(({ r }) =>
      Math.max(0, ...r.steps.filter((s) => !s.saturated).map((s) => s.rate)),
    ),
  );
  const usAt = (r: BroadcastResult): number | undefined =>
    r.steps.find((s) => s.rate === common)?.serverUsPerDelivery;
  const rows: Row[] = results.map(({ label, r }) => {
    const unsaturated = r.steps.filter((s) => !s.saturated);
    const top = unsaturated[unsaturated.length - 1];
    const saturatedAt = r.steps.find((s) => s.saturated)?.rate;
    return [
      label,
      count(r.maxDeliveredPerS),
      ratio(r.maxDeliveredPerS, ceiling?.maxDeliveredPerS),
      saturatedAt === undefined ? "not reached" : String(saturatedAt),
      top ? `${ms(top.latencyMs.p99)} (at ${top.rate}/s)` : "—",
      fixed(usAt(r) ?? NaN),
      ratio(usAt(r), ceiling ? usAt(ceiling) : undefined),
      fixed(r.loadgenCpuS),
    ];
  });
  const main = markdown(header, [...rows, ...failedRows(report, header.length)]);
  const rates = [...new Set(results.flatMap(({ r }) => r.steps.map((s) => s.rate)))].sort(
    (a, b) => a - b,
  );
  const stepHeader = [
    "msg/s offered",
    ...results.map(({ label }) => `${label}: deliveries/s, p50/p99 ms, server CPU %`),
  ];
  const stepRows: Row[] = rates.map((rate) => [
    `${rate} (×${report.options.room})`,
    ...results.map(({ r }) => {
      const s = r.steps.find((x) => x.rate === rate);
      if (!s) return "";
      const cpu = (s.serverCpuS / s.seconds) * 100;
      return `${count(s.deliveredPerS)}, ${ms(s.latencyMs.p50)}/${ms(s.latencyMs.p99)}, ${cpu.toFixed(0)}%${s.saturated ? " SAT" : ""}`;
    }),
  ]);
  return `${main}\n\n${markdown(stepHeader, stepRows)}\n(server µs/delivery compared at ${common} msg/s)`;
}

function capacityTable(report: Report<"capacity">): string {
  const ceiling = find(report, "raw")?.result as CapacityResult | undefined;
  const o = report.options;
  const header = [
    `capacity C=${o.connections} rooms of ${o.roomSize}`,
    "joined",
    "RSS KB/conn",
    "× ceiling",
    "heap KB/conn",
    "marginal RSS KB/conn",
    "marginal heap KB/conn",
    "external KB/conn",
    "idle CPU % of a core",
    "ramp s",
    "peak RSS MB",
  ];
  const rows: Row[] = ok(report).map(({ label, r }) => [
    label,
    r.joined,
    kb(r.rssPerConn),
    ratio(r.rssPerConn, ceiling?.rssPerConn),
    kb(r.heapPerConn),
    kb(r.marginalRssPerConn),
    kb(r.marginalHeapPerConn),
    kb(r.externalPerConn),
    fixed(r.idleCpu * 100, 1),
    fixed(r.rampS, 1),
    mb(r.serverPeakRss),
  ]);
  return markdown(header, [...rows, ...failedRows(report, header.length)]);
}

/** The issue's targets that this report can judge. */
export function checks<S extends Scenario>(report: Report<S>): TargetCheck[] {
  const out: TargetCheck[] = [];
  const tandem = find(report, "tandem")?.result;
  if (report.scenario === "join-storm") {
    const t = tandem as JoinStormResult | undefined;
    const nc = find(report, "tandem-nocoalesce")?.result as JoinStormResult | undefined;
    if (t && nc) {
      const timeout = (report.options as { timeoutMs: number }).timeoutMs;
      const tc = t.convergenceMs;
      const ncc = nc.convergenceMs ?? timeout;
      const speedup = tc === null ? 0 : ncc / tc;
      out.push({
        target: "join-storm: Tandem converges ≥7× faster than coalesce:false",
        met: speedup >= 7,
        detail: `${speedup.toFixed(1)}× (${ms(tc)} ms vs ${nc.convergenceMs === null ? `> ${timeout}` : ms(ncc)} ms)`,
      });
      const share = t.messages / nc.messages;
      out.push({
        target: "join-storm: Tandem sends ≤1/20 of coalesce:false's messages",
        met: share <= 1 / 20,
        detail: `1/${(1 / share).toFixed(0)} (${count(t.messages)} vs ${count(nc.messages)})`,
      });
    }
  }
  if (report.scenario === "typing") {
    const t = tandem as TypingResult | undefined;
    const nc = find(report, "tandem-nocoalesce")?.result as TypingResult | undefined;
    if (t && nc) {
      // Coalescing is for storms: a typing change must not pay for it.
      const { p50, p99 } = t.latencyMs;
      const cpu = t.serverCpuS / t.toggles;
      const ncCpu = nc.serverCpuS / nc.toggles;
      out.push({
        target: "typing: Tandem p50 and p99 ≤ coalesce:false's, and server CPU per change ≤",
        met: p50 <= nc.latencyMs.p50 && p99 <= nc.latencyMs.p99 && cpu <= ncCpu,
        detail: `p50 ${fixed(p50, 1)} vs ${fixed(nc.latencyMs.p50, 1)} ms, p99 ${fixed(p99, 1)} vs ${fixed(nc.latencyMs.p99, 1)} ms, CPU per change ${fixed(cpu * 1000)} vs ${fixed(ncCpu * 1000)} ms`,
      });
      if (t.serverInstructions !== null && nc.serverInstructions !== null) {
        // Under callgrind latency means nothing, but the count is the same on a busy machine.
        const per = t.serverInstructions / t.toggles;
        const ncPer = nc.serverInstructions / nc.toggles;
        out.push({
          target: "typing: Tandem executes ≤ coalesce:false's instructions per change",
          met: per <= ncPer,
          detail: `${fixed(per / 1e6, 3)} vs ${fixed(ncPer / 1e6, 3)} M instructions (${((per / ncPer - 1) * 100).toFixed(1)} %)`,
        });
      }
    }
    const raw = find(report, "raw")?.result as TypingResult | undefined;
    if (t && raw) {
      const r = t.latencyMs.p99 / raw.latencyMs.p99;
      out.push({
        target: "typing: Tandem p99 within 2× of the raw ceiling's p99",
        met: r <= 2,
        detail: `${r.toFixed(2)}× (${ms(t.latencyMs.p99)} ms vs ${ms(raw.latencyMs.p99)} ms)`,
      });
    }
  }
  if (report.scenario === "broadcast") {
    const t = tandem as BroadcastResult | undefined;
    const raw = find(report, "raw")?.result as BroadcastResult | undefined;
    if (t && raw) {
      const r = t.maxDeliveredPerS / raw.maxDeliveredPerS;
      out.push({
        target: "broadcast: Tandem throughput ≥80% of the raw ceiling",
        met: r >= 0.8,
        detail: `${(r * 100).toFixed(0)}% (${count(t.maxDeliveredPerS)} vs ${count(raw.maxDeliveredPerS)} deliveries/s)`,
      });
    }
  }
  if (report.scenario === "join-storm") {
    const c = find(report, "tandem-counts")?.result as JoinStormResult | undefined;
    if (c) {
      out.push({
        target: "join-storm counts mode: every client saw a summary of all N",
        met: c.convergenceMs !== null,
        detail: `${c.convergedClients}/${c.n} in ${ms(c.convergenceMs)} ms, ${kb(c.bytes / c.n)} KB per member`,
      });
    }
  }
  if (report.scenario === "cluster" && tandem) {
    const t = tandem as ClusterResult;
    out.push({
      target: "cluster: killed node's users leave at every observer on the survivor",
      met: t.kill.complete === t.kill.observers && t.kill.falseLeaves === 0,
      detail: `${t.kill.complete}/${t.kill.observers} observers, max ${ms(t.kill.leaveMs.max)} ms (down period ${t.downPeriodMs} ms), ${t.kill.falseLeaves} false leaves`,
    });
  }
  if (report.scenario === "cluster" && tandem) {
    const t = tandem as ClusterResult;
    // Issue 12: eager deltas make a change on another node nearly as quick as on this one.
    const bound = 2 * t.sameNode.p99 + 5;
    out.push({
      target: "cluster: cross-node typing p99 ≤ 2 × same-node p99 + 5 ms",
      met: t.crossSeenRatio > 0.99 && t.crossNode.p99 <= bound,
      detail: `${t.engine}: cross-node p99 ${ms(t.crossNode.p99)} ms, bound ${ms(bound)} ms (same-node p99 ${ms(t.sameNode.p99)} ms), ${(t.crossSeenRatio * 100).toFixed(1)}% seen`,
    });
  }
  if (report.scenario === "cluster" && tandem) {
    const t = tandem as ClusterResult;
    out.push({
      target: "cluster: no node is marked down while alive (no false leaves before the kill)",
      met: t.spuriousLeaves === 0,
      detail: `${t.spuriousLeaves} false leaves, ${t.repeatedJoins} repeated joins at observers (tracker ${t.broadcastPeriodMs}/${t.downPeriodMs} ms)`,
    });
  }
  if (report.scenario === "soak") {
    for (const run of report.runs) {
      const r = run.result as SoakResult | undefined;
      if (!r) continue;
      out.push({
        target: `soak (${run.label}): memory flat, no ghosts, no lost presences`,
        met: r.verdict === "PASS",
        detail: `heap slope ${fixed(r.heapSlopeSecond / 1024, 0)} KB/min in the 2nd half (flat ≤ 256), ghosts ${r.ghosts}, lost ${r.lost}, duplicates ${r.duplicates}, presences ${r.metricsPresences ?? "—"}/${r.expectedPresences}`,
      });
    }
  }
  if (report.scenario === "abuse") {
    const t = tandem as AbuseResult | undefined;
    const { members } = report.options as AbuseOptions;
    const quiet = t?.phases.find((p) => p.attack === "none");
    for (const phase of t?.phases.filter((p) => p.attack !== "none") ?? []) {
      const quietP99 = quiet?.latencyMs.p99 ?? Number.NaN;
      const p99Met =
        phase.p99Ratio <= ABUSE_P99_RATIO || phase.latencyMs.p99 - quietP99 <= ABUSE_P99_SLACK_MS;
      out.push({
        target: `abuse (${phase.attack}): others' p99 ≤ ${ABUSE_P99_RATIO}× (or +${ABUSE_P99_SLACK_MS} ms) the quiet p99, every probe served, no member cut`,
        met: p99Met && phase.failedProbes === 0 && phase.membersConnected === members,
        detail: `p99 ${fixed(phase.p99Ratio)}× (${ms(phase.latencyMs.p99)} ms vs ${ms(quietP99)} ms), p50 ${fixed(phase.p50Ratio)}×, ${phase.failedProbes} failed probes, ${phase.membersConnected}/${members} members`,
      });
    }
  }
  if (report.scenario === "capacity") {
    const t = tandem as CapacityResult | undefined;
    if (t) {
      out.push({
        target: "capacity: ≤8 KB server memory per idle joined+tracked connection",
        met: t.marginalRssPerConn <= 8192,
        detail: `${kb(t.marginalRssPerConn)} KB RSS per added connection (heap ${kb(t.marginalHeapPerConn)} KB); ${kb(t.rssPerConn)} KB RSS/conn on average over all ${t.joined}, fixed costs included`,
      });
    }
  }
  return out;
}
