/**
 * What the dashboard channel carries, shared by the server and the page. Plain JSON, so
 * each is a type alias (an interface would not fit a JSON object's index signature).
 */

/** The dashboard's channel topic; `tandem:` topics are left out of the busiest topics. */
export const DASHBOARD_TOPIC = "tandem:dashboard";

/** The event each new snapshot is pushed with. */
export const SNAPSHOT_EVENT = "snapshot";

/** One interval of one node: gauges at its end, rates and latencies over it. */
export type Sample = {
  /** When the interval ended, in ms since the epoch. */
  readonly at: number;
  /** Open connections (WebSocket and long-poll). */
  readonly connections: number;
  /** Joined channels across all connections. */
  readonly channels: number;
  /** Presence entries tracked by this node. */
  readonly presences: number;
  /** Frames received from clients per second. */
  readonly messagesIn: number;
  /** Frames written to clients per second. */
  readonly messagesOut: number;
  /** Bytes received from clients per second. */
  readonly bytesIn: number;
  /** Bytes written to clients per second. */
  readonly bytesOut: number;
  /** Local fan-outs (one broadcast to every subscriber of its topic) per second. */
  readonly fanouts: number;
  /** Median fan-out time over the interval in ms; null without fan-outs. */
  readonly fanoutP50Ms: number | null;
  /** 99th percentile fan-out time over the interval in ms; null without fan-outs. */
  readonly fanoutP99Ms: number | null;
  /** Median delay of tracker heartbeats across the bus in ms; null when none arrived. */
  readonly busLagP50Ms: number | null;
  /** 99th percentile delay of tracker heartbeats across the bus in ms; null when none arrived. */
  readonly busLagP99Ms: number | null;
};

/** A node of the cluster as this node sees it. */
export type NodeRow = {
  readonly name: string;
  /** Whether this is the node serving the dashboard. */
  readonly self: boolean;
  readonly up: boolean;
  /** How long ago it was last heard from, in ms (0 for this node). */
  readonly silentMs: number;
};

/** One of the busiest topics on this node. */
export type TopicRow = {
  readonly topic: string;
  /** Subscribers on this node. */
  readonly subscribers: number;
  /** Presences on the topic across the cluster; null without a Presence to ask. */
  readonly presences: number | null;
};

/** The cluster bus as its adapter reports it. */
export type BusRow = {
  readonly status: string;
  readonly published: number;
  readonly received: number;
  readonly dropped: number;
  readonly invalid: number;
};

/** What is pushed every interval. */
export type Snapshot = {
  readonly sample: Sample;
  readonly nodes: NodeRow[];
  readonly topics: TopicRow[];
  /** null when the endpoint has no cluster bus, or none was given to the dashboard. */
  readonly bus: BusRow | null;
};

/** The join reply: who this node is, and the history so charts start full. */
export type Welcome = {
  readonly node: string;
  /** When this node's process started, in ms since the epoch. */
  readonly startedAt: number;
  readonly intervalMs: number;
  /** How far back charts go, in ms. */
  readonly historyMs: number;
  /** Samples of the last `historyMs`, oldest first. */
  readonly history: Sample[];
  /** The latest snapshot, or null before the first interval has passed. */
  readonly snapshot: Snapshot | null;
};
