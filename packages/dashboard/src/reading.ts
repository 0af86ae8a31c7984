import type { Endpoint } from "@tandem/server";
import type { HistogramReading } from "./quantile.js";
import type { Reading } from "./sampler.js";

type Metrics = Endpoint["metrics"];
type MetricValues = Awaited<ReturnType<Metrics["fanoutSeconds"]["get"]>>;

/**
 * Reads the endpoint's counters and gauges now. Nothing is reset: Prometheus scrapes
 * see the same counts as without the dashboard.
 */
export async function readEndpoint(endpoint: Endpoint, now: number): Promise<Reading> {
  const { metrics } = endpoint;
  const [channels, presences, fanout, busLag] = await Promise.all([
    metrics.channels.get(),
    metrics.presences.get(),
    metrics.fanoutSeconds.get(),
    metrics.busLagSeconds.get(),
  ]);
  return {
    at: now,
    connections: endpoint.connectionCount,
    channels: channels.values[0]?.value ?? 0,
    presences: presences.values[0]?.value ?? 0,
    traffic: metrics.totals(),
    fanout: histogramOf(fanout),
    busLag: histogramOf(busLag),
  };
}

/** The cumulative bucket counts of an unlabelled prom-client histogram. */
function histogramOf(metric: MetricValues): HistogramReading {
  const buckets: { bound: number; count: number }[] = [];
  let total = 0;
  for (const { metricName, labels, value } of metric.values) {
    if (metricName?.endsWith("_count")) total = value;
    else if (metricName?.endsWith("_bucket") && labels.le !== "+Inf") {
      buckets.push({ bound: Number(labels.le), count: value });
    }
  }
  buckets.sort((a, b) => a.bound - b.bound);
  return { bounds: buckets.map((b) => b.bound), counts: buckets.map((b) => b.count), total };
}
