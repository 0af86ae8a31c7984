import * as decoding from "lib0/decoding";
import * as encoding from "lib0/encoding";

/** One client's entry in a y-protocols awareness update; a null state means it left. */
export interface AwarenessEntry {
  readonly clientId: number;
  readonly clock: number;
  readonly state: Readonly<Record<string, unknown>> | null;
}

/**
 * Decodes a y-protocols awareness update: a varuint count, then per entry a varuint
 * client id, a varuint clock and the state as a JSON varstring. Stricter than y-protocols
 * itself: every state must be a JSON object or null, and nothing may follow the entries.
 *
 * @throws for anything else.
 */
export function decodeAwareness(bytes: Uint8Array): AwarenessEntry[] {
  const decoder = decoding.createDecoder(bytes);
  const count = decoding.readVarUint(decoder);
  const entries: AwarenessEntry[] = [];
  for (let i = 0; i < count; i++) {
    const clientId = decoding.readVarUint(decoder);
    const clock = decoding.readVarUint(decoder);
    const state: unknown = JSON.parse(decoding.readVarString(decoder));
    if (state !== null && (typeof state !== "object" || Array.isArray(state))) {
      throw new TypeError("awareness state is not an object");
    }
    entries.push({ clientId, clock, state: state as Record<string, unknown> | null });
  }
  if (decoding.hasContent(decoder)) throw new TypeError("bytes after the awareness entries");
  return entries;
}

/** Encodes entries in the y-protocols awareness update format. */
export function encodeAwareness(entries: readonly AwarenessEntry[]): Uint8Array {
  const encoder = encoding.createEncoder();
  encoding.writeVarUint(encoder, entries.length);
  for (const { clientId, clock, state } of entries) {
    encoding.writeVarUint(encoder, clientId);
    encoding.writeVarUint(encoder, clock);
    encoding.writeVarString(encoder, JSON.stringify(state));
  }
  return encoding.toUint8Array(encoder);
}
