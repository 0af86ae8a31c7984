import { PubSub, type Subscriber, silentLogger, Tracker } from "@tandem/server";
import { CountedBus, type EventCounters } from "./counted-bus.js";

/** Where a room's members sit. */
export type Placement = "routed" | "random";

/**
 * `interest`: the interest-routed design (topic shards, eager deltas). `everywhere`:
 * today's design, every node hears and holds everything: one shard, so one channel all
 * nodes subscribe to, and deltas only with the periodic heartbeat.
 */
export type Design = "interest" | "everywhere";

/** One simulated cluster run. */
export interface SimulationOptions {
  nodes: number;
  design: Design;
  placement: Placement;
  /** Rooms per node: the cluster grows with its nodes, each node serving as many. */
  roomsPerNode: number;
  /** Members per room. */
  members: number;
  /** Typing toggles per member per second (a presence update each). */
  typingPerS: number;
  /** Leaves per member per second, each followed by a join of a new member. */
  churnPerS: number;
  /** Broadcasts per room per second. */
  shoutsPerS: number;
  warmupMs: number;
  durationMs: number;
  /** Shards of the interest design. */
  shards: number;
  seed: number;
}

/** Per node, per simulated second unless said otherwise. */
export interface NodeFigures {
  messagesPerS: number;
  bytesPerS: number;
  /** Broadcasts received for topics without local subscribers. */
  unservedPerS: number;
  /** Presence entries visible in this node's replicas at the end. */
  entries: number;
  /** Of those, entries of topics the node does not serve (the price of shards). */
  unservedEntries: number;
  /** Handling bus messages plus own tracker work, ms per simulated second. */
  cpuMsPerS: number;
}

interface Member {
  readonly id: number;
  readonly room: number;
  readonly node: number;
  typing: boolean;
  unsubscribe: () => void;
}

const PERIOD_MS = 1500;
const SLICE_MS = 100;

/** A deterministic random source (mulberry32). */
function random32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** How many of `expected` events (a fractional mean) happen in one draw. */
function occurrences(expected: number, random: () => number): number {
  const whole = Math.floor(expected);
  return whole + (random() < expected - whole ? 1 : 0);
}

/**
 * Runs K nodes (the real PubSub and Tracker, with default timings) over a
 * {@link CountedBus} in simulated time: members join their rooms (subscribe and
 * track), then type, churn and shout at steady rates; after the warm-up, what reaches
 * each node is counted for `durationMs`.
 */
export async function simulate(
  o: SimulationOptions,
): Promise<{ nodes: NodeFigures[]; events: Record<string, EventCounters> }> {
  const random = random32(o.seed);
  const bus = new CountedBus();
  let now = 0;
  const interest = o.design === "interest";
  const nodes: { name: string; pubsub: PubSub; tracker: Tracker }[] = [];
  for (let i = 0; i < o.nodes; i++) {
    const name = `n${i}`;
    let pubsub: PubSub | undefined;
    const adapter = bus.adapter(name, (topic) => (pubsub?.subscriberCount(topic) ?? 0) > 0);
    pubsub = new PubSub({ adapter, shards: interest ? o.shards : 1 });
    await pubsub.start();
    const tracker = new Tracker({
      pubsub,
      broadcastPeriodMs: PERIOD_MS,
      eager: interest,
      logger: silentLogger,
      timers: false,
      now: () => now,
    });
    nodes.push({ name, pubsub, tracker });
  }
  const rooms = o.nodes * o.roomsPerNode;
  const topic = (room: number) => `room:${room}`;
  // Routed: a room's home is its id modulo the nodes, and every other room also has
  // members on the next node (rooms on 1-2 nodes, as a router by room id makes them).
  const nodeFor = (room: number, seat: number): number => {
    if (o.placement === "random") return Math.floor(random() * o.nodes);
    const home = room % o.nodes;
    return room % 2 === 1 && seat % 2 === 1 ? (home + 1) % o.nodes : home;
  };
  const members: Member[] = [];
  let lastId = 0;
  const act = (node: number, work: () => void): void => {
    const { name, tracker } = nodes[node]!;
    bus.charge(name, () => {
      work();
      tracker.flush();
    });
    bus.drain();
  };
  const join = (room: number, seat: number): Member => {
    const node = nodeFor(room, seat);
    const id = ++lastId;
    const { pubsub, tracker } = nodes[node]!;
    const member: Member = { id, room, node, typing: false, unsubscribe: () => {} };
    act(node, () => {
      // One subscriber per member, as each member's channel is one.
      const subscriber: Subscriber = { deliver() {} };
      member.unsubscribe = pubsub.subscribe(topic(room), subscriber);
      tracker.track(`m${id}`, topic(room), `u${id}`, { name: `user ${id}`, typing: false });
    });
    return member;
  };
  const tickAll = (): void => {
    for (const { name, tracker } of nodes) bus.charge(name, () => tracker.tick());
    bus.drain();
  };

  for (let room = 0; room < rooms; room++) {
    for (let seat = 0; seat < o.members; seat++) members.push(join(room, seat));
  }
  const run = (ms: number): void => {
    for (let t = 0; t < ms; t += SLICE_MS) {
      now += SLICE_MS;
      const perSlice = SLICE_MS / 1000;
      for (let n = occurrences(members.length * o.typingPerS * perSlice, random); n > 0; n--) {
        const member = members[Math.floor(random() * members.length)]!;
        member.typing = !member.typing;
        const meta = { name: `user ${member.id}`, typing: member.typing };
        act(member.node, () =>
          nodes[member.node]!.tracker.update(
            `m${member.id}`,
            topic(member.room),
            `u${member.id}`,
            meta,
          ),
        );
      }
      for (let n = occurrences(members.length * o.churnPerS * perSlice, random); n > 0; n--) {
        const index = Math.floor(random() * members.length);
        const member = members[index]!;
        act(member.node, () => {
          nodes[member.node]!.tracker.untrackOwner(`m${member.id}`);
          member.unsubscribe();
        });
        members[index] = join(member.room, Math.floor(random() * o.members));
      }
      for (let n = occurrences(rooms * o.shoutsPerS * perSlice, random); n > 0; n--) {
        const member = members[Math.floor(random() * members.length)]!;
        act(member.node, () =>
          nodes[member.node]!.pubsub.broadcast(topic(member.room), "shout", { text: "hello" }),
        );
      }
      if (now % PERIOD_MS === 0) tickAll();
    }
  };
  run(o.warmupMs);
  bus.reset();
  run(o.durationMs);

  const seconds = o.durationMs / 1000;
  const figures = nodes.map(({ name, pubsub, tracker }) => {
    const counters = bus.counters(name);
    let entries = 0;
    let unservedEntries = 0;
    for (let room = 0; room < rooms; room++) {
      const size = tracker.topicSize(topic(room));
      entries += size;
      if (pubsub.subscriberCount(topic(room)) === 0) unservedEntries += size;
    }
    return {
      messagesPerS: counters.messages / seconds,
      bytesPerS: counters.bytes / seconds,
      unservedPerS: counters.unserved / seconds,
      entries,
      unservedEntries,
      cpuMsPerS: counters.cpuNs / 1e6 / seconds,
    };
  });
  const perNode = seconds * o.nodes;
  const events = Object.fromEntries(
    Object.entries(bus.events()).map(([event, { messages, bytes }]) => [
      event,
      { messages: messages / perNode, bytes: bytes / perNode },
    ]),
  );
  return { nodes: figures, events };
}
