import { type ChildProcess, fork, spawn } from "node:child_process";
import { mkdirSync } from "node:fs";
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

/**
 * Runs a TypeScript file of bench/src as a child that dies with the harness. `launcher`
 * is a command node runs under, such as `ip netns exec <ns>` or valgrind: it execs node
 * with the same pid, and the IPC channel's descriptor and variable go through.
 */
export function spawnTs(
  file: string,
  args: string[],
  nodeFlags: string[],
  env: Record<string, string> = {},
  launcher: string[] = [],
): ChildProcess {
  hookExit();
  // Workspace packages from their sources (see vitest.config.ts): the bench needs no build.
  const execArgv = ["--conditions=@tandem/source", "--import", tsx, ...nodeFlags];
  const options = {
    cwd: repoRoot,
    stdio: ["ignore", "pipe", "pipe", "ipc"] as ("ignore" | "pipe" | "ipc")[],
    env: { ...process.env, NODE_ENV: "production", ...env },
  };
  const [command, ...prefix] = launcher;
  const child = command
    ? spawn(command, [...prefix, process.execPath, ...execArgv, join(here, file), ...args], options)
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
    /**
     * Run the server under callgrind, its dumps in this directory: `/stats` then reports
     * the instructions executed since its last `?reset` (see servers/instruction-count.ts).
     */
    callgrindDir?: string;
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
  const env: Record<string, string> = process.env.TANDEM_PORTS
    ? { PORT: String(await sparePort()), ...options.env }
    : { ...options.env };
  const launcher = options.netns ? ["ip", "netns", "exec", options.netns] : [];
  if (options.callgrindDir) {
    mkdirSync(options.callgrindDir, { recursive: true });
    // A name of its own per start: callgrind numbers its dumps after the file name.
    const stem = `${tag.replace(/\W+/g, "-")}-${Date.now()}`;
    env.TANDEM_CALLGRIND_OUT = join(options.callgrindDir, stem);
    launcher.push(
      "valgrind",
      "--tool=callgrind",
      // V8 writes the code it runs: valgrind must notice code rewritten in place.
      "--smc-check=all-non-file",
      "--instr-atstart=no",
      `--callgrind-out-file=${env.TANDEM_CALLGRIND_OUT}`,
    );
  }
  const child = spawnTs(file, args, flags, env, launcher);
  child.stderr?.on("data", (chunk: Buffer) => {
    process.stderr.write(prefix(`[${tag}] `, chunk.toString()));
  });
  const port = await new Promise<number>((resolve, reject) => {
    let out = "";
    // Under callgrind everything runs some fifty times slower.
    const startMs = options.callgrindDir ? 600_000 : 30_000;
    const timer = setTimeout(
      () => reject(new Error(`${target} did not start in ${startMs / 1000} s`)),
      startMs,
    );
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
