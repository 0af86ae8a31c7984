import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir, userInfo } from "node:os";
import { join } from "node:path";
import { sparePort } from "@tandem/redis/testing";
import pg from "pg";

/**
 * Where the PostgreSQL server binaries are: `PG_BIN` if set, else the newest Debian
 * install under /usr/lib/postgresql. Throws one line naming what is missing.
 */
function binaries(): string {
  const fromEnv = process.env.PG_BIN;
  if (fromEnv) return fromEnv;
  const root = "/usr/lib/postgresql";
  const versions = existsSync(root)
    ? readdirSync(root)
        .filter((v) => existsSync(join(root, v, "bin", "initdb")))
        .sort((a, b) => Number(b) - Number(a))
    : [];
  if (versions.length === 0) {
    throw new Error(
      "PostgreSQL server binaries (initdb, pg_ctl) not found: install postgresql (Debian: apt-get install postgresql) or set PG_BIN",
    );
  }
  return join(root, versions[0]!, "bin");
}

/**
 * A throwaway PostgreSQL cluster on a spare port, in a temporary folder, with trust auth
 * and a database `test`: tests never depend on a shared server being up on 5432, and
 * never leave anything in one. PostgreSQL refuses to run as root, so under root it runs
 * as the `postgres` user the package creates. The server gets SIGKILL if the test process
 * dies first (`setpriv --pdeathsig`); {@link stop} it when done.
 */
export class PostgresServer {
  readonly #dataDir: string;
  readonly #bin: string;
  /** setpriv's arguments that switch to the `postgres` user; none when not root. */
  readonly #userArgs: string[];
  #process: ChildProcess | undefined;

  private constructor(
    readonly port: number,
    dataDir: string,
    bin: string,
    userArgs: string[],
  ) {
    this.#dataDir = dataDir;
    this.#bin = bin;
    this.#userArgs = userArgs;
  }

  /** Initialises and starts a cluster; resolves once database `test` accepts connections. */
  static async start(): Promise<PostgresServer> {
    const bin = binaries();
    const dataDir = mkdtempSync(join(tmpdir(), "tandem-pg-"));
    const root = userInfo().uid === 0;
    if (root) {
      const uid = Number(execFileSync("id", ["-u", "postgres"]).toString());
      const gid = Number(execFileSync("id", ["-g", "postgres"]).toString());
      chownSync(dataDir, uid, gid);
    }
    const server = new PostgresServer(
      await sparePort(),
      dataDir,
      bin,
      root ? ["--reuid=postgres", "--regid=postgres", "--init-groups"] : [],
    );
    server.#run("initdb", [
      "-D",
      dataDir,
      "-U",
      "postgres",
      "--auth=trust",
      "-E",
      "UTF8",
      "--no-sync",
    ]);
    await server.#launch();
    await server.#createTestDatabase();
    return server;
  }

  /** `postgres://postgres@127.0.0.1:<port>/test`. */
  get url(): string {
    return `postgres://postgres@127.0.0.1:${this.port}/test`;
  }

  /** Stops the server at once and deletes its files. */
  stop(): void {
    const child = this.#process;
    if (!child) return;
    this.#process = undefined;
    try {
      this.#run("pg_ctl", ["stop", "-D", this.#dataDir, "-m", "immediate", "-w"]);
    } catch {
      child.kill("SIGKILL");
    }
    rmSync(this.#dataDir, { recursive: true, force: true });
  }

  #run(tool: string, args: string[]): void {
    const path = join(this.#bin, tool);
    const [command, commandArgs] =
      this.#userArgs.length > 0 ? ["setpriv", [...this.#userArgs, path, ...args]] : [path, args];
    execFileSync(command, commandArgs, { stdio: ["ignore", "pipe", "pipe"] });
  }

  #launch(): Promise<void> {
    const args = [
      ...this.#userArgs,
      "--pdeathsig",
      "KILL",
      "--",
      join(this.#bin, "postgres"),
      "-D",
      this.#dataDir,
      "-p",
      String(this.port),
      "-c",
      "listen_addresses=127.0.0.1",
      "-c",
      `unix_socket_directories=${this.#dataDir}`,
      // A test cluster: durability is not what is being tested.
      "-c",
      "fsync=off",
      "-c",
      "synchronous_commit=off",
      "-c",
      "full_page_writes=off",
    ];
    const child = spawn("setpriv", args, { stdio: ["ignore", "pipe", "pipe"] });
    this.#process = child;
    return new Promise((resolve, reject) => {
      let output = "";
      const timer = setTimeout(() => fail(new Error(`postgres did not start: ${output}`)), 15_000);
      const fail = (err: Error) => {
        clearTimeout(timer);
        this.#process = undefined;
        child.kill("SIGKILL");
        rmSync(this.#dataDir, { recursive: true, force: true });
        reject(err);
      };
      child.once("error", fail);
      child.once("exit", (code) => fail(new Error(`postgres exited ${code}: ${output}`)));
      child.stderr?.on("data", (chunk: Buffer) => {
        output += chunk.toString();
        if (output.includes("ready to accept connections")) {
          clearTimeout(timer);
          child.removeAllListeners("exit");
          resolve();
        }
      });
    });
  }

  async #createTestDatabase(): Promise<void> {
    const client = new pg.Client({
      connectionString: `postgres://postgres@127.0.0.1:${this.port}/postgres`,
    });
    await client.connect();
    try {
      await client.query("create database test");
    } finally {
      await client.end();
    }
  }
}
