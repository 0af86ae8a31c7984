import type { PresenceListEntry } from "@tandem/redux";
import type { CSSProperties, ReactNode } from "react";

/** The meta the Pair server tracks for each user in a room. */
export interface ParticipantMeta {
  first_name: string;
  user_id: number;
  typing: boolean;
  /** The user's colour and its translucent variant, chosen by the server. */
  color: string;
  color_light: string;
  [field: string]: string | number | boolean;
}

/**
 * Who is in the room: one item per user however many tabs they have open (presence groups
 * a user's tabs under one key), with "..." and a glow while they type.
 */
export function Participants({
  presences,
  selfId,
}: {
  presences: PresenceListEntry<ParticipantMeta>[];
  selfId: number;
}): ReactNode {
  return (
    <section className="participants" aria-labelledby="participants-heading">
      <h2 id="participants-heading">In the room</h2>
      <ul aria-label="Participants">
        {presences.map(({ key, metas }) => {
          const meta = metas[0];
          if (!meta) return null;
          const typing = metas.some((m) => m.typing);
          const { color, color_light: colorLight } = meta;
          const style = {
            "--user-color": color,
            "--user-glow": colorLight,
            ...(typing ? { boxShadow: `0 0 0 2px ${color}, 0 0 14px 2px ${color}` } : {}),
          } as CSSProperties;
          return (
            <li
              key={key}
              className={`participant${typing ? " typing" : ""}${meta.user_id === selfId ? " self" : ""}`}
              style={style}
            >
              {/* The initial is drawn by CSS, so the item's text is the name alone. */}
              <span
                className="avatar"
                aria-hidden="true"
                data-initial={meta.first_name.slice(0, 1).toUpperCase()}
              />
              <span className="name">
                {meta.first_name}
                {typing ? "..." : ""}
              </span>
            </li>
          );
        })}
      </ul>
    </section>
  );
}
