/** Why a frame could not be decoded or encoded. */
export type FrameErrorKind =
  | "invalid_json"
  | "invalid_shape"
  | "invalid_field"
  | "truncated"
  | "unknown_kind"
  | "invalid_utf8"
  | "field_too_long"
  | "unsupported";

/** A frame that is not a valid message. Carries what a server needs to answer or close. */
export class FrameError extends Error {
  override readonly name = "FrameError";
  constructor(
    readonly kind: FrameErrorKind,
    message: string,
  ) {
    super(message);
  }
}

/** The outcome of decoding untrusted input: never an exception. */
export type DecodeResult<T> = { ok: true; value: T } | { ok: false; error: FrameError };

export function decoded<T>(value: T): DecodeResult<T> {
  return { ok: true, value };
}

export function failed<T>(kind: FrameErrorKind, message: string): DecodeResult<T> {
  return { ok: false, error: new FrameError(kind, message) };
}
