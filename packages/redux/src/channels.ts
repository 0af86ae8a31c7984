import { createAsyncThunk, createSlice, type Dispatch, type PayloadAction } from "@reduxjs/toolkit";
import type { Channel, Socket } from "@tandem/client";
import type { JsonObject, PresenceDiff, PresenceState } from "@tandem/protocol";
import { presenceActions } from "./presence-slice.js";

/**
 * Feeds `channel`'s `presence_state` and `presence_diff` events to the presence slice under
 * `topic` (the channel's topic by default). Bind before joining so the first state is seen.
 *
 * @returns A function that stops feeding (the topic's presence stays in the store; dispatch
 *   `presenceActions.topicCleared` to drop it).
 */
export function bindPresence(
  channel: Channel,
  dispatch: Dispatch,
  topic: string = channel.topic,
): () => void {
  const stateRef = channel.on<PresenceState>("presence_state", (state) => {
    dispatch(presenceActions.stateReceived({ topic, joinRef: channel.joinRef(), state }));
  });
  const diffRef = channel.on<PresenceDiff>("presence_diff", (diff) => {
    dispatch(presenceActions.diffReceived({ topic, joinRef: channel.joinRef(), diff }));
  });
  return () => {
    channel.off("presence_state", stateRef);
    channel.off("presence_diff", diffRef);
  };
}

/**
 * Holds the {@link Socket} the channel thunks use and the channels they joined, outside the
 * store (neither is serialisable). Pass it to the store as the thunk extra argument:
 * `getDefaultMiddleware({ thunk: { extraArgument: { tandem: registry } } })`.
 */
export class ChannelRegistry {
  #socket: Socket | null;
  readonly #joined = new Map<string, { channel: Channel; unbind: () => void }>();

  /** @param socket - The socket to join channels over; it can be set later. */
  constructor(socket: Socket | null = null) {
    this.#socket = socket;
  }

  /** The socket channels are joined over. */
  get socket(): Socket | null {
    return this.#socket;
  }

