import type { FastifyInstance, FastifyRequest } from "fastify";
import type { Kysely } from "kysely";
import { z } from "zod";
import { authenticate } from "../accounts/authenticate.js";
import { type HashQueue, HashQueueFull } from "../accounts/hash-queue.js";
import { decoyHash, hashPassword, verifyPassword } from "../accounts/password.js";
import type { TokenSigner } from "../accounts/token.js";
import { createUser, findUserForSignIn, normalizeEmail, type User } from "../accounts/users.js";
import {
  createChallenge,
  getChallenge,
  listChallenges,
  MAX_PAGE_SIZE,
  parseChallengeId,
} from "../challenges/challenges.js";
import { testCasesSchema } from "../challenges/test-cases.js";
import type { Schema } from "../db/schema.js";
import { type FieldError, HttpError } from "./errors.js";
import { addressKey, KeyedRateLimit, type RateLimits } from "./rate-limits.js";

/** What the API needs from the rest of the server. */
export interface ApiContext {
  readonly db: Kysely<Schema>;
  readonly tokens: TokenSigner;
  readonly limits: RateLimits;
  /** Where every password hash waits its turn. */
  readonly hashes: HashQueue;
}

/** Challenges per page when the client does not ask for a size. */
const DEFAULT_PAGE_SIZE = 20;

// Characters that make a name render as something else: C0/C1 controls (Unicode Cc),
// and the bidirectional marks, embeddings, overrides and isolates that reorder the text
// around them ("Trojan Source").
const INVISIBLE_OR_REORDERING = /[\p{Cc}\u200E\u200F\u202A-\u202E\u2066-\u2069]/u;

// Field rules from CONTRACT.md; each message is the sentence the web app shows.
const firstName = z
  .string({ error: "Please enter your first name." })
  .trim()
  .min(1, "Please enter your first name.")
  .max(64, "Your first name can be at most 64 characters.")
  .refine(
    (name) => !INVISIBLE_OR_REORDERING.test(name),
    "Your first name cannot contain control or text-direction characters.",
  );
const email = z
  .string({ error: "Please enter your email address." })
  .trim()
  .max(254, "That email address is too long.")
  .regex(/^[^@\s]+@[^@\s]+$/, "Please enter a valid email address.");
const password = z
  .string({ error: "Please enter a password." })
  .min(8, "Your password needs at least 8 characters.")
  .max(256, "Your password can be at most 256 characters.")
  .regex(/\S/u, "Your password cannot be only spaces.");

const signUpBody = z.object({ first_name: firstName, email, password });
const signInBody = z.object({
  email: z
    .string({ error: "Please enter your email address." })
    .trim()
    .min(1, "Please enter your email address."),
  password: z
    .string({ error: "Please enter your password." })
    .min(1, "Please enter your password."),
});
const challengeBody = z.object({
  title: z
    .string({ error: "Please give the challenge a title." })
    .trim()
    .min(1, "Please give the challenge a title.")
    .max(120, "The title can be at most 120 characters."),
  description: z
    .string({ error: "Please describe the challenge." })
    .trim()
    .min(1, "Please describe the challenge.")
    .max(10_000, "The description can be at most 10,000 characters."),
  starter_code: z
    .string({ error: "The starter code must be text (it may be empty)." })
    .max(100_000, "The starter code can be at most 100,000 characters."),
  tests: testCasesSchema.default([]),
});
const pageSizeMessage = `The page size must be a whole number from 1 to ${MAX_PAGE_SIZE}.`;
const pageQuery = z.object({
  limit: z
    .string({ error: pageSizeMessage })
    .regex(/^[1-9]\d{0,2}$/, pageSizeMessage)
    .transform(Number)
    .refine((limit) => limit <= MAX_PAGE_SIZE, pageSizeMessage)
    .default(DEFAULT_PAGE_SIZE),
  cursor: z
    .string({ error: "The list position is not valid: load the list again." })
    .transform((cursor, ctx) => {
      const after = parseChallengeId(cursor);
      if (after !== null) return after;
      ctx.addIssue({
        code: "custom",
        message: "The list position is not valid: load the list again.",
      });
      return z.NEVER;
    })
    .optional(),
});

