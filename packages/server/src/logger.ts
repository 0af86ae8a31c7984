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

const quiet = (): void => {};

/** A logger that drops everything: for tests and benchmarks that judge behaviour, not logs. */
export const silentLogger: Logger = {
  debug: quiet,
  info: quiet,
  warn: quiet,
  error: quiet,
  child: () => silentLogger,
};
