import { Endpoint, PubSub, silentLogger } from "@tandem/server";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  busiestTopics,
  type HistogramReading,
  intervalQuantile,
  type Reading,
  readEndpoint,
  Sampler,
} from "../src/index.js";

const BOUNDS = [0.001, 0.01, 0.1, 1];
const empty: HistogramReading = { bounds: BOUNDS, counts: [0, 0, 0, 0], total: 0 };

/** A histogram reading of `values` observed, with `BOUNDS` as its buckets. */
function histogram(values: readonly number[]): HistogramReading {
  return {
    bounds: BOUNDS,
    counts: BOUNDS.map((bound) => values.filter((v) => v <= bound).length),
    total: values.length,
  };
}

function reading(at: number, overrides: Partial<Reading> = {}): Reading {
  return {
    at,
    connections: 0,
    channels: 0,
    presences: 0,
    traffic: { messagesIn: 0, messagesOut: 0, bytesIn: 0, bytesOut: 0 },
    fanout: empty,
    busLag: empty,
    ...overrides,
  };
}

describe("intervalQuantile", () => {
  it("interpolates inside the bucket the rank falls in, as histogram_quantile does", () => {
    // 10 observations up to 1 ms, 10 between 1 and 10 ms.
    const after = histogram([...Array(10).fill(0.0005), ...Array(10).fill(0.005)]);
    expect(intervalQuantile(0.25, empty, after)).toBeCloseTo(0.0005);
    expect(intervalQuantile(0.5, empty, after)).toBeCloseTo(0.001);
    expect(intervalQuantile(0.75, empty, after)).toBeCloseTo(0.0055);
  });

  it("counts only what was observed between the two readings", () => {
    const before = histogram(Array(100).fill(0.5));
    const after = histogram([...Array(100).fill(0.5), ...Array(4).fill(0.0001)]);
    expect(intervalQuantile(0.99, before, after)).toBeLessThanOrEqual(0.001);
    expect(intervalQuantile(0.5, before, before)).toBeNull();
  });

  it("answers the highest bound for a rank past every bucket", () => {
    expect(intervalQuantile(0.99, empty, histogram([5, 5, 5]))).toBe(1);
  });

  it("lands in the bucket of the true quantile, and never decreases with q", () => {
    const value = fc.double({ min: 0, max: 2, noNaN: true });
    fc.assert(
      fc.property(
        fc.array(value, { maxLength: 50 }),
        fc.array(value, { minLength: 1, maxLength: 200 }),
        fc.double({ min: 0.01, max: 1, noNaN: true }),
        (earlier, during, q) => {
          const before = histogram(earlier);
          const after = histogram([...earlier, ...during]);
          const estimate = intervalQuantile(q, before, after)!;
          const sorted = [...during].sort((a, b) => a - b);
          const truth = sorted[Math.max(0, Math.ceil(q * sorted.length) - 1)]!;
          // The bucket holding the true quantile: (lower, upper], past the last bound
          // reported as the last bound.
          const upper = BOUNDS.find((b) => truth <= b) ?? BOUNDS.at(-1)!;
          const lower =
            truth > BOUNDS.at(-1)! ? upper : ([0, ...BOUNDS][BOUNDS.indexOf(upper)] ?? 0);
          expect(estimate).toBeGreaterThanOrEqual(lower - 1e-12);
          expect(estimate).toBeLessThanOrEqual(upper + 1e-12);
          expect(intervalQuantile(Math.min(1, q + 0.1), before, after)!).toBeGreaterThanOrEqual(
            estimate - 1e-12,
          );
        },
      ),
      { numRuns: Number(process.env.FUZZ_RUNS ?? 300) },
    );
  });
});

