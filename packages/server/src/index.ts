/**
 * Tandem's server: an {@link Endpoint} that serves connections over WebSocket and long-poll, connection handlers
 * ({@link defineConnectionHandler}) that authenticate them and route topics to channels
 * ({@link defineChannel}), {@link PubSub} for broadcasts, and {@link Presence} on top of the
 * {@link Tracker} CRDT.
 *
 * @packageDocumentation
 * @module @tandem/server
 */
export {
  decodeEnvelope,
  ENVELOPE_VERSION,
  type Envelope,
  EnvelopeError,
  type EnvelopeErrorKind,
  type EnvelopeResult,
  encodeEnvelope,
  MAX_ENVELOPE_FIELD_BYTES,
} from "./bus-envelope.js";
export { BusLink, type BusStats, type BusStatus, reconnectDelay } from "./bus-link.js";
export type {
  Assigns,
  BroadcastInfo,
  ChannelContext,
  ChannelDefinition,
  ClientPresenceHandler,
  RequestRef,
} from "./channel.js";
export { defineChannel } from "./channel.js";
export {
  BUS_VARIABLES,
  type BusVariable,
  busVariable,
  replicationFromEnv,
} from "./cluster-env.js";
export {
  type ChannelRoute,
  type ConnectInfo,
  type ConnectionHandler,
  channel,
  defineConnectionHandler,
} from "./connection-handler.js";
export {
  type CloseOptions,
  Endpoint,
  type EndpointOptions,
  type HttpHandler,
} from "./endpoint.js";
export { defaultLogger, type Logger, silentLogger } from "./logger.js";
export { Metrics, type TrafficTotals } from "./metrics.js";
export type { OriginCheck } from "./origin.js";
export {
  ClientPresence,
  type ClientPresenceOptions,
  type ClientPresenceRefusal,
  type OwnPresenceStore,
  type PresenceSelf,
  type TransientField,
} from "./presence/client-presence.js";
export type { LargeRoomOptions } from "./presence/large-rooms.js";
export {
  Presence,
  type PresenceFetch,
  type PresenceHost,
  type PresenceOptions,
  type PresenceRefusal,
  type PresenceResult,
  type TransientOptions,
} from "./presence/presence.js";
export type { RateLimit } from "./presence/rate-limit.js";
export type {
  StandardSchema,
  StandardSchemaIssue,
  StandardSchemaResult,
} from "./presence/standard-schema.js";
export type { CoalesceOptions } from "./presence/topic-cooldown.js";
export {
  type Fastlane,
  type InterestListener,
  PubSub,
  type PubSubOptions,
  type SubscribeOptions,
  type Subscriber,
} from "./pubsub.js";
export type { BusMessage, PubSubAdapter } from "./pubsub-adapter.js";
export {
  error,
  type HandleInfoResult,
  type HandleInResult,
  ok,
  type ReplyResult,
  type ResponseBody,
  reply,
  type StopReason,
  type StopResult,
  stop,
} from "./results.js";
export { DEFAULT_SHARDS, MAX_SHARDS, shardChannel, shardOf } from "./shard.js";
export { SharedMessage } from "./shared-message.js";
export { type Rate, TokenBucket } from "./token-bucket.js";
export type { ReplicaRef } from "./tracker/replica.js";
export type { Entry } from "./tracker/state.js";
export {
  type DiffListener,
  type PeerSilence,
  type ReplicationTimings,
  type TopicChanges,
  Tracker,
  type TrackerOptions,
} from "./tracker/tracker.js";
