import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: [
      "packages/*/test/**/*.test.{ts,tsx}",
      "apps/pair/*/test/**/*.test.{ts,tsx}",
      "apps/pair/e2e/**/*.test.ts",
      "examples/*/test/**/*.test.ts",
      "bench/test/**/*.test.ts",
      "docs/test/**/*.test.ts",
    ],
    testTimeout: 20_000,
    hookTimeout: 60_000,
  },
});
