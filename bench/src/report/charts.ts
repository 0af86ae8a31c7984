import type { Report } from "../harness.js";
import type {
  BroadcastResult,
  CapacityResult,
  JoinStormResult,
  Scenario,
  Target,
  TypingResult,
} from "../types.js";
import { barPanel, document, linePanel } from "./svg.js";

const COLORS: Record<Target, string> = {
  tandem: "#1f77b4",
  "tandem-nocoalesce": "#ff7f0e",
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
      return document(W, 720, `Join storm: convergence over time (${subtitle(report)})`, [
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
      ]);
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
