/**
 * `npm run bench -- cluster-scale [options]`: per-node bus traffic, presence memory and
 * CPU of the interest-routed design against today's everything-everywhere one, for K
 * nodes simulated in one process over a counted bus.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { cpus } from "node:os";
import { join } from "node:path";
import { repoRoot } from "../procs.js";
import type { EventCounters } from "./counted-bus.js";
import {
  type Design,
  type NodeFigures,
  type Placement,
  type SimulationOptions,
  simulate,
} from "./simulation.js";

/** The options `--flag value` may set, with their defaults. */
export const CLUSTER_SCALE_DEFAULTS = {
  nodes: "2,4,8,16,32,64",
  placements: "routed,random",
  roomsPerNode: 40,
  members: 6,
  typingPerS: 0.1,
  churnPerS: 0.01,
  shoutsPerS: 0.1,
  warmupMs: 20_000,
  durationMs: 10_000,
  shards: 65_536,
  seed: 1,
};

export type ClusterScaleOptions = typeof CLUSTER_SCALE_DEFAULTS;

interface Row {
  nodes: number;
  design: Design;
  placement: Placement;
  /** Means over the nodes, and the busiest node's traffic. */
  mean: NodeFigures;
  maxBytesPerS: number;
  /** Messages and bytes per node per second, by event. */
  events: Record<string, EventCounters>;
}

function mean(figures: NodeFigures[]): NodeFigures {
  const sum = (pick: (f: NodeFigures) => number) =>
    figures.reduce((total, f) => total + pick(f), 0) / figures.length;
  return {
    messagesPerS: sum((f) => f.messagesPerS),
    bytesPerS: sum((f) => f.bytesPerS),
    unservedPerS: sum((f) => f.unservedPerS),
    entries: sum((f) => f.entries),
    unservedEntries: sum((f) => f.unservedEntries),
    cpuMsPerS: sum((f) => f.cpuMsPerS),
  };
}

const fixed = (n: number, digits = 0) => n.toFixed(digits);

/** Runs every K, design and placement; prints a table and the targets, writes JSON. */
export async function runClusterScale(overrides: Partial<ClusterScaleOptions>): Promise<void> {
  const o = { ...CLUSTER_SCALE_DEFAULTS, ...overrides };
  const ks = String(o.nodes).split(",").map(Number);
  const rows: Row[] = [];
  const out = process.stdout;
  out.write(
    "placement design    K   msgs/s   KB/s  maxKB/s  unserved/s  entries  unservedEntries  cpu ms/s\n",
  );
  const placements = String(o.placements).split(",") as Placement[];
  for (const placement of placements) {
    if (placement !== "routed" && placement !== "random") {
      throw new Error(`unknown placement "${placement}"`);
    }
    for (const nodes of ks) {
      for (const design of ["interest", "everywhere"] as const) {
        const options: SimulationOptions = { ...o, nodes, design, placement };
        const { nodes: figures, events } = await simulate(options);
        const row: Row = {
          nodes,
          design,
          placement,
          mean: mean(figures),
          maxBytesPerS: Math.max(...figures.map((f) => f.bytesPerS)),
          events,
        };
        rows.push(row);
        const m = row.mean;
        out.write(
          `${placement.padEnd(9)} ${design.padEnd(10)} ${String(nodes).padStart(3)} ${fixed(m.messagesPerS, 1).padStart(8)} ${fixed(m.bytesPerS / 1024, 1).padStart(6)} ${fixed(row.maxBytesPerS / 1024, 1).padStart(8)} ${fixed(m.unservedPerS, 2).padStart(11)} ${fixed(m.entries).padStart(8)} ${fixed(m.unservedEntries, 1).padStart(16)} ${fixed(m.cpuMsPerS, 1).padStart(9)}  ${Object.entries(
            events,
          )
            .sort((a, b) => b[1].bytes - a[1].bytes)
            .map(
              ([event, { messages, bytes }]) =>
                `${event} ${fixed(bytes / 1024, 1)} KB/s (${fixed(messages, 1)}/s)`,
            )
            .join(", ")}\n`,
        );
      }
    }
  }
  const find = (placement: Placement, design: Design, nodes: number) =>
    rows.find((r) => r.placement === placement && r.design === design && r.nodes === nodes);
  const smallest = Math.min(...ks);
  const largest = Math.max(...ks);
  const checks: string[] = [];
  const first = find("routed", "interest", smallest);
  const last = find("routed", "interest", largest);
  if (first && last && largest > smallest) {
    const traffic = last.mean.bytesPerS / first.mean.bytesPerS;
    const memory = last.mean.entries / first.mean.entries;
    checks.push(
      `${traffic <= 1.5 && memory <= 1.5 ? "met" : "missed"}: rooms on 1-2 nodes, K=${smallest}→${largest}: per-node bytes ×${traffic.toFixed(2)}, entries ×${memory.toFixed(2)} (target ≤ 1.5)`,
    );
    const before = find("routed", "everywhere", smallest);
    const after = find("routed", "everywhere", largest);
    if (before && after) {
      checks.push(
        `info: today's design over the same K: bytes ×${(after.mean.bytesPerS / before.mean.bytesPerS).toFixed(1)}, entries ×${(after.mean.entries / before.mean.entries).toFixed(1)}`,
      );
    }
  }
  const random = find("random", "interest", 32);
  const today = find("random", "everywhere", 32);
  if (random && today) {
    const less = today.mean.bytesPerS / random.mean.bytesPerS;
    checks.push(
      `${less >= 3 ? "met" : "missed"}: random placement, K=32: ${less.toFixed(1)}× less per-node traffic than today's (target ≥ 3)`,
    );
  }
  for (const check of checks) out.write(`${check}\n`);
  const dir = join(repoRoot, "bench", "results");
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `cluster-scale-${Date.now()}.json`);
  const machine = { cpus: cpus().length, model: cpus()[0]?.model ?? "unknown" };
  writeFileSync(file, JSON.stringify({ options: o, machine, rows, checks }, null, 2));
  out.write(`wrote ${file}\n`);
}
