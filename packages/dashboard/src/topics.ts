import type { Presence, PubSub } from "@tandem/server";
import type { TopicRow } from "./wire.js";

/**
 * The `limit` topics with the most subscribers on this node, busiest first, with their
 * presences. Tandem's own `tandem:` topics (tracker, dashboard) are left out. One pass
 * over the topics keeping the best `limit`: no sort of them all every second.
 */
export function busiestTopics(
  pubsub: PubSub,
  presence: Presence | undefined,
  limit: number,
): TopicRow[] {
  const best: { topic: string; subscribers: number }[] = [];
  for (const [topic, subscribers] of pubsub.topicSizes()) {
    if (topic.startsWith("tandem:")) continue;
    if (best.length === limit && subscribers <= best[limit - 1]!.subscribers) continue;
    let i = best.length;
    while (i > 0 && best[i - 1]!.subscribers < subscribers) i--;
    best.splice(i, 0, { topic, subscribers });
    if (best.length > limit) best.pop();
  }
  return best.map(({ topic, subscribers }) => ({
    topic,
    subscribers,
    presences: presence ? presence.topicSize(topic) : null,
  }));
}
