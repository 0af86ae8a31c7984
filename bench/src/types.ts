/** Shared by the harness and the load generator. */

export const SCENARIOS = [
  "join-storm",
  "typing",
  "broadcast",
  "capacity",
  "cluster",
  "soak",
  "abuse",
] as const;
export type Scenario = (typeof SCENARIOS)[number];

export const TARGETS = ["tandem", "tandem-nocoalesce", "tandem-counts", "raw", "socketio"] as const;
export type Target = (typeof TARGETS)[number];

export const TARGET_LABELS: Record<Target, string> = {
  tandem: "Tandem",
  "tandem-nocoalesce": "Tandem coalesce:false",
  "tandem-counts": "Tandem counts mode",
  raw: "raw ws ceiling",
  socketio: "Socket.IO 4.8",
};

export interface JoinStormOptions {
  n: number;
  concurrency: number;
  timeoutMs: number;
  /**
   * After convergence: this long of typing by 1 % of the members (each toggles every
   * second), to measure steady traffic per member per second. 0 skips it.
   */
  steadyMs: number;
  /**
   * Load-generator threads the clients are spread over, so that decoding what N clients
   * receive (about N² entries in list mode) is not what the storm measures.
   */
  workers: number;
}

export interface TypingOptions {
  room: number;
  typers: number;
  intervalMs: number;
  /** Typing before the measured part, so that both sides' code is warm. */
  warmupMs: number;
  durationMs: number;
  observers: number;
}

export interface BroadcastOptions {
  room: number;
  rates: number[];
  stepMs: number;
  observers: number;
}

export interface CapacityOptions {
  connections: number;
  roomSize: number;
  idleMs: number;
  heapSnapshot: string | null;
}

/** The bus a cluster bench runs over: one redis-server, a 3-master Redis Cluster, a nats-server. */
export const ENGINES = ["redis", "redis-cluster", "nats"] as const;
export type Engine = (typeof ENGINES)[number];

export interface ClusterOptions {
  /** The bus; the harness starts a throwaway one of its own. */
  engine: Engine;
  /** Clients in the room, split evenly across the two nodes. */
  room: number;
  /** Members on each node that toggle typing. */
  typersPerNode: number;
  intervalMs: number;
  durationMs: number;
  /** Observers on each node (latency is recorded at every observer). */
  observersPerNode: number;
  /** Tracker timings of both nodes. */
  broadcastPeriodMs: number;
  downPeriodMs: number;
  /** How long observers wait for the killed node's users to leave. */
  killTimeoutMs: number;
}

export interface SoakOptions {
  durationMs: number;
  /** Steady population of churning clients. */
  clients: number;
  rooms: number;
  /** Reconnects and leave/rejoins per second, over the whole population. */
  churnPerS: number;
  /** Typing toggles per second, over the whole population. */
  typingPerS: number;
  /** Server memory is read (after GC) this often. */
  sampleMs: number;
}

/** The floods of the abuse scenario, each from one attacking client that reconnects when cut. */
export const ATTACKS = ["heartbeats", "messages", "large-frames", "long-events"] as const;
export type Attack = (typeof ATTACKS)[number];

export interface AbuseOptions {
  /** How long each phase (no attacker, then each attack) probes. */
  phaseMs: number;
  /** A probe (connect + join + ping, then close) starts this often. */
  probeIntervalMs: number;
  /** Idle members of the probed room, who see every probe join and leave. */
  members: number;
  /** Bytes of one large-frames frame, and of one long-events event name. */
  largeFrameBytes: number;
  /** Which floods to run, in order, after the quiet phase. */
  attacks: Attack[];
}

export interface ScenarioOptions {
  "join-storm": JoinStormOptions;
  typing: TypingOptions;
  broadcast: BroadcastOptions;
  capacity: CapacityOptions;
  cluster: ClusterOptions;
  soak: SoakOptions;
  abuse: AbuseOptions;
}

