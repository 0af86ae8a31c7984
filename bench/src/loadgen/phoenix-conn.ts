import { WebSocket } from "ws";
import type { Conn, ConnectOptions } from "./conn.js";
import { memberName } from "./conn.js";

const SHOUT = Buffer.from('"shout",');
const STATE = Buffer.from('"presence_state",');
const DIFF = Buffer.from('"presence_diff",');
const JOINS = Buffer.from('"joins":');
const LEAVES = Buffer.from('"leaves":');
const SUMMARY = Buffer.from('"presence_summary",');
const ENTRIES = Buffer.from('"entries":');
const REPLY = /^\["[^"]*","([^"]+)","[^"]*","phx_reply",/;
const METAS = Buffer.from('":{"metas"');
const QUOTE = 0x22;
const U = 0x75;

/**
 * A lean Phoenix V2 client on raw `ws`: it counts every frame, and turns a frame into a
 * string (or parses it) only when a handler needs what is inside.
 */
class PhoenixConn implements Conn {
  readonly index: number;
  frames = 0;
  bytes = 0;
  shouts = 0;
  onMembers: Conn["onMembers"] = null;
  onTyping: Conn["onTyping"] = null;
  onShout: Conn["onShout"] = null;
  onSummary: Conn["onSummary"] = null;
  onPresence: Conn["onPresence"] = null;
  onClose: Conn["onClose"] = null;
  readonly #ws: WebSocket;
  #ref = 1;
  /** The join ref of the current (or last) join; a new one for each join. */
  #joinRef = "1";
  /** Replies awaited, by ref. */
  readonly #pending = new Map<string, { resolve: () => void; reject: (e: Error) => void }>();

  constructor(ws: WebSocket, index: number) {
    this.#ws = ws;
    this.index = index;
    ws.on("message", (data: Buffer) => this.#receive(data));
    ws.on("close", () => {
      for (const pending of this.#pending.values()) pending.reject(new Error("closed"));
      this.#pending.clear();
      this.onClose?.();
    });
  }

  get open(): boolean {
    return this.#ws.readyState === WebSocket.OPEN;
  }

  join(topic: string): Promise<void> {
    const ref = String(++this.#ref);
    this.#joinRef = ref;
    return this.#request(ref, `["${ref}","${ref}",${JSON.stringify(topic)},"phx_join",{}]`);
  }

  leave(topic: string): Promise<void> {
    const ref = String(++this.#ref);
    return this.#request(
      ref,
      `["${this.#joinRef}","${ref}",${JSON.stringify(topic)},"phx_leave",{}]`,
    );
  }

  #request(ref: string, frame: string): Promise<void> {
    if (this.#ws.readyState !== WebSocket.OPEN) return Promise.reject(new Error("not open"));
    return new Promise((resolve, reject) => {
      this.#pending.set(ref, { resolve, reject });
      this.#ws.send(frame);
    });
  }

  typing(topic: string, value: boolean): void {
    this.#push(topic, "typing", `{"typing":${value}}`);
  }

  shout(topic: string, body: string): void {
    this.#push(topic, "shout", `{"body":${JSON.stringify(body)}}`);
  }

  heartbeat(): void {
    if (this.#ws.readyState !== WebSocket.OPEN) return;
    this.#ws.send(`[null,"${++this.#ref}","phoenix","heartbeat",{}]`);
  }

  close(): void {
    this.#ws.terminate();
  }

  #push(topic: string, event: string, payload: string): void {
    if (this.#ws.readyState !== WebSocket.OPEN) return;
    this.#ws.send(
      `["${this.#joinRef}","${++this.#ref}",${JSON.stringify(topic)},"${event}",${payload}]`,
    );
  }

  #receive(data: Buffer): void {
    this.frames++;
    this.bytes += data.length;
    if (this.#pending.size > 0) {
      // Only the head of the frame: a presence_state may be megabytes.
      const match = REPLY.exec(data.subarray(0, 320).toString());
      const pending = match ? this.#pending.get(match[1]!) : undefined;
      if (pending) {
        this.#pending.delete(match![1]!);
        const text = data.toString();
        if (text.includes('"status":"ok"')) pending.resolve();
        else pending.reject(new Error(`refused: ${text}`));
        return;
      }
    }
    if (this.onSummary && data.indexOf(SUMMARY) !== -1) {
      const at = data.indexOf(ENTRIES);
      if (at !== -1) {
        let value = 0;
        for (let i = at + ENTRIES.length; data[i]! >= 0x30 && data[i]! <= 0x39; i++) {
          value = value * 10 + (data[i]! - 0x30);
        }
        this.onSummary(value);
      }
      return;
    }
    if (this.onPresence) {
      const isState = data.indexOf(STATE) !== -1;
      if (isState || data.indexOf(DIFF) !== -1) {
        const frame = JSON.parse(data.toString()) as [unknown, unknown, string, string, never];
        this.onPresence(isState ? "state" : "diff", frame[4]);
      }
    }
    const isShout = data.indexOf(SHOUT) !== -1;
    if (isShout) {
      this.shouts++;
      if (!this.onShout) return;
      const frame = JSON.parse(data.toString()) as [
        unknown,
        unknown,
        string,
        string,
        { body: string },
      ];
      this.onShout(frame[4].body);
      return;
    }
    if (this.onMembers) {
      if (data.indexOf(STATE) !== -1) this.onMembers(keys(data, 0, data.length), []);
      else if (data.indexOf(DIFF) !== -1) {
        const joinsAt = data.indexOf(JOINS);
        const leavesAt = data.indexOf(LEAVES);
        const joinsEnd = leavesAt > joinsAt ? leavesAt : data.length;
        const leavesEnd = leavesAt > joinsAt ? data.length : joinsAt;
        this.onMembers(keys(data, joinsAt, joinsEnd), keys(data, leavesAt, leavesEnd));
      }
    }
    if (this.onTyping && data.indexOf(DIFF) !== -1) {
      const frame = JSON.parse(data.toString()) as [unknown, unknown, string, string, Diff];
      for (const [key, entry] of Object.entries(frame[4].joins)) {
        const member = Number(key.slice(1));
        for (const meta of entry.metas) this.onTyping(member, meta.typing === true);
      }
    }
  }
}

interface Diff {
  joins: Record<string, { metas: { typing?: unknown }[] }>;
}

/**
 * Member indexes of the `"u<n>":{"metas"` keys between `from` and `to`, found with
 * native byte searches and without decoding the frame to a string.
 */
function keys(data: Buffer, from: number, to: number): number[] {
  const found: number[] = [];
  if (from < 0) return found;
  for (let at = data.indexOf(METAS, from); at !== -1 && at < to; at = data.indexOf(METAS, at + 1)) {
    // Walk back over the digits to the `"u`.
    let value = 0;
    let scale = 1;
    let i = at - 1;
    for (; i > from && data[i]! >= 0x30 && data[i]! <= 0x39; i--) {
      value += (data[i]! - 0x30) * scale;
      scale *= 10;
    }
    if (scale > 1 && data[i] === U && data[i - 1] === QUOTE) found.push(value);
  }
  return found;
}

export function connectPhoenix(options: ConnectOptions): Promise<Conn> {
  const url = `${options.url}/socket/websocket?vsn=2.0.0&name=${memberName(options.index)}`;
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, {
      perMessageDeflate: false,
      skipUTF8Validation: true,
      ...(options.localAddress ? { localAddress: options.localAddress } : {}),
    });
    const conn = new PhoenixConn(ws, options.index);
    ws.once("open", () => {
      ws.off("error", reject);
      ws.on("error", () => {});
      resolve(conn);
    });
    ws.once("error", reject);
  });
}
