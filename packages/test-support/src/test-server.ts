import type { AddressInfo } from "node:net";
import {
  type Assigns,
  type ConnectionHandler,
  Endpoint,
  type EndpointOptions,
  silentLogger,
} from "@tandem/server";

/** An endpoint serving one socket handler at `/socket` on a port of its own. */
export interface TestServer {
  endpoint: Endpoint;
  port: number;
  /** ws://127.0.0.1:<port>/socket */
  url: string;
  close(): Promise<void>;
}

export async function startServer<A extends Assigns>(
  handler: ConnectionHandler<A>,
  options: EndpointOptions = {},
  port = 0,
): Promise<TestServer> {
  const endpoint = new Endpoint({ logger: silentLogger, ...options }).mount("/socket", handler);
  const address: AddressInfo = await endpoint.listen(port);
  return {
    endpoint,
    port: address.port,
    url: `ws://127.0.0.1:${address.port}/socket`,
    close: () => endpoint.close({ timeoutMs: 500 }),
  };
}
