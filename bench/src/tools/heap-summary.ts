/**
 * Summarises a V8 heap snapshot by what holds the memory: self size per node type and
 * constructor name, largest first, optionally divided by a connection count.
 *
 *   npx tsx bench/src/tools/heap-summary.ts FILE.heapsnapshot [connections] [top]
 */
import { readFileSync } from "node:fs";

interface Snapshot {
  snapshot: { meta: { node_fields: string[]; node_types: [string[], ...unknown[]] } };
  nodes: number[];
  strings: string[];
}

const [file, connectionsArg, topArg] = process.argv.slice(2);
if (!file) {
  process.stderr.write("usage: heap-summary FILE.heapsnapshot [connections] [top]\n");
  process.exit(2);
}
const connections = Number(connectionsArg ?? 1);
const top = Number(topArg ?? 40);
const snap = JSON.parse(readFileSync(file, "utf8")) as Snapshot;
const fields = snap.snapshot.meta.node_fields;
const types = snap.snapshot.meta.node_types[0];
const width = fields.length;
const typeAt = fields.indexOf("type");
const nameAt = fields.indexOf("name");
const sizeAt = fields.indexOf("self_size");
const groups = new Map<string, { count: number; size: number }>();
let total = 0;
for (let i = 0; i < snap.nodes.length; i += width) {
  const type = types[snap.nodes[i + typeAt]!] ?? "?";
  let name = snap.strings[snap.nodes[i + nameAt]!] ?? "?";
  if (type === "string" || type === "concatenated string" || type === "sliced string") name = "";
  if (type === "closure") name = `${name}()`;
  const key = `${type} ${name.slice(0, 60)}`;
  const size = snap.nodes[i + sizeAt]!;
  total += size;
  const group = groups.get(key) ?? { count: 0, size: 0 };
  group.count++;
  group.size += size;
  groups.set(key, group);
}
const rows = [...groups].sort((a, b) => b[1].size - a[1].size).slice(0, top);
process.stdout.write(
  `total ${(total / 2 ** 20).toFixed(1)} MB, ${(total / connections).toFixed(0)} B per connection (${connections})\n`,
);
process.stdout.write("bytes/conn  count/conn  type name\n");
for (const [key, { count, size }] of rows) {
  process.stdout.write(
    `${(size / connections).toFixed(0).padStart(10)}  ${(count / connections).toFixed(2).padStart(10)}  ${key}\n`,
  );
}
