import type { NodeRow, Sample, Snapshot, TopicRow, Welcome } from "../src/wire.js";
import { Chart, type ChartSpec } from "./charts.js";
import { ago, bytes, count, duration, ms, msTick } from "./format.js";

const IN = "#4cc9f0";
const OUT = "#f4a261";
const P50 = "#80ed99";
const P99 = "#ff6b6b";

const CHARTS: readonly ChartSpec[] = [
  {
    title: "Messages per second",
    format: count,
    lines: [
      { label: "in", color: IN, value: (s) => s.messagesIn },
      { label: "out", color: OUT, value: (s) => s.messagesOut },
    ],
  },
  {
    title: "Bytes per second",
    format: (v) => bytes(v),
    lines: [
      { label: "in", color: IN, value: (s) => s.bytesIn },
      { label: "out", color: OUT, value: (s) => s.bytesOut },
    ],
  },
  {
    title: "Fan-out latency",
    format: (v) => ms(v),
    tick: msTick,
    spanGaps: true,
    lines: [
      { label: "p50", color: P50, value: (s) => s.fanoutP50Ms },
      { label: "p99", color: P99, value: (s) => s.fanoutP99Ms },
    ],
  },
  {
    title: "Bus lag",
    format: (v) => ms(v),
    tick: msTick,
    spanGaps: true,
    lines: [
      { label: "p50", color: P50, value: (s) => s.busLagP50Ms },
      { label: "p99", color: P99, value: (s) => s.busLagP99Ms },
    ],
  },
];

const TILES: readonly { label: string; value: (s: Sample) => string }[] = [
  { label: "Connections", value: (s) => count(s.connections) },
  { label: "Channels", value: (s) => count(s.channels) },
  { label: "Presences", value: (s) => count(s.presences) },
  { label: "Messages in/s", value: (s) => count(s.messagesIn) },
  { label: "Messages out/s", value: (s) => count(s.messagesOut) },
  { label: "Bytes out/s", value: (s) => bytes(s.bytesOut, true) },
  { label: "Fan-out p99", value: (s) => ms(s.fanoutP99Ms) },
  { label: "Bus lag p99", value: (s) => ms(s.busLagP99Ms) },
];

/** Builds an element; text goes in as text, never as HTML (topic names come from clients). */
function el<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  className = "",
  text = "",
): HTMLElementTagNameMap[K] {
  const element = document.createElement(tag);
  if (className) element.className = className;
  if (text) element.textContent = text;
  return element;
}

/** The whole page: header, stat tiles, charts and the two tables. */
export class View {
  readonly #node = el("span", "node");
  readonly #uptime = el("span", "uptime");
  readonly #bus = el("span", "pill");
  readonly #link = el("span", "pill");
  readonly #notice = el("p", "notice");
  readonly #tiles: HTMLElement[] = [];
  readonly #charts: Chart[];
  readonly #nodes = el("tbody");
  readonly #topics = el("tbody");
  #startedAt = 0;

  constructor(root: HTMLElement) {
    const header = el("header");
    const brand = el("h1", "", "Tandem");
    const meta = el("div", "meta");
    meta.append(this.#node, this.#uptime, this.#bus, this.#link);
    header.append(brand, meta);

    const tiles = el("section", "tiles");
    for (const tile of TILES) {
      const box = el("div", "tile");
      const value = el("div", "value", "–");
      value.dataset.tile = tile.label;
      box.append(el("div", "label", tile.label), value);
      tiles.append(box);
      this.#tiles.push(value);
    }

    const charts = el("section", "charts");
    const tables = el("section", "tables");
    tables.append(
      table("Nodes", ["Node", "State", "Last heard"], this.#nodes),
      table("Busiest topics", ["Topic", "Subscribers", "Presences"], this.#topics),
    );
    const main = el("main");
    main.append(this.#notice, tiles, charts, tables);
    root.append(header, main);
    this.#charts = CHARTS.map((spec) => new Chart(spec));
    for (const chart of this.#charts) charts.append(chart.element);
    this.link("connecting");
  }

  /** Shows whether the page's socket is up. */
  link(state: "connecting" | "live" | "offline"): void {
    this.#link.textContent = state;
    this.#link.dataset.state = state;
  }

  /** Shows that the token was refused; nothing else will come. */
  refused(): void {
    this.#notice.textContent =
      "The dashboard token was refused. Open this page with ?token=<the operator token>.";
    this.#notice.hidden = false;
    this.link("offline");
  }

  /** A (re)join: the node, its history, and the latest snapshot. */
  welcome(welcome: Welcome): void {
    this.#notice.hidden = true;
    this.#startedAt = welcome.startedAt;
    this.#node.textContent = welcome.node;
    document.title = `${welcome.node} · Tandem dashboard`;
    const points = Math.max(1, Math.round(welcome.historyMs / welcome.intervalMs));
    for (const chart of this.#charts) chart.set(welcome.history, points);
    if (welcome.snapshot) this.#show(welcome.snapshot);
    this.link("live");
  }

  /** One new snapshot. */
  snapshot(snapshot: Snapshot): void {
    for (const chart of this.#charts) chart.push(snapshot.sample);
    this.#show(snapshot);
  }

  #show(snapshot: Snapshot): void {
    const { sample } = snapshot;
    TILES.forEach((tile, i) => {
      this.#tiles[i]!.textContent = tile.value(sample);
    });
    this.#uptime.textContent = `up ${duration(sample.at - this.#startedAt)}`;
    const bus = snapshot.bus;
    this.#bus.textContent = bus ? `bus ${bus.status}` : "single node";
    this.#bus.dataset.state = bus ? (bus.status === "ready" ? "live" : "offline") : "idle";
    this.#nodes.replaceChildren(...snapshot.nodes.map(nodeRow));
    this.#topics.replaceChildren(
      ...(snapshot.topics.length > 0 ? snapshot.topics.map(topicRow) : [emptyRow("no topics", 3)]),
    );
  }
}

function table(title: string, headings: readonly string[], body: HTMLElement): HTMLElement {
  const section = el("section", "panel");
  const head = el("tr");
  for (const heading of headings) head.append(el("th", "", heading));
  const thead = el("thead");
  thead.append(head);
  const tableEl = el("table");
  tableEl.append(thead, body);
  section.append(el("h2", "", title), tableEl);
  return section;
}

function nodeRow(node: NodeRow): HTMLElement {
  const row = el("tr");
  const name = el("td", "name", node.name);
  if (node.self) name.append(el("span", "tag", "this node"));
  const state = el("td");
  state.append(
    el("span", `dot ${node.up ? "up" : "down"}`),
    document.createTextNode(node.up ? "up" : "down"),
  );
  row.append(name, state, el("td", "num", node.self ? "–" : ago(node.silentMs)));
  return row;
}

function topicRow(topic: TopicRow): HTMLElement {
  const row = el("tr");
  row.append(
    el("td", "name", topic.topic),
    el("td", "num", count(topic.subscribers)),
    el("td", "num", topic.presences === null ? "–" : count(topic.presences)),
  );
  return row;
}

function emptyRow(text: string, columns: number): HTMLElement {
  const row = el("tr");
  const cell = el("td", "empty", text);
  cell.colSpan = columns;
  row.append(cell);
  return row;
}
