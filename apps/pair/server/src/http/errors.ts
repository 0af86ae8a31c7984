/** A failure the client caused or must hear about, sent as `{error, field?}`. */
export class HttpError extends Error {
  readonly status: number;
  readonly field: string | undefined;
  /** Seconds the client should wait before trying again, sent as `Retry-After`. */
  readonly retryAfterSeconds: number | undefined;

  constructor(
    status: number,
    message: string,
    options: { field?: string; retryAfterSeconds?: number } = {},
  ) {
    super(message);
    this.status = status;
    this.field = options.field;
    this.retryAfterSeconds = options.retryAfterSeconds;
  }
}

/** The error body of CONTRACT.md. */
export function errorBody(message: string, field?: string): { error: string; field?: string } {
  return field === undefined ? { error: message } : { error: message, field };
}
