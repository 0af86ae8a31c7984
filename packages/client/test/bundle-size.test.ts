import { describe, expect, it } from "vitest";
import { measureBundleSizes } from "../scripts/bundle-size.mjs";

describe("browser bundle", () => {
  // Gzipped, ours is the larger since it has long-poll too (README.md has the figures).
  it("is no larger than phoenix's when minified", async () => {
    const { tandem, phoenix } = await measureBundleSizes();
    expect(tandem.gzipped).toBeGreaterThan(0);
    expect(tandem.minified).toBeLessThanOrEqual(phoenix.minified);
  });

  it("includes the protocol package and the long-poll transport, and nothing from ws", async () => {
    const { tandem } = await measureBundleSizes();
    expect(tandem.inputs.some((path) => path.includes("packages/protocol/src/"))).toBe(true);
    expect(tandem.inputs.some((path) => path.endsWith("packages/client/src/long-poll.ts"))).toBe(
      true,
    );
    expect(tandem.inputs.some((path) => path.includes("node_modules/ws/"))).toBe(false);
  });
});
