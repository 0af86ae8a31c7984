import type { TrafficTotals } from "@tandem/server";
import { type HistogramReading, intervalQuantile } from "./quantile.js";
import type { Sample } from "./wire.js";

/** What a node's counters and gauges say at one moment; counters count since it started. */
export interface Reading {
  /** When it was read, in ms since the epoch. */
  readonly at: number;
  readonly connections: number;
  readonly channels: number;
  readonly presences: number;
  readonly traffic: TrafficTotals;
  /** Fan-out times, in seconds. */
  readonly fanout: HistogramReading;
  /** Tracker heartbeat delays across the bus, in seconds. */
  readonly busLag: HistogramReading;
}

/**
 * Turns successive {@link Reading}s into {@link Sample}s (rates per second and
 * percentiles over each interval) and keeps the last `historySize` of them. Pure: it
 * never reads a clock or an endpoint, so tests feed it what they like.
 */
export class Sampler {
  readonly #historySize: number;
  readonly #history: Sample[] = [];
  #previous: Reading | undefined;

  constructor(historySize: number) {
    if (!Number.isSafeInteger(historySize) || historySize < 1) {
      throw new RangeError("historySize must be a positive integer");
    }
    this.#historySize = historySize;
  }

  /** Samples kept, oldest first. */
  get history(): readonly Sample[] {
    return this.#history;
  }

  /**
   * Adds a reading. Returns the sample of the interval since the previous one, or null
   * for the first reading and for one not later than the previous (a clock step back).
   */
  add(reading: Reading): Sample | null {
    const previous = this.#previous;
    if (previous && reading.at <= previous.at) return null;
    this.#previous = reading;
    if (!previous) return null;
    const sample = sampleBetween(previous, reading);
    this.#history.push(sample);
    if (this.#history.length > this.#historySize) this.#history.shift();
    return sample;
  }
}

function sampleBetween(before: Reading, after: Reading): Sample {
  const seconds = (after.at - before.at) / 1000;
  // Counters never go back; a negative difference could only be a reading mixed up from
  // two endpoints, and a rate below zero would make no sense on a chart.
  const rate = (a: number, b: number) => Math.max(0, b - a) / seconds;
  const ms = (value: number | null) => (value === null ? null : value * 1000);
  return {
    at: after.at,
    connections: after.connections,
    channels: after.channels,
    presences: after.presences,
    messagesIn: rate(before.traffic.messagesIn, after.traffic.messagesIn),
    messagesOut: rate(before.traffic.messagesOut, after.traffic.messagesOut),
    bytesIn: rate(before.traffic.bytesIn, after.traffic.bytesIn),
    bytesOut: rate(before.traffic.bytesOut, after.traffic.bytesOut),
    fanouts: rate(before.fanout.total, after.fanout.total),
    fanoutP50Ms: ms(intervalQuantile(0.5, before.fanout, after.fanout)),
    fanoutP99Ms: ms(intervalQuantile(0.99, before.fanout, after.fanout)),
    busLagP50Ms: ms(intervalQuantile(0.5, before.busLag, after.busLag)),
    busLagP99Ms: ms(intervalQuantile(0.99, before.busLag, after.busLag)),
  };
}