describe("Sampler", () => {
  it("turns counters into rates per second and keeps gauges as read", () => {
    const sampler = new Sampler(10);
    expect(sampler.add(reading(1000))).toBeNull();
    const sample = sampler.add(
      reading(3000, {
        connections: 4,
        channels: 6,
        presences: 5,
        traffic: { messagesIn: 20, messagesOut: 100, bytesIn: 2000, bytesOut: 50_000 },
        fanout: histogram(Array(10).fill(0.0005)),
      }),
    );
    expect(sample).toEqual({
      at: 3000,
      connections: 4,
      channels: 6,
      presences: 5,
      messagesIn: 10,
      messagesOut: 50,
      bytesIn: 1000,
      bytesOut: 25_000,
      fanouts: 5,
      fanoutP50Ms: 0.5,
      fanoutP99Ms: expect.closeTo(0.99, 6),
      busLagP50Ms: null,
      busLagP99Ms: null,
    });
    expect(sampler.history).toEqual([sample]);
  });

  it("skips a reading that is not later than the previous one", () => {
    const sampler = new Sampler(10);
    sampler.add(reading(1000));
    expect(sampler.add(reading(1000))).toBeNull();
    expect(sampler.add(reading(500))).toBeNull();
    expect(sampler.add(reading(2000))?.at).toBe(2000);
    expect(sampler.history).toHaveLength(1);
  });

  it("keeps at most historySize samples, the newest, in order", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 20 }),
        fc.array(fc.integer({ min: 1, max: 5000 }), { maxLength: 60 }),
        (size, steps) => {
          const sampler = new Sampler(size);
          let at = 0;
          let messages = 0;
          sampler.add(reading(at));
          const expected: number[] = [];
          for (const step of steps) {
            at += step;
            messages += step;
            const sample = sampler.add(
              reading(at, {
                traffic: { messagesIn: messages, messagesOut: 0, bytesIn: 0, bytesOut: 0 },
              }),
            );
            // `step` messages over `step` ms: 1000 a second, whatever the interval.
            expect(sample?.messagesIn).toBeCloseTo(1000);
            expected.push(at);
          }
          expect(sampler.history.map((s) => s.at)).toEqual(expected.slice(-size));
        },
      ),
      { numRuns: Number(process.env.FUZZ_RUNS ?? 200) },
    );
  });

  it("refuses a history that could hold nothing", () => {
    expect(() => new Sampler(0)).toThrow(RangeError);
  });
});

describe("busiestTopics", () => {
  it("lists the topics with the most subscribers, leaving Tandem's own out", () => {
    const pubsub = new PubSub();
    const subscribe = (topic: string, count: number) => {
      for (let i = 0; i < count; i++) pubsub.subscribe(topic, { deliver() {} });
    };
    subscribe("room:a", 2);
    subscribe("room:b", 5);
    subscribe("tandem:tracker", 9);
    subscribe("room:c", 1);
    subscribe("room:d", 3);
    expect(busiestTopics(pubsub, undefined, 3)).toEqual([
      { topic: "room:b", subscribers: 5, presences: null },
      { topic: "room:d", subscribers: 3, presences: null },
      { topic: "room:a", subscribers: 2, presences: null },
    ]);
    expect(busiestTopics(pubsub, undefined, 10)).toHaveLength(4);
  });
});

describe("readEndpoint", () => {
  it("reads Metrics without taking from what Prometheus will scrape", async () => {
    const endpoint = new Endpoint({ logger: silentLogger, processMetrics: false });
    const { metrics } = endpoint;
    metrics.received(10);
    metrics.wrote(30);
    metrics.fanoutSeconds.observe(0.0002);
    const first = await readEndpoint(endpoint, 5);
    expect(first).toMatchObject({
      at: 5,
      connections: 0,
      traffic: { messagesIn: 1, messagesOut: 1, bytesIn: 10, bytesOut: 30 },
      fanout: { total: 1, counts: [0, 1, 1, 1, 1, 1, 1, 1, 1] },
    });
    const scraped = await metrics.registry.metrics();
    expect(scraped).toMatch(/^tandem_bytes_out_total 30$/m);
    expect((await readEndpoint(endpoint, 6)).traffic.bytesOut).toBe(30);
    await endpoint.close();
  });
});
