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

/** The instructions executed since {@link startCounting}; `null` when not counting. */
export async function countedSinceStart(): Promise<number | null> {
  if (!outFile) return null;
  const before = dumps(outFile);
  await control("--dump");
  const fresh = dumps(outFile).filter((file) => !before.includes(file));
  const file = fresh.sort(byPart).at(-1);
  if (!file) throw new Error(`callgrind wrote no dump next to ${outFile}`);
  const summary = /^summary:\s*(\d+)/m.exec(readFileSync(file, "utf8"));
  if (!summary) throw new Error(`no summary line in ${file}`);
  return Number(summary[1]);
}

/** Dump files of this process: `<out>.<part>` (callgrind numbers each dump). */
function dumps(out: string): string[] {
  const stem = `${basename(out)}.`;
  return readdirSync(dirname(out))
    .filter((name) => name.startsWith(stem) && /^\d+$/.test(name.slice(stem.length)))
    .map((name) => join(dirname(out), name));
}

function byPart(a: string, b: string): number {
  return Number(a.slice(a.lastIndexOf(".") + 1)) - Number(b.slice(b.lastIndexOf(".") + 1));
}
