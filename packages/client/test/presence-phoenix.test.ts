// Runs the same messages through Tandem's Presence and phoenix's, and requires identical
// observable behaviour: lists, key order, callback arguments, mutation and identity of state.
import type { PresenceDiff, PresenceEntry, PresenceMeta, PresenceState } from "@tandem/protocol";
import fc from "fast-check";
import { type Channel, Presence as PhoenixPresence, Socket } from "phoenix";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { Presence, type PresenceChannel } from "../src/presence.js";
import { StubChannel } from "./presence-stub.js";

type Step =
  | { kind: "state"; payload: PresenceState }
  | { kind: "diff"; payload: PresenceDiff }
  | { kind: "rejoin" };

/** What both implementations expose; phoenix's types are looser, so this is the common view. */
interface PresenceLike {
  readonly state: object;
  onJoin(cb: (key: string, current: unknown, newPres: unknown) => void): void;
  onLeave(cb: (key: string, current: unknown, leftPres: unknown) => void): void;
  onSync(cb: () => void): void;
  list(): unknown[];
  list<T>(chooser: (key: string, presence: PresenceEntry) => T): T[];
  inPendingSyncState(): boolean;
}

interface StaticLike {
  syncState(
    current: object,
    next: object,
    onJoin?: (...args: unknown[]) => void,
    onLeave?: (...args: unknown[]) => void,
  ): object;
  syncDiff(
    state: object,
    diff: object,
    onJoin?: (...args: unknown[]) => void,
    onLeave?: (...args: unknown[]) => void,
  ): object;
}

/** A frozen, order-sensitive picture of a value; `undefined` stays distinguishable. */
const show = (value: unknown): string =>
  value === undefined ? "undefined" : `${protoTag(value)}${JSON.stringify(value)}`;
const protoTag = (value: unknown): string =>
  typeof value === "object" && value !== null && Object.getPrototypeOf(value) === null ? "∅" : "";

/** Feeds `steps` to one implementation and returns everything it made observable. */
function run(steps: Step[], make: (channel: StubChannel) => PresenceLike): string[] {
  const channel = new StubChannel();
  const presence = make(channel);
  const log: string[] = [];
  presence.onJoin((key, current, newPres) =>
    log.push(`join ${key} ${show(current)} ${show(newPres)}`),
  );
  presence.onLeave((key, current, left) => log.push(`leave ${key} ${show(current)} ${show(left)}`));
  presence.onSync(() => log.push("sync"));
  for (const step of steps) {
    const stateBefore = presence.state;
    if (step.kind === "rejoin") {
      channel.rejoin();
    } else {
      // Each implementation decodes its own copy, as each would from the wire.
      channel.trigger(
        step.kind === "state" ? "presence_state" : "presence_diff",
        JSON.parse(JSON.stringify(step.payload)),
      );
    }
    log.push(
      `after ${step.kind}: list ${show(presence.list())}`,
      `keys ${show(presence.list((key) => key))} state ${show(presence.state)}`,
      `same state object ${presence.state === stateBefore}`,
      `pending ${presence.inPendingSyncState()}`,
    );
  }
  return log;
}

const ours = (channel: StubChannel): PresenceLike => new Presence(channel);
const theirs = (channel: StubChannel): PresenceLike =>
  new PhoenixPresence(channel as unknown as Channel) as unknown as PresenceLike;

/** Ours with an onChange observer attached, which must not change anything phoenix-visible. */
const oursObserved = (channel: StubChannel): PresenceLike => {
  const presence = new Presence(channel);
  presence.onChange(() => {});
  return presence;
};

function expectSameAsPhoenix(steps: Step[]): void {
  const expected = run(steps, theirs);
  expect(run(steps, ours)).toEqual(expected);
  expect(run(steps, oursObserved)).toEqual(expected);
}

/** Builds a payload object the way JSON.parse does: every key an own data property. */
const object = <V>(entries: [string, V][]): Record<string, V> => Object.fromEntries(entries);

const meta = (phx_ref: string, extra: Record<string, string> = {}) => ({ ...extra, phx_ref });
const entry = (...metas: PresenceMeta[]): PresenceEntry => ({ metas });

