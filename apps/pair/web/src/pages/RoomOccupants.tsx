import type { CSSProperties, ReactNode } from "react";
import { initials } from "../room/identity";

/** Who is in one room, as the server's `lobby` channel tells it (CONTRACT.md). */
export interface RoomOccupancy {
  count: number;
  members: { first_name: string; color: string }[];
}

/** An avatar stack and a count for a challenge card; nothing for an empty room. */
export function RoomOccupants({ occupancy }: { occupancy: RoomOccupancy | undefined }): ReactNode {
  if (!occupancy) return null;
  const names = occupancy.members.map((m) => m.first_name);
  const others = occupancy.count - names.length;
  const said = others > 0 ? `${names.join(", ")} and ${others} more` : names.join(", ");
  return (
    <span className="occupants" title={said}>
      <span className="faces" aria-hidden="true">
        {occupancy.members.map((member, i) => (
          <span
            // The stack is redrawn whole on each change; its order is the server's.
            // biome-ignore lint/suspicious/noArrayIndexKey: namesakes share a name and colours may repeat
            key={i}
            className="face"
            style={{ "--user-color": member.color } as CSSProperties}
            data-initial={initials(member.first_name)}
          />
        ))}
      </span>
      <span className="count">
        {occupancy.count} in the room: {said}
      </span>
    </span>
  );
}
