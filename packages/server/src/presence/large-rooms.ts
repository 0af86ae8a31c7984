import {
  type JsonObject,
  PresenceEvent,
  type PresenceState,
  type PresenceSummary,
} from "@tandem/protocol";

/**
 * Counts mode. In a room of N people every change is worth one frame to each of them,
 * and every newcomer gets an O(N) list: O(N²) bytes to fill a room. Past `threshold`
 * entries a room switches to a summary every `intervalMs` (occupancy plus a few
 * highlighted entries), so each member's traffic stays constant however big it gets.
 */
export interface LargeRoomOptions {
  /** Entries at which a topic switches to counts mode. It switches back below 80 %. */
  threshold: number;
  /** How often a changed large room sends its summary (ms). Default 1000. */
  intervalMs?: number;
  /** Which entries summaries carry in full, e.g. `(meta) => meta.typing === true`. */
  highlight?: (meta: JsonObject) => boolean;
  /** At most this many highlighted entries per summary. Default 20. */
  maxHighlighted?: number;
}

/** What counts mode needs from Presence. */
export interface LargeRoomHooks {
  size(topic: string): number;
  summary(topic: string): PresenceSummary;
  state(topic: string): PresenceState;
  emit(topic: string, event: string, payload: JsonObject): void;
}

/** Which topics are in counts mode, and their summary timers. */
export class LargeRooms {
  readonly #topics = new Map<string, { timer: ReturnType<typeof setInterval>; dirty: boolean }>();
  readonly #threshold: number;
  readonly #intervalMs: number;
  readonly #hooks: LargeRoomHooks;

  constructor(options: LargeRoomOptions, hooks: LargeRoomHooks) {
    if (!(options.threshold > 0)) throw new RangeError("largeRooms.threshold must be positive");
    this.#threshold = options.threshold;
    this.#intervalMs = options.intervalMs ?? 1000;
    this.#hooks = hooks;
  }

  isLarge(topic: string): boolean {
    return this.#topics.has(topic);
  }

  /**
   * Records a change to `topic`. Returns true when the room is (or just stopped being)
   * in counts mode: the caller must not send the change as a diff.
   */
  changed(topic: string): boolean {
    const large = this.#topics.get(topic);
    const size = this.#hooks.size(topic);
    if (large) {
      if (size < this.#threshold * 0.8) {
        // Back to diffs: everyone needs the full list once, which includes this change.
        clearInterval(large.timer);
        this.#topics.delete(topic);
        this.#hooks.emit(topic, PresenceEvent.state, this.#hooks.state(topic) as JsonObject);
      } else {
        large.dirty = true;
      }
      return true;
    }
    if (size < this.#threshold) return false;
    const entry = { dirty: false, timer: setInterval(() => this.#tick(topic), this.#intervalMs) };
    entry.timer.unref?.();
    this.#topics.set(topic, entry);
    this.#emitSummary(topic);
    return true;
  }

  /** Stops every summary timer. */
  close(): void {
    for (const { timer } of this.#topics.values()) clearInterval(timer);
    this.#topics.clear();
  }

  #tick(topic: string): void {
    const entry = this.#topics.get(topic);
    if (!entry?.dirty) return;
    entry.dirty = false;
    this.#emitSummary(topic);
  }

  #emitSummary(topic: string): void {
    this.#hooks.emit(
      topic,
      PresenceEvent.summary,
      this.#hooks.summary(topic) as unknown as JsonObject,
    );
  }
}

/** Builds a summary from a topic's entries. */
export function summarize(
  entries: readonly { key: string; meta: JsonObject }[],
  highlight: ((meta: JsonObject) => boolean) | undefined,
  maxHighlighted: number,
): PresenceSummary {
  const keys = new Set<string>();
  const highlighted: PresenceState = Object.create(null);
  let shown = 0;
  for (const { key, meta } of entries) {
    keys.add(key);
    if (!highlight || shown >= maxHighlighted || !highlight(meta)) continue;
    shown++;
    const group = highlighted[key];
    if (group) group.metas.push(meta as PresenceState[string]["metas"][number]);
    else highlighted[key] = { metas: [meta as PresenceState[string]["metas"][number]] };
  }
  return { keys: keys.size, entries: entries.length, highlighted };
}
