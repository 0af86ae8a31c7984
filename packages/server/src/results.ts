import type { JsonObject } from "@tandem/protocol";

/** A response body: a JSON object for text frames, bytes for binary frames. */
export type ResponseBody = JsonObject | Uint8Array;

/** An answer to a join or to a client event: `ok`, `error`, or any other status string. */
export interface ReplyResult {
  readonly type: "reply";
  readonly status: string;
  readonly response: ResponseBody;
}

/**
 * Why a channel stops. `"normal"`, `"shutdown"` and `{ shutdown }` close it cleanly
 * (`phx_close`, no rejoin); any other reason is reported as a crash (`phx_error`, rejoin).
 */
export type StopReason = "normal" | "shutdown" | { shutdown: string } | { error: unknown };

/** Stop the channel, optionally replying first. */
export interface StopResult {
  readonly type: "stop";
  readonly reason: StopReason;
  readonly reply?: ReplyResult;
}

/** What `handleIn` returns: a reply, a stop, or nothing (no reply). */
export type HandleInResult = ReplyResult | StopResult | undefined;

/** What `handleInfo` and `handleOut` return: a stop, or nothing. */
export type HandleInfoResult = StopResult | undefined;

/** Reply `ok`, with an empty response by default. In `join`, accepts the join. */
export function ok(response: ResponseBody = {}): ReplyResult {
  return { type: "reply", status: "ok", response };
}

/** Reply `error`. In `join`, refuses the join with this payload. */
export function error(response: ResponseBody = {}): ReplyResult {
  return { type: "reply", status: "error", response };
}

/** Reply with any status string the client matches with `receive(status, ...)`. */
export function reply(status: string, response: ResponseBody = {}): ReplyResult {
  return { type: "reply", status, response };
}

/** Stop the channel; with `reply`, that reply is sent first. */
export function stop(reason: StopReason = "normal", replyFirst?: ReplyResult): StopResult {
  return replyFirst ? { type: "stop", reason, reply: replyFirst } : { type: "stop", reason };
}

/** True for stop reasons that close the channel without a crash. */
export function isCleanStop(reason: StopReason): boolean {
  return (
    reason === "normal" ||
    reason === "shutdown" ||
    (typeof reason === "object" && "shutdown" in reason)
  );
}
