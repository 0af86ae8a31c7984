import { isAbsolute, resolve } from "node:path";
import { fileURLToPath } from "node:url";

/** The repository root: `DATA_DIR` and the web build are found relative to it. */
export const repoRoot = fileURLToPath(new URL("../../../../", import.meta.url));

/** Where `npm run build` of `apps/pair/web` puts the app the server hands to browsers. */
export const defaultWebDir = resolve(repoRoot, "apps/pair/web/dist");

/**
 * The server's settings, read from the environment:
 *
 * | variable | default | meaning |
 * |---|---|---|
 * | `PORT` | `4000` | HTTP and WebSocket port (one port for both) |
 * | `HOST` | `127.0.0.1` | interface to bind; loopback so a dev box is not exposed by accident (`0.0.0.0` in a container) |
 * | `DATABASE_URL` | unset | PostgreSQL connection string; unset means SQLite in `DATA_DIR` |
 * | `DATA_DIR` | `./data` under the repo root | SQLite file and the generated secret |
 * | `SECRET_KEY_BASE` | generated | token signing secret (at least 32 characters); when unset, one is generated on first run and kept in `DATA_DIR/secret_key_base` (mode 0600) |
 * | `LOG_LEVEL` | `info` | pino level |
 * | `REDIS_URL` | unset | joins other nodes through `@tandem/redis` |
 * | `ALLOWED_ORIGINS` | unset | comma-separated browser origins allowed to open the socket besides the server's own host |
 * | `METRICS_PORT` | unset | serve `/metrics` on this port; unset means no metrics listener (never on the app's port) |
 * | `METRICS_HOST` | `127.0.0.1` | interface of the metrics port |
 * | `TRUST_PROXIES` | unset | comma-separated proxy addresses or CIDRs whose `X-Forwarded-For` names the client; unset trusts none |
 */
export interface PairConfig {
  readonly port: number;
  readonly host: string;
  readonly databaseUrl: string | undefined;
  readonly dataDir: string;
  readonly secretKeyBase: string | undefined;
  readonly logLevel: string;
  readonly redisUrl: string | undefined;
  readonly allowedOrigins: readonly string[];
  readonly metricsPort: number | undefined;
  readonly metricsHost: string;
  readonly trustProxies: readonly string[];
}

/** Reads {@link PairConfig} from `env`, throwing on a value that cannot be right. */
export function loadConfig(env: NodeJS.ProcessEnv): PairConfig {
  const port = portOf("PORT", env.PORT ?? "4000");
  const metricsPort = nonEmpty(env.METRICS_PORT);
  const dataDir = env.DATA_DIR ?? "./data";
  return {
    port,
    host: nonEmpty(env.HOST) ?? "127.0.0.1",
    databaseUrl: nonEmpty(env.DATABASE_URL),
    dataDir: isAbsolute(dataDir) ? dataDir : resolve(repoRoot, dataDir),
    secretKeyBase: nonEmpty(env.SECRET_KEY_BASE),
    logLevel: nonEmpty(env.LOG_LEVEL) ?? "info",
    redisUrl: nonEmpty(env.REDIS_URL),
    allowedOrigins: list(env.ALLOWED_ORIGINS),
    metricsPort: metricsPort === undefined ? undefined : portOf("METRICS_PORT", metricsPort),
    metricsHost: nonEmpty(env.METRICS_HOST) ?? "127.0.0.1",
    trustProxies: list(env.TRUST_PROXIES),
  };
}

function portOf(name: string, text: string): number {
  const port = Number(text);
  if (text.trim() === "" || !Number.isInteger(port) || port < 0 || port > 65_535) {
    throw new Error(`${name} must be an integer from 0 to 65535, got ${JSON.stringify(text)}`);
  }
  return port;
}

function list(value: string | undefined): string[] {
  return (value ?? "")
    .split(",")
    .map((item) => item.trim())
    .filter((item) => item !== "");
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value.trim() === "" ? undefined : value;
}
