/**
 * The cluster bus over Redis pub/sub: a {@link RedisAdapter} connects each node's `PubSub`
 * and presence tracker to the others; {@link clusterFromEnv} builds one from `REDIS_URL`.
 *
 * @packageDocumentation
 * @module @tandem/redis
 */
export { type ClusterConfig, clusterFromEnv } from "./cluster-env.js";
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
