import type { TestCase } from "./tests/verdict";

/** A signed-in user, as the server describes it. */
export interface User {
  id: number;
  first_name: string;
  email: string;
}

/** A challenge as listed. */
export interface ChallengeSummary {
  id: number;
  title: string;
  description: string;
}

/** A challenge with its starter code and tests. */
export interface Challenge extends ChallengeSummary {
  starter_code: string;
  tests: TestCase[];
}

/** What the create form sends; each test's `args` and `expected` are JSON texts. */
export interface NewChallenge {
  title: string;
  description: string;
  starter_code: string;
  tests: TestCase[];
}

/** One invalid field of a refused request (`field` may be a path such as `tests.1.args`). */
export interface FieldError {
  field?: string;
  message: string;
}

/** One page of the challenge list; `next_cursor` asks for the next one (null after the last). */
export interface ChallengePage {
  challenges: ChallengeSummary[];
  next_cursor: string | null;
}

/** A session: the token to send and whose it is. */
export interface Session {
  token: string;
  user: User;
}

/** An error response of the API: a sentence for people, and the field at fault if any. */
export class ApiError extends Error {
  constructor(
    message: string,
    readonly status: number,
    readonly field?: string,
    readonly errors: readonly FieldError[] = [],
  ) {
    super(message);
    this.name = "ApiError";
  }
}

function isFieldError(value: unknown): value is FieldError {
  const e = value as FieldError | null;
  return typeof e?.message === "string" && (e.field === undefined || typeof e.field === "string");
}

async function request<T>(
  method: "GET" | "POST",
  path: string,
  options: { body?: object; token?: string | null } = {},
): Promise<T> {
  const headers: Record<string, string> = { accept: "application/json" };
  if (options.body) headers["content-type"] = "application/json";
  if (options.token) headers.authorization = `Bearer ${options.token}`;
  let response: Response;
  try {
    response = await fetch(path, {
      method,
      headers,
      ...(options.body ? { body: JSON.stringify(options.body) } : {}),
    });
  } catch {
    throw new ApiError("The server cannot be reached. Check your connection and try again.", 0);
  }
  const data: unknown = await response.json().catch(() => null);
  if (!response.ok) {
    const body = (data ?? {}) as { error?: unknown; field?: unknown; errors?: unknown };
    throw new ApiError(
      typeof body.error === "string" ? body.error : `Request failed (${response.status}).`,
      response.status,
      typeof body.field === "string" ? body.field : undefined,
      Array.isArray(body.errors) ? body.errors.filter(isFieldError) : [],
    );
  }
  return data as T;
}

/** The Pair HTTP API, as apps/pair/CONTRACT.md describes it. */
export const api = {
  signUp: (fields: { first_name: string; email: string; password: string }) =>
    request<Session>("POST", "/api/users", { body: fields }),
  signIn: (fields: { email: string; password: string }) =>
    request<Session>("POST", "/api/sessions", { body: fields }),
  me: (token: string) => request<{ user: User }>("GET", "/api/me", { token }),
  challenges: (cursor: string | null = null) =>
    request<ChallengePage>(
      "GET",
      cursor === null ? "/api/challenges" : `/api/challenges?cursor=${encodeURIComponent(cursor)}`,
    ),
  createChallenge: (token: string, fields: NewChallenge) =>
    request<{ challenge: Challenge }>("POST", "/api/challenges", { body: fields, token }),
};
