import { createRoomEndpoint } from "./room.js";

const port = Number(process.env.PORT ?? 4000);
const host = process.env.HOST ?? "127.0.0.1";
const { endpoint, presence } = createRoomEndpoint();
const address = await endpoint.listen(port, host);
endpoint.logger.info(
  { port: address.port },
  `room example listening on http://${host}:${address.port}`,
);
console.log(`listening on http://${host}:${address.port}`);

for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.once(signal, () => {
    void endpoint.close().then(() => {
      presence.close();
      process.exit(0);
    });
  });
}
