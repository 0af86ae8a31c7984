import type { PresenceEntry, PresenceState } from "@tandem/protocol";
import { describe, expect, it } from "vitest";
import { Presence } from "../src/presence.js";
import { StubChannel, snapshot } from "./presence-stub.js";

type Meta = { id: number };

const copy = <T>(value: T): T => JSON.parse(JSON.stringify(value)) as T;

const fixtures = {
  joins: (): PresenceState<Meta> => ({ u1: { metas: [{ id: 1, phx_ref: "1.2" }] } }),
  leaves: (): PresenceState<Meta> => ({ u2: { metas: [{ id: 2, phx_ref: "2" }] } }),
  state: (): PresenceState<Meta> => ({
    u1: { metas: [{ id: 1, phx_ref: "1" }] },
    u2: { metas: [{ id: 2, phx_ref: "2" }] },
    u3: { metas: [{ id: 3, phx_ref: "3" }] },
  }),
};

/** Records callback arguments as they were when the callback ran. */
function recorder() {
  const joined: unknown[] = [];
  const left: unknown[] = [];
  return {
    joined,
    left,
    onJoin: (key: string, current: PresenceEntry<Meta> | undefined, newPres: PresenceEntry<Meta>) =>
      joined.push(snapshot({ key, current, newPres })),
    onLeave: (key: string, current: PresenceEntry<Meta>, leftPres: PresenceEntry<Meta>) =>
      left.push(snapshot({ key, current, leftPres })),
  };
}

const firstMeta = (_key: string, { metas }: PresenceEntry<Meta>) => metas[0];

describe("Presence.syncState", () => {
  it("syncs into an empty state without touching the state passed in", () => {
    const newState = { u1: { metas: [{ id: 1, phx_ref: "1" }] } };
    const state: PresenceState<Meta> = {};
    Presence.syncState(state, newState);
    expect(state).toEqual({});

    expect(Presence.syncState(state, newState)).toEqual(newState);
  });

  it("calls onJoin for new presences and onLeave for those that are gone", () => {
    const state = { u4: { metas: [{ id: 4, phx_ref: "4" }] } };
    const before = copy(state);
    const calls = recorder();

    const next = Presence.syncState(state, fixtures.state(), calls.onJoin, calls.onLeave);

    expect(state).toEqual(before);
    expect(next).toEqual(fixtures.state());
    expect(calls.joined).toEqual([
      { key: "u1", current: undefined, newPres: { metas: [{ id: 1, phx_ref: "1" }] } },
      { key: "u2", current: undefined, newPres: { metas: [{ id: 2, phx_ref: "2" }] } },
      { key: "u3", current: undefined, newPres: { metas: [{ id: 3, phx_ref: "3" }] } },
    ]);
    expect(calls.left).toEqual([
      { key: "u4", current: { metas: [] }, leftPres: { metas: [{ id: 4, phx_ref: "4" }] } },
    ]);
  });

  it("reports only the metas that are new for a known key", () => {
    const state = { u3: { metas: [{ id: 3, phx_ref: "3" }] } };
    const newState = {
      u3: {
        metas: [
          { id: 3, phx_ref: "3" },
          { id: 3, phx_ref: "3.new" },
        ],
      },
    };
    const calls = recorder();

    const next = Presence.syncState(state, copy(newState), calls.onJoin, calls.onLeave);

    expect(next).toEqual(newState);
    expect(calls.joined).toEqual([
      {
        key: "u3",
        current: { metas: [{ id: 3, phx_ref: "3" }] },
        newPres: { metas: [{ id: 3, phx_ref: "3.new" }] },
      },
    ]);
    expect(calls.left).toEqual([]);
  });

  it("reports metas that left a key which stays", () => {
    const state = {
      u1: {
        metas: [
          { id: 1, phx_ref: "a" },
          { id: 1, phx_ref: "b" },
        ],
      },
    };
    const calls = recorder();

    const next = Presence.syncState(
      state,
      { u1: { metas: [{ id: 1, phx_ref: "b" }] } },
      calls.onJoin,
      calls.onLeave,
    );

    expect(next).toEqual({ u1: { metas: [{ id: 1, phx_ref: "b" }] } });
    expect(calls.joined).toEqual([]);
    expect(calls.left).toEqual([
      {
        key: "u1",
        current: { metas: [{ id: 1, phx_ref: "b" }] },
        leftPres: { metas: [{ id: 1, phx_ref: "a" }] },
      },
    ]);
  });

  it("overwrites the metas of reused newState entries with the joined ones, as phoenix does", () => {
    const newState = {
      u1: {
        metas: [
          { id: 1, phx_ref: "1" },
          { id: 1, phx_ref: "2" },
        ],
      },
    };
    Presence.syncState({ u1: { metas: [{ id: 1, phx_ref: "1" }] } }, newState);
    expect(newState.u1.metas).toEqual([{ id: 1, phx_ref: "2" }]);
  });
});

