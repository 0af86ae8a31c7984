import type { PresenceDiff, PresenceEntry, PresenceMeta, PresenceState } from "@tandem/protocol";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { Presence } from "../src/presence.js";
import { describeChange, type PresenceChange } from "../src/presence-updates.js";
import { StubChannel, snapshot } from "./presence-stub.js";

type Status = { status: string };
type Meta = PresenceMeta<Status>;

const meta = (phx_ref: string, status = "online", phx_ref_prev?: string): Meta =>
  phx_ref_prev === undefined ? { status, phx_ref } : { status, phx_ref, phx_ref_prev };
const entry = (...metas: Meta[]): PresenceEntry<Status> => ({ metas });

describe("describeChange", () => {
  it("reports a new key as joined", () => {
    expect(describeChange(undefined, entry(meta("a")))).toEqual({
      before: undefined,
      after: entry(meta("a")),
      joined: [meta("a")],
      left: [],
      updated: [],
    });
  });

  it("reports a removed key as left", () => {
    expect(describeChange(entry(meta("a")), undefined)).toEqual({
      before: entry(meta("a")),
      after: undefined,
      joined: [],
      left: [meta("a")],
      updated: [],
    });
  });

  it("pairs a meta whose phx_ref_prev names a departed meta into an update", () => {
    const before = entry(meta("a"), meta("b"));
    const after = entry(meta("b"), meta("c", "away", "a"));
    expect(describeChange(before, after)).toEqual({
      before,
      after,
      joined: [],
      left: [],
      updated: [{ prev: meta("a"), next: meta("c", "away", "a") }],
    });
  });

  it("keeps joins and leaves apart from an update in the same step", () => {
    const change = describeChange(
      entry(meta("a"), meta("b")),
      entry(meta("x"), meta("c", "away", "a")),
    );
    expect(change).toMatchObject({
      joined: [meta("x")],
      left: [meta("b")],
      updated: [{ prev: meta("a"), next: meta("c", "away", "a") }],
    });
  });

  it("treats a phx_ref_prev naming a meta that stays, or one never seen, as a join", () => {
    expect(describeChange(entry(meta("a")), entry(meta("a"), meta("b", "x", "a")))).toMatchObject({
      joined: [meta("b", "x", "a")],
      left: [],
      updated: [],
    });
    expect(describeChange(entry(meta("a")), entry(meta("c", "x", "b")))).toMatchObject({
      joined: [meta("c", "x", "b")],
      left: [meta("a")],
      updated: [],
    });
  });

  it("pairs each departed meta with one successor only", () => {
    expect(
      describeChange(entry(meta("a")), entry(meta("b", "x", "a"), meta("c", "y", "a"))),
    ).toMatchObject({
      joined: [meta("c", "y", "a")],
      left: [],
      updated: [{ prev: meta("a"), next: meta("b", "x", "a") }],
    });
  });

  it("returns undefined when no meta came or went", () => {
    expect(describeChange(entry(meta("a")), entry(meta("a", "other")))).toBeUndefined();
    expect(describeChange(undefined, undefined)).toBeUndefined();
  });

  it("reports a key that appears or disappears with no metas", () => {
    expect(describeChange(undefined, entry())).toMatchObject({ joined: [], left: [] });
    expect(describeChange(entry(), undefined)).toMatchObject({ joined: [], left: [] });
  });
});

/** A presence with every callback recording, in firing order. */
function observed(channel: StubChannel) {
  const presence = new Presence<Status>(channel);
  const events: unknown[] = [];
  presence.onJoin((key) => events.push(["join", key]));
  presence.onLeave((key) => events.push(["leave", key]));
  presence.onSync(() => events.push(["sync"]));
  presence.onChange((key, change) => events.push(["change", key, snapshot(change)]));
  return { presence, events };
}

