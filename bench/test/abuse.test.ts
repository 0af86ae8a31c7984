import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { runScenario } from "../src/harness.js";
import { type AbuseResult, ATTACKS } from "../src/types.js";

const outDir = mkdtempSync(join(tmpdir(), "tandem-bench-abuse-"));
afterAll(() => rmSync(outDir, { recursive: true, force: true }));

describe("bench abuse", () => {
  it("probes through every flood while the attacker is cut with 1008 and reconnects", async () => {
    const report = await runScenario("abuse", {
      targets: ["tandem"],
      options: { phaseMs: 1500, members: 5 },
      outDir,
      print: false,
    });

    const written = JSON.parse(readFileSync(report.files.json, "utf8")) as typeof report;
    const run = written.runs[0]!;
    expect(run.error).toBeUndefined();
    const { phases } = run.result as AbuseResult;
    expect(phases.map((p) => p.attack)).toEqual(["none", ...ATTACKS]);
    for (const phase of phases) {
      // Latency is the benchmark's to judge; serving everyone is this test's.
      expect(phase.probes).toBeGreaterThan(5);
      expect(phase.failedProbes).toBe(0);
      expect(phase.membersConnected).toBe(5);
    }
    for (const phase of phases.slice(1)) {
      expect(phase.attacker!.connections).toBeGreaterThan(1);
      expect(phase.attacker!.closes["1008"]).toBeGreaterThan(0);
    }
    expect(written.table).toContain("large-frames");
    expect(readFileSync(report.files.svg, "utf8")).toContain("<svg");
  }, 60_000);
});
