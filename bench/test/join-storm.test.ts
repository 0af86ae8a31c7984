import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { runScenario } from "../src/harness.js";
import type { JoinStormResult } from "../src/types.js";

const outDir = mkdtempSync(join(tmpdir(), "tandem-bench-"));
afterAll(() => rmSync(outDir, { recursive: true, force: true }));

describe("bench harness", () => {
  it("runs a tiny join-storm end to end against Tandem and the raw ceiling", async () => {
    const report = await runScenario("join-storm", {
      targets: ["tandem", "raw"],
      options: { n: 50, timeoutMs: 10_000, steadyMs: 1000 },
      outDir,
      print: false,
    });

    const written = JSON.parse(readFileSync(report.files.json, "utf8")) as typeof report;
    expect(written.scenario).toBe("join-storm");
    expect(written.machine.cpus).toBeGreaterThan(0);
    expect(written.runs.map((r) => r.target)).toEqual(["tandem", "raw"]);
    for (const run of written.runs) {
      expect(run.error).toBeUndefined();
      const result = run.result as JoinStormResult;
      expect(result).toMatchObject({
        n: 50,
        failed: 0,
        convergedClients: 50,
        convergenceMs: expect.any(Number),
        allJoinedMs: expect.any(Number),
        messages: expect.any(Number),
        bytes: expect.any(Number),
        serverCpuS: expect.any(Number),
        serverPeakRss: expect.any(Number),
        loadgenCpuS: expect.any(Number),
        loadgenThreads: 2,
        busy: {
          server: expect.any(Number),
          serverKernel: expect.any(Number),
          loadgen: expect.any(Number),
        },
      });
      expect(result.messages).toBeGreaterThan(0);
      expect(result.curve.length).toBeGreaterThan(0);
    }
    expect(written.checks).toEqual([]);
    expect(written.table).toContain("raw ws ceiling");
    expect(readFileSync(report.files.svg, "utf8")).toContain("<svg");
  }, 60_000);
});