describe("Presence.onChange", () => {
  it("reports a server update as one update, after onJoin and onLeave and before onSync", () => {
    const channel = new StubChannel();
    const { events } = observed(channel);
    channel.trigger("presence_state", { u1: entry(meta("a"), meta("b")) });
    events.length = 0;

    channel.trigger("presence_diff", {
      joins: { u1: entry(meta("c", "away", "a")) },
      leaves: { u1: entry(meta("a")) },
    });

    expect(events).toEqual([
      ["join", "u1"],
      ["leave", "u1"],
      [
        "change",
        "u1",
        {
          before: entry(meta("a"), meta("b")),
          after: entry(meta("b"), meta("c", "away", "a")),
          joined: [],
          left: [],
          updated: [{ prev: meta("a"), next: meta("c", "away", "a") }],
        },
      ],
      ["sync"],
    ]);
  });

  it("reports keys in the order onJoin and onLeave first saw them", () => {
    const channel = new StubChannel();
    const { events } = observed(channel);
    channel.trigger("presence_state", { b: entry(meta("1")), a: entry(meta("2")) });
    events.length = 0;

    channel.trigger("presence_diff", {
      joins: { c: entry(meta("3")), b: entry(meta("4", "x", "1")) },
      leaves: { a: entry(meta("2")), b: entry(meta("1")) },
    });

    const changes = events.filter((event) => (event as unknown[])[0] === "change");
    expect(changes.map((event) => (event as unknown[])[1])).toEqual(["c", "b", "a"]);
  });

  it("detects an update that happened while away when the next state arrives", () => {
    const channel = new StubChannel();
    const { presence, events } = observed(channel);
    channel.trigger("presence_state", { u1: entry(meta("a")), u2: entry(meta("b")) });
    channel.rejoin();
    events.length = 0;

    channel.trigger("presence_state", { u1: entry(meta("c", "away", "a")), u3: entry(meta("d")) });

    expect(events).toEqual([
      ["join", "u1"],
      ["join", "u3"],
      ["leave", "u2"],
      ["leave", "u1"],
      [
        "change",
        "u1",
        expect.objectContaining({ updated: [{ prev: meta("a"), next: meta("c", "away", "a") }] }),
      ],
      ["change", "u3", expect.objectContaining({ before: undefined, joined: [meta("d")] })],
      ["change", "u2", expect.objectContaining({ after: undefined, left: [meta("b")] })],
      ["sync"],
    ]);
    expect(presence.list((key) => key)).toEqual(["u1", "u3"]);
  });

  it("reports the state and each pending diff as steps of their own", () => {
    const channel = new StubChannel();
    const { events } = observed(channel);
    channel.trigger("presence_diff", {
      joins: { u1: entry(meta("b", "away", "a")) },
      leaves: { u1: entry(meta("a")) },
    });
    expect(events).toEqual([]);

    channel.trigger("presence_state", { u1: entry(meta("a")) });

    expect(events).toEqual([
      ["join", "u1"],
      ["change", "u1", expect.objectContaining({ joined: [meta("a")] })],
      ["join", "u1"],
      ["leave", "u1"],
      [
        "change",
        "u1",
        expect.objectContaining({ updated: [{ prev: meta("a"), next: meta("b", "away", "a") }] }),
      ],
      ["sync"],
    ]);
  });

  it("is not confused by an onJoin callback that changes the entry it is given", () => {
    const channel = new StubChannel();
    const presence = new Presence<Status>(channel);
    const changes: PresenceChange<Status>[] = [];
    channel.trigger("presence_state", { u1: entry(meta("a")) });
    presence.onJoin((_key, current) => current?.metas.push(meta("z")));
    presence.onChange((_key, change) => changes.push(snapshot(change)));

    channel.trigger("presence_diff", { joins: { u1: entry(meta("b")) }, leaves: {} });

    expect(changes).toEqual([
      {
        before: entry(meta("a")),
        after: entry(meta("a"), meta("b")),
        joined: [meta("b")],
        left: [],
        updated: [],
      },
    ]);
  });

  it("is not confused by an onLeave callback that changes the entry it is given", () => {
    const channel = new StubChannel();
    const presence = new Presence<Status>(channel);
    const changes: PresenceChange<Status>[] = [];
    channel.trigger("presence_state", { u1: entry(meta("a"), meta("b")) });
    presence.onLeave((_key, current) => current.metas.push(meta("z")));
    presence.onChange((_key, change) => changes.push(snapshot(change)));

    channel.trigger("presence_diff", { joins: {}, leaves: { u1: entry(meta("a")) } });

    expect(changes).toEqual([
      {
        before: entry(meta("a"), meta("b")),
        after: entry(meta("b"), meta("z")),
        joined: [meta("z")],
        left: [meta("a")],
        updated: [],
      },
    ]);
  });

  it("stays silent when a diff changes no meta, and stops when set to null", () => {
    const channel = new StubChannel();
    const { presence, events } = observed(channel);
    channel.trigger("presence_state", { u1: entry(meta("a")) });
    events.length = 0;

    channel.trigger("presence_diff", { joins: { u1: entry(meta("a")) }, leaves: {} });
    expect(events).toEqual([["join", "u1"], ["sync"]]);

    presence.onChange(null);
    events.length = 0;
    channel.trigger("presence_diff", { joins: {}, leaves: { u1: entry(meta("a")) } });
    expect(events).toEqual([["leave", "u1"], ["sync"]]);
  });
});

// A small server: per key a list of metas, changed one operation at a time, each operation
// broadcast as its own diff the way Phoenix.Presence does (an update is a join carrying
// phx_ref_prev plus a leave of the old meta, in one diff).
type Op =
  | { kind: "track"; key: string; status: string }
  | { kind: "untrack"; pick: number }
  | { kind: "update"; pick: number; status: string }
  | { kind: "reconnect"; missed: number };

