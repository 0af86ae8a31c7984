import fc from "fast-check";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import {
  defaultReconnectAfterMs,
  defaultRejoinAfterMs,
  jitteredBackoff,
  Timer,
} from "../src/index.js";

describe("default schedules", () => {
  it("reconnect walks phoenix's table, then stays at 5000", () => {
    const delays = Array.from({ length: 11 }, (_, i) => defaultReconnectAfterMs(i + 1));
    expect(delays).toEqual([10, 50, 100, 150, 200, 250, 500, 1000, 2000, 5000, 5000]);
  });

  it("rejoin walks phoenix's table, then stays at 10000", () => {
    const delays = Array.from({ length: 5 }, (_, i) => defaultRejoinAfterMs(i + 1));
    expect(delays).toEqual([1000, 2000, 5000, 10000, 10000]);
  });
});

describe("jitteredBackoff", () => {
  it("stays within [base * (1 - ratio), base] (property)", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 50 }),
        fc.double({ min: 0, max: 1, noNaN: true }),
        fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }),
        (tries, ratio, r) => {
          const base = defaultReconnectAfterMs(tries);
          const delay = jitteredBackoff(defaultReconnectAfterMs, ratio, () => r)(tries);
          expect(delay).toBeGreaterThanOrEqual(Math.floor(base * (1 - ratio)));
          expect(delay).toBeLessThanOrEqual(base);
          expect(Number.isInteger(delay)).toBe(true);
        },
      ),
    );
  });

  it("accepts a table whose last entry repeats, and clamps the ratio", () => {
    const backoff = jitteredBackoff([100, 200], 5, () => 0.5);
    expect([backoff(1), backoff(2), backoff(3)]).toEqual([50, 100, 100]);
    expect(jitteredBackoff([100], -1, () => 0.9)(1)).toBe(100);
  });

  it("defaults to the reconnect schedule", () => {
    expect(jitteredBackoff(undefined, 0.5, () => 0)(10)).toBe(5000);
  });
});

describe("Timer", () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it("schedules with tries + 1 and counts tries when firing", () => {
    const callback = vi.fn();
    const calc = vi.fn((tries: number) => tries * 100);
    const timer = new Timer(callback, calc);
    timer.scheduleTimeout();
    expect(calc).toHaveBeenLastCalledWith(1);
    vi.advanceTimersByTime(100);
    expect(callback).toHaveBeenCalledTimes(1);
    timer.scheduleTimeout();
    expect(calc).toHaveBeenLastCalledWith(2);
    vi.advanceTimersByTime(199);
    expect(callback).toHaveBeenCalledTimes(1);
    vi.advanceTimersByTime(1);
    expect(callback).toHaveBeenCalledTimes(2);
  });

  it("replaces a pending timeout, and reset cancels it and the tries", () => {
    const callback = vi.fn();
    const calc = vi.fn(() => 100);
    const timer = new Timer(callback, calc);
    timer.scheduleTimeout();
    timer.scheduleTimeout();
    vi.advanceTimersByTime(100);
    expect(callback).toHaveBeenCalledTimes(1);
    timer.scheduleTimeout();
    timer.reset();
    vi.advanceTimersByTime(1000);
    expect(callback).toHaveBeenCalledTimes(1);
    timer.scheduleTimeout();
    expect(calc).toHaveBeenLastCalledWith(1);
  });

  it("cancel keeps the tries: the next attempt waits the next delay", () => {
    const callback = vi.fn();
    const timer = new Timer(callback, (tries) => tries * 100);
    timer.scheduleTimeout();
    vi.advanceTimersByTime(100);
    timer.scheduleTimeout();
    timer.cancel();
    vi.advanceTimersByTime(1000);
    expect(callback).toHaveBeenCalledTimes(1);
    timer.scheduleTimeout();
    vi.advanceTimersByTime(199);
    expect(callback).toHaveBeenCalledTimes(1);
    vi.advanceTimersByTime(1);
    expect(callback).toHaveBeenCalledTimes(2);
  });
});
