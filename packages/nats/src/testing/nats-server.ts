/**
 * Test support shipped as `@tandem/nats/testing`: a nats-server of one's own. Not for
 * production code.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { createServer } from "node:net";

/** Where the binary is when `NATS_SERVER` does not say (Debian's package puts it here). */
const DEFAULT_BINARY = "/usr/sbin/nats-server";

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
 * A throwaway nats-server on a spare port, for tests that kill or restart NATS and so
 * must never touch a shared one. It is SIGKILLed if the process exits first. The binary
 * is `NATS_SERVER`, else `/usr/sbin/nats-server`.
 */
export class NatsServer {
  #process: ChildProcess | undefined;
  #args: readonly string[] = [];

  private constructor(readonly port: number) {}

  /**
   * Starts one on a spare port; resolves once it accepts connections. `args` go to
   * nats-server as they are, e.g. `["--user", "u", "--pass", "p"]`.
   */
  static async start(args: readonly string[] = []): Promise<NatsServer> {
    const server = new NatsServer(await sparePort());
    await server.restart(args);
    return server;
  }

  /** The URL clients connect to. */
  get url(): string {
    return `nats://127.0.0.1:${this.port}`;
  }

  /**
   * Starts nats-server on the same port, with `args` (default: those it last ran with);
   * resolves once it accepts connections.
   */
  async restart(args: readonly string[] = this.#args): Promise<void> {
    if (this.#process) throw new Error("nats-server is already running");
    this.#args = args;
    const child = spawn(
      process.env.NATS_SERVER ?? DEFAULT_BINARY,
      ["--addr", "127.0.0.1", "--port", String(this.port), ...args],
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
      const timer = setTimeout(() => fail(new Error(`nats-server did not start: ${output}`)), 5000);
      const fail = (err: Error) => {
        clearTimeout(timer);
        this.#process = undefined;
        child.kill("SIGKILL");
        reject(err);
      };
      child.once("error", (err: NodeJS.ErrnoException) =>
        fail(
          err.code === "ENOENT"
            ? new Error("nats-server not found: install it (Debian: apt-get install nats-server)")
            : err,
        ),
      );
      child.once("exit", (code) => fail(new Error(`nats-server exited ${code}: ${output}`)));
      // nats-server logs to stderr.
      child.stderr?.on("data", (chunk: Buffer) => {
        output += chunk.toString();
        if (output.includes("Server is ready")) {
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
