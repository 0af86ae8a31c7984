/**
 * Test support shipped as `@tandem/redis/testing`: a redis-server or a Redis Cluster of
 * one's own. Not for production code.
 */
export { RedisCluster, RedisClusterNode, type RedisClusterOptions } from "./redis-cluster.js";
export { RedisServer, sparePort } from "./redis-server.js";
