import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { loadConfig, repoRoot } from "../src/config.js";

describe("config", () => {
  it("has documented defaults", () => {
    expect(loadConfig({})).toEqual({
      port: 4000,
      host: "127.0.0.1",
      databaseUrl: undefined,
      dataDir: join(repoRoot, "data"),
      secretKeyBase: undefined,
      logLevel: "info",
      redisUrl: undefined,
      allowedOrigins: [],
      metricsPort: undefined,
      metricsHost: "127.0.0.1",
      trustProxies: [],
    });
  });

  it("reads every variable", () => {
    const config = loadConfig({
      PORT: "4555",
      HOST: "0.0.0.0",
      DATABASE_URL: "postgres://db/pair",
      DATA_DIR: "/var/lib/pair",
      SECRET_KEY_BASE: "s".repeat(40),
      LOG_LEVEL: "debug",
      REDIS_URL: "redis://127.0.0.1:6379",
      ALLOWED_ORIGINS: "http://localhost:5173, https://pair.example ,",
      METRICS_PORT: "9464",
      METRICS_HOST: "10.0.0.5",
      TRUST_PROXIES: "10.0.0.1, 192.168.0.0/16",
    });
    expect(config).toEqual({
      port: 4555,
      host: "0.0.0.0",
      databaseUrl: "postgres://db/pair",
      dataDir: "/var/lib/pair",
      secretKeyBase: "s".repeat(40),
      logLevel: "debug",
      redisUrl: "redis://127.0.0.1:6379",
      allowedOrigins: ["http://localhost:5173", "https://pair.example"],
      metricsPort: 9464,
      metricsHost: "10.0.0.5",
      trustProxies: ["10.0.0.1", "192.168.0.0/16"],
    });
  });

  it("resolves a relative DATA_DIR against the repository root and treats empty as unset", () => {
    const config = loadConfig({ DATA_DIR: "tmp/pair", DATABASE_URL: " ", HOST: "" });
    expect(config.dataDir).toBe(join(repoRoot, "tmp/pair"));
    expect(config.databaseUrl).toBeUndefined();
    expect(config.host).toBe("127.0.0.1");
  });

  it("refuses a port that cannot be right", () => {
    for (const PORT of ["abc", "-1", "70000", "1.5"]) {
      expect(() => loadConfig({ PORT })).toThrow(/PORT/);
      expect(() => loadConfig({ METRICS_PORT: PORT })).toThrow(/METRICS_PORT/);
    }
  });
});
