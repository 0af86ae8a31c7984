import { createServer } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { sparePort } from "../src/testing/redis-server.js";

describe("sparePort", () => {
  const saved = process.env.TANDEM_PORTS;
  afterEach(() => {
    if (saved === undefined) delete process.env.TANDEM_PORTS;
    else process.env.TANDEM_PORTS = saved;
  });

  it("keeps to TANDEM_PORTS and skips a taken port", async () => {
    const taken = createServer();
    await new Promise<void>((resolve) => taken.listen(0, "127.0.0.1", resolve));
    const port = (taken.address() as { port: number }).port;
    try {
      process.env.TANDEM_PORTS = `${port}-${port + 1}`;
      for (let i = 0; i < 5; i++) expect(await sparePort()).toBe(port + 1);
    } finally {
      await new Promise<void>((resolve) => taken.close(() => resolve()));
    }
  });

  it("refuses a malformed range, and says so when the range is full", async () => {
    process.env.TANDEM_PORTS = "43000";
    await expect(sparePort()).rejects.toThrow(/TANDEM_PORTS must be low-high/);
    const taken = createServer();
    await new Promise<void>((resolve) => taken.listen(0, "127.0.0.1", resolve));
    const port = (taken.address() as { port: number }).port;
    try {
      process.env.TANDEM_PORTS = `${port}-${port}`;
      await expect(sparePort()).rejects.toThrow(/no free port/);
    } finally {
      await new Promise<void>((resolve) => taken.close(() => resolve()));
    }
  });
});
