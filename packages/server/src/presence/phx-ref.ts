import { randomBytes } from "node:crypto";

const nodeTag = randomBytes(2);
let counter = 0;

/**
 * A fresh `phx_ref`: 12 bytes (a 64-bit nanosecond timestamp, 16 random bits fixed per
 * process, a 16-bit counter) as 16 base64url characters, the shape Phoenix uses.
 * Clients treat it as an opaque unique string.
 */
export function makePhxRef(): string {
  const bytes = Buffer.allocUnsafe(12);
  bytes.writeBigUInt64BE(process.hrtime.bigint(), 0);
  nodeTag.copy(bytes, 8);
  counter = (counter + 1) & 0xffff;
  bytes.writeUInt16BE(counter, 10);
  return bytes.toString("base64url");
}