/** The Pair JSON API of CONTRACT.md, under `/api`. */
export function registerApi(app: FastifyInstance, context: ApiContext): void {
  const { db, tokens, hashes } = context;
  const session = (user: User) => ({ token: tokens.sign(user.id), user });
  const limits = {
    signInPerAddress: new KeyedRateLimit(
      app,
      context.limits.signInPerAddress,
      "Too many sign-in attempts from your network. Please wait a little and try again.",
    ),
    signInPerAccount: new KeyedRateLimit(
      app,
      context.limits.signInPerAccount,
      "Too many sign-in attempts for this account. Please wait a little and try again.",
    ),
    signUpPerAddress: new KeyedRateLimit(
      app,
      context.limits.signUpPerAddress,
      "Too many accounts created from your network. Please try again later.",
    ),
    challengesPerUser: new KeyedRateLimit(
      app,
      context.limits.challengesPerUser,
      "Too many challenges created in a short time. Please try again later.",
    ),
  };

  async function currentUser(request: FastifyRequest): Promise<User> {
    const auth = await authenticate(db, tokens, bearerToken(request));
    if (!auth) throw new HttpError(401, "Please sign in first.");
    return auth.user;
  }

  /** Runs a password hash in its turn, or refuses with 503 when too many are waiting. */
  async function hashing<T>(task: () => Promise<T>): Promise<T> {
    try {
      return await hashes.run(task);
    } catch (err) {
      if (!(err instanceof HashQueueFull)) throw err;
      throw new HttpError(503, "The server is busy. Please try again in a moment.", {
        retryAfterSeconds: 1,
      });
    }
  }

  app.addHook("onRequest", async (_request, reply) => {
    reply.header("cache-control", "no-store");
  });

  // Address limits run before the body is read, so a flood costs as little as possible.
  app.post(
    "/api/users",
    { onRequest: (request) => limits.signUpPerAddress.take(request, addressKey(request)) },
    async (request, reply) => {
      const body = parse(signUpBody, request.body);
      const user = await createUser(db, {
        firstName: body.first_name,
        email: body.email,
        passwordHash: await hashing(() => hashPassword(body.password)),
      });
      if (!user) {
        throw new HttpError(409, "An account with this email already exists.", { field: "email" });
      }
      return reply.code(201).send(session(user));
    },
  );
  app.post(
    "/api/sessions",
    { onRequest: (request) => limits.signInPerAddress.take(request, addressKey(request)) },
    async (request) => {
      const body = parse(signInBody, request.body);
      // Every attempt counts, so a burst of guesses in parallel cannot slip past the limit.
      await limits.signInPerAccount.take(request, normalizeEmail(body.email));
      const found = await findUserForSignIn(db, body.email);
      // Hash even for an unknown email so timing does not reveal who has an account.
      const valid = await hashing(async () =>
        verifyPassword(body.password, found?.password_hash ?? (await decoyHash())),
      );
      if (!found || !valid) throw new HttpError(401, "Wrong email or password.");
      return session({ id: found.id, first_name: found.first_name, email: found.email });
    },
  );
  app.get("/api/me", async (request) => ({ user: await currentUser(request) }));
  app.get("/api/challenges", async (request) => {
    const { limit, cursor } = parse(pageQuery, request.query);
    const page = await listChallenges(db, { limit, after: cursor ?? 0 });
    return { challenges: page.challenges, next_cursor: page.nextCursor };
  });
  app.get<{ Params: { id: string } }>("/api/challenges/:id", async (request) => {
    const id = parseChallengeId(request.params.id);
    const challenge = id === null ? undefined : await getChallenge(db, id);
    if (!challenge) throw new HttpError(404, "There is no such challenge.");
    return { challenge };
  });
  app.post("/api/challenges", async (request, reply) => {
    const author = await currentUser(request);
    await limits.challengesPerUser.take(request, String(author.id));
    const body = parse(challengeBody, request.body);
    const challenge = await createChallenge(db, {
      title: body.title,
      description: body.description,
      starterCode: body.starter_code,
      tests: body.tests,
      authorId: author.id,
    });
    return reply.code(201).send({ challenge });
  });

  refuseOtherMethods(app, "/api/users", ["POST"]);
  refuseOtherMethods(app, "/api/sessions", ["POST"]);
  refuseOtherMethods(app, "/api/me", ["GET", "HEAD"]);
  refuseOtherMethods(app, "/api/challenges", ["GET", "HEAD", "POST"]);
  refuseOtherMethods(app, "/api/challenges/:id", ["GET", "HEAD"]);
}

const METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"] as const;

/** Answers the methods a path does not have with 405 and `Allow`, rather than 404. */
function refuseOtherMethods(app: FastifyInstance, path: string, allowed: readonly string[]): void {
  app.route({
    method: METHODS.filter((method) => !allowed.includes(method)),
    url: path,
    handler: async (_request, reply) => {
      reply.header("allow", allowed.join(", "));
      throw new HttpError(405, "This method is not allowed here.");
    },
  });
}

/**
 * Validates a body or query with `schema`. Every problem goes into one 400, so a form can
 * show them all at once: the first as `error` and `field`, all of them as `errors`, each
 * with the schema's message as the sentence the user reads.
 */
function parse<T>(schema: z.ZodType<T>, input: unknown): T {
  const parsed = schema.safeParse(input ?? {});
  if (parsed.success) return parsed.data;
  const errors: FieldError[] = [];
  for (const issue of parsed.error.issues) {
    const field = issue.path.map(String).join(".");
    // One sentence per field: a field that breaks two rules reads best fixed one at a time.
    if (field && errors.some((e) => e.field === field)) continue;
    errors.push(field ? { field, message: issue.message } : { message: issue.message });
  }
  const first = errors[0];
  throw new HttpError(400, first?.message ?? "The request is invalid.", {
    ...(first?.field ? { field: first.field } : {}),
    errors,
  });
}

/** The bearer token of the Authorization header, if any. */
function bearerToken(request: FastifyRequest): string | null {
  const header = request.headers.authorization;
  const match = header ? /^Bearer\s+(\S+)$/i.exec(header) : null;
  return match?.[1] ?? null;
}
