import { describe, expect, it } from "vitest";
import { measureBundleSizes } from "../scripts/bundle-size.mjs";

describe("browser bundle", () => {
  it("is no larger than phoenix's when minified and gzipped", async () => {
    const { tandem, phoenix } = await measureBundleSizes();
    expect(tandem.gzipped).toBeGreaterThan(0);
    expect(tandem.gzipped).toBeLessThanOrEqual(phoenix.gzipped);
  });

  it("includes the protocol package and nothing from ws", async () => {
    const { tandem } = await measureBundleSizes();
    expect(tandem.inputs.some((path) => path.includes("packages/protocol/src/"))).toBe(true);
    expect(tandem.inputs.some((path) => path.includes("node_modules/ws/"))).toBe(false);
  });
});