/** What the harness sends the load generator. */
export interface LoadgenRequest<S extends Scenario = Scenario> {
  scenario: S;
  target: Target;
  /** ws:// or http:// base of the server, e.g. http://127.0.0.1:40123 */
  url: string;
  options: ScenarioOptions[S];
  /** Cluster: every node's base URL and pid (the load generator kills the last one). */
  nodes?: { url: string; pid: number }[];
}

export interface Common {
  /** Connections that failed to open or join. */
  failed: number;
  firstError: string | null;
  /** The load generator's own CPU over the measured phase (seconds). */
  loadgenCpuS: number;
}

export interface JoinStormResult extends Common {
  n: number;
  /** Opening the N connections before the storm (seconds; not part of the storm). */
  connectS: number;
  /** Threads the load generator spread the clients over. */
  loadgenThreads: number;
  /** The measured phase: from the joins until the traffic went quiet (seconds). */
  measuredS: number;
  /**
   * CPU over wall time from the joins until convergence (or the timeout), in cores: the
   * server near 1 is saturated (its work is one thread), the load generator near its
   * thread count is.
   */
  busy: {
    server: number;
    /** The share of the server's CPU spent in the kernel (socket writes, mostly). */
    serverKernel: number;
    loadgen: number;
  };
  /** Until every join was answered (ms from the moment all joins were sent). */
  allJoinedMs: number | null;
  /** Until every client listed all N (ms from the joins); null if not within the timeout. */
  convergenceMs: number | null;
  convergedClients: number;
  /** Server → client frames and bytes from the joins until quiet. */
  messages: number;
  bytes: number;
  serverCpuS: number;
  serverPeakRss: number;
  /**
   * Sampled every 100 ms: clients that list everyone (counts mode: whose last summary
   * counts N entries), the share of all N² pairs known, and frames/bytes so far.
   */
  curve: { tMs: number; converged: number; known: number; frames: number; bytes: number }[];
  /** Clients that got at least one presence_summary (counts mode). */
  summaryClients: number;
  /** The steady phase after convergence, or null when skipped or not converged. */
  steady: SteadyTraffic | null;
}

/** Traffic while 1 % of a converged room toggles typing, per member and second. */
export interface SteadyTraffic {
  seconds: number;
  typers: number;
  toggles: number;
  framesPerMemberPerS: number;
  bytesPerMemberPerS: number;
  /** The same, per one-second bucket: constant when traffic does not grow with N. */
  buckets: { framesPerMember: number; bytesPerMember: number }[];
  serverCpuS: number;
}

export interface Latency {
  count: number;
  p50: number;
  p95: number;
  p99: number;
  max: number;
  mean: number;
}

export interface TypingResult extends Common {
  room: number;
  typers: number;
  toggles: number;
  observers: number;
  /** Observed changes / (toggles × observers). */
  seenRatio: number;
  latencyMs: Latency;
  /** Frames delivered to all clients during the typing phase. */
  messages: number;
  serverCpuS: number;
  /** Instructions the server executed in the typing phase, when run under callgrind. */
  serverInstructions: number | null;
  durationS: number;
  serverPeakRss: number;
}

export interface BroadcastStep {
  rate: number;
  sent: number;
  /** Deliveries (publisher included) per second, until the last one arrived. */
  deliveredPerS: number;
  offeredPerS: number;
  /** Deliveries received / (sent × room). */
  deliveredRatio: number;
  latencyMs: Latency;
  serverCpuS: number;
  /** Server CPU per delivery (µs). */
  serverUsPerDelivery: number;
  loadgenCpuS: number;
  seconds: number;
  saturated: boolean;
}

export interface BroadcastResult extends Common {
  room: number;
  steps: BroadcastStep[];
  /** Highest deliveredPerS over the steps. */
  maxDeliveredPerS: number;
  serverPeakRss: number;
}

