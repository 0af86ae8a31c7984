import type { Channel } from "@tandem/client";
import * as Y from "yjs";

/** How long to wait before sending again updates the server could not store. */
const RETRY_MS = 1000;

/** A binary channel payload as bytes. */
function bytes(payload: unknown): Uint8Array | null {
  return payload instanceof ArrayBuffer ? new Uint8Array(payload) : null;
}

/** Binary pushes take an ArrayBuffer of exactly the message's bytes. */
function toArrayBuffer(update: Uint8Array): ArrayBuffer {
  const copy = new Uint8Array(update.byteLength);
  copy.set(update);
  return copy.buffer;
}

/** Refusals worth sending the update again for; any other refusal is final. */
const RETRYABLE = new Set(["save failed", "missing dependencies"]);

/** An empty Yjs update (no structs, no deletions): nothing to send. */
function isEmptyUpdate(update: Uint8Array): boolean {
  return update.byteLength === 2 && update[0] === 0 && update[1] === 0;
}

/**
 * Keeps a Yjs document in step with a `challenges:<id>` channel, as the
 * contract describes: on every (re)join the server sends its state vector in `doc:sync`;
 * this sends back as `doc:update` what the server lacks (offline and unsaved edits) and
 * asks with its own state vector (`doc:sync`) for what it lacks itself. Then
 * `doc:update` both ways. Updates the server could not store are kept
 * and sent again. Malformed messages from the server are ignored, never thrown.
 *
 * Bind it before the channel joins, so the first `doc:sync` is seen.
 */
export class DocSync {
  /** Local updates the server has not confirmed it stored. */
  #unsaved: Uint8Array[] = [];
  #retryTimer: ReturnType<typeof setTimeout> | undefined;
  readonly #refs: [string, number][] = [];
  readonly #onDocUpdate = (update: Uint8Array, origin: unknown) => {
    // Our own origin marks what came from the server; everything else is this user's.
    if (origin === this) return;
    this.#send(update);
    this.onLocalEdit();
  };

  /**
   * @param channel - The room's channel, not joined yet.
   * @param doc - The shared document; its text is `doc.getText("solution")`.
   * @param onLocalEdit - Called after each edit made here (to report typing).
   * @param onRefused - Called with the reason when the server refuses an edit for good
   *   (e.g. `document too large`); the edit stays local only.
   */
  constructor(
    readonly channel: Channel,
    readonly doc: Y.Doc,
    readonly onLocalEdit: () => void,
    readonly onRefused: (reason: string) => void = () => {},
  ) {
    this.#on("doc:sync", (payload) => {
      const serverState = bytes(payload);
      if (!serverState) return;
      let missing: Uint8Array;
      try {
        missing = Y.encodeStateAsUpdate(doc, serverState);
      } catch {
        return;
      }
      // What the server lacks covers every unsaved update, and whatever it lost.
      this.#unsaved = [];
      if (!isEmptyUpdate(missing)) this.#send(missing);
      this.channel
        .push("doc:sync", toArrayBuffer(Y.encodeStateVector(doc)))
        .receive("ok", (reply) => this.#apply(reply));
    });
    this.#on("doc:update", (payload) => this.#apply(payload));
    doc.on("update", this.#onDocUpdate);
  }

  /** Unbinds everything. */
  destroy(): void {
    clearTimeout(this.#retryTimer);
    this.doc.off("update", this.#onDocUpdate);
    for (const [event, ref] of this.#refs) this.channel.off(event, ref);
  }

  #on(event: string, callback: (payload: unknown) => void): void {
    this.#refs.push([event, this.channel.on(event, callback)]);
  }

  /** Applies an update from the server; one that does not apply is dropped. */
  #apply(payload: unknown): void {
    const update = bytes(payload);
    if (!update) return;
    try {
      Y.applyUpdate(this.doc, update, this);
    } catch {
      // The next doc:sync repairs whatever a malformed update left out.
    }
  }

  #send(update: Uint8Array): void {
    // Before the join the update waits for the diff sent after the first doc:sync.
    if (!this.channel.joinedOnce) {
      this.#unsaved.push(update);
      return;
    }
    const keep = () => {
      this.#unsaved.push(update);
      this.#scheduleRetry();
    };
    this.channel
      .push("doc:update", toArrayBuffer(update))
      .receive("error", (response) => {
        const reason = (response as { reason?: unknown } | null)?.reason;
        if (typeof reason === "string" && !RETRYABLE.has(reason)) this.onRefused(reason);
        else keep();
      })
      .receive("timeout", keep);
  }

  #scheduleRetry(): void {
    if (this.#retryTimer !== undefined) return;
    this.#retryTimer = setTimeout(() => {
      this.#retryTimer = undefined;
      // While the channel is down, the next doc:sync sends everything anyway.
      if (this.#unsaved.length === 0 || !this.channel.canPush()) return;
      const merged = Y.mergeUpdates(this.#unsaved);
      this.#unsaved = [];
      this.#send(merged);
    }, RETRY_MS);
  }
}
