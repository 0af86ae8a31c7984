import type { ClientPresence, Presence } from "@tandem/server";
import { z } from "zod";
import type { UserAssigns } from "./challenge-channel.js";

/** A Yjs item id, `{client, clock}`: two non-negative integers. */
const yId = z
  .object({
    client: z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER),
    clock: z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER),
  })
  .strict();

/**
 * A Yjs relative position as `Y.relativePositionToJSON` writes it: an item (or the type,
 * or a root type's name) and which side it sticks to.
 */
const relativePosition = z
  .object({
    type: yId.optional(),
    tname: z.string().max(64).optional(),
    item: yId.optional(),
    assoc: z.number().int().min(-1).max(1),
  })
  .strict();

/**
 * What a member of a room may set in their own presence (CONTRACT.md), one update at a
 * time: whether they are typing in the editor, whether they are writing a chat message,
 * and their caret and selection in the shared text (null when the editor is not focused).
 */
export const roomPresenceSchema = z
  .object({
    typing: z.boolean(),
    writing: z.boolean(),
    caret: z.object({ anchor: relativePosition, head: relativePosition }).strict().nullable(),
  })
  .partial()
  .strict();

/** Fields only the server sets: who the member is, their colours, and whether they went quiet. */
export const SERVER_OWNED = ["first_name", "user_id", "color", "color_light", "away"] as const;

/**
 * The client-set presence of the `challenges:<id>` channel: members are tracked under
 * their user id, set `typing`, `writing` and `caret` with `presence_update`, and never the
 * server's fields. `typing` and `writing` go back to false by themselves `quietMs` after
 * the last update setting them, so neither needs a "stopped" message.
 */
export function roomPresence(presence: Presence, quietMs: number): ClientPresence<UserAssigns> {
  return presence.clientPresence<UserAssigns>({
    key: (socket) => String(socket.assigns.userId),
    schema: roomPresenceSchema,
    serverOwned: SERVER_OWNED,
    transient: {
      typing: { afterMs: quietMs, revert: false },
      writing: { afterMs: quietMs, revert: false },
    },
    // A caret and both flags fit in about 250 bytes.
    maxBytes: 512,
    // The client sends at most one update per 100 ms; a burst after a rejoin fits too.
    rateLimit: { limit: 30, intervalMs: 2000 },
  });
}
