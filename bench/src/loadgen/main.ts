/**
 * The load generator process: the harness forks it with an IPC channel, sends one
 * LoadgenRequest, and gets one LoadgenReply back.
 */
import type { LoadgenReply, LoadgenRequest, ScenarioResults } from "../types.js";
import { abuse } from "./abuse.js";
import { cluster } from "./cluster.js";
import type { Driver } from "./conn.js";
import { joinStorm } from "./join-storm.js";
import { connectPhoenix } from "./phoenix-conn.js";
import { broadcast, type Context, capacity, typing } from "./scenarios.js";
import { connectSocketIo } from "./sio-conn.js";
import { soak } from "./soak.js";

async function run(request: LoadgenRequest): Promise<ScenarioResults[typeof request.scenario]> {
  const driver: Driver = request.target === "socketio" ? connectSocketIo : connectPhoenix;
  const ctx: Context = { driver, url: request.url };
  switch (request.scenario) {
    case "join-storm":
      return joinStorm(ctx, (request as LoadgenRequest<"join-storm">).options, request.target);
    case "typing":
      return typing(ctx, (request as LoadgenRequest<"typing">).options);
    case "broadcast":
      return broadcast(ctx, (request as LoadgenRequest<"broadcast">).options);
    case "capacity":
      return capacity(ctx, (request as LoadgenRequest<"capacity">).options);
    case "cluster":
      return cluster(ctx, (request as LoadgenRequest<"cluster">).options, request.nodes ?? []);
    case "soak":
      return soak(ctx, (request as LoadgenRequest<"soak">).options);
    case "abuse":
      return abuse(ctx, (request as LoadgenRequest<"abuse">).options);
  }
}

process.on("disconnect", () => process.exit(0));
process.once("message", (request: LoadgenRequest) => {
  run(request).then(
    (result) => reply({ ok: true, result }),
    (err: unknown) =>
      reply({ ok: false, error: err instanceof Error ? (err.stack ?? err.message) : String(err) }),
  );
});

function reply(message: LoadgenReply): void {
  process.send?.(message, () => process.exit(0));
}
