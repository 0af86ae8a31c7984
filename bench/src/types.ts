/** Shared by the harness and the load generator. */

export const SCENARIOS = ["join-storm", "typing", "broadcast", "capacity"] as const;
export type Scenario = (typeof SCENARIOS)[number];

export const TARGETS = ["tandem", "tandem-nocoalesce", "raw", "socketio"] as const;
export type Target = (typeof TARGETS)[number];

export const TARGET_LABELS: Record<Target, string> = {
  tandem: "Tandem",
  "tandem-nocoalesce": "Tandem coalesce:false",
  raw: "raw ws ceiling",
  socketio: "Socket.IO 4.8",
};

export interface JoinStormOptions {
  n: number;
  concurrency: number;
  timeoutMs: number;
}

export interface TypingOptions {
  room: number;
  typers: number;
  intervalMs: number;
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

export interface ScenarioOptions {
  "join-storm": JoinStormOptions;
  typing: TypingOptions;
  broadcast: BroadcastOptions;
  capacity: CapacityOptions;
}

/** What the harness sends the load generator. */
export interface LoadgenRequest<S extends Scenario = Scenario> {
  scenario: S;
  target: Target;
  /** ws:// or http:// base of the server, e.g. http://127.0.0.1:40123 */
  url: string;
  options: ScenarioOptions[S];
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
  /** Sampled every 100 ms: clients that list everyone, and the share of all N² pairs known. */
  curve: { tMs: number; converged: number; known: number }[];
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
  /** external + arrayBuffers growth per connection (ws buffers). */
  externalPerConn: number;
  /** Server CPU while idle, as a share of one core. */
  idleCpu: number;
  idleS: number;
  rampS: number;
  serverPeakRss: number;
  heapSnapshot: string | null;
}

export interface ScenarioResults {
  "join-storm": JoinStormResult;
  typing: TypingResult;
  broadcast: BroadcastResult;
  capacity: CapacityResult;
}

export type LoadgenReply =
  | { ok: true; result: ScenarioResults[Scenario] }
  | { ok: false; error: string };
