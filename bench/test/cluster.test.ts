import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { runRealClusterScale } from "../src/cluster-scale/real.js";
import { runScenario } from "../src/harness.js";
import { runPartition } from "../src/partition/main.js";
import { type ClusterResult, ENGINES } from "../src/types.js";

const outDir = mkdtempSync(join(tmpdir(), "tandem-bench-cluster-"));
afterAll(() => rmSync(outDir, { recursive: true, force: true }));

describe("bench cluster", () => {
  it.each(ENGINES)(
    "runs two nodes over %s: typing crosses, a killed node's users leave",
    async (engine) => {
      const report = await runScenario("cluster", {
        targets: ["tandem"],
        options: { engine, room: 20, typersPerNode: 2, observersPerNode: 2, durationMs: 2000 },
        outDir,
        print: false,
      });
      const run = report.runs[0]!;
      expect(run.error).toBeUndefined();
      const result = run.result as ClusterResult;
      expect(result.engine).toBe(engine);
      expect(result.crossSeenRatio).toBe(1);
      expect(result.kill.complete).toBe(result.kill.observers);
      expect(result.kill.falseLeaves).toBe(0);
      expect(report.table).toContain(`over ${engine}`);
    },
    90_000,
  );

  it("cluster-scale --real: a routed node holds what it serves; everywhere, it holds everything", async () => {
    const rows = await runRealClusterScale(
      { nodes: "2", placements: "routed", roomsPerNode: 4, warmupMs: 3000, durationMs: 2000 },
      outDir,
    );
    const interest = rows.find((r) => r.design === "interest")!;
    const everywhere = rows.find((r) => r.design === "everywhere")!;
    for (const row of rows) expect(row.joinFailures).toBe(0);
    for (const node of interest.perNode) {
      expect(node.entries).toBe(node.servedEntries);
      expect(node.bytesPerS).toBeGreaterThan(0);
    }
    // 8 rooms of 6: node 1 serves the odd rooms only, and holds them only, unless everywhere.
    expect(interest.perNode[1]!.entries).toBe(24);
    for (const node of everywhere.perNode) expect(node.entries).toBe(48);
  }, 120_000);

  it.runIf(process.getuid?.() === 0)(
    "partition: after a cut and lossy links every client lists exactly the live connections",
    async () => {
      const results = await runPartition(
        { engines: "redis", clientsPerNode: 6, cutMs: 3000, lossyMs: 3000 },
        outDir,
      );
      expect(results.map((r) => r.kind)).toEqual(["cut", "lossy"]);
      for (const r of results) {
        expect(r).toMatchObject({ ghosts: 0, lost: 0, duplicates: 0, staleTyping: 0 });
        expect(r.convergeMs).not.toBeNull();
        expect(r.presences).toEqual([
          r.expectedPresences,
          r.expectedPresences,
          r.expectedPresences,
        ]);
      }
      expect(results[0]!.detectOthersMs).not.toBeNull();
      expect(results[0]!.droppedPackets).toBeGreaterThan(0);
    },
    120_000,
  );
});
