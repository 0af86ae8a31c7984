import type { Report } from "../harness.js";
import type {
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
import { barPanel, document, linePanel } from "./svg.js";

const COLORS: Record<Target, string> = {
  tandem: "#1f77b4",
  "tandem-nocoalesce": "#ff7f0e",
  "tandem-counts": "#9467bd",
  raw: "#2ca02c",
  socketio: "#d62728",
};

function subtitle<S extends Scenario>(report: Report<S>): string {
  const m = report.machine;
  return `${report.scenario} — ${m.cpus} cores, Node ${m.node}, ${report.date.slice(0, 10)}`;
}

/** The SVG chart of a report: latency percentiles, convergence or throughput curves. */
export function chartFor<S extends Scenario>(report: Report<S>): string {
  const runs = report.runs.flatMap((run) =>
    run.result ? [{ label: run.label, color: COLORS[run.target], r: run.result }] : [],
  );
  const W = 960;
  switch (report.scenario) {
    case "join-storm": {
      const rs = runs as unknown as { label: string; color: string; r: JoinStormResult }[];
      const steady = rs.filter(({ r }) => r.steady && r.steady.buckets.length > 0);
      const steadyPanel = steady.length
        ? [
            linePanel(
              { x: 80, y: 740, w: 820, h: 260 },
              "Steady phase (1% typing): bytes per member in each second",
              "second of the steady phase",
              "bytes per member",
              steady.map(({ label, color, r }) => ({
                name: label,
                color,
                points: r.steady!.buckets.map((b, i): [number, number] => [
                  i + 1,
                  b.bytesPerMember,
                ]),
              })),
              { yMin: 0 },
            ),
          ]
        : [];
      return document(
        W,
        steady.length ? 1060 : 720,
        `Join storm: convergence over time (${subtitle(report)})`,
        [
          linePanel(
            { x: 80, y: 60, w: 820, h: 260 },
            "Clients that list all N members (%)",
            "seconds since the joins were sent",
            "% clients converged",
            rs.map(({ label, color, r }) => ({
              name: label,
              color,
              points: r.curve.map((c) => [c.tMs / 1000, (100 * c.converged) / r.n]),
            })),
          ),
          linePanel(
            { x: 80, y: 400, w: 820, h: 260 },
            "Member pairs known (% of N²)",
            "seconds since the joins were sent",
            "% of pairs",
            rs.map(({ label, color, r }) => ({
              name: label,
              color,
              points: r.curve.map((c) => [c.tMs / 1000, 100 * c.known]),
            })),
          ),
          ...steadyPanel,
        ],
      );
    }
    case "typing": {
      const rs = runs as unknown as { label: string; color: string; r: TypingResult }[];
      const keys = ["p50", "p95", "p99", "max"] as const;
      const shades = ["#9ecae1", "#4292c6", "#08519c", "#08306b"];
      return document(W, 440, `Typing: send → seen latency (${subtitle(report)})`, [
        barPanel(
          { x: 80, y: 60, w: 820, h: 320 },
          "Latency percentiles at observers (ms, log scale)",
          "ms",
          rs.map((r) => r.label),
          keys.map((k, i) => ({
            name: k,
            color: shades[i]!,
            values: rs.map(({ r }) => r.latencyMs[k]),
          })),
          { logY: true },
        ),
      ]);
    }
    case "broadcast": {
      const rs = runs as unknown as { label: string; color: string; r: BroadcastResult }[];
      return document(W, 720, `Broadcast: one publisher, rising rate (${subtitle(report)})`, [
        linePanel(
          { x: 80, y: 60, w: 820, h: 260 },
          "Deliveries per second vs offered",
          "messages/s published (log)",
          "deliveries/s",
          [
            ...rs.map(({ label, color, r }) => ({
              name: label,
              color,
              points: r.steps.map((s): [number, number] => [s.rate, s.deliveredPerS]),
            })),
            {
              name: "offered",
              color: "#999",
              dashed: true,
              points: (rs[0]?.r.steps ?? []).map((s): [number, number] => [s.rate, s.offeredPerS]),
            },
          ],
          { logX: true },
        ),
        linePanel(
          { x: 80, y: 400, w: 820, h: 260 },
          "Latency p50 (dashed) and p99 at observers",
          "messages/s published (log)",
          "ms (log)",
          rs.flatMap(({ label, color, r }) => [
            {
              name: `${label} p99`,
              color,
              points: r.steps.map((s): [number, number] => [s.rate, s.latencyMs.p99]),
            },
            {
              name: `${label} p50`,
              color,
              dashed: true,
              points: r.steps.map((s): [number, number] => [s.rate, s.latencyMs.p50]),
            },
          ]),
          { logX: true, logY: true },
        ),
      ]);
    }
    case "cluster": {
      const rs = runs as unknown as { label: string; color: string; r: ClusterResult }[];
      const keys = ["p50", "p95", "p99", "max"] as const;
      const shades = ["#9ecae1", "#4292c6", "#08519c", "#08306b"];
      const groups = rs.flatMap(({ label }) => [
        `${label}: cross-node typing`,
        `${label}: same-node typing`,
        `${label}: leave after kill -9`,
      ]);
      return document(W, 440, `Cluster: two nodes over Redis (${subtitle(report)})`, [
        barPanel(
          { x: 80, y: 60, w: 820, h: 320 },
          "Latency at observers (ms, log scale)",
          "ms",
          groups,
          keys.map((k, i) => ({
            name: k,
            color: shades[i]!,
            values: rs.flatMap(({ r }) => [r.crossNode[k], r.sameNode[k], r.kill.leaveMs[k]]),
          })),
          { logY: true },
        ),
      ]);
    }
    case "abuse": {
      const rs = runs as unknown as { label: string; color: string; r: AbuseResult }[];
      const phases = rs[0]?.r.phases ?? [];
      return document(
        W,
        440,
        `Abuse: other clients' latency under one attacker (${subtitle(report)})`,
        [
          barPanel(
            { x: 80, y: 60, w: 820, h: 320 },
            "connect + join + ping of other clients, ms",
            "ms",
            phases.map((p) => (p.attack === "none" ? "no attacker" : p.attack)),
            [
              { name: "p50", color: "#9ecae1", values: phases.map((p) => p.latencyMs.p50) },
              { name: "p99", color: "#3182bd", values: phases.map((p) => p.latencyMs.p99) },
            ],
          ),
        ],
      );
    }
    case "soak": {
      const rs = runs as unknown as { label: string; color: string; r: SoakResult }[];
      return document(W, 440, `Soak: server memory under churn (${subtitle(report)})`, [
        linePanel(
          { x: 80, y: 60, w: 820, h: 320 },
          "Heap after GC (solid) and RSS (dashed), MB",
          "seconds",
          "MB",
          rs.flatMap(({ label, color, r }) => [
            {
              name: `${label} heap`,
              color,
              points: r.samples.map((s): [number, number] => [s.tS, s.heapUsed / 2 ** 20]),
            },
            {
              name: `${label} RSS`,
              color,
              dashed: true,
              points: r.samples.map((s): [number, number] => [s.tS, s.rss / 2 ** 20]),
            },
          ]),
          { yMin: 0 },
        ),
      ]);
    }
    default: {
      const rs = runs as unknown as { label: string; color: string; r: CapacityResult }[];
      return document(W, 440, `Capacity: server memory per idle connection (${subtitle(report)})`, [
        barPanel(
          { x: 80, y: 60, w: 820, h: 320 },
          "KB per joined + tracked idle connection (after GC)",
          "KB",
          rs.map(({ label, r }) => `${label} (${r.joined})`),
          [
            { name: "RSS", color: "#3182bd", values: rs.map(({ r }) => r.rssPerConn / 1024) },
            { name: "JS heap", color: "#9ecae1", values: rs.map(({ r }) => r.heapPerConn / 1024) },
            {
              name: "marginal RSS",
              color: "#31a354",
              values: rs.map(({ r }) => r.marginalRssPerConn / 1024),
            },
            {
              name: "external+buffers",
              color: "#c6dbef",
              values: rs.map(({ r }) => r.externalPerConn / 1024),
            },
          ],
        ),
      ]);
    }
  }
}