describe("Presence.syncDiff", () => {
  it("syncs into an empty state", () => {
    const joins = { u1: { metas: [{ id: 1, phx_ref: "1" }] } };
    const state: PresenceState<Meta> = {};
    Presence.syncDiff(state, { joins, leaves: {} });
    expect(state).toEqual({});

    expect(Presence.syncDiff(state, { joins, leaves: {} })).toEqual(joins);
  });

  it("removes a presence whose metas are all gone and adds a meta to another", () => {
    const state = Presence.syncDiff(fixtures.state(), {
      joins: fixtures.joins(),
      leaves: fixtures.leaves(),
    });

    expect(state).toEqual({
      u1: {
        metas: [
          { id: 1, phx_ref: "1" },
          { id: 1, phx_ref: "1.2" },
        ],
      },
      u3: { metas: [{ id: 3, phx_ref: "3" }] },
    });
  });

  it("removes one meta and keeps the key while other metas remain", () => {
    const state = {
      u1: {
        metas: [
          { id: 1, phx_ref: "1" },
          { id: 1, phx_ref: "1.2" },
        ],
      },
    };
    const next = Presence.syncDiff(state, {
      joins: {},
      leaves: { u1: { metas: [{ id: 1, phx_ref: "1" }] } },
    });

    expect(next).toEqual({ u1: { metas: [{ id: 1, phx_ref: "1.2" }] } });
  });

  it("de-duplicates a re-sent join by phx_ref and keeps existing metas first", () => {
    const state = {
      u1: {
        metas: [
          { id: 1, phx_ref: "a" },
          { id: 1, phx_ref: "b" },
        ],
      },
    };
    const next = Presence.syncDiff(state, {
      joins: {
        u1: {
          metas: [
            { id: 9, phx_ref: "a" },
            { id: 1, phx_ref: "c" },
          ],
        },
      },
      leaves: {},
    });

    expect(next.u1?.metas).toEqual([
      { id: 1, phx_ref: "b" },
      { id: 9, phx_ref: "a" },
      { id: 1, phx_ref: "c" },
    ]);
  });

  it("hands onJoin a clone of the diff that later steps do not change (phoenix#3475)", () => {
    const state = { u1: { metas: [{ id: 1, phx_ref: "1" }] } };
    const seen: PresenceEntry<Meta>[] = [];
    Presence.syncDiff(
      state,
      { joins: { u1: { metas: [{ id: 1, phx_ref: "2" }] } }, leaves: {} },
      (_key, _current, newPres) => seen.push(newPres),
    );
    expect(seen).toEqual([{ metas: [{ id: 1, phx_ref: "2" }] }]);
  });

  it("skips leaves of unknown keys without calling onLeave", () => {
    const calls = recorder();
    const next = Presence.syncDiff(
      fixtures.state(),
      { joins: {}, leaves: { nobody: { metas: [{ id: 0, phx_ref: "0" }] } } },
      calls.onJoin,
      calls.onLeave,
    );
    expect(next).toEqual(fixtures.state());
    expect(calls.left).toEqual([]);
  });

  it("keeps extra fields, the latest join's winning", () => {
    const state = { u1: { metas: [{ id: 1, phx_ref: "1" }], name: "old" } };
    const next = Presence.syncDiff(state, {
      joins: { u1: { metas: [{ id: 1, phx_ref: "2" }], name: "new" } },
      leaves: {},
    });
    expect(next.u1).toEqual({
      metas: [
        { id: 1, phx_ref: "1" },
        { id: 1, phx_ref: "2" },
      ],
      name: "new",
    });
  });

  it("updates a null-prototype state in place and copies any other", () => {
    const plain = fixtures.state();
    const copied = Presence.syncDiff(plain, { joins: {}, leaves: fixtures.leaves() });
    expect(copied).not.toBe(plain);
    expect(Object.getPrototypeOf(copied)).toBeNull();

    expect(Presence.syncDiff(copied, { joins: fixtures.joins(), leaves: {} })).toBe(copied);
  });
});

