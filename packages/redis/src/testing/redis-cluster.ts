import { type ChildProcess, execFile, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { sparePort } from "./redis-server.js";

const run = promisify(execFile);

/** RedisCluster options. */
export interface RedisClusterOptions {
  /** How many masters share the 16 384 slots. Default 3 (Redis Cluster's minimum). */
  masters?: number;
  /** Replicas of each master, for failover tests. Default 0. */
  replicasPerMaster?: number;
  /**
   * `cluster-node-timeout` (ms): how long a master may be silent before its replica is
   * promoted. Default 1000, much shorter than Redis's 15 s so failover tests are quick.
   */
  nodeTimeoutMs?: number;
}

/** One redis-server of a {@link RedisCluster}. */
export class RedisClusterNode {
  #process: ChildProcess | undefined;

  /** `port` serves clients, `busPort` the cluster bus; `dir` holds its nodes.conf. */
  constructor(
    readonly port: number,
    readonly busPort: number,
    readonly dir: string,
    readonly nodeTimeoutMs: number,
  ) {}

  /** `host:port`, as a seed for cluster clients. */
  get address(): string {
    return `127.0.0.1:${this.port}`;
  }

  /** Whether its process is running. */
  get running(): boolean {
    return this.#process !== undefined;
  }

  /**
   * Starts redis-server in cluster mode; resolves once it accepts connections. A node
   * restarted reads its nodes.conf and rejoins with its old identity.
   */
  async start(): Promise<void> {
    if (this.#process) throw new Error(`redis-server ${this.port} is already running`);
    const child = spawn(
      "redis-server",
      [
        ...["--port", String(this.port), "--bind", "127.0.0.1"],
        ...["--cluster-enabled", "yes", "--cluster-port", String(this.busPort)],
        ...["--cluster-config-file", join(this.dir, `nodes-${this.port}.conf`)],
        ...["--cluster-node-timeout", String(this.nodeTimeoutMs)],
        ...["--dir", this.dir, "--save", "", "--appendonly", "no"],
      ],
      { stdio: ["ignore", "pipe", "pipe"] },
    );
    this.#process = child;
    const killOnExit = (): void => {
      child.kill("SIGKILL");
    };
    process.once("exit", killOnExit);
    child.once("exit", () => process.off("exit", killOnExit));
    await new Promise<void>((resolve, reject) => {
      let output = "";
      const timer = setTimeout(
        () => fail(new Error(`redis-server ${this.port} did not start: ${output}`)),
        5000,
      );
      const fail = (err: Error) => {
        clearTimeout(timer);
        this.#process = undefined;
        child.kill("SIGKILL");
        reject(err);
      };
      const exited = (code: number | null) =>
        fail(new Error(`redis-server ${this.port} exited ${code}: ${output}`));
      child.once("error", fail);
      child.once("exit", exited);
      child.stdout?.on("data", (chunk: Buffer) => {
        output += chunk.toString();
        if (output.includes("Ready to accept connections")) {
          clearTimeout(timer);
          child.off("exit", exited);
          resolve();
        }
      });
    });
  }

  /** SIGKILLs the server (no goodbye to clients or the cluster) and waits for it to be gone. */
  async kill(): Promise<void> {
    const child = this.#process;
    if (!child) return;
    this.#process = undefined;
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
    child.kill("SIGKILL");
    await exited;
  }

  /** Runs a redis-cli command against this node; resolves to its output. */
  async cli(...args: string[]): Promise<string> {
    const { stdout } = await run("redis-cli", [
      "-h",
      "127.0.0.1",
      "-p",
      String(this.port),
      ...args,
    ]);
    return stdout;
  }
}

/**
 * A throwaway Redis Cluster of local redis-server processes on spare ports (clients and
 * cluster bus), for tests that kill masters or the whole cluster and so must never
 * touch a shared one. Every process is SIGKILLed if the test process exits first.
 */
export class RedisCluster {
  readonly #dir: string;

  private constructor(
    /** Every node, masters first as created (a failover changes who is master). */
    readonly nodes: readonly RedisClusterNode[],
    dir: string,
  ) {
    this.#dir = dir;
  }

  /** Starts the nodes, joins them into one cluster and waits until it serves every slot. */
  static async start(options: RedisClusterOptions = {}): Promise<RedisCluster> {
    const masters = options.masters ?? 3;
    const replicas = options.replicasPerMaster ?? 0;
    const count = masters * (1 + replicas);
    const dir = mkdtempSync(join(tmpdir(), "tandem-redis-cluster-"));
    const ports = new Set<number>();
    while (ports.size < count * 2) ports.add(await sparePort());
    const [...all] = ports;
    const nodes = Array.from(
      { length: count },
      (_, i) =>
        new RedisClusterNode(
          all[2 * i] ?? 0,
          all[2 * i + 1] ?? 0,
          dir,
          options.nodeTimeoutMs ?? 1000,
        ),
    );
    const cluster = new RedisCluster(nodes, dir);
    try {
      await Promise.all(nodes.map((node) => node.start()));
      await run("redis-cli", [
        "--cluster",
        "create",
        ...nodes.map((node) => node.address),
        "--cluster-replicas",
        String(replicas),
        "--cluster-yes",
      ]);
      await cluster.healthy();
    } catch (err) {
      await cluster.stop();
      throw err;
    }
    return cluster;
  }

  /** Seed addresses (`host:port`) of every node. */
  get seeds(): string[] {
    return this.nodes.map((node) => node.address);
  }

  /** The nodes that are masters now, as a running node sees them (`CLUSTER NODES`). */
  async masters(): Promise<RedisClusterNode[]> {
    const view = await this.#view();
    return this.nodes.filter((node) =>
      view.some((line) => line.address === node.port && line.master && !line.failed),
    );
  }

  /** The master that serves `key`'s slot now, as a running node sees it. */
  async ownerOf(key: string): Promise<RedisClusterNode> {
    const live = this.#live();
    const slot = Number((await live.cli("cluster", "keyslot", key)).trim());
    for (const node of await this.masters()) {
      const ranges = await this.#slotsOf(node);
      if (ranges.some(([from, to]) => slot >= from && slot <= to)) return node;
    }
    throw new Error(`no master serves slot ${slot}`);
  }

  /**
   * Resolves once every running node says `cluster_state:ok` and agrees that each slot
   * has a live master, and every running replica is in sync with its master.
   */
  async healthy(timeoutMs = 30_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    let last = "";
    while (Date.now() < deadline) {
      last = await this.#problem().catch((err: Error) => err.message);
      if (last === "") return;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    throw new Error(`cluster not healthy within ${timeoutMs} ms: ${last}`);
  }

  /** Kills every node and starts them again; resolves once the cluster is healthy again. */
  async restart(): Promise<void> {
    await Promise.all(this.nodes.map((node) => node.kill()));
    await Promise.all(this.nodes.map((node) => node.start()));
    await this.healthy();
  }

  /** Kills every node and removes their files. */
  async stop(): Promise<void> {
    await Promise.all(this.nodes.map((node) => node.kill()));
    rmSync(this.#dir, { recursive: true, force: true });
  }

  async #problem(): Promise<string> {
    for (const node of this.nodes.filter((n) => n.running)) {
      const info = await node.cli("cluster", "info");
      if (!info.includes("cluster_state:ok")) return `${node.address} says the cluster is not ok`;
      if (!info.includes("cluster_slots_ok:16384")) return `${node.address}: slots not all ok`;
      const replication = await node.cli("info", "replication");
      if (replication.includes("role:slave") && !replication.includes("master_link_status:up")) {
        return `replica ${node.address} is not in sync`;
      }
    }
    const view = await this.#view();
    const liveMasters = view.filter((line) => line.master && !line.failed);
    const running = this.nodes.filter((n) => n.running).map((n) => n.port);
    for (const master of liveMasters) {
      if (!running.includes(master.address)) {
        return `${master.address} is taken for a live master but is not running`;
      }
    }
    return "";
  }

  #live(): RedisClusterNode {
    const node = this.nodes.find((n) => n.running);
    if (!node) throw new Error("no node of the cluster is running");
    return node;
  }

  /** `CLUSTER NODES` as one running node sees it. */
  async #view(): Promise<{ address: number; master: boolean; failed: boolean }[]> {
    const text = await this.#live().cli("cluster", "nodes");
    return text
      .trim()
      .split("\n")
      .map((line) => {
        const [, address = "", flags = ""] = line.split(" ");
        const port = Number(address.split("@")[0]?.split(":")[1]);
        const set = flags.split(",");
        return { address: port, master: set.includes("master"), failed: set.includes("fail") };
      });
  }

  async #slotsOf(node: RedisClusterNode): Promise<[number, number][]> {
    const text = await this.#live().cli("cluster", "nodes");
    const line = text.split("\n").find((l) => l.split(" ")[1]?.startsWith(`${node.address}@`));
    if (!line) return [];
    return line
      .trim()
      .split(" ")
      .slice(8)
      .filter((part) => /^\d+(-\d+)?$/.test(part))
      .map((part) => {
        const [from, to = from] = part.split("-").map(Number);
        return [from ?? 0, to ?? 0];
      });
  }
}
