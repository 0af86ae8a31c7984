import { describe, expect, it } from "vitest";
import { Presence, Socket, Timer } from "../src/index.js";
import { FakeTransport } from "./fake-transport.js";

/** The methods @types/phoenix (1.8) declares, which code written for phoenix calls. */
const phoenixMethods = {
  Socket: [
    "protocol",
    "endPointURL",
    "connect",
    "disconnect",
    "connectionState",
    "isConnected",
    "replaceTransport",
    "remove",
    "channel",
    "push",
    "log",
    "hasLogger",
    "onOpen",
    "onClose",
    "onError",
    "onMessage",
    "makeRef",
    "off",
    "ping",
  ],
  Channel: ["join", "leave", "onClose", "onError", "onMessage", "on", "off", "push"],
  Push: ["send", "resend", "receive"],
  Presence: ["onJoin", "onLeave", "onSync", "list", "inPendingSyncState"],
  Timer: ["reset", "scheduleTimeout"],
};

function instances() {
  const socket = new Socket("ws://example.com/socket", { transport: FakeTransport });
  const channel = socket.channel("room:1");
  return {
    Socket: socket,
    Channel: channel,
    Push: channel.join(),
    Presence: new Presence(channel),
    Timer: new Timer(
      () => {},
      () => 1,
    ),
  };
}

describe("public surface", () => {
  it("has every method phoenix declares", () => {
    const made = instances();
    for (const [name, methods] of Object.entries(phoenixMethods)) {
      const instance = made[name as keyof typeof made] as unknown as Record<string, unknown>;
      for (const method of methods)
        expect(typeof instance[method], `${name}.${method}`).toBe("function");
    }
    for (const method of ["syncState", "syncDiff", "list"]) {
      expect(typeof (Presence as unknown as Record<string, unknown>)[method]).toBe("function");
    }
  });

  // State lives in private fields: what an instance carries as properties is the
  // configuration it was made with, read-only, and nothing a caller could corrupt.
  it("exposes configuration as properties and no internal state", () => {
    const made = instances();
    expect(Object.keys(made.Socket).sort()).toEqual(
      [
        "binaryType",
        "decode",
        "encode",
        "endPoint",
        "heartbeatIntervalMs",
        "longPollFallbackMs",
        "longpollerTimeout",
        "reconnectAfterMs",
        "rejoinAfterMs",
        "timeout",
        "vsn",
      ].sort(),
    );
    expect(Object.keys(made.Channel).sort()).toEqual(["socket", "timeout", "topic"]);
    expect(Object.keys(made.Push).sort()).toEqual(["channel", "event", "payload", "timeout"]);
    expect(Object.keys(made.Presence)).toEqual(["channel"]);
    expect(Object.keys(made.Timer).sort()).toEqual(["callback", "timerCalc"]);
  });

  it("offers read-only views of the state callers need", () => {
    const { Socket: socket, Channel: channel } = instances();
    for (const [instance, names] of [
      [socket, ["channels", "closeWasClean", "establishedConnections", "conn"]],
      [channel, ["state", "joinedOnce", "bindings"]],
    ] as const) {
      for (const name of names) {
        const descriptor = Object.getOwnPropertyDescriptor(Object.getPrototypeOf(instance), name);
        expect(descriptor?.get, name).toBeTypeOf("function");
        expect(descriptor?.set, name).toBeUndefined();
      }
    }
    expect(socket.channels).toEqual([channel]);
  });
});
