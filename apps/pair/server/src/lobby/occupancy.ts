import type { JsonObject } from "@tandem/protocol";
import type { Tracker } from "@tandem/server";

/** Who is in one room, as the lobby shows it: a count and the first few faces. */
// A type rather than an interface, so that it is assignable to a JSON payload.
export type RoomOccupancy = {
  /** Distinct users in the room (a user's tabs count once). */
  count: number;
  /** The first `maxShown` of them, in the order they are listed. */
  members: { first_name: string; color: string }[];
};

/** What the lobby needs of one presence entry. */
export interface OccupantEntry {
  readonly key: string;
  readonly meta: JsonObject;
}

/** The occupancy of a room from its presence entries; null when nobody is there. */
export function summarizeRoom(
  entries: readonly OccupantEntry[],
  maxShown: number,
): RoomOccupancy | null {
  const seen = new Set<string>();
  const members: RoomOccupancy["members"] = [];
  for (const { key, meta } of entries) {
    if (seen.has(key)) continue;
    seen.add(key);
    if (members.length < maxShown) {
      members.push({ first_name: String(meta.first_name ?? ""), color: String(meta.color ?? "") });
    }
  }
  return seen.size === 0 ? null : { count: seen.size, members };
}

/** Whether two occupancies would look the same in the lobby. */
export function sameOccupancy(a: RoomOccupancy | null, b: RoomOccupancy | null): boolean {
  if (a === null || b === null) return a === b;
  return (
    a.count === b.count &&
    a.members.length === b.members.length &&
    a.members.every(
      (m, i) => m.first_name === b.members[i]!.first_name && m.color === b.members[i]!.color,
    )
  );
}

/** Options of {@link Occupancy}. */
export interface OccupancyOptions {
  /** Topics watched, e.g. `challenges:`; the rest of the topic names the room. */
  readonly prefix: string;
  /** Changes are gathered and sent at most this often (ms). Default 1000. */
  readonly intervalMs?: number;
  /** Faces listed per room. Default 4. */
  readonly maxShown?: number;
}

/**
 * The occupancy of every room, from the presence tracker, for the lobby. The tracker
 * replicates across the cluster, so every node sees every room. Changes are gathered for
 * `intervalMs` and sent as one message listing only the rooms whose occupancy changed: a
 * lobby viewer costs one small frame per interval at most, however many rooms churn, and
 * a typing or caret change inside a room (which leaves the occupancy alone) costs nothing.
 */
export class Occupancy {
  readonly #rooms = new Map<string, RoomOccupancy>();
  readonly #dirty = new Set<string>();
  readonly #tracker: Tracker;
  readonly #emit: (changes: Record<string, RoomOccupancy | null>) => void;
  readonly #prefix: string;
  readonly #intervalMs: number;
  readonly #maxShown: number;
  readonly #unlisten: () => void;
  #timer: ReturnType<typeof setTimeout> | undefined;

  constructor(
    tracker: Tracker,
    emit: (changes: Record<string, RoomOccupancy | null>) => void,
    options: OccupancyOptions,
  ) {
    this.#tracker = tracker;
    this.#emit = emit;
    this.#prefix = options.prefix;
    this.#intervalMs = options.intervalMs ?? 1000;
    this.#maxShown = options.maxShown ?? 4;
    this.#unlisten = tracker.onDiff((diffs) => {
      for (const topic of diffs.keys()) {
        if (topic.startsWith(this.#prefix)) this.#dirty.add(topic);
      }
      if (this.#dirty.size > 0) this.#timer ??= setTimeout(() => this.#flush(), this.#intervalMs);
    });
  }

  /** Every occupied room by its id (the topic after the prefix). */
  snapshot(): Record<string, RoomOccupancy> {
    return Object.fromEntries(this.#rooms);
  }

  /** Stops listening; pending changes are dropped. */
  close(): void {
    this.#unlisten();
    clearTimeout(this.#timer);
    this.#dirty.clear();
  }

  #flush(): void {
    this.#timer = undefined;
    const changes: Record<string, RoomOccupancy | null> = {};
    let changed = false;
    for (const topic of this.#dirty) {
      const room = topic.slice(this.#prefix.length);
      const next = summarizeRoom(this.#tracker.list(topic), this.#maxShown);
      if (sameOccupancy(this.#rooms.get(room) ?? null, next)) continue;
      if (next) this.#rooms.set(room, next);
      else this.#rooms.delete(room);
      changes[room] = next;
      changed = true;
    }
    this.#dirty.clear();
    if (changed) this.#emit(changes);
  }
}
