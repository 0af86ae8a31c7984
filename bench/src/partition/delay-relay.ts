/**
 * A TCP relay that delays every chunk by `delay` ms in each direction, order kept: the
 * partition bench's stand-in for `tc qdisc netem delay`, which this kernel lacks
 * (packet loss is iptables' `statistic` match). `node delay-relay.ts <listenPort>
 * <targetPort> <delayMs>`; SIGUSR1 turns the delay on, SIGUSR2 off (it starts off).
 */
import { createConnection, createServer, type Socket } from "node:net";

const [listenPort, targetPort, delayMs] = process.argv.slice(2).map(Number);
let delay = 0;
process.on("SIGUSR1", () => {
  delay = delayMs!;
});
process.on("SIGUSR2", () => {
  delay = 0;
});
process.on("disconnect", () => process.exit(0));

/** Copies `from` to `to`, each chunk `delay` ms later but never before the one ahead of it. */
function pipeDelayed(from: Socket, to: Socket): void {
  let last = 0;
  from.on("data", (chunk: Buffer) => {
    const at = Math.max(Date.now() + delay, last);
    last = at;
    setTimeout(() => to.write(chunk), at - Date.now());
  });
  from.on("close", () => setTimeout(() => to.destroy(), Math.max(0, last - Date.now())));
  from.on("error", () => {});
}

const server = createServer((client) => {
  const upstream = createConnection({ host: "127.0.0.1", port: targetPort! });
  client.setNoDelay(true);
  upstream.setNoDelay(true);
  pipeDelayed(client, upstream);
  pipeDelayed(upstream, client);
});
server.listen(listenPort, "0.0.0.0", () => process.stdout.write("relaying\n"));
