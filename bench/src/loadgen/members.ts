import type { PresenceMetas, PresencePayload } from "./conn.js";

/**
 * Who is on a topic as a Phoenix client sees it: each key's metas by phx_ref, updated
 * from presence_state and presence_diff the way phoenix.js `syncState`/`syncDiff` do
 * (joins, then leaves; a key goes when its last meta goes).
 */
export class MemberView {
  readonly refs = new Map<string, Set<string>>();
  /** Called with each key that appeared or disappeared. */
  onChange: ((key: string, present: boolean) => void) | null = null;

  apply(event: "state" | "diff", payload: PresencePayload): void {
    if (event === "state") {
      const state = payload as Record<string, PresenceMetas>;
      for (const key of [...this.refs.keys()]) {
        if (!(key in state)) this.#remove(key);
      }
      for (const [key, entry] of Object.entries(state)) {
        const had = this.refs.has(key);
        this.refs.set(key, new Set(entry.metas.map((m) => m.phx_ref)));
        if (!had) this.onChange?.(key, true);
      }
      return;
    }
    const diff = payload as {
      joins: Record<string, PresenceMetas>;
      leaves: Record<string, PresenceMetas>;
    };
    for (const [key, entry] of Object.entries(diff.joins)) {
      let refs = this.refs.get(key);
      if (!refs) {
        refs = new Set();
        this.refs.set(key, refs);
        this.onChange?.(key, true);
      }
      for (const meta of entry.metas) refs.add(meta.phx_ref);
    }
    for (const [key, entry] of Object.entries(diff.leaves)) {
      const refs = this.refs.get(key);
      if (!refs) continue;
      for (const meta of entry.metas) refs.delete(meta.phx_ref);
      if (refs.size === 0) this.#remove(key);
    }
  }

  has(key: string): boolean {
    return this.refs.has(key);
  }

  get size(): number {
    return this.refs.size;
  }

  #remove(key: string): void {
    this.refs.delete(key);
    this.onChange?.(key, false);
  }
}
