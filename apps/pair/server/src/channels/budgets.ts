import { type ChannelContext, TokenBucket } from "@tandem/server";
import type { UserAssigns } from "./challenge-channel.js";

/** Spends one token of the socket's bucket, making the bucket on first use. */
export function take(
  budgets: WeakMap<ChannelContext<UserAssigns>, TokenBucket>,
  rate: { limit: number; intervalMs: number },
  socket: ChannelContext<UserAssigns>,
): boolean {
  const now = performance.now();
  let budget = budgets.get(socket);
  if (!budget) {
    budget = new TokenBucket(rate, now);
    budgets.set(socket, budget);
  }
  return budget.take(now);
}
