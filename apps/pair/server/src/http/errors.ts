/** One invalid field of a request, and the sentence that says what is wrong. */
export type FieldError = { field?: string; message: string };

/** A failure the client caused or must hear about, sent as `{error, field?}`. */
export class HttpError extends Error {
  readonly status: number;
  readonly field: string | undefined;
  /** Seconds the client should wait before trying again, sent as `Retry-After`. */
  readonly retryAfterSeconds: number | undefined;
  /** Every invalid field, when a body breaks several rules at once. */
  readonly errors: readonly FieldError[] | undefined;

  constructor(
    status: number,
    message: string,
    options: { field?: string; retryAfterSeconds?: number; errors?: readonly FieldError[] } = {},
  ) {
    super(message);
    this.status = status;
    this.field = options.field;
    this.retryAfterSeconds = options.retryAfterSeconds;
    this.errors = options.errors;
  }
}

/** The error body of CONTRACT.md. */
export function errorBody(
  message: string,
  field?: string,
  errors?: readonly FieldError[],
): { error: string; field?: string; errors?: readonly FieldError[] } {
  return {
    error: message,
    ...(field === undefined ? {} : { field }),
    ...(errors === undefined ? {} : { errors }),
  };
}