export interface CapacityResult extends Common {
  connections: number;
  joined: number;
  roomSize: number;
  baselineRss: number;
  rss: number;
  heapUsed: number;
  /** (RSS after joins − RSS before) / joined, after GC. */
  rssPerConn: number;
  heapPerConn: number;
  /** RSS growth over the second half of the connections / that half, after GC. */
  marginalRssPerConn: number;
  marginalHeapPerConn: number;
  /** external + arrayBuffers growth per connection (ws buffers). */
  externalPerConn: number;
  /** Server CPU while idle, as a share of one core. */
  idleCpu: number;
  idleS: number;
  rampS: number;
  serverPeakRss: number;
  heapSnapshot: string | null;
}

export interface ClusterResult extends Common {
  room: number;
  perNode: number[];
  /** From the joins until every client lists all members across both nodes (ms). */
  convergenceMs: number | null;
  toggles: number;
  /** Typing changes sent on one node and seen at observers on the other. */
  crossNode: Latency;
  /** The same node, for reference. */
  sameNode: Latency;
  /** Observed cross-node changes / expected. */
  crossSeenRatio: number;
  /** kill -9 of the last node: until each observer on the survivor saw all its users leave. */
  kill: {
    killedUsers: number;
    observers: number;
    /** Observers that saw every killed user leave within the timeout. */
    complete: number;
    /** Per observer, ms from the kill to the last leave. */
    leaveMs: Latency;
    /** Survivor users wrongly dropped at observers. */
    falseLeaves: number;
  };
  /**
   * Before the kill, at observers: members that vanished (a peer wrongly marked down)
   * and metas joined again after they were first seen (the peer back up).
   */
  spuriousLeaves: number;
  repeatedJoins: number;
  broadcastPeriodMs: number;
  downPeriodMs: number;
  engine: Engine;
}

export interface SoakSample {
  tS: number;
  /** After GC. */
  heapUsed: number;
  rss: number;
  connections: number;
}

export interface SoakResult extends Common {
  clients: number;
  rooms: number;
  durationS: number;
  reconnects: number;
  rejoins: number;
  toggles: number;
  /** Refused joins, failed reconnects (counted, not fatal). */
  opErrors: number;
  samples: SoakSample[];
  /** Least-squares slope of heap after GC (bytes per minute), first and second half. */
  heapSlopeFirst: number;
  heapSlopeSecond: number;
  /** Heap after GC at the end minus at the middle (bytes). */
  heapGrowthSecondHalf: number;
  /** After quiescing: entries at observers that are not connected clients, and missing ones. */
  ghosts: number;
  lost: number;
  /** Keys with more than one meta at an observer after quiescing. */
  duplicates: number;
  expectedPresences: number;
  /** tandem_presences and tandem_connections from /metrics after quiescing. */
  metricsPresences: number | null;
  metricsConnections: number | null;
  memoryFlat: boolean;
  verdict: "PASS" | "FAIL";
}

/** What one attacking process did during a phase. */
export interface AttackerReport {
  framesSent: number;
  bytesSent: number;
  /** Connections opened (the first included): it reconnects whenever it is cut. */
  connections: number;
  /** Replies and other frames the server wrote back to it. */
  framesReceived: number;
  /** How its connections ended, by close code ("1008", "1007", …). */
  closes: Record<string, number>;
}

export interface AbusePhase {
  attack: Attack | "none";
  probes: number;
  /** Probes that did not complete within 10 s. */
  failedProbes: number;
  /** connect + join + ping reply, per probe. */
  latencyMs: Latency;
  /** This phase's p50 and p99 over the no-attacker phase's. */
  p50Ratio: number;
  p99Ratio: number;
  serverCpuS: number;
  serverPeakRss: number;
  /** Members of the room still connected at the end of the phase. */
  membersConnected: number;
  attacker: AttackerReport | null;
}

export interface AbuseResult extends Common {
  phases: AbusePhase[];
}

export interface ScenarioResults {
  "join-storm": JoinStormResult;
  typing: TypingResult;
  broadcast: BroadcastResult;
  capacity: CapacityResult;
  cluster: ClusterResult;
  soak: SoakResult;
  abuse: AbuseResult;
}

export type LoadgenReply =
  | { ok: true; result: ScenarioResults[Scenario] }
  | { ok: false; error: string };
