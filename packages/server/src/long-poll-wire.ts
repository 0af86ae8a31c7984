/**
 * The long-poll transport's wire, as Phoenix serves it (`Phoenix.Transports.LongPoll`):
 * every answer is JSON `{status, token, messages}` whose `status` carries the outcome, and
 * a POST carries one message, or several separated by newlines (`application/x-ndjson`),
 * binary ones in base64. Pure functions, kept apart from the HTTP handling.
 */

/** Poll and POST outcomes, as the `status` field of a long-poll answer. */
export const PollStatus = {
  /** Messages, or a POST taken. */
  ok: 200,
  /** The poll waited its window and nothing came. */
  noContent: 204,
  /** A new session (with its token), or the session is gone. */
  gone: 410,
} as const;

/** Most messages one POST may carry: the official client sends at most this many. */
export const MAX_BATCH_MESSAGES = 100;

/** Why a session closed, told to the client in the `410` that ends it (a Tandem addition). */
export interface CloseNotice {
  readonly code: number;
  readonly reason: string;
}

/** The JSON body of a long-poll answer. */
export interface PollAnswer {
  readonly status: number;
  readonly token?: string | null;
  readonly messages?: readonly string[];
  /**
   * Why the session closed, on the `410` answering the first poll after the close.
   * Phoenix clients ignore it; Tandem's reports it as the close event's code and reason.
   */
  readonly close?: CloseNotice;
}

/** One message of a POST: text, or binary that travelled in base64. */
export type PostedMessage =
  | { readonly binary: false; readonly data: string }
  | { readonly binary: true; readonly data: Buffer };

/** A POST body split into messages, or why it cannot be. */
export type PostedBatch =
  | { readonly ok: true; readonly messages: readonly PostedMessage[] }
  | { readonly ok: false; readonly error: "too many messages" | "invalid base64" };

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

/**
 * Splits a POST body into messages. An `application/x-ndjson` body holds one per line
 * (`\n` or `\r\n`); a line that starts with `[` is a text message, any other is binary
 * in base64, and empty lines are skipped. Any other content type is one text message.
 */
export function splitBatch(body: string, contentType: string | undefined): PostedBatch {
  const mediaType = (contentType ?? "").split(";")[0]?.trim().toLowerCase();
  if (mediaType !== "application/x-ndjson") {
    return { ok: true, messages: body === "" ? [] : [{ binary: false, data: body }] };
  }
  const lines = body.split(/\r?\n/).filter((line) => line !== "");
  if (lines.length > MAX_BATCH_MESSAGES) return { ok: false, error: "too many messages" };
  const messages: PostedMessage[] = [];
  for (const line of lines) {
    if (line.startsWith("[")) {
      messages.push({ binary: false, data: line });
    } else if (line.length % 4 === 0 && BASE64.test(line)) {
      messages.push({ binary: true, data: Buffer.from(line, "base64") });
    } else {
      return { ok: false, error: "invalid base64" };
    }
  }
  return { ok: true, messages };
}

/**
 * A message as a poll answer carries it: text as it is, binary in base64, as a POST
 * carries binary. The official client cannot read binary over long-poll (nor can it
 * from Phoenix); Tandem's decodes it.
 */
export function pollMessage(frame: string | Uint8Array): string {
  return typeof frame === "string"
    ? frame
    : Buffer.from(frame.buffer, frame.byteOffset, frame.byteLength).toString("base64");
}

/**
 * The session token a request names: the `x-phoenix-longpoll-token` header (newer
 * clients), else the last `token` query param. The last, because the client appends its
 * session token after the connect params, which may hold a `token` of their own.
 */
export function sessionTokenOf(
  headerValue: string | string[] | undefined,
  url: URL,
): string | null {
  const header = Array.isArray(headerValue) ? headerValue[0] : headerValue;
  if (header) return header;
  const tokens = url.searchParams.getAll("token");
  return tokens.length > 0 ? (tokens[tokens.length - 1] ?? null) : null;
}

/**
 * The connect params of a poll that opens a session: its query params, the first value
 * of each. A session token appended after a connect param of the same name is not one.
 */
export function connectParamsOf(url: URL): Record<string, string> {
  const params = new Map<string, string>();
  for (const [key, value] of url.searchParams) {
    if (!params.has(key)) params.set(key, value);
  }
  // Own properties, whatever the names (`__proto__` included), as for a WebSocket's params.
  return Object.fromEntries(params);
}