type Expected = { joined: Meta[]; left: Meta[]; updated: { prev: Meta; next: Meta }[] };

class Server {
  private readonly tracked: { key: string; meta: Meta }[] = [];
  private nextRef = 0;

  state(): PresenceState<Status> {
    const state: PresenceState<Status> = Object.create(null);
    for (const { key, meta } of this.tracked) {
      const current = state[key] ?? { metas: [] };
      current.metas.push(meta);
      state[key] = current;
    }
    return JSON.parse(JSON.stringify(state));
  }

  /** Applies one operation; returns its diff and the change a client should report. */
  apply(op: Op): { diff: PresenceDiff<Status>; key: string; expected: Expected } | undefined {
    if (op.kind === "track") {
      const added = meta(this.ref(), op.status);
      this.tracked.push({ key: op.key, meta: added });
      return {
        diff: { joins: { [op.key]: entry(added) }, leaves: {} },
        key: op.key,
        expected: { joined: [added], left: [], updated: [] },
      };
    }
    if (op.kind === "reconnect" || this.tracked.length === 0) return undefined;
    const index = op.pick % this.tracked.length;
    const { key, meta: old } = this.tracked[index]!;
    if (op.kind === "untrack") {
      this.tracked.splice(index, 1);
      return {
        diff: { joins: {}, leaves: { [key]: entry(old) } },
        key,
        expected: { joined: [], left: [old], updated: [] },
      };
    }
    const next = meta(this.ref(), op.status, old.phx_ref);
    this.tracked[index] = { key, meta: next };
    return {
      diff: { joins: { [key]: entry(next) }, leaves: { [key]: entry(old) } },
      key,
      expected: { joined: [], left: [], updated: [{ prev: old, next }] },
    };
  }

  private ref(): string {
    this.nextRef += 1;
    return `ref${this.nextRef}`;
  }
}

const refs = (metas: Meta[] | undefined) => new Set((metas ?? []).map((m) => m.phx_ref));

/** Keys and their metas, ignoring order: the server orders metas by pid, the client by arrival. */
const byRefs = (state: PresenceState<Status>) =>
  Object.getOwnPropertyNames(state)
    .sort()
    .map((key) => [key, state[key]!.metas.map((m) => JSON.stringify(m)).sort()]);

describe("onChange against a simulated server", () => {
  const opArb: fc.Arbitrary<Op> = fc.oneof(
    fc.record({
      kind: fc.constant("track" as const),
      key: fc.constantFrom("1", "10", "u1", "u2", "__proto__", "constructor"),
      status: fc.constantFrom("online", "away"),
    }),
    fc.record({ kind: fc.constant("untrack" as const), pick: fc.nat(20) }),
    fc.record({
      kind: fc.constant("update" as const),
      pick: fc.nat(20),
      status: fc.constantFrom("online", "away", "busy"),
    }),
    fc.record({ kind: fc.constant("reconnect" as const), missed: fc.nat(3) }),
  );

  it("reports exactly the server's joins, leaves and updates, and adds up", () => {
    fc.assert(
      fc.property(fc.array(opArb, { maxLength: 25 }), (ops) => {
        const server = new Server();
        const channel = new StubChannel();
        const presence = new Presence<Status>(channel);
        let changes: [string, PresenceChange<Status>][] = [];
        presence.onChange((key, change) => changes.push([key, snapshot(change)]));
        channel.trigger("presence_state", server.state());

        for (let i = 0; i < ops.length; i++) {
          const op = ops[i]!;
          changes = [];
          if (op.kind === "reconnect") {
            // Diffs broadcast while the client is away are lost; the new state covers them.
            channel.rejoin();
            for (const missedOp of ops.slice(i + 1, i + 1 + op.missed)) server.apply(missedOp);
            i += op.missed;
            channel.trigger("presence_state", server.state());
          } else {
            const sent = server.apply(op);
            if (!sent) continue;
            channel.trigger("presence_diff", JSON.parse(JSON.stringify(sent.diff)));
            expect(changes).toEqual([[sent.key, expect.objectContaining(sent.expected)]]);
          }
          for (const [key, change] of changes) {
            // before - left - prev + joined + next == after, and after is the live entry's copy
            const expectedRefs = refs(change.before?.metas);
            for (const m of [...change.left, ...change.updated.map((u) => u.prev)]) {
              expect(expectedRefs.delete(m.phx_ref)).toBe(true);
            }
            for (const m of [...change.joined, ...change.updated.map((u) => u.next)]) {
              expectedRefs.add(m.phx_ref);
            }
            expect(refs(change.after?.metas)).toEqual(expectedRefs);
            expect(change.after).toEqual(presence.state[key]);
          }
          expect(byRefs(presence.state)).toEqual(byRefs(server.state()));
        }
      }),
      { numRuns: 300 },
    );
  });
});