describe("same behaviour as phoenix's Presence, fixed scenarios", () => {
  it("state, diffs, pending diffs and a rejoin", () => {
    expectSameAsPhoenix([
      { kind: "diff", payload: { joins: {}, leaves: { u2: entry(meta("2")) } } },
      { kind: "state", payload: { u1: entry(meta("1")), u2: entry(meta("2")) } },
      { kind: "diff", payload: { joins: { u3: entry(meta("3")) }, leaves: {} } },
      { kind: "rejoin" },
      { kind: "diff", payload: { joins: {}, leaves: { u1: entry(meta("1")) } } },
      { kind: "diff", payload: { joins: { u4: entry(meta("4")) }, leaves: {} } },
      { kind: "state", payload: { u1: entry(meta("1")), u3: entry(meta("3"), meta("3b")) } },
    ]);
  });

  it("an update arriving as a join with phx_ref_prev plus a leave", () => {
    expectSameAsPhoenix([
      {
        kind: "state",
        payload: {
          u1: entry(meta("a", { s: "on" }), meta("b", { s: "on" })),
          u2: entry(meta("c")),
        },
      },
      {
        kind: "diff",
        payload: {
          joins: { u1: entry({ s: "away", phx_ref: "d", phx_ref_prev: "a" }) },
          leaves: { u1: entry(meta("a", { s: "on" })) },
        },
      },
    ]);
  });

  it("integer-like and prototype-colliding keys", () => {
    const state = object([
      ["b", entry(meta("1"))],
      ["__proto__", entry(meta("2"))],
      ["10", entry(meta("3"))],
      ["constructor", entry(meta("4"))],
      ["2", entry(meta("5"))],
      ["hasOwnProperty", entry(meta("6"))],
      ["-1", entry(meta("7"))],
    ]);
    expectSameAsPhoenix([
      { kind: "state", payload: state },
      {
        kind: "diff",
        payload: {
          joins: object([
            ["1", entry(meta("8"))],
            ["constructor", entry(meta("9"))],
          ]),
          leaves: object([
            ["__proto__", entry(meta("2"))],
            ["10", entry(meta("3"))],
          ]),
        },
      },
      { kind: "state", payload: object([["toString", entry(meta("10"))]]) },
    ]);
  });

  it("re-sent joins, unknown leaves and entries with empty metas", () => {
    expectSameAsPhoenix([
      { kind: "state", payload: { u1: entry(meta("a")), u2: { metas: [] } } },
      { kind: "diff", payload: { joins: { u1: entry(meta("a"), meta("a")) }, leaves: {} } },
      { kind: "diff", payload: { joins: {}, leaves: { ghost: entry(meta("z")) } } },
      { kind: "state", payload: { u2: entry(meta("b")) } },
    ]);
  });
});

const keyArb = fc.constantFrom(
  "1",
  "2",
  "10",
  "-1",
  "01",
  "u1",
  "u2",
  "__proto__",
  "constructor",
  "hasOwnProperty",
  "toString",
);
const refArb = fc.constantFrom("a", "b", "c", "d", "e", "f");
const metaArb = fc.record(
  { phx_ref: refArb, phx_ref_prev: refArb, status: fc.constantFrom("on", "away") },
  { requiredKeys: ["phx_ref", "status"] },
);
const entryArb = fc.record(
  { metas: fc.array(metaArb, { maxLength: 3 }), name: fc.constantFrom("x", "y") },
  { requiredKeys: ["metas"] },
);
const presencesArb = fc
  .array(fc.tuple(keyArb, entryArb), { maxLength: 5 })
  .map((entries) => object(entries) as PresenceState);
const stepArb: fc.Arbitrary<Step> = fc.oneof(
  presencesArb.map((payload) => ({ kind: "state" as const, payload })),
  fc
    .record({ joins: presencesArb, leaves: presencesArb })
    .map((payload) => ({ kind: "diff" as const, payload })),
  { arbitrary: fc.constant({ kind: "rejoin" as const }), weight: 1 },
);

