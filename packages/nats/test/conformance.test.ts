import { randomUUID } from "node:crypto";
import { connect } from "@nats-io/transport-node";
import { describeAdapterConformance, silentLogger } from "@tandem/test-support";
import { afterAll, beforeAll } from "vitest";
import { NatsAdapter } from "../src/index.js";
import { NatsServer } from "../src/testing/nats-server.js";

let server: NatsServer | undefined;
beforeAll(async () => {
  server = await NatsServer.start();
});
afterAll(() => server?.kill());

describeAdapterConformance("NatsAdapter", () => {
  const nats = server;
  if (!nats) throw new Error("nats-server is not started yet");
  return {
    async cluster(size) {
      const prefix = `test-${randomUUID().slice(0, 8)}`;
      const adapters = Array.from(
        { length: size },
        (_, i) =>
          new NatsAdapter({
            servers: nats.url,
            prefix,
            nodeName: `node-${i}`,
            logger: silentLogger,
          }),
      );
      return {
        adapters,
        async sendRaw(bytes) {
          const connection = await connect({ servers: nats.url });
          connection.publish(adapters[0]?.subjects.broadcast ?? "", bytes);
          await connection.drain();
        },
      };
    },
    async restart() {
      await nats.kill();
      await nats.restart();
    },
  };
});
