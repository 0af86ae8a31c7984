import { type ChildProcess, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { createServer } from "node:net";
import { Socket } from "@tandem/client";
import { DASHBOARD_TOPIC, SNAPSHOT_EVENT, type Snapshot } from "@tandem/dashboard";
import { afterAll, beforeAll, expect, it } from "vitest";
import { WebSocket } from "ws";

const root = new URL("../../../", import.meta.url).pathname;
const token = randomBytes(24).toString("hex");

let child: ChildProcess;
let port: number;
let output = "";
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

beforeAll(async () => {
  port = await freePort();
  child = spawn("npm", ["run", "example:room"], {
    cwd: root,
    env: { ...process.env, PORT: String(port), LOG_LEVEL: "info", DASHBOARD_TOKEN: token },
    stdio: ["ignore", "pipe", "pipe"],
    detached: true,
  });
  child.stderr!.on("data", (chunk: Buffer) => {
    output += chunk.toString();
  });
  await new Promise<void>((resolve, reject) => {
    child.stdout!.on("data", (chunk: Buffer) => {
      output += chunk.toString();
      if (output.includes("dashboard at")) resolve();
    });
    child.once("exit", (code) => reject(new Error(`example exited with ${code}: ${output}`)));
  });
}, 60_000);

afterAll(() => {
  for (const s of sockets) s.disconnect();
  if (child.pid) process.kill(-child.pid, "SIGTERM");
});

it("with DASHBOARD_TOKEN, `npm run example:room` serves the dashboard behind it", async () => {
  const base = `http://127.0.0.1:${port}/dashboard`;
  expect((await fetch(base)).status).toBe(401);
  const page = await fetch(`${base}?token=${token}`);
  expect(page.status).toBe(200);
  expect(await page.text()).toContain("<title>Tandem dashboard</title>");

  // A room member, and a dashboard viewer that sees it.
  const member = new Socket(`ws://127.0.0.1:${port}/socket`, {
    transport: WebSocket,
    params: { name: "ada" },
  });
  const viewer = new Socket(`ws://127.0.0.1:${port}/dashboard/socket`, {
    transport: WebSocket,
    authToken: token,
  });
  sockets.push(member, viewer);
  member.connect();
  viewer.connect();
  member.channel("room:lobby").join();
  const seen = new Promise<Snapshot>((resolve) => {
    const channel = viewer.channel(DASHBOARD_TOPIC, { token });
    channel.on<Snapshot>(SNAPSHOT_EVENT, (snapshot) => {
      if (snapshot.topics.some((t) => t.topic === "room:lobby" && t.presences === 1)) {
        resolve(snapshot);
      }
    });
    channel.join();
  });
  const snapshot = await seen;
  expect(snapshot.sample.connections).toBe(2);
  // The token is a secret: it never reaches the log.
  expect(output).not.toContain(token);
}, 30_000);
