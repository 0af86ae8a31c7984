import type { CSSProperties, ReactNode } from "react";
import { distinctDetails, initials } from "./identity";
import type { Participant } from "./presence";

/**
 * Who is in the room: one item per user however many tabs they have open (presence groups
 * a user's tabs under one key), with "..." and a glow while they type, "away" when every
 * tab of theirs has gone quiet, "reconnecting" while every tab of theirs is in the grace
 * period of a dropped connection, and "you" on the viewer. Namesakes get their user number.
 * While the viewer is offline (`stale`) the list is the last one known, and says so.
 * Clicking someone else follows their caret; clicking them again stops.
 */
export function Participants({
  participants,
  selfId,
  stale,
  following,
  onFollow,
}: {
  participants: readonly Participant[];
  selfId: number;
  stale: boolean;
  following: number | null;
  onFollow: (userId: number | null) => void;
}): ReactNode {
  const details = distinctDetails(
    participants.map(({ key, tabs }) => ({
      key,
      firstName: tabs[0]!.presence.first_name,
      userId: tabs[0]!.presence.user_id,
    })),
  );
  return (
    <section
      className={`participants${stale ? " stale" : ""}`}
      aria-labelledby="participants-heading"
    >
      <h2 id="participants-heading">{stale ? "Last seen in the room" : "In the room"}</h2>
      {stale ? <p className="hint">You are offline: who is here now is unknown.</p> : null}
      <ul aria-label="Participants">
        {participants.map(({ key, tabs }) => {
          const meta = tabs[0]!.presence;
          const self = meta.user_id === selfId;
          const typing = !stale && tabs.some((t) => t.presence.typing && !t.reconnecting);
          const away = !stale && tabs.every((t) => t.presence.away);
          const reconnecting = !stale && !away && tabs.every((t) => t.reconnecting);
          const followed = following === meta.user_id;
          const { color, color_light: colorLight } = meta;
          const style = {
            "--user-color": color,
            "--user-glow": colorLight,
            ...(typing ? { boxShadow: `0 0 0 2px ${color}, 0 0 14px 2px ${color}` } : {}),
          } as CSSProperties;
          const detail = details.get(key);
          const status = stale ? "unknown" : away ? "away" : reconnecting ? "reconnecting" : null;
          const label = (
            <>
              {/* The initials are drawn by CSS, so the item's text starts with the name. */}
              <span
                className="avatar"
                aria-hidden="true"
                data-initial={initials(meta.first_name)}
              />
              <span className="name">
                {meta.first_name}
                {typing ? "..." : ""}
              </span>
              {detail ? <span className="detail">{detail}</span> : null}
              {self ? <span className="badge">you</span> : null}
              {status ? <span className="badge status">{status}</span> : null}
            </>
          );
          return (
            <li
              key={key}
              className={`participant${typing ? " typing" : ""}${self ? " self" : ""}${away ? " away" : ""}${reconnecting ? " reconnecting" : ""}`}
              style={style}
              data-user-id={meta.user_id}
            >
              {self ? (
                <span className="who">{label}</span>
              ) : (
                <button
                  type="button"
                  className="who"
                  aria-pressed={followed}
                  title={followed ? "Stop following" : "Follow their caret"}
                  onClick={() => onFollow(followed ? null : meta.user_id)}
                >
                  {label}
                </button>
              )}
            </li>
          );
        })}
      </ul>
    </section>
  );
}
