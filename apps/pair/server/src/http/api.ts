import type { Kysely } from "kysely";
import { z } from "zod";
import { authenticate } from "../accounts/authenticate.js";
import { decoyHash, hashPassword, verifyPassword } from "../accounts/password.js";
import type { TokenSigner } from "../accounts/token.js";
import { createUser, findUserForSignIn, type User } from "../accounts/users.js";
import {
  createChallenge,
  getChallenge,
  listChallenges,
  parseChallengeId,
} from "../challenges/challenges.js";
import type { Schema } from "../db/schema.js";
import { bearerToken, HttpError, type RouteRequest, Router, readBody } from "./router.js";

/** What the API needs from the rest of the server. */
export interface ApiContext {
  readonly db: Kysely<Schema>;
  readonly tokens: TokenSigner;
}

// Field rules from CONTRACT.md; each message is the sentence the web app shows.
const firstName = z
  .string({ error: "Please enter your first name." })
  .trim()
  .min(1, "Please enter your first name.")
  .max(64, "Your first name can be at most 64 characters.");
const email = z
  .string({ error: "Please enter your email address." })
  .trim()
  .max(254, "That email address is too long.")
  .regex(/^[^@\s]+@[^@\s]+$/, "Please enter a valid email address.");
const password = z
  .string({ error: "Please enter a password." })
  .min(8, "Your password needs at least 8 characters.")
  .max(256, "Your password can be at most 256 characters.");

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
});

/** The Pair JSON API of CONTRACT.md, under `/api`. */
export function createApi(context: ApiContext): Router {
  const { db, tokens } = context;
  const session = (user: User) => ({ token: tokens.sign(user.id), user });

  async function currentUser(request: RouteRequest): Promise<User> {
    const auth = await authenticate(db, tokens, bearerToken(request.req));
    if (!auth) throw new HttpError(401, "Please sign in first.");
    return auth.user;
  }

  return new Router()
    .add("POST", "/api/users", async ({ req }) => {
      const body = await readBody(req, signUpBody);
      const user = await createUser(db, {
        firstName: body.first_name,
        email: body.email,
        passwordHash: await hashPassword(body.password),
      });
      if (!user) throw new HttpError(409, "An account with this email already exists.", "email");
      return { status: 201, body: session(user) };
    })
    .add("POST", "/api/sessions", async ({ req }) => {
      const body = await readBody(req, signInBody);
      const found = await findUserForSignIn(db, body.email);
      // Hash even for an unknown email so timing does not reveal who has an account.
      const valid = await verifyPassword(
        body.password,
        found?.password_hash ?? (await decoyHash()),
      );
      if (!found || !valid) throw new HttpError(401, "Wrong email or password.");
      const user: User = { id: found.id, first_name: found.first_name, email: found.email };
      return { status: 200, body: session(user) };
    })
    .add("GET", "/api/me", async (request) => ({
      status: 200,
      body: { user: await currentUser(request) },
    }))
    .add("GET", "/api/challenges", async () => ({
      status: 200,
      body: { challenges: await listChallenges(db) },
    }))
    .add("GET", "/api/challenges/:id", async ({ params }) => {
      const id = parseChallengeId(params.id);
      const challenge = id === null ? undefined : await getChallenge(db, id);
      if (!challenge) throw new HttpError(404, "There is no such challenge.");
      return { status: 200, body: { challenge } };
    })
    .add("POST", "/api/challenges", async (request) => {
      const author = await currentUser(request);
      const body = await readBody(request.req, challengeBody);
      const challenge = await createChallenge(db, {
        title: body.title,
        description: body.description,
        starterCode: body.starter_code,
        authorId: author.id,
      });
      return { status: 201, body: { challenge } };
    });
}
