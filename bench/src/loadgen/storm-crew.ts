/**
 * One worker thread's share of a join storm: it opens its clients, joins them when told,
 * and counts what they see. A client has converged when it lists all N members (counts
 * mode: when its last presence_summary counts N entries). The coordinator
 * (join-storm.ts) adds up what every crew reports.
 */
import { type MessagePort, parentPort, workerData } from "node:worker_threads";
import type { Target } from "../types.js";
import type { Conn, Driver } from "./conn.js";
import { connectPhoenix } from "./phoenix-conn.js";
import { connectSocketIo } from "./sio-conn.js";
import { heartbeats, openAll, sleep, totalBytes, totalFrames } from "./util.js";

export const STORM_ROOM = "room:bench";

/** What the coordinator gives a crew when it starts. */
export interface CrewSetup {
  target: Target;
  url: string;
  /** Members in the whole storm. */
  n: number;
  /** This crew's clients are members `from` to `from + count - 1`. */
  from: number;
  count: number;
  concurrency: number;
  /** Epoch ms after which no more connections are opened. */
  deadline: number;
}

/** Coordinator to crew. */
export type CrewCommand =
  | { type: "join" }
  | { type: "type"; typers: number; durationMs: number }
  | { type: "close" };

/** Crew to coordinator; times are epoch ms (see {@link epochMs}). */
export type CrewReport =
  | { type: "opened"; opened: number; failed: number; firstError: string | null }
  | ({ type: "progress" } & CrewProgress)
  | { type: "typed"; toggles: number }
  | { type: "closed" };

export interface CrewProgress {
  converged: number;
  /** Members listed, summed over this crew's clients. */
  known: number;
  joined: number;
  failed: number;
  firstError: string | null;
  frames: number;
  bytes: number;
  summaryClients: number;
  /** When the crew's last client converged, or null. */
  convergedAt: number | null;
  /** When the crew's last join was answered, or null. */
  joinedAt: number | null;
}

/** Wall-clock ms with sub-ms precision, comparable across threads. */
export const epochMs = (): number => performance.timeOrigin + performance.now();

const PROGRESS_MS = 100;

async function runCrew(setup: CrewSetup, port: MessagePort): Promise<void> {
  const driver: Driver = setup.target === "socketio" ? connectSocketIo : connectPhoenix;
  const ramp = await openAll(
    driver,
    setup.url,
    setup.count,
    setup.concurrency,
    async () => {},
    performance.now() + Math.max(0, setup.deadline - epochMs()),
    setup.from,
  );
  const conns = ramp.conns;
  const stopHeartbeats = heartbeats(conns);
  const progress: CrewProgress = {
    converged: 0,
    known: 0,
    joined: 0,
    failed: ramp.failed,
    firstError: ramp.firstError,
    frames: 0,
    bytes: 0,
    summaryClients: 0,
    convergedAt: null,
    joinedAt: null,
  };
  const report = (message: CrewReport): void => port.postMessage(message);
  const sendProgress = (): void => {
    progress.frames = totalFrames(conns);
    progress.bytes = totalBytes(conns);
    report({ type: "progress", ...progress });
  };
  report({
    type: "opened",
    opened: conns.length,
    failed: ramp.failed,
    firstError: ramp.firstError,
  });

  let ticker: ReturnType<typeof setInterval> | undefined;
  port.on("message", (command: CrewCommand) => {
    switch (command.type) {
      case "join":
        ticker = setInterval(sendProgress, PROGRESS_MS);
        joinAll(conns, setup.n, progress, sendProgress);
        break;
      case "type":
        void typeFor(conns, command.typers, command.durationMs).then((toggles) =>
          report({ type: "typed", toggles }),
        );
        break;
      case "close":
        clearInterval(ticker);
        stopHeartbeats();
        for (const conn of conns) conn.close();
        report({ type: "closed" });
        port.close();
        break;
    }
  });
}

/** Joins every client, counting as each one's view of the room fills up. */
function joinAll(
  conns: readonly Conn[],
  n: number,
  progress: CrewProgress,
  sendProgress: () => void,
): void {
  for (const conn of conns) {
    const seen = new Uint8Array(n);
    let listed = 0;
    // Entries in the client's last summary (-1: none yet).
    let summary = -1;
    let finished = false;
    const knows = (): number => (summary >= 0 ? summary : listed);
    const check = (previous: number): void => {
      progress.known += knows() - previous;
      if (!finished && knows() === n) {
        finished = true;
        conn.onMembers = null;
        conn.onSummary = null;
        if (++progress.converged === conns.length) {
          progress.convergedAt = epochMs();
          sendProgress();
        }
      }
    };
    conn.onMembers = (joins, leaves) => {
      const previous = knows();
      for (const j of joins) {
        if (j < n && seen[j] === 0) {
          seen[j] = 1;
          listed++;
        }
      }
      for (const l of leaves) {
        if (l < n && seen[l] === 1) {
          seen[l] = 0;
          listed--;
        }
      }
      check(previous);
    };
    conn.onSummary = (entries) => {
      const previous = knows();
      if (summary === -1) progress.summaryClients++;
      summary = entries;
      check(previous);
    };
    conn.join(STORM_ROOM).then(
      () => {
        if (++progress.joined === conns.length) progress.joinedAt = epochMs();
      },
      (err: unknown) => {
        progress.failed++;
        progress.firstError ??= String(err);
      },
    );
  }
}

/**
 * Members with an index below `typers` toggle typing once a second, staggered over the
 * second by index, for `durationMs`; they end on "not typing".
 */
async function typeFor(
  conns: readonly Conn[],
  typers: number,
  durationMs: number,
): Promise<number> {
  const mine = conns.filter((conn) => conn.index < typers);
  const values = new Uint8Array(mine.length);
  let toggles = 0;
  const timers: ReturnType<typeof setTimeout>[] = [];
  mine.forEach((typer, k) => {
    const toggle = (): void => {
      values[k] = values[k] ? 0 : 1;
      typer.typing(STORM_ROOM, values[k] === 1);
      toggles++;
    };
    timers.push(
      setTimeout(
        () => {
          toggle();
          timers.push(setInterval(toggle, 1000));
        },
        (typer.index / typers) * 1000,
      ),
    );
  });
  await sleep(durationMs);
  for (const timer of timers) clearTimeout(timer);
  // Leave nobody typing (the revert would otherwise fire later).
  mine.forEach((typer, k) => {
    if (values[k]) typer.typing(STORM_ROOM, false);
  });
  return toggles;
}

// Imported by the coordinator for its types, run as a worker thread for the crew.
if (parentPort) void runCrew(workerData as CrewSetup, parentPort);
