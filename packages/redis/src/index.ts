/**
 * The cluster bus over Redis: a {@link RedisAdapter} (one Redis, pub/sub) or a
 * {@link RedisClusterAdapter} (Redis Cluster, sharded pub/sub) connects each node's
 * `PubSub` and presence tracker to the others; {@link clusterFromEnv} builds one from
 * `REDIS_URL` or `REDIS_CLUSTER_URLS`.
 *
 * @packageDocumentation
 * @module @tandem/redis
 */
export { type ClusterConfig, clusterFromEnv, clusterSeeds } from "./cluster-env.js";
export {
  RedisAdapter,
  type RedisAdapterOptions,
  type RedisAdapterStats,
  type RedisAdapterStatus,
} from "./redis-adapter.js";
export {
  RedisClusterAdapter,
  type RedisClusterAdapterOptions,
} from "./redis-cluster-adapter.js";
