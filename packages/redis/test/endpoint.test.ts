import { isJsonObject } from "@tandem/protocol";
import {
  channel,
  defineChannel,
  defineConnectionHandler,
  Endpoint,
  error,
  ok,
  PubSub,
} from "@tandem/server";
import { RawClient, recordingLogger } from "@tandem/test-support";
import { afterEach, expect, it } from "vitest";
import { RedisAdapter } from "../src/index.js";
import { redisForFile, uniquePrefix } from "./support.js";

const redisUrl = redisForFile();

const room = defineChannel({
  join: () => ok({}),
  handleIn(event, payload, socket) {
    if (event !== "shout" || !isJsonObject(payload)) return error({ reason: "unknown" });
    socket.broadcast("shout", payload);
    return ok({});
  },
});

const handler = defineConnectionHandler({
  connect: () => ({}),
  channels: [channel("room:*", room)],
});

const endpoints: Endpoint[] = [];
const clients: RawClient[] = [];

afterEach(async () => {
  await Promise.all(clients.splice(0).map((client) => client.close()));
  for (const endpoint of endpoints.splice(0)) {
    await endpoint.close({ timeoutMs: 500 });
    await endpoint.pubsub.close();
  }
});

/** A Redis whose subscriptions take a while to be confirmed, as a busy server's do. */
class SlowToSubscribe extends RedisAdapter {
  override async subscribe(channel: string): Promise<void> {
    await new Promise((resolve) => setTimeout(resolve, 300));
    return super.subscribe(channel);
  }
}

async function startEndpoint(prefix: string, nodeName: string, slow = false): Promise<string> {
  const logger = recordingLogger();
  const options = { url: redisUrl(), prefix, nodeName, logger };
  const pubsub = new PubSub({
    adapter: slow ? new SlowToSubscribe(options) : new RedisAdapter(options),
  });
  const endpoint = new Endpoint({ pubsub, logger }).mount("/socket", handler);
  endpoints.push(endpoint);
  const { port } = await endpoint.listen(0);
  return `ws://127.0.0.1:${port}/socket`;
}

async function joinedClient(endpointUrl: string, topic: string): Promise<RawClient> {
  const client = await RawClient.connect(endpointUrl);
  clients.push(client);
  client.send(["1", "1", topic, "phx_join", {}]);
  const reply = await client.next((f) => f[3] === "phx_reply" && f[1] === "1");
  expect(reply[4]).toMatchObject({ status: "ok" });
  return client;
}

it("carries a channel broadcast from a client on one endpoint to a client on another", async () => {
  const prefix = uniquePrefix("endpoint");
  const [urlA, urlB] = await Promise.all([
    startEndpoint(prefix, "node-a"),
    startEndpoint(prefix, "node-b"),
  ]);
  const alice = await joinedClient(urlA, "room:lobby");
  const bob = await joinedClient(urlB, "room:lobby");
  const carol = await joinedClient(urlB, "room:other");

  alice.send(["1", "2", "room:lobby", "shout", { text: "hello from A" }]);

  const heard = await bob.next((f) => f[3] === "shout");
  expect(heard).toEqual([null, null, "room:lobby", "shout", { text: "hello from A" }]);
  // Alice's own copy comes from her node, not back through Redis as well.
  await alice.next((f) => f[3] === "shout");
  bob.send(["1", "3", "room:lobby", "shout", { text: "fence" }]);
  await alice.next((f) => f[3] === "shout" && isJsonObject(f[4]) && f[4].text === "fence");
  expect(alice.frames.filter((f) => f[3] === "shout")).toHaveLength(2);
  expect(carol.frames.filter((f) => f[3] === "shout")).toEqual([]);
});

it("replies to a join only once the node hears the topic's broadcasts from other nodes", async () => {
  const prefix = uniquePrefix("endpoint");
  const [urlA, urlB] = await Promise.all([
    startEndpoint(prefix, "node-a"),
    startEndpoint(prefix, "node-b", true),
  ]);
  const alice = await joinedClient(urlA, "room:first");
  // Bob is the first on his node in this room: the reply must wait for the subscription.
  const bob = await joinedClient(urlB, "room:first");
  alice.send(["1", "2", "room:first", "shout", { text: "right after your join" }]);
  const heard = await bob.next((f) => f[3] === "shout", 2000);
  expect(heard[4]).toEqual({ text: "right after your join" });
});
