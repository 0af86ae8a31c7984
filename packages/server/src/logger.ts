import { pino } from "pino";

/** The logging surface the server uses; a pino logger satisfies it. */
export interface Logger {
  /** Logs fields and an optional message at debug level. */
  debug(obj: object, msg?: string): void;
  /** Logs at info level. */
  info(obj: object, msg?: string): void;
  /** Logs at warn level: a client misbehaved or a peer is unreachable. */
  warn(obj: object, msg?: string): void;
  /** Logs at error level: a handler threw or the server cannot do its job. */
  error(obj: object, msg?: string): void;
  /** A logger that adds `bindings` to every line (a connection id, a topic). */
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
