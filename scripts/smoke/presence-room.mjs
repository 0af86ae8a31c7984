// Plain Node, no TypeScript loader: a Tandem server with a presence room on an ephemeral
// port, and a @tandem/client Socket (over ws) that joins it and waits to see itself; the
// dashboard's page is served from the tarball's built files.
import { Presence as ClientPresence, Socket } from "@tandem/client";
import { mountDashboard } from "@tandem/dashboard";
import {
  channel,
  defineChannel,
  defineConnectionHandler,
  Endpoint,
  ok,
  Presence,
} from "@tandem/server";
import { WebSocket } from "ws";

const endpoint = new Endpoint({ checkOrigin: false });
const presence = new Presence(endpoint);
const room = defineChannel({
  join(_topic, _payload, socket) {
    socket.send("after_join");
    return ok();
  },
  async handleInfo(message, socket) {
    if (message === "after_join") {
      presence.track(socket, socket.assigns.name, { online_at: Date.now() });
      await presence.pushState(socket);
    }
    return undefined;
  },
});
endpoint.mount(
  "/socket",
  defineConnectionHandler({
    connect: (params) => (typeof params.name === "string" ? { name: params.name } : null),
    channels: [channel("room:*", room)],
  }),
);
const token = "smoke-dashboard-token";
const dashboard = mountDashboard(endpoint, { token, presence });
const { port } = await endpoint.listen(0);
const page = await fetch(`http://127.0.0.1:${port}/dashboard?token=${token}`);
if (page.status !== 200 || !(await page.text()).includes("Tandem dashboard")) {
  console.error(`smoke: the dashboard page answered ${page.status}`);
  process.exit(1);
}

const socket = new Socket(`ws://127.0.0.1:${port}/socket`, {
  transport: WebSocket,
  params: { name: "ada" },
});
socket.connect();
const lobby = socket.channel("room:lobby");
const seen = new ClientPresence(lobby);
const timeout = setTimeout(() => {
  console.error("smoke: no presence for ada within 10 s");
  process.exit(1);
}, 10_000);
const names = await new Promise((resolve, reject) => {
  seen.onSync(() => {
    const list = seen.list((key) => key);
    if (list.includes("ada")) resolve(list);
  });
  lobby.join().receive("error", reject);
});
clearTimeout(timeout);
console.log(`node ${process.version} joined room:lobby on port ${port}, presence: ${names}`);
console.log("the dashboard page was served with its token");
socket.disconnect();
dashboard.close();
presence.close();
await endpoint.close();
