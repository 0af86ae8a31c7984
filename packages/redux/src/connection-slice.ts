import { createSlice, type Dispatch, type PayloadAction } from "@reduxjs/toolkit";
import type { Socket } from "@tandem/client";

/**
 * Where a socket's connection stands, as a UI wants to show it:
 * - `connecting`: the first connection is being made (and retried until it opens);
 * - `open`: connected;
 * - `reconnecting`: the connection dropped after having opened, and the socket retries;
 * - `closed`: not connected and not trying (never connected, or disconnected on purpose).
 */
export type ConnectionStatus = "connecting" | "open" | "reconnecting" | "closed";

/** The connection slice's state. */
export interface ConnectionSliceState {
  /** Where the connection stands now. */
  status: ConnectionStatus;
  /** How many times the socket's connection opened: more than 1 means it reconnected. */
  opens: number;
}

/**
 * The connection slice: the status of one socket, fed by {@link bindConnectionStatus}.
 * Mount it under `connection` for {@link selectConnectionStatus}.
 */
export const connectionSlice = createSlice({
  name: "connection",
  initialState: { status: "closed", opens: 0 } as ConnectionSliceState,
  reducers: {
    /** The socket started connecting. */
    connecting(draft) {
      draft.status = draft.opens > 0 ? "reconnecting" : "connecting";
    },
    /** The socket's connection opened. */
    opened(draft) {
      draft.status = "open";
      draft.opens += 1;
    },
    /** The connection dropped or failed; `reconnecting` tells whether the socket retries. */
    dropped(draft, action: PayloadAction<{ reconnecting: boolean }>) {
      if (!action.payload.reconnecting) draft.status = "closed";
      else draft.status = draft.opens > 0 ? "reconnecting" : "connecting";
    },
  },
});

/** Action creators of {@link connectionSlice}. */
export const connectionActions = connectionSlice.actions;

/** Any state with the connection slice mounted under `connection`. */
export interface WithConnection {
  /** The connection slice, mounted under `connection`. */
  connection: ConnectionSliceState;
}

/** The socket's connection status. */
export function selectConnectionStatus(state: WithConnection): ConnectionStatus {
  return state.connection.status;
}

/**
 * Reports `socket`'s connection status to the store: dispatches the status it has now,
 * then every change. Call it right after `socket.connect()`: the socket has no event for
 * "started connecting", so the status it has at that moment is read here.
 *
 * @returns A function that stops reporting.
 */
export function bindConnectionStatus(socket: Socket, dispatch: Dispatch): () => void {
  const state = socket.connectionState();
  if (state === "open") dispatch(connectionActions.opened());
  else if (state === "connecting") dispatch(connectionActions.connecting());
  // The socket sets closeWasClean when the app disconnects it, and then stops retrying.
  const drop = () => dispatch(connectionActions.dropped({ reconnecting: !socket.closeWasClean }));
  const refs = [
    socket.onOpen(() => dispatch(connectionActions.opened())),
    socket.onClose(drop),
    socket.onError(drop),
  ];
  return () => socket.off(refs);
}
