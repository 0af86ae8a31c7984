/** A redis-server of one's own, for tests: part of `@tandem/redis/testing`. */
import { type ChildProcess, spawn } from "node:child_process";
import { createServer } from "node:net";

/**
 * A port nothing listens on right now: any the system picks, or one of the range in
 * `TANDEM_PORTS` (`low-high`, e.g. `43000-43999`) when set, for machines where each user
 * of a shared host keeps to a range of its own.
 */
export async function sparePort(): Promise<number> {
  const range = process.env.TANDEM_PORTS;
  if (!range) return await bindable(0);
  const match = /^(\d+)-(\d+)$/.exec(range);
  const low = Number(match?.[1]);
  const high = Number(match?.[2]);
  if (!match || low < 1 || high > 65_535 || low > high) {
    throw new Error(`TANDEM_PORTS must be low-high, got "${range}"`);
  }
  for (let attempt = 0; attempt < 100; attempt++) {
    const port = low + Math.floor(Math.random() * (high - low + 1));
    try {
      return await bindable(port);
    } catch {
      // Taken: try another.
    }
  }
  throw new Error(`no free port in TANDEM_PORTS ${range}`);
}

/** Binds `port` (0: any) on loopback and lets it go again; rejects when it is taken. */
async function bindable(port: number): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, "127.0.0.1", resolve);
  });
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (address === null || typeof address === "string") throw new Error("no port");
  return address.port;
}

/**
 * A throwaway redis-server on a spare port, for tests and benchmarks that kill or restart
 * Redis and so must never touch a shared one. It is SIGKILLed if the process exits first.
 */
export class RedisServer {
  #process: ChildProcess | undefined;

  private constructor(readonly port: number) {}

  static async start(): Promise<RedisServer> {
    const server = new RedisServer(await sparePort());
    await server.restart();
    return server;
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  /** Starts redis-server on the same port; resolves once it accepts connections. */
  async restart(): Promise<void> {
    if (this.#process) throw new Error("redis-server is already running");
    const child = spawn(
      "redis-server",
      ["--port", String(this.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
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
        () => fail(new Error(`redis-server did not start: ${output}`)),
        5000,
      );
      const fail = (err: Error) => {
        clearTimeout(timer);
        this.#process = undefined;
        child.kill("SIGKILL");
        reject(err);
      };
      child.once("error", (err: NodeJS.ErrnoException) =>
        fail(
          err.code === "ENOENT"
            ? new Error(
                "redis-server not found on PATH: install Redis (Debian: apt-get install redis-server)",
              )
            : err,
        ),
      );
      child.once("exit", (code) => fail(new Error(`redis-server exited ${code}: ${output}`)));
      child.stdout?.on("data", (chunk: Buffer) => {
        output += chunk.toString();
        if (output.includes("Ready to accept connections")) {
          clearTimeout(timer);
          child.removeAllListeners("exit");
          resolve();
        }
      });
    });
  }

  /** SIGKILLs the server (no goodbye to clients) and waits for it to be gone. */
  async kill(): Promise<void> {
    const child = this.#process;
    if (!child) return;
    this.#process = undefined;
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
    child.kill("SIGKILL");
    await exited;
  }
}
