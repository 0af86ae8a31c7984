import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from "prom-client";

/**
 * The server's Prometheus metrics, in a registry of their own so that several
 * endpoints in one process (tests, multi-tenant hosts) do not collide.
 */
export class Metrics {
  readonly registry = new Registry();
  readonly connections: Gauge;
  readonly channels: Gauge;
  readonly messagesIn: Counter;
  readonly messagesOut: Counter;
  readonly bytesIn: Counter;
  readonly bytesOut: Counter;
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
    this.messagesIn = new Counter({
      name: "tandem_messages_in_total",
      help: "Frames received from clients",
      registers,
    });
    this.messagesOut = new Counter({
      name: "tandem_messages_out_total",
      help: "Frames written to clients",
      registers,
    });
    this.bytesIn = new Counter({
      name: "tandem_bytes_in_total",
      help: "Bytes received from clients",
      registers,
    });
    this.bytesOut = new Counter({
      name: "tandem_bytes_out_total",
      help: "Bytes written to clients",
      registers,
    });
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
}