describe("same behaviour as phoenix's Presence, generated scenarios", () => {
  it("instance: any sequence of states, diffs and rejoins", () => {
    fc.assert(
      fc.property(fc.array(stepArb, { maxLength: 12 }), (steps) => {
        expectSameAsPhoenix(steps);
      }),
      { numRuns: 400 },
    );
  });

  it("static API: results, callbacks, and what happens to the inputs", () => {
    // `fresh` passes the previous result back as is (null prototype: updated in place);
    // otherwise a plain-object copy of it, which phoenix copies before changing.
    const callArb = fc.record({ step: stepArb, fresh: fc.boolean() });

    const runStatic = (impl: StaticLike, calls: { step: Step; fresh: boolean }[]): string[] => {
      const log: string[] = [];
      const onJoin = (...args: unknown[]) => log.push(`join ${args.map(show).join(" ")}`);
      const onLeave = (...args: unknown[]) => log.push(`leave ${args.map(show).join(" ")}`);
      let state: object = {};
      for (const { step, fresh } of calls) {
        if (step.kind === "rejoin") continue;
        const input = fresh ? state : JSON.parse(JSON.stringify(state));
        const payload = JSON.parse(JSON.stringify(step.payload));
        const result =
          step.kind === "state"
            ? impl.syncState(input, payload, onJoin, onLeave)
            : impl.syncDiff(input, payload, onJoin, onLeave);
        log.push(
          `${step.kind} -> ${show(result)} same object ${result === input}`,
          `input after ${show(input)} payload after ${show(payload)}`,
        );
        state = result;
      }
      return log;
    };

    fc.assert(
      fc.property(fc.array(callArb, { maxLength: 10 }), (calls) => {
        expect(runStatic(Presence as StaticLike, calls)).toEqual(
          runStatic(PhoenixPresence as unknown as StaticLike, calls),
        );
      }),
      { numRuns: 400 },
    );
  });
});

describe("on a real phoenix Channel object", () => {
  // The socket never connects: join pushes stay buffered and fake timers keep the join
  // timeout from firing, while join refs, rejoins and event dispatch are phoenix's own.
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it("behaves like phoenix's Presence across a rejoin", () => {
    const log = (make: (channel: Channel) => PresenceLike): string[] => {
      const channel = new Socket("ws://127.0.0.1:1/socket").channel("room:lobby");
      const presence = make(channel);
      const seen: string[] = [];
      presence.onJoin((key, current, newPres) =>
        seen.push(`join ${key} ${show(current)} ${show(newPres)}`),
      );
      presence.onLeave((key, current, left) =>
        seen.push(`leave ${key} ${show(current)} ${show(left)}`),
      );
      presence.onSync(() => seen.push(`sync ${show(presence.list())}`));
      // Both are public at runtime but missing from @types/phoenix.
      const internals = channel as unknown as {
        trigger(event: string, payload: unknown): void;
        rejoin(): void;
      };
      const send = (event: string, payload: object) =>
        internals.trigger(event, JSON.parse(JSON.stringify(payload)));

      channel.join();
      send("presence_diff", { joins: { u2: entry(meta("2")) }, leaves: {} });
      send("presence_state", { u1: entry(meta("1")) });
      seen.push(`pending ${presence.inPendingSyncState()} ${show(presence.list())}`);
      internals.rejoin();
      send("presence_diff", { joins: {}, leaves: { u1: entry(meta("1")) } });
      seen.push(`pending ${presence.inPendingSyncState()} ${show(presence.list())}`);
      send("presence_state", { u1: entry(meta("1")), u3: entry(meta("3")) });
      seen.push(`pending ${presence.inPendingSyncState()} ${show(presence.list())}`);
      return seen;
    };

    const expected = log((channel) => new PhoenixPresence(channel) as unknown as PresenceLike);
    // The leave of u1 waits for the new state: u1 is still listed meanwhile.
    expect(expected[4]).toMatch(/^pending true \[\{"metas":\[\{"phx_ref":"1"/);
    expect(expected.at(-2)).toBe('sync [{"metas":[{"phx_ref":"3"}]}]');
    expect(log((channel) => new Presence(channel as unknown as PresenceChannel))).toEqual(expected);
  });
});
