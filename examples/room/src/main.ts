import cluster from "node:cluster";
import { mountDashboard } from "@tandem/dashboard";
import { natsClusterFromEnv } from "@tandem/nats";
import { clusterFromEnv } from "@tandem/redis";
import { busVariable, defaultLogger } from "@tandem/server";
import { createRoomEndpoint } from "./room.js";

const port = Number(process.env.PORT ?? 4000);
const host = process.env.HOST ?? "127.0.0.1";
const nodes = Number(process.env.NODES ?? 1);
const logger = defaultLogger();

if (nodes > 1 && cluster.isPrimary) {
  // Several processes on one machine: node:cluster shares the port, the bus shares presence.
  if (!busVariable(process.env)) {
    console.error(
      "NODES > 1 needs REDIS_URL, REDIS_CLUSTER_URLS or NATS_URL: the nodes share presence over it",
    );
    process.exit(1);
  }
  for (let i = 0; i < nodes; i++) cluster.fork();
  cluster.on("exit", (worker, code, signal) => {
    logger.warn({ pid: worker.process.pid, code, signal }, "node exited");
  });
  console.log(`listening on http://${host}:${port} with ${nodes} nodes`);
  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    process.once(signal, () => {
      for (const worker of Object.values(cluster.workers ?? {})) worker?.process.kill("SIGTERM");
      cluster.disconnect(() => process.exit(0));
    });
  }
} else {
  const { pubsub, replication, adapter } =
    busVariable(process.env) === "NATS_URL"
      ? natsClusterFromEnv(process.env, logger)
      : clusterFromEnv(process.env, logger);
  const { endpoint, presence } = createRoomEndpoint({ pubsub, logger }, { replication });
  // The operator dashboard, only when a token is set: /dashboard?token=<DASHBOARD_TOKEN>.
  const token = process.env.DASHBOARD_TOKEN;
  const dashboard = token
    ? mountDashboard(endpoint, { token, presence, bus: adapter ?? undefined })
    : undefined;
  const address = await endpoint.listen(port, host);
  logger.info(
    { port: address.port, node: pubsub.nodeName, clustered: pubsub.clustered },
    "room example up",
  );
  if (cluster.isPrimary) console.log(`listening on http://${host}:${address.port}`);
  if (dashboard && cluster.isPrimary) {
    console.log(
      `dashboard at http://${host}:${address.port}${dashboard.path}?token=<DASHBOARD_TOKEN>`,
    );
  }

  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    process.once(signal, () => {
      // Presence first: peers drop this node's entries at once instead of after a timeout.
      presence.close();
      dashboard?.close();
      void endpoint
        .close()
        .then(() => pubsub.close())
        .then(() => process.exit(0));
    });
  }
}
