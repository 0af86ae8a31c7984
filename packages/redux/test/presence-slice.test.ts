import { configureStore } from "@reduxjs/toolkit";
import { Presence, type PresenceChannel } from "@tandem/client";
import type { JsonObject, PresenceDiff, PresenceEntry, PresenceState } from "@tandem/protocol";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  presenceActions,
  presenceSlice,
  selectPresenceSynced,
  selectPresences,
} from "../src/index.js";

const TOPIC = "room:1";

function makeStore(checks = true) {
  // The property test builds hundreds of stores; the dev-only invariant checks, run by the
  // first test, would only slow it down.
  return configureStore({
    reducer: { presence: presenceSlice.reducer },
    middleware: (gdm) => gdm({ immutableCheck: checks, serializableCheck: checks }),
  });
}

/** A stand-in channel: the test delivers events and moves the join ref by hand. */
class ScriptedChannel implements PresenceChannel {
  ref: string | null = null;
  readonly handlers = new Map<string, (payload: unknown) => void>();
  on(event: string, callback: (payload: unknown) => void): void {
    this.handlers.set(event, callback);
  }
  joinRef(): string | null {
    return this.ref;
  }
}

type Step =
  | { kind: "rejoin"; ref: string }
  | { kind: "state"; state: PresenceState }
  | { kind: "diff"; diff: PresenceDiff };

// Keys include integer-like ones (which objects order first) and prototype member names.
const keyArb = fc.constantFrom("1", "10", "2", "a", "b", "__proto__", "constructor", "toString");
const metaArb = fc.record({
  phx_ref: fc.constantFrom("r1", "r2", "r3", "r4", "r5", "r6"),
  typing: fc.boolean(),
});
const entriesArb = fc.array(fc.tuple(keyArb, fc.array(metaArb, { minLength: 1, maxLength: 3 })), {
  maxLength: 5,
});

/** Builds a payload as JSON.parse would: keys such as "__proto__" are own properties. */
function presenceState(entries: [string, PresenceEntry["metas"]][]): PresenceState {
  const state: PresenceState = Object.create(null);
  for (const [key, metas] of entries) state[key] = { metas };
  return JSON.parse(JSON.stringify(state)) as PresenceState;
}

const stepArb: fc.Arbitrary<Step> = fc.oneof(
  fc.record({ kind: fc.constant("rejoin" as const), ref: fc.constantFrom("j1", "j2", "j3") }),
  fc.record({ kind: fc.constant("state" as const), state: entriesArb.map(presenceState) }),
  fc.record({
    kind: fc.constant("diff" as const),
    diff: fc
      .tuple(entriesArb, entriesArb)
      .map(([joins, leaves]) => ({ joins: presenceState(joins), leaves: presenceState(leaves) })),
  }),
);

function clientList(presence: Presence<JsonObject>) {
  return presence.list((key, entry) => ({ ...entry, key }));
}

describe("presence slice", () => {
  it("lists presences in order, holds diffs back until their join's state, clears topics", () => {
    const store = makeStore();
    const diff: PresenceDiff = {
      joins: presenceState([["7", [{ phx_ref: "b", typing: false }]]]),
      leaves: presenceState([]),
    };
    store.dispatch(presenceActions.diffReceived({ topic: TOPIC, joinRef: "1", diff }));
    expect(selectPresences(store.getState(), TOPIC)).toEqual([]);
    expect(selectPresenceSynced(store.getState(), TOPIC)).toBe(false);

    const state = presenceState([
      ["b", [{ phx_ref: "c", typing: false }]],
      ["12", [{ phx_ref: "a", typing: true }]],
    ]);
    store.dispatch(presenceActions.stateReceived({ topic: TOPIC, joinRef: "1", state }));
    const list = selectPresences(store.getState(), TOPIC);
    expect(list.map((p) => p.key)).toEqual(["7", "12", "b"]);
    expect(list[1]?.metas).toEqual([{ phx_ref: "a", typing: true }]);
    expect(selectPresenceSynced(store.getState(), TOPIC)).toBe(true);
    // An unrelated action leaves the list's identity alone, which keeps selectors cheap.
    store.dispatch(presenceActions.topicCleared({ topic: "other" }));
    expect(selectPresences(store.getState(), TOPIC)).toBe(list);

    store.dispatch(presenceActions.topicCleared({ topic: TOPIC }));
    expect(selectPresences(store.getState(), TOPIC)).toEqual([]);
  });

  it("gives the same list as the client's Presence for any sequence of events", () => {
    fc.assert(
      fc.property(fc.array(stepArb, { maxLength: 25 }), (steps) => {
        const channel = new ScriptedChannel();
        const presence = new Presence<JsonObject>(channel);
        const store = makeStore(false);
        for (const step of steps) {
          if (step.kind === "rejoin") {
            channel.ref = step.ref;
            continue;
          }
          const joinRef = channel.joinRef();
          if (step.kind === "state") {
            store.dispatch(
              presenceActions.stateReceived({ topic: TOPIC, joinRef, state: step.state }),
            );
            channel.handlers.get("presence_state")?.(JSON.parse(JSON.stringify(step.state)));
          } else {
            store.dispatch(
              presenceActions.diffReceived({ topic: TOPIC, joinRef, diff: step.diff }),
            );
            channel.handlers.get("presence_diff")?.(JSON.parse(JSON.stringify(step.diff)));
          }
          const expected = clientList(presence);
          const actual = selectPresences(store.getState(), TOPIC);
          expect(actual.map((p) => p.key)).toEqual(expected.map((p) => p.key));
          expect(JSON.parse(JSON.stringify(actual))).toEqual(JSON.parse(JSON.stringify(expected)));
        }
      }),
      { numRuns: 300 },
    );
  });
});
