import { expect, test } from "vitest";
import { typecheck, writeDocApp } from "./doc-app.js";

test("the example in @tandem/dashboard's README type-checks", () => {
  const app = writeDocApp("../packages/dashboard/README.md", ".dashboard-readme");
  expect(app.names).toEqual(["server.ts"]);
  const { configErrors, diagnostics } = typecheck(app);
  expect(configErrors).toEqual([]);
  expect(diagnostics).toEqual([]);
}, 60_000);
