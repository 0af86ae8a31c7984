import { type DecodeResult, decoded, failed } from "./errors.js";

/**
 * Reads an optional ref. Strings pass; integers are accepted as their decimal string
 * because some third-party clients send numeric refs.
 */
export function readRef(value: unknown, name: string): DecodeResult<string | null> {
  if (value === null || value === undefined) return decoded(null);
  if (typeof value === "string") return decoded(value);
  if (typeof value === "number" && Number.isSafeInteger(value)) return decoded(String(value));
  return failed("invalid_field", `${name} must be a string or null`);
}

/** Reads a required non-empty string such as a topic or an event. */
export function readName(value: unknown, name: string): DecodeResult<string> {
  if (typeof value === "string" && value.length > 0) return decoded(value);
  return failed("invalid_field", `${name} must be a non-empty string`);
}

/** Parses JSON text without letting a syntax error escape. */
export function parseJson(text: string): DecodeResult<unknown> {
  try {
    return decoded(JSON.parse(text));
  } catch (error) {
    return failed("invalid_json", `frame is not valid JSON: ${(error as Error).message}`);
  }
}
