// A browser bundle of @tandem/client and @tandem/react, built by Vite from the tarballs.
import { Socket } from "@tandem/client";
import { SocketProvider, useChannel, usePresence } from "@tandem/react";
import { createElement } from "react";
import { createRoot } from "react-dom/client";

function Room() {
  const { channel, status } = useChannel("room:lobby");
  const names = usePresence(channel, (key) => key);
  return createElement("p", null, `${status}: ${names.join(", ")}`);
}

const socket = new Socket("/socket", { params: { name: "ada" } });
createRoot(document.getElementById("root")).render(
  createElement(SocketProvider, { socket }, createElement(Room)),
);
