import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import type { Endpoint } from "@tandem/server";

/** A listener for Prometheus, apart from the app's public port. */
export interface MetricsServer {
  /** `http://host:port`; scrape `/metrics` there. */
  readonly url: string;
  close(): Promise<void>;
}

/**
 * Serves the endpoint's `/metrics` (and `/healthz`, `/readyz`) on a port of its own, so
 * the counters, which tell how busy each node is, are not open to anyone who can reach
 * the app. Bind it to loopback or a private interface.
 */
export async function serveMetrics(
  endpoint: Endpoint,
  port: number,
  host: string,
): Promise<MetricsServer> {
  const server = createServer((req, res) => {
    if (!endpoint.handleHttp(req, res)) {
      res.writeHead(404, { "content-type": "text/plain; charset=utf-8" }).end("Not Found\n");
    }
  });
  const address = await new Promise<AddressInfo>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => {
      server.off("error", reject);
      resolve(server.address() as AddressInfo);
    });
  });
  const shownHost = address.family === "IPv6" ? `[${address.address}]` : address.address;
  return {
    url: `http://${shownHost}:${address.port}`,
    close: () =>
      new Promise((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
