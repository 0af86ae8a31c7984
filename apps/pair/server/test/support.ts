/** Tests check behaviour, not logs. */
export { silentLogger } from "@tandem/server";
