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
export {
  newReplicaRef,
  parseReplicaId,
  type ReplicaId,
  type ReplicaRef,
  type ReplicaStatus,
  replicaId,
} from "./replica.js";
