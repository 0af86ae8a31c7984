import { type ChildProcess, spawn } from "node:child_process";
import { createServer } from "node:net";
import { Presence, Socket } from "phoenix";
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
    env: { ...process.env, PORT: String(port), LOG_LEVEL: "warn", DASHBOARD_TOKEN: "" },
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
  it("serves no dashboard without DASHBOARD_TOKEN", async () => {
    expect((await fetch(`http://127.0.0.1:${port}/dashboard`)).status).toBe(404);
  });

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

  it("tracks who is present: two tabs of one name are one key with two metas", async () => {
    const tab1 = connect({ name: "dee" }).channel("room:5", {});
    const tab2 = connect({ name: "dee" }).channel("room:5", {});
    const watcher = connect({ name: "eve" }).channel("room:5", {});
    const presence = new Presence(watcher);
    await reply(watcher.join());
    await reply(tab1.join());
    await reply(tab2.join());
    await until(() => presence.list().length === 2 && metasOf(presence, "dee").length === 2);
    expect(metasOf(presence, "dee")[0]).toMatchObject({ name: "dee", typing: false });
    tab2.leave();
    await until(() => metasOf(presence, "dee").length === 1);
  });

  it("turns typing on, and off again 3 s after the last typing event", async () => {
    const typist = connect({ name: "fay" }).channel("room:6", {});
    const watcher = connect({ name: "gus" }).channel("room:6", {});
    const presence = new Presence(watcher);
    await reply(watcher.join());
    await reply(typist.join());
    await until(() => metasOf(presence, "fay").length === 1);
    expect(await reply(typist.push("typing", { typing: true }))).toEqual(["ok", {}]);
    const on = Date.now();
    await until(() => metasOf(presence, "fay")[0]?.typing === true);
    await until(() => metasOf(presence, "fay")[0]?.typing === false, 6000);
    expect(Date.now() - on).toBeGreaterThanOrEqual(2500);
    expect(await reply(typist.push("typing", { typing: "yes" }))).toEqual([
      "error",
      { reason: "typing must be a boolean" },
    ]);
  });
});

type Meta = { name: string; typing: boolean };

function metasOf(presence: Presence, key: string): Meta[] {
  return presence.list((k: string, p: { metas: Meta[] }) => (k === key ? p.metas : [])).flat();
}

async function until(check: () => boolean, timeoutMs = 3000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error("condition not met in time");
    await new Promise((r) => setTimeout(r, 10));
  }
}
