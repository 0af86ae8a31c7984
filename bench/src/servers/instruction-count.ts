/**
 * Instructions a server executes between two points, counted by callgrind: CPU seconds on
 * these shared cores move with whatever else runs, an instruction count does not. Active
 * when the harness starts the server under `valgrind --tool=callgrind --instr-atstart=no`
 * and names the dump file in `TANDEM_CALLGRIND_OUT`; a server started otherwise counts
 * nothing.
 */
import { execFile } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import { promisify } from "node:util";

const run = promisify(execFile);
const outFile = process.env.TANDEM_CALLGRIND_OUT;

/** Whether this process runs under callgrind for the harness. */
export const counting = outFile !== undefined && outFile !== "";

async function control(...args: string[]): Promise<void> {
  // callgrind_control reaches the process through valgrind's gdbserver while it waits.
  await run("callgrind_control", [...args, String(process.pid)]);
}

/** Zeroes the count and starts counting (every thread of the process). */
export async function startCounting(): Promise<void> {
  if (!counting) return;
  await control("--zero");
  await control("--instr=on");
}

/**
 * The instructions executed since {@link startCounting}, by the main thread alone when
 * callgrind separates threads (`--separate-threads=yes`: V8's compiler and GC helpers do
 * more or less work depending on how long the main thread waits for the network);
 * `null` when not counting.
 */
export async function countedSinceStart(): Promise<number | null> {
  if (!outFile) return null;
  const before = dumps(outFile);
  await control("--dump");
  const fresh = dumps(outFile).filter((dump) => !before.some((b) => b.file === dump.file));
  const part = Math.max(...fresh.map((dump) => dump.part));
  const dump = fresh.find((d) => d.part === part && (d.thread === null || d.thread === 1));
  if (!dump) throw new Error(`callgrind wrote no dump next to ${outFile}`);
  const summary = /^summary:\s*(\d+)/m.exec(readFileSync(dump.file, "utf8"));
  if (!summary) throw new Error(`no summary line in ${dump.file}`);
  return Number(summary[1]);
}

/**
 * Dump files of this process: `<out>.<part>`, or `<out>.<part>-<thread>` with threads
 * separated (callgrind numbers each dump).
 */
function dumps(out: string): { file: string; part: number; thread: number | null }[] {
  const stem = `${basename(out)}.`;
  return readdirSync(dirname(out)).flatMap((name) => {
    const match = name.startsWith(stem) ? /^(\d+)(?:-(\d+))?$/.exec(name.slice(stem.length)) : null;
    if (!match) return [];
    const thread = match[2] === undefined ? null : Number(match[2]);
    return [{ file: join(dirname(out), name), part: Number(match[1]), thread }];
  });
}
