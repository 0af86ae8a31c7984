import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from "prom-client";

/**
 * A count bumped on the hot path (every frame in and out) as a plain number, and handed to
 * its Prometheus counter only when metrics are scraped: a prom-client `inc` per frame per
 * subscriber was a measurable share of a fan-out.
 */
class Tally {
  #total = 0;
  #taken = 0;

  add(amount: number): void {
    this.#total += amount;
  }

  /** Returns what was added since the last call. */
  take(): number {
    const amount = this.#total - this.#taken;
    this.#taken = this.#total;
    return amount;
  }

  /** Everything added so far; reading it takes nothing, so scrapes still see every count. */
  get total(): number {
    return this.#total;
  }
}

/** A Prometheus counter fed by a {@link Tally}; returns the tally to add to. */
function tallied(name: string, help: string, registers: Registry[]): Tally {
  const tally = new Tally();
  new Counter({
    name,
    help,
    registers,
    collect() {
      this.inc(tally.take());
    },
  });
  return tally;
}

/** Client traffic counted since an endpoint started. */
export interface TrafficTotals {
  /** Frames received from clients. */
  readonly messagesIn: number;
  /** Frames written to clients. */
  readonly messagesOut: number;
  /** Bytes received from clients. */
  readonly bytesIn: number;
  /** Bytes written to clients. */
  readonly bytesOut: number;
}

/**
 * The server's Prometheus metrics, in a registry of their own so that several
 * endpoints in one process (tests, multi-tenant hosts) do not collide.
 */
export class Metrics {
  readonly registry = new Registry();
  readonly connections: Gauge;
  readonly channels: Gauge;
  readonly #messagesIn: Tally;
  readonly #messagesOut: Tally;
  readonly #bytesIn: Tally;
  readonly #bytesOut: Tally;
  readonly fanoutSeconds: Histogram;
  readonly rejected: Counter<"reason">;
  readonly presences: Gauge;
  readonly replicas: Gauge<"status">;
  readonly busLagSeconds: Histogram;

  constructor(options: { processMetrics?: boolean } = {}) {
    const registers = [this.registry];
    if (options.processMetrics !== false) collectDefaultMetrics({ register: this.registry });
    this.connections = new Gauge({
      name: "tandem_connections",
      help: "Open WebSocket connections",
      registers,
    });
    this.channels = new Gauge({
      name: "tandem_channels_joined",
      help: "Joined channels across all connections",
      registers,
    });
    this.#messagesIn = tallied(
      "tandem_messages_in_total",
      "Frames received from clients",
      registers,
    );
    this.#messagesOut = tallied(
      "tandem_messages_out_total",
      "Frames written to clients",
      registers,
    );
    this.#bytesIn = tallied("tandem_bytes_in_total", "Bytes received from clients", registers);
    this.#bytesOut = tallied("tandem_bytes_out_total", "Bytes written to clients", registers);
    this.fanoutSeconds = new Histogram({
      name: "tandem_fanout_seconds",
      help: "Time to hand one broadcast to every local subscriber",
      buckets: [0.0001, 0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1],
      registers,
    });
    this.rejected = new Counter({
      name: "tandem_rejected_frames_total",
      help: "Client frames refused, by reason",
      labelNames: ["reason"],
      registers,
    });
    this.presences = new Gauge({
      name: "tandem_presences",
      help: "Presence entries tracked by this node",
      registers,
    });
    this.replicas = new Gauge({
      name: "tandem_tracker_replicas",
      help: "Other tracker replicas this node knows, by status",
      labelNames: ["status"],
      registers,
    });
    this.busLagSeconds = new Histogram({
      name: "tandem_bus_lag_seconds",
      help: "Delay of tracker heartbeats across the cluster bus",
      buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5],
      registers,
    });
  }

  /**
   * Frames and bytes in and out since the endpoint started, read without disturbing what
   * the next Prometheus scrape reports: for samplers that compute their own rates.
   */
  totals(): TrafficTotals {
    return {
      messagesIn: this.#messagesIn.total,
      messagesOut: this.#messagesOut.total,
      bytesIn: this.#bytesIn.total,
      bytesOut: this.#bytesOut.total,
    };
  }

  /** Counts one frame received from a client. */
  received(bytes: number): void {
    this.#messagesIn.add(1);
    this.#bytesIn.add(bytes);
  }

  /** Counts one frame written to a client. */
  wrote(bytes: number): void {
    this.#messagesOut.add(1);
    this.#bytesOut.add(bytes);
  }
}
