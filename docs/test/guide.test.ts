import { type ChildProcess, spawn } from "node:child_process";
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { Presence, Socket } from "@tandem/client";
import ts from "typescript";
import { afterAll, beforeAll, expect, test } from "vitest";
import { WebSocket } from "ws";
import { extractCodeBlocks } from "./code-blocks.js";

const docs = fileURLToPath(new URL("..", import.meta.url));
// Inside the repository, so the blocks' imports resolve to the workspace's packages.
const workDir = join(docs, ".guide");

/**
 * Strict settings for a browser app with a Node server beside it. `@tandem/*` resolves to
 * the packages' sources, so the guide is checked against the code in this tree whether or
 * not it has been built.
 */
const tsconfig = {
  compilerOptions: {
    target: "ES2022",
    lib: ["ES2022", "DOM", "DOM.Iterable"],
    module: "ESNext",
    moduleResolution: "Bundler",
    jsx: "react-jsx",
    strict: true,
    noUncheckedIndexedAccess: true,
    noImplicitOverride: true,
    noFallthroughCasesInSwitch: true,
    isolatedModules: true,
    verbatimModuleSyntax: true,
    skipLibCheck: true,
    noEmit: true,
    types: ["node"],
    paths: { "@tandem/*": ["../../packages/*/src/index.ts"] },
  },
  include: ["*.ts", "*.tsx"],
};

beforeAll(() => {
  const guide = readFileSync(join(docs, "presence-with-react-and-redux.md"), "utf8");
  const blocks = extractCodeBlocks(guide);
  expect(blocks.map((block) => block.name)).toEqual([
    "server.ts",
    "store.ts",
    "room.ts",
    "participants.tsx",
    "app.tsx",
  ]);
  rmSync(workDir, { recursive: true, force: true });
  mkdirSync(workDir, { recursive: true });
  // tsx reads the same file, so the server below resolves `@tandem/*` as tsc does.
  writeFileSync(join(workDir, "tsconfig.json"), JSON.stringify(tsconfig));
  for (const block of blocks) writeFileSync(join(workDir, block.name), block.code);
});

test("every ts/tsx block of the guide type-checks", () => {
  const config = ts.getParsedCommandLineOfConfigFile(
    join(workDir, "tsconfig.json"),
    {},
    { ...ts.sys, onUnRecoverableConfigFileDiagnostic: () => {} },
  );
  if (!config) throw new Error("the guide's tsconfig.json could not be read");
  expect(config.errors).toEqual([]);
  const program = ts.createProgram(config.fileNames, config.options);
  const diagnostics = ts.getPreEmitDiagnostics(program).map((diagnostic) =>
    ts.formatDiagnostic(diagnostic, {
      getCanonicalFileName: (name) => name,
      getCurrentDirectory: () => workDir,
      getNewLine: () => "\n",
    }),
  );
  expect(diagnostics).toEqual([]);
}, 60_000);

let server: ChildProcess | undefined;
afterAll(() => {
  server?.kill();
});

/** Starts the guide's server.ts on a spare port and resolves with its socket URL. */
async function startGuideServer(): Promise<string> {
  const child = spawn(process.execPath, ["--import", "tsx", "server.ts"], {
    cwd: workDir,
    env: { ...process.env, PORT: "0" },
    stdio: ["ignore", "pipe", "inherit"],
  });
  server = child;
  let output = "";
  for await (const chunk of child.stdout) {
    output += String(chunk);
    const address = /listening on (\S+):(\d+)/.exec(output);
    if (address) return `ws://${address[1]}:${address[2]}/socket`;
  }
  throw new Error(`the guide's server exited before listening: ${output}`);
}

type Listed = { name: string; typing: boolean };

/** A client in a room, with a promise for the first presence list that passes a check. */
function joinRoom(url: string, name: string) {
  const socket = new Socket(url, { transport: WebSocket, params: { name } });
  socket.connect();
  const channel = socket.channel("room:lobby");
  const presence = new Presence(channel);
  let waiter: { check: (list: Listed[]) => boolean; resolve: () => void } | undefined;
  const list = () =>
    presence
      .list((_key, { metas }) => metas[0] as unknown as Listed)
      .sort((a, b) => a.name.localeCompare(b.name));
  presence.onSync(() => {
    if (waiter?.check(list())) waiter.resolve();
  });
  const until = (check: (list: Listed[]) => boolean) =>
    new Promise<void>((resolve) => {
      waiter = { check, resolve };
      if (check(list())) resolve();
    });
  channel.join();
  return { socket, channel, until };
}

test("the guide's server lists who is in the room, lights typing and clears it, and drops who left", async () => {
  const url = await startGuideServer();
  const ada = joinRoom(url, "ada");
  await ada.until((list) => list.length === 1 && list[0]?.name === "ada");

  const alan = joinRoom(url, "alan");
  const both = (typing: boolean) => (list: Listed[]) =>
    list.length === 2 && list[0]?.name === "ada" && list[1]?.typing === typing;
  await Promise.all([ada.until(both(false)), alan.until(both(false))]);

  alan.channel.push("typing", {});
  await ada.until(both(true));
  // Nobody says "stopped typing": the server reverts it after its quiet period.
  await ada.until(both(false));

  alan.channel.leave();
  await ada.until((list) => list.length === 1 && list[0]?.name === "ada");

  ada.socket.disconnect();
  alan.socket.disconnect();
}, 30_000);