describe("keys colliding with Object.prototype", () => {
  const keys = ["__proto__", "constructor", "hasOwnProperty"];
  // Built the way JSON.parse builds payloads: as own data properties.
  const entries = (metaId: number) =>
    Object.fromEntries(
      keys.map((key, i) => [key, { metas: [{ id: metaId + i, phx_ref: `${key}-${metaId}` }] }]),
    ) as PresenceState<Meta>;

  it("joins and leaves them with syncState without touching the prototype", () => {
    const calls = recorder();
    const state = Presence.syncState({}, entries(1), calls.onJoin, calls.onLeave);

    expect(Object.getPrototypeOf(state)).toBeNull();
    expect(Object.getOwnPropertyNames(state)).toEqual(keys);
    expect(Presence.list(state)[0]?.metas).toEqual([{ id: 1, phx_ref: "__proto__-1" }]);
    expect(Presence.list(state, (key) => key)).toEqual(keys);
    expect(calls.joined.map((call) => (call as { key: string }).key)).toEqual(keys);

    const emptied = Presence.syncState(state, {}, calls.onJoin, calls.onLeave);
    expect(Object.getOwnPropertyNames(emptied)).toEqual([]);
    expect(calls.left.map((call) => (call as { key: string }).key)).toEqual(keys);
    expect(Object.getPrototypeOf({})).toBe(Object.prototype);
    expect(typeof Object.prototype.hasOwnProperty).toBe("function");
  });

  it("joins and leaves them with syncDiff without touching the prototype", () => {
    const calls = recorder();
    let state = Presence.syncDiff({}, { joins: entries(1), leaves: {} }, calls.onJoin);
    expect(Object.getPrototypeOf(state)).toBeNull();
    expect(Object.getOwnPropertyNames(state)).toEqual(keys);

    state = Presence.syncDiff(state, { joins: entries(5), leaves: {} });
    const constructorKey: string = "constructor";
    expect(state[constructorKey]?.metas.map((meta) => meta.phx_ref)).toEqual([
      "constructor-1",
      "constructor-5",
    ]);
    expect(calls.joined).toEqual(
      keys.map((key, i) => ({
        key,
        current: undefined,
        newPres: { metas: [{ id: 1 + i, phx_ref: `${key}-1` }] },
      })),
    );

    state = Presence.syncDiff(state, { joins: {}, leaves: entries(1) }, undefined, calls.onLeave);
    state = Presence.syncDiff(state, { joins: {}, leaves: entries(5) }, undefined, calls.onLeave);
    expect(Object.getOwnPropertyNames(state)).toEqual([]);
    expect(calls.left).toHaveLength(6);
    expect(Object.getPrototypeOf({})).toBe(Object.prototype);
  });
});

describe("Presence.list", () => {
  it("lists the full presences by default", () => {
    expect(Presence.list(fixtures.state())).toEqual([
      { metas: [{ id: 1, phx_ref: "1" }] },
      { metas: [{ id: 2, phx_ref: "2" }] },
      { metas: [{ id: 3, phx_ref: "3" }] },
    ]);
  });

  it("lists what a chooser picks", () => {
    const state = {
      u1: {
        metas: [
          { id: 1, phx_ref: "1.first" },
          { id: 1, phx_ref: "1.second" },
        ],
      },
    };
    expect(Presence.list(state, firstMeta)).toEqual([{ id: 1, phx_ref: "1.first" }]);
  });

  it("orders integer-like keys first, ascending, then the rest in insertion order", () => {
    const state = Presence.syncDiff(
      {},
      {
        joins: {
          b: { metas: [{ id: 0, phx_ref: "b" }] },
          "10": { metas: [{ id: 10, phx_ref: "10" }] },
          a: { metas: [{ id: 0, phx_ref: "a" }] },
          "2": { metas: [{ id: 2, phx_ref: "2" }] },
          "01": { metas: [{ id: 1, phx_ref: "01" }] },
        },
        leaves: {},
      },
    );
    expect(Presence.list(state, (key) => key)).toEqual(["2", "10", "b", "a", "01"]);
  });
});

