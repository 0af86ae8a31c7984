import {
  eventually,
  type Frame,
  type PresenceServer,
  RawClient,
  sleep,
  startPresenceServer,
} from "@tandem/test-support";
import { afterEach, describe, expect, it } from "vitest";

let server: PresenceServer;
const clients: RawClient[] = [];

afterEach(async () => {
  for (const c of clients.splice(0)) c.close();
  await server.close();
});

async function joinAs(user: string): Promise<RawClient> {
  const client = await RawClient.connect(server.url, `vsn=2.0.0&user=${user}`);
  clients.push(client);
  client.send(["1", "1", "room:big", "phx_join", {}]);
  await client.reply("1");
  return client;
}

const events = (c: RawClient, event: string): Frame[] =>
  c.frames.filter((f): f is Frame => !Buffer.isBuffer(f) && f[3] === event);

describe("counts mode for large rooms", () => {
  it("switches to summaries past the threshold, and back to the full list below it", async () => {
    server = await startPresenceServer({
      rateLimit: false,
      largeRooms: {
        threshold: 10,
        intervalMs: 50,
        highlight: (meta) => meta.typing === true,
      },
    });
    const first = await joinAs("u0");
    for (let i = 1; i < 12; i++) await joinAs(`u${i}`);
    await eventually(() => server.presence.isLarge("room:big"));
    await eventually(() =>
      events(first, "presence_summary").some((f) => (f[4] as { entries: number }).entries === 12),
    );

    // A newcomer gets the summary, not a twelve-entry list.
    const late = await joinAs("late");
    const pushed = await late.next((f) => f[3] === "presence_summary" || f[3] === "presence_state");
    expect(pushed[3]).toBe("presence_summary");
    expect(pushed[4]).toMatchObject({ keys: 13, entries: 13 });

    // No diffs while large; typing shows up highlighted in the next summary.
    const diffsBefore = events(first, "presence_diff").length;
    late.send(["1", "2", "room:big", "typing", {}]);
    const summary = await first.next(
      (f) => f[3] === "presence_summary" && "late" in (f[4] as { highlighted: object }).highlighted,
    );
    expect(summary[4]).toMatchObject({
      keys: 13,
      highlighted: { late: { metas: [{ typing: true }] } },
    });
    expect(events(first, "presence_diff").length).toBe(diffsBefore);

    // A quiet large room sends nothing.
    await sleep(120);
    const quiet = events(first, "presence_summary").length;
    await sleep(200);
    expect(events(first, "presence_summary").length).toBe(quiet);

    // Shrinking below 80 % of the threshold: one full presence_state, then diffs again.
    const mark = first.frames.length;
    for (const c of clients.slice(2, 8)) c.close();
    // A broadcast, so join_ref is null (the state pushed at join carried the join_ref).
    const state = await first.next((f) => f[3] === "presence_state" && f[0] === null, 3000, mark);
    const keys = Object.keys(state[4] as object).sort();
    expect(keys.length).toBeLessThan(8);
    await eventually(() => server.endpoint.connectionCount === 7);
    expect(keys).toEqual(Object.keys(await server.presence.list("room:big")).sort());
    expect(server.presence.isLarge("room:big")).toBe(false);
    clients[8]!.close();
    await first.next((f) => f[3] === "presence_diff" && JSON.stringify(f[4]).includes('"u8"'));
  });
});
