import { type ChannelContext, error, ok, type ReplyResult, type TokenBucket } from "@tandem/server";
import { testReportSchema } from "../challenges/test-report.js";
import { take } from "./budgets.js";
import type { UserAssigns } from "./challenge-channel.js";

/**
 * Test runs on the `challenges:<id>` channel: `tests:report` is a member's account of
 * running the room's tests in their browser. The server checks its shape (one result per
 * test, bounded text) and broadcasts its validated copy as `tests:result`, named with the
 * reporter from the token: the room shows it as that member's claim, nothing more.
 */
export class TestRuns {
  readonly #rate: { limit: number; intervalMs: number };
  readonly #budgets = new WeakMap<ChannelContext<UserAssigns>, TokenBucket>();

  /** `rate`: reports accepted per member and channel. Default 5 per 10 s. */
  constructor(rate: { limit: number; intervalMs: number } = { limit: 5, intervalMs: 10_000 }) {
    this.#rate = rate;
  }

  /** `tests:report {results}` for a challenge with `testCount` tests. */
  report(payload: unknown, socket: ChannelContext<UserAssigns>, testCount: number): ReplyResult {
    const parsed = testReportSchema.safeParse(payload);
    if (!parsed.success || parsed.data.results.length !== testCount) {
      return error({ reason: "invalid report" });
    }
    if (!take(this.#budgets, this.#rate, socket)) return error({ reason: "rate_limited" });
    const { userId, firstName } = socket.assigns;
    socket.broadcast("tests:result", {
      user_id: userId,
      first_name: firstName,
      ran_at: new Date().toISOString(),
      results: parsed.data.results,
    });
    return ok();
  }
}