describe("Presence instance", () => {
  it("syncs state and diffs", () => {
    const channel = new StubChannel();
    const presence = new Presence<Meta>(channel);
    const user1 = { metas: [{ id: 1, phx_ref: "1" }] };
    const user2 = { metas: [{ id: 2, phx_ref: "2" }] };

    channel.trigger("presence_state", { u1: user1, u2: user2 });
    expect(presence.list(firstMeta)).toEqual([
      { id: 1, phx_ref: "1" },
      { id: 2, phx_ref: "2" },
    ]);

    channel.trigger("presence_diff", { joins: {}, leaves: { u1: user1 } });
    expect(presence.list(firstMeta)).toEqual([{ id: 2, phx_ref: "2" }]);
    expect(Object.getPrototypeOf(presence.state)).toBeNull();
  });

  it("holds diffs until the state arrives, also after a rejoin", () => {
    const channel = new StubChannel();
    const presence = new Presence<Meta>(channel);
    const calls = recorder();
    let syncs = 0;
    presence.onJoin(calls.onJoin);
    presence.onLeave(calls.onLeave);
    presence.onSync(() => syncs++);
    const user1 = { metas: [{ id: 1, phx_ref: "1" }] };
    const user2 = { metas: [{ id: 2, phx_ref: "2" }] };
    const user3 = { metas: [{ id: 3, phx_ref: "3" }] };

    expect(presence.inPendingSyncState()).toBe(true);
    const early = { joins: {}, leaves: { u2: user2 } };
    channel.trigger("presence_diff", early);
    expect(presence.list()).toEqual([]);
    // Callbacks wait for the first state (phoenix#4549).
    expect([calls.joined, calls.left, syncs]).toEqual([[], [], 0]);

    channel.trigger("presence_state", { u1: user1, u2: user2 });
    expect(presence.inPendingSyncState()).toBe(false);
    expect(presence.list(firstMeta)).toEqual([{ id: 1, phx_ref: "1" }]);
    expect(calls.joined).toEqual([
      { key: "u1", current: undefined, newPres: user1 },
      { key: "u2", current: undefined, newPres: user2 },
    ]);
    expect(calls.left).toEqual([{ key: "u2", current: { metas: [] }, leftPres: user2 }]);
    expect(syncs).toBe(1);

    channel.rejoin();
    expect(presence.inPendingSyncState()).toBe(true);
    channel.trigger("presence_diff", { joins: {}, leaves: { u1: user1 } });
    expect(presence.list(firstMeta)).toEqual([{ id: 1, phx_ref: "1" }]);

    channel.trigger("presence_state", { u1: user1, u3: user3 });
    expect(presence.inPendingSyncState()).toBe(false);
    expect(presence.list(firstMeta)).toEqual([{ id: 3, phx_ref: "3" }]);
    expect(syncs).toBe(2);
  });

  it("allows custom channel events", () => {
    const channel = new StubChannel();
    const presence = new Presence<Meta>(channel, {
      events: { state: "the_state", diff: "the_diff" },
    });
    const user1 = { metas: [{ id: 1, phx_ref: "1" }] };

    channel.trigger("the_state", { user1 });
    expect(presence.list(firstMeta)).toEqual([{ id: 1, phx_ref: "1" }]);
    channel.trigger("the_diff", { joins: {}, leaves: { user1 } });
    expect(presence.list()).toEqual([]);
    channel.trigger("presence_state", { user1 });
    expect(presence.list()).toEqual([]);
  });

  it("applies an update as a join of the new meta, then a leave of the old one", () => {
    const channel = new StubChannel();
    const presence = new Presence<{ id: number; name?: string }>(channel);
    const user1 = { metas: [{ id: 1, phx_ref: "1" }] };
    const user2 = { metas: [{ id: 2, name: "chris", phx_ref: "2" }] };
    channel.trigger("presence_state", { u1: user1, u2: copy(user2) });
    const calls = recorder();
    presence.onJoin(calls.onJoin);
    presence.onLeave(calls.onLeave);

    const joins = {
      u2: { metas: [{ id: 2, name: "chris.2", phx_ref: "2.2", phx_ref_prev: "2" }] },
    };
    channel.trigger("presence_diff", { joins, leaves: { u2: user2 } });

    expect(presence.list((_key, { metas }) => metas)).toEqual([user1.metas, joins.u2.metas]);
    expect(calls.joined).toEqual([{ key: "u2", current: user2, newPres: joins.u2 }]);
    expect(calls.left).toEqual([{ key: "u2", current: joins.u2, leftPres: user2 }]);
  });

  it("uses the latest callback set by each setter", () => {
    const channel = new StubChannel();
    const presence = new Presence<Meta>(channel);
    const seen: string[] = [];
    presence.onSync(() => seen.push("first"));
    presence.onSync(() => seen.push("second"));
    channel.trigger("presence_state", {});
    expect(seen).toEqual(["second"]);
  });

  it("applies a callback replaced during a message from the next message on", () => {
    const channel = new StubChannel();
    const presence = new Presence<Meta>(channel);
    const seen: string[] = [];
    presence.onJoin((key) => {
      seen.push(`old ${key}`);
      presence.onJoin((later) => seen.push(`new ${later}`));
    });
    const join = (key: string) => ({
      joins: { [key]: { metas: [{ id: 0, phx_ref: key }] } },
      leaves: {},
    });
    channel.trigger("presence_diff", join("c"));
    channel.trigger("presence_state", {
      a: { metas: [{ id: 1, phx_ref: "a" }] },
      b: { metas: [{ id: 2, phx_ref: "b" }] },
    });
    channel.trigger("presence_diff", join("d"));
    expect(seen).toEqual(["old a", "old b", "old c", "new d"]);
  });
});
