/**
 * What one typing change costs in instructions, with Tandem's coalescing and with
 * coalesce:false (one diff per change, as Phoenix), counted by callgrind.
 *
 * Seconds on these shared cores cannot settle a difference of a few per cent, and a server
 * under callgrind driven by the load generator still varies: it is slow enough that
 * changes meet and merge, and how many do depends on timing. Here the room's server and
 * its members run in one process, and each change is sent only once every member has the
 * previous one, so no two changes ever meet and both modes send exactly the same frames.
 * What differs is the server's path from a change to its frames. The members' work is in
 * the count too, the same in both modes.
 *
 *   npx tsx --conditions=@tandem/source bench/src/tools/typing-instructions.ts \
 *     [--room 100] [--typers 10] [--warmup 200] [--changes 400] [--rounds 2] [--out DIR]
 *
 * runs each mode under valgrind in a process of its own, alternating which goes first,
 * prints instructions per change and writes typing-instructions-<date>.json.
 */
import { spawn } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { cpus } from "node:os";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { createRoomEndpoint } from "@tandem/example-room/room";
import { silentLogger } from "@tandem/server";
import WebSocket from "ws";
import { repoRoot } from "../procs.js";
import { countedSinceStart, startCounting } from "../servers/instruction-count.js";

const MODES = ["coalesce", "nocoalesce"] as const;
type Mode = (typeof MODES)[number];

interface Options {
  room: number;
  typers: number;
  warmup: number;
  changes: number;
  rounds: number;
  out: string;
}

interface Count {
  mode: Mode;
  round: number;
  instructions: number;
  perChange: number;
}

const TOPIC = "room:instructions";
/** The start of the reply to a member's join (join_ref and ref "1"). */
const JOIN_REPLY = `["1","1","${TOPIC}","phx_reply"`;

function options(argv: string[]): Options & { child: Mode | null } {
  const o = {
    room: 100,
    typers: 10,
    warmup: 200,
    changes: 400,
    rounds: 2,
    out: join(repoRoot, "bench", "results"),
    child: null as Mode | null,
  };
  for (let i = 0; i < argv.length; i += 2) {
    const name = argv[i]!.replace(/^--/, "");
    const value = argv[i + 1];
    if (value === undefined) throw new Error(`${argv[i]} needs a value`);
    if (name === "out") o.out = value;
    else if (name === "child") {
      if (!MODES.includes(value as Mode)) throw new Error(`unknown mode "${value}"`);
      o.child = value as Mode;
    } else if (name in o && Number.isInteger(Number(value)) && Number(value) > 0) {
      (o as Record<string, unknown>)[name] = Number(value);
    } else throw new Error(`no option --${name} ${value}`);
  }
  // Every typer ends on "not typing", so no transient revert fires after the count.
  if (o.changes % (2 * o.typers) !== 0 || o.warmup % (2 * o.typers) !== 0) {
    throw new Error("--warmup and --changes must be multiples of 2 × --typers");
  }
  if (o.typers > o.room) throw new Error("--typers cannot exceed --room");
  return o;
}

/** One mode, in this process: the room, its members, the changes, the count. */
async function measure(mode: Mode, o: Options): Promise<number> {
  const { endpoint } = createRoomEndpoint(
    // Members who are not typing stay quiet for the whole run, slow under valgrind.
    { logger: silentLogger, idleTimeoutMs: 3_600_000 },
    mode === "coalesce" ? {} : { coalesce: false },
  );
  const { port } = await endpoint.listen(0);
  let diffs = 0;
  let joined = 0;
  let wanted = Number.POSITIVE_INFINITY;
  let reached: () => void = () => {};
  const members: WebSocket[] = [];
  for (let i = 0; i < o.room; i++) {
    const ws = new WebSocket(`ws://127.0.0.1:${port}/socket/websocket?vsn=2.0.0&name=m${i}`);
    ws.on("message", (data: Buffer) => {
      if (data.includes('"presence_diff"')) {
        if (++diffs >= wanted) reached();
      } else if (data.includes(JOIN_REPLY)) joined++;
    });
    await new Promise<void>((resolve, reject) => {
      ws.once("open", () => resolve());
      ws.once("error", reject);
    });
    ws.send(JSON.stringify(["1", "1", TOPIC, "phx_join", {}]));
    members.push(ws);
  }
  // Every member in, and the joins' diffs arrived, whatever their batching.
  await settled(() => (joined < o.room ? -joined : diffs), 2000);
  const typing = new Array<boolean>(o.typers).fill(false);
  for (let k = 0; k < o.warmup + o.changes; k++) {
    if (k === o.warmup) await startCounting();
    const typer = k % o.typers;
    typing[typer] = !typing[typer];
    const done = new Promise<void>((resolve) => {
      reached = resolve;
    });
    diffs = 0;
    wanted = o.room;
    members[typer]!.send(
      JSON.stringify(["1", String(k + 2), TOPIC, "typing", { typing: typing[typer] }]),
    );
    await done;
  }
  const instructions = await countedSinceStart();
  for (const ws of members) ws.terminate();
  await endpoint.close({ timeoutMs: 100 });
  if (instructions === null) throw new Error("not run under callgrind (TANDEM_CALLGRIND_OUT)");
  return instructions;
}

