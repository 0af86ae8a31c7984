import { Socket } from "@tandem/client";
import { DASHBOARD_TOPIC, SNAPSHOT_EVENT, type Snapshot, type Welcome } from "../src/wire.js";
import { View } from "./view.js";

// The server wrote the socket's path into the page; the token is in the page's own URL.
const socketPath =
  document.querySelector<HTMLMetaElement>('meta[name="tandem-dashboard-socket"]')?.content ??
  "/dashboard/socket";
const token = new URLSearchParams(location.search).get("token") ?? "";

const view = new View(document.body);
const socket = new Socket(socketPath, { authToken: token });
socket.onOpen(() => view.link("live"));
socket.onClose(() => view.link("offline"));
socket.connect();

const channel = socket.channel(DASHBOARD_TOPIC, { token });
channel.on<Snapshot>(SNAPSHOT_EVENT, (snapshot) => view.snapshot(snapshot));
channel
  .join<Welcome, { reason?: string }>()
  .receive("ok", (welcome) => view.welcome(welcome))
  .receive("error", (refusal) => {
    if (refusal.reason !== "unauthorized") return;
    // A wrong token stays wrong: stop rejoining.
    channel.leave();
    socket.disconnect();
    view.refused();
  });
