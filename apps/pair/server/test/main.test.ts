import { type ChildProcess, spawn } from "node:child_process";
import { mkdtemp, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { repoRoot } from "../src/config.js";

let child: ChildProcess | undefined;
let dataDir: string | undefined;

afterEach(async () => {
  if (child && child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
  child = undefined;
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
});

/** Resolves with the "listening on" log line, or rejects if the process ends first. */
function listeningLine(process: ChildProcess): Promise<string> {
  return new Promise((resolve, reject) => {
    let output = "";
    process.stdout?.setEncoding("utf8");
    process.stdout?.on("data", (chunk: string) => {
      output += chunk;
      const line = output.split("\n").find((l) => /listening on http:\/\//.test(l));
      if (line) resolve(line);
    });
    process.once("exit", (code) => reject(new Error(`exited with ${code}: ${output}`)));
  });
}

describe("main", () => {
  it("starts from the environment, serves the API and stops cleanly on SIGTERM", async () => {
    dataDir = await mkdtemp(join(tmpdir(), "pair-main-"));
    child = spawn(
      process.execPath,
      ["--conditions=@tandem/source", "--import", "tsx", "apps/pair/server/src/main.ts"],
      {
        cwd: repoRoot,
        env: {
          ...process.env,
          PORT: "0",
          METRICS_PORT: "0",
          DATA_DIR: dataDir,
          LOG_LEVEL: "info",
          REDIS_URL: "",
        },
        stdio: ["ignore", "pipe", "inherit"],
      },
    );
    const line = JSON.parse(await listeningLine(child));
    const url = /listening on (\S+)/.exec(line.msg)?.[1];
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(line.metrics).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(await (await fetch(`${line.metrics}/metrics`)).text()).toContain("tandem_connections");

    const res = await fetch(`${url}/api/challenges`);
    expect(res.status).toBe(200);
    expect((await res.json()).challenges.length).toBeGreaterThanOrEqual(6);
    expect((await stat(join(dataDir, "pair.sqlite3"))).isFile()).toBe(true);
    expect((await stat(join(dataDir, "secret_key_base"))).mode & 0o777).toBe(0o600);

    const exited = new Promise<number | null>((resolve) => child?.once("exit", resolve));
    child.kill("SIGTERM");
    expect(await exited).toBe(0);
  });
});
