import { type ChildProcess, spawn } from "node:child_process";
import { createServer } from "node:net";

/** A port nothing listens on right now. */
export async function sparePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (address === null || typeof address === "string") throw new Error("no port");
  return address.port;
}

/**
 * A throwaway redis-server of the benchmark's own on a spare port (as in
 * packages/redis/test/support.ts), so that killing nodes never disturbs another Redis.
 */
export class RedisServer {
  readonly #process: ChildProcess;

  private constructor(
    readonly port: number,
    child: ChildProcess,
  ) {
    this.#process = child;
  }

  static async start(): Promise<RedisServer> {
    const port = await sparePort();
    const child = spawn(
      "redis-server",
      ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
      { stdio: ["ignore", "pipe", "pipe"] },
    );
    process.on("exit", () => child.kill("SIGKILL"));
    await new Promise<void>((resolve, reject) => {
      let output = "";
      const fail = (err: Error): void => {
        clearTimeout(timer);
        child.kill("SIGKILL");
        reject(err);
      };
      const timer = setTimeout(
        () => fail(new Error(`redis-server did not start: ${output}`)),
        5000,
      );
      child.once("error", fail);
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
    child.stdout?.resume();
    return new RedisServer(port, child);
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  async stop(): Promise<void> {
    const child = this.#process;
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
    child.kill("SIGKILL");
    await exited;
  }
}
