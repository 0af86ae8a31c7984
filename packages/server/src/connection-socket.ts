/**
 * What a connection needs of its transport: the part of the `ws` package's `WebSocket`
 * it uses, which a WebSocket satisfies as it is and a long-poll session imitates. The
 * `readyState` values are the WebSocket API's (0 connecting, 1 open, 2 closing, 3 closed).
 */
export interface ConnectionSocket {
  readonly readyState: number;
  /** Bytes written but not yet taken by the client: what the slow-consumer limit reads. */
  readonly bufferedAmount: number;
  send(data: string | Uint8Array, options?: { binary?: boolean }): void;
  /** Closes with a code and reason the client sees. */
  close(code: number, reason: string): void;
  /** Drops the transport at once, without telling the client why. */
  terminate(): void;
  /** Stops reading from the client. */
  pause(): void;
  on(
    event: "message",
    listener: (data: Buffer | ArrayBuffer | Buffer[], isBinary: boolean) => void,
  ): this;
  on(event: "close", listener: () => void): this;
  on(event: "error", listener: (err: Error) => void): this;
}
