export { type ClusterConfig, clusterFromEnv } from "./cluster-env.js";
export {
  decodeEnvelope,
  ENVELOPE_VERSION,
  type Envelope,
  EnvelopeError,
  type EnvelopeErrorKind,
  type EnvelopeResult,
  encodeEnvelope,
  MAX_ENVELOPE_FIELD_BYTES,
} from "./envelope.js";
export {
  RedisAdapter,
  type RedisAdapterOptions,
  type RedisAdapterStats,
  type RedisAdapterStatus,
} from "./redis-adapter.js";
