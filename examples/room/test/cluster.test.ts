import { afterEach, describe, expect, it } from "vitest";
import {
  BROADCAST_MS,
  cleanUp,
  cluster,
  DOWN_MS,
  member,
  names,
  typing,
  until,
} from "./cluster-support.js";

afterEach(cleanUp);

describe("examples/room as a cluster over Redis", () => {
  it("shares presence and broadcasts across three node processes", async () => {
    const { nodes } = await cluster(3);
    const ada = await member(nodes[0]!, "ada");
    const bob = await member(nodes[1]!, "bob");
    await until(() => names(ada).join() === "ada,bob" && names(bob).join() === "ada,bob");
    // A late joiner on a third node gets everyone in its presence_state.
    const cy = await member(nodes[2]!, "cy");
    await until(() => [ada, bob, cy].every((m) => names(m).join() === "ada,bob,cy"));

    const heard = new Promise((resolve) => cy.channel.on("shout", resolve));
    bob.channel.push("typing", { typing: true });
    ada.channel.push("shout", { body: "hello" });
    expect(await heard).toEqual({ from: "ada", body: "hello" });
    await until(() => typing(ada, "bob").includes(true) && typing(cy, "bob").includes(true));

    bob.channel.leave();
    await until(() => names(ada).join() === "ada,cy" && names(cy).join() === "ada,cy");
  }, 60_000);

  it("turns a killed node's users into leaves within the down period", async () => {
    const { nodes } = await cluster(2);
    const ada = await member(nodes[0]!, "ada");
    await member(nodes[1]!, "bob");
    await until(() => names(ada).join() === "ada,bob");
    const killed = Date.now();
    await nodes[1]!.kill("SIGKILL");
    await until(() => names(ada).join() === "ada");
    const detection = Date.now() - killed;
    // Down period after the last heartbeat, plus one tick, plus scheduling slack.
    expect(detection).toBeLessThan(DOWN_MS + BROADCAST_MS + 1000);
  }, 60_000);

  it("makes a gracefully stopped node's users leave at once", async () => {
    const { nodes } = await cluster(2);
    const ada = await member(nodes[0]!, "ada");
    await member(nodes[1]!, "bob");
    await until(() => names(ada).join() === "ada,bob");
    await nodes[1]!.kill("SIGTERM");
    expect(await until(() => names(ada).join() === "ada")).toBeLessThan(DOWN_MS);
  }, 60_000);

  it("converges without ghosts after Redis dies and comes back under traffic", async () => {
    const { redis, nodes } = await cluster(2);
    const ada = await member(nodes[0]!, "ada");
    const bob = await member(nodes[1]!, "bob");
    const eve = await member(nodes[1]!, "eve");
    await until(() => names(ada).join() === "ada,bob,eve");

    await redis.kill();
    // While the bus is down: one user leaves, another arrives, one changes state.
    eve.channel.leave();
    const fay = await member(nodes[1]!, "fay");
    bob.channel.push("typing", { typing: true });
    // Each node serves its own clients meanwhile, and drops the silent peer's users.
    await until(() => names(fay).join() === "bob,fay");
    await until(() => names(ada).join() === "ada", DOWN_MS * 5);

    await redis.restart();
    await until(
      () => names(ada).join() === "ada,bob,fay" && names(fay).join() === "ada,bob,fay",
      20_000,
    );
    expect(names(bob)).toEqual(["ada", "bob", "fay"]);
  }, 60_000);
});
