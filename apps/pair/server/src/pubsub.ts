import { PubSub, type PubSubAdapter } from "@tandem/server";

/**
 * The shape this server expects of `@tandem/redis` (written alongside it): a
 * `RedisAdapter` class taking the Redis URL.
 */
interface RedisModule {
  RedisAdapter: new (options: { url: string }) => PubSubAdapter;
}

function isRedisModule(value: unknown): value is RedisModule {
  return (
    typeof value === "object" &&
    value !== null &&
    "RedisAdapter" in value &&
    typeof value.RedisAdapter === "function"
  );
}

/**
 * The PubSub for this node: local only, or joined to the other nodes through Redis
 * when `REDIS_URL` is set. `@tandem/redis` (and ioredis with it) is imported only then,
 * so a single-node server never loads it.
 */
export async function createPubSub(env: { REDIS_URL?: string | undefined }): Promise<PubSub> {
  const url = env.REDIS_URL?.trim();
  if (!url) return new PubSub();
  // A variable specifier keeps the type checker from requiring the package to exist
  // when REDIS_URL support is not in use; the module is checked at runtime instead.
  const specifier = "@tandem/redis";
  const module: unknown = await import(specifier);
  if (!isRedisModule(module)) throw new Error(`${specifier} does not export RedisAdapter`);
  return new PubSub({ adapter: new module.RedisAdapter({ url }) });
}
