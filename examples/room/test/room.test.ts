import { type ChildProcess, spawn } from "node:child_process";
import { createServer } from "node:net";
import { Socket } from "phoenix";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { WebSocket } from "ws";

const transport = WebSocket as unknown as typeof globalThis.WebSocket;
const root = new URL("../../../", import.meta.url).pathname;

let child: ChildProcess;
let port: number;
const sockets: Socket[] = [];

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
  });
}

function connect(params: Record<string, string>): Socket {
  const socket = new Socket(`ws://127.0.0.1:${port}/socket`, {
    transport,
    params,
    reconnectAfterMs: () => 50,
    rejoinAfterMs: () => 50,
  });
  sockets.push(socket);
  socket.connect();
  return socket;
}

function reply(
  push: ReturnType<ReturnType<Socket["channel"]>["push"]>,
): Promise<[string, unknown]> {
  return new Promise((resolve) => {
    for (const status of ["ok", "error", "timeout"] as const) {
      push.receive(status, (response: unknown) => resolve([status, response]));
    }
  });
}

// The contract other tools rely on: `PORT=<port> npm run example:room` prints "listening".
beforeAll(async () => {
  port = await freePort();
  child = spawn("npm", ["run", "example:room"], {
    cwd: root,
    env: { ...process.env, PORT: String(port), LOG_LEVEL: "warn" },
    stdio: ["ignore", "pipe", "inherit"],
    detached: true,
  });
  await new Promise<void>((resolve, reject) => {
    let out = "";
    child.stdout!.on("data", (chunk: Buffer) => {
      out += chunk.toString();
      if (out.includes("listening")) resolve();
    });
    child.once("exit", (code) => reject(new Error(`example exited with ${code}: ${out}`)));
  });
}, 60_000);

afterAll(() => {
  for (const s of sockets) s.disconnect();
  // npm spawns a shell and tsx: stop the whole process group.
  if (child.pid) process.kill(-child.pid, "SIGTERM");
});

describe("examples/room contract", () => {
  it("refuses a connection without a valid name", async () => {
    const cases: Record<string, string>[] = [{}, { name: "" }, { name: "x".repeat(65) }];
    for (const params of cases) {
      const socket = connect(params);
      const error = await new Promise((resolve) => socket.onError(resolve));
      expect(error).toBeTruthy();
      expect(socket.isConnected()).toBe(false);
      socket.disconnect();
    }
  });

  it("joins room:* with the name and refuses room:forbidden", async () => {
    const socket = connect({ name: "ada" });
    expect(await reply(socket.channel("room:1", {}).join())).toEqual(["ok", { name: "ada" }]);
    const forbidden = socket.channel("room:forbidden", {});
    expect(await reply(forbidden.join())).toEqual(["error", { reason: "unauthorized" }]);
    forbidden.leave();
  });

  it("answers ping with its payload and broadcasts shout", async () => {
    const ada = connect({ name: "ada" }).channel("room:2", {});
    const bob = connect({ name: "bob" }).channel("room:2", {});
    await reply(ada.join());
    await reply(bob.join());
    expect(await reply(ada.push("ping", { n: 42 }))).toEqual(["ok", { n: 42 }]);
    const heard = new Promise((resolve) => bob.on("shout", resolve));
    expect(await reply(ada.push("shout", { body: "hi" }))).toEqual(["ok", {}]);
    expect(await heard).toEqual({ from: "ada", body: "hi" });
  });

  it("isolates boom: the channel errors and rejoins, the socket stays up", async () => {
    const socket = connect({ name: "cy" });
    const room = socket.channel("room:3", {});
    let joins = 0;
    room.join().receive("ok", () => {
      joins++;
    });
    const other = socket.channel("room:4", {});
    await reply(other.join());
    const errored = new Promise<void>((resolve) => room.onError(() => resolve()));
    await new Promise((r) => setTimeout(r, 50));
    room.push("boom", {});
    await errored;
    expect(await reply(other.push("ping", {}))).toEqual(["ok", {}]);
    for (let i = 0; i < 100 && joins < 2; i++) await new Promise((r) => setTimeout(r, 20));
    expect(joins).toBe(2);
  });
});
