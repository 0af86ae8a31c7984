import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { runScenario } from "../src/harness.js";
import type { SoakResult } from "../src/types.js";

const outDir = mkdtempSync(join(tmpdir(), "tandem-bench-soak-"));
afterAll(() => rmSync(outDir, { recursive: true, force: true }));

describe("bench soak", () => {
  it("churns 30 clients for 8 s and finds no ghosts and no lost presences", async () => {
    const report = await runScenario("soak", {
      targets: ["tandem"],
      options: { durationMs: 8000, clients: 30, rooms: 3, sampleMs: 1000 },
      outDir,
      print: false,
    });

    const written = JSON.parse(readFileSync(report.files.json, "utf8")) as typeof report;
    expect(written.runs.map((r) => r.target)).toEqual(["tandem"]);
    const run = written.runs[0]!;
    expect(run.error).toBeUndefined();
    const result = run.result as SoakResult;
    expect(result.reconnects + result.rejoins).toBeGreaterThan(20);
    expect(result.toggles).toBeGreaterThan(20);
    // Presence must be exact; memory is not judged at this length.
    expect(result).toMatchObject({ ghosts: 0, lost: 0, duplicates: 0, expectedPresences: 33 });
    expect(result.metricsPresences).toBe(33);
    expect(result.samples.length).toBeGreaterThan(3);
    expect(written.table).toContain("soak");
    expect(readFileSync(report.files.svg, "utf8")).toContain("<svg");
  }, 30_000);
});