  /** Switches to another socket (or none, e.g. on sign out), leaving every joined channel. */
  setSocket(socket: Socket | null): void {
    for (const topic of [...this.#joined.keys()]) this.leave(topic);
    this.#socket = socket;
  }

  /** The channel joined for `topic` by {@link joinChannel}, if any. */
  channel(topic: string): Channel | undefined {
    return this.#joined.get(topic)?.channel;
  }

  /** @internal Records a channel joined by {@link joinChannel}, leaving an older one. */
  add(channel: Channel, unbind: () => void): void {
    this.leave(channel.topic);
    this.#joined.set(channel.topic, { channel, unbind });
  }

  /**
   * Leaves the channel joined for `topic`, if any (and if it is `only`, when given), and
   * stops feeding its presence.
   *
   * @returns Whether a channel was left.
   */
  leave(topic: string, only?: Channel): boolean {
    const joined = this.#joined.get(topic);
    if (!joined || (only && joined.channel !== only)) return false;
    this.#joined.delete(topic);
    joined.unbind();
    joined.channel.leave();
    return true;
  }
}

/** The thunk extra argument the channel thunks need. */
export interface TandemThunkExtra {
  /** The registry holding the socket and the joined channels. */
  tandem: ChannelRegistry;
}

/** The argument of {@link joinChannel}. */
export interface JoinChannelArg {
  /** The topic to join, e.g. `room:42`. */
  topic: string;
  /** Join params, sent on every (re)join. */
  params?: JsonObject;
  /** Join reply timeout in milliseconds; also the channel's default push timeout. */
  timeout?: number;
}

/**
 * Why {@link joinChannel} failed: the server refused the join (`response` is its error
 * reply), it did not answer in time, or the channel was left before the join completed.
 * Unlike a bare phoenix channel, a refused or timed-out join is not retried: the channel is
 * left, and joining again is the caller's decision.
 */
export interface JoinFailure {
  /** The topic whose join failed. */
  topic: string;
  /** Refused by the server, unanswered in time, or left before the reply. */
  reason: "refused" | "timeout" | "left";
  /** The server's error reply, when `reason` is `refused`. */
  response?: unknown;
}

/**
 * Joins `topic` over the registry's socket and feeds its presence to the store. Fulfils
 * with the join reply. Once joined, the channel rejoins by itself after errors and
 * reconnects, and the channels slice follows (`errored`, then `joined` again).
 * A channel already joined for the topic is left first.
 */
export const joinChannel = createAsyncThunk<
  unknown,
  JoinChannelArg,
  { extra: TandemThunkExtra; rejectValue: JoinFailure }
>("tandem/joinChannel", (arg, { extra, dispatch, rejectWithValue }) => {
  const { topic } = arg;
  const socket = extra.tandem.socket;
  if (!socket) throw new Error(`cannot join "${topic}": the ChannelRegistry has no socket`);
  const channel = socket.channel(topic, arg.params ?? {});
  extra.tandem.add(channel, bindPresence(channel, dispatch));

  return new Promise((resolve) => {
    let settled = false;
    const fail = (reason: JoinFailure["reason"], response?: unknown) => {
      settled = true;
      resolve(rejectWithValue({ topic, reason, ...(response === undefined ? {} : { response }) }));
    };
    channel.onError(() => {
      if (settled) dispatch(channelActions.statusChanged({ topic, status: "errored" }));
    });
    channel.onClose(() => {
      if (!settled) fail("left");
    });
    channel
      .join(arg.timeout)
      .receive("ok", (reply) => {
        if (settled) {
          dispatch(channelActions.statusChanged({ topic, status: "joined" }));
          return;
        }
        settled = true;
        resolve(reply);
      })
      .receive("error", (response) => {
        if (settled) return;
        fail("refused", response);
        extra.tandem.leave(topic, channel);
      })
      .receive("timeout", () => {
        if (settled) return;
        fail("timeout");
        extra.tandem.leave(topic, channel);
      });
  });
});

/**
 * Leaves the channel {@link joinChannel} joined for `topic` and drops the topic's presence
 * and status from the store.
 */
export const leaveChannel = createAsyncThunk<void, { topic: string }, { extra: TandemThunkExtra }>(
  "tandem/leaveChannel",
  ({ topic }, { extra, dispatch }) => {
    extra.tandem.leave(topic);
    dispatch(presenceActions.topicCleared({ topic }));
  },
);

/** Where a channel joined by {@link joinChannel} stands. */
export type ChannelStatus = "joining" | "joined" | "errored" | "failed";

/** What the store knows about one channel joined by {@link joinChannel}. */
export interface ChannelInfo {
  /** Where the channel stands now. */
  status: ChannelStatus;
  /** The join reply, once joined. */
  reply?: unknown;
  /** Why the join failed, when `status` is `failed`. */
  failure?: JoinFailure;
  /** The request of the current join: results of joins replaced since are ignored. */
  requestId: string;
}

/** The channels slice's state: one {@link ChannelInfo} per topic. */
export interface ChannelsSliceState {
  /** Channel status by topic. */
  topics: Record<string, ChannelInfo>;
}

/**
 * The channels slice: the join status of each topic joined with {@link joinChannel}.
 * Mount it under `channels` for {@link selectChannel}.
 */
export const channelsSlice = createSlice({
  name: "channels",
  initialState: { topics: {} } as ChannelsSliceState,
  reducers: {
    /** A joined channel errored (it rejoins by itself) or rejoined. */
    statusChanged(draft, action: PayloadAction<{ topic: string; status: "joined" | "errored" }>) {
      const info = draft.topics[action.payload.topic];
      if (info) info.status = action.payload.status;
    },
  },
  extraReducers: (builder) => {
    builder
      .addCase(joinChannel.pending, (draft, action) => {
        draft.topics[action.meta.arg.topic] = {
          status: "joining",
          requestId: action.meta.requestId,
        };
      })
      .addCase(joinChannel.fulfilled, (draft, action) => {
        const info = draft.topics[action.meta.arg.topic];
        if (info?.requestId !== action.meta.requestId) return;
        info.status = "joined";
        info.reply = action.payload;
      })
      .addCase(joinChannel.rejected, (draft, action) => {
        const info = draft.topics[action.meta.arg.topic];
        if (info?.requestId !== action.meta.requestId) return;
        info.status = "failed";
        info.failure = action.payload ?? {
          topic: action.meta.arg.topic,
          reason: "refused",
          response: action.error.message,
        };
      })
      .addCase(leaveChannel.pending, (draft, action) => {
        delete draft.topics[action.meta.arg.topic];
      });
  },
});

/** Action creators of {@link channelsSlice}. */
export const channelActions = channelsSlice.actions;

/** Any state with the channels slice mounted under `channels`. */
export interface WithChannels {
  /** The channels slice, mounted under `channels`. */
  channels: ChannelsSliceState;
}

/** The join status of `topic`, if it was joined with {@link joinChannel} and not left. */
export function selectChannel(state: WithChannels, topic: string): ChannelInfo | undefined {
  return state.channels.topics[topic];
}
