/**
 * A live operator dashboard for a `@tandem/server` {@link @tandem/server!Endpoint}, off
 * until {@link mountDashboard} is called: the cluster's nodes, the busiest topics,
 * presences, connections, messages and bytes per second, fan-out latency and bus lag,
 * charted live in a page that follows a Tandem channel of its own.
 *
 * @packageDocumentation
 * @module @tandem/dashboard
 */
export {
  type Dashboard,
  type DashboardBus,
  type DashboardOptions,
  mountDashboard,
} from "./dashboard.js";
export { type HistogramReading, intervalQuantile } from "./quantile.js";
export { readEndpoint } from "./reading.js";
export { type Reading, Sampler } from "./sampler.js";
export { MIN_TOKEN_LENGTH } from "./token.js";
export { busiestTopics } from "./topics.js";
export {
  type BusRow,
  DASHBOARD_TOPIC,
  type NodeRow,
  type Sample,
  SNAPSHOT_EVENT,
  type Snapshot,
  type TopicRow,
  type Welcome,
} from "./wire.js";
