import { type ChildProcess, fork, spawn } from "node:child_process";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { sparePort } from "@tandem/redis/testing";
import type { LoadgenReply, LoadgenRequest, Target } from "./types.js";

const here = dirname(fileURLToPath(import.meta.url));
/** The repository root: children run from there. */
export const repoRoot = join(here, "..", "..");
const tsx = pathToFileURL(createRequire(import.meta.url).resolve("tsx")).href;

const children = new Set<ChildProcess>();
let hooked = false;

/** Every child dies with the harness, however it ends. */
function hookExit(): void {
  if (hooked) return;
  hooked = true;
  process.on("exit", () => {
    for (const child of children) child.kill("SIGKILL");
  });
}

/** Kills every child still running (SIGKILL); for signal handlers. */
export function killAll(): void {
  for (const child of children) child.kill("SIGKILL");
  children.clear();
}

/** Runs a TypeScript file of bench/src as a child (in `netns` when given) that dies with the harness. */
export function spawnTs(
  file: string,
  args: string[],
  nodeFlags: string[],
  env: Record<string, string> = {},
  netns?: string,
): ChildProcess {
  hookExit();
  // Workspace packages from their sources (see vitest.config.ts): the bench needs no build.
  const execArgv = ["--conditions=@tandem/source", "--import", tsx, ...nodeFlags];
  const options = {
    cwd: repoRoot,
    stdio: ["ignore", "pipe", "pipe", "ipc"] as ("ignore" | "pipe" | "ipc")[],
    env: { ...process.env, NODE_ENV: "production", ...env },
  };
  // `ip netns exec` execs node in the namespace: same pid, and the IPC channel's
  // descriptor and variable go through, so the child still exits with the harness.
  const child = netns
    ? spawn(
        "ip",
        ["netns", "exec", netns, process.execPath, ...execArgv, join(here, file), ...args],
        options,
      )
    : fork(join(here, file), args, { ...options, execArgv });
  children.add(child);
  child.once("exit", () => children.delete(child));
  return child;
}

const SERVER_FILES: Record<Target, [string, string[]]> = {
  tandem: ["servers/tandem.ts", []],
  "tandem-nocoalesce": ["servers/tandem.ts", ["--no-coalesce"]],
  "tandem-counts": ["servers/tandem.ts", ["--counts"]],
  raw: ["servers/raw.ts", []],
  socketio: ["servers/socketio.ts", []],
};

export interface ServerProcess {
  target: Target;
  port: number;
  url: string;
  pid: number;
  /** Asks the server to exit (so a CPU profile gets written), then kills it. */
  stop(): Promise<void>;
}

/** Starts a target's server and waits for its `listening <port>` line. */
export async function startServer(
  target: Target,
  options: {
    cpuProfileDir?: string;
    verbose?: boolean;
    /** Extra environment, e.g. REDIS_URL and NODE_NAME for a cluster node. */
    env?: Record<string, string>;
    /** Tag of its output lines (default the target). */
    name?: string;
    /** A network namespace to run it in (needs root), e.g. for partition runs. */
    netns?: string;
    /** The host its URL names (default loopback), where it listens given `HOST`. */
    host?: string;
  } = {},
): Promise<ServerProcess> {
  const [file, args] = SERVER_FILES[target];
  const tag = options.name ?? target;
  const flags = ["--expose-gc"];
  if (options.cpuProfileDir) {
    flags.push("--cpu-prof", `--cpu-prof-dir=${options.cpuProfileDir}`);
  }
  // On a shared machine each user keeps to a range of ports (TANDEM_PORTS); else any.
  const env = process.env.TANDEM_PORTS
    ? { PORT: String(await sparePort()), ...options.env }
    : options.env;
  const child = spawnTs(file, args, flags, env, options.netns);
  child.stderr?.on("data", (chunk: Buffer) => {
    process.stderr.write(prefix(`[${tag}] `, chunk.toString()));
  });
  const port = await new Promise<number>((resolve, reject) => {
    let out = "";
    const timer = setTimeout(() => reject(new Error(`${target} did not start in 30 s`)), 30_000);
    child.stdout?.on("data", (chunk: Buffer) => {
      out += chunk.toString();
      const match = /listening (\d+)/.exec(out);
      if (match) {
        clearTimeout(timer);
        resolve(Number(match[1]));
      }
      if (options.verbose) process.stderr.write(prefix(`[${tag}] `, chunk.toString()));
    });
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`${target} exited with ${code} before listening`));
    });
  });
  return {
    target,
    port,
    url: `http://${options.host ?? "127.0.0.1"}:${port}`,
    pid: child.pid ?? -1,
    stop: () => stopChild(child, 10_000),
  };
}

async function stopChild(child: ChildProcess, graceMs: number): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  child.kill("SIGTERM");
  const timer = setTimeout(() => child.kill("SIGKILL"), graceMs);
  await exited;
  clearTimeout(timer);
}

/** Runs the load generator once against a server; rejects on error or after `timeoutMs`. */
export async function runLoadgen<R>(
  request: LoadgenRequest,
  timeoutMs: number,
  maxOldSpaceMb = 4096,
): Promise<R> {
  const child = spawnTs("loadgen/main.ts", [], [`--max-old-space-size=${maxOldSpaceMb}`]);
  child.stderr?.on("data", (chunk: Buffer) => process.stderr.write(chunk));
  child.stdout?.on("data", (chunk: Buffer) => process.stderr.write(chunk));
  try {
    return await new Promise<R>((resolve, reject) => {
      const timer = setTimeout(() => {
        reject(new Error(`load generator timed out after ${timeoutMs} ms`));
      }, timeoutMs);
      child.once("message", (reply: LoadgenReply) => {
        clearTimeout(timer);
        if (reply.ok) resolve(reply.result as R);
        else reject(new Error(reply.error));
      });
      child.once("exit", (code) => {
        clearTimeout(timer);
        reject(new Error(`load generator exited with ${code}`));
      });
      child.send(request);
    });
  } finally {
    await stopChild(child, 5000);
  }
}

function prefix(tag: string, text: string): string {
  return text
    .split("\n")
    .map((line) => (line ? tag + line : line))
    .join("\n");
}
