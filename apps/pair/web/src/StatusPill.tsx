import { useConnectionState } from "@tandem/react";
import type { ReactNode } from "react";

const LABELS = {
  connecting: "Connecting…",
  open: "Connected",
  reconnecting: "Reconnecting…",
  closed: "Offline",
} as const;

/** The socket's connection state, announced politely to screen readers when it changes. */
export function StatusPill(): ReactNode {
  const state = useConnectionState();
  return (
    <output className={`status-pill status-${state}`} aria-live="polite">
      <span className="status-dot" aria-hidden="true" />
      {LABELS[state]}
    </output>
  );
}
