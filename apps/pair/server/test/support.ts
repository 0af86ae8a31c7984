import type { Logger } from "@tandem/server";

/** A logger that drops everything, so test output stays readable. */
export const silentLogger: Logger = {
  debug() {},
  info() {},
  warn() {},
  error() {},
  child: () => silentLogger,
};