/** Waits until `value()` is non-negative and has not changed for `quietMs`. */
async function settled(value: () => number, quietMs: number): Promise<void> {
  let last = Number.NaN;
  for (;;) {
    await new Promise((resolve) => setTimeout(resolve, quietMs));
    const now = value();
    if (now >= 0 && now === last) return;
    last = now;
  }
}

/** Runs one mode under callgrind in a child process and returns its count. */
async function countUnderCallgrind(mode: Mode, o: Options, dir: string): Promise<number> {
  const out = join(dir, `typing-instructions-${mode}-${Date.now()}`);
  const tsx = pathToFileURL(createRequire(import.meta.url).resolve("tsx")).href;
  const args = ["--room", o.room, "--typers", o.typers, "--warmup", o.warmup];
  const child = spawn(
    "valgrind",
    [
      "--tool=callgrind",
      "--smc-check=all-non-file",
      "--instr-atstart=no",
      "--separate-threads=yes",
      `--callgrind-out-file=${out}`,
      process.execPath,
      "--conditions=@tandem/source",
      "--import",
      tsx,
      fileURLToPath(import.meta.url),
      ...[...args, "--changes", o.changes, "--child", mode].map(String),
    ],
    {
      cwd: repoRoot,
      env: { ...process.env, NODE_ENV: "production", TANDEM_CALLGRIND_OUT: out },
      stdio: ["ignore", "pipe", "ignore"],
    },
  );
  let stdout = "";
  child.stdout.on("data", (chunk: Buffer) => {
    stdout += chunk.toString();
  });
  const code = await new Promise<number | null>((resolve) => child.once("exit", resolve));
  const match = /^instructions (\d+)$/m.exec(stdout);
  if (code !== 0 || !match) throw new Error(`${mode} under callgrind failed (exit ${code})`);
  return Number(match[1]);
}

const o = options(process.argv.slice(2));
if (o.child) {
  const instructions = await measure(o.child, o);
  process.stdout.write(`instructions ${instructions}\n`);
  process.exit(0);
}
mkdirSync(o.out, { recursive: true });
const dir = join(o.out, "callgrind");
mkdirSync(dir, { recursive: true });
const counts: Count[] = [];
for (let round = 1; round <= o.rounds; round++) {
  const order = round % 2 === 1 ? MODES : [...MODES].reverse();
  for (const mode of order) {
    process.stderr.write(`round ${round}: ${mode} under callgrind\n`);
    const instructions = await countUnderCallgrind(mode, o, dir);
    counts.push({ mode, round, instructions, perChange: instructions / o.changes });
  }
}
const lines = [
  `typing change, room of ${o.room}, ${o.changes} changes after ${o.warmup} to warm up`,
  "| round | coalesce (Tandem) M instr/change | coalesce:false M instr/change | Tandem − false |",
  "| ----: | ------: | ------: | ------: |",
];
for (let round = 1; round <= o.rounds; round++) {
  const t = counts.find((c) => c.round === round && c.mode === "coalesce")!.perChange;
  const f = counts.find((c) => c.round === round && c.mode === "nocoalesce")!.perChange;
  const delta = `${(((t - f) / f) * 100).toFixed(2)} %`;
  lines.push(`| ${round} | ${(t / 1e6).toFixed(4)} | ${(f / 1e6).toFixed(4)} | ${delta} |`);
}
// Work the clock drives (the idle sweep, the tracker's periods) only adds to a count, and
// more so the longer a run takes on a busy machine: each mode's lowest count is its cost.
const lowest = (mode: Mode) =>
  Math.min(...counts.filter((c) => c.mode === mode).map((c) => c.perChange));
const [t, f] = [lowest("coalesce"), lowest("nocoalesce")];
lines.push(
  `| lowest | ${(t / 1e6).toFixed(4)} | ${(f / 1e6).toFixed(4)} | ${(((t - f) / f) * 100).toFixed(2)} % |`,
);
process.stdout.write(`${lines.join("\n")}\n`);
const file = join(
  o.out,
  `typing-instructions-${new Date().toISOString().replace(/[:.]/g, "-")}.json`,
);
const machine = {
  cpus: cpus().length,
  cpuModel: cpus()[0]?.model ?? "unknown",
  node: process.version,
};
writeFileSync(
  file,
  `${JSON.stringify({ date: new Date().toISOString(), machine, options: o, counts }, null, 2)}\n`,
);
process.stdout.write(`wrote ${file}\n`);
