import type { ClusterOptions, ClusterResult } from "../types.js";
import { type Conn, type Driver, memberName } from "./conn.js";
import { MemberView } from "./members.js";
import type { Context } from "./scenarios.js";
import {
  cpuSeconds,
  heartbeats,
  log,
  now,
  openAll,
  percentiles,
  sleep,
  spread,
  totalFrames,
} from "./util.js";

const ROOM = "room:cluster";

export interface Node {
  url: string;
  pid: number;
}

/**
 * Two nodes over a bus (Redis, Redis Cluster or NATS). Client i connects to node i % 2. Typers on both nodes toggle
 * typing; observers on both nodes time each change (cross-node and same-node). Then the
 * last node is killed with SIGKILL, and observers on the other one time their leaves.
 */
export async function cluster(
  ctx: Context,
  o: ClusterOptions,
  nodes: readonly Node[],
): Promise<ClusterResult> {
  if (nodes.length !== 2) throw new Error("cluster needs two nodes");
  const nodeOf = (index: number): number => index % 2;
  const driver: Driver = (options) =>
    ctx.driver({ ...options, url: nodes[nodeOf(options.index)]!.url });
  const cpu = process.cpuUsage();
  const ramp = await openAll(driver, "", o.room, 100, async () => {}, now() + 60_000);
  const conns = ramp.conns.sort((a, b) => a.index - b.index);
  let failed = ramp.failed;
  let firstError = ramp.firstError;
  const stopHeartbeats = heartbeats(conns);
  const byNode = [0, 1].map((k) => conns.filter((c) => nodeOf(c.index) === k));
  const perNode = byNode.map((list) => list.length);
  // Typers are the first members of each node; observers are spread over the rest.
  const typers = byNode.flatMap((list) => list.slice(0, o.typersPerNode));
  const observers = byNode.flatMap((list) =>
    spread(o.typersPerNode, list.length, o.observersPerNode).map((i) => list[i]!),
  );
  const observerSet = new Set<Conn>(observers);
  const views = new Map<Conn, MemberView>();
  const members = conns.length;

  // Convergence: every client lists every member.
  let converged = 0;
  let convergenceMs: number | null = null;
  let allConverged: () => void = () => {};
  const convergedPromise = new Promise<void>((resolve) => {
    allConverged = resolve;
  });
  const t0 = now();
  const oneConverged = (): void => {
    if (++converged === members) {
      convergenceMs = now() - t0;
      allConverged();
    }
  };
  const sentAt = new Map<string, number>();
  const cross: number[] = [];
  const same: number[] = [];
  // Before the kill nobody leaves: a key vanishing at an observer is a false "down".
  let phase: "join" | "typing" | "kill" = "join";
  let spuriousLeaves = 0;
  let repeatedJoins = 0;
  for (const conn of conns) {
    if (observerSet.has(conn)) {
      const view = new MemberView();
      views.set(conn, view);
      view.onChange = (_key, present) => {
        if (!present && phase === "typing") spuriousLeaves++;
      };
      // Only the first sighting of each meta counts (a replica that comes back up
      // re-sends metas the observer has seen before).
      const seenRefs = new Set<string>();
      let done = false;
      conn.onPresence = (event, payload) => {
        view.apply(event, payload);
        if (!done && view.size === members) {
          done = true;
          oneConverged();
        }
        if (event !== "diff") return;
        const joins = (payload as { joins: Record<string, { metas: unknown[] }> }).joins;
        for (const [key, entry] of Object.entries(joins)) {
          const member = Number(key.slice(1));
          for (const meta of entry.metas as { phx_ref: string; typing?: unknown }[]) {
            if (seenRefs.has(meta.phx_ref)) {
              repeatedJoins++;
              continue;
            }
            seenRefs.add(meta.phx_ref);
            const t = sentAt.get(`${member}:${meta.typing === true}`);
            if (t === undefined) continue;
            (nodeOf(member) === nodeOf(conn.index) ? same : cross).push(now() - t);
          }
        }
      };
    } else {
      const seen = new Uint8Array(o.room);
      let count = 0;
      conn.onMembers = (joins) => {
        for (const j of joins) {
          if (j < o.room && seen[j] === 0) {
            seen[j] = 1;
            if (++count === members) {
              conn.onMembers = null;
              oneConverged();
            }
          }
        }
      };
    }
    conn.join(ROOM).catch((err: unknown) => {
      failed++;
      firstError ??= String(err);
    });
  }
  await Promise.race([convergedPromise, sleep(30_000)]);
  log(
    convergenceMs === null
      ? `not converged across nodes in 30 s (${converged}/${members})`
      : `${members} clients on ${perNode.join(" + ")} converged across nodes in ${Math.round(convergenceMs)} ms`,
  );
  phase = "typing";
  await sleep(1000);

  // Typing: each typer toggles every intervalMs, staggered; the last toggle is "false".
  let toggles = 0;
  const timers: ReturnType<typeof setTimeout>[] = [];
  const values = new Map<Conn, boolean>();
  const toggle = (typer: Conn): void => {
    const value = !(values.get(typer) ?? false);
    values.set(typer, value);
    sentAt.set(`${typer.index}:${value}`, now());
    typer.typing(ROOM, value);
    toggles++;
  };
  typers.forEach((typer, k) => {
    timers.push(
      setTimeout(
        () => {
          toggle(typer);
          timers.push(setInterval(() => toggle(typer), o.intervalMs));
        },
        (k / typers.length) * o.intervalMs,
      ),
    );
  });
  await sleep(o.durationMs);
  for (const timer of timers) clearTimeout(timer);
  for (const typer of typers) if (values.get(typer)) toggle(typer);
  await sleep(2000);
  const expectedCross = toggles * o.observersPerNode;
  const crossNode = percentiles(cross);
  const sameNode = percentiles(same);
  log(
    `${toggles} toggles; cross-node p50 ${crossNode.p50.toFixed(1)} p99 ${crossNode.p99.toFixed(1)} ms (${cross.length}/${expectedCross}); same-node p99 ${sameNode.p99.toFixed(1)} ms; ${spuriousLeaves} false leaves and ${repeatedJoins} repeated joins at observers before the kill`,
  );

  // kill -9 of the last node; observers on the first time the leaves of its users.
  const killed = nodes.length - 1;
  const killedKeys = conns
    .filter((c) => nodeOf(c.index) === killed)
    .map((c) => memberName(c.index));
  const survivorKeys = conns
    .filter((c) => nodeOf(c.index) !== killed)
    .map((c) => memberName(c.index));
  const watchers = observers.filter((c) => nodeOf(c.index) !== killed);
  const leaveMs: number[] = [];
  let killedAt = 0;
  const remaining = new Map<Conn, number>();
  let pendingWatchers = watchers.length;
  let allLeft: () => void = () => {};
  const leftPromise = new Promise<void>((resolve) => {
    allLeft = resolve;
  });
  for (const watcher of watchers) {
    const view = views.get(watcher)!;
    const killedSet = new Set(killedKeys);
    remaining.set(watcher, killedKeys.filter((k) => view.has(k)).length);
    view.onChange = (key, present) => {
      if (!killedSet.has(key) || killedAt === 0) return;
      const left = remaining.get(watcher)! + (present ? 1 : -1);
      remaining.set(watcher, left);
      if (left === 0 && !present) {
        leaveMs.push(now() - killedAt);
        if (--pendingWatchers === 0) allLeft();
      }
    };
  }
  phase = "kill";
  killedAt = now();
  process.kill(nodes[killed]!.pid, "SIGKILL");
  log(`killed node ${killed} (pid ${nodes[killed]!.pid}) with ${killedKeys.length} users`);
  await Promise.race([leftPromise, sleep(o.killTimeoutMs)]);
  await sleep(500);
  let falseLeaves = 0;
  for (const watcher of watchers) {
    const view = views.get(watcher)!;
    for (const key of survivorKeys) if (!view.has(key)) falseLeaves++;
  }
  const leave = percentiles(leaveMs);
  log(
    `${leaveMs.length}/${watchers.length} observers saw all ${killedKeys.length} users leave; max ${leave.max.toFixed(0)} ms after the kill; ${falseLeaves} false leaves`,
  );
  stopHeartbeats();
  const frames = totalFrames(conns);
  for (const conn of conns) conn.close();
  return {
    room: o.room,
    perNode,
    convergenceMs,
    toggles,
    crossNode,
    sameNode,
    crossSeenRatio: cross.length / Math.max(1, expectedCross),
    kill: {
      killedUsers: killedKeys.length,
      observers: watchers.length,
      complete: leaveMs.length,
      leaveMs: leave,
      falseLeaves,
    },
    spuriousLeaves,
    repeatedJoins,
    broadcastPeriodMs: o.broadcastPeriodMs,
    engine: o.engine,
    downPeriodMs: o.downPeriodMs,
    failed,
    firstError: firstError ?? (frames === 0 ? "no frames received" : null),
    loadgenCpuS: cpuSeconds(cpu),
  };
}
