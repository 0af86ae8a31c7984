import { defaultServerConditions } from "vite";
import { defineConfig } from "vitest/config";

// Workspace packages resolve to their TypeScript sources through the "@tandem/source" export
// condition, so tests need no build and always run the code as it is in the tree. The rest
// are Vitest's own defaults, which setting `conditions` would otherwise replace.
const conditions = [
  "@tandem/source",
  ...defaultServerConditions.filter((condition) => condition !== "module"),
];

export default defineConfig({
  resolve: { conditions },
  ssr: { resolve: { conditions } },
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
