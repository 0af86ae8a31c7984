import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { writeHeapSnapshot } from "node:v8";
import type { BusStats } from "@tandem/server";
import { countedSinceStart, counting, startCounting } from "./instruction-count.js";

/** What a server reports at `GET /stats`. CPU in microseconds, memory in bytes. */
export interface ServerStats {
  cpuUserUs: number;
  cpuSystemUs: number;
  rss: number;
  /** Highest RSS sampled (every 250 ms) since the last `?reset`. */
  peakRss: number;
  /** The kernel's lifetime peak RSS of the process. */
  maxRss: number;
  heapUsed: number;
  /** V8 heap committed, used or not. */
  heapTotal: number;
  external: number;
  arrayBuffers: number;
  connections: number;
  /** Instructions executed since the last `?reset`, when run under callgrind; else null. */
  instructions: number | null;
  /** The cluster bus adapter's counters, when the server is a node of a cluster. */
  bus?: BusStats;
}

declare const gc: (() => void) | undefined;

/**
 * Adds `/stats` (`?gc` collects garbage first, `?reset` restarts the peak RSS) and
 * `/heapsnapshot?file=...` to a server; other paths get 404 unless `fallback` answers.
 */
export function statsServer(
  connections: () => number,
  fallback?: (req: IncomingMessage, res: ServerResponse) => boolean,
  extra?: () => Partial<ServerStats>,
): Server {
  let peakRss = process.memoryUsage.rss();
  const sampler = setInterval(() => {
    peakRss = Math.max(peakRss, process.memoryUsage.rss());
  }, 250);
  sampler.unref();
  return createServer(async (req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? "/", "http://localhost");
    if (url.pathname === "/stats") {
      if (url.searchParams.has("gc") && typeof gc === "function") {
        gc();
        gc();
      }
      const reset = url.searchParams.has("reset");
      if (reset) {
        peakRss = process.memoryUsage.rss();
        await startCounting();
      }
      const instructions = reset ? (counting ? 0 : null) : await countedSinceStart();
      const cpu = process.cpuUsage();
      const memory = process.memoryUsage();
      peakRss = Math.max(peakRss, memory.rss);
      const stats: ServerStats = {
        cpuUserUs: cpu.user,
        cpuSystemUs: cpu.system,
        rss: memory.rss,
        peakRss,
        maxRss: process.resourceUsage().maxRSS * 1024,
        heapUsed: memory.heapUsed,
        heapTotal: memory.heapTotal,
        external: memory.external,
        arrayBuffers: memory.arrayBuffers,
        connections: connections(),
        instructions,
        ...extra?.(),
      };
      res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(stats));
      return;
    }
    if (url.pathname === "/heapsnapshot") {
      const file = writeHeapSnapshot(url.searchParams.get("file") ?? undefined);
      res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ file }));
      return;
    }
    // Socket.IO answers its own path on the same server; everything else is not found.
    if (url.pathname.startsWith("/socket.io/")) return;
    if (fallback?.(req, res)) return;
    res.writeHead(404, { "content-type": "text/plain" }).end("not found\n");
  });
}

/**
 * Listens on `PORT` (default ephemeral) of `HOST` (default loopback; the partition bench's
 * nodes listen on their network namespace's address) and prints `listening <port>`.
 */
export async function listen(server: Server, port = Number(process.env.PORT ?? 0)): Promise<void> {
  const host = process.env.HOST ?? "127.0.0.1";
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen({ port, host, backlog: 4096 }, () => resolve());
  });
  const address = server.address() as AddressInfo;
  console.log(`listening ${address.port}`);
}

/** Exits when the harness goes away (its IPC channel closes) or asks to stop. */
export function exitWithParent(): void {
  process.on("disconnect", () => process.exit(0));
  process.on("SIGTERM", () => process.exit(0));
  process.on("SIGINT", () => process.exit(0));
}

/** The topic every scenario uses unless it spreads clients over rooms. */
export const ROOM_PREFIX = "room:";
