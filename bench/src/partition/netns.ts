/**
 * The partition bench's network (needs root, `ip` and `iptables`): the bus in namespace
 * `tcr-bus`, node k in `tcr-n<k>`. Node k reaches the bus over its own veth pair,
 * 10.77.k.2 → 10.77.k.1 (the link a partition cuts), and this process reaches node k
 * over another, 10.77.(100 + k).1 → 10.77.(100 + k).2 (its clients' link, never cut).
 */
import { execFileSync } from "node:child_process";

const PREFIX = "tcr-";
export const BUS_NS = `${PREFIX}bus`;

export const nodeNs = (k: number): string => `${PREFIX}n${k}`;
/** Where node k sees the bus. */
export const busAddress = (k: number): string => `10.77.${k}.1`;
/** Where this process sees node k. */
export const nodeAddress = (k: number): string => `10.77.${100 + k}.2`;
/** Node k's end of its link to the bus (inside its namespace). */
const busLink = (k: number): string => `${PREFIX}e${k}`;

function run(command: string, args: string[]): void {
  execFileSync(command, args, { stdio: ["ignore", "ignore", "pipe"] });
}

const inNs = (ns: string, command: string, args: string[]): void =>
  run("ip", ["netns", "exec", ns, command, ...args]);

/** Deletes every namespace and veth this bench makes (their iptables rules go with them). */
export function teardown(nodes: number): void {
  const names = [BUS_NS, ...Array.from({ length: nodes }, (_, k) => nodeNs(k))];
  for (const ns of names) {
    try {
      run("ip", ["netns", "del", ns]);
    } catch {
      // Not there.
    }
  }
  // The root ends of the client links go with their peers; delete any left over.
  for (let k = 0; k < nodes; k++) {
    try {
      run("ip", ["link", "del", `${PREFIX}h${k}`]);
    } catch {
      // Gone with the namespace.
    }
  }
}

/** Builds the namespaces and links for `nodes` nodes (after removing any left over). */
export function setup(nodes: number): void {
  teardown(nodes);
  run("ip", ["netns", "add", BUS_NS]);
  inNs(BUS_NS, "ip", ["link", "set", "lo", "up"]);
  for (let k = 0; k < nodes; k++) {
    const ns = nodeNs(k);
    run("ip", ["netns", "add", ns]);
    inNs(ns, "ip", ["link", "set", "lo", "up"]);
    // Bus link: tcr-b<k> in the bus namespace, tcr-e<k> in the node's.
    run("ip", [
      "link",
      "add",
      `${PREFIX}b${k}`,
      "netns",
      BUS_NS,
      "type",
      "veth",
      "peer",
      "name",
      busLink(k),
      "netns",
      ns,
    ]);
    inNs(BUS_NS, "ip", ["addr", "add", `${busAddress(k)}/24`, "dev", `${PREFIX}b${k}`]);
    inNs(BUS_NS, "ip", ["link", "set", `${PREFIX}b${k}`, "up"]);
    inNs(ns, "ip", ["addr", "add", `10.77.${k}.2/24`, "dev", busLink(k)]);
    inNs(ns, "ip", ["link", "set", busLink(k), "up"]);
    // Client link: tcr-h<k> here, tcr-c<k> in the node's namespace.
    run("ip", [
      "link",
      "add",
      `${PREFIX}h${k}`,
      "type",
      "veth",
      "peer",
      "name",
      `${PREFIX}c${k}`,
      "netns",
      ns,
    ]);
    run("ip", ["addr", "add", `10.77.${100 + k}.1/24`, "dev", `${PREFIX}h${k}`]);
    run("ip", ["link", "set", `${PREFIX}h${k}`, "up"]);
    inNs(ns, "ip", ["addr", "add", `${nodeAddress(k)}/24`, "dev", `${PREFIX}c${k}`]);
    inNs(ns, "ip", ["link", "set", `${PREFIX}c${k}`, "up"]);
  }
}

/** Drops every packet between node k and the bus, both ways (`on` false removes the rules). */
export function cut(k: number, on: boolean): void {
  const op = on ? "-I" : "-D";
  inNs(nodeNs(k), "iptables", [op, "INPUT", "-i", busLink(k), "-j", "DROP"]);
  inNs(nodeNs(k), "iptables", [op, "OUTPUT", "-o", busLink(k), "-j", "DROP"]);
}

/** Drops each packet between node k and the bus with probability `p`, each way. */
export function lossy(k: number, p: number, on: boolean): void {
  const op = on ? "-I" : "-D";
  const rule = ["-m", "statistic", "--mode", "random", "--probability", String(p), "-j", "DROP"];
  inNs(nodeNs(k), "iptables", [op, "INPUT", "-i", busLink(k), ...rule]);
  inNs(nodeNs(k), "iptables", [op, "OUTPUT", "-o", busLink(k), ...rule]);
}

/** Packets the DROP rules in node k's namespace have dropped so far. */
export function droppedPackets(k: number): number {
  let dropped = 0;
  for (const chain of ["INPUT", "OUTPUT"]) {
    const text = execFileSync("ip", [
      "netns",
      "exec",
      nodeNs(k),
      "iptables",
      "-L",
      chain,
      "-v",
      "-x",
      "-n",
    ]).toString();
    for (const line of text.split("\n")) {
      const fields = line.trim().split(/\s+/);
      if (fields[2] === "DROP") dropped += Number(fields[0]);
    }
  }
  return dropped;
}
