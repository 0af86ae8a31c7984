export {
  appendClock,
  type ClockSet,
  type Context,
  clockAt,
  clockSetReplicas,
  dominates,
  dominatesOrEqual,
  filterReplicas,
  lowerbound,
  type ReplicaClock,
  upperbound,
} from "./clock.js";
export { DEFAULT_MAX_DELTA_SIZES, DeltaGenerations, FULL_STATE } from "./delta-generation.js";
export {
  newReplicaRef,
  parseReplicaId,
  type ReplicaId,
  type ReplicaRef,
  type ReplicaStatus,
  replicaId,
} from "./replica.js";
export {
  type Changes,
  type Clouds,
  type Delta,
  type DeltaRange,
  deltaSize,
  type Entry,
  extractDelta,
  mergeDeltas,
  removeReplicaFromDelta,
  type Tag,
  TrackerState,
  type Transfer,
  type Updated,
} from "./state.js";
export {
  MAX_TRANSFER_PARTS,
  splitTransfer,
  TransferAssembly,
  type TransferPart,
} from "./transfer-parts.js";
