import { pino } from "pino";

/** The logging surface the server uses; a pino logger satisfies it. */
export interface Logger {
  debug(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
  child(bindings: object): Logger;
}

/** A pino logger at `LOG_LEVEL` (default "info"), the default for an Endpoint. */
export function defaultLogger(): Logger {
  return pino({ name: "tandem", level: process.env.LOG_LEVEL ?? "info" });
}
