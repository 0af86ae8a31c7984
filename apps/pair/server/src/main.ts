import { natsClusterFromEnv } from "@tandem/nats";
import { clusterFromEnv } from "@tandem/redis";
import { busVariable } from "@tandem/server";
import { pino } from "pino";
import { loadConfig } from "./config.js";
import { createPairServer } from "./server.js";

const config = loadConfig(process.env);
const logger = pino({ name: "pair", level: config.logLevel });
const { pubsub, replication } =
  busVariable(process.env) === "NATS_URL"
    ? natsClusterFromEnv(process.env, logger)
    : clusterFromEnv(process.env, logger);

const server = await createPairServer({
  port: config.port,
  host: config.host,
  dataDir: config.dataDir,
  databaseUrl: config.databaseUrl,
  secretKeyBase: config.secretKeyBase,
  allowedOrigins: config.allowedOrigins,
  metricsPort: config.metricsPort,
  metricsHost: config.metricsHost,
  trustProxies: config.trustProxies,
  pubsub,
  replication,
  logger,
}).catch((err: unknown) => {
  // A port in use or an unreachable database: say so in one log line, not a stack dump.
  logger.fatal({ err }, "could not start");
  process.exit(1);
});
logger.info(
  {
    database: config.databaseUrl ? "postgres" : "sqlite",
    dataDir: config.dataDir,
    metrics: server.metricsUrl ?? "off",
  },
  `Pair listening on ${server.url}`,
);

let stopping = false;
async function shutdown(signal: NodeJS.Signals): Promise<void> {
  // A second signal while draining means "now".
  if (stopping) process.exit(1);
  stopping = true;
  logger.info({ signal }, "shutting down");
  try {
    await server.close();
    process.exit(0);
  } catch (err) {
    logger.error({ err }, "shutdown failed");
    process.exit(1);
  }
}
process.on("SIGTERM", (signal) => void shutdown(signal));
process.on("SIGINT", (signal) => void shutdown(signal));
