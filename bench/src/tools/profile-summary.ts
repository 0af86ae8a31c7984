/**
 * Where a server's time went, from a V8 CPU profile (`npm run bench -- <scenario> --profile`):
 * self time by module (our files, ws, Node internals, GC, idle) and the top functions.
 * A profile covers the whole process, start-up included; `--profile` also writes one for
 * tsx's loader thread, which is nearly all idle.
 *
 *   npx tsx bench/src/tools/profile-summary.ts bench/results/profiles/FILE.cpuprofile [top]
 */
import { readFileSync } from "node:fs";

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}

interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

/** A short name for where a function lives: a package file, a dependency, or V8's own. */
function moduleOf(url: string, functionName: string): string {
  if (url === "") return functionName.startsWith("(") ? functionName : "(native)";
  const path = url.replace(/^file:\/\//, "");
  const ours = /\/(packages|apps|bench|examples)\/(.+)$/.exec(path);
  if (ours && !path.includes("/node_modules/")) return `${ours[1]}/${ours[2]}`;
  const dependency = /\/node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(path);
  if (dependency) return dependency[1]!;
  if (path.startsWith("node:")) return "node internals";
  return path;
}

function summarize(profile: CpuProfile, top: number): string {
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const selfUs = new Map<number, number>();
  let totalUs = 0;
  profile.samples.forEach((id, i) => {
    const delta = profile.timeDeltas[i] ?? 0;
    selfUs.set(id, (selfUs.get(id) ?? 0) + delta);
    totalUs += delta;
  });
  const byModule = new Map<string, number>();
  const byFunction = new Map<string, number>();
  for (const [id, us] of selfUs) {
    const frame = byId.get(id)?.callFrame;
    if (!frame) continue;
    const module = moduleOf(frame.url, frame.functionName);
    byModule.set(module, (byModule.get(module) ?? 0) + us);
    if (module === "(idle)") continue;
    const name = `${frame.functionName || "(anonymous)"} ${module}:${frame.lineNumber + 1}`;
    byFunction.set(name, (byFunction.get(name) ?? 0) + us);
  }
  const idleUs = byModule.get("(idle)") ?? 0;
  const busyUs = totalUs - idleUs;
  const table = (rows: Map<string, number>, limit: number): string[] =>
    [...rows]
      .filter(([name]) => name !== "(idle)")
      .sort((a, b) => b[1] - a[1])
      .slice(0, limit)
      .map(
        ([name, us]) =>
          `  ${((100 * us) / busyUs).toFixed(1).padStart(5)} %  ${(us / 1000).toFixed(0).padStart(7)} ms  ${name}`,
      );
  return [
    `profiled ${(totalUs / 1e6).toFixed(1)} s, busy ${(busyUs / 1e6).toFixed(1)} s (${((100 * busyUs) / totalUs).toFixed(0)} %); shares are of the busy time`,
    "by module:",
    ...table(byModule, top),
    "by function (self time):",
    ...table(byFunction, top),
  ].join("\n");
}

const [file, top = "15"] = process.argv.slice(2);
if (!file) {
  process.stderr.write("usage: profile-summary.ts FILE.cpuprofile [top]\n");
  process.exit(2);
}
process.stdout.write(
  `${summarize(JSON.parse(readFileSync(file, "utf8")) as CpuProfile, Number(top))}\n`,
);
